#include "ramjet/acl/plain_acl.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "ramjet/acl/signature.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::acl {

namespace req = protocol::request_code;

namespace {

constexpr std::string_view kRetryPrefix = "%RETRY%";
constexpr std::string_view kDlqPrefix = "%DLQ%";
constexpr std::string_view kTraceTopic = "RMQ_SYS_TRACE_TOPIC";

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    size_t next = s.find(sep, at);
    out.push_back(Trim(s.substr(at, next == std::string_view::npos ? s.npos : next - at)));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

// A decimal 0..255, or -1.
int Octet(std::string_view s) {
  if (s.empty() || s.size() > 3) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v <= 255 ? v : -1;
}

std::string RetryTopic(const std::string& group) { return std::string(kRetryPrefix) + group; }

}  // namespace

uint8_t ParsePerm(std::string_view text) {
  const std::string t = Trim(text);
  if (t == "PUB") return kPub;
  if (t == "SUB") return kSub;
  if (t == "PUB|SUB" || t == "SUB|PUB") return kPub | kSub;
  return kDeny;
}

bool CheckPermission(uint8_t needed, uint8_t owned) {
  if ((owned & kDeny) != 0) return false;
  if ((needed & kAny) != 0) return (owned & (kPub | kSub)) != 0;
  return (needed & owned) != 0;
}

bool NeedsAdmin(int32_t code) {
  switch (code) {
    // Apache's Permission.ADMIN_CODE.
    case req::kUpdateAndCreateTopic:
    case req::kUpdateBrokerConfig:
    case req::kDeleteTopicInBroker:
    case req::kUpdateAndCreateSubscriptionGroup:
    case req::kDeleteSubscriptionGroup:
    // Ramjet: the other requests that change what every client sees or loses data.
    case req::kInvokeBrokerToResetOffset:
    case req::kCloneGroupOffset:
    case req::kCleanExpiredConsumequeue:
    case req::kCleanUnusedTopic:
    case req::kUpdateAndCreateAclConfig:
    case req::kDeleteAclConfig:
    case req::kGetBrokerClusterAclInfo:
    case req::kUpdateGlobalWhiteAddrsConfig:
    // Ones that act on other groups' clients or on the cluster (review of issue 16).
    case req::kConsumeMessageDirectly:
    case req::kControllerElectMaster:
    case req::kDeleteExpiredCommitlog:
    case req::kSetMessageRequestMode:
      return true;
    default:
      return false;
  }
}

Result<AddressPattern> AddressPattern::Parse(std::string_view pattern) {
  AddressPattern p;
  const std::string text = Trim(pattern);
  if (text.empty()) return p;  // matches nothing
  if (text == "*" || text == "*.*.*.*" || text == "*:*:*:*:*:*:*:*") {
    p.any_ = true;
    return p;
  }
  for (const std::string& alt : Split(text, text.find('{') == std::string::npos ? ',' : '\0')) {
    if (alt.find(':') != std::string::npos) {  // IPv6: exact
      std::string lower = alt;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      p.exact_.push_back(lower);
      continue;
    }
    std::vector<std::string> parts = Split(alt, '.');
    if (parts.size() != 4) return Status::InvalidArgument("bad white address " + alt);
    // "{a,b,c}" in the last segment: one alternative per value.
    std::vector<std::string> lasts = {parts[3]};
    if (parts[3].size() > 2 && parts[3].front() == '{' && parts[3].back() == '}') {
      lasts = Split(std::string_view(parts[3]).substr(1, parts[3].size() - 2), ',');
    }
    for (const std::string& last : lasts) {
      std::vector<Segment> segs;
      for (int i = 0; i < 4; ++i) {
        const std::string& s = i == 3 ? last : parts[i];
        Segment seg;
        if (s == "*") {
          segs.push_back(seg);
          continue;
        }
        const size_t dash = s.find('-');
        seg.lo = Octet(dash == std::string::npos ? s : s.substr(0, dash));
        seg.hi = dash == std::string::npos ? seg.lo : Octet(s.substr(dash + 1));
        if (seg.lo < 0 || seg.hi < seg.lo) {
          return Status::InvalidArgument("bad white address " + alt);
        }
        segs.push_back(seg);
      }
      p.v4_.push_back(std::move(segs));
    }
  }
  return p;
}

