package compat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// ACL 1.0 (plain_acl.yml) with the Go client's own credentials (primitive.Credentials via
// producer/consumer/admin.WithCredentials). v2.1.2 signs every request in
// internal/remote/interceptor.go as Apache's AclClientRPCHook does: Signature = Base64
// HmacSHA1(secret, the values of AccessKey and every extField sorted by key, then the body), and
// adds AccessKey and Signature to the extFields. (It leaves SecurityToken out of the signed
// content, unlike AclClientRPCHook; no test here sets one.)
const (
	aclTopic        = "GoAclTopic"        // the user account: PUB|SUB
	aclSubOnlyTopic = "GoAclSubOnlyTopic" // the user account: SUB only
	aclGroup        = "GoAclGroup"        // the user account: SUB
	aclBrokerName   = "broker-go-acl"
	aclMessages     = 20
)

var (
	aclAdmin  = primitive.Credentials{AccessKey: "goAclAdmin", SecretKey: "adminSecret123"}
	aclUser   = primitive.Credentials{AccessKey: "goAclUser", SecretKey: "userSecret123"}
	aclReader = primitive.Credentials{AccessKey: "goAclReader", SecretKey: "readerSecret123"} // SUB on everything
)

var aclYAML = strings.Join([]string{
	"globalWhiteRemoteAddresses:",
	"accounts:",
	"  - accessKey: " + aclAdmin.AccessKey,
	"    secretKey: " + aclAdmin.SecretKey,
	"    admin: true",
	"  - accessKey: " + aclUser.AccessKey,
	"    secretKey: " + aclUser.SecretKey,
	"    whiteRemoteAddress:",
	"    admin: false",
	"    defaultTopicPerm: DENY",
	"    defaultGroupPerm: DENY",
	"    topicPerms:",
	"      - " + aclTopic + "=PUB|SUB",
	"      - " + aclSubOnlyTopic + "=SUB",
	"    groupPerms:",
	"      - " + aclGroup + "=SUB",
	"  - accessKey: " + aclReader.AccessKey,
	"    secretKey: " + aclReader.SecretKey,
	"    admin: false",
	"    defaultTopicPerm: SUB",
	"    defaultGroupPerm: SUB",
	"",
}, "\n")

// startAclCluster starts a name server and a broker of their own with aclEnable=true and the
// accounts above; they are stopped (and checked to exit cleanly) when the test ends.
func startAclCluster(t *testing.T) *ramjetCluster {
	t.Helper()
	if cluster == nil {
		t.Fatal("servers not started")
	}
	tmp, err := os.MkdirTemp("", "ramjet-go-acl-")
	if err != nil {
		t.Fatal(err)
	}
	aclFile := filepath.Join(tmp, "plain_acl.yml")
	if err := os.WriteFile(aclFile, []byte(aclYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ac := &ramjetCluster{binDir: cluster.binDir, tmpDir: tmp, clientLog: cluster.clientLog}
	t.Cleanup(func() {
		if problems := ac.stop(); len(problems) > 0 {
			t.Errorf("ACL servers: %s", strings.Join(problems, "; "))
		}
		if t.Failed() {
			cluster.anyFailed.Store(true)
			fmt.Printf("[ramjet] FAILED %s\n", t.Name())
			ac.printLogTails()
			fmt.Printf("[ramjet] kept %s\n", tmp)
		} else if os.Getenv("RAMJET_KEEP_TMP") == "" {
			os.RemoveAll(tmp)
		}
	})
	if err := ac.launch(aclBrokerName, "--aclEnable=true", "--aclFilePath="+aclFile, "--dashboardPort=-1"); err != nil {
		t.Fatalf("cannot start the ACL servers: %v", err)
	}
	t.Logf("ACL namesrv %s, broker %s, dir %s", ac.namesrvAddr(), ac.brokerAddr(), tmp)
	return ac
}

// aclCreateTopic creates topic as the given account with the Go admin API and waits until it is
// routed. v2.1.2's admin signs only after RegisterACL, which only GetAllSubscriptionGroup calls
// (NewAdmin never starts its client), so that comes first; and CreateTopic ignores the response
// code, so the route tells whether the broker accepted it.
func (c *ramjetCluster) aclCreateTopic(t *testing.T, creds primitive.Credentials, topic string, queues int) (routed bool) {
	t.Helper()
	adm, err := admin.NewAdmin(
		admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr()})),
		admin.WithCredentials(creds))
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.GetAllSubscriptionGroup(ctx, c.brokerAddr(), 5*time.Second); err != nil {
		t.Fatalf("GetAllSubscriptionGroup as %s: %v", creds.AccessKey, err)
	}
	err = adm.CreateTopic(ctx,
		admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(c.brokerAddr()),
		admin.WithReadQueueNums(queues),
		admin.WithWriteQueueNums(queues))
	if err != nil {
		t.Fatalf("CreateTopic %s as %s: %v", topic, creds.AccessKey, err)
	}
	wait := 20 * time.Second
	if creds != aclAdmin {
		wait = 3 * time.Second // expected to be refused
	}
	var mqs []*primitive.MessageQueue
	return waitFor(wait, 100*time.Millisecond, func() bool {
		mqs, err = adm.FetchPublishMessageQueues(context.Background(), topic)
		return err == nil && len(mqs) == queues
	})
}

