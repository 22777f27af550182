// Prometheus metrics: histograms that the hot paths observe with a few relaxed atomic adds, and
// the text exposition format (version 0.0.4) that a scrape renders. Most of the broker's figures
// are read when a scrape comes (counters it keeps anyway, table sizes, offsets), so recording
// costs nothing on the send path; only distributions (message sizes, RPC latencies) are
// observed as they happen.
//
// Threading: Histogram::Observe and Read from any thread (no lock). Writer is one scrape's
// buffer, used by one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramjet::metrics {

// Label pairs, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Histogram {
 public:
  static constexpr size_t kMaxBounds = 15;
  // Upper bounds of the buckets, ascending (a +Inf bucket is implied), at most kMaxBounds.
  explicit Histogram(const std::vector<int64_t>& bounds);
  void Observe(int64_t value, int64_t times = 1);

  struct Snapshot {
    std::vector<int64_t> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    int64_t sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  // Inline, not on the heap: a histogram per topic (message sizes) is observed per send, and
  // with thousands of topics each separate allocation was a cache miss.
  size_t size_ = 0;  // bounds in use
  std::atomic<int64_t> sum_{0};
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts_{};  // size_ + 1 in use
  std::array<int64_t, kMaxBounds> bounds_{};
};

// One scrape's text: # HELP and # TYPE once per family, then its samples.
class Writer {
 public:
  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  // name_bucket{...,le=".."}, name_sum, name_count. Bounds and sum are multiplied by `scale`
  // (a histogram observed in µs written in seconds: 1e-6).
  void WriteHistogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& s,
                      double scale = 1.0);
  const std::string& text() const { return out_; }

 private:
  void WriteLabels(const Labels& labels, std::string_view extra_key = {},
                   std::string_view extra_value = {});
  std::string out_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (Prometheus' standard process
// collector names), read from /proc/self.
void WriteProcessMetrics(Writer* w);

}  // namespace ramjet::metrics