bool AddressPattern::Match(std::string_view ip) const {
  if (any_) return true;
  if (ip.find(':') != std::string_view::npos) {
    std::string lower(ip);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return std::find(exact_.begin(), exact_.end(), lower) != exact_.end();
  }
  std::vector<std::string> parts = Split(ip, '.');
  if (parts.size() != 4) return false;
  int octets[4];
  for (int i = 0; i < 4; ++i) {
    octets[i] = Octet(parts[i]);
    if (octets[i] < 0) return false;
  }
  for (const auto& alt : v4_) {
    bool all = true;
    for (int i = 0; i < 4 && all; ++i) all = octets[i] >= alt[i].lo && octets[i] <= alt[i].hi;
    if (all) return true;
  }
  return false;
}

namespace {

std::string Scalar(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

Status AddPerms(const YAML::Node& list, bool topics, Account* a) {
  if (!list) return Status::OK();
  if (!list.IsSequence()) {
    return Status::InvalidArgument(std::string(topics ? "topicPerms" : "groupPerms") + " of " +
                                   a->access_key + " is not a list");
  }
  for (const auto& item : list) {
    const std::string entry = item.IsScalar() ? item.as<std::string>() : "";
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument("Parse resource permission failed for " +
                                     std::string(topics ? "topic" : "group") + ":" + entry);
    }
    const std::string name = Trim(entry.substr(0, eq));
    a->resource_perms[topics ? name : RetryTopic(name)] = ParsePerm(entry.substr(eq + 1));
  }
  return Status::OK();
}

Result<Account> ParseAccount(const YAML::Node& n) {
  Account a;
  a.access_key = Scalar(n, "accessKey");
  a.secret_key = Scalar(n, "secretKey");
  if (a.access_key.size() < 6 || a.secret_key.size() < 6) {
    // Apache: "The accessKey=%s and secretKey=%s cannot be null and length should longer than 6"
    return Status::InvalidArgument(
        "an account's accessKey and secretKey must be at least 6 "
        "characters (account " +
        a.access_key + ")");
  }
  RJ_ASSIGN_OR_RETURN(a.white_address, AddressPattern::Parse(Scalar(n, "whiteRemoteAddress")));
  const std::string admin = Scalar(n, "admin");
  a.admin = admin == "true" || admin == "True" || admin == "TRUE";
  a.default_topic_perm = ParsePerm(Scalar(n, "defaultTopicPerm"));
  a.default_group_perm = ParsePerm(Scalar(n, "defaultGroupPerm"));
  RJ_RETURN_IF_ERROR(AddPerms(n["topicPerms"], true, &a));
  RJ_RETURN_IF_ERROR(AddPerms(n["groupPerms"], false, &a));
  return a;
}

}  // namespace

Result<AclConfig> AclConfig::Parse(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("plain_acl.yml is not YAML: ") + e.what());
  }
  AclConfig c;
  if (!root || root.IsNull()) return c;
  if (!root.IsMap()) return Status::InvalidArgument("plain_acl.yml is not a mapping");
  try {
    if (const YAML::Node g = root["globalWhiteRemoteAddresses"]; g && g.IsSequence()) {
      for (const auto& item : g) {
        RJ_ASSIGN_OR_RETURN(auto p, AddressPattern::Parse(item.as<std::string>()));
        c.global_white.push_back(std::move(p));
      }
    }
    if (const YAML::Node accounts = root["accounts"]; accounts && accounts.IsSequence()) {
      for (const auto& n : accounts) {
        RJ_ASSIGN_OR_RETURN(Account a, ParseAccount(n));
        if (c.accounts.count(a.access_key)) {
          return Status::InvalidArgument("duplicate accessKey " + a.access_key);
        }
        c.accounts.emplace(a.access_key, std::move(a));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("plain_acl.yml: ") + e.what());
  }
  return c;
}

