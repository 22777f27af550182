package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The ways of consuming: push BROADCASTING, DefaultMQPullConsumer (explicit offsets), the lite pull
 * consumer in subscribe and in assign + seek + commitSync mode, and the orderly push consumer
 * (queue locks) through a rebalance.
 */
class ConsumeModesTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    private static Message msg(String topic, String tag, String key, String body) {
        return new Message(topic, tag, key, body.getBytes(StandardCharsets.UTF_8));
    }

    private static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ broadcasting

    /**
     * Two BROADCASTING push consumers in one group each receive every one of 40 messages exactly
     * once (clustering would split them).
     */
    @Test
    void broadcastingEachConsumerGetsEveryMessage() throws Exception {
        String topic = RamjetCluster.unique("BcastTopic");
        String group = RamjetCluster.unique("bcast-group");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("bcast-producer"));
        producer.start();
        cluster.createTopic(producer, topic, 4);

        List<Map<String, AtomicInteger>> perConsumer = new ArrayList<>();
        List<DefaultMQPushConsumer> consumers = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            Map<String, AtomicInteger> got = new ConcurrentHashMap<>();
            perConsumer.add(got);
            DefaultMQPushConsumer consumer = cluster.newPushConsumer(group);
            RamjetCluster.setBroadcasting(consumer);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    got.computeIfAbsent(m.getKeys(), k -> new AtomicInteger()).incrementAndGet();
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            consumers.add(consumer);
        }
        // In broadcasting mode every consumer owns all queues.
        for (DefaultMQPushConsumer c : consumers) {
            RamjetCluster.awaitAssigned(c, topic, 4, 20_000);
        }
        Set<String> keys = new TreeSet<>();
        for (int i = 0; i < 40; i++) {
            String key = "bc-" + i;
            keys.add(key);
            SendResult r = producer.send(msg(topic, "t", key, "broadcast " + i));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send " + i);
        }
        boolean all = RamjetCluster.waitFor(30_000,
                () -> perConsumer.stream().allMatch(m -> m.keySet().containsAll(keys)));
        Thread.sleep(1_000); // catch duplicates
        for (int c = 0; c < 2; c++) {
            Map<String, AtomicInteger> got = perConsumer.get(c);
            Set<String> missing = new TreeSet<>(keys);
            missing.removeAll(got.keySet());
            assertEquals(Set.of(), missing, "consumer " + c + " (all=" + all + ") did not receive");
            for (Map.Entry<String, AtomicInteger> e : got.entrySet()) {
                assertEquals(1, e.getValue().get(), "consumer " + c + " received " + e.getKey() + " times");
            }
            assertEquals(keys, new TreeSet<>(got.keySet()), "consumer " + c + " received other messages");
        }
    }

    // ------------------------------------------------------------------ DefaultMQPullConsumer

    /**
     * DefaultMQPullConsumer: fetchSubscribeMessageQueues, min/maxOffset, pull from explicit
     * offsets (FOUND with nextBeginOffset, a window in the middle, NO_NEW_MSG at the end,
     * OFFSET_ILLEGAL far past it, a tag filter), and updateConsumeOffset persisted to the broker (read back with fetchConsumeOffset
     * from the store by a second pull consumer of the group).
     */
    @Test
    @SuppressWarnings("deprecation")
    void pullConsumerWithExplicitOffsets() throws Exception {
        String topic = RamjetCluster.unique("PullTopic");
        String group = RamjetCluster.unique("pull-group");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("pull-producer"));
        producer.start();
        List<MessageQueue> pubQueues = cluster.createTopic(producer, topic, 2);

        // 10 messages into each queue, tags A/B alternating.
        for (MessageQueue mq : pubQueues) {
            for (int i = 0; i < 10; i++) {
                SendResult r = producer.send(msg(topic, i % 2 == 0 ? "A" : "B", "q" + mq.getQueueId() + "-" + i,
                        "pull " + mq.getQueueId() + " " + i), mq);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
                assertEquals(i, r.getQueueOffset(), "queue offset of message " + i + " in " + mq);
            }
        }

        DefaultMQPullConsumer pc = cluster.newPullConsumer(group);
        pc.setRegisterTopics(new HashSet<>(List.of(topic)));
        pc.start();
        Set<MessageQueue> subQueues = pc.fetchSubscribeMessageQueues(topic);
        assertEquals(new HashSet<>(pubQueues), subQueues, "fetchSubscribeMessageQueues");
        // The registered topic is rebalanced like a push consumer's; the client persists (and at
        // shutdown) the offsets of the queues the rebalance gave it, and drops offsets set before.
        assertTrue(RamjetCluster.waitFor(20_000, () -> pc.getDefaultMQPullConsumerImpl().getRebalanceImpl()
                .getProcessQueueTable().keySet().containsAll(subQueues)), "pull consumer rebalance");

        for (MessageQueue mq : new TreeSet<>(subQueues)) {
            String q = "q" + mq.getQueueId() + "-";
            assertEquals(0, pc.minOffset(mq), "minOffset " + mq);
            assertEquals(10, pc.maxOffset(mq), "maxOffset " + mq);

            PullResult all = pc.pull(mq, "*", 0, 32);
            assertEquals(PullStatus.FOUND, all.getPullStatus(), "pull from 0: " + all);
            assertEquals(10, all.getNextBeginOffset(), "nextBeginOffset");
            assertEquals(10, all.getMsgFoundList().size(), "messages from 0");
            for (int i = 0; i < 10; i++) {
                MessageExt m = all.getMsgFoundList().get(i);
                assertEquals(i, m.getQueueOffset(), "queue offset");
                assertEquals(q + i, m.getKeys());
                assertEquals("pull " + mq.getQueueId() + " " + i, body(m));
            }

            PullResult window = pc.pull(mq, "*", 5, 3);
            assertEquals(PullStatus.FOUND, window.getPullStatus(), "pull 5..7: " + window);
            assertEquals(List.of(5L, 6L, 7L), window.getMsgFoundList().stream().map(MessageExt::getQueueOffset).toList());
            assertEquals(8, window.getNextBeginOffset());

            PullResult tagA = pc.pull(mq, "A", 0, 32);
            assertEquals(PullStatus.FOUND, tagA.getPullStatus(), "pull tag A: " + tagA);
            assertEquals(List.of(0L, 2L, 4L, 6L, 8L), tagA.getMsgFoundList().stream().map(MessageExt::getQueueOffset)
                    .toList(), "tag A offsets");

            PullResult end = pc.pull(mq, "*", 10, 32);
            assertEquals(PullStatus.NO_NEW_MSG, end.getPullStatus(), "pull at max offset: " + end);
            assertEquals(10, end.getNextBeginOffset());

            // Far past the end: PULL_OFFSET_MOVED, i.e. OFFSET_ILLEGAL with a corrected offset: the
            // max offset, as an Apache RocketMQ 4.9.7 broker answers (seen in tests/diff).
            PullResult past = pc.pull(mq, "*", 100, 32);
            assertEquals(PullStatus.OFFSET_ILLEGAL, past.getPullStatus(), "pull at offset 100: " + past);
            assertEquals(10, past.getNextBeginOffset(), "corrected offset after pulling at 100 (max offset 10)");

            pc.updateConsumeOffset(mq, 7);
            assertEquals(7, pc.fetchConsumeOffset(mq, false), "fetchConsumeOffset from memory");
        }
        pc.shutdown(); // persists the offsets to the broker (UPDATE_CONSUMER_OFFSET)

        DefaultMQPullConsumer second = cluster.newPullConsumer(group);
        second.start();
        for (MessageQueue mq : subQueues) {
            assertEquals(7, second.fetchConsumeOffset(mq, true), "offset from the broker, second pull consumer: " + mq);
            PullResult rest = second.pull(mq, "*", second.fetchConsumeOffset(mq, true), 32);
            assertEquals(List.of(7L, 8L, 9L), rest.getMsgFoundList().stream().map(MessageExt::getQueueOffset).toList());
        }
    }

    // ------------------------------------------------------------------ lite pull consumer

    /** DefaultLitePullConsumer.subscribe + poll: 30 messages over 4 queues, each exactly once. */
    @Test
    void litePullSubscribe() throws Exception {
        String topic = RamjetCluster.unique("LiteSubTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("lite-producer"));
        producer.start();
        cluster.createTopic(producer, topic, 4);

        DefaultLitePullConsumer lc = cluster.newLitePullConsumer(RamjetCluster.unique("lite-sub"));
        lc.subscribe(topic, "*");
        lc.start();
        assertTrue(RamjetCluster.waitFor(20_000, () -> {
            try {
                return lc.assignment().size() == 4;
            } catch (Exception e) {
                return false;
            }
        }), "lite consumer not assigned 4 queues: " + lc.assignment());

        Set<String> keys = new TreeSet<>();
        for (int i = 0; i < 30; i++) {
            keys.add("ls-" + i);
            assertEquals(SendStatus.SEND_OK, producer.send(msg(topic, "t", "ls-" + i, "lite " + i)).getSendStatus());
        }
        Map<String, Integer> got = new TreeMap<>();
        long deadline = System.currentTimeMillis() + 30_000;
        for (int polls = 0; polls < 200 && System.currentTimeMillis() < deadline; polls++) {
            for (MessageExt m : lc.poll(500)) {
                got.merge(m.getKeys(), 1, Integer::sum);
                assertEquals("lite " + m.getKeys().substring(3), body(m));
            }
            if (got.keySet().containsAll(keys)) {
                break;
            }
        }
        for (MessageExt m : lc.poll(1_000)) { // nothing more
            got.merge(m.getKeys(), 1, Integer::sum);
        }
        assertEquals(keys, got.keySet(), "keys polled");
        got.forEach((k, n) -> assertEquals(1, n, k + " polled " + n + " times"));
    }

    /**
     * DefaultLitePullConsumer in assign mode, auto-commit off: assign both queues and poll all
     * 10 + 10 messages, then rewind: seek queue 0 to offset 3 and queue 1 to 0, poll 7 + 10 messages
     * (starting at offsets 3 and 0), commitSync and shut down. A new lite consumer of the same group
     * assigned the same queues sees committed() = 10 and polls only the 5 + 5 messages sent after
     * that, from offset 10.
     *
     * <p>The first pass is drained before seeking on purpose: rocketmq-client 5.5.0's pull task
     * checks for cancellation before it takes the queue lock and the seek offset after, so a pull
     * that returns data while seek() runs can still be delivered (both the old and the sought
     * range arrive). Once the queues are drained the only pull in flight is a held long poll at
     * offset 10, which returns nothing.
     */
    @Test
    @SuppressWarnings("deprecation") // commitSync(): deprecated in 5.x for commit(), which 4.9.8 lacks
    void litePullAssignSeekCommitSyncThenResume() throws Exception {
        String topic = RamjetCluster.unique("LiteAssignTopic");
        String group = RamjetCluster.unique("lite-assign");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("lite-producer"));
        producer.start();
        List<MessageQueue> mqs = new ArrayList<>(cluster.createTopic(producer, topic, 2));
        mqs.sort(null);
        for (MessageQueue mq : mqs) {
            for (int i = 0; i < 10; i++) {
                assertEquals(SendStatus.SEND_OK, producer.send(msg(topic, "t", "la-" + mq.getQueueId() + "-" + i,
                        "assign " + i), mq).getSendStatus());
            }
        }

        DefaultLitePullConsumer a = cluster.newLitePullConsumer(group);
        a.setAutoCommit(false);
        a.start();
        a.assign(mqs);
        Map<Integer, List<Long>> first = pollOffsets(a, 20, 20_000);
        for (MessageQueue mq : mqs) {
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), first.get(mq.getQueueId()),
                    "first pass of " + mq);
        }
        a.seek(mqs.get(0), 3);
        a.seek(mqs.get(1), 0);
        Map<Integer, List<Long>> offsets = pollOffsets(a, 17, 20_000);
        assertEquals(List.of(3L, 4L, 5L, 6L, 7L, 8L, 9L), offsets.get(mqs.get(0).getQueueId()), "queue 0 after seek(3)");
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), offsets.get(mqs.get(1).getQueueId()),
                "queue 1 after seek(0)");
        a.commitSync();
        a.shutdown(); // persists the committed offsets to the broker

        for (MessageQueue mq : mqs) {
            for (int i = 10; i < 15; i++) {
                assertEquals(SendStatus.SEND_OK, producer.send(msg(topic, "t", "la-" + mq.getQueueId() + "-" + i,
                        "assign " + i), mq).getSendStatus());
            }
        }
        DefaultLitePullConsumer b = cluster.newLitePullConsumer(group);
        b.setAutoCommit(false);
        b.start();
        b.assign(mqs);
        for (MessageQueue mq : mqs) {
            assertEquals(Long.valueOf(10), b.committed(mq), "committed offset of " + mq + " seen by a new consumer");
        }
        Map<Integer, List<Long>> resumed = pollOffsets(b, 10, 20_000);
        for (MessageQueue mq : mqs) {
            assertEquals(List.of(10L, 11L, 12L, 13L, 14L), resumed.get(mq.getQueueId()),
                    "new consumer of the group resumes " + mq + " at the committed offset");
        }
    }

    /** Polls until {@code expected} messages arrived (then 0.5 s more); offsets by queue id. */
    private static Map<Integer, List<Long>> pollOffsets(DefaultLitePullConsumer c, int expected, long timeoutMs) {
        Map<Integer, List<Long>> out = new TreeMap<>();
        int n = 0;
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (int polls = 0; polls < 400 && System.currentTimeMillis() < deadline && n < expected; polls++) {
            for (MessageExt m : c.poll(200)) {
                out.computeIfAbsent(m.getQueueId(), k -> new ArrayList<>()).add(m.getQueueOffset());
                n++;
            }
        }
        for (MessageExt m : c.poll(500)) {
            out.computeIfAbsent(m.getQueueId(), k -> new ArrayList<>()).add(m.getQueueOffset());
        }
        return out;
    }

    // ------------------------------------------------------------------ orderly through a rebalance

    record Delivery(String shardKey, int seq, String consumer, int queueId) {
    }

    /**
     * Orderly consumption with queue locks through a rebalance. 8 sharding keys x 40 messages go
     * to a 4-queue topic with a MessageQueueSelector (key hash). One orderly consumer starts; after
     * half of the messages a second consumer of the group joins and the queues are split 2 + 2.
     * The locks must keep each queue in one consumer's hands at a time (no queue is ever being
     * consumed by two threads at once), every message must arrive, and per sharding key the
     * sequence numbers must arrive in order (a redelivery of an already seen number is allowed,
     * a gap or a step back past a new number is not).
     */
    @Test
    void orderlyThroughRebalance() throws Exception {
        String topic = RamjetCluster.unique("OrderlyTopic");
        String group = RamjetCluster.unique("orderly-group");
        int keys = 8;
        int perKey = 40;
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("orderly-producer"));
        producer.start();
        cluster.createTopic(producer, topic, 4);

        List<Delivery> deliveries = Collections.synchronizedList(new ArrayList<>());
        Map<Integer, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        List<String> overlaps = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c1 = orderlyConsumer(group, topic, "c1", deliveries, inFlight, overlaps);
        c1.start();
        RamjetCluster.awaitAssigned(c1, topic, 4, 20_000);

        int half = perKey / 2;
        sendOrdered(producer, topic, keys, 0, half, 0);
        RamjetCluster.waitFor(10_000, () -> deliveries.size() >= keys * half);
        // A second consumer joins while messages keep coming. (A queue whose process queue still
        // holds messages when the rebalance takes it away is unlocked only 20 s later by the
        // client, so a queue may move late; the wait allows for that.)
        long t0 = System.currentTimeMillis();
        DefaultMQPushConsumer c2 = orderlyConsumer(group, topic, "c2", deliveries, inFlight, overlaps);
        c2.start();
        sendOrdered(producer, topic, keys, half, half / 2, 10);
        RamjetCluster.awaitAssigned(c2, topic, 2, 30_000);
        RamjetCluster.awaitAssigned(c1, topic, 2, 30_000);
        System.out.printf("[orderly] queues split 2 + 2 %d ms after the second consumer started%n",
                System.currentTimeMillis() - t0);
        sendOrdered(producer, topic, keys, half + half / 2, perKey - half - half / 2, 0);

        boolean all = RamjetCluster.waitFor(40_000, () -> {
            synchronized (deliveries) {
                return deliveries.stream().map(d -> d.shardKey() + "/" + d.seq()).distinct().count() == (long) keys * perKey;
            }
        });
        Thread.sleep(500);
        List<String> problems = new ArrayList<>(overlaps);
        Map<String, List<Integer>> perShard = new TreeMap<>();
        Map<String, Set<String>> consumersByShard = new TreeMap<>();
        int duplicates = 0;
        synchronized (deliveries) {
            for (Delivery d : deliveries) {
                perShard.computeIfAbsent(d.shardKey(), k -> new ArrayList<>()).add(d.seq());
                consumersByShard.computeIfAbsent(d.shardKey(), k -> new TreeSet<>()).add(d.consumer());
            }
        }
        for (int k = 0; k < keys; k++) {
            String shard = "shard-" + k;
            List<Integer> seqs = perShard.getOrDefault(shard, List.of());
            int max = -1;
            for (int s : seqs) {
                if (s == max + 1) {
                    max = s;
                } else if (s <= max) {
                    duplicates++;
                } else {
                    problems.add(shard + ": got " + s + " after " + max + " (order broken or message lost): " + seqs);
                    break;
                }
            }
            if (max != perKey - 1) {
                problems.add(shard + ": highest in-order seq " + max + ", expected " + (perKey - 1) + ": " + seqs);
            }
        }
        long c2Count;
        synchronized (deliveries) {
            c2Count = deliveries.stream().filter(d -> d.consumer().equals("c2")).count();
        }
        System.out.printf("[orderly] %d deliveries (%d redelivered), c2 consumed %d, consumers by shard %s%n",
                deliveries.size(), duplicates, c2Count, consumersByShard);
        if (c2Count == 0) {
            problems.add("the second consumer consumed nothing after the rebalance");
        }
        if (!problems.isEmpty()) {
            fail("all=" + all + "\n  " + String.join("\n  ", problems));
        }
    }

    private DefaultMQPushConsumer orderlyConsumer(String group, String topic, String name, List<Delivery> deliveries,
            Map<Integer, AtomicInteger> inFlight, List<String> overlaps) throws Exception {
        DefaultMQPushConsumer c = cluster.newPushConsumer(group);
        c.subscribe(topic, "*");
        c.setConsumeThreadMin(4);
        c.setConsumeThreadMax(4);
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            int q = ctx.getMessageQueue().getQueueId();
            AtomicInteger busy = inFlight.computeIfAbsent(q, k -> new AtomicInteger());
            if (busy.incrementAndGet() != 1) {
                overlaps.add("queue " + q + " consumed by two threads at once (" + name + ")");
            }
            try {
                for (MessageExt m : msgs) {
                    String[] parts = m.getKeys().split("#");
                    deliveries.add(new Delivery(parts[0], Integer.parseInt(parts[1]), name, q));
                }
                Thread.sleep(5); // keep work in flight while the rebalance happens
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                busy.decrementAndGet();
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        return c;
    }

    private static void sendOrdered(DefaultMQProducer producer, String topic, int keys, int fromSeq, int count,
            long pauseMs) throws Exception {
        for (int seq = fromSeq; seq < fromSeq + count; seq++) {
            if (pauseMs > 0) {
                Thread.sleep(pauseMs);
            }
            for (int k = 0; k < keys; k++) {
                String shard = "shard-" + k;
                Message m = msg(topic, "o", shard + "#" + seq, shard + " " + seq);
                SendResult r = producer.send(m, (mqs, message, arg) -> mqs.get(Math.floorMod(arg.hashCode(), mqs.size())),
                        shard);
                assertNotNull(r);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            }
        }
    }
}
