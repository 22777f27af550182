#include "admin_processor.h"

#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/codes.h"
#include "system_topics.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace {

// Bounds of a subscription group's retry settings (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP): a retry
// topic has as many queues as a topic may have.
constexpr int32_t kMaxRetryQueueNums = 1024;
constexpr int32_t kMaxRetryMaxTimes = 1000;

std::vector<protocol::ConnectionInfo> Connections(const std::vector<ClientChannel>& channels) {
  std::vector<protocol::ConnectionInfo> out;
  out.reserve(channels.size());
  for (const auto& c : channels) {
    out.push_back({c.conn->remote_address(), c.client_id, c.language, c.version});
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Topics

bool AdminProcessor::RefusedAsSystemTopic(const RequestContextPtr& ctx, const std::string& topic) {
  const BrokerConfig& config = bc_.config();
  if (!IsSystemTopic(topic, config.broker_cluster_name, config.broker_name)) return false;
  ctx->RespondCode(rc::kSystemError, "The topic[" + topic + "] is conflict with system topic.");
  return true;
}

void AdminProcessor::UpdateAndCreateTopic(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto topic = r.GetTopic("topic");
  if (!topic.ok()) return RespondError(ctx, topic.status());
  if (RefusedAsSystemTopic(ctx, *topic)) return;
  protocol::TopicConfig t;
  t.topic_name = *topic;
  t.read_queue_nums = r.GetInt32Or("readQueueNums", 16);
  t.write_queue_nums = r.GetInt32Or("writeQueueNums", 16);
  t.perm = r.GetInt32Or("perm", 6);
  t.topic_filter_type = std::string(r.Find("topicFilterType").value_or("SINGLE_TAG"));
  t.topic_sys_flag = r.GetInt32Or("topicSysFlag", 0);
  t.order = r.GetBool("order");
  if (t.read_queue_nums <= 0 || t.write_queue_nums <= 0 || t.read_queue_nums > 1024 ||
      t.write_queue_nums > 1024) {
    return ctx->RespondCode(rc::kSystemError, "queue numbers must be in 1..1024");
  }
  auto changed = bc_.topics.Update(t);
  if (!changed.ok()) return RespondError(ctx, changed.status());
  RJ_LOG(kInfo, "broker", "topic %s created/updated by %s: %d/%d queues perm %d", topic->c_str(),
         ctx->remote_address().c_str(), t.read_queue_nums, t.write_queue_nums, t.perm);
  bc_.TopicsChanged();
  ctx->RespondCode(rc::kSuccess);
}

void AdminProcessor::DeleteTopicInBroker(const RequestContextPtr& ctx) {
  auto topic = ctx->request().GetTopic("topic");
  if (!topic.ok()) return RespondError(ctx, topic.status());
  if (RefusedAsSystemTopic(ctx, *topic)) return;
  auto removed = bc_.topics.Delete(*topic);
  if (!removed.ok()) return RespondError(ctx, removed.status());
  bc_.offsets.RemoveTopic(*topic);
  Status s = bc_.store->DeleteTopic(*topic);
  if (!s.ok()) return RespondError(ctx, s);
  bc_.TopicsChanged();
  ctx->RespondCode(rc::kSuccess);
}

void AdminProcessor::GetAllTopicConfig(const RequestContextPtr& ctx) {
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = bc_.topics.Snapshot().ToJson();
  ctx->Respond(std::move(resp));
}

// ---------------------------------------------------------------------------------------------
// Broker configuration

Result<std::shared_ptr<BrokerConfig>> AdminProcessor::NextConfig(
    const std::vector<std::pair<std::string, std::string>>& pairs,
    std::vector<std::string>* next_start) {
  auto current = bc_.Live();
  auto next = std::make_shared<BrokerConfig>(*current);
  ConfigBinder b;
  next->Bind(&b);
  auto refuse = [](std::string why) {
    return Status::InvalidArgument("updateBrokerConfig: " + std::move(why));
  };
  for (const auto& [k, v] : pairs) {
    if (!b.Has(k)) return refuse("unknown key " + EscapeForLog(k));
    const KeyUpdatePolicy policy = b.PolicyOf(k);  // the table row's update column
    if (policy == KeyUpdatePolicy::kRefused) {
      return refuse(k +
                    " cannot be changed remotely; edit the broker's configuration file and "
                    "restart it");
    }
    if (Status s = CheckRemoteUpdate(*current, k, v); !s.ok())
      return refuse(std::string(s.message()));
    if (Status s = b.Set(k, v); !s.ok()) return refuse(std::string(s.message()));
    if (policy == KeyUpdatePolicy::kNextStart) next_start->push_back(k);
  }
  if (Status s = next->Finish(); !s.ok()) return refuse(std::string(s.message()));
  return next;
}

// UPDATE_BROKER_CONFIG: the body is properties text. All keys are checked first (unknown,
// refused or unparsable → SYSTEM_ERROR, nothing changes); then the file given with -c is
// rewritten, and only then does the new configuration become live.
void AdminProcessor::UpdateBrokerConfig(const RequestContextPtr& ctx) {
  auto pairs = ParseProperties(ctx->request().body);
  if (!pairs.ok() || pairs->empty()) {
    return ctx->RespondCode(
        rc::kSystemError,
        "updateBrokerConfig: the body must be key=value lines" +
            (pairs.ok() ? std::string() : ": " + std::string(pairs.status().message())));
  }
  MutexLock l(&update_mu_);
  std::vector<std::string> next_start;
  auto next = NextConfig(*pairs, &next_start);
  if (!next.ok()) return ctx->RespondCode(rc::kSystemError, std::string(next.status().message()));
  const std::string& file = bc_.config().config_file;
  std::string remark;
  if (!file.empty()) {
    auto old = ReadFileToString(file);
    Status s = WriteFileAtomic(file, UpdatePropertiesText(old.ok() ? *old : std::string(), *pairs));
    if (!s.ok()) {
      return ctx->RespondCode(
          rc::kSystemError, "updateBrokerConfig: cannot persist to " + file + ": " + s.ToString());
    }
  } else {
    remark = "not persisted (the broker was started without -c); ";
  }
  auto before = bc_.Live();
  bc_.SetLive(*next);
  AfterConfigChange(*before, **next);
  std::string keys;
  for (const auto& [k, v] : *pairs) {
    keys.append(keys.empty() ? "" : ", ").append(k).append("=").append(v);
  }
  RJ_LOG(kInfo, "broker", "configuration updated by %s: %s", ctx->remote_address().c_str(),
         keys.c_str());
  if (!next_start.empty()) {
    std::string list;
    for (const auto& k : next_start) list += (list.empty() ? "" : ", ") + k;
    remark += "takes effect at the next start: " + list;
  }
  ctx->RespondCode(rc::kSuccess, remark);
}

void AdminProcessor::AfterConfigChange(const BrokerConfig& before, const BrokerConfig& after) {
  if (after.auto_create_topic_enable && !before.auto_create_topic_enable) {
    // TBW102 is removed at start when autoCreateTopicEnable is off: bring the template back.
    protocol::TopicConfig t;
    t.topic_name = kAutoCreateTopicKey;
    t.read_queue_nums = t.write_queue_nums = bc_.config().default_topic_queue_nums;
    t.perm = protocol::kPermRead | protocol::kPermWrite | protocol::kPermInherit;
    auto added = bc_.topics.AddIfAbsent(t);
    if (!added.ok()) {
      RJ_LOG(kWarn, "broker", "recreating %s: %s", kAutoCreateTopicKey,
             added.status().ToString().c_str());
    } else if (*added) {
      bc_.TopicsChanged();
    }
  }
  // The name servers hear about a permission change at once (routes carry it).
  if (after.broker_permission != before.broker_permission) {
    if (Status s = bc_.topics.BumpVersion(); !s.ok()) {
      RJ_LOG(kWarn, "broker", "persisting topics after a permission change: %s",
             s.ToString().c_str());
    }
    bc_.TopicsChanged();
  }
}

void AdminProcessor::GetBrokerConfig(const RequestContextPtr& ctx) {
  BrokerConfig copy = *bc_.Live();
  ConfigBinder b;
  copy.Bind(&b);
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = b.Dump();
  resp.Set("version", bc_.topics.data_version().ToJson());
  ctx->Respond(std::move(resp));
}

// ---------------------------------------------------------------------------------------------
// Subscription groups and connections

void AdminProcessor::UpdateSubscriptionGroup(const RequestContextPtr& ctx) {
  auto body = protocol::SubscriptionGroupConfigBody::Decode(ctx->request().body);
  if (!body.ok()) return ctx->RespondCode(rc::kSystemError, std::string(body.status().message()));
  const SubscriptionGroupConfig& g = *body;
  if (Status s = ValidateGroupName(g.group_name); !s.ok()) return RespondError(ctx, s);
  if (g.retry_queue_nums < 0 || g.retry_queue_nums > kMaxRetryQueueNums) {
    return ctx->RespondCode(rc::kSystemError,
                            "retryQueueNums must be in 0.." + std::to_string(kMaxRetryQueueNums));
  }
  if (g.retry_max_times < -1 || g.retry_max_times > kMaxRetryMaxTimes) {
    return ctx->RespondCode(rc::kSystemError,
                            "retryMaxTimes must be in -1.." + std::to_string(kMaxRetryMaxTimes));
  }
  if (Status s = bc_.groups.Update(g); !s.ok()) return RespondError(ctx, s);
  ctx->RespondCode(rc::kSuccess);
}

void AdminProcessor::DeleteSubscriptionGroup(const RequestContextPtr& ctx) {
  auto group = ctx->request().GetGroup("groupName");
  if (!group.ok()) return RespondError(ctx, group.status());
  auto removed = bc_.groups.Delete(*group);
  if (!removed.ok()) return RespondError(ctx, removed.status());
  if (ctx->request().GetBool("removeOffset")) bc_.offsets.RemoveGroup(*group);
  ctx->RespondCode(rc::kSuccess);
}

// CONTROLLER_ELECT_MASTER (ramjet-admin electMaster): the group's master hands over to member
// brokerId once that member holds all its data (FailoverController::RequestElect).
void AdminProcessor::ElectMaster(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  if (bc_.controller == nullptr)
    return ctx->RespondCode(rc::kSystemError, "the broker is not in controller mode");
  if (r.Find("brokerName").value_or("") != bc_.config().broker_name)
    return ctx->RespondCode(rc::kSystemError, "brokerName is not this broker's group");
  auto id = r.GetInt64("brokerId");
  if (!id.ok()) return RespondError(ctx, id.status());
  Status s = bc_.controller->RequestElect(*id);
  if (!s.ok()) return ctx->RespondCode(rc::kSystemError, std::string(s.message()));
  RJ_LOG(kWarn, "broker", "master switch to member %lld requested by %s",
         static_cast<long long>(*id), ctx->remote_address().c_str());
  ctx->RespondCode(rc::kSuccess);
}

void AdminProcessor::GetProducerConnectionList(const RequestContextPtr& ctx) {
  auto group = ctx->request().GetGroup("producerGroup");
  if (!group.ok()) return RespondError(ctx, group.status());
  auto channels = bc_.producers.Channels(*group);
  if (channels.empty()) return ctx->RespondCode(rc::kSystemError, "the producer group not exist");
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = protocol::ProducerConnectionBody{Connections(channels)}.Encode();
  ctx->Respond(std::move(resp));
}

// GET_CONSUMER_CONNECTION_LIST: the group's live clients, subscriptions and consume settings
// (ConsumerConnection). A group without live clients answers CONSUMER_NOT_ONLINE (206).
void AdminProcessor::GetConsumerConnectionList(const RequestContextPtr& ctx) {
  auto group = ctx->request().GetGroup("consumerGroup");
  if (!group.ok()) return RespondError(ctx, group.status());
  auto g = bc_.consumers.Find(*group);
  protocol::ConsumerConnectionBody body;
  const bool remoting = g && !g->channels.empty();
  if (remoting) {
    body.connection_set = Connections(g->channels);
    body.subscription_table = g->subscriptions;
    body.consume_from_where = g->consume_from_where;
    body.consume_type = g->consume_type;
    body.message_model = g->message_model;
  }
  // 5.x gRPC consumers of the group (they pop: the broker assigns their messages).
  const bool grpc = grpc_consumers_ && grpc_consumers_(*group, &body);
  if (!remoting && !grpc) {
    return ctx->RespondCode(rc::kConsumerNotOnline,
                            "the consumer group[" + *group + "] not online");
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = body.Encode();
  ctx->Respond(std::move(resp));
}

// ---------------------------------------------------------------------------------------------
// Offset reset

std::map<int32_t, int64_t> AdminProcessor::ResetOffsets(const std::string& group,
                                                        const std::string& topic, int32_t queues,
                                                        int64_t timestamp, bool force) {
  std::map<int32_t, int64_t> table;
  for (int32_t q = 0; q < queues; ++q) {
    int64_t target = timestamp < 0 ? bc_.store->GetMaxOffsetInQueue(topic, q).value()
                                   : bc_.store->GetOffsetInQueueByTime(topic, q, timestamp).value();
    int64_t current = bc_.offsets.Query(group, topic, q);
    table[q] = (force || current < 0 || target < current) ? target : current;
    bc_.offsets.Commit(group, topic, q, table[q]);
  }
  return table;
}

// INVOKE_BROKER_TO_RESET_OFFSET: move a group's offsets on a topic to the first message stored
// at or after `timestamp` (-1 = the end) in every queue; with isForce also forward. The new
// offsets are committed here and pushed to every live consumer of the group
// (RESET_CONSUMER_CLIENT_OFFSET), which resumes from them.
void AdminProcessor::InvokeBrokerToResetOffset(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto topic = r.GetTopic("topic");
  auto group = r.GetGroup("group");
  auto ts = r.GetInt64("timestamp");
  for (const Status* s : {&topic.status(), &group.status(), &ts.status()}) {
    if (!s->ok()) return RespondError(ctx, *s);
  }
  bool force = r.Find("isForce") ? r.GetBool("isForce") : true;
  if (!bc_.groups.Find(*group)) {  // RocketMQ's remark, spelling included
    return ctx->RespondCode(rc::kSystemError, "THe consumer group <" + *group + "> not exist");
  }
  auto tc = bc_.topics.Find(*topic);
  if (!tc) {
    return ctx->RespondCode(rc::kTopicNotExist, "[reset-offset] topic does not exist: " + *topic);
  }
  const auto table = ResetOffsets(*group, *topic, tc->write_queue_nums, *ts, force);
  protocol::ResetOffsetBody body;
  for (const auto& [q, off] : table) {
    body.offset_table.push_back({{*topic, bc_.config().broker_name, q}, off});
  }
  int notified = 0;
  if (auto info = bc_.consumers.Find(*group); info && bc_.server) {
    for (const auto& ch : info->channels) {
      RemotingCommand n = RemotingCommand::Request(req::kResetConsumerClientOffset);
      n.Set("topic", *topic);
      n.Set("group", *group);
      n.Set("timestamp", *ts);
      n.Set("isForce", std::string(force ? "true" : "false"));
      n.body = body.Encode(ch.language);
      if (bc_.server->InvokeOneway(ch.conn, std::move(n))) ++notified;
    }
  }
  RJ_LOG(kInfo, "broker", "offsets of group %s on %s reset to time %lld; %d consumers told",
         group->c_str(), topic->c_str(), static_cast<long long>(*ts), notified);
  RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
  resp.body = body.Encode(r.language);
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
