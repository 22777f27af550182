// Package compat runs Apache's Go client, github.com/apache/rocketmq-client-go/v2 (version pinned in
// go.mod), against the real ramjet-namesrv and ramjet-broker binaries.
//
// TestMain starts one name server and one broker for the whole package on random free loopback
// ports with a fresh temporary directory, and stops them (SIGTERM, bounded wait, then SIGKILL) after
// the last test. Every test uses topics and groups of its own, so the tests run in parallel.
package compat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	portWait     = 20 * time.Second
	stopWait     = 20 * time.Second
	logTailLines = 80
	brokerName   = "broker-go"
	// The broker checks half (prepared) transaction messages every second, and checks one back
	// with the producer once it is a second old (Apache's defaults are 60 s and 6 s).
	txCheckIntervalMs = 1000
	txTimeoutMs       = 1000
)

// cluster is the name server and broker shared by every test of the package.
var cluster *ramjetCluster

type server struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

type ramjetCluster struct {
	binDir      string
	tmpDir      string
	namesrvPort int
	brokerPort  int
	namesrv     *server
	broker      *server
	clientLog   string
	anyFailed   atomic.Bool
	logMu       sync.Mutex
}

func (c *ramjetCluster) namesrvAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.namesrvPort) }
func (c *ramjetCluster) brokerAddr() string  { return fmt.Sprintf("127.0.0.1:%d", c.brokerPort) }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	c, err := startCluster()
	if err != nil {
		fmt.Fprintf(os.Stderr, "[ramjet] cannot start the servers: %v\n", err)
		if c != nil {
			c.printLogTails()
			c.killAll()
			fmt.Printf("[ramjet] kept %s\n", c.tmpDir)
		}
		return 1
	}
	cluster = c
	code := m.Run()
	problems := c.stop()
	if len(problems) > 0 {
		fmt.Printf("[ramjet] server shutdown: %s\n", strings.Join(problems, "; "))
		code = 1
	}
	if code != 0 || c.anyFailed.Load() || os.Getenv("RAMJET_KEEP_TMP") != "" {
		fmt.Printf("[ramjet] kept %s\n", c.tmpDir)
	} else {
		os.RemoveAll(c.tmpDir)
	}
	return code
}

func startCluster() (*ramjetCluster, error) {
	binDir := os.Getenv("RAMJET_BIN_DIR")
	if binDir == "" {
		binDir = "../../build/apps"
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return nil, err
	}
	namesrvBin := filepath.Join(abs, "ramjet-namesrv")
	brokerBin := filepath.Join(abs, "ramjet-broker")
	for _, bin := range []string{namesrvBin, brokerBin} {
		if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("not an executable: %s (set RAMJET_BIN_DIR to the directory holding ramjet-namesrv and ramjet-broker)", bin)
		}
	}
	tmp, err := os.MkdirTemp("", "ramjet-go-")
	if err != nil {
		return nil, err
	}
	c := &ramjetCluster{binDir: abs, tmpDir: tmp}

	// The client logs (warnings and errors only) go to a file of their own.
	c.clientLog = filepath.Join(tmp, "go-client.log")
	level := os.Getenv("RAMJET_GO_LOG_LEVEL") // e.g. debug; default warn
	if level == "" {
		level = "warn"
	}
	rlog.SetLogLevel(level)
	if err := rlog.SetOutputPath(c.clientLog); err != nil {
		return c, err
	}

	if err := c.launch(brokerName,
		"--enablePropertyFilter=true",
		"--traceTopicEnable=true",
		fmt.Sprintf("--transactionCheckInterval=%d", txCheckIntervalMs),
		fmt.Sprintf("--transactionTimeOut=%d", txTimeoutMs)); err != nil {
		return c, err
	}
	fmt.Printf("[ramjet] namesrv %s, broker %s, dir %s\n", c.namesrvAddr(), c.brokerAddr(), tmp)
	return c, nil
}

