package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Name server and broker with tlsMode=enforcing, a CA-issued server certificate and required
 * client certificates (tlsServerNeedClientAuth=require); the broker itself registers over TLS
 * (tlsEnable). Apache's client with a valid certificate that verifies the server sends and
 * consumes; a plaintext client, a client without a certificate, one with an expired certificate
 * and one that does not trust the server's CA are all refused, and the servers log why.
 */
class TlsEnforcingTest {
    static final String TOPIC = "TlsEnforcedTopic";

    static final String[] TLS_ARGS = {
        "--tlsMode=enforcing",
        "--tlsServerCertPath=" + TlsCerts.path("server.pem"),
        "--tlsServerKeyPath=" + TlsCerts.path("server.key"),
        "--tlsServerNeedClientAuth=require",
        "--tlsServerTrustCertPath=" + TlsCerts.path("ca.pem"),
        "--tlsEnable=true",
        "--tlsClientCertPath=" + TlsCerts.path("client.pem"),
        "--tlsClientKeyPath=" + TlsCerts.path("client.key"),
        "--tlsClientAuthServer=true",
        "--tlsClientTrustCertPath=" + TlsCerts.path("ca.pem"),
    };

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster(TLS_ARGS).withNamesrvArgs(TLS_ARGS);

    @AfterEach
    void reset() {
        TlsCerts.defaultClient();
    }

    private DefaultMQProducer producer(boolean tls) throws Exception {
        DefaultMQProducer p = cluster.newProducer(RamjetCluster.unique("PID_TLS"));
        p.setUseTLS(tls);
        p.setRetryTimesWhenSendFailed(0);
        p.setSendMsgTimeout(3000);
        p.start();
        return p;
    }

    /** Sends one message; true if the broker stored it. */
    private static boolean sends(DefaultMQProducer p, String body) {
        try {
            SendResult r = p.send(new Message(TOPIC, "t", body.getBytes(StandardCharsets.UTF_8)));
            return r.getSendStatus() == SendStatus.SEND_OK;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void verifiedClientWorksAndEveryOtherClientIsRefused() throws Exception {
        TlsCerts.client("client", "ca");
        DefaultMQProducer good = producer(true);
        cluster.createTopic(good, TOPIC, 2);
        for (int i = 0; i < 5; i++) {
            assertTrue(sends(good, "good-" + i), "a verified TLS client must send");
        }

        TlsCerts.defaultClient();
        DefaultMQProducer plain = producer(false);
        assertTrue(!sends(plain, "plaintext"), "a plaintext client must be refused");

        TlsCerts.client(null, "ca");
        DefaultMQProducer noCert = producer(true);
        assertTrue(!sends(noCert, "no-certificate"), "a client without a certificate must be refused");

        TlsCerts.client("expired-client", "ca");
        DefaultMQProducer expired = producer(true);
        assertTrue(!sends(expired, "expired"), "an expired client certificate must be refused");

        TlsCerts.client("client", "other-ca");
        DefaultMQProducer distrustful = producer(true);
        assertTrue(!sends(distrustful, "untrusted-server"),
                "a client that does not trust the server's CA must not send");

        // Only the verified client's messages were stored, and a verified consumer gets them.
        TlsCerts.client("client", "ca");
        Map<String, Boolean> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = cluster.newPushConsumer(RamjetCluster.unique("CID_TLS"));
        c.setUseTLS(true);
        c.subscribe(TOPIC, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                seen.put(new String(m.getBody(), StandardCharsets.UTF_8), true);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        assertTrue(RamjetCluster.waitFor(30_000, () -> seen.size() >= 5), "consumed " + seen.keySet());
        Thread.sleep(1000);
        assertEquals(5, seen.size(), "consumed " + seen.keySet());
        for (String k : seen.keySet()) {
            if (!k.startsWith("good-")) {
                fail("a refused client's message was stored: " + k);
            }
        }

        String log = cluster.brokerLogText() + cluster.namesrvLogText();
        assertTrue(log.contains("refused: tlsMode is enforcing"), "servers log the plaintext refusal");
        assertTrue(log.contains("certificate has expired"), "servers log the expired certificate");
        assertTrue(log.contains("peer did not return a certificate"),
                "servers log the client without a certificate");
    }
}
