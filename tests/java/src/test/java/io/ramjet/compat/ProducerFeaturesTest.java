package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Producer-side features: transactions with check-back, batches (and a list split into ~1 MiB
 * batches), the SQL92 filter, sendLatencyFaultEnable and CONSUME_FROM_TIMESTAMP. The broker runs
 * with {@code enablePropertyFilter=true} (SQL92) and checks undecided transactions every second
 * ({@code transactionCheckInterval=1000}, {@code transactionTimeOut=1000}: Apache's defaults are
 * 60 s and 6 s).
 */
class ProducerFeaturesTest {

    static final long TX_CHECK_INTERVAL_MS = 1_000;
    static final long TX_TIMEOUT_MS = 1_000;

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--enablePropertyFilter=true",
            "--transactionCheckInterval=" + TX_CHECK_INTERVAL_MS, "--transactionTimeOut=" + TX_TIMEOUT_MS);

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    /** Collects what a push consumer receives, by key. */
    static final class Collector implements MessageListenerConcurrently {
        final Map<String, List<MessageExt>> byKey = new ConcurrentHashMap<>();
        final Map<String, Long> firstSeenAt = new ConcurrentHashMap<>();

        @Override
        public ConsumeConcurrentlyStatus consumeMessage(List<MessageExt> msgs,
                org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext ctx) {
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                byKey.computeIfAbsent(String.valueOf(m.getKeys()), k -> new CopyOnWriteArrayList<>()).add(m);
                firstSeenAt.putIfAbsent(String.valueOf(m.getKeys()), now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        }

        /** Waits for every expected key, then {@code quietMs} more; asserts exactly those, once each. */
        void assertExactly(Set<String> expected, long timeoutMs, long quietMs, String what) throws InterruptedException {
            boolean all = RamjetCluster.waitFor(timeoutMs, () -> byKey.keySet().containsAll(expected));
            Thread.sleep(quietMs);
            Set<String> missing = new TreeSet<>(expected);
            missing.removeAll(byKey.keySet());
            Set<String> extra = new TreeSet<>(byKey.keySet());
            extra.removeAll(expected);
            List<String> dup = new ArrayList<>();
            byKey.forEach((k, v) -> {
                if (v.size() != 1) {
                    dup.add(k + " x" + v.size());
                }
            });
            if (!missing.isEmpty() || !extra.isEmpty() || !dup.isEmpty()) {
                fail(what + " (all arrived=" + all + "): missing " + head(missing) + ", unexpected " + head(extra)
                        + ", duplicated " + head(dup));
            }
        }
    }

    private static <T> List<T> head(Iterable<T> items) {
        List<T> out = new ArrayList<>();
        for (T t : items) {
            if (out.size() >= 10) {
                break;
            }
            out.add(t);
        }
        return out;
    }

    private DefaultMQPushConsumer startConsumer(String topic, MessageSelector selector, String subExpr, Collector c,
            int queues) throws Exception {
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(RamjetCluster.unique("pf-consumer"));
        if (selector != null) {
            consumer.subscribe(topic, selector);
        } else {
            consumer.subscribe(topic, subExpr);
        }
        consumer.registerMessageListener(c);
        consumer.start();
        RamjetCluster.awaitAssigned(consumer, topic, queues, 20_000);
        return consumer;
    }

    private static Message msg(String topic, String key, String body) {
        return new Message(topic, "t", key, body.getBytes(StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------------ transactions

    /**
     * Transactions with check-back. Local transactions of 20 half messages return COMMIT_MESSAGE
     * (5), ROLLBACK_MESSAGE (5) or UNKNOW (10). The broker checks the UNKNOW ones back
     * (CHECK_TRANSACTION_STATE); checkLocalTransaction commits 5 and rolls back 5. The consumer
     * must get exactly the 5 + 5 committed ones, the check-back committed ones only after their
     * check, and never a rolled-back one.
     */
    @Test
    void transactionsCommitRollbackAndCheckBack() throws Exception {
        String topic = RamjetCluster.unique("TxTopic");
        DefaultMQProducer admin = cluster.newProducer(RamjetCluster.unique("tx-admin"));
        admin.start();
        cluster.createTopic(admin, topic, 2);
        Collector got = new Collector();
        startConsumer(topic, null, "*", got, 2);

        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        Map<String, String> txMsgIds = new ConcurrentHashMap<>();
        Map<String, Long> firstCheckAt = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> checks = new ConcurrentHashMap<>();
        List<String> errors = new CopyOnWriteArrayList<>();
        TransactionMQProducer producer = cluster.newTransactionProducer(RamjetCluster.unique("tx-producer"));
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message m, Object arg) {
                String key = m.getKeys();
                if (key.startsWith("commit-")) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if (key.startsWith("rollback-")) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt m) {
                String key = m.getKeys();
                firstCheckAt.putIfAbsent(key, System.currentTimeMillis());
                checks.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                if (key.startsWith("unknown-commit-")) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if (key.startsWith("unknown-rollback-")) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                errors.add("check-back of an already decided transaction " + key);
                return key.startsWith("commit-") ? LocalTransactionState.COMMIT_MESSAGE
                        : LocalTransactionState.ROLLBACK_MESSAGE;
            }
        });
        producer.start();

        Set<String> committed = new TreeSet<>();
        Set<String> unknown = new TreeSet<>();
        String[] kinds = {"commit-", "rollback-", "unknown-commit-", "unknown-rollback-", "unknown-commit-",
                "unknown-rollback-"};
        int[] counts = {5, 5, 3, 3, 2, 2};
        for (int k = 0; k < kinds.length; k++) {
            for (int i = 0; i < counts[k]; i++) {
                String key = kinds[k] + (k >= 4 ? 10 + i : i);
                sentAt.put(key, System.currentTimeMillis());
                TransactionSendResult r = producer.sendMessageInTransaction(msg(topic, key, "tx " + key), null);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), key + ": " + r);
                txMsgIds.put(key, r.getMsgId());
                LocalTransactionState expectedState = key.startsWith("commit-") ? LocalTransactionState.COMMIT_MESSAGE
                        : key.startsWith("rollback-") ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.UNKNOW;
                assertEquals(expectedState, r.getLocalTransactionState(), key);
                if (key.contains("commit-")) {
                    committed.add(key);
                }
                if (key.startsWith("unknown-")) {
                    unknown.add(key);
                }
            }
        }
        assertEquals(10, committed.size(), "test premise");
        got.assertExactly(committed, 30_000, 3_000, "transactional messages delivered");

        List<String> problems = new ArrayList<>(errors);
        for (String key : committed) {
            MessageExt m = got.byKey.get(key).get(0);
            if (!txMsgIds.get(key).equals(m.getMsgId()) || !("tx " + key).equals(new String(m.getBody(), StandardCharsets.UTF_8))) {
                problems.add(key + " delivered as msgId " + m.getMsgId() + " body '" + new String(m.getBody(),
                        StandardCharsets.UTF_8) + "', sent as " + txMsgIds.get(key));
            }
        }
        long slowest = 0;
        for (String key : unknown) {
            Long at = firstCheckAt.get(key);
            if (at == null) {
                problems.add(key + " was never checked back");
                continue;
            }
            slowest = Math.max(slowest, at - sentAt.get(key));
            Long seen = got.firstSeenAt.get(key);
            if (seen != null && seen < at) {
                problems.add(key + " delivered " + (at - seen) + " ms before its check-back committed it");
            }
        }
        System.out.printf("[tx] check-backs %s; slowest first check %d ms after the send (check interval %d ms,"
                + " timeout %d ms)%n", new TreeMap<>(checks), slowest, TX_CHECK_INTERVAL_MS, TX_TIMEOUT_MS);
        if (!problems.isEmpty()) {
            fail(String.join("\n  ", problems));
        }
    }

    // ------------------------------------------------------------------ batches

    /**
     * A batch of 50 messages in one send: one SendResult with 50 comma-separated message ids; the
     * consumer receives all 50 unchanged, each with the id the result lists for it, on the
     * result's queue at consecutive offsets from its queue offset.
     */
    @Test
    void batchSend() throws Exception {
        String topic = RamjetCluster.unique("BatchTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("batch-producer"));
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        cluster.createTopic(producer, topic, 4);
        Collector got = new Collector();
        startConsumer(topic, null, "*", got, 4);

        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Message m = msg(topic, "b-" + i, "batch body " + i);
            m.putUserProperty("i", String.valueOf(i));
            batch.add(m);
        }
        SendResult r = producer.send(batch);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "batch: " + r);
        assertNotNull(r.getMsgId());
        assertEquals(50, r.getMsgId().split(",").length, "message ids in the batch result: " + r.getMsgId());
        Set<String> keys = new TreeSet<>();
        for (int i = 0; i < 50; i++) {
            keys.add("b-" + i);
        }
        got.assertExactly(keys, 30_000, 500, "batch");
        // Each message keeps its own msgId: the one the batch result lists for it, in order.
        String[] batchIds = r.getMsgId().split(",");
        Set<String> consumedIds = new TreeSet<>();
        List<String> idMismatches = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            MessageExt m = got.byKey.get("b-" + i).get(0);
            consumedIds.add(m.getMsgId());
            if (!batchIds[i].equals(m.getMsgId())) {
                idMismatches.add("b-" + i + " consumed as " + m.getMsgId() + ", sent as " + batchIds[i]);
            }
        }
        assertEquals(List.of(), head(idMismatches), idMismatches.size() + " of 50 batch messages consumed with another"
                + " msgId than their send result; " + consumedIds.size() + " distinct msgIds consumed");
        for (int i = 0; i < 50; i++) {
            MessageExt m = got.byKey.get("b-" + i).get(0);
            assertEquals("batch body " + i, new String(m.getBody(), StandardCharsets.UTF_8));
            assertEquals(String.valueOf(i), m.getUserProperty("i"));
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId(), "queue of b-" + i);
            assertEquals(r.getQueueOffset() + i, m.getQueueOffset(), "queue offset of b-" + i);
        }
    }

    /**
     * A list too large for one request: 400 messages of 10 KiB incompressible bodies (4 MiB) split
     * into lists of at most 1 MiB (estimated like Apache's ListSplitter example): every batch
     * SEND_OK with one id per message, all 400 delivered once with identical bodies.
     */
    @Test
    void splitBatch() throws Exception {
        String topic = RamjetCluster.unique("SplitBatchTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("split-producer"));
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        cluster.createTopic(producer, topic, 4);
        Collector got = new Collector();
        startConsumer(topic, null, "*", got, 4);

        List<Message> large = new ArrayList<>();
        Set<String> largeKeys = new TreeSet<>();
        byte[] payload = new byte[10 * 1024];
        for (int i = 0; i < 400; i++) {
            ThreadLocalRandom.current().nextBytes(payload);
            large.add(new Message(topic, "t", "s-" + i, payload.clone()));
            largeKeys.add("s-" + i);
        }
        List<List<Message>> chunks = split(large, 1024 * 1024);
        assertTrue(chunks.size() >= 4, "test premise: 4 MiB needs at least 4 batches, got " + chunks.size());
        for (List<Message> chunk : chunks) {
            SendResult cr = producer.send(chunk);
            assertEquals(SendStatus.SEND_OK, cr.getSendStatus(), "split batch of " + chunk.size() + ": " + cr);
            assertEquals(chunk.size(), cr.getMsgId().split(",").length);
        }
        got.assertExactly(largeKeys, 30_000, 500, "split batches");
        for (Message sent : large) {
            MessageExt m = got.byKey.get(sent.getKeys()).get(0);
            assertTrue(java.util.Arrays.equals(sent.getBody(), m.getBody()), "body of " + sent.getKeys());
        }
    }

    /**
     * Splits {@code msgs} into lists whose estimated wire size (topic, body, properties and 20
     * bytes of log overhead per message) stays at most {@code limit}.
     */
    static List<List<Message>> split(List<Message> msgs, int limit) {
        List<List<Message>> out = new ArrayList<>();
        List<Message> cur = new ArrayList<>();
        long size = 0;
        for (Message m : msgs) {
            long s = m.getTopic().length() + m.getBody().length + 20;
            for (Map.Entry<String, String> e : m.getProperties().entrySet()) {
                s += e.getKey().length() + e.getValue().length();
            }
            if (!cur.isEmpty() && size + s > limit) {
                out.add(cur);
                cur = new ArrayList<>();
                size = 0;
            }
            cur.add(m);
            size += s;
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }

    // ------------------------------------------------------------------ query and view

    /**
     * Looking messages up: 5 messages with keys "qk-i shared". For each, {@code viewMessage(topic,
     * offsetMsgId)} (VIEW_MESSAGE_BY_ID) and {@code viewMessage(topic, msgId)} (QUERY_MESSAGE by
     * unique key) return it unchanged with the send result's queue, queue offset and msgId;
     * {@code queryMessage(topic, "qk-2", ...)} (QUERY_MESSAGE by key) finds exactly that one and
     * {@code queryMessage(topic, "shared", ...)} all 5; {@code earliestMsgStoreTime} of the queue
     * lies between the first send's start and end.
     */
    @Test
    @SuppressWarnings("deprecation") // producer-side viewMessage/queryMessage: the MQAdmin API of the client
    void queryAndViewMessages() throws Exception {
        String topic = RamjetCluster.unique("QueryTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("query-producer"));
        producer.start();
        List<org.apache.rocketmq.common.message.MessageQueue> mqs = cluster.createTopic(producer, topic, 1);
        long begin = System.currentTimeMillis();
        List<SendResult> results = new ArrayList<>();
        long firstSendEnd = 0;
        for (int i = 0; i < 5; i++) {
            Message m = new Message(topic, "q", ("query body " + i).getBytes(StandardCharsets.UTF_8));
            m.setKeys(List.of("qk-" + i, "shared"));
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            results.add(r);
            if (i == 0) {
                firstSendEnd = System.currentTimeMillis();
            }
        }
        long end = System.currentTimeMillis() + 1_000;
        for (int i = 0; i < 5; i++) {
            SendResult r = results.get(i);
            for (String id : List.of(r.getOffsetMsgId(), r.getMsgId())) {
                MessageExt m = producer.viewMessage(topic, id);
                assertEquals("query body " + i, new String(m.getBody(), StandardCharsets.UTF_8), "viewMessage " + id);
                assertEquals(topic, m.getTopic());
                assertEquals("qk-" + i + " shared", m.getKeys());
                assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId());
                assertEquals(r.getQueueOffset(), m.getQueueOffset(), "queue offset, viewMessage " + id);
                assertEquals(r.getMsgId(), m.getMsgId(), "msgId, viewMessage " + id);
            }
        }
        // The key index may lag the store a little: bounded retries.
        List<MessageExt> one = List.of();
        List<MessageExt> all = List.of();
        for (int attempt = 0; attempt < 50; attempt++) {
            one = producer.queryMessage(topic, "qk-2", 32, begin - 1_000, end).getMessageList();
            all = producer.queryMessage(topic, "shared", 32, begin - 1_000, end).getMessageList();
            if (one.size() == 1 && all.size() == 5) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(1, one.size(), "queryMessage by key qk-2: " + one);
        assertEquals("query body 2", new String(one.get(0).getBody(), StandardCharsets.UTF_8));
        assertEquals(results.get(2).getMsgId(), one.get(0).getMsgId());
        Set<String> bodies = new TreeSet<>();
        for (MessageExt m : all) {
            bodies.add(new String(m.getBody(), StandardCharsets.UTF_8));
        }
        assertEquals(Set.of("query body 0", "query body 1", "query body 2", "query body 3", "query body 4"), bodies,
                "queryMessage by the shared key");
        long earliest = producer.earliestMsgStoreTime(mqs.get(0));
        assertTrue(earliest >= begin - 5 && earliest <= firstSendEnd + 5,
                "earliestMsgStoreTime " + earliest + " not within the first send [" + begin + ", " + firstSendEnd + "]");
    }

    // ------------------------------------------------------------------ SQL92

    /**
     * SQL92 property filter ({@code MessageSelector.bySql}, broker enablePropertyFilter=true):
     * 60 messages with user properties {@code a} = 0..9 and {@code color} red/blue; the consumer
     * with {@code a BETWEEN 2 AND 5 AND color = 'red'} gets exactly the matching ones.
     */
    @Test
    void sql92Filter() throws Exception {
        String topic = RamjetCluster.unique("SqlTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("sql-producer"));
        producer.start();
        cluster.createTopic(producer, topic, 2);
        Collector got = new Collector();
        startConsumer(topic, MessageSelector.bySql("a BETWEEN 2 AND 5 AND color = 'red'"), null, got, 2);

        Set<String> expected = new TreeSet<>();
        for (int i = 0; i < 60; i++) {
            int a = i % 10;
            String color = (i / 10) % 2 == 0 ? "red" : "blue";
            Message m = msg(topic, "sql-" + i, "sql " + i);
            m.putUserProperty("a", String.valueOf(a));
            m.putUserProperty("color", color);
            assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
            if (a >= 2 && a <= 5 && color.equals("red")) {
                expected.add("sql-" + i);
            }
        }
        assertEquals(12, expected.size(), "test premise");
        got.assertExactly(expected, 30_000, 2_000, "SQL92 filter");
    }

    // ------------------------------------------------------------------ sendLatencyFaultEnable

    /**
     * A producer with sendLatencyFaultEnable=true (latency-based broker avoidance) sends 100 sync
     * messages to a 4-queue topic: all SEND_OK, spread over the queues, all delivered.
     */
    @Test
    void sendLatencyFaultEnable() throws Exception {
        String topic = RamjetCluster.unique("LatencyTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("latency-producer"));
        producer.setSendLatencyFaultEnable(true);
        producer.start();
        cluster.createTopic(producer, topic, 4);
        Collector got = new Collector();
        startConsumer(topic, null, "*", got, 4);
        Set<String> keys = new TreeSet<>();
        Set<Integer> queues = new TreeSet<>();
        for (int i = 0; i < 100; i++) {
            SendResult r = producer.send(msg(topic, "lf-" + i, "latency " + i));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send " + i);
            queues.add(r.getMessageQueue().getQueueId());
            keys.add("lf-" + i);
        }
        assertEquals(Set.of(0, 1, 2, 3), queues, "queues used");
        got.assertExactly(keys, 30_000, 500, "sendLatencyFaultEnable");
    }

    // ------------------------------------------------------------------ consume from timestamp

    /**
     * CONSUME_FROM_TIMESTAMP: 10 messages, then (a whole second later) 10 more. A new group with
     * consumeTimestamp = the second between them (yyyyMMddHHmmss) starts at the first message
     * stored at or after it: it gets exactly the second 10 (SEARCH_OFFSET_BY_TIMESTAMP).
     */
    @Test
    void consumeFromTimestamp() throws Exception {
        String topic = RamjetCluster.unique("TimestampTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("ts-producer"));
        producer.start();
        cluster.createTopic(producer, topic, 2);
        for (int i = 0; i < 10; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(msg(topic, "old-" + i, "old " + i)).getSendStatus());
        }
        long lastOld = System.currentTimeMillis();
        // The next whole second at least 200 ms after the last old message.
        long boundary = ((lastOld + 200) / 1000 + 1) * 1000;
        Thread.sleep(boundary - System.currentTimeMillis() + 200);
        Set<String> fresh = new TreeSet<>();
        for (int i = 0; i < 10; i++) {
            assertEquals(SendStatus.SEND_OK, producer.send(msg(topic, "new-" + i, "new " + i)).getSendStatus());
            fresh.add("new-" + i);
        }
        String ts = new SimpleDateFormat("yyyyMMddHHmmss").format(new Date(boundary));

        Collector got = new Collector();
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(RamjetCluster.unique("ts-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_TIMESTAMP);
        consumer.setConsumeTimestamp(ts);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(got);
        consumer.start();
        got.assertExactly(fresh, 30_000, 2_000, "CONSUME_FROM_TIMESTAMP " + ts);
    }
}
