// The metadata files' JSON, as RocketMQ writes them, read back.
#include "ramjet/protocol/config_files.h"

#include <gtest/gtest.h>

namespace ramjet::protocol {
namespace {

TEST(ConfigFiles, DelayOffsetsRoundTripAndReadRocketMqsNumericKeys) {
  DelayOffsetFile f;
  f.offset_table = {{1, 5}, {2, 0}, {10, 7}};
  auto back = DelayOffsetFile::Decode(f.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->offset_table, f.offset_table);
  // RocketMQ writes the level keys unquoted.
  auto rocketmq = DelayOffsetFile::Decode(R"({"offsetTable":{1:3,2:4}})");
  ASSERT_TRUE(rocketmq.ok()) << rocketmq.status().ToString();
  EXPECT_EQ(rocketmq->offset_table.at(2), 4);
  EXPECT_FALSE(DelayOffsetFile::Decode("not json").ok());
}

TEST(ConfigFiles, TimerProgressAndKvConfigRoundTrip) {
  auto t = TimerProgressFile::Decode(TimerProgressFile{42}.Encode());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->watermark, 42);
  EXPECT_EQ(TimerProgressFile{42}.Encode(), R"({"watermark":42})");
  KvConfigFile kv;
  kv.config_table["ORDER_TOPIC_CONFIG"]["T"] = "broker-a:4";
  auto back = KvConfigFile::Decode(kv.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->config_table, kv.config_table);
  EXPECT_FALSE(KvConfigFile::Decode("[]").ok());
}

TEST(ConfigFiles, SubscriptionGroupsRoundTripAndReadLeniently) {
  SubscriptionGroupWrapper w;
  w.data_version = {1700000000000, 3};
  SubscriptionGroupConfigBody g;
  g.group_name = "G";
  g.retry_max_times = 5;
  g.consume_broadcast_enable = false;
  w.subscription_group_table["G"] = g;
  EXPECT_EQ(w.Encode(),
            R"({"dataVersion":{"counter":3,"timestamp":1700000000000},"subscriptionGroupTable":)"
            R"({"G":{"brokerId":0,"consumeBroadcastEnable":false,"consumeEnable":true,)"
            R"("consumeFromMinEnable":true,"consumeMessageOrderly":false,"groupName":"G",)"
            R"("notifyConsumerIdsChangedEnable":true,)"
            R"("retryMaxTimes":5,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}}})");
  auto back = SubscriptionGroupWrapper::Decode(w.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Encode(), w.Encode());
  // A hand-edited file: no groupName (the key is used), values as strings, a stray entry.
  auto edited = SubscriptionGroupWrapper::Decode(
      R"({"subscriptionGroupTable":{"H":{"consumeEnable":"false","retryMaxTimes":"7"},"X":1}})");
  ASSERT_TRUE(edited.ok()) << edited.status().ToString();
  ASSERT_EQ(edited->subscription_group_table.size(), 1u);
  const auto& h = edited->subscription_group_table.at("H");
  EXPECT_EQ(h.group_name, "H");
  EXPECT_FALSE(h.consume_enable);
  EXPECT_EQ(h.retry_max_times, 7);
  EXPECT_EQ(h.retry_queue_nums, 1);
  EXPECT_EQ(SubscriptionGroupWrapper::Decode("[1]").status().code(), StatusCode::kCorruption);
}

TEST(ConfigFiles, ConsumerOffsetsRoundTripAndReadRocketMqsNumericKeys) {
  ConsumerOffsetWrapper w;
  w.offset_table["T@G"] = {{0, 5}, {2, 7}, {10, 9}};
  // Queue ids are sorted as text, as the broker has always written them.
  EXPECT_EQ(w.Encode(), R"({"offsetTable":{"T@G":{"0":5,"10":9,"2":7}}})");
  auto back = ConsumerOffsetWrapper::Decode(w.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->offset_table, w.offset_table);
  auto rocketmq = ConsumerOffsetWrapper::Decode(R"({"offsetTable":{"T@G":{0:4,1:"x"}}})");
  ASSERT_TRUE(rocketmq.ok()) << rocketmq.status().ToString();
  EXPECT_EQ(rocketmq->offset_table.at("T@G"), (std::map<int32_t, int64_t>{{0, 4}}));
  EXPECT_FALSE(ConsumerOffsetWrapper::Decode("{").ok());
}

TEST(ConfigFiles, LocalOffsetsAndIndentedText) {
  LocalOffsetFile f;
  f.offsets = {{"T@0@b", 12}, {"T@1@b", 0}};
  EXPECT_EQ(f.Encode(), R"({"T@0@b":12,"T@1@b":0})");
  auto back = LocalOffsetFile::Decode(f.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->offsets, f.offsets);
  EXPECT_FALSE(LocalOffsetFile::Decode("12").ok());
  auto text = IndentJson(R"({"a":{"b":1},"c":[]})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "{\n  \"a\": {\n    \"b\": 1\n  },\n  \"c\": []\n}");
  EXPECT_FALSE(IndentJson("{\"a\"").ok());
}

}  // namespace
}  // namespace ramjet::protocol
