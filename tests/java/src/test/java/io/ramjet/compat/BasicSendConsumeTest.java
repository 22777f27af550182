package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sync, async (SendCallback) and oneway sends of 100 messages each (tags TagA/TagB/TagC in turn,
 * a unique key each) to a 4-queue topic; a clustering push consumer subscribed with
 * {@code "TagA || TagB"} must receive exactly the TagA and TagB messages, once each, unchanged.
 */
class BasicSendConsumeTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    static final int PER_KIND = 100;
    static final int QUEUES = 4;
    static final String[] TAGS = {"TagA", "TagB", "TagC"};

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    record Sent(String key, String tag, String body) {
    }

    @Test
    void syncAsyncOnewayWithTagFilter() throws Exception {
        String topic = RamjetCluster.unique("BasicTopic");
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("basic-producer"));
        producer.start();
        cluster.createTopic(producer, topic, QUEUES);

        Map<String, List<MessageExt>> received = new ConcurrentHashMap<>();
        List<String> errors = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(RamjetCluster.unique("basic-consumer"));
        consumer.subscribe(topic, "TagA || TagB");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                if (m.getKeys() == null) {
                    errors.add("message without keys: " + m);
                    continue;
                }
                received.computeIfAbsent(m.getKeys(), k -> new CopyOnWriteArrayList<>()).add(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        RamjetCluster.awaitAssigned(consumer, topic, QUEUES, 20_000);

        Map<String, Sent> all = new TreeMap<>();

        // 1. sync
        Map<String, Set<Long>> offsetsByQueue = new TreeMap<>();
        for (int i = 0; i < PER_KIND; i++) {
            Sent s = sent("sync", i);
            all.put(s.key(), s);
            SendResult r = producer.send(message(topic, s));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "sync send " + i + ": " + r);
            assertNotNull(r.getMsgId(), "sync send " + i + " msgId");
            assertTrue(offsetsByQueue.computeIfAbsent(r.getMessageQueue().toString(), k -> new TreeSet<>())
                    .add(r.getQueueOffset()), "queue offset reused: " + r);
        }

        // 2. async
        CountDownLatch asyncDone = new CountDownLatch(PER_KIND);
        List<SendResult> asyncResults = new CopyOnWriteArrayList<>();
        List<String> asyncErrors = new CopyOnWriteArrayList<>();
        for (int i = 0; i < PER_KIND; i++) {
            Sent s = sent("async", i);
            all.put(s.key(), s);
            producer.send(message(topic, s), new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    asyncResults.add(r);
                    asyncDone.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    asyncErrors.add(s.key() + ": " + e);
                    asyncDone.countDown();
                }
            });
        }
        assertTrue(asyncDone.await(30, TimeUnit.SECONDS),
                "async callbacks missing after 30 s: " + asyncDone.getCount());
        assertEquals(List.of(), asyncErrors, "async send failures");
        for (SendResult r : asyncResults) {
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "async send: " + r);
            assertTrue(offsetsByQueue.computeIfAbsent(r.getMessageQueue().toString(), k -> new TreeSet<>())
                    .add(r.getQueueOffset()), "queue offset reused: " + r);
        }

        // 3. oneway
        for (int i = 0; i < PER_KIND; i++) {
            Sent s = sent("oneway", i);
            all.put(s.key(), s);
            producer.sendOneway(message(topic, s));
        }

        Map<String, Sent> expected = new TreeMap<>();
        all.forEach((k, s) -> {
            if (!s.tag().equals("TagC")) {
                expected.put(k, s);
            }
        });
        assertEquals(3 * 67, expected.size(), "test premise: TagA/TagB count");

        // Wait for all expected, then 3 s more to catch any extra (TagC or duplicate) delivery.
        boolean allArrived = RamjetCluster.waitFor(60_000, () -> received.keySet().containsAll(expected.keySet()));
        Thread.sleep(3_000);

        List<String> problems = new ArrayList<>(errors);
        Set<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(received.keySet());
        if (!missing.isEmpty()) {
            problems.add(missing.size() + " expected messages not received within 60 s, e.g. "
                    + first(missing, 10));
        }
        Set<String> unexpected = new TreeSet<>(received.keySet());
        unexpected.removeAll(expected.keySet());
        if (!unexpected.isEmpty()) {
            problems.add(unexpected.size() + " messages received that the filter excludes, e.g. "
                    + first(unexpected, 10));
        }
        for (Map.Entry<String, List<MessageExt>> e : new TreeMap<>(received).entrySet()) {
            List<MessageExt> got = e.getValue();
            if (got.size() != 1) {
                problems.add(e.getKey() + " received " + got.size() + " times");
            }
            Sent s = all.get(e.getKey());
            if (s == null) {
                problems.add("unknown key " + e.getKey());
                continue;
            }
            MessageExt m = got.get(0);
            String body = new String(m.getBody(), StandardCharsets.UTF_8);
            if (!m.getTopic().equals(topic) || !s.tag().equals(m.getTags()) || !s.body().equals(body)
                    || !s.key().equals(m.getKeys()) || !("v-" + s.key()).equals(m.getUserProperty("kind"))) {
                problems.add("changed: sent " + s + ", got topic=" + m.getTopic() + " tags=" + m.getTags()
                        + " keys=" + m.getKeys() + " body=" + body + " kind=" + m.getUserProperty("kind"));
            }
        }
        if (!problems.isEmpty()) {
            fail("allArrived=" + allArrived + ", received " + received.size() + " distinct of "
                    + expected.size() + " expected:\n  " + String.join("\n  ", first(problems, 30)));
        }
    }

    private static Sent sent(String kind, int i) {
        String tag = TAGS[i % TAGS.length];
        String key = kind + "-" + String.format("%03d", i);
        return new Sent(key, tag, "body of " + key + " " + tag);
    }

    private static Message message(String topic, Sent s) {
        Message m = new Message(topic, s.tag(), s.key(), s.body().getBytes(StandardCharsets.UTF_8));
        m.putUserProperty("kind", "v-" + s.key());
        return m;
    }

    private static <T> List<T> first(Iterable<T> items, int n) {
        List<T> out = new ArrayList<>();
        for (T t : items) {
            if (out.size() >= n) {
                break;
            }
            out.add(t);
        }
        return Collections.unmodifiableList(out);
    }
}
