package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * A broker and name server with no TLS setting at all: tlsMode permissive (RocketMQ's default)
 * with a self-signed certificate made at start. Apache's client with {@code setUseTLS(true)} (its
 * default tls.test.mode) and a plaintext client use the same ports side by side; the TLS client's
 * messages are consumed over TLS and the plaintext client's over plaintext.
 */
class TlsPermissiveTest {
    static final String TOPIC = "TlsPermissiveTopic";

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    @AfterEach
    void reset() {
        TlsCerts.defaultClient();
    }

    private DefaultMQProducer producer(boolean tls) throws Exception {
        DefaultMQProducer p = cluster.newProducer(RamjetCluster.unique("PID_TLS"));
        p.setUseTLS(tls);
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        return p;
    }

    @Test
    void tlsAndPlaintextClientsShareThePorts() throws Exception {
        TlsCerts.defaultClient();
        DefaultMQProducer tls = producer(true);
        cluster.createTopic(tls, TOPIC, 2);
        DefaultMQProducer plain = producer(false);
        for (int i = 0; i < 10; i++) {
            SendResult a = tls.send(new Message(TOPIC, "tls", ("tls-" + i).getBytes(StandardCharsets.UTF_8)));
            SendResult b = plain.send(new Message(TOPIC, "plain", ("plain-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, a.getSendStatus());
            assertEquals(SendStatus.SEND_OK, b.getSendStatus());
        }
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
        assertTrue(RamjetCluster.waitFor(30_000, () -> seen.size() >= 20), "consumed " + seen.keySet());
        assertEquals(20, seen.size());
    }
}
