package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Apache's Java client across an automatic failover: a broker group of two members in controller
 * mode (etcd, started here), the master SIGKILLed while the client produces. The client goes on
 * once the slave is elected (it learns the new master from the name server), nothing it was told
 * SEND_OK is lost, and a consumer drains every message from the new master.
 */
class FailoverTest {
    private final List<Process> processes = new ArrayList<>();
    private Path dir;

    private boolean passed;

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        // Kept when the test failed (logs and stores), removed otherwise.
        if (passed && dir != null) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        } else if (dir != null) {
            System.out.println("[ramjet] kept " + dir);
        }
    }

    private static String logText(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "";
        }
    }

    /** A broker whose log has INFO lines (the sync-state set changes), whatever RAMJET_LOG_LEVEL says. */
    private static Process startInfo(Path log, String... cmd) throws java.io.IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("RAMJET_LOG_LEVEL", "info");
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Files.writeString(log, "$ " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8);
        return pb.start();
    }

    @Test
    void producerAndConsumerGoOnAcrossAnAutomaticFailover() throws Exception {
        boolean etcd = new ProcessBuilder("sh", "-c", "command -v etcd").start().waitFor() == 0;
        if (!etcd && System.getenv("CI") == null) {
            Assumptions.abort("etcd is not installed (Debian etcd-server)");
        }
        assertTrue(etcd, "etcd is not installed (Debian etcd-server)");
        String binDir = System.getenv("RAMJET_BIN_DIR");
        if (binDir == null || binDir.isEmpty()) {
            binDir = System.getProperty("ramjet.bin.dir", "../../build/apps");
        }
        Path bin = Paths.get(binDir).toAbsolutePath().normalize();
        dir = Files.createTempDirectory("ramjet-java-failover-");

        int etcdPort = RamjetCluster.pickFreePort(0);
        String etcdUrl = "http://127.0.0.1:" + etcdPort;
        String peerUrl = "http://127.0.0.1:" + RamjetCluster.pickFreePort(0);
        Process etcdProc = RamjetCluster.start(dir.resolve("etcd.log"), "etcd", "--data-dir",
                dir.resolve("etcd").toString(), "--listen-client-urls", etcdUrl, "--advertise-client-urls",
                etcdUrl, "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", "default=" + peerUrl);
        processes.add(etcdProc);
        RamjetCluster.awaitPort("etcd", etcdProc, dir.resolve("etcd.log"), etcdPort);
        int nsPort = RamjetCluster.pickFreePort(0);
        Process ns = RamjetCluster.start(dir.resolve("ns.log"), bin.resolve("ramjet-namesrv").toString(),
                "--listenPort=" + nsPort, "--kvConfigPath=" + dir.resolve("kv.json"));
        processes.add(ns);
        RamjetCluster.awaitPort("namesrv", ns, dir.resolve("ns.log"), nsPort);
        String nsAddr = "127.0.0.1:" + nsPort;
        Process[] members = new Process[3];
        Path[] logs = new Path[3];
        for (int id = 1; id <= 2; id++) {
            int port = RamjetCluster.pickFreePort(2);
            logs[id] = dir.resolve("broker-" + id + ".log");
            members[id] = startInfo(logs[id], bin.resolve("ramjet-broker").toString(),
                    "--namesrvAddr=" + nsAddr, "--listenPort=" + port, "--brokerIP1=127.0.0.1",
                    "--storePathRootDir=" + dir.resolve("store-" + id), "--brokerName=broker-java-fo",
                    "--brokerRole=SYNC_MASTER", "--brokerId=" + id, "--enableControllerMode=true",
                    "--controllerAddr=127.0.0.1:" + etcdPort, "--controllerLeaseTtl=3",
                    "--mappedFileSizeCommitLog=8388608");
            processes.add(members[id]);
        }
        // The group is ready when its master has the other member in its sync-state set.
        boolean ready = RamjetCluster.waitFor(40_000, () -> logText(logs[1]).contains("of term 1: {1,2}")
                || logText(logs[2]).contains("of term 1: {1,2}"));
        assertTrue(ready, "the group did not elect a master with an in-sync slave:\n" + logText(logs[1])
                + "\n" + logText(logs[2]));
        int master = logText(logs[1]).contains("of term 1: {1,2}") ? 1 : 2;

        DefaultMQProducer producer = new DefaultMQProducer("JAVA_FO_PG");
        producer.setNamesrvAddr(nsAddr);
        producer.setInstanceName("java-fo-" + System.nanoTime());
        producer.setPollNameServerInterval(1000);
        producer.setSendMsgTimeout(3000);
        producer.start();
        Map<String, String> acked = new ConcurrentHashMap<>();  // msgId -> body
        AtomicLong lastOk = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            for (int i = 0; i < 100_000 && !stop.get(); i++) {
                String body = "java-fo-" + i;
                try {
                    SendResult r = producer.send(new Message("JavaFo", body.getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.put(r.getMsgId(), body);
                        lastOk.set(System.currentTimeMillis());
                        continue;
                    }
                } catch (Exception e) {
                    // counted below
                }
                failures.incrementAndGet();
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "java-fo-sender");
        sender.start();
        assertTrue(RamjetCluster.waitFor(30_000, () -> acked.size() >= 300), "fewer than 300 sends acknowledged");
        members[master].destroyForcibly();  // SIGKILL
        long killed = System.currentTimeMillis();
        boolean recovered = RamjetCluster.waitFor(20_000, () -> lastOk.get() > killed);
        long recoveredMs = lastOk.get() - killed;
        int before = acked.size();
        boolean more = RamjetCluster.waitFor(30_000, () -> acked.size() >= before + 300);
        stop.set(true);
        sender.join(10_000);
        producer.shutdown();
        assertTrue(recovered, "no send succeeded within 20 s of the kill:\n" + logText(logs[3 - master]));
        assertTrue(recoveredMs < 10_000, "the first send after the kill took " + recoveredMs + " ms");
        assertTrue(more, "the producer did not go on after the failover");

        Set<String> got = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("JAVA_FO_CG");
        consumer.setNamesrvAddr(nsAddr);
        consumer.setInstanceName("java-fo-c-" + System.nanoTime());
        // A skipped post-rebalance heartbeat stalls pulls until the next one (see AclTest).
        consumer.setHeartbeatBrokerInterval(5_000);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe("JavaFo", "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long consumeStart = System.currentTimeMillis();
        RamjetCluster.waitFor(60_000, () -> got.containsAll(acked.values()));
        long drained = System.currentTimeMillis() - consumeStart;
        consumer.shutdown();
        long missing = acked.values().stream().filter(b -> !got.contains(b)).count();
        System.out.printf("[ramjet] Java client failover: %d sends acknowledged, %d failed; member %d killed, "
                + "first SEND_OK %d ms later; a consumer got all but %d from the new master in %d ms%n",
                acked.size(), failures.get(), master, recoveredMs, missing, drained);
        assertEquals(0, missing, "acknowledged messages missing after the failover");
        passed = true;
    }
}
