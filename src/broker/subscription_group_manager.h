// Subscription groups (RocketMQ's SubscriptionGroupManager), kept in
// <storePathRootDir>/config/subscriptionGroup.json, written atomically through the store's
// FileSystem seam. A change is live only once the file is written: a failed write (a full disk)
// undoes it. Thread-safety: internally locked.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/config_files.h"
#include "ramjet/store/file_system.h"

namespace ramjet::broker {

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
  // A slave takes its master's table and data version (SlaveSynchronize); persists.
  Status ReplaceAll(const protocol::SubscriptionGroupWrapper& master);
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

}  // namespace ramjet::broker
