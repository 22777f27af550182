#include "ramjet/acl/auth_model.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

namespace ramjet::acl {

using Json = nlohmann::json;

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::array<std::pair<std::string_view, uint16_t>, 9> kActions = {{
    {"All", action::kAll},
    {"Any", action::kAny},
    {"Pub", action::kPub},
    {"Sub", action::kSub},
    {"Create", action::kCreate},
    {"Update", action::kUpdate},
    {"Delete", action::kDelete},
    {"Get", action::kGet},
    {"List", action::kList},
}};

constexpr std::array<std::pair<std::string_view, ResourceType>, 4> kTypes = {{
    {"Cluster", ResourceType::kCluster},
    {"Namespace", ResourceType::kNamespace},
    {"Topic", ResourceType::kTopic},
    {"Group", ResourceType::kGroup},
}};

std::string_view TypeName(ResourceType t) {
  for (const auto& [name, type] : kTypes) {
    if (type == t) return name;
  }
  return "*";
}

// Parses an address into 16 bytes (IPv4 as v4-mapped); false if it is none.
bool ParseIp(std::string_view text, std::array<unsigned char, 16>* out, bool* v4) {
  const std::string s(text);
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out->fill(0);
    (*out)[10] = (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    *v4 = false;
    return true;
  }
  return false;
}

// "a.b.c.d/n" or "x::/n": the network and its prefix length in the 128-bit space.
bool ParseCidr(std::string_view text, std::array<unsigned char, 16>* net, int* bits) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  bool v4 = false;
  if (!ParseIp(text.substr(0, slash), net, &v4)) return false;
  const std::string len(text.substr(slash + 1));
  if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int n = std::stoi(len);
  if (n > (v4 ? 32 : 128)) return false;
  *bits = v4 ? n + 96 : n;
  return true;
}

