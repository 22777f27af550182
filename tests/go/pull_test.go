package compat

import (
	"context"
	"fmt"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

func (c *ramjetCluster) startPullConsumer(t *testing.T, group, topic string) rocketmq.PullConsumer {
	t.Helper()
	pc, err := rocketmq.NewPullConsumer(c.consumerOpts(group)...)
	if err != nil {
		t.Fatalf("NewPullConsumer: %v", err)
	}
	if err := pc.Subscribe(topic, selectAll()); err != nil {
		t.Fatalf("pull Subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("pull consumer Start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	return pc
}

// byQueue groups send results by queue id, in offset order.
func byQueue(sent map[string]sentMsg) map[int][]sentMsg {
	out := map[int][]sentMsg{}
	for _, s := range sent {
		out[s.queue] = append(out[s.queue], s)
	}
	for q := range out {
		list := out[q]
		for i := 1; i < len(list); i++ { // insertion sort by offset
			for j := i; j > 0 && list[j].offset < list[j-1].offset; j-- {
				list[j], list[j-1] = list[j-1], list[j]
			}
		}
	}
	return out
}

func checkPulled(t *testing.T, what string, res *primitive.PullResult, want []sentMsg) {
	t.Helper()
	if res.Status != primitive.PullFound {
		t.Errorf("%s: status %d, want PullFound (0); min %d max %d next %d", what, res.Status, res.MinOffset, res.MaxOffset, res.NextBeginOffset)
		return
	}
	msgs := res.GetMessageExts()
	if len(msgs) != len(want) {
		var offs []int64
		for _, m := range msgs {
			offs = append(offs, m.QueueOffset)
		}
		t.Errorf("%s: %d messages (offsets %v; min %d max %d next %d), want %d", what, len(msgs), offs,
			res.MinOffset, res.MaxOffset, res.NextBeginOffset, len(want))
	}
	for i := 0; i < len(msgs) && i < len(want); i++ {
		m, w := msgs[i], want[i]
		if string(m.Body) != w.body || m.QueueOffset != w.offset || m.GetTags() != w.tag || m.GetKeys() != w.key || m.MsgId != w.msgID {
			t.Errorf("%s: message %d is %q offset %d tags %q keys %q id %s, want %q offset %d tags %q keys %q id %s",
				what, i, m.Body, m.QueueOffset, m.GetTags(), m.GetKeys(), m.MsgId, w.body, w.offset, w.tag, w.key, w.msgID)
		}
	}
}

// TestPullConsumerPullFrom: PullFrom(queue, offset, n) returns the queue's messages from that
// offset, in order and unchanged, with NextBeginOffset/MinOffset/MaxOffset; a pull past the end is
// answered at once with PULL_OFFSET_MOVED; a pull at the end of a queue is held by the broker (long
// polling) and answered as soon as a message arrives.
func TestPullConsumerPullFrom(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoPullFrom")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)
	sent := byQueue(sendPlain(t, p, topic, "pf", 20))
	if len(sent) != 2 {
		t.Fatalf("messages went to queues %v, want both", sent)
	}
	pc := c.startPullConsumer(t, uniqueName("GoPullFromCG"), topic)

	for q, want := range sent {
		mq := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: q}
		awaitQueueMax(t, pc, mq, int64(len(want))) // consume queues are written asynchronously
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := pc.PullFrom(ctx, mq, 0, 32)
		cancel()
		if err != nil {
			t.Fatalf("PullFrom queue %d offset 0: %v", q, err)
		}
		checkPulled(t, fmt.Sprintf("PullFrom(q%d, 0, 32)", q), res, want)
		n := int64(len(want))
		if res.NextBeginOffset != n || res.MinOffset != 0 || res.MaxOffset != n {
			t.Errorf("PullFrom(q%d, 0, 32): next %d min %d max %d, want %d 0 %d", q, res.NextBeginOffset, res.MinOffset, res.MaxOffset, n, n)
		}
		if n >= 5 {
			res, err = pc.PullFrom(context.Background(), mq, 2, 3)
			if err != nil {
				t.Fatalf("PullFrom queue %d offset 2: %v", q, err)
			}
			checkPulled(t, fmt.Sprintf("PullFrom(q%d, 2, 3)", q), res, want[2:5])
			if res.NextBeginOffset != 5 {
				t.Errorf("PullFrom(q%d, 2, 3): next %d, want 5", q, res.NextBeginOffset)
			}
		}
	}

	// An offset past the end (offset > maxOffset): Apache 4.9.8's store answers OFFSET_OVERFLOW_BADLY
	// with nextBeginOffset = maxOffset (DefaultMessageStore.getMessage, nextOffsetCorrection on a
	// master), and the broker PULL_OFFSET_MOVED at once; the client reports PullOffsetIllegal.
	for q, want := range sent {
		mq := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: q}
		start := time.Now()
		n := int64(len(want))
		res, err := pc.PullFrom(context.Background(), mq, n+100, 32)
		if err != nil {
			t.Fatalf("PullFrom queue %d past the end: %v", q, err)
		}
		if res.Status != primitive.PullOffsetIllegal || res.NextBeginOffset != n || res.MaxOffset != n || len(res.GetMessageExts()) != 0 {
			t.Errorf("PullFrom(q%d, max+100): status %d next %d max %d with %d messages, want PullOffsetIllegal (PULL_OFFSET_MOVED), next %d = max, none",
				q, res.Status, res.NextBeginOffset, res.MaxOffset, len(res.GetMessageExts()), n)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("PullFrom(q%d, max+100) was held %v; an illegal offset is answered at once", q, d)
		}
	}

	// Long polling: pull at the end of queue 0, then send one message to queue 0 a second later.
	q0 := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: 0}
	end := int64(len(sent[0]))
	type result struct {
		res *primitive.PullResult
		err error
		at  time.Time
	}
	ch := make(chan result, 1)
	start := time.Now()
	go func() {
		res, err := pc.PullFrom(context.Background(), q0, end, 32)
		ch <- result{res, err, time.Now()}
	}()
	time.Sleep(time.Second)
	manual := c.newProducer(t, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	m := newTestMessage(topic, "pf-late", "T", "k-pf-late", "pf")
	m.Queue = q0
	res, err := manual.SendSync(context.Background(), m)
	if err != nil || res.Status != primitive.SendOK || res.MessageQueue.QueueId != 0 || res.QueueOffset != end {
		t.Fatalf("SendSync to queue 0: %v %v (want queue 0 offset %d)", res, err, end)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("long-polling PullFrom: %v", r.err)
		}
		if waited := r.at.Sub(start); waited < 900*time.Millisecond {
			t.Errorf("the pull at the end of the queue returned after %v, before the message was sent: %s", waited, r.res)
		}
		checkPulled(t, "long-polling PullFrom", r.res, []sentMsg{{body: "pf-late", tag: "T", key: "k-pf-late", offset: end, msgID: res.MsgID}})
	case <-time.After(15 * time.Second):
		t.Fatalf("the long-polling pull was not answered within 15 s of the start (message sent after 1 s)")
	}
}

