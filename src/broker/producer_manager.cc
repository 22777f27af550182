#include "producer_manager.h"

#include "ramjet/base/logging.h"

namespace ramjet::broker {

void ProducerManager::Register(const std::string& group, const ClientChannel& channel) {
  MutexLock l(&mu_);
  auto& g = groups_[group];
  auto it = g.find(channel.conn->id());
  if (it == g.end()) {
    g[channel.conn->id()] = channel;
  } else {
    it->second.last_update_ms = channel.last_update_ms;
    it->second.client_id = channel.client_id;
  }
}

void ProducerManager::Unregister(const std::string& group, uint64_t connection_id) {
  MutexLock l(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  it->second.erase(connection_id);
  if (it->second.empty()) groups_.erase(it);
}

void ProducerManager::OnConnectionClosed(uint64_t connection_id) {
  MutexLock l(&mu_);
  for (auto it = groups_.begin(); it != groups_.end();) {
    it->second.erase(connection_id);
    it = it->second.empty() ? groups_.erase(it) : std::next(it);
  }
}

std::vector<std::pair<std::string, remoting::ConnectionPtr>> ProducerManager::ScanExpired(
    int64_t now_ms, int64_t expire_ms) {
  MutexLock l(&mu_);
  std::vector<std::pair<std::string, remoting::ConnectionPtr>> out;
  for (auto it = groups_.begin(); it != groups_.end();) {
    for (auto c = it->second.begin(); c != it->second.end();) {
      if (now_ms - c->second.last_update_ms > expire_ms) {
        out.emplace_back(it->first, c->second.conn);
        c = it->second.erase(c);
      } else {
        ++c;
      }
    }
    it = it->second.empty() ? groups_.erase(it) : std::next(it);
  }
  return out;
}

std::vector<ClientChannel> ProducerManager::Channels(const std::string& group) const {
  MutexLock l(&mu_);
  std::vector<ClientChannel> out;
  auto it = groups_.find(group);
  if (it == groups_.end()) return out;
  for (const auto& [id, c] : it->second) out.push_back(c);
  return out;
}

std::vector<ClientChannel> ProducerManager::AllChannels() const {
  MutexLock l(&mu_);
  std::vector<ClientChannel> out;
  for (const auto& [group, channels] : groups_) {
    for (const auto& [id, c] : channels) out.push_back(c);
  }
  return out;
}

std::optional<ClientChannel> ProducerManager::FindByClientId(const std::string& client_id) const {
  MutexLock l(&mu_);
  std::optional<ClientChannel> best;
  for (const auto& [group, channels] : groups_) {
    for (const auto& [id, c] : channels) {
      if (c.client_id != client_id || c.conn->closed()) continue;
      if (!best || c.last_update_ms > best->last_update_ms) best = c;
    }
  }
  return best;
}

}  // namespace ramjet::broker
