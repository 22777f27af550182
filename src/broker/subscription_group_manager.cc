#include "subscription_group_manager.h"

#include "metadata_file.h"
#include "ramjet/base/logging.h"
#include "ramjet/protocol/config_files.h"

namespace ramjet::broker {

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

Status SubscriptionGroupManager::ReplaceAll(const protocol::SubscriptionGroupWrapper& master) {
  MutexLock l(&mu_);
  auto r = ReplaceAndPersist(&table_, &version_, master.subscription_group_table,
                             master.data_version, [this] {
                               mu_.AssertHeld();  // called under the caller's lock
                               return PersistLocked();
                             });
  return r.ok() ? Status::OK() : r.status();
}

}  // namespace ramjet::broker
