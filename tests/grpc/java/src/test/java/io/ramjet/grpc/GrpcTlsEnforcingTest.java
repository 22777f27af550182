package io.ramjet.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ramjet.compat.RamjetCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * tlsMode=enforcing on the broker: 5.x clients over TLS send and receive; a plaintext gRPC client
 * cannot even start (its connection is closed) and the broker logs the refusal.
 */
class GrpcTlsEnforcingTest {
    static final int GRPC_PORT = GrpcTlsTest.freePort();

    @RegisterExtension
    static final RamjetCluster cluster =
            new RamjetCluster("--grpcServerPort=" + GRPC_PORT, "--tlsMode=enforcing");

    static ClientConfiguration config(boolean ssl) {
        return ClientConfiguration.newBuilder()
                .setEndpoints("127.0.0.1:" + GRPC_PORT)
                .setRequestTimeout(Duration.ofSeconds(3))
                .enableSsl(ssl)
                .build();
    }

    @Test
    void tlsClientsWorkAndPlaintextIsRefused() throws Exception {
        String topic = "GrpcTlsEnforcedTopic";
        // Remoting is enforcing too: the topic is created over TLS.
        GrpcTlsTest.createTopicAt(cluster, topic);
        GrpcTlsTest.send(config(true), topic, "tls-", 3);
        try (Producer p = GrpcTlsTest.provider.newProducerBuilder().setClientConfiguration(config(false))
                .setTopics(topic).build()) {
            p.send(GrpcTlsTest.provider.newMessageBuilder().setTopic(topic)
                    .setBody("plain".getBytes(StandardCharsets.UTF_8)).build());
            fail("a plaintext gRPC client must not send to an enforcing broker");
        } catch (Exception expected) {
            // refused: the connection is closed before any call
        }
        Set<String> got = GrpcTlsTest.receive(config(true), topic, "GID_GRPC_TLS_ENF", 3);
        Thread.sleep(500);
        assertEquals(Set.of("tls-0", "tls-1", "tls-2"), got);
        assertTrue(cluster.brokerLogText().contains("plaintext gRPC connection from"),
                "the broker logs the refused plaintext connection");
    }
}
