// Topic configs (RocketMQ's TopicConfigManager), kept in <storePathRootDir>/config/topics.json,
// written atomically through the store's FileSystem seam. A change is live only once the file is
// written: a failed write (a full disk) undoes it. Thread-safety: internally locked.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/name_table.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/store/file_system.h"
#include "system_topics.h"
#include "topic_runtime.h"

namespace ramjet::broker {

// What a send reads of its topic's config, once per message: no strings to copy.
struct TopicSendFields {
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  static TopicSendFields Of(const protocol::TopicConfig& c) {
    return {c.read_queue_nums, c.write_queue_nums, c.perm};
  }
};

class TopicConfigManager {
 public:
  // REQUIRES: fs outlives the manager (the store's seam, so fault injection covers the file).
  explicit TopicConfigManager(std::string path, store::FileSystem* fs = store::PosixFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Status Load();
  std::optional<protocol::TopicConfig> Find(const std::string& topic) const;
  // What a send needs of the topic, with the state sends keep for the topic (created on the
  // first call; kept across changes of the topic's config, dropped when the topic is deleted).
  std::optional<TopicSendFields> FindForSend(std::string_view topic,
                                             std::shared_ptr<TopicRuntime>* runtime) const;
  // Creates or replaces; persists. Returns true if anything changed.
  Result<bool> Update(const protocol::TopicConfig& config);
  // Adds the config only if the topic is unknown (system topics at start). Persists on change.
  Result<bool> AddIfAbsent(const protocol::TopicConfig& config);
  // The same for many configs with one write of the file; returns how many were added.
  Result<int> AddAllIfAbsent(const std::vector<protocol::TopicConfig>& configs);
  // createTopicInSendMessageMethod: inherits from default_topic (which must carry PERM_INHERIT).
  // Returns the topic config, or nullopt if it cannot be created.
  Result<std::optional<protocol::TopicConfig>> CreateForSend(const std::string& topic,
                                                             const std::string& default_topic,
                                                             int32_t queue_nums, bool* created);
  Result<bool> Delete(const std::string& topic);
  protocol::TopicConfigSerializeWrapper Snapshot() const;
  // A slave takes its master's table and data version (SlaveSynchronize); persists. Returns
  // true if anything changed (a different data version).
  Result<bool> ReplaceAll(const protocol::TopicConfigSerializeWrapper& master);
  protocol::DataVersion data_version() const;
  // A new data version without a table change (the broker's permission changed, so the name
  // servers must take the next registration's topic perms).
  Status BumpVersion();

 private:
  Status PersistLocked() RJ_REQUIRES(mu_);
  // A topic's config through the hash index (rebuilt after a change of the table).
  struct Indexed {
    const protocol::TopicConfig* config;
    TopicRuntime* runtime;  // owned by runtimes_; null until the topic's first FindForSend
  };
  Indexed* FindIndexedLocked(std::string_view topic) const RJ_REQUIRES(mu_);
  const protocol::TopicConfig* FindLocked(std::string_view topic) const RJ_REQUIRES(mu_) {
    const Indexed* e = FindIndexedLocked(topic);
    return e == nullptr ? nullptr : e->config;
  }
  std::string path_;
  store::FileSystem* const fs_;
  mutable Mutex mu_;
  std::map<std::string, protocol::TopicConfig> table_ RJ_GUARDED_BY(mu_);
  protocol::DataVersion version_ RJ_GUARDED_BY(mu_);
  // A hash index over table_'s nodes: a send looks its topic up per message, and the ordered map
  // compares long common prefixes ("Bench-t1000-1-") at every level. Load and PersistLocked
  // (which every change, and so every rollback, goes through) mark it stale under mu_; the next
  // lookup rebuilds it. Calls that change nothing (heartbeats re-adding their retry topics)
  // persist nothing and keep it.
  mutable NameTable<Indexed> index_ RJ_GUARDED_BY(mu_);
  // The send state of topics in table_, by name (the index is rebuilt; these are kept).
  mutable std::unordered_map<std::string, std::shared_ptr<TopicRuntime>> runtimes_
      RJ_GUARDED_BY(mu_);
  mutable bool index_stale_ RJ_GUARDED_BY(mu_) = true;
};

}  // namespace ramjet::broker
