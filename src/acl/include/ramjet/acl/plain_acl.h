// RocketMQ ACL 1.0 (plain_acl.yml, RocketMQ 4.4 - 5.2): accounts with an access key, a secret
// key, a white address, an admin flag, default topic / group permissions and per-topic /
// per-group permissions, plus global white addresses. What a request needs is decided as
// Apache's PlainAccessValidator.parse does (send: PUB on the topic; pull, heartbeat, offsets:
// SUB on the topic and on the group, a group being its %RETRY% topic), and checked as
// PlainPermissionManager.validate does, with its refusal texts. Two differences, both stricter:
// Ramjet's admin codes are a superset of Apache's five (NeedsAdmin), and a send to a group's
// %RETRY% or %DLQ% topic needs SUB on that group (Apache checks the group the request names).
// Threading: values; Validate is const and may run on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::acl {

// Permission bits (org.apache.rocketmq.acl.common.Permission).
inline constexpr uint8_t kDeny = 1;
inline constexpr uint8_t kAny = 1 << 1;
inline constexpr uint8_t kPub = 1 << 2;
inline constexpr uint8_t kSub = 1 << 3;

// "PUB", "SUB", "PUB|SUB", "SUB|PUB", "DENY"; anything else is DENY (as Apache).
uint8_t ParsePerm(std::string_view text);
bool CheckPermission(uint8_t needed, uint8_t owned);
// Request codes only an admin account may send.
bool NeedsAdmin(int32_t request_code);

// A white address pattern: "" (matches nothing), "*" (everything), an IPv4 address whose
// segments may be "*", "a-b" or (the last) "{a,b,c}", or a comma-separated list of those; IPv6
// addresses compare exactly.
class AddressPattern {
 public:
  static Result<AddressPattern> Parse(std::string_view pattern);
  bool Match(std::string_view ip) const;

 private:
  struct Segment {
    int lo = 0;
    int hi = 255;
  };
  std::vector<std::vector<Segment>> v4_;  // alternatives, 4 segments each
  std::vector<std::string> exact_;        // IPv6 (lower case)
  bool any_ = false;
};

struct Account {
  std::string access_key;
  std::string secret_key;
  AddressPattern white_address;
  bool admin = false;
  uint8_t default_topic_perm = kDeny;
  uint8_t default_group_perm = kDeny;
  std::map<std::string, uint8_t> resource_perms;  // topics by name, groups as %RETRY%<group>
};

struct AclConfig {
  std::vector<AddressPattern> global_white;
  std::map<std::string, Account> accounts;  // by access key
  // plain_acl.yml: globalWhiteRemoteAddresses, accounts (accessKey, secretKey,
  // whiteRemoteAddress, admin, defaultTopicPerm, defaultGroupPerm, topicPerms, groupPerms as
  // "name=PERM" lists). A malformed file, a missing key or a duplicate access key is an error.
  static Result<AclConfig> Parse(std::string_view yaml);
};

// The topic a POP request of `group` reads: the group's own POP retry topic
// (%RETRY%<group>_<topic>) stands for <topic>; any other name, another group's retry topic
// included, is the topic to check as it is.
std::string PopTopic(const std::string& group, const std::string& topic);

// What one request presents and needs (PlainAccessValidator.parse).
// "ip:port" / "[v6]:port" -> the address alone (what white addresses and source IPs match).
std::string IpWithoutPort(std::string_view address);

struct AccessRequest {
  int32_t code = 0;
  std::string ip;  // the client's address without its port
  std::string access_key;
  std::string signature;
  std::map<std::string, uint8_t> needed;  // resource -> permission
  // The request itself (what the signature covers); it must outlive the AccessRequest.
  const protocol::RemotingCommand* command = nullptr;
};
Result<AccessRequest> ParseRequest(const protocol::RemotingCommand& r,
                                   std::string_view remote_address);

// PlainPermissionManager.validate: OK, or kPermissionDenied with RocketMQ's text (never the
// secret).
Status Validate(const AclConfig& config, const AccessRequest& request);

// 5.x gRPC clients sign each call: authorization = "MQv2-HMAC-SHA1 Credential=<accessKey>,
// SignedHeaders=x-mq-date-time, Signature=<upper-case hex HmacSHA1(secretKey, x-mq-date-time)>".
std::string GrpcSignature(std::string_view date_time, std::string_view secret);
// A gRPC call: its caller is an account of the file (or comes from a white address), then the
// account holds the permissions the call needs on `resources` (topics by name, groups as
// %RETRY%<group>), with the texts of Validate; ip without port. *forbidden tells a permission
// refusal (FORBIDDEN) from an authentication one (UNAUTHORIZED).
Status ValidateGrpc(const AclConfig& config, std::string_view authorization,
                    std::string_view date_time, std::string_view ip,
                    const std::map<std::string, uint8_t>& resources, bool* forbidden);

// Whether the account may send request `code` (-1: no code, gRPC) touching `resources`:
// admin codes, default and per-resource permissions (the second half of Validate).
Status CheckResources(const Account& owned, int32_t code,
                      const std::map<std::string, uint8_t>& resources);

}  // namespace ramjet::acl
