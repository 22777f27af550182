package io.ramjet.mqadmin;

import io.ramjet.compat.RamjetCluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Apache's mqadmin (rocketmq-tools 4.9.8) against Ramjet, as an operator uses it: each subcommand
 * runs against a broker holding a topic with 20 messages sent by Apache's Java client and a
 * clustering consumer group that consumed them, and what it prints is checked: the numbers that
 * are really there (offsets, lag, counts), the objects it names, and no exception.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MqAdminTest {
    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    static final String TOPIC = "MqAdminTopic";
    static final String GROUP = "mqadmin-consumer";
    static final String PRODUCER_GROUP = "mqadmin-producer";
    static final int MESSAGES = 20;

    static MqAdmin admin;
    static DefaultMQProducer producer;
    static DefaultMQPushConsumer consumer;
    static final List<SendResult> sent = new ArrayList<>();
    static final Set<String> consumed = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void setUp() throws Exception {
        admin = new MqAdmin(cluster.namesrvAddr());
        producer = cluster.newProducer(PRODUCER_GROUP);
        producer.start();
        cluster.createTopic(producer, TOPIC, 4);
        consumer = cluster.newPushConsumer(GROUP);
        consumer.setPersistConsumerOffsetInterval(500);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                consumed.add(m.getKeys());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        RamjetCluster.awaitAssigned(consumer, TOPIC, 4, 20_000);
        for (int i = 0; i < MESSAGES; i++) {
            Message m = new Message(TOPIC, "TagA", "key-" + i, ("body-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            sent.add(r);
        }
        assertTrue(RamjetCluster.waitFor(20_000, () -> consumed.size() == MESSAGES), "consumed " + consumed.size());
        // The consumer commits its offsets every 500 ms: wait until mqadmin sees no lag.
        assertTrue(RamjetCluster.waitFor(20_000,
                () -> admin.run("consumerProgress", "-g", GROUP).contains("Diff Total: 0")),
                "the consumer's offsets reached the broker");
    }

    @AfterAll
    static void tearDown() {
        cluster.closeClients();
    }

    /** Fails on what an operator would take for an error. */
    static String ok(String out) {
        for (String bad : List.of("Exception", "command failed", "not supported", "Usage", "usage:")) {
            assertFalse(out.contains(bad), "mqadmin printed \"" + bad + "\":\n" + out);
        }
        return out;
    }

    static void contains(String out, String... parts) {
        for (String p : parts) {
            assertTrue(out.contains(p), "expected \"" + p + "\" in:\n" + out);
        }
    }

    static long sumColumn(String out, Pattern row, int group) {
        long sum = 0;
        Matcher m = row.matcher(out);
        while (m.find()) {
            sum += Long.parseLong(m.group(group));
        }
        return sum;
    }

    @Test
    @Order(1)
    void clusterAndBrokerViews() {
        String b = cluster.brokerAddr();
        // clusterList reads the broker's runtime table (puts and gets today, TPS, disk).
        String out = ok(admin.run("clusterList"));
        contains(out, "#Cluster Name", "DefaultCluster", cluster.brokerName(), b, "V4_9_8");
        out = ok(admin.run("brokerStatus", "-b", b));
        Matcher put = Pattern.compile("msgPutTotalTodayNow\\s*:\\s*(\\d+)").matcher(out);
        assertTrue(put.find(), out);
        assertTrue(Long.parseLong(put.group(1)) >= MESSAGES, out);
        contains(out, "getTransferedTps", "commitLogDirCapacity", "putTps");
        out = ok(admin.run("getBrokerConfig", "-b", b));
        contains(out, "brokerName", cluster.brokerName());
        ok(admin.run("updateBrokerConfig", "-b", b, "-k", "maxTransferCountOnMessageInMemory", "-v", "48"));
        Matcher v = Pattern.compile("maxTransferCountOnMessageInMemory\\s*=\\s*(\\d+)")
                .matcher(admin.run("getBrokerConfig", "-b", b));
        assertTrue(v.find());
        assertEquals("48", v.group(1));
        out = ok(admin.run("topicClusterList", "-t", TOPIC));
        contains(out, "DefaultCluster");
    }

    @Test
    @Order(2)
    void topicCommands() throws Exception {
        String out = ok(admin.run("topicList"));
        contains(out, TOPIC, "BenchmarkTest");
        out = ok(admin.run("topicList", "-c"));
        assertTrue(Pattern.compile("DefaultCluster\\s+" + TOPIC + "\\s+" + GROUP).matcher(out).find(), out);
        out = ok(admin.run("topicRoute", "-t", TOPIC));
        contains(out, "\"readQueueNums\":4", "\"writeQueueNums\":4", cluster.brokerName());
        // topicStatus: one row per queue, max offsets adding up to what was sent.
        out = ok(admin.run("topicStatus", "-t", TOPIC));
        Pattern row = Pattern.compile(cluster.brokerName() + "\\s+(\\d)\\s+(\\d+)\\s+(\\d+)");
        assertEquals(MESSAGES, sumColumn(out, row, 3), out);
        assertEquals(0, sumColumn(out, row, 2), out);

        String t2 = "MqAdminTopic2";
        out = ok(admin.run("updateTopic", "-c", "DefaultCluster", "-t", t2, "-r", "3", "-w", "3"));
        contains(out, "success");
        assertTrue(RamjetCluster.waitFor(10_000,
                () -> admin.run("topicRoute", "-t", t2).contains("\"writeQueueNums\":3")), "route of " + t2);
        ok(admin.run("updateTopicPerm", "-c", "DefaultCluster", "-t", t2, "-p", "4"));
        assertTrue(RamjetCluster.waitFor(10_000,
                () -> admin.run("topicRoute", "-t", t2).contains("\"perm\":4")), "read-only route of " + t2);
        out = ok(admin.run("deleteTopic", "-c", "DefaultCluster", "-t", t2));
        contains(out, "delete topic [" + t2 + "] from cluster [DefaultCluster] success");
        assertTrue(admin.run("topicRoute", "-t", t2).contains("No topic route info"), "route after delete");
    }

    @Test
    @Order(3)
    void consumerCommands() throws Exception {
        // consumerProgress -g: each queue with broker offset = consumer offset; without -g: the group.
        String out = ok(admin.run("consumerProgress", "-g", GROUP));
        contains(out, "#Topic", "Consume TPS:", "Diff Total: 0");
        Pattern row = Pattern.compile(TOPIC + "\\s+" + cluster.brokerName() + "\\s+\\d\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)");
        assertEquals(MESSAGES, sumColumn(out, row, 1), out);
        assertEquals(MESSAGES, sumColumn(out, row, 2), out);
        out = ok(admin.run("consumerProgress"));
        contains(out, GROUP);
        out = ok(admin.run("consumerConnection", "-g", GROUP));
        contains(out, "#ClientId", "JAVA", TOPIC, "CLUSTERING", "CONSUME_PASSIVELY");
        out = ok(admin.run("producerConnection", "-g", PRODUCER_GROUP, "-t", TOPIC));
        contains(out, "JAVA", "V4_9_8");
        // consumerStatus asks each client through the broker (GET_CONSUMER_RUNNING_INFO).
        String clientId = consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId();
        out = ok(admin.run("consumerStatus", "-g", GROUP, "-i", clientId));
        contains(out, "#Consumer Subscription#", TOPIC, "#Consumer Offset#", "#Consumer MQ Detail#");
        out = ok(admin.run("getConsumerConfig", "-g", GROUP));
        contains(out, "groupName", GROUP);
        out = ok(admin.run("brokerConsumeStats", "-b", cluster.brokerAddr()));
        contains(out, TOPIC, GROUP);
        out = ok(admin.run("statsAll"));
        assertTrue(Pattern.compile(TOPIC + "\\s+" + GROUP + "\\s+0\\s").matcher(out).find(),
                "statsAll row of " + TOPIC + " / " + GROUP + " with accumulation 0:\n" + out);

        // A second group consumes everything and goes offline; its offsets are moved back to the
        // start, then skipped to the end again.
        String off = "mqadmin-offsets";
        Set<String> seen = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer second = cluster.newPushConsumer(off);
        second.setPersistConsumerOffsetInterval(500);
        second.subscribe(TOPIC, "*");
        second.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> seen.add(m.getKeys()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        second.start();
        assertTrue(RamjetCluster.waitFor(20_000, () -> seen.size() == MESSAGES), "second group consumed " + seen.size());
        second.shutdown(); // persists its offsets
        assertTrue(RamjetCluster.waitFor(10_000,
                () -> admin.run("consumerProgress", "-g", off).contains("Diff Total: 0")), "offsets of " + off);
        assertTrue(admin.run("getConsumerConfig", "-g", off).contains(off));
        out = ok(admin.run("resetOffsetByTime", "-g", off, "-t", TOPIC, "-s", "0"));
        contains(out, "#brokerName", "#queueId", "#offset");
        out = ok(admin.run("consumerProgress", "-g", off));
        contains(out, "Diff Total: " + MESSAGES);
        ok(admin.run("skipAccumulatedMessage", "-g", off, "-t", TOPIC));
        contains(admin.run("consumerProgress", "-g", off), "Diff Total: 0");
        // A subscription group made and removed by mqadmin alone.
        String sub = "mqadmin-subgroup";
        out = ok(admin.run("updateSubGroup", "-c", "DefaultCluster", "-g", sub, "-r", "5"));
        contains(out, "create subscription group to", "success");
        assertTrue(Pattern.compile("retryMaxTimes\\s*=\\s*5").matcher(admin.run("getConsumerConfig", "-g", sub)).find(),
                "getConsumerConfig shows retryMaxTimes 5");
        out = ok(admin.run("deleteSubGroup", "-c", "DefaultCluster", "-g", sub));
        contains(out, "delete subscription group [" + sub + "] from broker [" + cluster.brokerAddr() + "] in cluster [DefaultCluster] success");
        assertFalse(admin.run("getConsumerConfig", "-g", sub).contains("groupName"), "deleted group still configured");
    }

    @Test
    @Order(4)
    void messageCommands() {
        SendResult first = sent.get(0);
        String out = ok(admin.run("queryMsgByKey", "-t", TOPIC, "-k", "key-7"));
        contains(out, sent.get(7).getMsgId());
        out = ok(admin.run("queryMsgByUniqueKey", "-t", TOPIC, "-i", first.getMsgId()));
        contains(out, "Topic:", TOPIC, "key-0", "Message Body Path:");
        // queryMsgById ends with the message's track per group (QUERY_TOPIC_CONSUME_BY_WHO, then
        // each group's connections and consume stats): consumed by the live group.
        out = admin.run("queryMsgById", "-i", first.getOffsetMsgId());
        contains(out, "OffsetID:", first.getOffsetMsgId(), "key-0",
                "MessageTrack [consumerGroup=" + GROUP + ", trackType=CONSUMED");
        assertFalse(out.contains("command failed"), out);
        // mqadmin writes the body to the file it names.
        Matcher path = Pattern.compile("Message Body Path:\\s*(\\S+)").matcher(out);
        assertTrue(path.find(), out);
        try {
            assertEquals("body-0", Files.readString(Paths.get(path.group(1)), StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new AssertionError("reading " + path.group(1), e);
        }
        out = ok(admin.run("queryMsgByOffset", "-t", TOPIC, "-b", cluster.brokerName(), "-i",
                String.valueOf(first.getMessageQueue().getQueueId()), "-o", String.valueOf(first.getQueueOffset())));
        contains(out, "OffsetID:", first.getOffsetMsgId(), "key-0");
        out = ok(admin.run("printMsg", "-t", TOPIC, "-d", "true"));
        assertEquals(MESSAGES, out.split("MSGID:", -1).length - 1, out);
        out = ok(admin.run("printMsgByQueue", "-t", TOPIC, "-a", cluster.brokerName(), "-i", "0", "-p", "true"));
        contains(out, "MSGID:");
        out = ok(admin.run("queryCq", "-t", TOPIC, "-q", "0", "-i", "0", "-c", "2", "-b", cluster.brokerAddr()));
        contains(out, "tagsCode");
        out = ok(admin.run("sendMessage", "-t", TOPIC, "-p", "from-mqadmin", "-k", "mqadmin-key"));
        contains(out, "SEND_OK");
        out = ok(admin.run("checkMsgSendRT", "-t", TOPIC, "-a", "5", "-s", "128"));
        contains(out, "#Broker Name", "true");
        out = ok(admin.run("sendMsgStatus", "-b", cluster.brokerName(), "-s", "128", "-c", "3"));
        contains(out, "SEND_OK");
        out = ok(admin.run("allocateMQ", "-t", TOPIC, "-i", "127.0.0.1@a,127.0.0.1@b"));
        contains(out, "127.0.0.1@a", "127.0.0.1@b", "\"queueId\":3");
    }

    @Test
    @Order(5)
    void nameServerAndHousekeepingCommands() {
        String out = ok(admin.run("getNamesrvConfig"));
        contains(out, "kvConfigPath", "orderMessageEnable");
        ok(admin.run("updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "true"));
        assertTrue(Pattern.compile("orderMessageEnable\\s*=\\s*true").matcher(admin.run("getNamesrvConfig")).find());
        ok(admin.run("updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "false"));
        ok(admin.run("updateKvConfig", "-s", "MQADMIN_NS", "-k", "k1", "-v", "v1"));
        ok(admin.run("deleteKvConfig", "-s", "MQADMIN_NS", "-k", "k1"));

        // wipeWritePerm takes the broker's write permission out of every route; addWritePerm
        // gives it back.
        out = ok(admin.run("wipeWritePerm", "-b", cluster.brokerName()));
        contains(out, "wipe write perm of broker[" + cluster.brokerName() + "]", "OK");
        assertTrue(admin.run("topicRoute", "-t", TOPIC).contains("\"perm\":4"), "read-only after wipe");
        out = ok(admin.run("addWritePerm", "-b", cluster.brokerName()));
        contains(out, "add write perm of broker[" + cluster.brokerName() + "]", "OK");
        assertTrue(admin.run("topicRoute", "-t", TOPIC).contains("\"perm\":6"), "writable after add");

        out = ok(admin.run("cleanExpiredCQ", "-c", "DefaultCluster"));
        contains(out, "success");
        out = ok(admin.run("deleteExpiredCommitLog", "-c", "DefaultCluster"));
        contains(out, "success");
    }
}
