// The admin bodies in the form Java's fastjson writes and reads: sorted keys, MessageQueue objects
// as map keys (not standard JSON, which is why they are compared as text here).
#include "ramjet/protocol/admin_bodies.h"

#include <gtest/gtest.h>

#include "ramjet/protocol/running_info.h"

namespace ramjet::protocol {
namespace {

TEST(AdminBodies, TopicStatsTableUsesMessageQueueObjectKeys) {
  TopicStatsTable t;
  t.offset_table[{"T", "b", 1}] = {0, 7, 1700000000123};
  t.offset_table[{"T", "b", 0}] = {2, 5, 0};
  EXPECT_EQ(t.ToJson(), R"({"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:)"
                        R"({"lastUpdateTimestamp":0,"maxOffset":5,"minOffset":2},)"
                        R"({"brokerName":"b","queueId":1,"topic":"T"}:)"
                        R"({"lastUpdateTimestamp":1700000000123,"maxOffset":7,"minOffset":0}}})");
}

TEST(AdminBodies, ConsumeStatsAndTheirList) {
  ConsumeStats s;
  s.consume_tps = 1.5;
  s.offset_table[{"T", "b", 0}] = {10, 4, 99};
  EXPECT_EQ(s.TotalDiff(), 6);
  EXPECT_EQ(s.ToJson(),
            R"({"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:)"
            R"({"brokerOffset":10,"consumerOffset":4,"lastTimestamp":99}}})");
  ConsumeStatsList l;
  l.broker_addr = "127.0.0.1:10911";
  l.consume_stats_list.emplace_back("G", std::vector<ConsumeStats>{s});
  l.consume_stats_list.emplace_back("Idle", std::vector<ConsumeStats>{});
  l.total_diff = 6;
  EXPECT_EQ(l.ToJson(), R"({"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"G":[)" +
                            s.ToJson() + R"(]},{"Idle":[]}],"totalDiff":6})");
}

TEST(AdminBodies, TimeSpansStatsAndLists) {
  QueryConsumeTimeSpanBody b;
  b.consume_time_span_set.push_back({{"T", "b", 3}, 10, 20, 15, 5});
  EXPECT_EQ(b.ToJson(),
            R"({"consumeTimeSpanSet":[{"consumeTimeStamp":15,"delayTime":5,)"
            R"("maxTimeStamp":20,"messageQueue":{"brokerName":"b","queueId":3,"topic":"T"},)"
            R"("minTimeStamp":10}]})");
  BrokerStatsData d{{3, 0.05, 1.0}, {3, 0.0008, 1.0}, {0, 0, 0}};
  EXPECT_EQ(d.ToJson(), R"({"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},)"
                        R"("statsHour":{"avgpt":1.0,"sum":3,"tps":0.0008},)"
                        R"("statsMinute":{"avgpt":1.0,"sum":3,"tps":0.05}})");
  EXPECT_EQ((GroupList{{"b", "a"}}).ToJson(), R"({"groupList":["a","b"]})");
  EXPECT_EQ(TopicListJson({"X"}), R"({"topicList":["X"]})");
  // Names are JSON-escaped.
  EXPECT_EQ((MessageQueue{"T\"x", "b", 0}).ToJson(),
            R"({"brokerName":"b","queueId":0,"topic":"T\"x"})");
}

TEST(AdminBodies, ConsumeQueueDump) {
  QueryConsumeQueueBody b;
  b.min_queue_index = 0;
  b.max_queue_index = 2;
  b.queue_data.push_back({100, 200, 12345, std::nullopt, ""});
  b.queue_data.push_back({0, 0, 0, std::nullopt, "entry 1: gone"});
  b.filter_data = "G@T is not online!";
  EXPECT_EQ(b.ToJson(),
            R"({"filterData":"G@T is not online!","maxQueueIndex":2,"minQueueIndex":0,)"
            R"("queueData":[{"physicOffset":100,"physicSize":200,"tagsCode":12345},)"
            R"({"msg":"entry 1: gone","physicOffset":0,"physicSize":0,"tagsCode":0}]})");
}

