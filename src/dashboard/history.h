// The TPS history of the overview chart: a sampler thread asks every master for its runtime
// info once per interval and keeps the summed put / get TPS of the last hour.
// Threading: Start/Stop from the owner; Samples from any thread (the ring is under a mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "ramjet/admin/admin.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/service_thread.h"

namespace ramjet::dashboard {

struct TpsSample {
  int64_t t = 0;  // ms since the epoch
  double in_tps = 0;
  double out_tps = 0;
};

// The first figure of a RocketMQ TPS text ("12.34 10.00 9.50": the last 10 s, 1 min, 10 min).
double FirstTps(const std::string& text);

class History {
 public:
  History(admin::Admin* admin, int interval_ms);
  ~History() { Stop(); }
  void Start();
  void Stop() { thread_.Stop(); }
  std::deque<TpsSample> Samples() const RJ_EXCLUDES(mu_);
  // One sample now (also what the thread does each interval).
  void SampleOnce() RJ_EXCLUDES(mu_);

 private:
  admin::Admin* const admin_;
  const int interval_ms_;
  size_t capacity_;
  mutable Mutex mu_;
  std::deque<TpsSample> samples_ RJ_GUARDED_BY(mu_);
  ServiceThread thread_{"dash-sample"};
};

}  // namespace ramjet::dashboard
