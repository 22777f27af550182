// BrokerStats: the windows VIEW_BROKER_STATS_DATA reports and the runtime counters of
// GET_BROKER_RUNTIME_INFO, on a clock the test moves.
#include "broker_stats.h"

#include <gtest/gtest.h>

#include <map>

namespace ramjet::broker {
namespace {

class BrokerStatsTest : public ::testing::Test {
 protected:
  int64_t now_ = 1'700'000'000'000;
  BrokerStats stats_{"DefaultCluster", [this] { return now_; }};
  // Moves the clock one second at a time, sampling as the broker's scheduler does.
  void Advance(int64_t seconds) {
    for (int64_t i = 0; i < seconds; ++i) {
      now_ += 1000;
      stats_.Sample();
    }
  }
};

TEST_F(BrokerStatsTest, UnknownItemsAreAbsent) {
  EXPECT_FALSE(stats_.Find(kStatsTopicPutNums, "Orders"));
  EXPECT_FALSE(stats_.Find("NO_SUCH_STATS", "Orders"));
  EXPECT_FALSE(stats_.Find(kStatsBrokerPutNums, "OtherCluster"));
  EXPECT_TRUE(stats_.Find(kStatsBrokerPutNums, "DefaultCluster"));
}

// A sender that kept the item OnPut returned counts through it exactly as by name.
TEST_F(BrokerStatsTest, PutsCountedThroughAKeptItemCountAsByName) {
  BrokerStats::PutItem* item = stats_.OnPut("Orders", 10, 1000, 1);
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(stats_.OnPut("Orders", 1, 10, 1), item);
  stats_.OnPut(item, 2, 200, 1);
  stats_.OnPut("Other", 1, 5, 1);
  Advance(20);
  EXPECT_EQ(stats_.Find(kStatsTopicPutNums, "Orders")->minute.sum, 13);
  EXPECT_DOUBLE_EQ(stats_.Find(kStatsTopicPutNums, "Orders")->minute.avgpt, 13.0 / 3.0);
  EXPECT_EQ(stats_.Find(kStatsTopicPutSize, "Orders")->minute.sum, 1210);
  EXPECT_DOUBLE_EQ(stats_.Find(kStatsTopicPutSize, "Orders")->minute.avgpt, 1210.0 / 3.0);
  EXPECT_EQ(stats_.Find(kStatsTopicPutNums, "Other")->minute.sum, 1);
  // The size totals (Prometheus) too, read through the put-count items.
  std::map<std::string, int64_t> sizes;
  stats_.ForEachTotal(kStatsTopicPutSize,
                      [&](const std::string& topic, int64_t total) { sizes[topic] = total; });
  EXPECT_EQ(sizes, (std::map<std::string, int64_t>{{"Orders", 1210}, {"Other", 5}}));
  const RuntimeCounters rt = stats_.Runtime();
  EXPECT_EQ(rt.put_requests, 4);
  EXPECT_EQ(rt.put_size_total, 1215);
}

TEST_F(BrokerStatsTest, MinuteWindowCountsPutsAndRequests) {
  stats_.OnPut("Orders", 10, 1000, 1);  // a batch of 10 in one request
  stats_.OnPut("Orders", 1, 100, 1);
  Advance(20);
  auto w = stats_.Find(kStatsTopicPutNums, "Orders");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->minute.sum, 11);
  EXPECT_DOUBLE_EQ(w->minute.avgpt, 5.5);  // messages per request
  EXPECT_DOUBLE_EQ(w->minute.tps, 11.0 / 20.0);
  EXPECT_EQ(stats_.Find(kStatsTopicPutSize, "Orders")->minute.sum, 1100);
  // After more than a minute without puts the minute window is empty, the hour keeps them.
  Advance(120);
  w = stats_.Find(kStatsTopicPutNums, "Orders");
  EXPECT_EQ(w->minute.sum, 0);
  EXPECT_EQ(w->hour.sum, 11);
  EXPECT_EQ(w->day.sum, 11);
}

TEST_F(BrokerStatsTest, GetsAreKeyedByTopicAndGroupAndMissesAreNotCounted) {
  stats_.OnGet("G1", "Orders", 32, 3200, 2);
  stats_.OnGet("G1", "Orders", 0, 0, 15000);  // an empty pull
  stats_.OnGet("G2", "Orders", 5, 500, 1);
  Advance(10);
  EXPECT_EQ(stats_.Find(kStatsGroupGetNums, "Orders@G1")->minute.sum, 32);
  EXPECT_EQ(stats_.Find(kStatsGroupGetNums, "Orders@G2")->minute.sum, 5);
  EXPECT_EQ(stats_.Find(kStatsBrokerGetNums, "DefaultCluster")->minute.sum, 37);
  RuntimeCounters c = stats_.Runtime();
  EXPECT_EQ(c.get_total, 37);
  EXPECT_EQ(c.get_latency_max_ms, 15000);
}

TEST_F(BrokerStatsTest, RuntimeRatesAndLatencyDistribution) {
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 100; ++i) stats_.OnPut("Orders", 1, 10, i < 99 ? 0 : 60);
    Advance(1);
  }
  RuntimeCounters c = stats_.Runtime();
  EXPECT_EQ(c.put_total, 1000);
  EXPECT_EQ(c.put_requests, 1000);
  EXPECT_EQ(c.put_size_total, 10000);
  EXPECT_EQ(c.put_latency_max_ms, 60);
  // 100 puts a second over the last 10 s, 1 min and 10 min (the whole run so far).
  EXPECT_EQ(c.put_tps, "100.00 100.00 100.00");
  EXPECT_EQ(c.get_transferred_tps, "0.00 0.00 0.00");
  EXPECT_NE(c.put_latency_distribution.find("[<=0ms]:990 [0~10ms]:0"), std::string::npos)
      << c.put_latency_distribution;
  EXPECT_NE(c.put_latency_distribution.find("[50~100ms]:10"), std::string::npos);
  EXPECT_DOUBLE_EQ(c.put_latency_p99_ms, 0.0);     // 99% of the puts took <= 0 ms
  EXPECT_DOUBLE_EQ(c.put_latency_p999_ms, 100.0);  // the bucket holding the slowest 1%
  // A minute later without traffic the 10 s rate is 0, the 10 min one still counts them.
  Advance(60);
  c = stats_.Runtime();
  EXPECT_EQ(c.put_tps.substr(0, 5), "0.00 ");
  EXPECT_NE(c.put_tps.substr(c.put_tps.rfind(' ') + 1), "0.00");
}

}  // namespace
}  // namespace ramjet::broker