bool PrefixEqual(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                 int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

std::optional<std::string> StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::vector<std::string> StringList(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::optional<UserType> ParseUserType(std::string_view s) {
  if (IEquals(s, "Super")) return UserType::kSuper;
  if (IEquals(s, "Normal")) return UserType::kNormal;
  return std::nullopt;
}
std::optional<UserStatus> ParseUserStatus(std::string_view s) {
  if (IEquals(s, "enable")) return UserStatus::kEnable;
  if (IEquals(s, "disable")) return UserStatus::kDisable;
  return std::nullopt;
}
std::optional<Decision> ParseDecision(std::string_view s) {
  if (IEquals(s, "Allow")) return Decision::kAllow;
  if (IEquals(s, "Deny")) return Decision::kDeny;
  return std::nullopt;
}
std::optional<PolicyType> ParsePolicyType(std::string_view s) {
  if (IEquals(s, "Custom")) return PolicyType::kCustom;
  if (IEquals(s, "Default")) return PolicyType::kDefault;
  return std::nullopt;
}
uint16_t ParseAction(std::string_view s) {
  for (const auto& [name, bit] : kActions) {
    if (IEquals(s, name)) return bit;
  }
  return 0;
}
std::string_view Name(UserType t) { return t == UserType::kSuper ? "Super" : "Normal"; }
std::string_view Name(UserStatus s) { return s == UserStatus::kEnable ? "enable" : "disable"; }
std::string_view Name(Decision d) { return d == Decision::kAllow ? "Allow" : "Deny"; }
std::string_view Name(PolicyType t) { return t == PolicyType::kCustom ? "Custom" : "Default"; }

std::vector<std::string> ActionNames(uint16_t actions) {
  std::vector<std::string> out;
  for (const auto& [name, bit] : kActions) {
    if (actions & bit) out.emplace_back(name);
  }
  return out;
}

std::optional<Resource> Resource::Parse(std::string_view text) {
  if (text == "*") return Resource{};
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Resource r;
  bool known = false;
  for (const auto& [name, type] : kTypes) {
    if (IEquals(text.substr(0, colon), name)) {
      r.type = type;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  std::string_view name = text.substr(colon + 1);
  if (name == "*") {
    r.pattern = ResourcePattern::kAny;
  } else if (!name.empty() && name.back() == '*') {
    r.pattern = ResourcePattern::kPrefixed;
    r.name = std::string(name.substr(0, name.size() - 1));
  } else {
    if (name.empty()) return std::nullopt;
    r.pattern = ResourcePattern::kLiteral;
    r.name = std::string(name);
  }
  return r;
}

std::string Resource::Key() const {
  if (type == ResourceType::kAny) return "*";
  std::string out(TypeName(type));
  out += ':';
  switch (pattern) {
    case ResourcePattern::kAny:
      return out + "*";
    case ResourcePattern::kPrefixed:
      return out + name + "*";
    case ResourcePattern::kLiteral:
      return out + name;
  }
  return out;
}

bool Resource::Matches(const Resource& requested) const {
  if (type == ResourceType::kAny) return true;
  if (type != requested.type) return false;
  switch (pattern) {
    case ResourcePattern::kAny:
      return true;
    case ResourcePattern::kPrefixed:
      return requested.name.starts_with(name);
    case ResourcePattern::kLiteral:
      return requested.name == name;
  }
  return false;
}

bool ValidSourceIp(std::string_view text) {
  std::array<unsigned char, 16> a{};
  bool v4 = false;
  int bits = 0;
  return ParseIp(text, &a, &v4) || ParseCidr(text, &a, &bits);
}

bool SourceIpMatches(std::string_view pattern, std::string_view ip) {
  std::array<unsigned char, 16> want{};
  std::array<unsigned char, 16> got{};
  bool v4 = false;
  if (!ParseIp(ip, &got, &v4)) return false;
  int bits = 128;
  if (!ParseIp(pattern, &want, &v4) && !ParseCidr(pattern, &want, &bits)) return false;
  return PrefixEqual(want, got, bits);
}

namespace {

bool EntryMatches(const PolicyEntry& e, const AccessContext& c, std::string_view ip) {
  if (!e.resource.Matches(c.resource)) return false;
  if ((e.actions & action::kAll) == 0 && (e.actions & c.actions) == 0) return false;
  if (e.source_ips.empty()) return true;
  return std::any_of(e.source_ips.begin(), e.source_ips.end(),
                     [ip](const std::string& p) { return SourceIpMatches(p, ip); });
}

// Apache 5.5.0's priority: a typed resource before "*"; literal, prefixed, any; the longer
// prefix; Deny before Allow.
bool Before(const PolicyEntry* a, const PolicyEntry* b) {
  const bool a_any = a->resource.type == ResourceType::kAny;
  const bool b_any = b->resource.type == ResourceType::kAny;
  if (a_any != b_any) return !a_any;
  if (a->resource.pattern != b->resource.pattern) {
    return static_cast<int>(a->resource.pattern) > static_cast<int>(b->resource.pattern);
  }
  if (a->resource.pattern == ResourcePattern::kPrefixed &&
      a->resource.name.size() != b->resource.name.size()) {
    return a->resource.name.size() > b->resource.name.size();
  }
  return a->decision == Decision::kDeny && b->decision == Decision::kAllow;
}

}  // namespace

Status Decide(const Acl* acl, const std::string& subject, const AccessContext& c,
              std::string_view ip) {
  const std::string prefix =
      subject + " has no permission to access " + c.resource.Key() + " from " + std::string(ip);
  if (acl == nullptr) return Status::PermissionDenied(prefix + ", no matched policies.");
  for (PolicyType type : {PolicyType::kCustom, PolicyType::kDefault}) {
    std::vector<const PolicyEntry*> matched;
    for (const Policy& p : acl->policies) {
      if (p.type != type) continue;
      for (const PolicyEntry& e : p.entries) {
        if (EntryMatches(e, c, ip)) matched.push_back(&e);
      }
    }
    if (matched.empty()) continue;
    std::stable_sort(matched.begin(), matched.end(), Before);
    if (matched.front()->decision == Decision::kDeny) {
      return Status::PermissionDenied(prefix + ", the decision is deny.");
    }
    return Status::OK();
  }
  return Status::PermissionDenied(prefix + ", no matched policies.");
}

Result<UserInfo> UserInfo::Parse(std::string_view json) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("the user body is not a JSON object");
  }
  UserInfo u;
  u.username = StringField(j, "username");
  u.password = StringField(j, "password");
  u.user_type = StringField(j, "userType");
  u.user_status = StringField(j, "userStatus");
  return u;
}

UserInfo UserInfo::Of(const User& u) {
  return {u.name, u.password, std::string(Name(u.type)), std::string(Name(u.status))};
}

namespace {
Json UserJson(const UserInfo& u) {
  Json j = Json::object();
  if (u.username) j["username"] = *u.username;
  if (u.password) j["password"] = *u.password;
  if (u.user_type) j["userType"] = *u.user_type;
  if (u.user_status) j["userStatus"] = *u.user_status;
  return j;
}

Json AclJson(const Acl& acl) {
  Json policies = Json::array();
  for (const Policy& p : acl.policies) {
    Json entries = Json::array();
    for (const PolicyEntry& e : p.entries) {
      Json entry = {{"resource", e.resource.Key()},
                    {"actions", ActionNames(e.actions)},
                    {"decision", std::string(Name(e.decision))}};
      if (!e.source_ips.empty()) entry["sourceIps"] = e.source_ips;
      entries.push_back(std::move(entry));
    }
    policies.push_back({{"policyType", std::string(Name(p.type))}, {"entries", entries}});
  }
  return {{"subject", acl.subject}, {"policies", policies}};
}
}  // namespace

std::string UserInfo::ToJson() const { return UserJson(*this).dump(); }

std::string UsersToJson(const std::vector<User>& users, bool with_passwords) {
  Json a = Json::array();
  for (const User& u : users) {
    UserInfo info = UserInfo::Of(u);
    if (!with_passwords) info.password.reset();
    a.push_back(UserJson(info));
  }
  return a.dump();
}

std::string AclToJson(const Acl& acl) { return AclJson(acl).dump(); }

Result<std::vector<UserInfo>> ParseUserInfos(std::string_view json) {
  std::vector<UserInfo> out;
  if (json.empty()) return out;
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Status::InvalidArgument("not a JSON array");
  for (const Json& u : j) {
    RJ_ASSIGN_OR_RETURN(auto info, UserInfo::Parse(u.dump()));
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<Acl>> ParseAclInfos(std::string_view json) {
  std::vector<Acl> out;
  if (json.empty()) return out;
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Status::InvalidArgument("not a JSON array");
  for (const Json& a : j) {
    RJ_ASSIGN_OR_RETURN(auto acl, ParseAclInfo(a.dump(), ""));
    out.push_back(std::move(acl));
  }
  return out;
}

std::string AclsToJson(const std::vector<Acl>& acls) {
  Json a = Json::array();
  for (const Acl& acl : acls) a.push_back(AclJson(acl));
  return a.dump();
}

Result<Acl> ParseAclInfo(std::string_view json, std::string_view header_subject) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("The body of acl is null, or not a JSON object.");
  }
  Acl acl;
  auto subject = StringField(j, "subject");
  acl.subject = subject && subject->starts_with("User:") ? *subject : std::string(header_subject);
  if (!acl.subject.starts_with("User:") || acl.subject.size() == 5) {
    return Status::PermissionDenied("The subject is null.");
  }
  auto policies = j.find("policies");
  if (policies == j.end() || !policies->is_array() || policies->empty()) {
    return Status::PermissionDenied("The policies is empty.");
  }
  for (const Json& pj : *policies) {
    if (!pj.is_object()) return Status::PermissionDenied("The policy entries is empty.");
    Policy p;
    p.type =
        ParsePolicyType(StringField(pj, "policyType").value_or("")).value_or(PolicyType::kCustom);
    auto entries = pj.find("entries");
    if (entries == pj.end() || !entries->is_array() || entries->empty()) {
      return Status::PermissionDenied("The policy entries is empty.");
    }
    for (const Json& ej : *entries) {
      if (!ej.is_object()) return Status::PermissionDenied("The resource is null.");
      PolicyEntry e;
      auto resource = Resource::Parse(StringField(ej, "resource").value_or(""));
      if (!resource) return Status::PermissionDenied("The resource is null.");
      e.resource = *resource;
      for (const std::string& a : StringList(ej, "actions")) e.actions |= ParseAction(a);
      if (e.actions == 0) return Status::PermissionDenied("The actions is empty.");
      if (e.actions & action::kAny) return Status::PermissionDenied("The actions can not be Any.");
      for (const std::string& ip : StringList(ej, "sourceIps")) {
        if (ip.empty()) return Status::PermissionDenied("The source ip is empty.");
        if (!ValidSourceIp(ip)) return Status::PermissionDenied("The source ip is invalid.");
        e.source_ips.push_back(ip);
      }
      auto decision = ParseDecision(StringField(ej, "decision").value_or(""));
      if (!decision) return Status::PermissionDenied("The decision is null or illegal.");
      e.decision = *decision;
      p.entries.push_back(std::move(e));
    }
    acl.policies.push_back(std::move(p));
  }
  return acl;
}

}  // namespace ramjet::acl
