package io.ramjet.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ramjet.compat.RamjetCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Apache's Java 5.x gRPC client (rocketmq-client-java) against the broker's own apache.rocketmq.v2
 * service: normal, FIFO, delay and transactional sends (commit, rollback, check-back), the
 * SimpleConsumer (receive, ack, redelivery, changeInvisibleDuration), the PushConsumer, and a FIFO
 * consumer group (consumeMessageOrderly).
 */
class GrpcClientTest {

    static final int GRPC_PORT = freePort();

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--grpcServerPort=" + GRPC_PORT,
            "--transactionTimeOut=1000", "--transactionCheckInterval=1000");

    static final ClientServiceProvider provider = ClientServiceProvider.loadService();

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ClientConfiguration config() {
        return ClientConfiguration.newBuilder()
                .setEndpoints("127.0.0.1:" + GRPC_PORT)
                .setRequestTimeout(Duration.ofSeconds(5))
                .enableSsl(false)
                .build();
    }

    static Message message(String topic, String body) {
        return provider.newMessageBuilder().setTopic(topic).setBody(body.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    static String body(MessageView m) {
        byte[] b = new byte[m.getBody().remaining()];
        m.getBody().duplicate().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static SimpleConsumer simpleConsumer(String group, String topic, String tag) throws Exception {
        return provider.newSimpleConsumerBuilder()
                .setClientConfiguration(config())
                .setConsumerGroup(group)
                .setAwaitDuration(Duration.ofSeconds(2))
                .setSubscriptionExpressions(Map.of(topic, new FilterExpression(tag, FilterExpressionType.TAG)))
                .build();
    }

    /** Receives until {@code want} messages or {@code limitMs}; acks them when {@code ack}. */
    static List<MessageView> receive(SimpleConsumer c, int want, boolean ack, Duration invisible, long limitMs)
            throws Exception {
        List<MessageView> got = new ArrayList<>();
        long end = System.currentTimeMillis() + limitMs;
        while (got.size() < want && System.currentTimeMillis() < end) {
            for (MessageView m : c.receive(16, invisible)) {
                got.add(m);
                if (ack) {
                    c.ack(m);
                }
            }
        }
        return got;
    }

    @Test
    void normalSendTagFilterReceiveAndAck() throws Exception {
        String topic = RamjetCluster.unique("J5Normal");
        Map<String, Integer> sent = new ConcurrentHashMap<>();
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            for (int i = 0; i < 20; i++) {
                Message m = provider.newMessageBuilder().setTopic(topic).setTag("TagA").setKeys("k" + i)
                        .addProperty("seq", String.valueOf(i))
                        .setBody(("normal-" + i).getBytes(StandardCharsets.UTF_8)).build();
                SendReceipt r = p.send(m);
                sent.put(r.getMessageId().toString(), i);
            }
            for (int i = 0; i < 5; i++) {
                p.send(provider.newMessageBuilder().setTopic(topic).setTag("TagB")
                        .setBody("b".getBytes(StandardCharsets.UTF_8)).build());
            }
        }
        try (SimpleConsumer c = simpleConsumer(RamjetCluster.unique("J5G1"), topic, "TagA")) {
            List<MessageView> got = receive(c, 20, true, Duration.ofSeconds(15), 30_000);
            assertEquals(20, got.size());
            for (MessageView m : got) {
                Integer i = sent.remove(m.getMessageId().toString());
                assertNotNull(i, "unknown or duplicate id " + m.getMessageId());
                assertEquals("normal-" + i, body(m));
                assertEquals("TagA", m.getTag().orElse(null));
                assertEquals(List.of("k" + i), new ArrayList<>(m.getKeys()));
                assertEquals(String.valueOf(i), m.getProperties().get("seq"));
                assertEquals(1, m.getDeliveryAttempt());
            }
            assertTrue(sent.isEmpty());
            assertTrue(c.receive(16, Duration.ofSeconds(15)).isEmpty(), "TagB filtered, nothing left");
        }
    }

    @Test
    void redeliveryAfterInvisibleTimeAndChangeInvisibleDuration() throws Exception {
        String topic = RamjetCluster.unique("J5Redeliver");
        String id;
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            id = p.send(message(topic, "again")).getMessageId().toString();
            p.send(message(topic, "changed"));
        }
        try (SimpleConsumer c = simpleConsumer(RamjetCluster.unique("J5G2"), topic, "*")) {
            List<MessageView> first = receive(c, 2, false, Duration.ofSeconds(2), 20_000);
            assertEquals(2, first.size());
            MessageView changed = first.stream().filter(m -> body(m).equals("changed")).findFirst().orElseThrow();
            c.changeInvisibleDuration(changed, Duration.ofSeconds(60));  // this one stays hidden
            List<MessageView> again = receive(c, 1, false, Duration.ofSeconds(30), 20_000);
            assertEquals(1, again.size(), "the other one comes back");
            assertEquals(id, again.get(0).getMessageId().toString());
            assertEquals(2, again.get(0).getDeliveryAttempt());
            c.ack(again.get(0));
            assertTrue(receive(c, 1, true, Duration.ofSeconds(30), 4_000).isEmpty(),
                    "acked, and the changed one is still invisible");
        }
    }

    @Test
    void fifoDelayAndTransactions() throws Exception {
        String topic = RamjetCluster.unique("J5Mixed");
        Set<String> checked = ConcurrentHashMap.newKeySet();
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config()).setTopics(topic)
                .setTransactionChecker(m -> {
                    checked.add(body(m));
                    return TransactionResolution.COMMIT;
                }).build()) {
            for (int i = 0; i < 5; i++) {
                p.send(provider.newMessageBuilder().setTopic(topic).setMessageGroup("g1")
                        .setBody(("fifo-" + i).getBytes(StandardCharsets.UTF_8)).build());
            }
            long at = System.currentTimeMillis() + 3000;
            p.send(provider.newMessageBuilder().setTopic(topic).setDeliveryTimestamp(at)
                    .setBody("delayed".getBytes(StandardCharsets.UTF_8)).build());
            Transaction commit = p.beginTransaction();
            p.send(message(topic, "committed"), commit);
            commit.commit();
            Transaction rollback = p.beginTransaction();
            p.send(message(topic, "rolled-back"), rollback);
            rollback.rollback();
            Transaction undecided = p.beginTransaction();
            p.send(message(topic, "checked"), undecided);  // decided by the check-back

            try (SimpleConsumer c = simpleConsumer(RamjetCluster.unique("J5G3"), topic, "*")) {
                List<String> bodies = new ArrayList<>();
                long delayedAt = 0;
                long end = System.currentTimeMillis() + 40_000;
                while (bodies.size() < 8 && System.currentTimeMillis() < end) {
                    for (MessageView m : c.receive(16, Duration.ofSeconds(15))) {
                        bodies.add(body(m));
                        if (body(m).equals("delayed")) {
                            delayedAt = System.currentTimeMillis();
                        }
                        c.ack(m);
                    }
                }
                List<String> fifo = bodies.stream().filter(b -> b.startsWith("fifo-")).toList();
                assertEquals(List.of("fifo-0", "fifo-1", "fifo-2", "fifo-3", "fifo-4"), fifo);
                assertTrue(bodies.contains("committed"));
                assertTrue(bodies.contains("checked"), "committed by the check-back: " + bodies);
                assertTrue(checked.contains("checked"));
                assertFalse(bodies.contains("rolled-back"));
                assertTrue(delayedAt >= at - 100, "delayed message delivered early");
            }
        }
    }

    @Test
    void pushConsumerConsumesEverything() throws Exception {
        String topic = RamjetCluster.unique("J5Push");
        Set<String> want = new HashSet<>();
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            for (int i = 0; i < 20; i++) {
                want.add(p.send(message(topic, "p" + i)).getMessageId().toString());
            }
        }
        Set<String> seen = ConcurrentHashMap.newKeySet();
        String group = RamjetCluster.unique("J5G4");
        try (PushConsumer c = provider.newPushConsumerBuilder()
                .setClientConfiguration(config())
                .setConsumerGroup(group)
                .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
                .setMessageListener(m -> {
                    seen.add(m.getMessageId().toString());
                    return ConsumeResult.SUCCESS;
                })
                .build()) {
            long end = System.currentTimeMillis() + 30_000;
            while (!seen.containsAll(want) && System.currentTimeMillis() < end) {
                Thread.sleep(100);
            }
            // The admin's consumer connection list (mqadmin consumerConnection) shows it.
            DefaultMQProducer admin = cluster.newProducer(RamjetCluster.unique("J5Admin"));
            admin.start();
            org.apache.rocketmq.client.impl.MQClientAPIImpl api =
                    admin.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            org.apache.rocketmq.common.protocol.body.ConsumerConnection cc =
                    api.getConsumerConnectionList(cluster.brokerAddr(), group, 5000);
            assertEquals(1, cc.getConnectionSet().size());
            org.apache.rocketmq.common.protocol.body.Connection conn = cc.getConnectionSet().iterator().next();
            assertEquals("JAVA", conn.getLanguage().name());
            assertTrue(conn.getVersion() >= 413, "a 5.x MQVersion ordinal: " + conn.getVersion());
            assertTrue(cc.getSubscriptionTable().containsKey(topic), cc.getSubscriptionTable().toString());
            // mqadmin consumerStatus -s (jstack) and consumeMessage directly reach the 5.x client
            // over its telemetry stream (PrintThreadStackTraceCommand, VerifyMessageCommand).
            org.apache.rocketmq.common.protocol.body.ConsumerRunningInfo info =
                    api.getConsumerRunningInfo(cluster.brokerAddr(), group, conn.getClientId(), true, 15000);
            assertTrue(info.getJstack() != null && info.getJstack().contains("Thread"), "jstack: " + info.getJstack());
            org.apache.rocketmq.client.producer.SendResult direct = admin.send(
                    new org.apache.rocketmq.common.message.Message(topic, "direct".getBytes(StandardCharsets.UTF_8)));
            org.apache.rocketmq.common.protocol.body.ConsumeMessageDirectlyResult d = api.consumeMessageDirectly(
                    cluster.brokerAddr(), group, conn.getClientId(), direct.getOffsetMsgId(), 15000);
            assertEquals(org.apache.rocketmq.common.protocol.body.CMResult.CR_SUCCESS, d.getConsumeResult());
            admin.shutdown();
        }
        assertTrue(seen.containsAll(want), "consumed " + seen.size() + " of " + want.size());
    }

    /**
     * A FIFO consumer group, made as RocketMQ 5's {@code mqadmin updateSubGroup -o true} does
     * (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP with consumeMessageOrderly), sent here over the 4.x
     * client's remoting connection.
     */
    static void createFifoGroup(String group) throws Exception {
        DefaultMQProducer p = cluster.newProducer(RamjetCluster.unique("J5Admin"));
        p.start();
        RemotingCommand req = RemotingCommand.createRequestCommand(200, null);
        req.setBody(("{\"groupName\":\"" + group + "\",\"consumeMessageOrderly\":true,\"retryMaxTimes\":16}")
                .getBytes(StandardCharsets.UTF_8));
        RemotingCommand r = p.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl()
                .getRemotingClient().invokeSync(cluster.brokerAddr(), req, 5000);
        assertEquals(0, r.getCode(), r.getRemark());
        p.shutdown();
    }

    @Test
    void fifoGroupPushConsumerKeepsOrderPerMessageGroupThroughARetry() throws Exception {
        String topic = RamjetCluster.unique("J5FifoGroup");
        String group = RamjetCluster.unique("J5GF");
        createFifoGroup(group);
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config()).setTopics(topic).build()) {
            for (int i = 0; i < 6; i++) {
                for (String g : List.of("a", "b")) {
                    p.send(provider.newMessageBuilder().setTopic(topic).setMessageGroup(g)
                            .setBody((g + "-" + i).getBytes(StandardCharsets.UTF_8)).build());
                }
            }
        }
        Map<String, List<String>> order = new ConcurrentHashMap<>();
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        Set<String> done = ConcurrentHashMap.newKeySet();
        try (PushConsumer c = provider.newPushConsumerBuilder()
                .setClientConfiguration(config())
                .setConsumerGroup(group)
                .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
                .setMessageListener(m -> {
                    String b = body(m);
                    order.computeIfAbsent(m.getMessageGroup().orElse("?"),
                            k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(b);
                    if (b.equals("a-2") && failedOnce.add(b)) {
                        return ConsumeResult.FAILURE;  // redelivered before a-3: the group waits
                    }
                    done.add(b);
                    return ConsumeResult.SUCCESS;
                })
                .build()) {
            long end = System.currentTimeMillis() + 40_000;
            while (done.size() < 12 && System.currentTimeMillis() < end) {
                Thread.sleep(100);
            }
        }
        assertEquals(List.of("a-0", "a-1", "a-2", "a-2", "a-3", "a-4", "a-5"), order.get("a"));
        assertEquals(List.of("b-0", "b-1", "b-2", "b-3", "b-4", "b-5"), order.get("b"));
    }
}
