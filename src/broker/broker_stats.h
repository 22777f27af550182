// Broker statistics in the shape Apache RocketMQ's admin tools read them: per-topic put counts
// and per-group get counts over the last minute, hour and day (VIEW_BROKER_STATS_DATA, which
// mqadmin statsAll prints), and the broker-wide totals, rates and latency distribution of
// GET_BROKER_RUNTIME_INFO (clusterList, brokerStatus).
//
// Like RocketMQ's StatsItem, an item keeps a running value (messages or bytes) and a count of the
// requests that added to it; Sample(), called about once a second, records points every 10 s
// for the minute window, every 10 min for the hour window and every hour for the day window.
// A window reports sum = value now - value at its oldest point, tps = sum per second over that
// time and avgpt = sum per request.
//
// Threading: every method may be called from any thread. Counting (On*) takes a shared lock and
// touches atomics only, except the first time a key is seen; Sample and the readers take each
// item's own small lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ramjet/base/hash.h"
#include "ramjet/metrics/metrics.h"

namespace ramjet::broker {

// The stats names of Apache RocketMQ's BrokerStatsManager that Ramjet keeps.
inline constexpr std::string_view kStatsTopicPutNums = "TOPIC_PUT_NUMS";
inline constexpr std::string_view kStatsTopicPutSize = "TOPIC_PUT_SIZE";
inline constexpr std::string_view kStatsGroupGetNums = "GROUP_GET_NUMS";
inline constexpr std::string_view kStatsGroupGetSize = "GROUP_GET_SIZE";
inline constexpr std::string_view kStatsBrokerPutNums = "BROKER_PUT_NUMS";
inline constexpr std::string_view kStatsBrokerGetNums = "BROKER_GET_NUMS";

struct StatsWindow {
  int64_t sum = 0;
  double tps = 0;
  double avgpt = 0;
};

struct StatsWindows {
  StatsWindow minute, hour, day;
};

// What GET_BROKER_RUNTIME_INFO reports of the counters.
struct RuntimeCounters {
  int64_t put_total = 0;  // messages stored since start
  int64_t get_total = 0;  // messages handed to consumers since start
  int64_t put_total_today_morning = 0;
  int64_t put_total_yesterday_morning = 0;
  int64_t get_total_today_morning = 0;
  int64_t get_total_yesterday_morning = 0;
  int64_t put_size_total = 0;
  int64_t put_requests = 0;
  int64_t put_failures = 0;
  int64_t put_latency_max_ms = 0;
  int64_t get_latency_max_ms = 0;
  std::string put_latency_distribution;  // RocketMQ's "[<=0ms]:N [0~10ms]:N ..." text
  // The upper bound (ms) of the distribution bucket holding the 99th / 99.9th percentile put.
  double put_latency_p99_ms = 0, put_latency_p999_ms = 0;
  // "%.2f %.2f %.2f": the rates over the last 10 s, 1 min and 10 min.
  std::string put_tps, get_found_tps, get_miss_tps, get_total_tps, get_transferred_tps;
  int64_t boot_timestamp = 0;
};

class BrokerStats {
  struct Item;

 public:
  using Clock = std::function<int64_t()>;
  // A topic's put counters, as returned by OnPut: a caller that keeps it (the broker's per-topic
  // send state) counts its next puts without looking the topic up. Valid while the stats live.
  using PutItem = Item;
  // broker_key names the broker-wide items (RocketMQ keys them by cluster name).
  explicit BrokerStats(std::string broker_key, Clock clock = nullptr);

  // A send stored `msgs` messages of `bytes` bytes in topic, taking latency_ms.
  PutItem* OnPut(std::string_view topic, int64_t msgs, int64_t bytes, int64_t latency_ms);
  // The same for the topic whose OnPut returned item.
  void OnPut(PutItem* item, int64_t msgs, int64_t bytes, int64_t latency_ms);
  void OnPutFailed() { put_failures_.fetch_add(1, std::memory_order_relaxed); }
  // A pull of group on topic returned msgs messages (0: nothing was found).
  void OnGet(std::string_view group, std::string_view topic, int64_t msgs, int64_t bytes,
             int64_t latency_ms);

