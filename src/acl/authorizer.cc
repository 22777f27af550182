#include "ramjet/acl/authorizer.h"

#include <algorithm>
#include <cctype>

#include "ramjet/acl/plain_acl.h"
#include "ramjet/acl/signature.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::acl {

namespace req = protocol::request_code;

namespace {

constexpr std::string_view kRetry = "%RETRY%";
constexpr int32_t kVersionV4_9_3 = 399;  // older clients leave _UNIQUE_KEY_QUERY unsigned

// A topic's context; a group's retry topic is the group's, with the same actions (creating or
// deleting %RETRY%G needs Create or Delete on G, not Sub).
AccessContext TopicCtx(const std::string& topic, uint16_t actions) {
  if (topic.starts_with(kRetry)) {
    return {Resource::Literal(ResourceType::kGroup, topic.substr(kRetry.size())), actions};
  }
  return {Resource::Literal(ResourceType::kTopic, topic), actions};
}

AccessContext GroupCtx(const std::string& group, uint16_t actions) {
  std::string g = group.starts_with(kRetry) ? group.substr(kRetry.size()) : group;
  return {Resource::Literal(ResourceType::kGroup, std::move(g)), actions};
}

// Admin and read codes the ACL 1.0 resource table does not cover (Apache's @RocketMQAction
// annotations of their headers).
bool AddAdminContexts(const protocol::RemotingCommand& r, std::string_view cluster,
                      std::vector<AccessContext>* out) {
  auto field = [&r](std::string_view k) { return std::string(r.Find(k).value_or("")); };
  auto topic = [&](uint16_t a) {
    if (!field("topic").empty()) out->push_back(TopicCtx(field("topic"), a));
  };
  auto group = [&](std::string_view key, uint16_t a) {
    if (!field(key).empty()) out->push_back(GroupCtx(field(key), a));
  };
  switch (r.code) {
    case req::kUpdateAndCreateTopic:
      topic(action::kCreate);
      return true;
    case req::kDeleteTopicInBroker:
      topic(action::kDelete);
      return true;
    case req::kDeleteSubscriptionGroup:
      group("groupName", action::kDelete);
      return true;
    case req::kInvokeBrokerToResetOffset:
      group("group", action::kUpdate);
      topic(action::kUpdate);
      return true;
    case req::kEndTransaction:
    case req::kRecallMessage:
      topic(action::kPub);
      return true;
    case req::kQueryConsumerOffset:
      group("consumerGroup", action::kSub | action::kGet);
      topic(action::kSub | action::kGet);
      return true;
    case req::kPopMessage:
    case req::kAckMessage:
    case req::kPeekMessage:
    case req::kChangeMessageInvisibleTime:
    case req::kNotification: {
      group("consumerGroup", action::kSub);
      // A retried message's own retry topic stands for its topic (PopTopic).
      const std::string t = PopTopic(field("consumerGroup"), field("topic"));
      if (!t.empty()) out->push_back(TopicCtx(t, action::kSub));
      return true;
    }
    case req::kViewMessageById:
      // The record is read by its offset, whatever topic the header names: only a caller allowed
      // to read the cluster's messages (Get on Cluster:<cluster>, or a Super user).
      out->push_back(
          {Resource::Literal(ResourceType::kCluster, std::string(cluster)), action::kGet});
      return true;
    case req::kPollingInfo:
      group("consumerGroup", action::kGet);
      topic(action::kGet);
      return true;
    case req::kLockBatchMq:
    case req::kUnlockBatchMq: {
      auto body = protocol::LockBatchRequestBody::Decode(r.body);
      if (!body.ok()) return false;  // ContextsOf refuses what it cannot read
      out->push_back(GroupCtx(body->consumer_group, action::kSub));
      for (const auto& mq : body->mq_set) {
        if (!mq.topic.starts_with(kRetry)) out->push_back(TopicCtx(mq.topic, action::kSub));
      }
      return true;
    }
    case req::kBatchAckMessage: {
      auto body = protocol::BatchAckMessageRequestBody::Decode(r.body);
      if (!body.ok()) return false;  // ContextsOf refuses what it cannot read
      for (const auto& ack : body->acks) {
        out->push_back(GroupCtx(ack.consumer_group, action::kSub));
        out->push_back(TopicCtx(PopTopic(ack.consumer_group, ack.topic), action::kSub));
      }
      return true;
    }
    case req::kSearchOffsetByTimestamp:
    case req::kGetMaxOffset:
    case req::kGetMinOffset:
    case req::kGetEarliestMsgStoretime:
    case req::kGetTopicStatsInfo:
    case req::kQueryTopicConsumeByWho:
      topic(action::kGet);
      return true;
    case req::kGetConsumerConnectionList:
    case req::kGetConsumerRunningInfo:
      group("consumerGroup", action::kGet);
      return true;
    case req::kGetConsumeStats:
      group("consumerGroup", action::kGet);
      topic(action::kGet);
      return true;
    case req::kAuthCreateUser:
    case req::kAuthUpdateUser:
    case req::kAuthDeleteUser:
    case req::kAuthCreateAcl:
    case req::kAuthUpdateAcl:
    case req::kAuthDeleteAcl:
      out->push_back(
          {Resource::Literal(ResourceType::kCluster, std::string(cluster)), action::kUpdate});
      return true;
    case req::kAuthGetUser:
    case req::kAuthListUser:
    case req::kAuthGetAcl:
    case req::kAuthListAcl:
      out->push_back(
          {Resource::Literal(ResourceType::kCluster, std::string(cluster)), action::kGet});
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::set<int32_t>> ParseCodeList(std::string_view text) {
  std::set<int32_t> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item(text.substr(at, comma - at));
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.starts_with("apache.rocketmq.")) item.clear();  // gRPC names: not applied (see README)
    if (!item.empty()) {
      if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 9) {
        return Status::InvalidArgument("'" + item + "' is not a request code");
      }
      out.insert(std::stoi(item));
    }
    at = comma + 1;
  }
  return out;
}

