#include "lock_manager.h"

namespace ramjet::broker {

std::vector<LockManager::Mq> LockManager::TryLock(const std::string& group,
                                                  const std::string& client_id,
                                                  const std::vector<Mq>& mqs, int64_t now) {
  MutexLock l(&mu_);
  auto& table = groups_[group];
  std::vector<Mq> ok;
  for (const auto& mq : mqs) {
    auto it = table.find(mq);
    if (it == table.end() || it->second.client_id == client_id ||
        now - it->second.last_update_ms > max_live_ms_) {
      table[mq] = Entry{client_id, now};
      ok.push_back(mq);
    }
  }
  return ok;
}

void LockManager::Unlock(const std::string& group, const std::string& client_id,
                         const std::vector<Mq>& mqs) {
  MutexLock l(&mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return;
  for (const auto& mq : mqs) {
    auto it = g->second.find(mq);
    if (it != g->second.end() && it->second.client_id == client_id) g->second.erase(it);
  }
}

}  // namespace ramjet::broker
