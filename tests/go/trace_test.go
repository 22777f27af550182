package compat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// TestMessageTrace: a producer and a push consumer with WithTrace (the broker runs with
// traceTopicEnable=true, which creates RMQ_SYS_TRACE_TOPIC). For every message, the trace topic
// then holds a "Pub" record from the producer and "SubBefore" and "SubAfter" records from the
// consumer, each naming the message id.
func TestMessageTrace(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoTrace")
	c.createTopic(t, topic, 2)
	traceCfg := func() *primitive.TraceConfig {
		return &primitive.TraceConfig{GroupName: uniqueName("GoTraceG"), NamesrvAddrs: []string{c.namesrvAddr()}}
	}
	p := c.newProducer(t, producer.WithTrace(traceCfg()))
	col := &collector{}
	cons := c.startPushConsumer(t, uniqueName("GoTraceCG"), topic, selectAll(), col, consumer.WithTrace(traceCfg()))
	awaitAssigned(t, topic, 2, 20*time.Second, cons)

	const n = 5
	sent := sendPlain(t, p, topic, "trace", n)
	if !col.waitCount(n, 20*time.Second) {
		t.Fatalf("received %d of %d within 20 s", col.count(), n)
	}

	// Read the trace topic from its start.
	var mu sync.Mutex
	records := map[string]map[string]bool{} // msgId -> trace types seen
	reader, err := rocketmq.NewPushConsumer(c.consumerOpts(uniqueName("GoTraceReader"))...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	err = reader.Subscribe("RMQ_SYS_TRACE_TOPIC", selectAll(), func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			for _, rec := range strings.Split(string(m.Body), "\x02") {
				fields := strings.Split(rec, "\x01")
				if len(fields) < 2 {
					continue
				}
				for _, f := range fields[1:] {
					if records[f] == nil {
						records[f] = map[string]bool{}
					}
					records[f][fields[0]] = true
				}
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("Subscribe RMQ_SYS_TRACE_TOPIC: %v", err)
	}
	if err := reader.Start(); err != nil {
		t.Fatalf("trace reader Start (is RMQ_SYS_TRACE_TOPIC routed?): %v", err)
	}
	t.Cleanup(func() { _ = reader.Shutdown() })

	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, s := range sent {
			for _, typ := range []string{"Pub", "SubBefore", "SubAfter"} {
				if !records[s.msgID][typ] {
					out = append(out, s.body+":"+typ)
				}
			}
		}
		return out
	}
	if !waitFor(20*time.Second, 100*time.Millisecond, func() bool { return len(missing()) == 0 }) {
		t.Errorf("trace records missing from RMQ_SYS_TRACE_TOPIC after 20 s: %v", missing())
	}
}