TEST(AdminBodies, ResetOffsetListFormRoundTrip) {
  ResetOffsetBody b;
  b.offset_table = {{{"T", "b", 0}, 5}, {{"T", "b", 1}, 0}};
  const std::string list = b.Encode(LanguageCode::kCpp);
  EXPECT_EQ(list, R"({"offsetTable":[{"brokerName":"b","offset":5,"queueId":0,"topic":"T"},)"
                  R"({"brokerName":"b","offset":0,"queueId":1,"topic":"T"}]})");
  auto back = ResetOffsetBody::Decode(list);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->offset_table, b.offset_table);
  // Java's form (MessageQueue objects as keys) is not read: the client resets the whole topic.
  EXPECT_EQ(ResetOffsetBody::Decode(b.Encode(LanguageCode::kJava)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(ResetOffsetBody::Decode(R"({"offsetTable":{}})").ok());
}

TEST(AdminBodies, ConnectionListsRoundTrip) {
  ProducerConnectionBody p;
  p.connection_set = {{"127.0.0.1:4000", "10.0.0.1@1", LanguageCode::kCpp, 373},
                      {"127.0.0.1:4001", "10.0.0.2@1", LanguageCode::kJava, 0}};
  EXPECT_EQ(p.Encode(),
            R"({"connectionSet":[{"clientAddr":"127.0.0.1:4000","clientId":"10.0.0.1@1",)"
            R"("language":"CPP","version":373},{"clientAddr":"127.0.0.1:4001",)"
            R"("clientId":"10.0.0.2@1","language":"JAVA","version":0}]})");
  auto back = ProducerConnectionBody::Decode(p.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->connection_set.size(), 2u);
  EXPECT_EQ(back->connection_set[0].client_id, "10.0.0.1@1");
  EXPECT_EQ(back->connection_set[0].language, LanguageCode::kCpp);
  EXPECT_EQ(back->connection_set[0].version, 373);
  EXPECT_EQ(back->connection_set[1].client_addr, "127.0.0.1:4001");
  EXPECT_FALSE(ProducerConnectionBody::Decode(R"({"connectionSet":{}})").ok());

  ConsumerConnectionBody c;
  c.connection_set = p.connection_set;
  c.subscription_table["T"] = SubscriptionData::ForTags("T", "TagA || TagB", 7);
  c.subscription_table["%RETRY%G"] = SubscriptionData::ForTags("%RETRY%G", "*", 8);
  c.consume_from_where = 4;
  c.consume_type = ConsumeType::kConsumeActively;
  c.message_model = MessageModel::kBroadcasting;
  auto cb = ConsumerConnectionBody::Decode(c.Encode());
  ASSERT_TRUE(cb.ok()) << cb.status().ToString();
  EXPECT_EQ(cb->connection_set.size(), 2u);
  EXPECT_EQ(cb->subscription_table, c.subscription_table);
  EXPECT_EQ(cb->consume_from_where, 4);
  EXPECT_EQ(cb->consume_type, ConsumeType::kConsumeActively);
  EXPECT_EQ(cb->message_model, MessageModel::kBroadcasting);
  EXPECT_EQ(cb->Encode(), c.Encode());
  EXPECT_FALSE(ConsumerConnectionBody::Decode(R"({"connectionSet":[1]})").ok());
}

TEST(AdminBodies, ConsumerRunningInfoAndDirectResult) {
  ConsumerRunningInfo info;
  info.properties = {{"PROP_CONSUME_TYPE", "CONSUME_PASSIVELY"}, {"consumerGroup", "G"}};
  info.subscriptions.push_back(SubscriptionData::ForTags("T", "*", 9));
  QueueRunningInfo q;
  q.mq = {"T", "b", 1};
  q.commit_offset = 3;
  q.cached_bytes = 3 << 20;
  q.locked = true;
  info.queues.push_back(q);
  EXPECT_EQ(info.Encode(),
            R"({"mqTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"cachedMsgCount":0,)"
            R"("cachedMsgMaxOffset":0,"cachedMsgMinOffset":0,"cachedMsgSizeInMiB":3,)"
            R"("commitOffset":3,"droped":false,"lastLockTimestamp":0,"locked":true,)"
            R"("tryUnlockTimes":0}},"properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY",)"
            R"("consumerGroup":"G"},"statusTable":{"T":{}},"subscriptionSet":[{)"
            R"("classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*",)"
            R"("subVersion":9,"tagsSet":[],"topic":"T"}]})");
  EXPECT_EQ((ConsumerRunningInfo{}).Encode(),
            R"({"mqTable":{},"properties":{},"statusTable":{},"subscriptionSet":[]})");
  ConsumeMessageDirectlyResult r;
  r.consume_result = "CR_SUCCESS";
  r.spent_time_mills = 12;
  EXPECT_EQ(r.Encode(), R"({"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,)"
                        R"("remark":"","spentTimeMills":12})");
}

}  // namespace
}  // namespace ramjet::protocol
