package compat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// sentMsg is what a test sent, to compare with what a consumer receives.
type sentMsg struct {
	body, tag, key, prop string
	queue                int
	offset               int64
	msgID                string
}

func newTestMessage(topic, body, tag, key, prop string) *primitive.Message {
	m := primitive.NewMessage(topic, []byte(body))
	m.WithTag(tag)
	m.WithKeys([]string{key})
	m.WithProperty("goProp", prop)
	return m
}

// checkReceivedOnce asserts that received holds each sent message exactly once, unchanged (topic,
// body, tag, key, user property, queue, queue offset, message id), and nothing else.
func checkReceivedOnce(t *testing.T, topic string, sent map[string]sentMsg, received []*primitive.MessageExt) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range received {
		body := string(m.Body)
		seen[body]++
		s, ok := sent[body]
		if !ok {
			t.Errorf("received a message that was not sent (or not for this consumer): %q tags=%q", body, m.GetTags())
			continue
		}
		if seen[body] > 1 {
			continue
		}
		if m.Topic != topic {
			t.Errorf("%s: topic %q, want %q", body, m.Topic, topic)
		}
		if m.GetTags() != s.tag {
			t.Errorf("%s: tag %q, want %q", body, m.GetTags(), s.tag)
		}
		if m.GetKeys() != s.key {
			t.Errorf("%s: keys %q, want %q", body, m.GetKeys(), s.key)
		}
		if got := m.GetProperty("goProp"); got != s.prop {
			t.Errorf("%s: property goProp %q, want %q", body, got, s.prop)
		}
		if s.queue >= 0 && (m.Queue == nil || m.Queue.QueueId != s.queue || m.QueueOffset != s.offset) {
			t.Errorf("%s: received from queue %v offset %d, send result said queue %d offset %d",
				body, m.Queue, m.QueueOffset, s.queue, s.offset)
		}
		if s.msgID != "" && m.MsgId != s.msgID {
			t.Errorf("%s: msgId %q, send result said %q", body, m.MsgId, s.msgID)
		}
		if m.ReconsumeTimes != 0 {
			t.Errorf("%s: reconsumeTimes %d, want 0", body, m.ReconsumeTimes)
		}
	}
	for body, n := range seen {
		if n > 1 {
			t.Errorf("%s received %d times", body, n)
		}
	}
	var missing []string
	for body := range sent {
		if seen[body] == 0 {
			missing = append(missing, body)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d messages never received: %v", len(missing), len(sent), missing)
	}
}

// checkOffsetsUnique asserts that no (queue, offset) pair of the send results was used twice.
func checkOffsetsUnique(t *testing.T, sent map[string]sentMsg) {
	t.Helper()
	used := map[string]string{}
	for body, s := range sent {
		k := fmt.Sprintf("%d/%d", s.queue, s.offset)
		if other, dup := used[k]; dup {
			t.Errorf("queue/offset %s returned for both %s and %s", k, other, body)
		}
		used[k] = body
	}
}

// TestProduceSync: SendSync of single messages; each result is SEND_OK with a message id, the
// queue offsets are distinct, and a push consumer receives every message once, unchanged.
func TestProduceSync(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoSync")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)

	const n = 40
	tags := []string{"TagA", "TagB", "TagC"}
	sent := map[string]sentMsg{}
	queuesUsed := map[int]bool{}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("sync-%03d", i)
		s := sentMsg{body: body, tag: tags[i%3], key: fmt.Sprintf("k-sync-%d", i), prop: fmt.Sprintf("v%d", i)}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.SendSync(ctx, newTestMessage(topic, body, s.tag, s.key, s.prop))
		cancel()
		if err != nil {
			t.Fatalf("SendSync %s: %v", body, err)
		}
		if res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: status %d, want SendOK: %s", body, res.Status, res)
		}
		if res.MsgID == "" || res.OffsetMsgID == "" {
			t.Errorf("SendSync %s: empty msgId %q or offsetMsgId %q", body, res.MsgID, res.OffsetMsgID)
		}
		if res.MessageQueue == nil || res.MessageQueue.Topic != topic || res.MessageQueue.BrokerName != brokerName {
			t.Fatalf("SendSync %s: message queue %v", body, res.MessageQueue)
		}
		s.queue, s.offset, s.msgID = res.MessageQueue.QueueId, res.QueueOffset, res.MsgID
		queuesUsed[s.queue] = true
		sent[body] = s
	}
	checkOffsetsUnique(t, sent)
	if len(queuesUsed) != 4 {
		t.Errorf("the round-robin producer used queues %v, want all 4", queuesUsed)
	}

	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoSyncCG"), topic, selectAll(), col)
	if !col.waitCount(n, 30*time.Second) {
		t.Errorf("received %d of %d messages within 30 s", col.count(), n)
	}
	time.Sleep(500 * time.Millisecond) // let duplicates, if any, arrive
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, sent, got)
}

