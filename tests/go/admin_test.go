package compat

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestAdmin: the Go admin API. CreateTopic (UPDATE_AND_CREATE_TOPIC) is used by every test; here
// FetchAllTopicList (GET_ALL_TOPIC_LIST_FROM_NAMESERVER) lists the new topic and TBW102;
// GetAllSubscriptionGroup (GET_ALL_SUBSCRIPTIONGROUP_CONFIG) lists a group auto-created by a
// consumer's heartbeat, with Apache's defaults; DeleteTopic (DELETE_TOPIC_IN_BROKER, then
// DELETE_TOPIC_IN_NAMESRV) removes the topic from the list and its route.
func TestAdmin(t *testing.T) {
	t.Parallel()
	c := setup(t)
	topic := uniqueName("GoAdmin")
	c.createTopic(t, topic, 3)
	group := uniqueName("GoAdminCG")
	col := &collector{}
	cons := c.startPushConsumer(t, group, topic, selectAll(), col)
	awaitAssigned(t, topic, 3, 20*time.Second, cons)

	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr()})))
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	list, err := adm.FetchAllTopicList(ctx)
	if err != nil {
		t.Fatalf("FetchAllTopicList: %v", err)
	}
	has := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, want := range []string{topic, "TBW102"} {
		if !has(list.TopicList, want) {
			t.Errorf("FetchAllTopicList lacks %s: %v", want, list.TopicList)
		}
	}

	groups, err := adm.GetAllSubscriptionGroup(ctx, c.brokerAddr(), 5*time.Second)
	if err != nil {
		t.Fatalf("GetAllSubscriptionGroup: %v", err)
	}
	g, ok := groups.SubscriptionGroupTable[group]
	if !ok {
		t.Errorf("GetAllSubscriptionGroup lacks the consumer's group %s (has %d groups)", group, len(groups.SubscriptionGroupTable))
	} else {
		want := admin.SubscriptionGroupConfig{GroupName: group, ConsumeEnable: true, ConsumeFromMinEnable: true,
			ConsumeBroadcastEnable: true, RetryMaxTimes: 16, RetryQueueNums: 1, BrokerId: 0,
			WhichBrokerWhenConsumeSlowly: 1, NotifyConsumerIdsChangedEnable: true}
		if g != want {
			t.Errorf("subscription group %s is %+v, want Apache's defaults %+v", group, g, want)
		}
	}
	if groups.DataVersion.Timestamp == 0 {
		t.Errorf("subscription groups' dataVersion has no timestamp: %+v", groups.DataVersion)
	}

	if err := adm.DeleteTopic(ctx, admin.WithTopicDelete(topic), admin.WithBrokerAddrDelete(c.brokerAddr()),
		admin.WithNameSrvAddr([]string{c.namesrvAddr()})); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	list, err = adm.FetchAllTopicList(ctx)
	if err != nil {
		t.Fatalf("FetchAllTopicList after DeleteTopic: %v", err)
	}
	if has(list.TopicList, topic) {
		t.Errorf("FetchAllTopicList still lists %s after DeleteTopic", topic)
	}
	// A fresh client (no cached route) must find no route for the deleted topic.
	adm2, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{c.namesrvAddr()})))
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	defer adm2.Close()
	if mqs, err := adm2.FetchPublishMessageQueues(ctx, topic); err == nil && len(mqs) > 0 {
		t.Errorf("the deleted topic %s is still routed: %v", topic, mqs)
	}
}
