#include "metadata.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

namespace {
// The text of a metadata file, or nullopt when there is none yet (a new store).
Result<std::optional<std::string>> ReadIfExists(store::FileSystem* fs, const std::string& path) {
  auto text = store::ReadWholeFile(fs, path);
  if (text.ok()) return std::optional<std::string>(std::move(*text));
  if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return text.status();
}

// Writes a wrapper's compact JSON indented by two spaces, as RocketMQ writes config/*.json.
Status WriteIndented(store::FileSystem* fs, const std::string& path, std::string_view json) {
  RJ_ASSIGN_OR_RETURN(std::string text, protocol::IndentJson(json));
  return store::WriteFileAtomically(fs, path, text);
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
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(fs_, path_));
  if (!text) return Status::OK();
  auto w = protocol::TopicConfigSerializeWrapper::Parse(*text);
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
  return WriteIndented(fs_, path_, w.ToJson());
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
protocol::SubscriptionGroupWrapper GroupsWrapper(
    const std::map<std::string, SubscriptionGroupConfig>& table,
    const protocol::DataVersion& version) {
  protocol::SubscriptionGroupWrapper w;
  w.subscription_group_table = table;
  w.data_version = version;
  return w;
}
}  // namespace

// The file's dataVersion is not read back: the version counts this process's changes.
Status SubscriptionGroupManager::Load() {
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(fs_, path_));
  if (!text) return Status::OK();
  auto w = protocol::SubscriptionGroupWrapper::Decode(*text);
  if (!w.ok()) return Status::Corruption(path_ + ": " + std::string(w.status().message()));
  MutexLock l(&mu_);
  for (auto& [name, g] : w->subscription_group_table) table_[name] = std::move(g);
  return Status::OK();
}

Status SubscriptionGroupManager::PersistLocked() {
  return WriteIndented(fs_, path_, GroupsWrapper(table_, version_).Encode());
}

std::string SubscriptionGroupManager::ToJson() const {
  MutexLock l(&mu_);
  return GroupsWrapper(table_, version_).Encode();
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
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(fs_, path_));
  if (!text) return Status::OK();
  auto w = protocol::ConsumerOffsetWrapper::Decode(*text);
  if (!w.ok()) return Status::Corruption(path_ + ": " + std::string(w.status().message()));
  MutexLock l(&mu_);
  for (const auto& [key, queues] : w->offset_table) {
    for (const auto& [qid, off] : queues) table_[key][qid] = off;
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

std::string ConsumerOffsetManager::ToJson() const {
  protocol::ConsumerOffsetWrapper w;
  {
    MutexLock l(&mu_);
    w.offset_table = table_;
  }
  return w.Encode();
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
  protocol::ConsumerOffsetWrapper w;
  {
    MutexLock l(&mu_);
    if (!dirty_) return Status::OK();
    w.offset_table = table_;
    dirty_ = false;
  }
  Status s = WriteIndented(fs_, path_, w.Encode());
  if (!s.ok()) {
    MutexLock l(&mu_);
    dirty_ = true;
  }
  return s;
}

}  // namespace ramjet::broker
