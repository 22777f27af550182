// Broker metadata kept in <storePathRootDir>/config/*.json, each file written atomically
// (tmp + fsync + rename, through the store's FileSystem seam): topic configs, subscription groups
// and consumer offsets. A change of topics or groups is live only once its file is written: a
// failed write (a full disk) undoes it. Thread-safety: every manager is internally locked.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/names.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/store/file_system.h"

namespace ramjet::broker {

inline constexpr const char* kAutoCreateTopicKey = "TBW102";
inline constexpr const char* kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
inline constexpr const char* kSelfTestTopic = "SELF_TEST_TOPIC";
inline constexpr const char* kOffsetMovedEvent = "OFFSET_MOVED_EVENT";
inline constexpr const char* kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr const char* kTransOpHalfTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
inline constexpr const char* kTransCheckMaxTimeTopic = "TRANS_CHECK_MAX_TIME_TOPIC";
inline constexpr const char* kTraceTopic = "RMQ_SYS_TRACE_TOPIC";
inline constexpr const char* kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr const char* kDlqGroupTopicPrefix = "%DLQ%";

// Topics producers may not send to.
bool IsSendForbiddenTopic(std::string_view topic);
inline constexpr const char* kBenchmarkTopic = "BenchmarkTest";
// Topics the broker owns (RocketMQ's TopicValidator.isSystemTopic plus the topics named like the
// cluster and the broker, and the cluster's reply topic): they cannot be created, reconfigured or
// deleted by a client.
bool IsSystemTopic(std::string_view topic, std::string_view cluster_name,
                   std::string_view broker_name);

class TopicConfigManager {
 public:
  // REQUIRES: fs outlives the manager (the store's seam, so fault injection covers the file).
  explicit TopicConfigManager(std::string path, store::FileSystem* fs = store::PosixFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Status Load();
  std::optional<protocol::TopicConfig> Find(const std::string& topic) const;
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
  protocol::DataVersion data_version() const;
  // A new data version without a table change (the broker's permission changed, so the name
  // servers must take the next registration's topic perms).
  Status BumpVersion();

 private:
  Status PersistLocked() RJ_REQUIRES(mu_);
  std::string path_;
  store::FileSystem* const fs_;
  mutable Mutex mu_;
  std::map<std::string, protocol::TopicConfig> table_ RJ_GUARDED_BY(mu_);
  protocol::DataVersion version_ RJ_GUARDED_BY(mu_);
};

// A subscription group's settings (RocketMQ's SubscriptionGroupConfig), as the
// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body carries them and subscriptionGroup.json keeps them.
using SubscriptionGroupConfig = protocol::SubscriptionGroupConfigBody;

class SubscriptionGroupManager {
 public:
  // REQUIRES: fs outlives the manager (the store's seam, so fault injection covers the file).
  explicit SubscriptionGroupManager(std::string path,
                                    store::FileSystem* fs = store::PosixFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Status Load();
  std::optional<SubscriptionGroupConfig> Find(const std::string& group) const;
  // Finds or (when auto_create) creates with defaults.
  Result<std::optional<SubscriptionGroupConfig>> FindOrCreate(const std::string& group,
                                                              bool auto_create);
  // The same for many groups (a heartbeat's) with at most one write of the file.
  Result<std::map<std::string, std::optional<SubscriptionGroupConfig>>> FindOrCreateAll(
      const std::vector<std::string>& groups, bool auto_create);
  Status Update(const SubscriptionGroupConfig& config);
  Result<bool> Delete(const std::string& group);
  std::vector<SubscriptionGroupConfig> List() const;
  // SubscriptionGroupWrapper JSON: {"dataVersion":{..},"subscriptionGroupTable":{group:{..}}}.
  std::string ToJson() const;

 private:
  Status PersistLocked() RJ_REQUIRES(mu_);
  std::string path_;
  store::FileSystem* const fs_;
  mutable Mutex mu_;
  std::map<std::string, SubscriptionGroupConfig> table_ RJ_GUARDED_BY(mu_);
  protocol::DataVersion version_ RJ_GUARDED_BY(mu_);
};

class ConsumerOffsetManager {
 public:
  // REQUIRES: fs outlives the manager (the store's seam, so fault injection covers the file).
  explicit ConsumerOffsetManager(std::string path, store::FileSystem* fs = store::PosixFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Status Load();
  void Commit(const std::string& group, const std::string& topic, int32_t queue_id, int64_t offset);
  // -1 if none.
  int64_t Query(const std::string& group, const std::string& topic, int32_t queue_id) const;
  std::map<int32_t, int64_t> QueryAll(const std::string& group, const std::string& topic) const;
  // Groups with offsets on topic.
  std::set<std::string> GroupsOf(const std::string& topic) const;
  std::set<std::string> TopicsOf(const std::string& group) const;
  void RemoveTopic(const std::string& topic);
  void RemoveGroup(const std::string& group);
  // Copies src_group's offsets on topic to dest_group (CLONE_GROUP_OFFSET); returns how many
  // queues were copied.
  int Clone(const std::string& src_group, const std::string& dest_group, const std::string& topic);
  // Writes consumerOffset.json if anything changed since the last call.
  Status Persist();
  // ConsumerOffsetSerializeWrapper JSON: {"offsetTable":{"topic@group":{"queueId":offset}}}.
  std::string ToJson() const;

 private:
  std::string path_;
  store::FileSystem* const fs_;
  mutable Mutex mu_;
  // "topic@group" -> qid -> offset
  std::map<std::string, std::map<int32_t, int64_t>> table_ RJ_GUARDED_BY(mu_);
  bool dirty_ RJ_GUARDED_BY(mu_) = false;
};

}  // namespace ramjet::broker
