#include "topic_config_manager.h"

#include "metadata_file.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

Status TopicConfigManager::Load() {
  RJ_ASSIGN_OR_RETURN(auto text, ReadIfExists(fs_, path_));
  if (!text) return Status::OK();
  auto w = protocol::TopicConfigSerializeWrapper::Parse(*text);
  if (!w.ok()) return Status::Corruption(path_ + ": " + std::string(w.status().message()));
  MutexLock l(&mu_);
  index_stale_ = true;
  table_ = std::move(w->topic_config_table);
  version_ = w->data_version;
  return Status::OK();
}

Status TopicConfigManager::PersistLocked() {
  // Every change of table_ is persisted before anything else looks it up, and a failed persist
  // rolls the table back (new nodes): either way the index must be rebuilt.
  index_stale_ = true;
  protocol::TopicConfigSerializeWrapper w;
  w.data_version = version_;
  w.topic_config_table = table_;
  return WriteIndented(fs_, path_, w.ToJson());
}

TopicConfigManager::Indexed* TopicConfigManager::FindIndexedLocked(std::string_view topic) const {
  if (index_stale_) {
    index_.Clear();
    index_.Reserve(table_.size());
    for (const auto& [name, config] : table_) index_.Insert(name, 0, Indexed{&config, nullptr});
    // Send state survives changes of its topic's config, not the topic's deletion.
    for (auto it = runtimes_.begin(); it != runtimes_.end();) {
      Indexed* e = index_.Find(it->first);
      if (e == nullptr) {
        it = runtimes_.erase(it);
      } else {
        e->runtime = it->second.get();
        ++it;
      }
    }
    index_stale_ = false;
  }
  return index_.Find(topic);
}

std::optional<TopicSendFields> TopicConfigManager::FindForSend(
    std::string_view topic, std::shared_ptr<TopicRuntime>* runtime) const {
  MutexLock l(&mu_);
  Indexed* e = FindIndexedLocked(topic);
  if (e == nullptr) return std::nullopt;
  if (e->runtime == nullptr) {
    auto& kept = runtimes_[std::string(topic)];
    if (kept == nullptr) kept = std::make_shared<TopicRuntime>(std::string(topic));
    e->runtime = kept.get();
  }
  *runtime = e->runtime->shared_from_this();
  return TopicSendFields::Of(*e->config);
}

std::optional<protocol::TopicConfig> TopicConfigManager::Find(const std::string& topic) const {
  MutexLock l(&mu_);
  const protocol::TopicConfig* config = FindLocked(topic);
  if (config == nullptr) return std::nullopt;
  return *config;
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
  if (missing.empty()) return 0;  // heartbeats and send-backs: usually nothing to add
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
  if (const auto* existing = FindLocked(topic)) return std::optional(*existing);
  const protocol::TopicConfig* def = FindLocked(default_topic);
  if (def == nullptr || (def->perm & protocol::kPermInherit) == 0) {
    return std::optional<protocol::TopicConfig>();
  }
  protocol::TopicConfig t;
  t.topic_name = topic;
  int32_t n = std::min(queue_nums, def->write_queue_nums);
  if (n <= 0) n = 1;
  t.read_queue_nums = t.write_queue_nums = n;
  t.perm = def->perm & ~protocol::kPermInherit;
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
  runtimes_.erase(topic);  // a topic created again under this name starts afresh
  return true;
}

Status TopicConfigManager::BumpVersion() {
  MutexLock l(&mu_);
  Bump(&version_);
  return PersistLocked();
}

Result<bool> TopicConfigManager::ReplaceAll(const protocol::TopicConfigSerializeWrapper& master) {
  MutexLock l(&mu_);
  return ReplaceAndPersist(&table_, &version_, master.topic_config_table, master.data_version,
                           [this] {
                             mu_.AssertHeld();  // called under the caller's lock
                             return PersistLocked();
                           });
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

}  // namespace ramjet::broker
