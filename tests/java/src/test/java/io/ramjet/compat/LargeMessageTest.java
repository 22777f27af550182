package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
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
 * Incompressible (random) bodies up to 4 MiB − 16 KiB, sent uncompressed into the single queue
 * of a topic, must reach an orderly push consumer (CONSUME_FROM_FIRST_OFFSET, clustering)
 * byte-for-byte (SHA-256) and in queue-offset order, each exactly once.
 */
class LargeMessageTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    static final int KIB = 1024;
    static final int MIB = 1024 * KIB;
    static final long RECEIVE_WAIT_MS = 60_000;

    @AfterEach
    void closeClients() {
        cluster.closeClients();
    }

    @Test
    void largeBodiesInterleavedWithSmallOnes() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        int[] large = {1, 8 * KIB, 64 * KIB, MIB, 4 * MIB - 16 * KIB};
        for (int size : large) {
            sizes.add(16);
            sizes.add(size);
        }
        sizes.add(16);
        roundTrip("LargeMixed", sizes);
    }

    @Test
    void hundredBodiesOf10KiB() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            sizes.add(10 * KIB);
        }
        roundTrip("Large10K", sizes);
    }

    @Test
    void oneKiBThen300KiB() throws Exception {
        roundTrip("Large1K300K", List.of(KIB, 300 * KIB));
    }

    @Test
    void two150KiB() throws Exception {
        roundTrip("Large150Kx2", List.of(150 * KIB, 150 * KIB));
    }

    record Sent(int index, int size, String sha256, long queueOffset) {
    }

    record Got(String key, int size, String sha256, long queueOffset, int queueId, int reconsumeTimes) {
    }

    private void roundTrip(String name, List<Integer> sizes) throws Exception {
        String topic = RamjetCluster.unique(name);
        DefaultMQProducer producer = cluster.newProducer(RamjetCluster.unique("large-producer"));
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE); // exact sizes on the wire
        producer.start();
        List<MessageQueue> mqs = cluster.createTopic(producer, topic, 1);
        MessageQueue queue = mqs.get(0);

        List<Got> received = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = cluster.newPushConsumer(RamjetCluster.unique("large-consumer"));
        consumer.subscribe(topic, "*");
        consumer.setConsumeMessageBatchMaxSize(1);
        consumer.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                received.add(new Got(m.getKeys(), m.getBody().length, sha256(m.getBody()), m.getQueueOffset(),
                        m.getQueueId(), m.getReconsumeTimes()));
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        RamjetCluster.awaitAssigned(consumer, topic, 1, 20_000);

        Random random = new Random(sizes.hashCode() * 31L + name.hashCode());
        List<Sent> sent = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < sizes.size(); i++) {
            byte[] body = new byte[sizes.get(i)];
            random.nextBytes(body);
            Message m = new Message(topic, "T", key(i), body);
            SendResult r = producer.send(m, (list, msg, arg) -> list.get(0), null);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send #" + i + " (" + body.length + " B): " + r);
            assertEquals(queue.getQueueId(), r.getMessageQueue().getQueueId(), "send #" + i + " queue");
            if (!sent.isEmpty()) {
                assertEquals(sent.get(sent.size() - 1).queueOffset() + 1, r.getQueueOffset(),
                        "send #" + i + " queue offset follows the previous one: " + r);
            }
            sent.add(new Sent(i, body.length, sha256(body), r.getQueueOffset()));
            bytes += body.length;
        }

        long t0 = System.currentTimeMillis();
        boolean complete = RamjetCluster.waitFor(RECEIVE_WAIT_MS, () -> received.size() >= sent.size());
        long took = System.currentTimeMillis() - t0;
        Thread.sleep(1_000); // catch duplicates delivered right after the last one
        System.out.printf("[large] %s: %d messages, %d bytes, received %d in %d ms%n", name, sent.size(), bytes,
                received.size(), took);

        List<String> problems = new ArrayList<>();
        if (!complete) {
            problems.add("received " + received.size() + " of " + sent.size() + " within " + RECEIVE_WAIT_MS + " ms");
        }
        List<Got> got = new ArrayList<>(received);
        if (got.size() > sent.size()) {
            problems.add("received " + got.size() + " deliveries for " + sent.size() + " messages");
        }
        for (int i = 0; i < Math.max(got.size(), sent.size()) && problems.size() < 30; i++) {
            Sent s = i < sent.size() ? sent.get(i) : null;
            Got g = i < got.size() ? got.get(i) : null;
            if (s == null) {
                problems.add("delivery #" + i + " is extra: " + g);
            } else if (g == null) {
                problems.add("delivery #" + i + " missing: expected " + s);
            } else if (!key(s.index()).equals(g.key()) || s.size() != g.size() || !s.sha256().equals(g.sha256())
                    || s.queueOffset() != g.queueOffset() || g.queueId() != queue.getQueueId()
                    || g.reconsumeTimes() != 0) {
                problems.add("delivery #" + i + ": expected " + s + ", got " + g);
            }
        }
        if (!problems.isEmpty()) {
            fail(name + ":\n  " + String.join("\n  ", problems));
        }
    }

    private static String key(int i) {
        return "large-" + i;
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
