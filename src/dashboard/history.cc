#include "history.h"

#include <algorithm>
#include <cstdlib>

#include "ramjet/base/clock.h"

namespace ramjet::dashboard {

double FirstTps(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

History::History(admin::Admin* admin, int interval_ms)
    : admin_(admin),
      interval_ms_(std::max(interval_ms, 100)),
      capacity_(static_cast<size_t>(3600 * 1000 / std::max(interval_ms, 100))) {}

void History::Start() {
  thread_.Start([this](ServiceThread& self) {
    while (!self.stopping()) {
      SampleOnce();
      self.WaitFor(interval_ms_);
    }
  });
}

void History::SampleOnce() {
  auto cluster = admin_->ClusterInfo();
  if (!cluster.ok()) return;  // no name server now: a gap in the chart, not a zero
  TpsSample s;
  s.t = NowMillis();
  for (const auto& [name, broker] : cluster->broker_addr_table) {
    auto master = broker.broker_addrs.find(0);
    if (master == broker.broker_addrs.end()) continue;
    auto info = admin_->BrokerRuntimeInfo(master->second);
    if (!info.ok()) continue;
    s.in_tps += FirstTps((*info)["putTps"]);
    s.out_tps += FirstTps((*info)["getTransferedTps"]);
  }
  MutexLock l(&mu_);
  samples_.push_back(s);
  while (samples_.size() > capacity_) samples_.pop_front();
}

std::deque<TpsSample> History::Samples() const {
  MutexLock l(&mu_);
  return samples_;
}

}  // namespace ramjet::dashboard