// TestProduceAsync: SendAsync; every callback reports SEND_OK exactly once within the timeout, and
// the messages are consumed once each, unchanged.
func TestProduceAsync(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoAsync")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)

	const n = 40
	var mu sync.Mutex
	sent := map[string]sentMsg{}
	var errs []string
	calls := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("async-%03d", i)
		s := sentMsg{body: body, tag: "TagA", key: fmt.Sprintf("k-async-%d", i), prop: fmt.Sprintf("a%d", i)}
		wg.Add(1)
		err := p.SendAsync(context.Background(), func(_ context.Context, res *primitive.SendResult, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			calls[body]++
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", body, err))
				return
			}
			if res.Status != primitive.SendOK || res.MsgID == "" || res.MessageQueue == nil {
				errs = append(errs, fmt.Sprintf("%s: %s", body, res))
				return
			}
			s.queue, s.offset, s.msgID = res.MessageQueue.QueueId, res.QueueOffset, res.MsgID
			sent[body] = s
		}, newTestMessage(topic, body, s.tag, s.key, s.prop))
		if err != nil {
			wg.Done()
			t.Fatalf("SendAsync %s: %v", body, err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		k := len(calls)
		mu.Unlock()
		t.Fatalf("only %d of %d async callbacks within 20 s", k, n)
	}
	mu.Lock()
	for body, k := range calls {
		if k != 1 {
			t.Errorf("callback of %s called %d times", body, k)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("async sends failed: %v", errs)
	}
	mu.Unlock()
	checkOffsetsUnique(t, sent)

	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoAsyncCG"), topic, selectAll(), col)
	if !col.waitCount(n, 30*time.Second) {
		t.Errorf("received %d of %d messages within 30 s", col.count(), n)
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, sent, got)
}

// TestProduceBatch: SendSync with several messages (SEND_BATCH_MESSAGE); one SEND_OK result whose
// offset message ids name every message (and are the ids the consumer sees); the batch lands on one queue at consecutive offsets starting at
// the result's queue offset, in order; each message keeps its own tag, key and property.
func TestProduceBatch(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoBatch")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)

	const batches, per = 3, 10
	sent := map[string]sentMsg{}
	for b := 0; b < batches; b++ {
		var msgs []*primitive.Message
		var bodies []string
		for i := 0; i < per; i++ {
			body := fmt.Sprintf("batch-%d-%02d", b, i)
			s := sentMsg{body: body, tag: fmt.Sprintf("Tag%d", i%2), key: "k-" + body, prop: fmt.Sprintf("b%d", i)}
			sent[body] = s
			bodies = append(bodies, body)
			msgs = append(msgs, newTestMessage(topic, body, s.tag, s.key, s.prop))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.SendSync(ctx, msgs...)
		cancel()
		if err != nil {
			t.Fatalf("batch SendSync %d: %v", b, err)
		}
		if res.Status != primitive.SendOK || res.MessageQueue == nil {
			t.Fatalf("batch SendSync %d: %s", b, res)
		}
		// The Go client gives the messages of a batch no UNIQ_KEY (buildSendRequest sets it only for
		// single messages), so res.MsgID is empty and the ids a user sees are the broker's offset
		// message ids: the response header's msgId, one per message, comma-separated.
		ids := strings.Split(res.OffsetMsgID, ",")
		if len(ids) != per {
			t.Errorf("batch %d: result offsetMsgId %q names %d messages, want %d", b, res.OffsetMsgID, len(ids), per)
		}
		for i, body := range bodies {
			s := sent[body]
			s.queue, s.offset = res.MessageQueue.QueueId, res.QueueOffset+int64(i)
			if len(ids) == per {
				s.msgID = ids[i]
			}
			sent[body] = s
		}
	}
	checkOffsetsUnique(t, sent)

	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoBatchCG"), topic, selectAll(), col)
	if !col.waitCount(batches*per, 30*time.Second) {
		t.Errorf("received %d of %d messages within 30 s", col.count(), batches*per)
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, sent, got)
}

// TestDelayLevel: a message with delay level 2 (5 s with the default messageDelayLevel) is not
// delivered before 5 s have passed since it was sent, and is delivered within 15 s, to its own
// topic with its own body; an undelayed message sent at the same time arrives at once, which shows
// the consumer was ready all along.
func TestDelayLevel(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoDelay")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)
	col := &collector{}
	cons := c.startPushConsumer(t, uniqueName("GoDelayCG"), topic, selectAll(), col)
	awaitAssigned(t, topic, 2, 20*time.Second, cons)

	const delayed = 3
	const delay = 5 * time.Second
	sentAt := map[string]time.Time{}
	for i := 0; i < delayed; i++ {
		body := fmt.Sprintf("delayed-%d", i)
		m := primitive.NewMessage(topic, []byte(body))
		m.WithDelayTimeLevel(2)
		sentAt[body] = time.Now()
		res, err := p.SendSync(context.Background(), m)
		if err != nil || res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: %v %v", body, res, err)
		}
	}
	now := primitive.NewMessage(topic, []byte("undelayed"))
	sentAt["undelayed"] = time.Now()
	if res, err := p.SendSync(context.Background(), now); err != nil || res.Status != primitive.SendOK {
		t.Fatalf("SendSync undelayed: %v %v", res, err)
	}

	if !col.waitCount(delayed+1, 15*time.Second) {
		t.Errorf("received %d of %d messages within 15 s", col.count(), delayed+1)
	}
	time.Sleep(300 * time.Millisecond)
	got, at := col.snapshot()
	seen := map[string]int{}
	for i, m := range got {
		body := string(m.Body)
		seen[body]++
		sent, ok := sentAt[body]
		if !ok {
			t.Errorf("unexpected message %q", body)
			continue
		}
		if m.Topic != topic {
			t.Errorf("%s delivered with topic %q, want %q", body, m.Topic, topic)
		}
		elapsed := at[i].Sub(sent)
		if body == "undelayed" {
			if elapsed > 3*time.Second {
				t.Errorf("the undelayed message took %v to arrive", elapsed)
			}
			continue
		}
		// The broker's timer and the client clock may round differently by a few ms.
		if elapsed < delay-50*time.Millisecond {
			t.Errorf("%s (delay level 2 = 5 s) delivered after only %v", body, elapsed)
		}
		t.Logf("%s delivered %v after the send", body, elapsed.Round(time.Millisecond))
	}
	for body := range sentAt {
		if seen[body] != 1 {
			t.Errorf("%s received %d times, want once", body, seen[body])
		}
	}
}

// TestTagFilter: a consumer subscribed with "TagA || TagB" receives exactly the TagA and TagB
// messages (each once), never a TagC message; a consumer of another group subscribed to "*"
// receives all of them.
func TestTagFilter(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoTag")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)

	colAB, colAll := &collector{}, &collector{}
	ab := c.startPushConsumer(t, uniqueName("GoTagCG"), topic,
		consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"}, colAB)
	all := c.startPushConsumer(t, uniqueName("GoTagAllCG"), topic, selectAll(), colAll)
	awaitAssigned(t, topic, 4, 20*time.Second, ab)
	awaitAssigned(t, topic, 4, 20*time.Second, all)

	tags := []string{"TagA", "TagB", "TagC"}
	const n = 45
	sentAB, sentAll := map[string]sentMsg{}, map[string]sentMsg{}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("tag-%03d", i)
		s := sentMsg{body: body, tag: tags[i%3], key: "k-" + body, prop: "t", queue: -1}
		if res, err := p.SendSync(context.Background(), newTestMessage(topic, body, s.tag, s.key, s.prop)); err != nil || res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: %v %v", body, res, err)
		}
		sentAll[body] = s
		if s.tag != "TagC" {
			sentAB[body] = s
		}
	}
	if !colAll.waitCount(n, 20*time.Second) {
		t.Errorf("the '*' consumer received %d of %d within 20 s", colAll.count(), n)
	}
	if !colAB.waitCount(len(sentAB), 20*time.Second) {
		t.Errorf("the 'TagA || TagB' consumer received %d of %d within 20 s", colAB.count(), len(sentAB))
	}
	time.Sleep(time.Second) // a TagC message, if wrongly delivered, would come by now
	gotAB, _ := colAB.snapshot()
	checkReceivedOnce(t, topic, sentAB, gotAB)
	gotAll, _ := colAll.snapshot()
	checkReceivedOnce(t, topic, sentAll, gotAll)
}

