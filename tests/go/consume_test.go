package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// sendPlain sends n untagged messages body prefix-000.. and returns them as expected receipts.
func sendPlain(t *testing.T, p rocketmq.Producer, topic, prefix string, n int) map[string]sentMsg {
	t.Helper()
	sent := map[string]sentMsg{}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("%s-%03d", prefix, i)
		s := sentMsg{body: body, tag: "T", key: "k-" + body, prop: prefix}
		res, err := p.SendSync(context.Background(), newTestMessage(topic, body, s.tag, s.key, s.prop))
		if err != nil || res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: %v %v", body, res, err)
		}
		s.queue, s.offset, s.msgID = res.MessageQueue.QueueId, res.QueueOffset, res.MsgID
		sent[body] = s
	}
	return sent
}

// TestPushClustering: two push consumers of one group (clustering) split the 4 queues between
// them; 60 messages are then received exactly once overall, and each consumer gets some.
func TestPushClustering(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoClu")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)
	group := uniqueName("GoCluCG")
	col1, col2 := &collector{}, &collector{}
	c1 := c.startPushConsumer(t, group, topic, selectAll(), col1)
	c2 := c.startPushConsumer(t, group, topic, selectAll(), col2)
	// The second consumer's heartbeat makes the broker notify the first (NOTIFY_CONSUMER_IDS_CHANGED),
	// which rebalances at once; without the notification the Go client waits for its 20 s timer.
	awaitAssigned(t, topic, 4, 15*time.Second, c1, c2)
	q1, q2 := assignedQueues(t, c1, topic), assignedQueues(t, c2, topic)
	if len(q1) != 2 || len(q2) != 2 {
		t.Errorf("queues split %v / %v, want 2 / 2 (AllocateByAveragely)", q1, q2)
	}

	const n = 60
	sent := sendPlain(t, p, topic, "clu", n)
	if !waitFor(30*time.Second, 50*time.Millisecond, func() bool { return col1.count()+col2.count() >= n }) {
		t.Errorf("received %d + %d of %d within 30 s", col1.count(), col2.count(), n)
	}
	time.Sleep(time.Second)
	got1, _ := col1.snapshot()
	got2, _ := col2.snapshot()
	if len(got1) == 0 || len(got2) == 0 {
		t.Errorf("one consumer got nothing: %d / %d", len(got1), len(got2))
	}
	checkReceivedOnce(t, topic, sent, append(got1, got2...))
	// each consumer receives only from the queues it owns
	for i, got := range [][]*primitive.MessageExt{got1, got2} {
		owned := map[int]bool{}
		for _, q := range [][]int{q1, q2}[i] {
			owned[q] = true
		}
		for _, m := range got {
			if !owned[m.Queue.QueueId] {
				t.Errorf("consumer %d received %s from queue %d, which it does not own (%v)", i+1, m.Body, m.Queue.QueueId, [][]int{q1, q2}[i])
			}
		}
	}
}

