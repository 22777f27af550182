// ACL 2.0 (RocketMQ 5.3+): users, and per-user policies of resource patterns, actions, source
// addresses and a decision; their JSON bodies (UserInfo, AclInfo of the AUTH_* request codes);
// and how a request's (resource, actions, address) is decided against a user's policies, as
// Apache 5.5.0's AclAuthorizationHandler does. Facts: docs/formats/acl2-facts.md.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/base/status.h"

namespace ramjet::acl {

enum class UserType { kSuper, kNormal };
enum class UserStatus { kEnable, kDisable };
enum class Decision { kAllow, kDeny };
enum class PolicyType { kCustom, kDefault };
enum class ResourceType { kAny, kCluster, kNamespace, kTopic, kGroup };
enum class ResourcePattern { kAny, kPrefixed, kLiteral };

// Action bits (Apache's Action enum); names as written on the wire: All, Any, Pub, Sub, Create,
// Update, Delete, Get, List.
namespace action {
inline constexpr uint16_t kAll = 1;
inline constexpr uint16_t kAny = 1 << 1;
inline constexpr uint16_t kPub = 1 << 2;
inline constexpr uint16_t kSub = 1 << 3;
inline constexpr uint16_t kCreate = 1 << 4;
inline constexpr uint16_t kUpdate = 1 << 5;
inline constexpr uint16_t kDelete = 1 << 6;
inline constexpr uint16_t kGet = 1 << 7;
inline constexpr uint16_t kList = 1 << 8;
}  // namespace action

// Case-insensitive parses (nullopt: unknown name) and the wire spellings.
std::optional<UserType> ParseUserType(std::string_view s);
std::optional<UserStatus> ParseUserStatus(std::string_view s);
std::optional<Decision> ParseDecision(std::string_view s);
std::optional<PolicyType> ParsePolicyType(std::string_view s);
uint16_t ParseAction(std::string_view s);  // 0: unknown (dropped, as Apache)
std::string_view Name(UserType t);
std::string_view Name(UserStatus s);
std::string_view Name(Decision d);
std::string_view Name(PolicyType t);
std::vector<std::string> ActionNames(uint16_t actions);

struct User {
  std::string name;
  std::string password;
  UserType type = UserType::kNormal;
  UserStatus status = UserStatus::kEnable;
};

// "*", "Topic:*", "Topic:abc*" (prefix), "Topic:abc" (literal); types Cluster, Namespace, Topic,
// Group (case-insensitive on input).
struct Resource {
  ResourceType type = ResourceType::kAny;
  std::string name;
  ResourcePattern pattern = ResourcePattern::kAny;
  static std::optional<Resource> Parse(std::string_view text);
  static Resource Literal(ResourceType type, std::string name) {
    return {type, std::move(name), ResourcePattern::kLiteral};
  }
  std::string Key() const;  // the written form
  // Whether this pattern covers `requested` (a literal resource).
  bool Matches(const Resource& requested) const;
  bool operator==(const Resource&) const = default;
};

// An address or CIDR of a policy entry (IPv4 or IPv6).
bool ValidSourceIp(std::string_view text);
bool SourceIpMatches(std::string_view pattern, std::string_view ip);

struct PolicyEntry {
  Resource resource;
  uint16_t actions = 0;
  std::vector<std::string> source_ips;  // empty: any address
  Decision decision = Decision::kAllow;
};

struct Policy {
  PolicyType type = PolicyType::kCustom;
  std::vector<PolicyEntry> entries;
};

struct Acl {
  std::string subject;  // "User:<name>"
  std::vector<Policy> policies;
};

// What a request asks for: one resource, with the actions of which any one suffices.
struct AccessContext {
  Resource resource;  // literal
  uint16_t actions = 0;
};

// The decision of one context for `subject` from `ip` under `acl` (null: the user has none):
// OK, or PermissionDenied with Apache's text ("User:bob has no permission to access Topic:t1
// from 127.0.0.1, no matched policies." / "..., the decision is deny.").
Status Decide(const Acl* acl, const std::string& subject, const AccessContext& context,
              std::string_view ip);

// JSON bodies. UserInfo fields are optional on input (update); unknown enum names become
// nullopt, as Apache's lenient parse does.
struct UserInfo {
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> user_type;
  std::optional<std::string> user_status;
  static Result<UserInfo> Parse(std::string_view json);
  static UserInfo Of(const User& u);
  std::string ToJson() const;
};
// with_passwords false: the password field is left out.
std::string UsersToJson(const std::vector<User>& users, bool with_passwords = true);
// A JSON array of UserInfo / AclInfo (an empty text: none).
Result<std::vector<UserInfo>> ParseUserInfos(std::string_view json);
Result<std::vector<Acl>> ParseAclInfos(std::string_view json);

// AclInfo: {"subject":"User:x","policies":[{"policyType":"Custom","entries":[{"resource":
// "Topic:t","actions":["Pub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}]}]}. Parse checks
// the entries with Apache's texts ("The resource is null.", "The actions is empty.", ...).
Result<Acl> ParseAclInfo(std::string_view json, std::string_view header_subject);
std::string AclToJson(const Acl& acl);
std::string AclsToJson(const std::vector<Acl>& acls);

}  // namespace ramjet::acl