// TestPullConsumerPullOffsets: a pull consumer reads offsets 0-7 with PullFrom, then commits
// offset 8 with UpdateOffset (CurrentOffset reports 8) and PersistOffset (UPDATE_CONSUMER_OFFSET).
// After it shuts down, a push consumer of the same group starts at the committed offset
// (QUERY_CONSUMER_OFFSET): it receives exactly offsets 8-19.
//
// (v2.1.2's Pull(n), which picks the queue itself, is not used: it rotates over every queue the
// consumer's rebalance owns, including its %RETRY%<group> queue, so it may long-poll an empty
// retry queue for 20 s; that is the client's doing, with any broker.)
func TestPullConsumerPullOffsets(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoPullOff")
	c.createTopic(t, topic, 1)
	p := c.newProducer(t)
	all := sendPlain(t, p, topic, "po", 20)
	sent := byQueue(all)[0]
	group := uniqueName("GoPullOffCG")
	mq := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: 0}

	pc := c.startPullConsumer(t, group, topic)
	// The pull consumer rebalances in the background after Start; that rebalance drops and
	// re-reads the queue's in-memory offset, so an UpdateOffset racing with it is lost (a
	// client-side race). Wait until it owns the queue.
	if !waitFor(10*time.Second, 20*time.Millisecond, func() bool { return len(assignedQueues(t, pc, topic)) == 1 }) {
		t.Fatalf("the pull consumer's rebalance did not take queue 0 of %s within 10 s", topic)
	}
	// Sends are acknowledged once in the CommitLog; the broker indexes them (consume queue)
	// asynchronously, as Apache's ReputMessageService does. Wait until all 20 are pullable.
	awaitQueueMax(t, pc, mq, 20)
	res, err := pc.PullFrom(context.Background(), mq, 0, 8)
	if err != nil {
		t.Fatalf("PullFrom: %v", err)
	}
	checkPulled(t, "PullFrom(q0, 0, 8)", res, sent[0:8])
	if err := pc.UpdateOffset(mq, 8); err != nil {
		t.Fatalf("UpdateOffset: %v", err)
	}
	if off, err := pc.CurrentOffset(mq); err != nil || off != 8 {
		t.Errorf("CurrentOffset after UpdateOffset(8): %d %v", off, err)
	}
	if err := pc.PersistOffset(context.Background(), topic); err != nil {
		t.Fatalf("PersistOffset: %v", err)
	}
	// The client sends UPDATE_CONSUMER_OFFSET one-way (also at Shutdown): give the broker a moment.
	time.Sleep(200 * time.Millisecond)
	if err := pc.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	time.Sleep(200 * time.Millisecond)

	want := map[string]sentMsg{}
	for _, s := range sent[8:] {
		want[s.body] = s
	}
	col := &collector{}
	c.startPushConsumer(t, group, topic, selectAll(), col)
	if !col.waitCount(len(want), 20*time.Second) {
		t.Errorf("the push consumer of the group received %d of %d within 20 s", col.count(), len(want))
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, want, got)
}

