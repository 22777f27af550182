package compat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// txListener decides by the message body's prefix: "commit-" and "rollback-" are decided by the
// local transaction; "unknown-commit-" and "unknown-rollback-" are left UNKNOW and decided when the
// broker checks back (CHECK_TRANSACTION_STATE).
type txListener struct {
	mu       sync.Mutex
	executed map[string]int
	checked  map[string]int
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	body := string(m.Body)
	l.mu.Lock()
	l.executed[body]++
	l.mu.Unlock()
	switch {
	case strings.HasPrefix(body, "commit-"):
		return primitive.CommitMessageState
	case strings.HasPrefix(body, "rollback-"):
		return primitive.RollbackMessageState
	default:
		return primitive.UnknowState
	}
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	body := string(m.Body)
	l.mu.Lock()
	l.checked[body]++
	l.mu.Unlock()
	switch {
	case strings.HasPrefix(body, "unknown-commit-"):
		return primitive.CommitMessageState
	case strings.HasPrefix(body, "unknown-rollback-"):
		return primitive.RollbackMessageState
	case strings.HasPrefix(body, "commit-"): // already committed; a check should not come
		return primitive.CommitMessageState
	default:
		return primitive.RollbackMessageState
	}
}

func (l *txListener) counts(body string) (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executed[body], l.checked[body]
}

// TestTransaction: NewTransactionProducer with a listener that commits, rolls back or answers
// UNKNOW. Committed messages and UNKNOW ones the check-back commits are consumed once each;
// rolled-back ones (at once or by the check) never are; every UNKNOW message is checked back.
// (The broker runs with transactionCheckInterval=1000 and transactionTimeOut=1000.)
func TestTransaction(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoTx")
	c.createTopic(t, topic, 2)

	l := &txListener{executed: map[string]int{}, checked: map[string]int{}}
	tp, err := rocketmq.NewTransactionProducer(l,
		producer.WithNameServer([]string{c.namesrvAddr()}),
		producer.WithGroupName(uniqueName("GoTxPG")),
		producer.WithInstanceName(uniqueName("tx")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("NewTransactionProducer: %v", err)
	}
	if err := tp.Start(); err != nil {
		t.Fatalf("transaction producer Start: %v", err)
	}
	t.Cleanup(func() { _ = tp.Shutdown() })

	col := &collector{}
	cons := c.startPushConsumer(t, uniqueName("GoTxCG"), topic, selectAll(), col)
	awaitAssigned(t, topic, 2, 20*time.Second, cons)

	kinds := []string{"commit", "rollback", "unknown-commit", "unknown-rollback"}
	const per = 3
	want := map[string]sentMsg{}
	var all []string
	for i := 0; i < per; i++ {
		for _, kind := range kinds {
			body := fmt.Sprintf("%s-%d", kind, i)
			all = append(all, body)
			m := newTestMessage(topic, body, "TX", "k-"+body, kind)
			res, err := tp.SendMessageInTransaction(context.Background(), m)
			if err != nil {
				t.Fatalf("SendMessageInTransaction %s: %v", body, err)
			}
			if res.Status != primitive.SendOK {
				t.Fatalf("SendMessageInTransaction %s: half message status %d (%s)", body, res.Status, res.SendResult)
			}
			wantState := map[string]primitive.LocalTransactionState{"commit": primitive.CommitMessageState,
				"rollback": primitive.RollbackMessageState}[kind]
			if wantState == 0 {
				wantState = primitive.UnknowState
			}
			if res.State != wantState {
				t.Errorf("%s: result state %d, want %d", body, res.State, wantState)
			}
			if kind == "commit" || kind == "unknown-commit" {
				want[body] = sentMsg{body: body, tag: "TX", key: "k-" + body, prop: kind, queue: -1}
			}
		}
	}

	// Committed ones come at once; UNKNOW ones after a check (>= 1 s old, checked every 1 s).
	if !col.waitCount(len(want), 20*time.Second) {
		t.Errorf("received %d of the %d committed messages within 20 s", col.count(), len(want))
	}
	// Every UNKNOW message must have been checked back; wait for that (rolled-back ones too) ...
	waitFor(15*time.Second, 100*time.Millisecond, func() bool {
		for _, body := range all {
			if _, checked := l.counts(body); strings.HasPrefix(body, "unknown-") && checked == 0 {
				return false
			}
		}
		return true
	})
	// ... and then two more check intervals, in which nothing else may arrive.
	time.Sleep(2500 * time.Millisecond)
	for _, body := range all {
		executed, checked := l.counts(body)
		if executed != 1 {
			t.Errorf("%s: ExecuteLocalTransaction called %d times, want 1", body, executed)
		}
		if strings.HasPrefix(body, "unknown-") && checked == 0 {
			t.Errorf("%s (UNKNOW) was never checked back (CheckLocalTransaction)", body)
		}
		if !strings.HasPrefix(body, "unknown-") && checked != 0 {
			t.Errorf("%s was decided at once (commit/rollback) but checked back %d times", body, checked)
		}
	}
	got, _ := col.snapshot()
	checkReceivedOnce(t, topic, want, got)
}
