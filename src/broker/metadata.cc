#include "metadata.h"

#include <nlohmann/json.hpp>

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"

namespace ramjet::broker {

using json = nlohmann::json;

namespace {
std::string Dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

Result<json> LoadJson(store::FileSystem* fs, const std::string& path) {
  auto text = store::ReadWholeFile(fs, path);
  if (!text.ok()) return text.status();
  json j = json::parse(protocol::QuoteNumericKeys(*text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(path + " is not a JSON object");
  }
  return j;
}

void Bump(protocol::DataVersion* v) {
  v->counter++;
  v->timestamp = NowMillis();
}

// Applies a change to a table and persists it. A change that cannot be persisted (a full disk)
// is undone, so nothing lives that would be gone after a restart.
template <typename Table, typename Change, typename Persist>
Status ChangeAndPersist(Table* table, protocol::DataVersion* version, Change change,
                        Persist persist) {
  Table before = *table;
  const protocol::DataVersion version_before = *version;
  change();
  Bump(version);
  Status s = persist();
  if (!s.ok()) {
    *table = std::move(before);
    *version = version_before;
  }
  return s;
}
}  // namespace

bool IsSendForbiddenTopic(std::string_view topic) {
  return topic == kScheduleTopic || topic == kTransHalfTopic || topic == kTransOpHalfTopic ||
         topic == kTransCheckMaxTimeTopic || topic == kSelfTestTopic ||
         topic == kOffsetMovedEvent || topic == "rmq_sys_wheel_timer" ||
         topic == "rmq_sys_timer_op";
}

bool IsSystemTopic(std::string_view topic, std::string_view cluster_name,
                   std::string_view broker_name) {
  static constexpr std::string_view kSystem[] = {
      kAutoCreateTopicKey, kScheduleTopic,        kSelfTestTopic,          kOffsetMovedEvent,
      kTransHalfTopic,     kTransOpHalfTopic,     kTransCheckMaxTimeTopic, kTraceTopic,
      kBenchmarkTopic,     "rmq_sys_wheel_timer", "rmq_sys_timer_op",
  };
  for (std::string_view t : kSystem) {
    if (topic == t) return true;
  }
  if (topic.starts_with("rmq_sys_") || topic.starts_with("RMQ_SYS_")) return true;
  if (topic == cluster_name || topic == broker_name) return true;
  return topic.size() == cluster_name.size() + 12 && topic.starts_with(cluster_name) &&
         topic.ends_with("_REPLY_TOPIC");
}

// ---------------------------------------------------------------------------------------------

Status TopicConfigManager::Load() {
  auto j = LoadJson(fs_, path_);
  if (!j.ok()) {
    if (j.status().code() == StatusCode::kNotFound) return Status::OK();
    return j.status();
  }
  auto w = protocol::TopicConfigSerializeWrapper::Parse(j->dump());
  if (!w.ok()) return Status::Corruption(path_ + ": " + std::string(w.status().message()));
  MutexLock l(&mu_);
  table_ = std::move(w->topic_config_table);
  version_ = w->data_version;
  return Status::OK();
}

Status TopicConfigManager::PersistLocked() {
  protocol::TopicConfigSerializeWrapper w;
  w.data_version = version_;
  w.topic_config_table = table_;
  return store::WriteFileAtomically(fs_, path_, Dump(json::parse(w.ToJson())));
}

std::optional<protocol::TopicConfig> TopicConfigManager::Find(const std::string& topic) const {
  MutexLock l(&mu_);
  auto it = table_.find(topic);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

Result<bool> TopicConfigManager::Update(const protocol::TopicConfig& config) {
  MutexLock l(&mu_);
  auto it = table_.find(config.topic_name);
  if (it != table_.end() && it->second == config) return false;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        table_[config.topic_name] = config;
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  return true;
}

Result<bool> TopicConfigManager::AddIfAbsent(const protocol::TopicConfig& config) {
  RJ_ASSIGN_OR_RETURN(int added, AddAllIfAbsent({config}));
  return added > 0;
}

Result<int> TopicConfigManager::AddAllIfAbsent(const std::vector<protocol::TopicConfig>& configs) {
  MutexLock l(&mu_);
  std::vector<const protocol::TopicConfig*> missing;
  for (const auto& c : configs) {
    if (!table_.count(c.topic_name)) missing.push_back(&c);
  }
  if (missing.empty()) return 0;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        for (const auto* c : missing) table_[c->topic_name] = *c;
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  return static_cast<int>(missing.size());
}

Result<std::optional<protocol::TopicConfig>> TopicConfigManager::CreateForSend(
    const std::string& topic, const std::string& default_topic, int32_t queue_nums, bool* created) {
  *created = false;
  MutexLock l(&mu_);
  if (auto it = table_.find(topic); it != table_.end()) return std::optional(it->second);
  auto def = table_.find(default_topic);
  if (def == table_.end() || (def->second.perm & protocol::kPermInherit) == 0) {
    return std::optional<protocol::TopicConfig>();
  }
  protocol::TopicConfig t;
  t.topic_name = topic;
  int32_t n = std::min(queue_nums, def->second.write_queue_nums);
  if (n <= 0) n = 1;
  t.read_queue_nums = t.write_queue_nums = n;
  t.perm = def->second.perm & ~protocol::kPermInherit;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        table_[topic] = t;
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  *created = true;
  RJ_LOG(kInfo, "broker", "auto-created topic %s with %d queues from %s", topic.c_str(), n,
         default_topic.c_str());
  return std::optional(t);
}

Result<bool> TopicConfigManager::Delete(const std::string& topic) {
  MutexLock l(&mu_);
  if (table_.count(topic) == 0) return false;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        table_.erase(topic);
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  return true;
}

Status TopicConfigManager::BumpVersion() {
  MutexLock l(&mu_);
  Bump(&version_);
  return PersistLocked();
}

protocol::TopicConfigSerializeWrapper TopicConfigManager::Snapshot() const {
  MutexLock l(&mu_);
  protocol::TopicConfigSerializeWrapper w;
  w.data_version = version_;
  w.topic_config_table = table_;
  return w;
}

protocol::DataVersion TopicConfigManager::data_version() const {
  MutexLock l(&mu_);
  return version_;
}

// ---------------------------------------------------------------------------------------------

namespace {
json GroupJson(const SubscriptionGroupConfig& g) {
  return json{{"brokerId", g.broker_id},
              {"consumeBroadcastEnable", g.consume_broadcast_enable},
              {"consumeEnable", g.consume_enable},
              {"consumeFromMinEnable", g.consume_from_min_enable},
              {"groupName", g.group_name},
              {"notifyConsumerIdsChangedEnable", g.notify_consumer_ids_changed_enable},
              {"retryMaxTimes", g.retry_max_times},
              {"retryQueueNums", g.retry_queue_nums},
              {"whichBrokerWhenConsumeSlowly", g.which_broker_when_consume_slowly}};
}
template <typename T>
T Get(const json& j, const char* k, T def) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return def;
  if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) return it->template get<bool>();
    if (it->is_string()) return it->template get<std::string>() == "true";
    return def;
  } else if constexpr (std::is_integral_v<T>) {
    if (it->is_number_integer()) return static_cast<T>(it->template get<int64_t>());
    if (it->is_string()) return static_cast<T>(std::atoll(it->template get<std::string>().c_str()));
    return def;
  } else {
    if (it->is_string()) return it->template get<std::string>();
    return def;
  }
}
}  // namespace

