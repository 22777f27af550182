#include "client_processor.h"

#include "message_filter.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "system_topics.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;

namespace {

// Every name a heartbeat carries is checked before anything is registered or created.
Status ValidateHeartbeatNames(const protocol::HeartbeatData& hb) {
  for (const auto& c : hb.consumer_data_set) {
    RJ_RETURN_IF_ERROR(ValidateGroupName(c.group_name));
    for (const auto& sub : c.subscription_data_set) {
      RJ_RETURN_IF_ERROR(ValidateStoreTopicName(sub.topic));
    }
  }
  for (const auto& p : hb.producer_groups) RJ_RETURN_IF_ERROR(ValidateGroupName(p));
  return Status::OK();
}

}  // namespace

// Non-TAG subscriptions are compiled here: a bad expression is left out of the registration
// and reported in the answer; the rest of the heartbeat (other groups, other topics) still
// registers, and pulls carrying the bad expression get SUBSCRIPTION_PARSE_FAILED too. With
// enablePropertyFilter=false a SQL92 subscription is registered as Apache RocketMQ does, and
// each of its pulls is refused with a message that names the key.
std::vector<protocol::SubscriptionData> ClientProcessor::CompiledSubscriptions(
    const protocol::ConsumerData& c, std::string* errors, int32_t* error_code) const {
  const bool sql_on = bc_.Live()->enable_property_filter;
  std::vector<protocol::SubscriptionData> good;
  for (const auto& sub : c.subscription_data_set) {
    if (sub.expression_type != "TAG") {
      auto f = MakeSqlFilter(sub, sql_on);
      if (!f.ok() && f.status().code() != StatusCode::kUnavailable) {
        if (!errors->empty()) *errors += "; ";
        *errors += "consumer group " + c.group_name + ", topic " + sub.topic + ": " +
                   std::string(f.status().message());
        *error_code = SubscriptionErrorCode(f.status());
        continue;
      }
    }
    good.push_back(sub);
  }
  return good;
}

Result<std::map<std::string, std::optional<SubscriptionGroupConfig>>> ClientProcessor::EnsureGroups(
    const protocol::HeartbeatData& hb) {
  std::vector<std::string> names;
  for (const auto& c : hb.consumer_data_set) names.push_back(c.group_name);
  auto groups = bc_.groups.FindOrCreateAll(names, bc_.Live()->auto_create_subscription_group);
  if (!groups.ok()) return groups.status();
  std::vector<protocol::TopicConfig> retry_topics;
  for (const auto& [name, g] : *groups) {
    if (!g) continue;
    std::string retry = kRetryGroupTopicPrefix + name;
    if (!ValidateStoreTopicName(retry).ok()) continue;  // a group too long to have one
    retry_topics.push_back(
        BrokerContext::GroupTopicConfig(retry, std::max(1, g->retry_queue_nums)));
  }
  auto added = bc_.topics.AddAllIfAbsent(retry_topics);
  if (!added.ok()) return added.status();
  if (*added > 0) bc_.TopicsChanged();
  return groups;
}

void ClientProcessor::HeartBeat(const RequestContextPtr& ctx) {
  auto hb = protocol::HeartbeatData::Parse(ctx->request().body);
  if (!hb.ok()) {
    return ctx->RespondCode(rc::kSystemError,
                            "bad heartbeat body: " + std::string(hb.status().message()));
  }
  if (Status s = ValidateHeartbeatNames(*hb); !s.ok()) return RespondError(ctx, s);
  ClientChannel ch;
  ch.conn = ctx->connection();
  ch.client_id = hb->client_id;
  ch.language = ctx->request().language;
  ch.version = ctx->request().version;
  ch.last_update_ms = NowMillis();
  std::string sub_errors;
  int32_t sub_error_code = rc::kSuccess;
  for (auto& c : hb->consumer_data_set) {
    c.subscription_data_set = CompiledSubscriptions(c, &sub_errors, &sub_error_code);
  }
  auto groups = EnsureGroups(*hb);
  if (!groups.ok()) return RespondError(ctx, groups.status());
  // Without a connection (a unit test's context) nothing can be registered: the answer is the
  // same.
  if (ch.conn) {
    for (const auto& c : hb->consumer_data_set) {
      const auto& g = (*groups)[c.group_name];
      bool changed = bc_.consumers.Register(c, ch);
      if (changed && (!g || g->notify_consumer_ids_changed_enable)) {
        bc_.NotifyConsumerIdsChanged(c.group_name);
      }
    }
    for (const auto& p : hb->producer_groups) bc_.producers.Register(p, ch);
    // The connection may have closed (and its close listener run) while this heartbeat waited
    // in the executor: undo the registration so no dead client id stays in a group.
    if (ch.conn->closed()) OnConnectionClosed(ch.conn);
  }
  if (sub_error_code != rc::kSuccess) return ctx->RespondCode(sub_error_code, sub_errors);
  ctx->RespondCode(rc::kSuccess);
}