func (c *ramjetCluster) aclProducer(t *testing.T, creds *primitive.Credentials) rocketmq.Producer {
	t.Helper()
	var opts []producer.Option
	if creds != nil {
		opts = append(opts, producer.WithCredentials(*creds))
	}
	return c.newProducer(t, opts...)
}

// ramjetAdminTopicMax runs `ramjet-admin topicStatus` as the given account (RAMJET_ACCESS_KEY /
// RAMJET_SECRET_KEY) and returns the max offset of each queue of topic.
func (c *ramjetCluster) ramjetAdminTopicMax(t *testing.T, creds primitive.Credentials, topic string) (map[int]int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "ramjet-admin"), "topicStatus", "-n", c.namesrvAddr(), "-t", topic)
	env := []string{"RAMJET_ACCESS_KEY=" + creds.AccessKey, "RAMJET_SECRET_KEY=" + creds.SecretKey}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RAMJET_ACCESS_KEY=") && !strings.HasPrefix(kv, "RAMJET_SECRET_KEY=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ramjet-admin topicStatus -t %s as %s: %v\n%s", topic, creds.AccessKey, err, out)
	}
	maxOff := map[int]int64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == aclBrokerName {
			q, err1 := strconv.Atoi(f[1])
			m, err2 := strconv.ParseInt(f[3], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("ramjet-admin topicStatus: cannot parse %q", line)
			}
			maxOff[q] = m
		}
	}
	return maxOff, string(out)
}

