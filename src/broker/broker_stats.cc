#include "broker_stats.h"

#include <cstdio>
#include <ctime>
#include <iterator>
#include <vector>

#include "ramjet/base/clock.h"

namespace ramjet::broker {
namespace {

constexpr int64_t kMinutePointEveryMs = 10'000;
constexpr int64_t kHourPointEveryMs = 600'000;
constexpr int64_t kDayPointEveryMs = 3'600'000;
// Points kept per window: enough to span it (RocketMQ keeps 7, 7 and 25).
constexpr size_t kMinutePoints = 7, kHourPoints = 7, kDayPoints = 25;
constexpr size_t kSeconds = 601;  // 10 minutes of per-second points

// The local calendar day of a time, for the "today/yesterday morning" totals.
int64_t LocalDay(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  localtime_r(&t, &tm);
  return (static_cast<int64_t>(t) + tm.tm_gmtoff) / 86400;
}

// Upper bounds (ms) of the put latency buckets but the last, which holds everything slower.
constexpr int64_t kBucketUpperMs[] = {0,    10,   50,   100,  200,  500,
                                      1000, 2000, 3000, 4000, 5000, 10000};

int LatencyBucket(int64_t ms) {
  int i = 0;
  for (int64_t u : kBucketUpperMs) {
    if (ms <= u) return i;
    ++i;
  }
  return i;
}

void RaiseMax(std::atomic<int64_t>* max, int64_t v) {
  int64_t cur = max->load(std::memory_order_relaxed);
  while (v > cur && !max->compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

template <typename T>
void Push(std::deque<T>* points, const T& p, size_t keep) {
  points->push_back(p);
  while (points->size() > keep) points->pop_front();
}

}  // namespace

BrokerStats::BrokerStats(std::string broker_key, Clock clock)
    : broker_key_(std::move(broker_key)), clock_(std::move(clock)), boot_ms_(Now()) {
  last_minute_sample_ = last_hour_sample_ = last_day_sample_ = boot_ms_;
  day_ = LocalDay(boot_ms_);
  // Every window starts at zero at boot.
  for (Item* it : {&broker_put_, &broker_get_}) SampleItem(it, boot_ms_, true, true, true);
  seconds_.push_back(Second{boot_ms_, 0, 0, 0, 0});
}

int64_t BrokerStats::Now() const { return clock_ ? clock_() : NowMillis(); }

BrokerStats::Item* BrokerStats::FindOrAdd(Kind kind, std::string_view key) {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = tables_[kind].find(key);
    if (it != tables_[kind].end()) return it->second.get();
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  auto [it, added] = tables_[kind].try_emplace(std::string(key));
  if (added) {
    it->second = std::make_shared<Item>();
    SampleItem(it->second.get(), Now(), true, true, true);  // windows start at zero
  }
  return it->second.get();
}

BrokerStats::Item* BrokerStats::Add(Kind kind, std::string_view key, int64_t value) {
  Item* item = FindOrAdd(kind, key);
  item->value.fetch_add(value, std::memory_order_relaxed);
  item->times.fetch_add(1, std::memory_order_relaxed);
  return item;
}

BrokerStats::PutItem* BrokerStats::OnPut(std::string_view topic, int64_t msgs, int64_t bytes,
                                         int64_t latency_ms) {
  Item* nums = FindOrAdd(kTopicPutNums, topic);
  if (!nums->size_linked.load(std::memory_order_acquire)) {
    FindOrAdd(kTopicPutSize, topic)->counts_of.store(nums, std::memory_order_release);
    nums->size_linked.store(true, std::memory_order_release);
  }
  OnPut(nums, msgs, bytes, latency_ms);
  return nums;
}

void BrokerStats::OnPut(PutItem* nums, int64_t msgs, int64_t bytes, int64_t latency_ms) {
  // The size item was linked by the OnPut by name, which returned nums.
  nums->value.fetch_add(msgs, std::memory_order_relaxed);
  nums->times.fetch_add(1, std::memory_order_relaxed);
  nums->bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (msgs > 0) nums->sizes.Observe(bytes / msgs, msgs);  // a batch: its mean size, msgs times
  broker_put_.value.fetch_add(msgs, std::memory_order_relaxed);
  broker_put_.times.fetch_add(1, std::memory_order_relaxed);
  put_size_total_.fetch_add(bytes, std::memory_order_relaxed);
  put_requests_.fetch_add(1, std::memory_order_relaxed);
  put_latency_[LatencyBucket(latency_ms)].fetch_add(1, std::memory_order_relaxed);
  RaiseMax(&put_latency_max_, latency_ms);
}

void BrokerStats::OnGet(std::string_view group, std::string_view topic, int64_t msgs, int64_t bytes,
                        int64_t latency_ms) {
  RaiseMax(&get_latency_max_, latency_ms);
  if (msgs <= 0) {
    get_miss_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  get_found_.fetch_add(1, std::memory_order_relaxed);
  std::string key;
  key.reserve(topic.size() + 1 + group.size());
  key.append(topic).append("@").append(group);
  Add(kGroupGetNums, key, msgs);
  Add(kGroupGetSize, key, bytes);
  broker_get_.value.fetch_add(msgs, std::memory_order_relaxed);
  broker_get_.times.fetch_add(1, std::memory_order_relaxed);
}

BrokerStats::Point BrokerStats::Read(const Item& item, int64_t now) {
  if (const Item* nums = item.counts_of.load(std::memory_order_acquire)) {
    return Point{now, nums->bytes.load(std::memory_order_relaxed),
                 nums->times.load(std::memory_order_relaxed)};
  }
  return Point{now, item.value.load(std::memory_order_relaxed),
               item.times.load(std::memory_order_relaxed)};
}

void BrokerStats::SampleItem(Item* item, int64_t now, bool minute, bool hour, bool day) {
  const Point p = Read(*item, now);
  std::lock_guard<std::mutex> l(item->mu);
  if (minute) Push(&item->minute, p, kMinutePoints);
  if (hour) Push(&item->hour, p, kHourPoints);
  if (day) Push(&item->day, p, kDayPoints);
}

void BrokerStats::Sample() {
  const int64_t now = Now();
  bool minute = false, hour = false, day = false;
  {
    std::lock_guard<std::mutex> l(sample_mu_);
    Push(&seconds_,
         Second{now, broker_put_.value.load(), get_found_.load(), get_miss_.load(),
                broker_get_.value.load()},
         kSeconds);
    minute = now - last_minute_sample_ >= kMinutePointEveryMs;
    hour = now - last_hour_sample_ >= kHourPointEveryMs;
    day = now - last_day_sample_ >= kDayPointEveryMs;
    if (minute) last_minute_sample_ = now;
    if (hour) last_hour_sample_ = now;
    if (day) last_day_sample_ = now;
    if (int64_t d = LocalDay(now); d != day_) {
      day_ = d;
      put_yesterday_morning_ = put_today_morning_;
      get_yesterday_morning_ = get_today_morning_;
      put_today_morning_ = broker_put_.value.load();
      get_today_morning_ = broker_get_.value.load();
    }
  }
  if (!minute && !hour && !day) return;
  std::vector<std::shared_ptr<Item>> items;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (const auto& table : tables_) {
      for (const auto& [k, item] : table) items.push_back(item);
    }
  }
  for (const auto& item : items) SampleItem(item.get(), now, minute, hour, day);
  for (Item* it : {&broker_put_, &broker_get_}) SampleItem(it, now, minute, hour, day);
}

StatsWindow BrokerStats::Window(const std::deque<Point>& points, const Point& now) {
  StatsWindow w;
  if (points.empty()) return w;
  const Point& first = points.front();
  w.sum = now.value - first.value;
  if (now.time_ms > first.time_ms) {
    w.tps = static_cast<double>(w.sum) * 1000.0 / static_cast<double>(now.time_ms - first.time_ms);
  }
  if (int64_t times = now.times - first.times; times > 0) {
    w.avgpt = static_cast<double>(w.sum) / static_cast<double>(times);
  }
  return w;
}

StatsWindows BrokerStats::Windows(const Item& item, int64_t now_ms) {
  const Point now = Read(item, now_ms);
  std::lock_guard<std::mutex> l(item.mu);
  return StatsWindows{Window(item.minute, now), Window(item.hour, now), Window(item.day, now)};
}

std::optional<StatsWindows> BrokerStats::Find(std::string_view name, std::string_view key) const {
  const int64_t now = Now();
  if (name == kStatsBrokerPutNums || name == kStatsBrokerGetNums) {
    if (key != broker_key_) return std::nullopt;
    return Windows(name == kStatsBrokerPutNums ? broker_put_ : broker_get_, now);
  }
  Kind kind;
  if (name == kStatsTopicPutNums) {
    kind = kTopicPutNums;
  } else if (name == kStatsTopicPutSize) {
    kind = kTopicPutSize;
  } else if (name == kStatsGroupGetNums) {
    kind = kGroupGetNums;
  } else if (name == kStatsGroupGetSize) {
    kind = kGroupGetSize;
  } else {
    return std::nullopt;
  }
  std::shared_ptr<Item> item;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = tables_[kind].find(key);
    if (it == tables_[kind].end()) return std::nullopt;
    item = it->second;
  }
  return Windows(*item, now);
}

RuntimeCounters BrokerStats::Runtime() const {
  RuntimeCounters c;
  c.boot_timestamp = boot_ms_;
  c.put_total = broker_put_.value.load();
  c.get_total = broker_get_.value.load();
  c.put_size_total = put_size_total_.load();
  c.put_requests = put_requests_.load();
  c.put_failures = put_failures_.load();
  c.put_latency_max_ms = put_latency_max_.load();
  c.get_latency_max_ms = get_latency_max_.load();
  static constexpr const char* kNames[kLatencyBuckets] = {
      "<=0ms", "0~10ms", "10~50ms", "50~100ms", "100~200ms", "200~500ms", "500ms~1s",
      "1~2s",  "2~3s",   "3~4s",    "4~5s",     "5~10s",     "10s~"};
  // One snapshot of the buckets serves the distribution text and the percentiles.
  int64_t counts[kLatencyBuckets], total = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    total += counts[i] = put_latency_[i].load();
    if (i) c.put_latency_distribution += ' ';
    c.put_latency_distribution += std::string("[") + kNames[i] + "]:" + std::to_string(counts[i]);
  }
  // Percentiles: the upper bound of the bucket where the cumulative count reaches p (the
  // slowest bucket reports the last bound).
  auto percentile = [&](double p) {
    constexpr int kBounds = static_cast<int>(std::size(kBucketUpperMs));
    int64_t seen = 0;
    for (int i = 0; i < kLatencyBuckets; ++i) {
      seen += counts[i];
      if (total > 0 && static_cast<double>(seen) >= p * static_cast<double>(total)) {
        return static_cast<double>(kBucketUpperMs[std::min(i, kBounds - 1)]);
      }
    }
    return 0.0;
  };
  c.put_latency_p99_ms = percentile(0.99);
  c.put_latency_p999_ms = percentile(0.999);
  const int64_t now = Now();
  Second cur{now, c.put_total, get_found_.load(), get_miss_.load(), c.get_total};
  std::lock_guard<std::mutex> l(sample_mu_);
  c.put_total_today_morning = put_today_morning_;
  c.put_total_yesterday_morning = put_yesterday_morning_;
  c.get_total_today_morning = get_today_morning_;
  c.get_total_yesterday_morning = get_yesterday_morning_;
  // The rate of one counter over the last `secs` seconds of points (fewer right after start).
  auto rate = [&](int64_t Second::*field, int64_t secs) {
    const Second* first = &seconds_.front();
    for (auto it = seconds_.rbegin(); it != seconds_.rend(); ++it) {
      first = &*it;
      if (now - it->time_ms >= secs * 1000) break;
    }
    if (now <= first->time_ms) return 0.0;
    return static_cast<double>(cur.*field - first->*field) * 1000.0 /
           static_cast<double>(now - first->time_ms);
  };
  auto rates = [&](int64_t Second::*field) {
    char buf[96];
    snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", rate(field, 10), rate(field, 60),
             rate(field, 600));
    return std::string(buf);
  };
  c.put_tps = rates(&Second::put);
  c.get_found_tps = rates(&Second::found);
  c.get_miss_tps = rates(&Second::miss);
  c.get_transferred_tps = rates(&Second::transferred);
  // getTotalTps: found + miss requests.
  char buf[96];
  snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", rate(&Second::found, 10) + rate(&Second::miss, 10),
           rate(&Second::found, 60) + rate(&Second::miss, 60),
           rate(&Second::found, 600) + rate(&Second::miss, 600));
  c.get_total_tps = buf;
  return c;
}

void BrokerStats::ForEachTotal(
    std::string_view name,
    const std::function<void(const std::string& key, int64_t total)>& f) const {
  Kind kind = kKinds;
  if (name == kStatsTopicPutNums) kind = kTopicPutNums;
  if (name == kStatsTopicPutSize) kind = kTopicPutSize;
  if (name == kStatsGroupGetNums) kind = kGroupGetNums;
  if (name == kStatsGroupGetSize) kind = kGroupGetSize;
  if (kind == kKinds) return;
  std::vector<std::pair<std::string, int64_t>> totals;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (const auto& [key, item] : tables_[kind]) {
      totals.emplace_back(key, Read(*item, 0).value);
    }
  }
  for (const auto& [key, total] : totals) f(key, total);
}

void BrokerStats::ForEachSizes(
    const std::function<void(const std::string& topic, const metrics::Histogram::Snapshot&)>& f)
    const {
  std::vector<std::pair<std::string, metrics::Histogram::Snapshot>> sizes;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (const auto& [key, item] : tables_[kTopicPutNums]) {
      sizes.emplace_back(key, item->sizes.Read());
    }
  }
  for (const auto& [topic, s] : sizes) f(topic, s);
}

}  // namespace ramjet::broker