// launch starts a name server, then a broker named broker with the suite's small store files and
// extraBrokerArgs, on random free ports, with their files and logs in c.tmpDir.
func (c *ramjetCluster) launch(broker string, extraBrokerArgs ...string) error {
	namesrvBin := filepath.Join(c.binDir, "ramjet-namesrv")
	brokerBin := filepath.Join(c.binDir, "ramjet-broker")
	rnd := rand.New(rand.NewSource(time.Now().UnixNano() ^ int64(os.Getpid())))
	var err error
	if c.namesrvPort, err = pickFreePort(rnd, 0); err != nil {
		return err
	}
	c.namesrv, err = startServer("namesrv", filepath.Join(c.tmpDir, "namesrv.log"), namesrvBin,
		fmt.Sprintf("--listenPort=%d", c.namesrvPort),
		"--kvConfigPath="+filepath.Join(c.tmpDir, "kv.json"))
	if err != nil {
		return err
	}
	if err := awaitPort(c.namesrv, c.namesrvPort); err != nil {
		return err
	}
	if c.brokerPort, err = pickFreePort(rnd, 2); err != nil { // bp-2 (VIP), bp, bp+1 (HA) free
		return err
	}
	args := append([]string{
		"--namesrvAddr=" + c.namesrvAddr(),
		fmt.Sprintf("--listenPort=%d", c.brokerPort),
		"--brokerIP1=127.0.0.1",
		"--storePathRootDir=" + filepath.Join(c.tmpDir, "store"),
		"--brokerName=" + broker,
		// Small store files: the defaults (1 GiB CommitLog segment, 6 MB per consume queue file,
		// a ~420 MB index file) would take about 1.7 GB of disk per run of this suite.
		"--mappedFileSizeCommitLog=67108864",
		"--mappedFileSizeConsumeQueue=60000",
		"--maxHashSlotNum=50000",
		"--maxIndexNum=200000",
	}, extraBrokerArgs...)
	c.broker, err = startServer("broker", filepath.Join(c.tmpDir, "broker.log"), brokerBin, args...)
	if err != nil {
		return err
	}
	return awaitPort(c.broker, c.brokerPort)
}

func startServer(name, logPath, bin string, args ...string) (*server, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "$ %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Stdin = nil // /dev/null
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		f.Close()
		close(s.done)
	}()
	return s, nil
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func awaitPort(s *server, port int) error {
	deadline := time.Now().Add(portWait)
	for attempt := 0; attempt < 400; attempt++ {
		if s.exited() {
			return fmt.Errorf("%s exited (%v) before accepting connections on %d (log: %s)", s.name, s.err, port, s.log)
		}
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 500*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not accept connections on 127.0.0.1:%d within %v (log: %s)", s.name, port, portWait, s.log)
}

// stop stops the broker, then the name server: SIGTERM, at most stopWait, then SIGKILL.
// It returns what went wrong (an exit code other than 0 counts).
func (c *ramjetCluster) stop() []string {
	var problems []string
	for _, s := range []*server{c.broker, c.namesrv} {
		if s == nil {
			continue
		}
		if s.exited() {
			problems = append(problems, fmt.Sprintf("%s had already exited (%v)", s.name, s.err))
			c.printTail(s.name, s.log)
			continue
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			if s.err != nil {
				problems = append(problems, fmt.Sprintf("%s exited with %v after SIGTERM", s.name, s.err))
				c.printTail(s.name, s.log)
			}
		case <-time.After(stopWait):
			problems = append(problems, fmt.Sprintf("%s did not exit within %v of SIGTERM; killed", s.name, stopWait))
			_ = s.cmd.Process.Kill()
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
			}
			c.printTail(s.name, s.log)
		}
	}
	return problems
}

func (c *ramjetCluster) killAll() {
	for _, s := range []*server{c.broker, c.namesrv} {
		if s != nil && !s.exited() {
			_ = s.cmd.Process.Kill()
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// pickFreePort returns a random port in 10100..31899 (below the kernel's ephemeral range) such that port-below .. port (+1 when below > 0)
// are all free.
func pickFreePort(rnd *rand.Rand, below int) (int, error) {
	for attempt := 0; attempt < 500; attempt++ {
		port := 10100 + rnd.Intn(21800)
		hi := port
		if below > 0 {
			hi = port + 1
		}
		free := true
		for q := port - below; q <= hi && free; q++ {
			l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", q))
			if err != nil {
				free = false
			} else {
				l.Close()
			}
		}
		if free {
			return port, nil
		}
	}
	return 0, errors.New("no free port found in 500 attempts")
}

func (c *ramjetCluster) printLogTails() {
	if c.namesrv != nil {
		c.printTail("namesrv", c.namesrv.log)
	}
	if c.broker != nil {
		c.printTail("broker", c.broker.log)
	}
	c.printTail("go-client", c.clientLog)
}

func (c *ramjetCluster) printTail(name, path string) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
	}
	from := 0
	if len(lines) > logTailLines {
		from = len(lines) - logTailLines
	}
	fmt.Printf("----- %s log %s (last %d lines) -----\n", name, path, len(lines)-from)
	for _, l := range lines[from:] {
		fmt.Printf("[%s] %s\n", name, l)
	}
	fmt.Printf("----- end of %s log -----\n", name)
}

// ---------------------------------------------------------------- per-test helpers

var clientSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, os.Getpid(), clientSeq.Add(1))
}