Status SubscriptionGroupManager::Load() {
  auto j = LoadJson(fs_, path_);
  if (!j.ok()) {
    if (j.status().code() == StatusCode::kNotFound) return Status::OK();
    return j.status();
  }
  MutexLock l(&mu_);
  auto t = j->find("subscriptionGroupTable");
  if (t == j->end() || !t->is_object()) return Status::OK();
  for (auto& [name, v] : t->items()) {
    if (!v.is_object()) continue;
    SubscriptionGroupConfig g;
    g.group_name = Get<std::string>(v, "groupName", name);
    g.consume_enable = Get(v, "consumeEnable", true);
    g.consume_from_min_enable = Get(v, "consumeFromMinEnable", true);
    g.consume_broadcast_enable = Get(v, "consumeBroadcastEnable", true);
    g.retry_queue_nums = Get<int32_t>(v, "retryQueueNums", 1);
    g.retry_max_times = Get<int32_t>(v, "retryMaxTimes", 16);
    g.broker_id = Get<int64_t>(v, "brokerId", 0);
    g.which_broker_when_consume_slowly = Get<int64_t>(v, "whichBrokerWhenConsumeSlowly", 1);
    g.notify_consumer_ids_changed_enable = Get(v, "notifyConsumerIdsChangedEnable", true);
    table_[name] = g;
  }
  return Status::OK();
}