// TestPushBroadcasting: two push consumers of one group in BROADCASTING mode each own all queues
// and each receive all 30 messages exactly once.
func TestPushBroadcasting(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoBcast")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)
	group := uniqueName("GoBcastCG")
	col1, col2 := &collector{}, &collector{}
	var cs []rocketmq.PushConsumer
	for _, col := range []*collector{col1, col2} {
		inst := uniqueName("bc")
		// Broadcasting offsets live in a local file under $rocketmq.client.localOffsetStoreDir (or
		// ~/.rocketmq_client_go)/<clientIP>@<instance>/<group>; remove it after the consumer stops.
		t.Cleanup(func() { removeLocalOffsets(inst) })
		cs = append(cs, c.startPushConsumer(t, group, topic, selectAll(), col,
			consumer.WithConsumerModel(consumer.BroadCasting), consumer.WithInstance(inst)))
	}
	awaitEachAssigned(t, topic, 4, 15*time.Second, cs...)

	const n = 30
	sent := sendPlain(t, p, topic, "bcast", n)
	for i, col := range []*collector{col1, col2} {
		if !col.waitCount(n, 20*time.Second) {
			t.Errorf("consumer %d received %d of %d within 20 s", i+1, col.count(), n)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, col := range []*collector{col1, col2} {
		got, _ := col.snapshot()
		checkReceivedOnce(t, topic, sent, got)
	}
}

func removeLocalOffsets(instance string) {
	dir := os.Getenv("rocketmq.client.localOffsetStoreDir")
	if dir == "" {
		dir = filepath.Join(os.Getenv("HOME"), ".rocketmq_client_go")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*@"+instance))
	for _, m := range matches {
		os.RemoveAll(m)
	}
}

// TestOrderedBySharding: a producer with NewHashQueueSelector sends 5 sharding keys x 20 messages,
// interleaved; every message of a key lands on one queue. An orderly push consumer
// (WithConsumerOrder(true)) locks all 4 queues on the broker (LOCK_BATCH_MQ), and receives every
// message once and, per key, in send order.
func TestOrderedBySharding(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoOrder")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t, producer.WithQueueSelector(producer.NewHashQueueSelector()))

	const keys, per = 5, 20
	keyQueue := map[string]int{}
	sent := map[string]sentMsg{}
	for i := 0; i < per; i++ {
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("order-%d", k)
			body := fmt.Sprintf("%s:%02d", key, i)
			m := newTestMessage(topic, body, "T", key, "o")
			m.WithShardingKey(key)
			res, err := p.SendSync(context.Background(), m)
			if err != nil || res.Status != primitive.SendOK {
				t.Fatalf("SendSync %s: %v %v", body, res, err)
			}
			q := res.MessageQueue.QueueId
			if prev, ok := keyQueue[key]; ok && prev != q {
				t.Fatalf("sharding key %s went to queue %d and queue %d", key, prev, q)
			}
			keyQueue[key] = q
			sent[body] = sentMsg{body: body, tag: "T", key: key, prop: "o", queue: q, offset: res.QueueOffset, msgID: res.MsgID}
		}
	}

	col := &collector{}
	oc := c.startPushConsumer(t, uniqueName("GoOrderCG"), topic, selectAll(), col, consumer.WithConsumerOrder(true))
	var locked []int
	if !waitFor(20*time.Second, 100*time.Millisecond, func() bool { locked = lockedQueues(t, oc, topic); return len(locked) == 4 }) {
		t.Errorf("the orderly consumer holds locks on queues %v of %s within 20 s, want all 4", locked, topic)
	}
	if !col.waitCount(keys*per, 30*time.Second) {
		t.Errorf("received %d of %d within 30 s", col.count(), keys*per)
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, sent, got)
	next := map[string]int{}
	for _, m := range got {
		parts := strings.SplitN(string(m.Body), ":", 2)
		seq, _ := strconv.Atoi(parts[1])
		if seq != next[parts[0]] {
			t.Errorf("key %s: received #%d when #%d was next (per-key order broken)", parts[0], seq, next[parts[0]])
		}
		if seq >= next[parts[0]] {
			next[parts[0]] = seq + 1
		}
	}
}

// TestConsumeRetry: a push consumer (clustering) returns ConsumeRetryLater with
// DelayLevelWhenNextConsume = 1 the first time it sees a message, which sends it back to the broker
// (CONSUMER_SEND_MSG_BACK) for the group's %RETRY% topic. Each message is then delivered once more,
// at least 1 s later, with reconsumeTimes 1, its original topic, id, body, tag, key and property;
// a success ends it (no third delivery). A second group with WithMaxReconsumeTimes(1) that always
// fails gets each message twice, and then the broker moves it to the dead-letter topic %DLQ%<group>.
func TestConsumeRetry(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoRetry")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)

	type delivery struct {
		m  *primitive.MessageExt
		at time.Time
	}
	var mu sync.Mutex
	seen := map[string][]delivery{}
	dlqSeen := map[string]int{}
	listener := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		result := consumer.ConsumeSuccess
		for _, m := range msgs {
			body := string(m.Body)
			seen[body] = append(seen[body], delivery{m, time.Now()})
			if len(seen[body]) == 1 {
				result = consumer.ConsumeRetryLater
			}
		}
		if result == consumer.ConsumeRetryLater {
			cc, ok := primitive.GetConcurrentlyCtx(ctx)
			if !ok {
				return consumer.ConsumeRetryLater, fmt.Errorf("no concurrently context")
			}
			cc.DelayLevelWhenNextConsume = 1 // 1 s instead of level 3 + reconsumeTimes
		}
		return result, nil
	}
	failing := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			dlqSeen[string(m.Body)]++
		}
		if cc, ok := primitive.GetConcurrentlyCtx(ctx); ok {
			cc.DelayLevelWhenNextConsume = 1
		}
		return consumer.ConsumeRetryLater, nil
	}
	group := uniqueName("GoRetryCG")
	dlqGroup := uniqueName("GoDlqCG")
	// The Go client owns its group's %RETRY% queue only after a route update that found the retry
	// topic, which the broker creates at the group's first heartbeat; a consumer started before
	// that waits for its 30 s route timer and 20 s rebalance timer. So a first consumer of each
	// group makes the broker create the retry topic, and the consumers under test, started once
	// it is routed, get the retry queue at once.
	adm, aerr := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr()})))
	if aerr != nil {
		t.Fatalf("NewAdmin: %v", aerr)
	}
	defer adm.Close()
	for _, g := range []string{group, dlqGroup} {
		first, err := rocketmq.NewPushConsumer(c.consumerOpts(g)...)
		if err == nil {
			err = first.Subscribe(topic, selectAll(), func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
				return consumer.ConsumeRetryLater, nil
			})
		}
		if err == nil {
			err = first.Start()
		}
		if err != nil {
			t.Fatalf("first consumer of %s: %v", g, err)
		}
		var mqs []*primitive.MessageQueue
		ok := waitFor(10*time.Second, 50*time.Millisecond, func() bool {
			mqs, err = adm.FetchPublishMessageQueues(context.Background(), "%RETRY%"+g)
			return err == nil && len(mqs) == 1
		})
		_ = first.Shutdown()
		if !ok {
			t.Fatalf("the broker did not create (and route) %%RETRY%%%s with 1 queue within 10 s of the group's heartbeat: %v %v", g, mqs, err)
		}
	}
	var cs []rocketmq.PushConsumer
	for _, g := range []struct {
		group string
		f     func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)
		opts  []consumer.Option
	}{{group, listener, nil}, {dlqGroup, failing, []consumer.Option{consumer.WithMaxReconsumeTimes(1)}}} {
		pc, err := rocketmq.NewPushConsumer(c.consumerOpts(g.group, g.opts...)...)
		if err != nil {
			t.Fatalf("NewPushConsumer: %v", err)
		}
		if err := pc.Subscribe(topic, selectAll(), g.f); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		if err := pc.Start(); err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() { _ = pc.Shutdown() })
		cs = append(cs, pc)
	}
	for i, pc := range cs {
		awaitAssigned(t, topic, 2, 20*time.Second, pc)
		awaitAssigned(t, "%RETRY%"+[]string{group, dlqGroup}[i], 1, 20*time.Second, pc)
	}

	const n = 6
	sent := sendPlain(t, p, topic, "retry", n)
	count := func(m map[string]int, lists map[string][]delivery) int {
		mu.Lock()
		defer mu.Unlock()
		k := 0
		for _, v := range m {
			k += v
		}
		for _, v := range lists {
			k += len(v)
		}
		return k
	}
	if !waitFor(15*time.Second, 100*time.Millisecond, func() bool { return count(nil, seen) >= 2*n && count(dlqSeen, nil) >= 2*n }) {
		t.Errorf("within 15 s: %d of %d deliveries to the retrying group, %d of %d to the always-failing group",
			count(nil, seen), 2*n, count(dlqSeen, nil), 2*n)
	}
	time.Sleep(2500 * time.Millisecond) // a third delivery (1 s delay) would come by now

	mu.Lock()
	defer mu.Unlock()
	for body, s := range sent {
		ds := seen[body]
		if len(ds) != 2 {
			t.Errorf("%s delivered %d times to the retrying group, want 2 (first attempt + one retry)", body, len(ds))
			continue
		}
		first, second := ds[0], ds[1]
		if first.m.ReconsumeTimes != 0 || second.m.ReconsumeTimes != 1 {
			t.Errorf("%s: reconsumeTimes %d then %d, want 0 then 1", body, first.m.ReconsumeTimes, second.m.ReconsumeTimes)
		}
		if second.m.Topic != topic {
			t.Errorf("%s: the retry came with topic %q, want the original %q", body, second.m.Topic, topic)
		}
		if second.m.MsgId != s.msgID || first.m.MsgId != s.msgID {
			t.Errorf("%s: msgIds %s then %s, send result said %s", body, first.m.MsgId, second.m.MsgId, s.msgID)
		}
		if second.m.GetTags() != s.tag || second.m.GetKeys() != s.key || second.m.GetProperty("goProp") != s.prop {
			t.Errorf("%s: the retry has tags %q keys %q goProp %q, want %q %q %q", body, second.m.GetTags(),
				second.m.GetKeys(), second.m.GetProperty("goProp"), s.tag, s.key, s.prop)
		}
		t.Logf("%s: retried %v after the first attempt", body, second.at.Sub(first.at).Round(time.Millisecond))
		if gap := second.at.Sub(first.at); gap < 900*time.Millisecond {
			t.Errorf("%s: retried after %v, before the 1 s delay level", body, gap)
		}
		if k := dlqSeen[body]; k != 2 {
			t.Errorf("%s delivered %d times to the group with maxReconsumeTimes 1, want 2", body, k)
		}
	}
	mu.Unlock()
	// The dead-letter topic is created by the send-back and routed by the name server.
	dlq := "%DLQ%" + dlqGroup
	var last []*primitive.MessageQueue
	var err error
	if !waitFor(10*time.Second, 200*time.Millisecond, func() bool {
		last, err = adm.FetchPublishMessageQueues(context.Background(), dlq)
		return err == nil && len(last) == 1
	}) {
		t.Errorf("dead-letter topic %s not routed with 1 queue within 10 s: %v %v", dlq, last, err)
	}
	mu.Lock()
}

// TestConsumeFromTimestamp: a new group with ConsumeFromTimestamp starts at the first message stored
// at or after the given second (SEARCH_OFFSET_BY_TIMESTAMP): it receives the messages sent after
// that second and none of those sent before.
func TestConsumeFromTimestamp(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoTs")
	c.createTopic(t, topic, 1)
	p := c.newProducer(t)
	sendPlain(t, p, topic, "ts-before", 10)
	// The client takes the timestamp as yyyyMMddHHmmss, read as UTC: wait for the next whole second.
	boundary := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(boundary) + 200*time.Millisecond)
	after := sendPlain(t, p, topic, "ts-after", 10)

	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoTsCG"), topic, selectAll(), col,
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		consumer.WithConsumeTimestamp(boundary.UTC().Format("20060102150405")))
	if !col.waitCount(len(after), 20*time.Second) {
		t.Errorf("received %d of %d within 20 s", col.count(), len(after))
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, after, got)
}
