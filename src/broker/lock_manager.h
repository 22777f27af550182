// Queue locks for orderly consumption (RocketMQ's RebalanceLockManager): per consumer group, a
// queue is held by one client id until that client releases it or stops renewing it for
// rebalanceLockMaxLiveTime.
// Threading: internally locked; every call is short.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/protocol/admin_bodies.h"

namespace ramjet::broker {

class LockManager {
 public:
  using Mq = protocol::MessageQueue;
  explicit LockManager(int64_t max_live_ms) : max_live_ms_(max_live_ms) {}

  // Locks (or renews) what it can at time now; returns the queues now held by client_id.
  std::vector<Mq> TryLock(const std::string& group, const std::string& client_id,
                          const std::vector<Mq>& mqs, int64_t now) RJ_EXCLUDES(mu_);
  // Releases the queues client_id holds among mqs.
  void Unlock(const std::string& group, const std::string& client_id, const std::vector<Mq>& mqs)
      RJ_EXCLUDES(mu_);

 private:
  struct Entry {
    std::string client_id;
    int64_t last_update_ms = 0;
  };
  const int64_t max_live_ms_;
  Mutex mu_;
  std::map<std::string, std::map<Mq, Entry>> groups_ RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::broker