namespace {
json GroupsWrapper(const std::map<std::string, SubscriptionGroupConfig>& table,
                   const protocol::DataVersion& version) {
  json t = json::object();
  for (const auto& [k, g] : table) t[k] = GroupJson(g);
  return json{{"dataVersion", json{{"counter", version.counter}, {"timestamp", version.timestamp}}},
              {"subscriptionGroupTable", t}};
}
}  // namespace

Status SubscriptionGroupManager::PersistLocked() {
  return store::WriteFileAtomically(fs_, path_, Dump(GroupsWrapper(table_, version_)));
}

std::string SubscriptionGroupManager::ToJson() const {
  MutexLock l(&mu_);
  return GroupsWrapper(table_, version_).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<SubscriptionGroupConfig> SubscriptionGroupManager::Find(
    const std::string& group) const {
  MutexLock l(&mu_);
  auto it = table_.find(group);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

Result<std::optional<SubscriptionGroupConfig>> SubscriptionGroupManager::FindOrCreate(
    const std::string& group, bool auto_create) {
  RJ_ASSIGN_OR_RETURN(auto found, FindOrCreateAll({group}, auto_create));
  return found[group];
}

Result<std::map<std::string, std::optional<SubscriptionGroupConfig>>>
SubscriptionGroupManager::FindOrCreateAll(const std::vector<std::string>& groups,
                                          bool auto_create) {
  MutexLock l(&mu_);
  std::map<std::string, std::optional<SubscriptionGroupConfig>> out;
  std::vector<std::string> missing;
  for (const auto& group : groups) {
    auto it = table_.find(group);
    if (it != table_.end()) {
      out[group] = it->second;
    } else if (auto_create && !out.count(group)) {
      missing.push_back(group);
      out[group] = std::nullopt;
    } else {
      out[group] = std::nullopt;
    }
  }
  if (missing.empty()) return out;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        for (const auto& group : missing) {
          SubscriptionGroupConfig g;
          g.group_name = group;
          table_[group] = g;
          out[group] = g;
        }
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  return out;
}

Status SubscriptionGroupManager::Update(const SubscriptionGroupConfig& config) {
  MutexLock l(&mu_);
  return ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        table_[config.group_name] = config;
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      });
}

Result<bool> SubscriptionGroupManager::Delete(const std::string& group) {
  MutexLock l(&mu_);
  if (table_.count(group) == 0) return false;
  RJ_RETURN_IF_ERROR(ChangeAndPersist(
      &table_, &version_,
      [&] {
        mu_.AssertHeld();
        table_.erase(group);
      },
      [this] {
        mu_.AssertHeld();  // called by ChangeAndPersist under the caller's lock
        return PersistLocked();
      }));
  return true;
}

std::vector<SubscriptionGroupConfig> SubscriptionGroupManager::List() const {
  MutexLock l(&mu_);
  std::vector<SubscriptionGroupConfig> out;
  for (const auto& [k, g] : table_) out.push_back(g);
  return out;
}

// ---------------------------------------------------------------------------------------------