std::vector<AccessContext> ContextsOfResources(const std::map<std::string, uint8_t>& resources) {
  std::vector<AccessContext> out;
  for (const auto& [name, perm] : resources) {
    if (name.starts_with(kRetry)) {
      out.push_back(GroupCtx(name, action::kSub));
      continue;
    }
    uint16_t a = 0;
    if (perm & (kPub | kAny)) a |= action::kPub;
    if (perm & (kSub | kAny)) a |= action::kSub;
    out.push_back(TopicCtx(name, a));
  }
  return out;
}

Result<std::vector<AccessContext>> ContextsOf(const protocol::RemotingCommand& r,
                                              std::string_view cluster_name) {
  std::vector<AccessContext> out;
  if (AddAdminContexts(r, cluster_name, &out)) return out;
  if (r.code == req::kLockBatchMq || r.code == req::kUnlockBatchMq ||
      r.code == req::kBatchAckMessage) {
    return Status::PermissionDenied("parse authorization context error.");
  }
  protocol::RemotingCommand as_v2;
  const protocol::RemotingCommand* parsed = &r;
  if (r.code == req::kSendBatchMessage) {  // a batch names its topic as SEND_MESSAGE_V2 does
    as_v2 = r;
    as_v2.code = req::kSendMessageV2;
    parsed = &as_v2;
  }
  auto a = ParseRequest(*parsed, "");
  if (!a.ok()) return Status::PermissionDenied("parse authorization context error.");
  out = ContextsOfResources(a->needed);
  if (out.empty() && NeedsAdmin(r.code)) {
    out.push_back(
        {Resource::Literal(ResourceType::kCluster, std::string(cluster_name)), action::kUpdate});
  }
  return out;
}

