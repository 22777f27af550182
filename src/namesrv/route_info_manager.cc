#include <mutex>
#include <shared_mutex>

#include "ramjet/base/logging.h"
#include "ramjet/namesrv/namesrv.h"

namespace ramjet::namesrv {

// ---------------------------------------------------------------------------------------------
// RouteInfoManager

RouteInfoManager::RegisterResult RouteInfoManager::RegisterBroker(
    const std::string& cluster, const std::string& broker_addr, const std::string& broker_name,
    int64_t broker_id, const std::string& ha_server_addr,
    const protocol::TopicConfigSerializeWrapper& topics, uint64_t connection_id, int64_t now_ms) {
  std::unique_lock l(mu_);
  cluster_addr_table_[cluster].insert(broker_name);
  auto& bd = broker_addr_table_[broker_name];
  bool first = bd.broker_addrs.empty();
  bd.cluster = cluster;
  bd.broker_name = broker_name;
  // One address has one id: a slave promoted to master changes its id.
  for (auto it = bd.broker_addrs.begin(); it != bd.broker_addrs.end();) {
    if (it->second == broker_addr && it->first != broker_id) {
      it = bd.broker_addrs.erase(it);
    } else {
      ++it;
    }
  }
  first = bd.broker_addrs.count(broker_id) == 0 || first;
  bd.broker_addrs[broker_id] = broker_addr;

  auto live = broker_live_table_.find(broker_addr);
  bool changed =
      live == broker_live_table_.end() || !(live->second.data_version == topics.data_version);
  if (broker_id == 0 && (changed || first)) {
    // Rebuild this broker's queue data from its topic table.
    for (auto& [topic, by_broker] : topic_queue_table_) by_broker.erase(broker_name);
    for (const auto& [name, tc] : topics.topic_config_table) {
      protocol::QueueData q;
      q.broker_name = broker_name;
      q.read_queue_nums = tc.read_queue_nums;
      q.write_queue_nums = tc.write_queue_nums;
      q.perm = tc.perm;
      q.topic_sys_flag = tc.topic_sys_flag;
      topic_queue_table_[name][broker_name] = q;
    }
    for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
      if (it->second.empty()) {
        it = topic_queue_table_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto& info = broker_live_table_[broker_addr];
  if (live == broker_live_table_.end()) {
    RJ_LOG(kInfo, "namesrv", "new broker registered: %s %s id=%lld cluster=%s", broker_name.c_str(),
           broker_addr.c_str(), static_cast<long long>(broker_id), cluster.c_str());
  }
  info.last_update_ms = now_ms;
  info.data_version = topics.data_version;
  info.connection_id = connection_id;
  info.ha_server_addr = ha_server_addr;

  RegisterResult result;
  if (broker_id != 0) {
    auto m = bd.broker_addrs.find(0);
    if (m != bd.broker_addrs.end()) {
      auto ml = broker_live_table_.find(m->second);
      if (ml != broker_live_table_.end()) {
        result.ha_server_addr = ml->second.ha_server_addr;
        result.master_addr = m->second;
      }
    }
  }
  return result;
}

void RouteInfoManager::RemoveBrokerLocked(const std::string& broker_addr) {
  broker_live_table_.erase(broker_addr);
  for (auto bit = broker_addr_table_.begin(); bit != broker_addr_table_.end();) {
    auto& addrs = bit->second.broker_addrs;
    for (auto it = addrs.begin(); it != addrs.end();) {
      if (it->second == broker_addr) {
        it = addrs.erase(it);
      } else {
        ++it;
      }
    }
    if (addrs.empty()) {
      std::string name = bit->first;
      for (auto& [cluster, names] : cluster_addr_table_) names.erase(name);
      for (auto& [topic, by_broker] : topic_queue_table_) by_broker.erase(name);
      bit = broker_addr_table_.erase(bit);
    } else {
      ++bit;
    }
  }
  for (auto it = cluster_addr_table_.begin(); it != cluster_addr_table_.end();) {
    it = it->second.empty() ? cluster_addr_table_.erase(it) : std::next(it);
  }
  for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
    it = it->second.empty() ? topic_queue_table_.erase(it) : std::next(it);
  }
}

void RouteInfoManager::UnregisterBroker(const std::string& cluster, const std::string& broker_addr,
                                        const std::string& broker_name, int64_t broker_id) {
  std::unique_lock l(mu_);
  (void)cluster;
  (void)broker_name;
  (void)broker_id;
  RJ_LOG(kInfo, "namesrv", "broker unregistered: %s %s", broker_name.c_str(), broker_addr.c_str());
  RemoveBrokerLocked(broker_addr);
}

int RouteInfoManager::ScanNotActiveBrokers(int64_t now_ms, int64_t expire_ms) {
  std::unique_lock l(mu_);
  std::vector<std::string> dead;
  for (const auto& [addr, info] : broker_live_table_) {
    if (now_ms - info.last_update_ms > expire_ms) dead.push_back(addr);
  }
  for (const auto& a : dead) {
    RJ_LOG(kWarn, "namesrv", "broker %s expired: no registration for %lld ms", a.c_str(),
           static_cast<long long>(expire_ms));
    RemoveBrokerLocked(a);
  }
  return static_cast<int>(dead.size());
}

void RouteInfoManager::OnConnectionClosed(uint64_t connection_id) {
  std::unique_lock l(mu_);
  std::vector<std::string> gone;
  for (const auto& [addr, info] : broker_live_table_) {
    if (info.connection_id == connection_id) gone.push_back(addr);
  }
  for (const auto& a : gone) {
    RJ_LOG(kInfo, "namesrv", "broker %s removed: its connection closed", a.c_str());
    RemoveBrokerLocked(a);
  }
}

bool RouteInfoManager::IsBrokerTopicConfigChanged(const std::string& broker_addr,
                                                  const protocol::DataVersion& version) const {
  std::shared_lock l(mu_);
  auto it = broker_live_table_.find(broker_addr);
  return it == broker_live_table_.end() || !(it->second.data_version == version);
}

std::optional<protocol::DataVersion> RouteInfoManager::QueryBrokerDataVersion(
    const std::string& addr) const {
  std::shared_lock l(mu_);
  auto it = broker_live_table_.find(addr);
  if (it == broker_live_table_.end()) return std::nullopt;
  return it->second.data_version;
}

std::optional<protocol::TopicRouteData> RouteInfoManager::PickupTopicRouteData(
    const std::string& topic) const {
  std::shared_lock l(mu_);
  auto it = topic_queue_table_.find(topic);
  if (it == topic_queue_table_.end()) return std::nullopt;
  protocol::TopicRouteData route;
  for (const auto& [name, q] : it->second) {
    route.queue_datas.push_back(q);
    auto b = broker_addr_table_.find(name);
    if (b != broker_addr_table_.end()) route.broker_datas.push_back(b->second);
  }
  if (route.broker_datas.empty()) return std::nullopt;
  return route;
}

protocol::ClusterInfo RouteInfoManager::GetClusterInfo() const {
  std::shared_lock l(mu_);
  protocol::ClusterInfo c;
  c.broker_addr_table = broker_addr_table_;
  c.cluster_addr_table = cluster_addr_table_;
  return c;
}

protocol::TopicList RouteInfoManager::GetAllTopicList() const {
  std::shared_lock l(mu_);
  protocol::TopicList t;
  for (const auto& [topic, q] : topic_queue_table_) t.topic_list.insert(topic);
  return t;
}

protocol::TopicList RouteInfoManager::GetTopicsByCluster(const std::string& cluster) const {
  std::shared_lock l(mu_);
  protocol::TopicList t;
  auto c = cluster_addr_table_.find(cluster);
  if (c == cluster_addr_table_.end()) return t;
  for (const auto& [topic, by_broker] : topic_queue_table_) {
    for (const auto& [name, q] : by_broker) {
      if (c->second.count(name)) t.topic_list.insert(topic);
    }
  }
  return t;
}

void RouteInfoManager::DeleteTopic(const std::string& topic, const std::string& cluster) {
  std::unique_lock l(mu_);
  if (cluster.empty()) {
    topic_queue_table_.erase(topic);
    return;
  }
  auto it = topic_queue_table_.find(topic);
  auto c = cluster_addr_table_.find(cluster);
  if (it == topic_queue_table_.end() || c == cluster_addr_table_.end()) return;
  for (const auto& name : c->second) it->second.erase(name);
  if (it->second.empty()) topic_queue_table_.erase(it);
}

int RouteInfoManager::SetWritePermOfBroker(const std::string& broker_name, bool writable) {
  std::unique_lock l(mu_);
  int changed = 0;
  for (auto& [topic, by_broker] : topic_queue_table_) {
    auto it = by_broker.find(broker_name);
    if (it == by_broker.end()) continue;
    int32_t perm = writable ? (it->second.perm | protocol::kPermWrite)
                            : (it->second.perm & ~protocol::kPermWrite);
    it->second.perm = perm;
    ++changed;
  }
  RJ_LOG(kInfo, "namesrv", "%s write permission of broker %s on %d topics",
         writable ? "added" : "wiped", broker_name.c_str(), changed);
  return changed;
}

protocol::TopicList RouteInfoManager::GetSystemTopicList() const {
  std::shared_lock l(mu_);
  protocol::TopicList list;
  for (const auto& [cluster, names] : cluster_addr_table_) {
    list.topic_list.insert(cluster);
    for (const auto& name : names) list.topic_list.insert(name);
  }
  for (const auto& [name, bd] : broker_addr_table_) {
    if (!bd.broker_addrs.empty()) {
      list.broker_addr = bd.broker_addrs.begin()->second;
      break;
    }
  }
  return list;
}

}  // namespace ramjet::namesrv