Status ConsumerOffsetManager::Load() {
  auto j = LoadJson(fs_, path_);
  if (!j.ok()) {
    if (j.status().code() == StatusCode::kNotFound) return Status::OK();
    return j.status();
  }
  MutexLock l(&mu_);
  auto t = j->find("offsetTable");
  if (t == j->end() || !t->is_object()) return Status::OK();
  for (auto& [key, queues] : t->items()) {
    if (!queues.is_object()) continue;
    for (auto& [qid, off] : queues.items()) {
      if (off.is_number_integer()) table_[key][std::atoi(qid.c_str())] = off.get<int64_t>();
    }
  }
  return Status::OK();
}

void ConsumerOffsetManager::Commit(const std::string& group, const std::string& topic,
                                   int32_t queue_id, int64_t offset) {
  MutexLock l(&mu_);
  int64_t& slot = table_[topic + "@" + group][queue_id];
  if (slot != offset) {
    slot = offset;
    dirty_ = true;
  }
}

int64_t ConsumerOffsetManager::Query(const std::string& group, const std::string& topic,
                                     int32_t queue_id) const {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + group);
  if (it == table_.end()) return -1;
  auto q = it->second.find(queue_id);
  return q == it->second.end() ? -1 : q->second;
}

std::map<int32_t, int64_t> ConsumerOffsetManager::QueryAll(const std::string& group,
                                                           const std::string& topic) const {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + group);
  return it == table_.end() ? std::map<int32_t, int64_t>() : it->second;
}

std::set<std::string> ConsumerOffsetManager::GroupsOf(const std::string& topic) const {
  MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [k, v] : table_) {
    size_t at = k.find('@');
    if (at != std::string::npos && k.compare(0, at, topic) == 0 && at == topic.size()) {
      out.insert(k.substr(at + 1));
    }
  }
  return out;
}

std::set<std::string> ConsumerOffsetManager::TopicsOf(const std::string& group) const {
  MutexLock l(&mu_);
  std::set<std::string> out;
  for (const auto& [k, v] : table_) {
    size_t at = k.rfind('@');
    if (at != std::string::npos && k.substr(at + 1) == group) out.insert(k.substr(0, at));
  }
  return out;
}

void ConsumerOffsetManager::RemoveTopic(const std::string& topic) {
  MutexLock l(&mu_);
  for (auto it = table_.begin(); it != table_.end();) {
    if (it->first.size() > topic.size() && it->first.compare(0, topic.size(), topic) == 0 &&
        it->first[topic.size()] == '@') {
      it = table_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

void ConsumerOffsetManager::RemoveGroup(const std::string& group) {
  MutexLock l(&mu_);
  for (auto it = table_.begin(); it != table_.end();) {
    size_t at = it->first.rfind('@');
    if (at != std::string::npos && it->first.substr(at + 1) == group) {
      it = table_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

namespace {
json OffsetsWrapper(const std::map<std::string, std::map<int32_t, int64_t>>& table) {
  json t = json::object();
  for (const auto& [k, q] : table) {
    json m = json::object();
    for (const auto& [qid, off] : q) m[std::to_string(qid)] = off;
    t[k] = m;
  }
  return json{{"offsetTable", t}};
}
}  // namespace

std::string ConsumerOffsetManager::ToJson() const {
  MutexLock l(&mu_);
  return OffsetsWrapper(table_).dump(-1, ' ', false, json::error_handler_t::replace);
}

int ConsumerOffsetManager::Clone(const std::string& src_group, const std::string& dest_group,
                                 const std::string& topic) {
  MutexLock l(&mu_);
  auto it = table_.find(topic + "@" + src_group);
  if (it == table_.end()) return 0;
  table_[topic + "@" + dest_group] = it->second;
  dirty_ = true;
  return static_cast<int>(it->second.size());
}

Status ConsumerOffsetManager::Persist() {
  json j;
  {
    MutexLock l(&mu_);
    if (!dirty_) return Status::OK();
    j = OffsetsWrapper(table_);
    dirty_ = false;
  }
  Status s = store::WriteFileAtomically(fs_, path_, Dump(j));
  if (!s.ok()) {
    MutexLock l(&mu_);
    dirty_ = true;
  }
  return s;
}

}  // namespace ramjet::broker