  // Records sample points that are due; call about once a second.
  void Sample();

  // The windows of one item, or nullopt if nothing was ever counted under that name and key.
  // Keys: topic for TOPIC_*, "topic@group" for GROUP_*, the broker key for BROKER_*.
  std::optional<StatsWindows> Find(std::string_view name, std::string_view key) const;
  RuntimeCounters Runtime() const;
  // The running totals since start of every key of name (Prometheus counters).
  void ForEachTotal(std::string_view name,
                    const std::function<void(const std::string& key, int64_t total)>& f) const;
  // The message-size distribution of every topic stored to (RocketMQ's rocketmq_message_size
  // buckets: 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB).
  void ForEachSizes(const std::function<void(const std::string& topic,
                                             const metrics::Histogram::Snapshot&)>& f) const;

 private:
  struct Point {
    int64_t time_ms, value, times;
  };
  // Cache-line aligned: a send's counters (value, times, bytes, the histogram's sum and first
  // buckets) share its topic's put-count item's first line.
  struct alignas(64) Item {
    std::atomic<int64_t> value{0};
    std::atomic<int64_t> times{0};
    // A put-count item's bytes: its topic's put-size item reports them (and its times), so that
    // a send touches one item (with thousands of topics, each item was a cache miss).
    std::atomic<int64_t> bytes{0};
    // A put-size item: the put-count item whose bytes and times it reports (set once, on the
    // topic's first put by name; items are never freed while the stats live). Else null.
    std::atomic<const Item*> counts_of{nullptr};
    std::atomic<bool> size_linked{false};  // a put-count item: its put-size item points at it
    metrics::Histogram sizes{{1024, 4096, 512 * 1024, 1 << 20, 2 << 20, 4 << 20}};  // puts only
    mutable std::mutex mu;
    std::deque<Point> minute, hour, day;  // guarded by mu
  };
  // Looked up by string_view without building a string (a send counts without allocating).
  using Table = std::unordered_map<std::string, std::shared_ptr<Item>, StringHash, std::equal_to<>>;
  enum Kind { kTopicPutNums, kTopicPutSize, kGroupGetNums, kGroupGetSize, kKinds };

  int64_t Now() const;
  // The item counted (alive as long as the stats).
  Item* Add(Kind kind, std::string_view key, int64_t value);
  // The item, created (with its windows at zero) if absent; nothing counted.
  Item* FindOrAdd(Kind kind, std::string_view key);
  static StatsWindow Window(const std::deque<Point>& points, const Point& now);
  static StatsWindows Windows(const Item& item, int64_t now_ms);
  void SampleItem(Item* item, int64_t now, bool minute, bool hour, bool day);
  // The item's value and times now (a put-size item's from its put-count item).
  static Point Read(const Item& item, int64_t now);

  const std::string broker_key_;
  Clock clock_;
  const int64_t boot_ms_;
  mutable std::shared_mutex mu_;
  std::array<Table, kKinds> tables_;  // guarded by mu_
  Item broker_put_, broker_get_;

  std::atomic<int64_t> put_size_total_{0}, put_requests_{0}, put_failures_{0};
  std::atomic<int64_t> get_found_{0}, get_miss_{0};
  std::atomic<int64_t> put_latency_max_{0}, get_latency_max_{0};
  static constexpr int kLatencyBuckets = 13;
  std::array<std::atomic<int64_t>, kLatencyBuckets> put_latency_{};

  // Broker-wide per-second points for the 10 s / 1 min / 10 min rates, and the day marks.
  struct Second {
    int64_t time_ms, put, found, miss, transferred;
  };
  mutable std::mutex sample_mu_;
  std::deque<Second> seconds_;  // guarded by sample_mu_
  int64_t last_minute_sample_ = 0, last_hour_sample_ = 0, last_day_sample_ = 0;
  int64_t day_ = -1;
  int64_t put_today_morning_ = 0, put_yesterday_morning_ = 0;
  int64_t get_today_morning_ = 0, get_yesterday_morning_ = 0;
};

}  // namespace ramjet::broker