// TestPullConsumerPollAck: Poll returns the messages the pull consumer's own rebalance fetched;
// after ACK(ConsumeSuccess) of all of them and Shutdown (which commits the offsets), a new
// consumer of the group receives only messages sent afterwards.
func TestPullConsumerPollAck(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoPoll")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)
	sent := sendPlain(t, p, topic, "poll", 20)
	group := uniqueName("GoPollCG")

	poll := func(pc rocketmq.PullConsumer, want int, timeout time.Duration) []*primitive.MessageExt {
		var got []*primitive.MessageExt
		deadline := time.Now().Add(timeout)
		for i := 0; i < 1000 && len(got) < want && time.Now().Before(deadline); i++ {
			cr, err := pc.Poll(context.Background(), 500*time.Millisecond)
			if consumer.IsNoNewMsgError(err) {
				continue
			}
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			got = append(got, cr.GetMsgList()...)
			pc.ACK(context.Background(), cr, consumer.ConsumeSuccess)
		}
		return got
	}

	pc := c.startPullConsumer(t, group, topic)
	got := poll(pc, len(sent), 30*time.Second)
	if len(got) < len(sent) {
		t.Errorf("polled %d of %d within 30 s", len(got), len(sent))
	}
	checkReceivedOnce(t, topic, sent, got)
	if err := pc.Shutdown(); err != nil { // commits the offsets (one-way)
		t.Fatalf("Shutdown: %v", err)
	}
	time.Sleep(200 * time.Millisecond)

	later := sendPlain(t, p, topic, "poll-later", 4)
	pc2 := c.startPullConsumer(t, group, topic)
	got2 := poll(pc2, len(later), 30*time.Second)
	if len(got2) < len(later) {
		t.Errorf("the second consumer polled %d of %d within 30 s", len(got2), len(later))
	}
	time.Sleep(300 * time.Millisecond)
	if cr, err := pc2.Poll(context.Background(), 500*time.Millisecond); err == nil {
		got2 = append(got2, cr.GetMsgList()...)
	}
	checkReceivedOnce(t, topic, later, got2)
}

// awaitQueueMax waits (bounded) until the broker reports want as the queue's max offset; PullFrom
// at offset 0 answers at once once the queue holds a message.
func awaitQueueMax(t *testing.T, pc rocketmq.PullConsumer, mq *primitive.MessageQueue, want int64) {
	t.Helper()
	var last int64 = -1
	if !waitFor(5*time.Second, 5*time.Millisecond, func() bool {
		q := *mq
		res, err := pc.PullFrom(context.Background(), &q, 0, 1)
		if err == nil {
			last = res.MaxOffset
		}
		return err == nil && res.MaxOffset >= want
	}) {
		t.Fatalf("queue %d of %s: max offset %d, not %d, within 5 s of the sends being acknowledged", mq.QueueId, mq.Topic, last, want)
	}
}
