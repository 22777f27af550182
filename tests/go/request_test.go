package compat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestRequestReply: request-reply (RocketMQ 4.7+). The requester's Producer.Request sends the
// request with a correlation id and its client id; a responder (push consumer) answers with
// consumer.CreateReplyMessage sent by a second producer (SEND_REPLY_MESSAGE, 324, to the
// <cluster>_REPLY_TOPIC); the broker pushes the reply to the requester (PUSH_REPLY_MESSAGE_TO_CLIENT,
// 326). 10 sequential requests each get their own reply within 5 s.
func TestRequestReply(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoRequest")
	c.createTopic(t, topic, 2)
	requester := c.newProducer(t)
	requesterStarted := time.Now()
	// (see below) an ordinary send before the requester's first heartbeat
	if res, err := requester.SendSync(context.Background(), primitive.NewMessage(topic, []byte("warm-up"))); err != nil || res.Status != primitive.SendOK {
		t.Fatalf("warm-up SendSync: %v %v", res, err)
	}
	replier := c.newProducer(t)

	var mu sync.Mutex
	var replyErrs []string
	pc, err := rocketmq.NewPushConsumer(c.consumerOpts(uniqueName("GoRequestCG"))...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	err = pc.Subscribe(topic, selectAll(), func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			if consumer.GetReplyToClient(m) == "" { // not a request (the warm-up message)
				continue
			}
			reply, err := consumer.CreateReplyMessage(m, nil)
			if err == nil {
				// v2.1.2's CreateReplyMessage parses its body argument as properties instead of
				// setting it as the body (a client bug), so the body is set here.
				reply.Body = []byte("reply:" + string(m.Body))
				var res *primitive.SendResult
				res, err = replier.SendSync(context.Background(), reply)
				if err == nil && res.Status != primitive.SendOK {
					err = fmt.Errorf("status %d", res.Status)
				}
			}
			if err != nil {
				mu.Lock()
				replyErrs = append(replyErrs, fmt.Sprintf("%s: %v", m.Body, err))
				mu.Unlock()
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	awaitAssigned(t, topic, 2, 20*time.Second, pc)
	// The broker pushes a reply over the connection of the requester's last heartbeat with its
	// client id. A Go producer heartbeats 1 s after Start and then every 30 s, and only to brokers
	// it already knows; Request's own heartbeat is skipped when the topic exists on the name
	// server. So a reply finds the requester only once it has sent something before its 1 s
	// heartbeat; otherwise the broker answers the replier "push reply message fail, channel of
	// <id> not found", as Apache's does (the client's own examples/consumer/rpc sleeps 1 s before
	// replying for this). Hence the ordinary send right after Start above, and this wait.
	time.Sleep(time.Until(requesterStarted.Add(1500 * time.Millisecond)))

	for i := 0; i < 10; i++ {
		body := fmt.Sprintf("request-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		reply, err := requester.Request(ctx, 5*time.Second, primitive.NewMessage(topic, []byte(body)))
		cancel()
		if err != nil {
			mu.Lock()
			t.Fatalf("Request %s failed after %v: %v (responder errors: %v)", body, time.Since(start), err, replyErrs)
		}
		if got := string(reply.Body); got != "reply:"+body {
			t.Errorf("Request %s: reply body %q, want %q", body, got, "reply:"+body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(replyErrs) > 0 {
		t.Errorf("the responder could not reply: %v", replyErrs)
	}
}