// setup is called first by every test: it fails fast without servers and prints the server and
// client log tails when the test fails.
func setup(t *testing.T) *ramjetCluster {
	t.Helper()
	if cluster == nil {
		t.Fatal("servers not started")
	}
	t.Cleanup(func() {
		if t.Failed() {
			cluster.anyFailed.Store(true)
			fmt.Printf("[ramjet] FAILED %s\n", t.Name())
			cluster.printLogTails()
		}
	})
	return cluster
}

// newProducer starts a producer of a fresh group (shut down when the test ends).
func (c *ramjetCluster) newProducer(t *testing.T, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNameServer([]string{c.namesrvAddr()}),
		producer.WithGroupName(uniqueName("GoPG")),
		producer.WithInstanceName(uniqueName("p")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5 * time.Second),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// consumerOpts are the options every consumer of the suite gets: the name server, the group, a
// unique instance name (so that two consumers of one process have distinct client ids) and
// CONSUME_FROM_FIRST_OFFSET.
func (c *ramjetCluster) consumerOpts(group string, opts ...consumer.Option) []consumer.Option {
	return append([]consumer.Option{
		consumer.WithNameServer([]string{c.namesrvAddr()}),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName("c")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
}

// createTopic creates topic with queues read/write queues on the broker with the Go admin API
// (UPDATE_AND_CREATE_TOPIC, 17) and waits until the name server routes it with that many queues.
func (c *ramjetCluster) createTopic(t *testing.T, topic string, queues int) []*primitive.MessageQueue {
	t.Helper()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr()})))
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = adm.CreateTopic(ctx,
		admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(c.brokerAddr()),
		admin.WithReadQueueNums(queues),
		admin.WithWriteQueueNums(queues))
	if err != nil {
		t.Fatalf("CreateTopic %s: %v", topic, err)
	}
	var mqs []*primitive.MessageQueue
	ok := waitFor(20*time.Second, 100*time.Millisecond, func() bool {
		mqs, err = adm.FetchPublishMessageQueues(context.Background(), topic)
		return err == nil && len(mqs) == queues
	})
	if !ok {
		t.Fatalf("topic %s not routed with %d queues within 20 s: %v (err %v)", topic, queues, mqs, err)
	}
	return mqs
}

// waitFor polls cond every interval until it is true or timeout has passed; it returns cond's last value.
func waitFor(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	maxPolls := int(timeout/interval) + 2
	for i := 0; i < maxPolls; i++ {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(interval)
	}
	return cond()
}

// assignedQueues returns the queues of topic that the consumer's (push or pull) rebalance currently
// owns (its process-queue table, as reported by GetConsumerRunningInfo), sorted by queue id.
// The running info's type lives in the client's internal package, so it is read by reflection.
func assignedQueues(t *testing.T, c interface{}, topic string) []int {
	t.Helper()
	m := reflect.ValueOf(c).MethodByName("GetConsumerRunningInfo")
	if !m.IsValid() {
		t.Fatalf("push consumer %T has no GetConsumerRunningInfo", c)
	}
	info := m.Call([]reflect.Value{reflect.ValueOf(false)})[0]
	if info.IsNil() {
		return nil
	}
	table := info.Elem().FieldByName("MQTable")
	var ids []int
	iter := table.MapRange()
	for iter.Next() {
		mq := iter.Key().Interface().(primitive.MessageQueue)
		if mq.Topic == topic {
			ids = append(ids, mq.QueueId)
		}
	}
	sort.Ints(ids)
	return ids
}