void ClientProcessor::UnregisterClient(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  const uint64_t conn_id = ctx->connection() ? ctx->connection()->id() : 0;
  if (auto p = r.Find("producerGroup"); p && !p->empty()) {
    bc_.producers.Unregister(std::string(*p), conn_id);
  }
  if (auto c = r.Find("consumerGroup"); c && !c->empty()) {
    std::string group(*c);
    if (bc_.consumers.Unregister(group, conn_id)) {
      auto g = bc_.groups.Find(group);
      if (!g || g->notify_consumer_ids_changed_enable) bc_.NotifyConsumerIdsChanged(group);
    }
  }
  ctx->RespondCode(rc::kSuccess);
}

void ClientProcessor::GetConsumerList(const RequestContextPtr& ctx) {
  auto group = ctx->request().GetGroup("consumerGroup");
  if (!group.ok()) return RespondError(ctx, group.status());
  auto ids = bc_.consumers.ClientIds(*group);
  if (ids.empty()) {
    return ctx->RespondCode(rc::kSystemError, "no consumer for this group, " + *group);
  }
  protocol::ConsumerListBody b;
  b.consumer_id_list = std::move(ids);
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = b.ToJson();
  ctx->Respond(std::move(resp));
}

// CHECK_CLIENT_CONFIG: a consumer asks whether its (non-TAG) subscription is acceptable.
void ClientProcessor::CheckClientConfig(const RequestContextPtr& ctx) {
  auto body = protocol::CheckClientRequestBody::Decode(ctx->request().body);
  if (!body.ok()) return RespondError(ctx, body.status());
  const auto& sub = body->subscription;
  if (!sub || sub->expression_type.empty() || sub->expression_type == "TAG") {
    return ctx->RespondCode(rc::kSuccess);
  }
  auto f = MakeSqlFilter(*sub, bc_.Live()->enable_property_filter);
  if (!f.ok()) {
    return ctx->RespondCode(SubscriptionErrorCode(f.status()), std::string(f.status().message()));
  }
  ctx->RespondCode(rc::kSuccess);
}

void ClientProcessor::LockBatchMq(const RequestContextPtr& ctx) {
  auto b = protocol::LockBatchRequestBody::Decode(ctx->request().body);
  if (!b.ok()) return RespondError(ctx, b.status());
  protocol::LockBatchResponseBody out;
  out.lock_ok_mq_set = locks_.TryLock(b->consumer_group, b->client_id, b->mq_set, NowMillis());
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = out.Encode();
  ctx->Respond(std::move(resp));
}

void ClientProcessor::UnlockBatchMq(const RequestContextPtr& ctx) {
  auto b = protocol::LockBatchRequestBody::Decode(ctx->request().body);
  if (!b.ok()) return RespondError(ctx, b.status());
  locks_.Unlock(b->consumer_group, b->client_id, b->mq_set);
  ctx->RespondCode(rc::kSuccess);
}

void ClientProcessor::OnConnectionClosed(const remoting::ConnectionPtr& conn) {
  bc_.producers.OnConnectionClosed(conn->id());
  for (const auto& group : bc_.consumers.OnConnectionClosed(conn->id())) {
    RJ_LOG(kInfo, "broker", "consumer %s of group %s disconnected", conn->remote_address().c_str(),
           group.c_str());
    auto g = bc_.groups.Find(group);
    if (!g || g->notify_consumer_ids_changed_enable) bc_.NotifyConsumerIdsChanged(group);
  }
}

void ClientProcessor::ScanExpiredChannels() {
  const int64_t now = NowMillis();
  const int64_t expire = bc_.Live()->channel_expired_timeout;
  std::set<std::string> changed;
  for (auto& [group, conn] : bc_.consumers.ScanExpired(now, expire)) {
    RJ_LOG(kWarn, "broker", "consumer channel %s of group %s expired, closing it",
           conn->remote_address().c_str(), group.c_str());
    changed.insert(group);
    conn->Close("channel expired");
  }
  for (auto& [group, conn] : bc_.producers.ScanExpired(now, expire)) {
    RJ_LOG(kWarn, "broker", "producer channel %s of group %s expired, closing it",
           conn->remote_address().c_str(), group.c_str());
    conn->Close("channel expired");
  }
  for (const auto& g : changed) bc_.NotifyConsumerIdsChanged(g);
}

}  // namespace ramjet::broker