// TestSQL92Filter: with enablePropertyFilter=true a consumer subscribed with the SQL92 expression
// "n >= 5 AND color = 'red'" receives exactly the matching messages.
func TestSQL92Filter(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoSql")
	c.createTopic(t, topic, 2)
	p := c.newProducer(t)
	col := &collector{}
	cons := c.startPushConsumer(t, uniqueName("GoSqlCG"), topic,
		consumer.MessageSelector{Type: consumer.SQL92, Expression: "n >= 5 AND color = 'red'"}, col)
	awaitAssigned(t, topic, 2, 20*time.Second, cons)

	want := map[string]sentMsg{}
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf("sql-%02d", i)
		color := []string{"red", "blue"}[i%2]
		m := newTestMessage(topic, body, "T", "k-"+body, "s")
		m.WithProperty("n", fmt.Sprint(i%10))
		m.WithProperty("color", color)
		if res, err := p.SendSync(context.Background(), m); err != nil || res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s: %v %v", body, res, err)
		}
		if i%10 >= 5 && color == "red" {
			want[body] = sentMsg{body: body, tag: "T", key: "k-" + body, prop: "s", queue: -1}
		}
	}
	if !col.waitCount(len(want), 20*time.Second) {
		t.Errorf("received %d of %d within 20 s", col.count(), len(want))
	}
	time.Sleep(time.Second)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, want, got)
}

