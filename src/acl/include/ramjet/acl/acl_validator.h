// The broker's ACL 1.0 check of every remoting request (aclEnable=true): the accounts of a
// plain_acl.yml file, re-read when the file changes (its modification time or size, looked at
// no more than once a second, by whichever request comes first after that second). A file that
// no longer parses keeps the previous accounts and is logged; a file that is missing at start is
// an error (aclEnable without accounts would refuse everything silently).
// Threading: Check from any thread, concurrently (the accounts are an immutable snapshot swapped
// under a mutex).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/acl/plain_acl.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"

namespace ramjet::acl {

class AclValidator {
 public:
  static Result<std::unique_ptr<AclValidator>> Open(std::string path);

  // OK, or kPermissionDenied with RocketMQ's text (the broker answers NO_PERMISSION with it).
  Status Check(const protocol::RemotingCommand& request, const std::string& remote_address)
      RJ_EXCLUDES(mu_);
  // A 5.x gRPC call's authorization and x-mq-date-time metadata (authentication only).
  // resources and forbidden: as ValidateGrpc.
  Status CheckGrpc(std::string_view authorization, std::string_view date_time,
                   const std::string& peer_address, const std::map<std::string, uint8_t>& resources,
                   bool* forbidden) RJ_EXCLUDES(mu_);
  // The file now, whatever the time since the last look (tests; the admin codes that edit it).
  Status Reload() RJ_EXCLUDES(mu_);

  // The ACL admin requests edit the file (the new text is checked first; a temporary file is
  // renamed over it) and load it. UPDATE_AND_CREATE_ACL_CONFIG: fields as its header
  // (accessKey, secretKey, whiteRemoteAddress, admin, defaultTopicPerm, defaultGroupPerm,
  // topicPerms and groupPerms as comma-separated "name=PERM"); an existing account keeps the
  // fields not given.
  Status UpsertAccount(const std::map<std::string, std::string>& fields) RJ_EXCLUDES(mu_);
  Status DeleteAccount(const std::string& access_key) RJ_EXCLUDES(mu_);
  Status SetGlobalWhiteAddresses(const std::vector<std::string>& addresses) RJ_EXCLUDES(mu_);
  // DataVersion JSON of the accounts loaded: {"counter":N,"timestamp":ms}.
  std::string Version() RJ_EXCLUDES(mu_);
  const std::string& path() const { return path_; }

 private:
  explicit AclValidator(std::string path) : path_(std::move(path)) {}
  std::shared_ptr<const AclConfig> Current() RJ_EXCLUDES(mu_);
  void MaybeReload() RJ_EXCLUDES(mu_);

  const std::string path_;
  std::atomic<int64_t> next_look_ms_{0};
  Mutex mu_;
  std::shared_ptr<const AclConfig> config_ RJ_GUARDED_BY(mu_);
  int64_t loads_ RJ_GUARDED_BY(mu_) = 0;
  int64_t loaded_ms_ RJ_GUARDED_BY(mu_) = 0;
  Mutex edit_mu_;                          // one edit of the file at a time (taken before mu_)
  int64_t stamp_ RJ_GUARDED_BY(mu_) = -1;  // mtime (ns) xor size of the file read
};

}  // namespace ramjet::acl