Result<User> Authorizer::Authenticate(const protocol::RemotingCommand& r) const {
  const std::string name(r.Find(kAccessKeyField).value_or(""));
  if (name.empty()) return Status::PermissionDenied("username cannot be null.");
  auto state = store_->Current();
  auto it = state->users.find(name);
  if (it == state->users.end()) return Status::PermissionDenied("User:" + name + " is not found.");
  if (it->second.status == UserStatus::kDisable) {
    return Status::PermissionDenied("User:" + name + " is disabled.");
  }
  const std::string want = SignatureOf(r, r.version <= kVersionV4_9_3, it->second.password);
  if (!ConstantTimeEquals(r.Find(kSignatureField).value_or(""), want)) {
    return Status::PermissionDenied("check signature failed.");
  }
  return it->second;
}

Status Authorizer::Authorize(const User* user, const std::string& subject,
                             const std::vector<AccessContext>& contexts,
                             std::string_view ip) const {
  if (contexts.empty()) return Status::OK();
  if (user == nullptr) {
    return Status::PermissionDenied(
        "Authorization failed. Please verify your access rights and try again.");
  }
  if (user->status == UserStatus::kDisable) {
    return Status::PermissionDenied(subject + " is disabled.");
  }
  if (user->type == UserType::kSuper) return Status::OK();
  auto state = store_->Current();
  auto it = state->acls.find(subject);
  const Acl* acl = it == state->acls.end() ? nullptr : &it->second;
  for (const AccessContext& c : contexts) RJ_RETURN_IF_ERROR(Decide(acl, subject, c, ip));
  return Status::OK();
}

Status Authorizer::Check(const protocol::RemotingCommand& r,
                         const std::string& remote_address) const {
  const bool authenticate = (options_.authentication || options_.authorization) &&
                            !options_.authentication_whitelist.count(r.code);
  std::optional<User> user;  // not authenticated: anonymous (an unsigned AccessKey proves nothing)
  if (authenticate) {
    RJ_ASSIGN_OR_RETURN(user, Authenticate(r));
  }
  if (!options_.authorization || options_.authorization_whitelist.count(r.code)) {
    return Status::OK();
  }
  RJ_ASSIGN_OR_RETURN(auto contexts, ContextsOf(r, options_.cluster_name));
  return Authorize(user ? &*user : nullptr, user ? "User:" + user->name : "", contexts,
                   IpWithoutPort(remote_address));
}

Status Authorizer::CheckGrpc(std::string_view authorization, std::string_view date_time,
                             const std::string& peer_address,
                             const std::map<std::string, uint8_t>& resources) const {
  // "MQv2-HMAC-SHA1 Credential=<ak>[/...], SignedHeaders=x-mq-date-time, Signature=<hex>"
  if (authorization.empty()) return Status::PermissionDenied("username cannot be null.");
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos) {
    return Status::PermissionDenied("authentication header is incorrect.");
  }
  std::map<std::string, std::string> kv;
  std::string_view rest = authorization.substr(space + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string item(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Status::PermissionDenied(
          "authentication keyValues length is incorrect, actual length=1.");
    }
    kv[item.substr(0, eq)] = item.substr(eq + 1);
  }
  std::string name = kv["Credential"];
  name = name.substr(0, name.find('/'));
  if (name.empty()) return Status::PermissionDenied("username cannot be null.");
  if (date_time.empty()) return Status::PermissionDenied("datetime is null.");
  auto state = store_->Current();
  auto it = state->users.find(name);
  if (it == state->users.end()) return Status::PermissionDenied("User:" + name + " is not found.");
  if (it->second.status == UserStatus::kDisable) {
    return Status::PermissionDenied("User:" + name + " is disabled.");
  }
  std::string got = kv["Signature"];
  std::transform(got.begin(), got.end(), got.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!ConstantTimeEquals(got, GrpcSignature(date_time, it->second.password))) {
    return Status::PermissionDenied("check signature failed.");
  }
  if (!options_.authorization) return Status::OK();
  return Authorize(&it->second, "User:" + name, ContextsOfResources(resources),
                   IpWithoutPort(peer_address));
}

std::optional<User> Authorizer::Caller(const protocol::RemotingCommand& r) const {
  auto user = Authenticate(r);  // verified, even when a whitelist skipped authentication
  if (!user.ok()) return std::nullopt;
  return *user;
}

}  // namespace ramjet::acl
