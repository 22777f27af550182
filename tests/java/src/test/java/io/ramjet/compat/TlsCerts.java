package io.ramjet.compat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.remoting.netty.TlsSystemConfig;

/**
 * The certificates of the TLS tests (made once per JVM by tests/tls/make-certs.sh with the openssl
 * command) and the client settings of Apache's 4.9.8 client, which reads them from the static
 * fields of {@link TlsSystemConfig} (the {@code tls.*} system properties) when a client instance
 * builds its Netty SSL context.
 */
final class TlsCerts {
    static final Path DIR = make();

    private TlsCerts() {
    }

    private static Path make() {
        try {
            Path dir = Files.createTempDirectory("ramjet-tls-certs-");
            Path script = Paths.get("../tls/make-certs.sh").toAbsolutePath().normalize();
            Process p = new ProcessBuilder("bash", script.toString(), dir.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("make-certs.sh failed: " + out);
            }
            return dir;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String path(String name) {
        return DIR.resolve(name).toString();
    }

    /** RocketMQ's default client side: tls.test.mode.enable=true, any server certificate trusted. */
    static void defaultClient() {
        TlsSystemConfig.tlsTestModeEnable = true;
        TlsSystemConfig.tlsClientAuthServer = false;
        TlsSystemConfig.tlsClientTrustCertPath = null;
        TlsSystemConfig.tlsClientCertPath = null;
        TlsSystemConfig.tlsClientKeyPath = null;
    }

    /**
     * A client that shows {@code certName}.pem/.key (null: none) and verifies the server against
     * {@code trustCa}.pem (null: trusts any server).
     */
    static void client(String certName, String trustCa) {
        TlsSystemConfig.tlsTestModeEnable = false;
        TlsSystemConfig.tlsClientAuthServer = trustCa != null;
        TlsSystemConfig.tlsClientTrustCertPath = trustCa == null ? null : path(trustCa + ".pem");
        TlsSystemConfig.tlsClientCertPath = certName == null ? null : path(certName + ".pem");
        TlsSystemConfig.tlsClientKeyPath = certName == null ? null : path(certName + ".key");
    }
}