namespace {

// The resources a request needs (the switch of PlainAccessValidator.parse).
Status AddNeeded(const protocol::RemotingCommand& r, AccessRequest* a) {
  auto field = [&r](std::string_view k) { return std::string(r.Find(k).value_or("")); };
  auto need = [a](const std::string& resource, uint8_t perm) {
    if (!resource.empty() && resource != kRetryPrefix) a->needed[resource] = perm;
  };
  switch (r.code) {
    case req::kSendMessage:
    case req::kSendMessageV2:
    case req::kSendBatchMessage:  // the V2 header
    case req::kSendReplyMessage:
    case req::kSendReplyMessageV2: {
      const bool v2 = r.code != req::kSendMessage && r.code != req::kSendReplyMessage;
      const std::string topic = field(v2 ? "b" : "topic");
      // A group's retry and dead-letter topics are the group's: writing them needs SUB on that
      // group (Apache checks the group the request names instead, which a sender chooses).
      if (topic.starts_with(kRetryPrefix)) {
        need(topic, kSub);
      } else if (topic.starts_with(kDlqPrefix)) {
        need(RetryTopic(topic.substr(kDlqPrefix.size())), kSub);
      } else {
        need(topic, kPub);
      }
      break;
    }
    case req::kConsumerSendMsgBack:
      need(RetryTopic(field("group")), kSub);
      break;
    case req::kPullMessage:
    case req::kLitePullMessage:
      need(field("topic"), kSub);
      need(RetryTopic(field("consumerGroup")), kSub);
      break;
    case req::kQueryMessage:
      need(field("topic"), kSub);
      break;
    case req::kHeartBeat: {
      RJ_ASSIGN_OR_RETURN(auto hb, protocol::HeartbeatData::Parse(r.body));
      for (const auto& c : hb.consumer_data_set) {
        need(RetryTopic(c.group_name), kSub);
        for (const auto& s : c.subscription_data_set) need(s.topic, kSub);
      }
      break;
    }
    case req::kUnregisterClient:
    case req::kGetConsumerListByGroup:
      need(RetryTopic(field("consumerGroup")), kSub);
      break;
    case req::kUpdateConsumerOffset:
      need(RetryTopic(field("consumerGroup")), kSub);
      need(field("topic"), kSub);
      break;
    // POP consumption reads and acknowledges a group's messages: SUB on the group and the topic
    // (PopTopic: the group's own POP retry topic stands for its topic; another group's retry
    // topic needs SUB on that group).
    case req::kPopMessage:
    case req::kAckMessage:
    case req::kPeekMessage:
    case req::kChangeMessageInvisibleTime:
    case req::kNotification:
      need(RetryTopic(field("consumerGroup")), kSub);
      need(PopTopic(field("consumerGroup"), field("topic")), kSub);
      break;
    case req::kBatchAckMessage: {
      auto body = protocol::BatchAckMessageRequestBody::Decode(r.body);
      if (!body.ok()) return Status::PermissionDenied("unreadable BATCH_ACK_MESSAGE body");
      for (const auto& ack : body->acks) {
        need(RetryTopic(ack.consumer_group), kSub);
        need(PopTopic(ack.consumer_group, ack.topic), kSub);
      }
      break;
    }
    default:
      break;
  }
  return Status::OK();
}

}  // namespace

std::string PopTopic(const std::string& group, const std::string& topic) {
  const std::string own = std::string(kRetryPrefix) + group + "_";
  return topic.size() > own.size() && topic.starts_with(own) ? topic.substr(own.size()) : topic;
}

std::string IpWithoutPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  std::string ip(colon == std::string_view::npos ? address : address.substr(0, colon));
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return ip;
}