// TestAcl: a broker with aclEnable=true. The right account (PUB|SUB on the topic, SUB on the group)
// sends N messages and its push consumer receives exactly them; a consumer of the same group with a
// wrong secret receives nothing. Sends with a wrong secret, an unknown access key, an account
// without PUB on the topic (by default or explicitly) and no credentials all fail with the
// broker's NO_PERMISSION (16) and RocketMQ's text, as the Go client reports it. A topic creation by
// a non-admin account is refused. Afterwards the admin account finds exactly the accepted messages
// stored (Go pull consumer and ramjet-admin), and no secret is in the broker log.
func TestAcl(t *testing.T) {
	t.Parallel()
	ac := startAclCluster(t)

	if !ac.aclCreateTopic(t, aclAdmin, aclTopic, 2) {
		t.Fatalf("admin account: topic %s not routed with 2 queues within 20 s", aclTopic)
	}
	if !ac.aclCreateTopic(t, aclAdmin, aclSubOnlyTopic, 1) {
		t.Fatalf("admin account: topic %s not routed with 1 queue within 20 s", aclSubOnlyTopic)
	}

	// A non-admin account's UPDATE_AND_CREATE_TOPIC (17) is refused: no route, and the broker says why.
	intruderTopic := "GoAclIntruderTopic"
	if ac.aclCreateTopic(t, aclUser, intruderTopic, 1) {
		t.Errorf("the user account (not admin) created topic %s", intruderTopic)
	}
	refusal := "Need admin permission for request code=17, but accessKey=" + aclUser.AccessKey + " is not"
	if !waitFor(5*time.Second, 100*time.Millisecond, func() bool {
		b, _ := os.ReadFile(ac.broker.log)
		return strings.Contains(string(b), refusal)
	}) {
		t.Errorf("the broker log does not show the refused topic creation (%q)", refusal)
	}

	// Consumers: the right account on its group, and the same group with a wrong secret.
	col := &collector{}
	cons := ac.startPushConsumer(t, aclGroup, aclTopic, selectAll(), col, consumer.WithCredentials(aclUser))
	bad := &collector{}
	badCons := ac.startPushConsumer(t, aclGroup, aclTopic, selectAll(), bad,
		consumer.WithCredentials(primitive.Credentials{AccessKey: aclUser.AccessKey, SecretKey: "notTheSecret1"}))
	awaitAssigned(t, aclTopic, 2, 30*time.Second, cons)

	// The right account sends N messages.
	p := ac.aclProducer(t, &aclUser)
	sent := sendPlain(t, p, aclTopic, "acl-ok", aclMessages)
	checkOffsetsUnique(t, sent)

	// Refused sends: the Go client retries NO_PERMISSION (twice here), then returns the broker's
	// code and remark as "CODE: 16, DESC: <remark>".
	refused := []struct {
		what   string
		creds  *primitive.Credentials
		topic  string
		remark string
	}{
		{"wrong secret", &primitive.Credentials{AccessKey: aclUser.AccessKey, SecretKey: "notTheSecret1"}, aclTopic,
			"Check signature failed for accessKey=" + aclUser.AccessKey},
		{"unknown access key", &primitive.Credentials{AccessKey: "goAclNobody", SecretKey: aclUser.SecretKey}, aclTopic,
			"No acl config for goAclNobody"},
		{"account without PUB (default SUB)", &aclReader, aclTopic,
			"No default permission for topic:" + aclTopic},
		{"account without PUB (topic SUB only)", &aclUser, aclSubOnlyTopic,
			"No default permission for topic:" + aclSubOnlyTopic},
		{"no credentials", nil, aclTopic, "No accessKey is configured"},
	}
	for i, r := range refused {
		rp := ac.aclProducer(t, r.creds)
		body := fmt.Sprintf("acl-refused-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		res, err := rp.SendSync(ctx, newTestMessage(r.topic, body, "T", "k-"+body, "refused"))
		cancel()
		switch {
		case err == nil:
			t.Errorf("%s: SendSync to %s succeeded (%v), want NO_PERMISSION", r.what, r.topic, res)
		case !strings.Contains(err.Error(), "CODE: 16") || !strings.Contains(err.Error(), r.remark):
			t.Errorf("%s: SendSync to %s failed with %q, want code 16 and %q", r.what, r.topic, err.Error(), r.remark)
		default:
			t.Logf("%s: SendSync to %s refused in %v: %v", r.what, r.topic, time.Since(start).Round(time.Millisecond), err)
		}
	}

	// The right consumer receives exactly the N accepted messages; the wrong secret nothing.
	if !col.waitCount(len(sent), 30*time.Second) {
		t.Errorf("the right consumer received %d of %d messages within 30 s", col.count(), len(sent))
	}
	time.Sleep(2 * time.Second) // a refused message or a duplicate would show up here
	got, _ := col.snapshot()
	checkReceivedOnce(t, aclTopic, sent, got)
	if n := bad.count(); n != 0 {
		t.Errorf("the consumer with a wrong secret received %d messages", n)
	}
	if q := assignedQueues(t, badCons, aclTopic); len(q) != 0 {
		t.Errorf("the consumer with a wrong secret owns queues %v", q)
	}

	// What is stored, as the admin account: ramjet-admin's max offsets, then the messages themselves.
	maxOff, out := ac.ramjetAdminTopicMax(t, aclAdmin, aclTopic)
	if len(maxOff) != 2 || maxOff[0]+maxOff[1] != int64(len(sent)) {
		t.Errorf("ramjet-admin topicStatus -t %s: max offsets %v, want 2 queues holding %d messages\n%s", aclTopic, maxOff, len(sent), out)
	}
	subMax, out := ac.ramjetAdminTopicMax(t, aclAdmin, aclSubOnlyTopic)
	if len(subMax) != 1 || subMax[0] != 0 {
		t.Errorf("ramjet-admin topicStatus -t %s: max offsets %v, want one empty queue\n%s", aclSubOnlyTopic, subMax, out)
	}
	pc, err := rocketmq.NewPullConsumer(ac.consumerOpts(uniqueName("GoAclAdminCG"), consumer.WithCredentials(aclAdmin))...)
	if err != nil {
		t.Fatalf("NewPullConsumer: %v", err)
	}
	if err := pc.Subscribe(aclTopic, selectAll()); err != nil {
		t.Fatalf("pull Subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("pull consumer Start: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown() })
	var stored []*primitive.MessageExt
	for q := 0; q < 2; q++ {
		if maxOff[q] == 0 {
			continue // a pull at the end of a queue would be held (long polling)
		}
		mq := &primitive.MessageQueue{Topic: aclTopic, BrokerName: aclBrokerName, QueueId: q}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := pc.PullFrom(ctx, mq, 0, 64)
		cancel()
		if err != nil {
			t.Fatalf("PullFrom(q%d, 0) as the admin account: %v", q, err)
		}
		if res.Status != primitive.PullFound || res.MaxOffset != maxOff[q] || res.NextBeginOffset != maxOff[q] {
			t.Errorf("PullFrom(q%d, 0) as the admin account: status %d max %d next %d, want PullFound (0) max = next = %d",
				q, res.Status, res.MaxOffset, res.NextBeginOffset, maxOff[q])
		}
		stored = append(stored, res.GetMessageExts()...)
	}
	checkReceivedOnce(t, aclTopic, sent, stored)

	b, err := os.ReadFile(ac.broker.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{aclUser.SecretKey, aclAdmin.SecretKey, aclReader.SecretKey, "notTheSecret1"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the broker log contains the secret %q", secret)
		}
	}
}
