#include "consumer_manager.h"

#include "ramjet/base/logging.h"

namespace ramjet::broker {

bool ConsumerManager::Register(const protocol::ConsumerData& data, const ClientChannel& channel) {
  MutexLock l(&mu_);
  auto [it, inserted] = groups_.try_emplace(data.group_name);
  Group& g = it->second;
  g.consume_type = data.consume_type;
  g.message_model = data.message_model;
  g.consume_from_where = data.consume_from_where;
  bool changed = inserted;
  auto ch = g.channels.find(channel.conn->id());
  if (ch == g.channels.end()) {
    g.channels[channel.conn->id()] = channel;
    changed = true;
    RJ_LOG(kInfo, "broker", "new consumer connected, group: %s %s %s", data.group_name.c_str(),
           channel.client_id.c_str(), channel.conn->remote_address().c_str());
  } else {
    if (ch->second.client_id != channel.client_id) changed = true;
    ch->second.client_id = channel.client_id;
    ch->second.last_update_ms = channel.last_update_ms;
    ch->second.version = channel.version;
    ch->second.language = channel.language;
  }
  // Subscriptions: a newer subVersion replaces; topics no longer subscribed are dropped.
  std::set<std::string> seen;
  for (const auto& s : data.subscription_data_set) {
    seen.insert(s.topic);
    auto cur = g.subscriptions.find(s.topic);
    if (cur == g.subscriptions.end()) {
      g.subscriptions[s.topic] = s;
      changed = true;
    } else if (s.sub_version > cur->second.sub_version) {
      if (!(cur->second.sub_string == s.sub_string &&
            cur->second.expression_type == s.expression_type)) {
        changed = true;
      }
      cur->second = s;
    }
  }
  for (auto sit = g.subscriptions.begin(); sit != g.subscriptions.end();) {
    if (!seen.count(sit->first)) {
      sit = g.subscriptions.erase(sit);
      changed = true;
    } else {
      ++sit;
    }
  }
  return changed;
}

bool ConsumerManager::Unregister(const std::string& group, uint64_t connection_id) {
  MutexLock l(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return false;
  bool removed = it->second.channels.erase(connection_id) > 0;
  if (it->second.channels.empty()) groups_.erase(it);
  return removed;
}

std::vector<std::string> ConsumerManager::OnConnectionClosed(uint64_t connection_id) {
  MutexLock l(&mu_);
  std::vector<std::string> changed;
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (it->second.channels.erase(connection_id) > 0) changed.push_back(it->first);
    if (it->second.channels.empty()) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  return changed;
}

std::vector<std::pair<std::string, remoting::ConnectionPtr>> ConsumerManager::ScanExpired(
    int64_t now_ms, int64_t expire_ms) {
  MutexLock l(&mu_);
  std::vector<std::pair<std::string, remoting::ConnectionPtr>> out;
  for (auto it = groups_.begin(); it != groups_.end();) {
    for (auto c = it->second.channels.begin(); c != it->second.channels.end();) {
      if (now_ms - c->second.last_update_ms > expire_ms) {
        out.emplace_back(it->first, c->second.conn);
        c = it->second.channels.erase(c);
      } else {
        ++c;
      }
    }
    if (it->second.channels.empty()) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<ConsumerGroupSnapshot> ConsumerManager::Find(const std::string& group) const {
  MutexLock l(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  ConsumerGroupSnapshot s;
  s.group = group;
  s.consume_type = it->second.consume_type;
  s.message_model = it->second.message_model;
  s.consume_from_where = it->second.consume_from_where;
  for (const auto& [id, c] : it->second.channels) s.channels.push_back(c);
  s.subscriptions = it->second.subscriptions;
  return s;
}

std::vector<std::string> ConsumerManager::ClientIds(const std::string& group) const {
  MutexLock l(&mu_);
  std::vector<std::string> out;
  auto it = groups_.find(group);
  if (it == groups_.end()) return out;
  std::set<std::string> ids;
  for (const auto& [id, c] : it->second.channels) ids.insert(c.client_id);
  return {ids.begin(), ids.end()};
}

std::vector<remoting::ConnectionPtr> ConsumerManager::Connections(const std::string& group) const {
  MutexLock l(&mu_);
  std::vector<remoting::ConnectionPtr> out;
  auto it = groups_.find(group);
  if (it == groups_.end()) return out;
  for (const auto& [id, c] : it->second.channels) out.push_back(c.conn);
  return out;
}

std::set<std::string> ConsumerManager::Groups() const {
  MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [k, v] : groups_) out.insert(k);
  return out;
}

}  // namespace ramjet::broker
