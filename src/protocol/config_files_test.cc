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

}  // namespace
}  // namespace ramjet::protocol
