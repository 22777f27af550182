package io.ramjet.compat;

import java.util.*;
import java.util.concurrent.*;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.*;
import org.apache.rocketmq.client.producer.*;
import org.apache.rocketmq.common.message.*;
import org.junit.jupiter.api.*;
import org.junit.jupiter.api.extension.RegisterExtension;

class ProbeTmpTest {
    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    @Test
    void probe() throws Exception {
        boolean orderly = Boolean.getBoolean("probe.orderly");
        int iters = 40;
        List<Long> lat = new ArrayList<>();
        for (int it = 0; it < iters; it++) {
            String topic = RamjetCluster.unique("Probe");
            DefaultMQProducer p = cluster.newProducer(RamjetCluster.unique("pp"));
            p.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
            p.start();
            cluster.createTopic(p, topic, 1);
            Map<String, Long> recv = new ConcurrentHashMap<>();
            DefaultMQPushConsumer c = cluster.newPushConsumer(RamjetCluster.unique("pc"));
            c.subscribe(topic, "*");
            if (orderly) {
                c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> { for (MessageExt m : msgs) recv.put(m.getKeys(), System.nanoTime()); return ConsumeOrderlyStatus.SUCCESS; });
            } else {
                c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> { for (MessageExt m : msgs) recv.put(m.getKeys(), System.nanoTime()); return ConsumeConcurrentlyStatus.CONSUME_SUCCESS; });
            }
            c.start();
            RamjetCluster.awaitAssigned(c, topic, 1, 20000);
            Thread.sleep(Long.getLong("probe.sleep", 200));
            long[] acked = new long[2];
            int[] sizes = {1024, 300 * 1024};
            for (int i = 0; i < 2; i++) {
                byte[] b = new byte[sizes[i]];
                new Random(i).nextBytes(b);
                p.send(new Message(topic, "T", "k" + i, b));
                acked[i] = System.nanoTime();
            }
            RamjetCluster.waitFor(10000, () -> recv.size() == 2);
            long l0 = (recv.getOrDefault("k0", 0L) - acked[0]) / 1_000_000, l1 = (recv.getOrDefault("k1", 0L) - acked[1]) / 1_000_000;
            System.out.printf("[probe] %s it=%d lat0=%d ms lat1=%d ms  %s%n", orderly ? "orderly" : "concurrent", it, l0, l1, new java.text.SimpleDateFormat("HH:mm:ss.SSS").format(new Date()));
            lat.add(Math.max(l0, l1));
            cluster.closeClients();
        }
        System.out.println("[probe] max latencies: " + lat);
    }
}
