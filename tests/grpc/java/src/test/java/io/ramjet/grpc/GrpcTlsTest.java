package io.ramjet.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ramjet.compat.RamjetCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * TLS on the gRPC port of a broker with no TLS setting (tlsMode permissive, a self-signed
 * certificate made at start): Apache's 5.x client with its default {@code enableSsl(true)} sends
 * and receives over TLS, and a client with {@code enableSsl(false)} uses the same port in
 * plaintext.
 */
class GrpcTlsTest {
    static final int GRPC_PORT = freePort();

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster("--grpcServerPort=" + GRPC_PORT);

    static final ClientServiceProvider provider = ClientServiceProvider.loadService();

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ClientConfiguration config(boolean ssl) {
        return ClientConfiguration.newBuilder()
                .setEndpoints("127.0.0.1:" + GRPC_PORT)
                .setRequestTimeout(Duration.ofSeconds(5))
                .enableSsl(ssl)
                .build();
    }

    static void createTopic(String topic, boolean tls) throws Exception {
        createTopicAt(cluster, topic, tls);
    }

    /** Creates the topic over TLS (RocketMQ's default client TLS: any server trusted). */
    static void createTopicAt(RamjetCluster at, String topic) throws Exception {
        createTopicAt(at, topic, true);
    }

    static void createTopicAt(RamjetCluster at, String topic, boolean tls) throws Exception {
        DefaultMQProducer admin = new DefaultMQProducer("PID_GRPC_TLS_ADMIN");
        admin.setNamesrvAddr(at.namesrvAddr());
        admin.setInstanceName(RamjetCluster.unique("grpc-tls"));
        admin.setUseTLS(tls);
        admin.start();
        try {
            at.createTopic(admin, topic, 2);
        } finally {
            admin.shutdown();
        }
    }

    /** Sends {@code n} messages with bodies prefix-i. */
    static void send(ClientConfiguration c, String topic, String prefix, int n) throws Exception {
        try (Producer p = provider.newProducerBuilder().setClientConfiguration(c).setTopics(topic).build()) {
            for (int i = 0; i < n; i++) {
                p.send(provider.newMessageBuilder().setTopic(topic)
                        .setBody((prefix + i).getBytes(StandardCharsets.UTF_8)).build());
            }
        }
    }

    /** Receives until {@code n} distinct bodies arrived (bounded: 30 s). */
    static Set<String> receive(ClientConfiguration c, String topic, String group, int n) throws Exception {
        Set<String> got = new HashSet<>();
        try (SimpleConsumer consumer = provider.newSimpleConsumerBuilder().setClientConfiguration(c)
                .setConsumerGroup(group).setAwaitDuration(Duration.ofSeconds(2))
                .setSubscriptionExpressions(Collections.singletonMap(topic, FilterExpression.SUB_ALL))
                .build()) {
            long deadline = System.currentTimeMillis() + 30_000;
            while (got.size() < n && System.currentTimeMillis() < deadline) {
                List<MessageView> views = consumer.receive(16, Duration.ofSeconds(30));
                for (MessageView v : views) {
                    got.add(StandardCharsets.UTF_8.decode(v.getBody()).toString());
                    consumer.ack(v);
                }
            }
        }
        return got;
    }

    @Test
    void defaultSslClientAndPlaintextClientShareThePort() throws Exception {
        String topic = "GrpcTlsTopic";
        createTopic(topic, false);
        send(config(true), topic, "tls-", 5);
        send(config(false), topic, "plain-", 5);
        Set<String> got = receive(config(true), topic, "GID_GRPC_TLS", 10);
        assertEquals(10, got.size(), "received " + got);
    }
}