// collector records what a push consumer's listener receives.
type collector struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
	at   []time.Time
}

func (col *collector) listener(result consumer.ConsumeResult) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		now := time.Now()
		col.mu.Lock()
		for _, m := range msgs {
			col.msgs = append(col.msgs, m)
			col.at = append(col.at, now)
		}
		col.mu.Unlock()
		return result, nil
	}
}

func (col *collector) count() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.msgs)
}

func (col *collector) snapshot() ([]*primitive.MessageExt, []time.Time) {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]*primitive.MessageExt(nil), col.msgs...), append([]time.Time(nil), col.at...)
}

// waitCount waits until at least n messages have arrived (bounded by timeout).
func (col *collector) waitCount(n int, timeout time.Duration) bool {
	return waitFor(timeout, 50*time.Millisecond, func() bool { return col.count() >= n })
}

// startPushConsumer subscribes a new push consumer to topic and starts it (shut down when the test
// ends); what it receives goes to col.
func (c *ramjetCluster) startPushConsumer(t *testing.T, group, topic string, sel consumer.MessageSelector,
	col *collector, opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	pc, err := rocketmq.NewPushConsumer(c.consumerOpts(group, opts...)...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	if err := pc.Subscribe(topic, sel, col.listener(consumer.ConsumeSuccess)); err != nil {
		t.Fatalf("Subscribe %s: %v", topic, err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("push consumer Start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	return pc
}

// awaitAssigned waits until the consumers' rebalances (clustering) own the queues of topic
// together, each queue by exactly one consumer, split evenly (AllocateByAveragely).
func awaitAssigned(t *testing.T, topic string, queues int, timeout time.Duration, cs ...rocketmq.PushConsumer) {
	t.Helper()
	var last [][]int
	ok := waitFor(timeout, 100*time.Millisecond, func() bool {
		last = last[:0]
		seen := map[int]int{}
		for _, c := range cs {
			ids := assignedQueues(t, c, topic)
			last = append(last, ids)
			for _, id := range ids {
				seen[id]++
			}
		}
		if len(seen) != queues {
			return false
		}
		// AllocateByAveragely: every consumer owns queues/len(cs) queues (one more for the first
		// queues%len(cs)); in particular a consumer that has not rebalanced yet owns none.
		for _, ids := range last {
			if len(ids) < queues/len(cs) || len(ids) > (queues+len(cs)-1)/len(cs) {
				return false
			}
		}
		for _, n := range seen {
			if n != 1 {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("consumers were not assigned the %d queues of %s (each queue to one consumer) within %v; have %v",
			queues, topic, timeout, last)
	}
}

func selectAll() consumer.MessageSelector {
	return consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}
}

// awaitEachAssigned waits until each consumer's rebalance (broadcasting) owns every queue of topic.
func awaitEachAssigned(t *testing.T, topic string, queues int, timeout time.Duration, cs ...rocketmq.PushConsumer) {
	t.Helper()
	var last [][]int
	ok := waitFor(timeout, 100*time.Millisecond, func() bool {
		last = last[:0]
		all := true
		for _, c := range cs {
			ids := assignedQueues(t, c, topic)
			last = append(last, ids)
			all = all && len(ids) == queues
		}
		return all
	})
	if !ok {
		t.Fatalf("consumers were not each assigned the %d queues of %s within %v; have %v", queues, topic, timeout, last)
	}
}

// lockedQueues returns the queues of topic whose process queue the (orderly) push consumer holds
// locked on the broker (LOCK_BATCH_MQ succeeded), from GetConsumerRunningInfo.
func lockedQueues(t *testing.T, c rocketmq.PushConsumer, topic string) []int {
	t.Helper()
	info := reflect.ValueOf(c).MethodByName("GetConsumerRunningInfo").Call([]reflect.Value{reflect.ValueOf(false)})[0]
	if info.IsNil() {
		return nil
	}
	var ids []int
	iter := info.Elem().FieldByName("MQTable").MapRange()
	for iter.Next() {
		mq := iter.Key().Interface().(primitive.MessageQueue)
		if mq.Topic == topic && iter.Value().FieldByName("Locked").Bool() {
			ids = append(ids, mq.QueueId)
		}
	}
	sort.Ints(ids)
	return ids
}
