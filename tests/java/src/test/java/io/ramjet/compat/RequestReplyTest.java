package io.ramjet.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Request–reply (RocketMQ 4.7+). The requester calls {@code DefaultMQProducer.request}; a responder
 * (push consumer of the request topic) answers every request with
 * {@code MessageUtil.createReplyMessage(request, "reply:" + body)} sent by a second producer, which
 * the client sends as SEND_REPLY_MESSAGE_V2 (325). The broker must push the reply to the requesting
 * client with PUSH_REPLY_MESSAGE_TO_CLIENT (326), where {@code request} returns it.
 */
class RequestReplyTest {

    @RegisterExtension
    static final RamjetCluster cluster = new RamjetCluster();

    static final int REQUESTS = 20;
    static final long REQUEST_TIMEOUT_MS = 5_000;

    private String topic;
    private DefaultMQProducer requester;
    private DefaultMQProducer replier;
    private final List<String> responderLog = new CopyOnWriteArrayList<>();
    private final List<SendResult> replySends = new CopyOnWriteArrayList<>();
    private final AtomicInteger requestsSeen = new AtomicInteger();

    @BeforeEach
    void startResponder() throws Exception {
        topic = RamjetCluster.unique("RequestTopic");
        requester = cluster.newProducer(RamjetCluster.unique("rr-requester"));
        requester.start();
        cluster.createTopic(requester, topic, 2);

        replier = cluster.newProducer(RamjetCluster.unique("rr-replier"));
        replier.start();

        DefaultMQPushConsumer responder = cluster.newPushConsumer(RamjetCluster.unique("rr-responder"));
        responder.subscribe(topic, "*");
        responder.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt req : msgs) {
                requestsSeen.incrementAndGet();
                try {
                    byte[] replyBody = ("reply:" + new String(req.getBody(), StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8);
                    Message reply = MessageUtil.createReplyMessage(req, replyBody);
                    SendResult r = replier.send(reply, 3_000);
                    replySends.add(r);
                    if (r.getSendStatus() != SendStatus.SEND_OK) {
                        responderLog.add("reply send for " + req.getKeys() + ": " + r);
                    }
                } catch (Exception e) {
                    responderLog.add("reply for " + req.getKeys() + " (" + req.getProperties() + ") failed: " + e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        responder.start();
        RamjetCluster.awaitAssigned(responder, topic, 2, 20_000);
    }

    @AfterEach
    void closeClients() {
        if (!responderLog.isEmpty()) {
            System.out.println("[request-reply] responder problems:\n  " + String.join("\n  ", responderLog));
        }
        cluster.closeClients();
    }

    @Test
    void syncRequestsGetTheirReplies() throws Exception {
        List<String> problems = new ArrayList<>();
        long worst = 0;
        for (int i = 0; i < REQUESTS; i++) {
            String body = "req-" + i;
            Message req = new Message(topic, "rr", "rr-" + i, body.getBytes(StandardCharsets.UTF_8));
            long t0 = System.currentTimeMillis();
            Message reply;
            try {
                reply = requester.request(req, REQUEST_TIMEOUT_MS);
            } catch (Exception e) {
                System.out.println("[request-reply] request #" + i + " failed: " + e);
                e.printStackTrace(System.out);
                problems.add("request #" + i + " threw " + e);
                if (problems.size() >= 3) {
                    break; // each further one would only wait for its timeout again
                }
                continue;
            }
            long took = System.currentTimeMillis() - t0;
            worst = Math.max(worst, took);
            if (reply == null) {
                problems.add("request #" + i + " returned null");
                continue;
            }
            String got = new String(reply.getBody(), StandardCharsets.UTF_8);
            if (!("reply:" + body).equals(got)) {
                problems.add("request #" + i + ": reply body '" + got + "'");
            }
            if (!req.getProperty(MessageConst.PROPERTY_CORRELATION_ID)
                    .equals(reply.getProperty(MessageConst.PROPERTY_CORRELATION_ID))) {
                problems.add("request #" + i + ": correlation id " + reply.getProperty(MessageConst.PROPERTY_CORRELATION_ID)
                        + " != " + req.getProperty(MessageConst.PROPERTY_CORRELATION_ID));
            }
            if (took > REQUEST_TIMEOUT_MS) {
                problems.add("request #" + i + " took " + took + " ms");
            }
        }
        System.out.printf("[request-reply] sync: %d requests, responder saw %d, reply sends so far %s, slowest %d ms%n",
                REQUESTS, requestsSeen.get(), summarize(replySends), worst);
        if (!problems.isEmpty()) {
            fail("sync request-reply:\n  " + String.join("\n  ", problems) + "\n  responder: " + responderLog);
        }
    }

    @Test
    void asyncRequestWithCallback() throws Exception {
        int n = 5;
        CountDownLatch done = new CountDownLatch(n);
        Map<Integer, String> replies = new ConcurrentHashMap<>();
        Map<Integer, Throwable> errors = new ConcurrentHashMap<>();
        for (int i = 0; i < n; i++) {
            final int idx = i;
            Message req = new Message(topic, "rr", "rr-async-" + i,
                    ("async-" + i).getBytes(StandardCharsets.UTF_8));
            requester.request(req, new RequestCallback() {
                @Override
                public void onSuccess(Message reply) {
                    replies.put(idx, new String(reply.getBody(), StandardCharsets.UTF_8));
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    errors.put(idx, e);
                    done.countDown();
                }
            }, REQUEST_TIMEOUT_MS);
        }
        // The client's own timeout scan runs once a second, so allow the timeout plus a margin.
        boolean finished = done.await(REQUEST_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
        System.out.printf("[request-reply] async: replies %s, errors %s, responder saw %d, reply sends so far %s%n",
                replies, errors, requestsSeen.get(), summarize(replySends));
        errors.forEach((i, e) -> {
            System.out.println("[request-reply] async request #" + i + " failed: " + e);
            e.printStackTrace(System.out);
        });
        assertTrue(finished, "not every RequestCallback was called within " + (REQUEST_TIMEOUT_MS + 5_000) + " ms");
        assertEquals(Map.of(), errors, "RequestCallback.onException");
        for (int i = 0; i < n; i++) {
            assertNotNull(replies.get(i), "reply #" + i);
            assertEquals("reply:async-" + i, replies.get(i), "reply #" + i);
        }
    }

    private static String summarize(List<SendResult> results) {
        Map<String, Integer> byStatus = new java.util.TreeMap<>();
        for (SendResult r : results) {
            byStatus.merge(String.valueOf(r.getSendStatus()), 1, Integer::sum);
        }
        return byStatus.toString();
    }
}
