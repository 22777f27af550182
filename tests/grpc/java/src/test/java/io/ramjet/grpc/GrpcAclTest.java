package io.ramjet.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ramjet.compat.RamjetCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A broker with aclEnable=true and its gRPC service: Apache's Java 5.x client with the right
 * credentials (StaticSessionCredentialsProvider: MQv2-HMAC-SHA1 authorization) sends; a wrong
 * secret, an unknown key and no credentials at all are refused.
 */
class GrpcAclTest {
    static final int GRPC_PORT = freePort();
    static final Path ACL_FILE = aclFile();

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--grpcServerPort=" + GRPC_PORT,
            "--aclEnable=true", "--aclFilePath=" + ACL_FILE);

    static final ClientServiceProvider provider = ClientServiceProvider.loadService();

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path aclFile() {
        try {
            Path f = Files.createTempDirectory("ramjet-grpc-acl-").resolve("plain_acl.yml");
            Files.writeString(f, "accounts:\n"
                    + "  - accessKey: grpcAdmin\n    secretKey: grpcSecret123\n    admin: true\n"
                    // Reads GrpcAclPermTopic through group GID_GRPC_OK; may publish nothing.
                    + "  - accessKey: grpcReader\n    secretKey: readerSecret123\n    admin: false\n"
                    + "    defaultTopicPerm: DENY\n    defaultGroupPerm: DENY\n"
                    + "    topicPerms:\n      - GrpcAclPermTopic=SUB\n"
                    + "    groupPerms:\n      - GID_GRPC_OK=SUB\n",
                    StandardCharsets.UTF_8);
            return f;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ClientConfiguration config(SessionCredentialsProvider credentials) {
        org.apache.rocketmq.client.apis.ClientConfigurationBuilder b = ClientConfiguration.newBuilder()
                .setEndpoints("127.0.0.1:" + GRPC_PORT)
                .setRequestTimeout(Duration.ofSeconds(5))
                .enableSsl(false);
        if (credentials != null) {
            b.setCredentialProvider(credentials);
        }
        return b.build();
    }

    /** The receipt of one send, or the failure's text. */
    static Object sendOne(SessionCredentialsProvider credentials, String topic) {
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(config(credentials))
                .setTopics(topic).build()) {
            return p.send(provider.newMessageBuilder().setTopic(topic)
                    .setBody("acl".getBytes(StandardCharsets.UTF_8)).build());
        } catch (Exception e) {
            return String.valueOf(e);
        }
    }

    @Test
    void signedCallsPassAndOthersAreRefused() throws Exception {
        String topic = "GrpcAclTopic";
        // The topic, created over remoting by the admin account.
        DefaultMQProducer admin = new DefaultMQProducer("PID_GRPC_ACL_ADMIN",
                new AclClientRPCHook(new SessionCredentials("grpcAdmin", "grpcSecret123")));
        admin.setNamesrvAddr(cluster.namesrvAddr());
        admin.setInstanceName(RamjetCluster.unique("grpc-acl"));
        admin.start();
        try {
            cluster.createTopic(admin, topic, 2);
        } finally {
            admin.shutdown();
        }
        Object ok = sendOne(new StaticSessionCredentialsProvider("grpcAdmin", "grpcSecret123"), topic);
        if (!(ok instanceof SendReceipt)) {
            fail("the signed send failed: " + ok);
        }
        assertNotNull(((SendReceipt) ok).getMessageId());
        List<String> problems = new ArrayList<>();
        Object[][] refused = {
            {"wrong secret", new StaticSessionCredentialsProvider("grpcAdmin", "notTheSecret")},
            {"unknown key", new StaticSessionCredentialsProvider("nobodyAtAll", "grpcSecret123")},
            {"no credentials", null},
        };
        for (Object[] c : refused) {
            Object r = sendOne((SessionCredentialsProvider) c[1], topic);
            if (r instanceof SendReceipt) {
                problems.add(c[0] + ": the send was accepted");
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("; ", problems));
        }
        // Exactly the one signed message was stored.
        assertEquals(1, storedCount(topic));
    }

    /** The bodies a simple consumer of {@code group} receives within 20 s, or the failure's text. */
    static Object receiveAll(SessionCredentialsProvider credentials, String topic, String group, int want) {
        java.util.Set<String> got = new java.util.HashSet<>();
        try (org.apache.rocketmq.client.apis.consumer.SimpleConsumer c = provider.newSimpleConsumerBuilder()
                .setClientConfiguration(config(credentials)).setConsumerGroup(group)
                .setAwaitDuration(Duration.ofSeconds(2))
                .setSubscriptionExpressions(java.util.Collections.singletonMap(topic,
                        org.apache.rocketmq.client.apis.consumer.FilterExpression.SUB_ALL))
                .build()) {
            long deadline = System.currentTimeMillis() + 20_000;
            while (got.size() < want && System.currentTimeMillis() < deadline) {
                for (org.apache.rocketmq.client.apis.message.MessageView v : c.receive(16, Duration.ofSeconds(30))) {
                    got.add(StandardCharsets.UTF_8.decode(v.getBody()).toString());
                    c.ack(v);
                }
            }
            return got;
        } catch (Exception e) {
            return String.valueOf(e);
        }
    }

    @Test
    void topicAndGroupPermissionsApplyToGrpcCalls() throws Exception {
        String topic = "GrpcAclPermTopic";
        DefaultMQProducer admin = new DefaultMQProducer("PID_GRPC_ACL_ADMIN2",
                new AclClientRPCHook(new SessionCredentials("grpcAdmin", "grpcSecret123")));
        admin.setNamesrvAddr(cluster.namesrvAddr());
        admin.setInstanceName(RamjetCluster.unique("grpc-acl2"));
        admin.start();
        try {
            cluster.createTopic(admin, topic, 2);
        } finally {
            admin.shutdown();
        }
        SessionCredentialsProvider reader = new StaticSessionCredentialsProvider("grpcReader", "readerSecret123");
        Object ok = sendOne(new StaticSessionCredentialsProvider("grpcAdmin", "grpcSecret123"), topic);
        if (!(ok instanceof SendReceipt)) {
            fail("the admin's send failed: " + ok);
        }
        // No PUB on the topic: refused (the producer's telemetry settings already name the topic,
        // so it fails to start; the broker logs ACL 1.0's text).
        Object denied = sendOne(reader, topic);
        if (denied instanceof SendReceipt) {
            fail("a send without PUB on the topic was accepted");
        }
        assertTrue(cluster.brokerLogText().contains("No default permission for topic:" + topic),
                "the broker logs the refusal naming the topic: " + denied);
        // SUB on the topic and on its group: receives the admin's message.
        Object got = receiveAll(reader, topic, "GID_GRPC_OK", 1);
        assertEquals(java.util.Set.of("acl"), got, "the reader receives through its group");
        // A group it holds no SUB on: nothing.
        Object other = receiveAll(reader, topic, "GID_GRPC_DENIED", 1);
        if (other instanceof java.util.Set && !((java.util.Set<?>) other).isEmpty()) {
            fail("received through a group without SUB: " + other);
        }
        assertEquals(1, storedCount(topic));
    }

    static long storedCount(String topic) throws Exception {
        DefaultMQProducer admin = new DefaultMQProducer("PID_GRPC_ACL_COUNT",
                new AclClientRPCHook(new SessionCredentials("grpcAdmin", "grpcSecret123")));
        admin.setNamesrvAddr(cluster.namesrvAddr());
        admin.setInstanceName(RamjetCluster.unique("grpc-acl-count"));
        admin.start();
        try {
            long n = 0;
            for (org.apache.rocketmq.common.message.MessageQueue mq : admin.fetchPublishMessageQueues(topic)) {
                n += admin.maxOffset(mq);
            }
            return n;
        } finally {
            admin.shutdown();
        }
    }
}