Result<AccessRequest> ParseRequest(const protocol::RemotingCommand& r,
                                   std::string_view remote_address) {
  AccessRequest a;
  a.code = r.code;
  a.ip = IpWithoutPort(remote_address);
  a.access_key = std::string(r.Find(kAccessKeyField).value_or(""));
  a.signature = std::string(r.Find(kSignatureField).value_or(""));
  if (Status s = AddNeeded(r, &a); !s.ok()) {
    return Status::PermissionDenied("the request cannot be checked: " + std::string(s.message()));
  }
  a.command = &r;
  return a;
}

Status Validate(const AclConfig& config, const AccessRequest& r) {
  for (const auto& w : config.global_white) {
    if (w.Match(r.ip)) return Status::OK();
  }
  if (r.access_key.empty()) return Status::PermissionDenied("No accessKey is configured");
  auto it = config.accounts.find(r.access_key);
  if (it == config.accounts.end()) {
    return Status::PermissionDenied("No acl config for " + r.access_key);
  }
  const Account& owned = it->second;
  if (owned.white_address.Match(r.ip)) return Status::OK();
  if (r.command == nullptr || SignatureOf(*r.command, true, owned.secret_key) != r.signature) {
    return Status::PermissionDenied("Check signature failed for accessKey=" + r.access_key);
  }
  return CheckResources(owned, r.code, r.needed);
}

Status CheckResources(const Account& owned, int32_t code,
                      const std::map<std::string, uint8_t>& resources) {
  if (code >= 0 && NeedsAdmin(code) && !owned.admin) {
    return Status::PermissionDenied(
        "Need admin permission for request code=" + std::to_string(code) +
        ", but accessKey=" + owned.access_key + " is not");
  }
  if (owned.admin && owned.resource_perms.empty()) return Status::OK();
  for (const auto& [resource, needed] : resources) {
    // Message trace: publishing to the trace topic needs no permission (that one resource only:
    // a gRPC batch may mix topics).
    if (resource == kTraceTopic && needed == kPub) continue;
    const bool group = resource.starts_with(kRetryPrefix);
    auto own = owned.resource_perms.find(resource);
    const uint8_t perm = own != owned.resource_perms.end()
                             ? own->second
                             : (group ? owned.default_group_perm : owned.default_topic_perm);
    if (!CheckPermission(needed, perm)) {
      const std::string name =
          group ? "group:" + resource.substr(kRetryPrefix.size()) : "topic:" + resource;
      return Status::PermissionDenied("No default permission for " + name);
    }
  }
  return Status::OK();
}

std::string GrpcSignature(std::string_view date_time, std::string_view secret) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string raw = HmacSha1(date_time, secret);
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Status ValidateGrpc(const AclConfig& config, std::string_view authorization,
                    std::string_view date_time, std::string_view ip,
                    const std::map<std::string, uint8_t>& resources, bool* forbidden) {
  *forbidden = false;
  for (const auto& w : config.global_white) {
    if (w.Match(ip)) return Status::OK();
  }
  // "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=HEX"
  auto value_of = [authorization](std::string_view key) -> std::string {
    const size_t at = authorization.find(key);
    if (at == std::string_view::npos) return "";
    const size_t from = at + key.size();
    const size_t end = authorization.find(',', from);
    return Trim(authorization.substr(from, end == std::string_view::npos ? end : end - from));
  };
  const std::string access_key = value_of("Credential=");
  if (access_key.empty()) return Status::PermissionDenied("No accessKey is configured");
  auto it = config.accounts.find(access_key);
  if (it == config.accounts.end()) {
    return Status::PermissionDenied("No acl config for " + access_key);
  }
  if (it->second.white_address.Match(ip)) return Status::OK();
  if (date_time.empty() ||
      GrpcSignature(date_time, it->second.secret_key) != value_of("Signature=")) {
    return Status::PermissionDenied("Check signature failed for accessKey=" + access_key);
  }
  Status s = CheckResources(it->second, -1, resources);
  *forbidden = !s.ok();
  return s;
}

}  // namespace ramjet::acl
