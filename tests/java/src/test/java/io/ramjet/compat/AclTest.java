package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ACL 1.0 against a broker with aclEnable=true, with Apache's own client-side signing
 * (AclClientRPCHook): the right credentials send and consume; a wrong secret, an unknown key, a
 * missing permission, an admin request from a non-admin account, a white-address miss and an
 * anonymous client are refused with NO_PERMISSION (16) and change nothing.
 */
class AclTest {
    static final String TOPIC = "AclTopic";
    static final String DENIED_TOPIC = "AclDeniedTopic";
    static final String GROUP = "CID_ACL_OK";
    static final Path ACL_FILE = writeAclFile();

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--aclEnable=true", "--aclFilePath=" + ACL_FILE);

    private final List<AutoCloseable> closers = new ArrayList<>();

    static Path writeAclFile() {
        try {
            Path dir = Files.createTempDirectory("ramjet-acl-");
            Path f = dir.resolve("plain_acl.yml");
            Files.writeString(f, String.join("\n",
                    "globalWhiteRemoteAddresses:",
                    "accounts:",
                    "  - accessKey: ramjetUser",
                    "    secretKey: userSecret123",
                    "    whiteRemoteAddress:",
                    "    admin: false",
                    "    defaultTopicPerm: DENY",
                    "    defaultGroupPerm: SUB",
                    "    topicPerms:",
                    "      - " + TOPIC + "=PUB|SUB",
                    "      - " + DENIED_TOPIC + "=SUB",
                    "  - accessKey: ramjetAdmin",
                    "    secretKey: adminSecret123",
                    "    admin: true",
                    "  - accessKey: ramjetFar",
                    "    secretKey: farSecret123",
                    "    whiteRemoteAddress: 10.9.9.9",
                    "    admin: true",
                    "  - accessKey: ramjetNear",
                    "    secretKey: nearSecret123",
                    "    whiteRemoteAddress: 127.0.0.1",
                    "    admin: false",
                    "    defaultTopicPerm: PUB",
                    ""), StandardCharsets.UTF_8);
            return f;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closers) {
            c.close();
        }
        closers.clear();
        cluster.closeClients();
    }

    DefaultMQProducer producer(String group, RPCHook hook) throws MQClientException {
        DefaultMQProducer p = new DefaultMQProducer(group, hook);
        p.setNamesrvAddr(cluster.namesrvAddr());
        p.setInstanceName(RamjetCluster.unique("acl"));
        p.setSendMsgTimeout(5000);
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        closers.add(p::shutdown);
        return p;
    }

    /** The code of a refused send (or -1 when it was not refused by the broker). */
    static int refusalCode(DefaultMQProducer p, String topic) throws Exception {
        try {
            SendResult r = p.send(new Message(topic, "TagA", "x".getBytes(StandardCharsets.UTF_8)));
            return r.getSendStatus() == SendStatus.SEND_OK ? 0 : -1;
        } catch (MQBrokerException e) {
            return e.getResponseCode();
        } catch (MQClientException e) {
            Throwable c = e.getCause();
            if (c instanceof MQBrokerException) {
                return ((MQBrokerException) c).getResponseCode();
            }
            return e.getResponseCode() != -1 ? e.getResponseCode() : -2;
        }
    }

    @Test
    void signatureMatchesTheGoldenVector() {
        // Pinned in src/acl/acl_test.cc as well: Ramjet's signer must produce the same.
        RemotingCommand r = RemotingCommand.createRequestCommand(10, null);
        r.addExtField("a", "producerGroup");
        r.addExtField("b", "TopicTest");
        r.setBody("Hello RocketMQ é".getBytes(StandardCharsets.UTF_8));
        hook("RocketMQ", "12345678").doBeforeRequest("127.0.0.1:10911", r);
        assertEquals("xTfkVYh3/06t1J/W3ZFyQ2RjBGQ=", r.getExtFields().get("Signature"));
    }

