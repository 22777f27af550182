#include "auth_processor.h"

#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;
using acl::UserType;

namespace {
std::string Field(const remoting::RequestContextPtr& ctx, std::string_view key) {
  return std::string(ctx->request().Find(key).value_or(""));
}
}  // namespace

bool AuthProcessor::Enabled(const remoting::RequestContextPtr& ctx) {
  if (store_ != nullptr && auth_ != nullptr) return true;
  ctx->RespondCode(rc::kNoPermission,
                   "ACL 2.0 is not enabled on this broker (authenticationEnabled=false)");
  return false;
}

bool AuthProcessor::CallerIsSuper(const remoting::RequestContextPtr& ctx) const {
  auto caller = auth_->Caller(ctx->request());
  return caller && caller->type == UserType::kSuper;
}

void AuthProcessor::Answer(const remoting::RequestContextPtr& ctx, const Status& s,
                           std::string body) {
  if (s.ok()) {
    auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
    resp.body = std::move(body);
    return ctx->Respond(std::move(resp));
  }
  const int32_t code = s.code() == StatusCode::kPermissionDenied  ? rc::kNoPermission
                       : s.code() == StatusCode::kInvalidArgument ? rc::kInvalidParameter
                                                                  : rc::kSystemError;
  ctx->RespondCode(code, std::string(s.message()));
}

void AuthProcessor::CreateUser(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string name = Field(ctx, "username");
  if (name.empty()) return Answer(ctx, Status::InvalidArgument("The username is blank"));
  auto info = acl::UserInfo::Parse(ctx->request().body);
  if (!info.ok()) return Answer(ctx, Status::Internal(info.status().message()));
  acl::User u;
  u.name = name;  // the header's name wins over the body's
  u.password = info->password.value_or("");
  u.type = acl::ParseUserType(info->user_type.value_or("")).value_or(UserType::kNormal);
  u.status =
      acl::ParseUserStatus(info->user_status.value_or("")).value_or(acl::UserStatus::kEnable);
  if (u.type == UserType::kSuper && !CallerIsSuper(ctx)) {
    return Answer(ctx, Status::Internal("The super user can only be create by super user"));
  }
  Answer(ctx, store_->CreateUser(u));
}

void AuthProcessor::UpdateUser(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string name = Field(ctx, "username");
  if (name.empty()) return Answer(ctx, Status::InvalidArgument("The username is blank"));
  auto info = acl::UserInfo::Parse(ctx->request().body);
  if (!info.ok()) return Answer(ctx, Status::Internal(info.status().message()));
  const bool super = CallerIsSuper(ctx);
  if (acl::ParseUserType(info->user_type.value_or("")) == UserType::kSuper && !super) {
    return Answer(ctx, Status::Internal("The super user can only be update by super user"));
  }
  auto state = store_->Current();
  auto it = state->users.find(name);
  if (it == state->users.end())
    return Answer(ctx, Status::PermissionDenied("The user is not exist"));
  if (it->second.type == UserType::kSuper && !super) {
    return Answer(ctx, Status::PermissionDenied("The super user can only be update by super user"));
  }
  Answer(ctx, store_->UpdateUser(name, *info));
}

void AuthProcessor::DeleteUser(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string name = Field(ctx, "username");
  auto state = store_->Current();
  auto it = state->users.find(name);
  if (it != state->users.end() && it->second.type == UserType::kSuper && !CallerIsSuper(ctx)) {
    return Answer(ctx, Status::PermissionDenied("The super user can only be update by super user"));
  }
  Answer(ctx, store_->DeleteUser(name));
}

void AuthProcessor::GetUser(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string name = Field(ctx, "username");
  if (name.empty()) return Answer(ctx, Status::InvalidArgument("The username is blank"));
  auto state = store_->Current();
  auto it = state->users.find(name);
  // No such user: SUCCESS without a body, as Apache. The password only to a Super caller (it is
  // what signatures are made with: a Super user's would make the reader Super).
  if (it == state->users.end()) return Answer(ctx, Status::OK());
  acl::UserInfo info = acl::UserInfo::Of(it->second);
  if (!CallerIsSuper(ctx)) info.password.reset();
  Answer(ctx, Status::OK(), info.ToJson());
}

void AuthProcessor::ListUsers(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string filter = Field(ctx, "filter");
  std::vector<acl::User> users;
  for (const auto& [name, u] : store_->Current()->users) {
    if (filter.empty() || name.find(filter) != std::string::npos) users.push_back(u);
  }
  Answer(ctx, Status::OK(), users.empty() ? "" : acl::UsersToJson(users, CallerIsSuper(ctx)));
}

void AuthProcessor::UpsertAcl(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  auto acl = acl::ParseAclInfo(ctx->request().body, Field(ctx, "subject"));
  if (!acl.ok()) return Answer(ctx, acl.status());
  Answer(ctx, store_->UpsertAcl(*acl));
}

void AuthProcessor::DeleteAcl(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const auto type =
      acl::ParsePolicyType(Field(ctx, "policyType")).value_or(acl::PolicyType::kCustom);
  const std::string resource_text = Field(ctx, "resource");
  std::optional<acl::Resource> resource;
  if (!resource_text.empty()) {
    resource = acl::Resource::Parse(resource_text);
    if (!resource) return Answer(ctx, Status::PermissionDenied("The resource is null."));
  }
  Answer(ctx, store_->DeleteAcl(Field(ctx, "subject"), type, resource));
}

void AuthProcessor::GetAcl(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  const std::string subject = Field(ctx, "subject");
  if (!subject.starts_with("User:") || subject.size() == 5) {
    return Answer(ctx, Status::PermissionDenied("The subject is null."));
  }
  auto state = store_->Current();
  if (!state->users.count(subject.substr(5))) {
    return Answer(ctx, Status::PermissionDenied("The subject is not exist."));
  }
  auto it = state->acls.find(subject);
  Answer(ctx, Status::OK(), it == state->acls.end() ? "" : acl::AclToJson(it->second));
}

void AuthProcessor::ListAcls(const remoting::RequestContextPtr& ctx) {
  if (!Enabled(ctx)) return;
  auto acls = store_->ListAcls(Field(ctx, "subjectFilter"), Field(ctx, "resourceFilter"));
  Answer(ctx, Status::OK(), acls.empty() ? "" : acl::AclsToJson(acls));
}

}  // namespace ramjet::broker
