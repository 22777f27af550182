package io.ramjet.compat5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ramjet.compat.RamjetCluster;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * RocketMQ 5.3's recall of a timer message before it is delivered, with Apache's 5.5.0 remoting
 * client: the send answers a recall handle, {@code DefaultMQProducer.recallMessage} cancels the
 * timer, and only the messages that were not recalled arrive; a second recall, and a recall
 * after delivery, are refused.
 */
class RecallTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    @Test
    void recalledTimerMessagesAreNeverDelivered() throws Exception {
        String topic = RamjetCluster.unique("RecallTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("RecallProducer"));
        producer.start();
        cluster.createTopic(producer, topic, 2);
        long at = System.currentTimeMillis() + 4000;
        String recalledHandle = null;
        String keptHandle = null;
        String recalledId = null;
        for (String body : new String[] {"recalled", "kept"}) {
            Message m = new Message(topic, "T", body.getBytes(StandardCharsets.UTF_8));
            m.setDeliverTimeMs(at);
            SendResult r = producer.send(m);
            assertNotNull(r.getRecallHandle(), "a timer message is answered with a recall handle");
            if (body.equals("recalled")) {
                recalledHandle = r.getRecallHandle();
                recalledId = r.getMsgId();
            } else {
                keptHandle = r.getRecallHandle();
            }
        }
        assertEquals(recalledId, producer.recallMessage(topic, recalledHandle));
        final String again = recalledHandle;
        MQBrokerException twice = assertThrows(MQBrokerException.class, () -> producer.recallMessage(topic, again));
        assertTrue(twice.getErrorMessage().contains("recalled") || twice.getErrorMessage().contains("delivered"),
                twice.getErrorMessage());

        Set<String> got = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(RamjetCluster.unique("RecallGroup"));
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        assertTrue(RamjetCluster.waitFor(20_000, () -> got.contains("kept")), "the kept one arrives");
        Thread.sleep(2000);
        assertEquals(Set.of("kept"), got);
        final String late = keptHandle;
        assertThrows(MQBrokerException.class, () -> producer.recallMessage(topic, late),
                "delivered already: too late to recall");
        assertFalse(got.contains("recalled"));
    }
}