// TestProduceOneway: SendOneWay returns without error, and every message is consumed once, unchanged.
func TestProduceOneway(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoOneway")
	c.createTopic(t, topic, 4)
	p := c.newProducer(t)
	const n = 30
	sent := map[string]sentMsg{}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("oneway-%03d", i)
		s := sentMsg{body: body, tag: "TagO", key: "k-" + body, prop: fmt.Sprint(i), queue: -1}
		if err := p.SendOneWay(context.Background(), newTestMessage(topic, body, s.tag, s.key, s.prop)); err != nil {
			t.Fatalf("SendOneWay %s: %v", body, err)
		}
		sent[body] = s
	}
	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoOnewayCG"), topic, selectAll(), col)
	if !col.waitCount(n, 20*time.Second) {
		t.Errorf("received %d of %d within 20 s", col.count(), n)
	}
	time.Sleep(500 * time.Millisecond)
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, sent, got)
}

// TestBodies: bodies of 1 B to 4 MiB - 64 KiB, incompressible (random) and compressible (text over
// the client's 4 KiB threshold, which it sends zlib-compressed with the COMPRESSED sysFlag), plus
// properties with non-ASCII text, arrive byte for byte (checked by SHA-256 and size).
func TestBodies(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoBodies")
	c.createTopic(t, topic, 1)
	p := c.newProducer(t)
	rnd := rand.New(rand.NewSource(time.Now().UnixNano()))
	random := func(n int) []byte { b := make([]byte, n); rnd.Read(b); return b }
	text := func(n int) []byte { return []byte(strings.Repeat("ramjet compatible body ", n/23+1)[:n]) }
	bodies := map[string][]byte{
		"1B":                {0x7f},
		"8KiB-random":       random(8 << 10),
		"8KiB-text":         text(8 << 10),
		"300KiB-random":     random(300 << 10),
		"1MiB-text":         text(1 << 20),
		"4MiB-64KiB-random": random(4<<20 - 64<<10),
	}
	want := map[string]string{}
	for name, body := range bodies {
		sum := sha256.Sum256(body)
		want[name] = hex.EncodeToString(sum[:])
		m := primitive.NewMessage(topic, body)
		m.WithKeys([]string{name})
		m.WithProperty("unicode", "Grüße 你好 🚀")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := p.SendSync(ctx, m)
		cancel()
		if err != nil || res.Status != primitive.SendOK {
			t.Fatalf("SendSync %s (%d bytes): %v %v", name, len(body), res, err)
		}
	}
	col := &collector{}
	c.startPushConsumer(t, uniqueName("GoBodiesCG"), topic, selectAll(), col)
	if !col.waitCount(len(bodies), 30*time.Second) {
		t.Errorf("received %d of %d within 30 s", col.count(), len(bodies))
	}
	time.Sleep(300 * time.Millisecond)
	got, _ := col.snapshot()
	seen := map[string]int{}
	for _, m := range got {
		name := m.GetKeys()
		seen[name]++
		sum := sha256.Sum256(m.Body)
		if hex.EncodeToString(sum[:]) != want[name] || len(m.Body) != len(bodies[name]) {
			t.Errorf("%s: received %d bytes with another SHA-256 (sent %d bytes)", name, len(m.Body), len(bodies[name]))
		}
		if u := m.GetProperty("unicode"); u != "Grüße 你好 🚀" {
			t.Errorf("%s: property unicode = %q", name, u)
		}
	}
	for name := range bodies {
		if seen[name] != 1 {
			t.Errorf("%s received %d times, want once", name, seen[name])
		}
	}
}