    @Test
    void rightCredentialsWorkAndEveryOtherCaseIsRefused() throws Exception {
        DefaultMQProducer admin = producer(RamjetCluster.unique("PID_ACL_ADMIN"), hook("ramjetAdmin", "adminSecret123"));
        cluster.createTopic(admin, TOPIC, 2);
        cluster.createTopic(admin, DENIED_TOPIC, 1);

        // The right account sends and a consumer of the same account receives.
        DefaultMQProducer user = producer(RamjetCluster.unique("PID_ACL_USER"), hook("ramjetUser", "userSecret123"));
        Map<String, MessageExt> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(GROUP, hook("ramjetUser", "userSecret123"),
                new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(cluster.namesrvAddr());
        consumer.setInstanceName(RamjetCluster.unique("acl-c"));
        // The 5.x client bumps the subscription version on its first rebalance and announces it by
        // a heartbeat that it skips when another heartbeat holds the lock; pulls are then answered
        // SUBSCRIPTION_NOT_LATEST (as Apache's broker does) until the next periodic heartbeat,
        // 30 s by default: beat every 5 s as RamjetCluster's own clients do.
        consumer.setHeartbeatBrokerInterval(5_000);
        // From the first offset: the sends below may land before the consumer's first rebalance.
        consumer.setConsumeFromWhere(org.apache.rocketmq.common.consumer.ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.put(m.getMsgId(), m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        closers.add(consumer::shutdown);
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            SendResult r = user.send(new Message(TOPIC, "TagA", ("acl-" + i).getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            sent.add(r.getMsgId());
        }
        assertTrue(RamjetCluster.waitFor(30_000, () -> got.keySet().containsAll(sent)),
                "the ACL account's consumer received " + got.size() + " of " + sent.size());

        List<String> problems = new ArrayList<>();
        // A wrong secret, an unknown key, a missing permission (SUB only), a white-address miss
        // (account limited to 10.9.9.9, wrong secret), no credentials at all.
        Object[][] refused = {
            {"wrong secret", hook("ramjetUser", "notTheSecret1"), TOPIC},
            {"unknown access key", hook("nobodyKnows", "userSecret123"), TOPIC},
            {"missing PUB permission", hook("ramjetUser", "userSecret123"), DENIED_TOPIC},
            {"topic outside the account (default DENY)", hook("ramjetUser", "userSecret123"), "SomeOtherTopic"},
            {"white-address miss", hook("ramjetFar", "wrongSecret99"), TOPIC},
            {"anonymous", null, TOPIC},
        };
        for (Object[] c : refused) {
            DefaultMQProducer p = producer(RamjetCluster.unique("PID_ACL_BAD"), (RPCHook) c[1]);
            int code = refusalCode(p, (String) c[2]);
            if (code != 16) {
                problems.add(c[0] + ": expected NO_PERMISSION (16), got " + code);
            }
        }
        // The account's own white address: no signature needed (as Apache).
        DefaultMQProducer near = producer(RamjetCluster.unique("PID_ACL_NEAR"), hook("ramjetNear", "notItsSecret"));
        if (refusalCode(near, TOPIC) != 0) {
            problems.add("an account's white address (127.0.0.1) should pass without a valid signature");
        }
        // An admin request (create topic) from a non-admin account: the client's createTopic fails
        // (the 4.x client reports "create new topic failed"), the broker refused it with 16 and
        // RocketMQ's text, and the topic does not exist.
        boolean created = true;
        try {
            RamjetCluster.createTopicCall(user, "AclCreatedByUser", 1);  // 4.x and 5.x signatures
        } catch (Exception e) {
            created = false;
        }
        String refusal = "Need admin permission for request code=17, but accessKey=ramjetUser is not";
        if (created || !RamjetCluster.waitFor(5_000, () -> cluster.brokerLogText().contains(refusal))) {
            problems.add("createTopic by a non-admin account: created=" + created
                    + ", refusal logged=" + cluster.brokerLogText().contains(refusal));
        }
        try {
            admin.fetchPublishMessageQueues("AclCreatedByUser");
            problems.add("the topic a non-admin account tried to create exists");
        } catch (MQClientException expected) {
            // no route: not created
        }
        // Nothing of the refused requests was stored: the topic still holds exactly the 10 sent
        // messages plus the one of the white-address account.
        long stored = 0;
        for (org.apache.rocketmq.common.message.MessageQueue mq : admin.fetchPublishMessageQueues(TOPIC)) {
            stored += admin.maxOffset(mq);
        }
        if (stored != 11) {
            problems.add("the topic holds " + stored + " messages, expected 11");
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n  ", problems) + "\nbroker log:\n" + tail(cluster.brokerLogText(), 2000));
        }
        // Refusals are logged without the secret.
        String log = cluster.brokerLogText();
        assertTrue(log.contains("Check signature failed for accessKey=ramjetUser"), "the refusal is logged");
        assertTrue(!log.contains("userSecret123") && !log.contains("notTheSecret1"), "no secret in the broker log");
    }

    static String tail(String s, int n) {
        return s.length() <= n ? s : s.substring(s.length() - n);
    }
}
