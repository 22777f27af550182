// A small HDR-style latency histogram: exact below 2048 units, then 1024 linear sub-buckets per
// power of two (relative error under 0.1%), up to 2^40 units. Values are microseconds in the
// load tool. Not thread-safe: keep one per thread and Merge().
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace ramjet::bench {

class Histogram {
 public:
  Histogram() : counts_(kBuckets, 0) {}
  void Record(int64_t v) {
    if (v < 0) v = 0;
    if (v >= (int64_t{1} << 40)) v = (int64_t{1} << 40) - 1;
    ++counts_[Index(static_cast<uint64_t>(v))];
    ++total_;
    max_ = std::max(max_, v);
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  void Reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    max_ = 0;
  }
  int64_t count() const { return total_; }
  int64_t max() const { return max_; }
  // The value at quantile q (0..1): the upper edge of the bucket holding that rank.
  int64_t Percentile(double q) const {
    if (total_ == 0) return 0;
    int64_t rank = static_cast<int64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSub = 1024;
  static constexpr size_t kBuckets = 2048 + 30 * kSub;
  static size_t Index(uint64_t v) {
    if (v < 2048) return static_cast<size_t>(v);
    int m = std::bit_width(v) - 11;  // >= 1
    return 2048 + static_cast<size_t>(m - 1) * kSub + static_cast<size_t>((v >> m) - kSub);
  }
  static int64_t UpperEdge(size_t i) {
    if (i < 2048) return static_cast<int64_t>(i);
    size_t m = (i - 2048) / kSub + 1;
    uint64_t sub = (i - 2048) % kSub + kSub;
    return static_cast<int64_t>(((sub + 1) << m) - 1);
  }
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
  int64_t max_ = 0;
};

}  // namespace ramjet::bench
