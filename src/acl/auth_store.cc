#include "ramjet/acl/auth_store.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "ramjet/base/config.h"

namespace ramjet::acl {

using Json = nlohmann::json;

namespace {

std::string Encode(const AuthStore::State& s) {
  Json users = Json::array();
  for (const auto& [name, u] : s.users) users.push_back(Json::parse(UserInfo::Of(u).ToJson()));
  Json acls = Json::array();
  for (const auto& [subject, acl] : s.acls) acls.push_back(Json::parse(AclToJson(acl)));
  return Json{{"users", users}, {"acls", acls}}.dump(1);
}

Result<AuthStore::State> Decode(const std::string& text, const std::string& path) {
  AuthStore::State s;
  Json j = Json::parse(text, nullptr, false);
  auto bad = [&path](const std::string& why) { return Status::Corruption(path + ": " + why); };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const Json& uj : j.value("users", Json::array())) {
    auto info = UserInfo::Parse(uj.dump());
    if (!info.ok() || !info->username || info->username->empty()) return bad("a user without name");
    User u;
    u.name = *info->username;
    u.password = info->password.value_or("");
    u.type = ParseUserType(info->user_type.value_or("")).value_or(UserType::kNormal);
    u.status = ParseUserStatus(info->user_status.value_or("")).value_or(UserStatus::kEnable);
    s.users[u.name] = u;
  }
  for (const Json& aj : j.value("acls", Json::array())) {
    auto acl = ParseAclInfo(aj.dump(), "");
    if (!acl.ok()) return bad(std::string(acl.status().message()));
    s.acls[acl->subject] = *acl;
  }
  return s;
}

std::string SubjectOf(const std::string& user) { return "User:" + user; }

}  // namespace

Result<std::unique_ptr<AuthStore>> AuthStore::Open(const std::string& path) {
  std::unique_ptr<AuthStore> store(new AuthStore(path));
  auto text = ReadFileToString(path);
  State s;
  if (text.ok()) {
    RJ_ASSIGN_OR_RETURN(s, Decode(*text, path));
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  MutexLock l(&store->mu_);
  store->state_ = std::make_shared<const State>(std::move(s));
  return store;
}

std::shared_ptr<const AuthStore::State> AuthStore::Current() const {
  MutexLock l(&mu_);
  return state_;
}

Status AuthStore::Publish(std::shared_ptr<State> next) {
  RJ_RETURN_IF_ERROR(WriteFileAtomic(path_, Encode(*next), 0600));
  MutexLock l(&mu_);
  state_ = std::move(next);
  return Status::OK();
}

Status AuthStore::CreateUser(const User& user) {
  if (user.name.empty()) return Status::InvalidArgument("The username is blank");
  if (user.password.empty()) return Status::PermissionDenied("password can not be blank");
  MutexLock edit(&edit_mu_);
  auto next = std::make_shared<State>(*Current());
  if (next->users.count(user.name)) return Status::PermissionDenied("The user is existed");
  next->users[user.name] = user;
  return Publish(std::move(next));
}

Status AuthStore::UpdateUser(const std::string& name, const UserInfo& info) {
  if (name.empty()) return Status::InvalidArgument("The username is blank");
  MutexLock edit(&edit_mu_);
  auto next = std::make_shared<State>(*Current());
  auto it = next->users.find(name);
  if (it == next->users.end()) return Status::PermissionDenied("The user is not exist");
  if (info.password && !info.password->empty()) it->second.password = *info.password;
  if (auto t = ParseUserType(info.user_type.value_or(""))) it->second.type = *t;
  if (auto s = ParseUserStatus(info.user_status.value_or(""))) it->second.status = *s;
  return Publish(std::move(next));
}

Status AuthStore::DeleteUser(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("The username is blank");
  MutexLock edit(&edit_mu_);
  auto next = std::make_shared<State>(*Current());
  if (next->users.erase(name) == 0) return Status::OK();
  next->acls.erase(SubjectOf(name));
  return Publish(std::move(next));
}

Status AuthStore::EnsureSuperUser(const std::string& name, const std::string& password) {
  if (Current()->users.count(name)) return Status::OK();
  User u{name, password, UserType::kSuper, UserStatus::kEnable};
  Status s = CreateUser(u);
  return s.ok() || s.message() == "The user is existed" ? Status::OK() : s;
}

Status AuthStore::UpsertAcl(const Acl& acl) {
  MutexLock edit(&edit_mu_);
  auto next = std::make_shared<State>(*Current());
  if (!next->users.count(acl.subject.substr(5))) {
    return Status::PermissionDenied("The subject of " + acl.subject + " is not exist.");
  }
  Acl& stored = next->acls[acl.subject];
  stored.subject = acl.subject;
  for (const Policy& p : acl.policies) {
    auto pit = std::find_if(stored.policies.begin(), stored.policies.end(),
                            [&p](const Policy& q) { return q.type == p.type; });
    if (pit == stored.policies.end()) {
      stored.policies.push_back(p);
      continue;
    }
    for (const PolicyEntry& e : p.entries) {
      auto eit = std::find_if(pit->entries.begin(), pit->entries.end(),
                              [&e](const PolicyEntry& f) { return f.resource == e.resource; });
      if (eit == pit->entries.end()) {
        pit->entries.push_back(e);
      } else {
        *eit = e;
      }
    }
  }
  return Publish(std::move(next));
}

Status AuthStore::DeleteAcl(const std::string& subject, PolicyType type,
                            const std::optional<Resource>& resource) {
  if (!subject.starts_with("User:") || subject.size() == 5) {
    return Status::PermissionDenied("The subject is null.");
  }
  MutexLock edit(&edit_mu_);
  auto next = std::make_shared<State>(*Current());
  if (!next->users.count(subject.substr(5))) {
    return Status::PermissionDenied("The subject is not exist.");
  }
  auto it = next->acls.find(subject);
  if (it == next->acls.end()) return Status::PermissionDenied("The acl is not exist.");
  if (!resource) {
    next->acls.erase(it);
    return Publish(std::move(next));
  }
  auto& policies = it->second.policies;
  for (Policy& p : policies) {
    if (p.type != type) continue;
    std::erase_if(p.entries, [&](const PolicyEntry& e) { return e.resource == *resource; });
  }
  std::erase_if(policies, [](const Policy& p) { return p.entries.empty(); });
  if (policies.empty()) next->acls.erase(it);
  return Publish(std::move(next));
}

std::vector<Acl> AuthStore::ListAcls(std::string_view subject_filter,
                                     std::string_view resource_filter) const {
  std::vector<Acl> out;
  for (const auto& [subject, acl] : Current()->acls) {
    if (!subject_filter.empty() && subject.find(subject_filter) == std::string::npos) continue;
    Acl kept{subject, {}};
    for (const Policy& p : acl.policies) {
      Policy q{p.type, {}};
      for (const PolicyEntry& e : p.entries) {
        if (resource_filter.empty() ||
            e.resource.Key().find(resource_filter) != std::string::npos) {
          q.entries.push_back(e);
        }
      }
      if (!q.entries.empty()) kept.policies.push_back(std::move(q));
    }
    if (!kept.policies.empty()) out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace ramjet::acl
