// The admin bodies in the form Java's fastjson writes and reads: sorted keys, MessageQueue objects
// as map keys (not standard JSON, which is why they are compared as text here).
#include "ramjet/protocol/admin_bodies.h"

#include <gtest/gtest.h>

namespace ramjet::protocol {
namespace {

TEST(AdminBodies, TopicStatsTableUsesMessageQueueObjectKeys) {
  TopicStatsTable t;
  t.offset_table[{"T", "b", 1}] = {0, 7, 1700000000123};
  t.offset_table[{"T", "b", 0}] = {2, 5, 0};
  EXPECT_EQ(t.ToJson(),
            R"({"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:)"
            R"({"lastUpdateTimestamp":0,"maxOffset":5,"minOffset":2},)"
            R"({"brokerName":"b","queueId":1,"topic":"T"}:)"
            R"({"lastUpdateTimestamp":1700000000123,"maxOffset":7,"minOffset":0}}})");
}

TEST(AdminBodies, ConsumeStatsAndTheirList) {
  ConsumeStats s;
  s.consume_tps = 1.5;
  s.offset_table[{"T", "b", 0}] = {10, 4, 99};
  EXPECT_EQ(s.TotalDiff(), 6);
  EXPECT_EQ(s.ToJson(), R"({"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:)"
                        R"({"brokerOffset":10,"consumerOffset":4,"lastTimestamp":99}}})");
  ConsumeStatsList l;
  l.broker_addr = "127.0.0.1:10911";
  l.consume_stats_list.emplace_back("G", std::vector<ConsumeStats>{s});
  l.consume_stats_list.emplace_back("Idle", std::vector<ConsumeStats>{});
  l.total_diff = 6;
  EXPECT_EQ(l.ToJson(), R"({"brokerAddr":"127.0.0.1:10911","consumeStatsList":[{"G":[)" + s.ToJson() +
                            R"(]},{"Idle":[]}],"totalDiff":6})");
}

TEST(AdminBodies, TimeSpansStatsAndLists) {
  QueryConsumeTimeSpanBody b;
  b.consume_time_span_set.push_back({{"T", "b", 3}, 10, 20, 15, 5});
  EXPECT_EQ(b.ToJson(), R"({"consumeTimeSpanSet":[{"consumeTimeStamp":15,"delayTime":5,)"
                        R"("maxTimeStamp":20,"messageQueue":{"brokerName":"b","queueId":3,"topic":"T"},)"
                        R"("minTimeStamp":10}]})");
  BrokerStatsData d{{3, 0.05, 1.0}, {3, 0.0008, 1.0}, {0, 0, 0}};
  EXPECT_EQ(d.ToJson(), R"({"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},)"
                        R"("statsHour":{"avgpt":1.0,"sum":3,"tps":0.0008},)"
                        R"("statsMinute":{"avgpt":1.0,"sum":3,"tps":0.05}})");
  EXPECT_EQ((GroupList{{"b", "a"}}).ToJson(), R"({"groupList":["a","b"]})");
  EXPECT_EQ(TopicListJson({"X"}), R"({"topicList":["X"]})");
  // Names are JSON-escaped.
  EXPECT_EQ((MessageQueue{"T\"x", "b", 0}).ToJson(), R"({"brokerName":"b","queueId":0,"topic":"T\"x"})");
}

TEST(AdminBodies, ConsumeQueueDump) {
  QueryConsumeQueueBody b;
  b.min_queue_index = 0;
  b.max_queue_index = 2;
  b.queue_data.push_back({100, 200, 12345, std::nullopt, ""});
  b.queue_data.push_back({0, 0, 0, std::nullopt, "entry 1: gone"});
  b.filter_data = "G@T is not online!";
  EXPECT_EQ(b.ToJson(), R"({"filterData":"G@T is not online!","maxQueueIndex":2,"minQueueIndex":0,)"
                        R"("queueData":[{"physicOffset":100,"physicSize":200,"tagsCode":12345},)"
                        R"({"msg":"entry 1: gone","physicOffset":0,"physicSize":0,"tagsCode":0}]})");
}

}  // namespace
}  // namespace ramjet::protocol
