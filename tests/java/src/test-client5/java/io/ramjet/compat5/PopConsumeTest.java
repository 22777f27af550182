package io.ramjet.compat5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ramjet.compat.RamjetCluster;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageRequestMode;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * POP consumption by Apache's 5.x remoting client (rocketmq-client 5.5.0): an admin sets the
 * group's request mode to POP (SET_MESSAGE_REQUEST_MODE, as {@code mqadmin setConsumeMode} does),
 * a push consumer with {@code setClientRebalance(false)} asks the broker for its queues
 * (QUERY_ASSIGNMENT), pops (POP_MESSAGE, long polling), acks each message (ACK_MESSAGE) and, for a
 * message it fails, makes it invisible for the first retry delay (CHANGE_MESSAGE_INVISIBLETIME):
 * it comes back through the pop retry topic with its reconsume count raised.
 */
class PopConsumeTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    @Test
    void pushConsumerInPopModeConsumesAcksAndRetries() throws Exception {
        String topic = RamjetCluster.unique("PopTopic");
        String group = RamjetCluster.unique("PopGroup");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("PopProducer"));
        producer.start();
        cluster.createTopic(producer, topic, 4);
        MQClientAPIImpl api = producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
        SubscriptionGroupConfig g = new SubscriptionGroupConfig();
        g.setGroupName(group);
        api.createSubscriptionGroup(cluster.brokerAddr(), g, 5000);
        api.setMessageRequestMode(cluster.brokerAddr(), topic, group, MessageRequestMode.POP, 8, 5000);

        for (int i = 0; i < 40; i++) {
            producer.send(new Message(topic, "TagA", "k" + i, ("pop-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        Map<String, List<Integer>> deliveries = new ConcurrentHashMap<>();
        Set<String> topics = ConcurrentHashMap.newKeySet();
        List<String> popCks = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(group);
        consumer.setClientRebalance(false);
        consumer.subscribe(topic, "TagA");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                deliveries.computeIfAbsent(body, k -> new CopyOnWriteArrayList<>()).add(m.getReconsumeTimes());
                topics.add(m.getTopic());
                popCks.add(m.getProperty("POP_CK"));
                if (body.equals("pop-7") && m.getReconsumeTimes() == 0) {
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.start();
        // pop-7 comes back after the client's first retry delay (10 s).
        RamjetCluster.waitFor(60_000, () -> deliveries.size() == 40
                && deliveries.getOrDefault("pop-7", List.of()).size() >= 2);
        assertFalse(consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getPopProcessQueueTable().isEmpty(),
                "the broker assigned POP queues");
        assertEquals(40, deliveries.size(), "every message delivered: " + deliveries.keySet());
        assertEquals(List.of(0, 1), deliveries.get("pop-7"), "failed once, then retried with reconsumeTimes 1");
        for (Map.Entry<String, List<Integer>> e : deliveries.entrySet()) {
            if (!e.getKey().equals("pop-7")) {
                assertEquals(List.of(0), e.getValue(), e.getKey() + " delivered once (acked)");
            }
        }
        assertEquals(Set.of(topic), topics, "retried messages keep their topic");
        for (String ck : popCks) {
            assertTrue(ck != null && ck.split(" ").length == 8, "POP_CK: " + ck);
        }
        // Acked messages stay acked: nothing more arrives for longer than the retry delay.
        Thread.sleep(3000);
        assertEquals(List.of(0, 1), deliveries.get("pop-7"));
        assertEquals(41, deliveries.values().stream().mapToInt(List::size).sum());
    }
}
