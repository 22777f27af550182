#include "auth_setup.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ramjet/acl/plain_acl.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"

namespace ramjet::broker {

using Json = nlohmann::json;

namespace {

// {"a":"x","b":"y"} -> the two strings; error naming the key when malformed.
Result<std::pair<std::string, std::string>> Pair(std::string_view text, const char* what,
                                                 const char* a, const char* b) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains(a) || !j.contains(b) || !j[a].is_string() ||
      !j[b].is_string() || j[a].get<std::string>().empty() || j[b].get<std::string>().empty()) {
    return Status::InvalidArgument(std::string(what) + " must be JSON {\"" + a + "\":\"...\",\"" +
                                   b + "\":\"...\"}");
  }
  return std::make_pair(j[a].get<std::string>(), j[b].get<std::string>());
}

void AddEntry(acl::Policy* p, acl::Resource r, uint8_t perm) {
  acl::PolicyEntry e;
  e.resource = std::move(r);
  if (perm & acl::kPub) e.actions |= acl::action::kPub;
  if (perm & acl::kSub) e.actions |= acl::action::kSub;
  if (e.actions == 0 || (perm & acl::kDeny)) {  // DENY and anything unknown: deny all
    e.actions = acl::action::kAll;
    e.decision = acl::Decision::kDeny;
  }
  p->entries.push_back(std::move(e));
}

// Apache's AuthMigrator: each account not yet a user becomes one (admin: Super), its topic and
// group permissions Custom entries, its defaults a Default policy. White addresses are not
// carried over.
Status Migrate(const BrokerConfig& c, acl::AuthStore* store) {
  auto text = ReadFileToString(c.acl_file_path);
  if (!text.ok())
    return Status::InvalidArgument("migrateAuthFromV1Enabled: " + text.status().ToString());
  RJ_ASSIGN_OR_RETURN(auto v1, acl::AclConfig::Parse(*text));
  int imported = 0;
  for (const auto& [key, account] : v1.accounts) {
    if (store->Current()->users.count(key)) continue;
    acl::User u{key, account.secret_key,
                account.admin ? acl::UserType::kSuper : acl::UserType::kNormal,
                acl::UserStatus::kEnable};
    RJ_RETURN_IF_ERROR(store->CreateUser(u));
    acl::Acl a{"User:" + key, {}};
    acl::Policy custom{acl::PolicyType::kCustom, {}};
    for (const auto& [name, perm] : account.resource_perms) {
      const bool group = name.starts_with("%RETRY%");
      AddEntry(&custom,
               acl::Resource::Literal(group ? acl::ResourceType::kGroup : acl::ResourceType::kTopic,
                                      group ? name.substr(7) : name),
               perm);
    }
    acl::Policy defaults{acl::PolicyType::kDefault, {}};
    AddEntry(&defaults, *acl::Resource::Parse("Topic:*"), account.default_topic_perm);
    AddEntry(&defaults, *acl::Resource::Parse("Group:*"), account.default_group_perm);
    if (!custom.entries.empty()) a.policies.push_back(std::move(custom));
    a.policies.push_back(std::move(defaults));
    RJ_RETURN_IF_ERROR(store->UpsertAcl(a));
    ++imported;
  }
  RJ_LOG(kInfo, "auth", "migrateAuthFromV1Enabled: %d account(s) of %s imported", imported,
         c.acl_file_path.c_str());
  return Status::OK();
}

}  // namespace

std::pair<std::string, std::string> BrokerConfig::InnerClientCredentials() const {
  if (inner_client_authentication_credentials.empty()) return {};
  auto p = Pair(inner_client_authentication_credentials, "innerClientAuthenticationCredentials",
                "accessKey", "secretKey");
  return p.ok() ? *p : std::pair<std::string, std::string>{};
}

Result<AuthSetup> SetUpAuth(const BrokerConfig& c) {
  AuthSetup out;
  const std::filesystem::path dir = std::filesystem::path(c.store.root_dir) / "config";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  RJ_ASSIGN_OR_RETURN(out.store, acl::AuthStore::Open((dir / "auth.json").string()));
  if (!c.init_authentication_user.empty()) {
    RJ_ASSIGN_OR_RETURN(
        auto u, Pair(c.init_authentication_user, "initAuthenticationUser", "username", "password"));
    RJ_RETURN_IF_ERROR(out.store->EnsureSuperUser(u.first, u.second));
  }
  if (!c.inner_client_authentication_credentials.empty()) {
    RJ_ASSIGN_OR_RETURN(auto u,
                        Pair(c.inner_client_authentication_credentials,
                             "innerClientAuthenticationCredentials", "accessKey", "secretKey"));
    RJ_RETURN_IF_ERROR(out.store->EnsureSuperUser(u.first, u.second));
  }
  if (c.migrate_auth_from_v1_enabled) RJ_RETURN_IF_ERROR(Migrate(c, out.store.get()));
  acl::AuthOptions o;
  o.authentication = c.authentication_enabled;
  o.authorization = c.authorization_enabled;
  RJ_ASSIGN_OR_RETURN(o.authentication_whitelist, acl::ParseCodeList(c.authentication_whitelist));
  RJ_ASSIGN_OR_RETURN(o.authorization_whitelist, acl::ParseCodeList(c.authorization_whitelist));
  o.cluster_name = c.broker_cluster_name;
  out.authorizer = std::make_unique<acl::Authorizer>(out.store.get(), std::move(o));
  if (out.store->Current()->users.empty()) {
    RJ_LOG(kWarn, "auth",
           "ACL 2.0 is on but there is no user: every request will be refused (set "
           "initAuthenticationUser)");
  }
  return out;
}

}  // namespace ramjet::broker
