// The users and ACLs of ACL 2.0, kept in one JSON file (<storePathRootDir>/config/auth.json,
// mode 0600: it holds the passwords the signatures are checked with, as Apache's RocksDB store
// does) and edited with the semantics and texts of Apache 5.5.0's metadata managers.
// Thread-safety: every method is thread-safe; readers take an immutable snapshot (Current), a
// write builds the next snapshot, persists it (temporary file renamed over the old one) and
// publishes it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/acl/auth_model.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"

namespace ramjet::acl {

class AuthStore {
 public:
  struct State {
    std::map<std::string, User> users;  // by name
    std::map<std::string, Acl> acls;    // by subject "User:<name>"
  };
  // Loads path (absent: empty). A corrupt file is an error naming it.
  static Result<std::unique_ptr<AuthStore>> Open(const std::string& path);

  std::shared_ptr<const State> Current() const RJ_EXCLUDES(mu_);

  // Users. Errors are PermissionDenied with Apache's texts ("The user is existed", "The user is
  // not exist"), InvalidArgument for a blank name.
  Status CreateUser(const User& user) RJ_EXCLUDES(mu_);
  // Applies a non-blank password and the known type and status of info.
  Status UpdateUser(const std::string& name, const UserInfo& info) RJ_EXCLUDES(mu_);
  Status DeleteUser(const std::string& name) RJ_EXCLUDES(mu_);  // also its ACL; absent: OK
  // Creates the user as Super unless it exists (initAuthenticationUser and the inner client).
  Status EnsureSuperUser(const std::string& name, const std::string& password) RJ_EXCLUDES(mu_);

  // ACLs. Upsert merges: each policy by type, each entry by resource (replaced or appended).
  Status UpsertAcl(const Acl& acl) RJ_EXCLUDES(mu_);
  // Without a resource the whole ACL goes; else that entry of the policy (empty ones dropped).
  Status DeleteAcl(const std::string& subject, PolicyType type,
                   const std::optional<Resource>& resource) RJ_EXCLUDES(mu_);
  // Substring filters on the subject and on each entry's resource.
  std::vector<Acl> ListAcls(std::string_view subject_filter, std::string_view resource_filter) const
      RJ_EXCLUDES(mu_);

 private:
  explicit AuthStore(std::string path) : path_(std::move(path)) {}
  Status Publish(std::shared_ptr<State> next) RJ_REQUIRES(edit_mu_);
  std::string path_;
  Mutex edit_mu_;  // serializes writers (read, change, persist, publish)
  mutable Mutex mu_;
  std::shared_ptr<const State> state_ RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::acl
