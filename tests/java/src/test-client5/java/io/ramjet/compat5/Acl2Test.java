package io.ramjet.compat5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ramjet.compat.RamjetCluster;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.body.AclInfo;
import org.apache.rocketmq.remoting.protocol.body.UserInfo;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ACL 2.0 (RocketMQ 5.3+) against a broker with authenticationEnabled and authorizationEnabled:
 * Apache's own admin API (rocketmq-tools 5.5.0 DefaultMQAdminExt, as mqadmin's createUser and
 * createAcl use it) creates, reads, updates and deletes users and ACLs over request codes
 * 3001-3010; the 5.5.0 client signing as a normal user (AclClientRPCHook) sends and consumes what
 * its policy allows and is refused with code 16 and Apache's text elsewhere.
 */
class Acl2Test {
    static final String TOPIC = "Acl2Orders";
    static final String OTHER = "Acl2Payments";
    static final String GROUP = "CID_ACL2";

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--authenticationEnabled=true",
            "--authorizationEnabled=true",
            "--initAuthenticationUser={\"username\":\"root\",\"password\":\"rootPass99\"}");

    private DefaultMQAdminExt admin;

    static RPCHook hook(String user, String password) {
        return new AclClientRPCHook(new SessionCredentials(user, password));
    }

    @AfterEach
    void close() {
        if (admin != null) {
            admin.shutdown();
        }
        cluster.closeClients();
    }

    DefaultMQProducer producer(String user, String password) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(RamjetCluster.unique("PID_ACL2"), hook(user, password));
        p.setNamesrvAddr(cluster.namesrvAddr());
        p.setInstanceName(RamjetCluster.unique("acl2"));
        p.setRetryTimesWhenSendFailed(0);
        p.setSendMsgTimeout(5000);
        p.start();
        return p;
    }

    static int refusal(DefaultMQProducer p, String topic) {
        try {
            SendResult r = p.send(new Message(topic, "t", "x".getBytes(StandardCharsets.UTF_8)));
            return r.getSendStatus() == SendStatus.SEND_OK ? 0 : -1;
        } catch (MQBrokerException e) {
            return e.getResponseCode();
        } catch (Exception e) {
            return e.getCause() instanceof MQBrokerException ? ((MQBrokerException) e.getCause()).getResponseCode() : -2;
        }
    }

    @Test
    void usersAndAclsThroughApachesAdminApiDecideWhatAClientMayDo() throws Exception {
        admin = new DefaultMQAdminExt(hook("root", "rootPass99"));
        admin.setNamesrvAddr(cluster.namesrvAddr());
        admin.setInstanceName(RamjetCluster.unique("acl2-admin"));
        admin.start();
        String broker = cluster.brokerAddr();

        DefaultMQProducer root = producer("root", "rootPass99");
        cluster.createTopic(root, TOPIC, 2);
        cluster.createTopic(root, OTHER, 2);
        root.shutdown();

        admin.createUser(broker, "alice", "alicePass1", "Normal");
        UserInfo u = admin.getUser(broker, "alice");
        assertEquals("alice", u.getUsername());
        assertEquals("Normal", u.getUserType());
        assertEquals("enable", u.getUserStatus());
        assertNull(admin.getUser(broker, "nobody"), "no such user: no body");
        MQBrokerException dup = assertThrows(MQBrokerException.class,
                () -> admin.createUser(broker, "alice", "x1234567", "Normal"));
        assertEquals(16, dup.getResponseCode());
        assertEquals("The user is existed", dup.getErrorMessage());

        admin.createAcl(broker, "User:alice", List.of("Topic:" + TOPIC, "Group:" + GROUP),
                List.of("Pub", "Sub"), List.of(), "Allow");
        AclInfo acl = admin.getAcl(broker, "User:alice");
        assertEquals("User:alice", acl.getSubject());
        assertEquals(2, acl.getPolicies().get(0).getEntries().size());
        assertEquals("Custom", acl.getPolicies().get(0).getPolicyType());
        assertTrue(admin.listAcl(broker, "alice", TOPIC).size() == 1);
        assertTrue(admin.listUser(broker, "ali").stream().anyMatch(x -> "alice".equals(x.getUsername())));

        // Alice sends and consumes where her policy allows; elsewhere code 16.
        DefaultMQProducer alice = producer("alice", "alicePass1");
        for (int i = 0; i < 5; i++) {
            assertEquals(0, refusal(alice, TOPIC), "alice may send to " + TOPIC);
        }
        assertEquals(16, refusal(alice, OTHER));
        DefaultMQProducer wrong = producer("alice", "notHerPassword");
        assertEquals(16, refusal(wrong, TOPIC));
        Set<String> got = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(GROUP, hook("alice", "alicePass1"),
                new AllocateMessageQueueAveragely());
        c.setNamesrvAddr(cluster.namesrvAddr());
        c.setInstanceName(RamjetCluster.unique("acl2-c"));
        // A skipped post-rebalance heartbeat stalls pulls until the next one (see AclTest).
        c.setHeartbeatBrokerInterval(5_000);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(TOPIC, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(m.getMsgId());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        try {
            assertTrue(RamjetCluster.waitFor(30_000, () -> got.size() >= 5), "consumed " + got.size());
        } finally {
            c.shutdown();
        }

        // A normal user cannot administer; a Deny entry wins; a disabled user is refused.
        DefaultMQAdminExt byAlice = new DefaultMQAdminExt(hook("alice", "alicePass1"));
        byAlice.setNamesrvAddr(cluster.namesrvAddr());
        byAlice.setInstanceName(RamjetCluster.unique("acl2-alice-admin"));
        byAlice.start();
        try {
            MQBrokerException e = assertThrows(MQBrokerException.class,
                    () -> byAlice.createUser(broker, "mallory", "mallory123", "Super"));
            assertTrue(e.getErrorMessage().contains("no permission to access Cluster:"), e.getErrorMessage());
        } finally {
            byAlice.shutdown();
        }
        admin.updateAcl(broker, "User:alice", List.of("Topic:" + TOPIC), List.of("Pub"), List.of(), "Deny");
        assertEquals(16, refusal(alice, TOPIC), "the replaced entry denies");
        admin.updateUser(broker, "alice", null, null, "disable");
        assertEquals("disable", admin.getUser(broker, "alice").getUserStatus());
        admin.deleteAcl(broker, "User:alice", "Topic:" + TOPIC);
        assertEquals(1, admin.getAcl(broker, "User:alice").getPolicies().get(0).getEntries().size());
        admin.deleteUser(broker, "alice");
        assertNull(admin.getUser(broker, "alice"));
        // Refusals are logged (at most one line a second) and never with a password.
        assertTrue(cluster.brokerLogText().contains(" refused: "), "refusals are logged");
        assertTrue(!cluster.brokerLogText().contains("alicePass1"), "no password in the log");
        assertNotNull(admin.listUser(broker, "root"));
    }
}
