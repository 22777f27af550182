#include "send_processor.h"

#include <algorithm>
#include <cstring>

#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "recall.h"
#include "requeue.h"
#include "system_topics.h"
#include "timer_service.h"
#include "transaction_service.h"

namespace ramjet::broker {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;

namespace {

constexpr uint32_t kHostV6Flags = message::kSysFlagBornHostV6 | message::kSysFlagStoreHostV6;

// Batch-level properties go into every message of the batch, except keys the message has
// itself: the 5.x client gives the batch a UNIQ_KEY of its own, which must not replace each
// message's (apache/rocketmq #9416).
void AppendMissingProperties(
    const std::vector<std::pair<std::string_view, std::string_view>>& batch, std::string* inner) {
  std::vector<std::string_view> own;
  for (const auto& [k, v] : message::ParseProperties(*inner)) own.push_back(k);
  for (const auto& [k, v] : batch) {
    if (std::find(own.begin(), own.end(), k) != own.end()) continue;
    if (!inner->empty() && inner->back() != message::kPropertySeparator) {
      inner->push_back(message::kPropertySeparator);
    }
    inner->append(k).push_back(message::kNameValueSeparator);
    inner->append(v).push_back(message::kPropertySeparator);
  }
}

}  // namespace

void SendProcessor::RefuseSend(const RequestContextPtr& ctx, int32_t code, std::string remark) {
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), code, std::move(remark));
  auto live = bc_.Live();
  resp.Set("MSG_REGION", live->region_id);
  resp.Set("TRACE_ON", std::string(live->trace_on ? "true" : "false"));
  ctx->Respond(std::move(resp));
}

void SendProcessor::RefuseSend(const RequestContextPtr& ctx, const Status& s) {
  RefuseSend(ctx, rc::kSystemError, std::string(s.message()));
}

Result<std::optional<TopicSendFields>> SendProcessor::TopicForSend(
    const SendHeader& h, const BrokerConfig& live, std::shared_ptr<TopicRuntime>* runtime) {
  if (auto t = bc_.topics.FindForSend(h.topic, runtime)) return t;
  bool created = false;
  std::optional<protocol::TopicConfig> t;
  // autoCreateTopicEnable (changeable at runtime) decides whether TBW102 is a template.
  if (live.auto_create_topic_enable || h.default_topic != kAutoCreateTopicKey) {
    RJ_ASSIGN_OR_RETURN(t, bc_.topics.CreateForSend(h.topic, h.default_topic,
                                                    h.default_topic_queue_nums, &created));
  }
  if (!t && h.topic.starts_with(kRetryGroupTopicPrefix)) {
    RJ_RETURN_IF_ERROR(bc_.EnsureGroupTopic(h.topic, 1));
    t = bc_.topics.Find(h.topic);
  }
  if (created) bc_.TopicsChanged();
  if (!t) return std::optional<TopicSendFields>();
  return std::optional(TopicSendFields::Of(*t));
}

std::optional<SendProcessor::Target> SendProcessor::Admit(const RequestContextPtr& ctx,
                                                          SendHeader* h, const BrokerConfig& live) {
  const BrokerConfig& config = bc_.config();
  if (config.IsSlave()) {
    RefuseSend(ctx, rc::kServiceNotAvailable,
               "service not available now: the broker[" + config.broker_name + ", " +
                   config.BrokerAddr() + "] is a slave; messages are sent to its master");
    return std::nullopt;
  }
  if (bc_.controller != nullptr && !bc_.controller->Writable()) {
    RefuseSend(ctx, rc::kServiceNotAvailable,
               "service not available now: the broker[" + config.broker_name + ", " +
                   config.BrokerAddr() +
                   "] is no longer its group's master (its controller lease lapsed, or it is "
                   "handing over)");
    return std::nullopt;
  }
  if ((live.broker_permission & protocol::kPermWrite) == 0) {
    RefuseSend(ctx, rc::kNoPermission,
               "the broker[" + config.broker_name + ", " + config.BrokerAddr() +
                   "] sending message is forbidden");
    return std::nullopt;
  }
  if (IsSendForbiddenTopic(h->topic)) {
    RefuseSend(ctx, rc::kNoPermission, "Sending message to topic[" + h->topic + "] is forbidden.");
    return std::nullopt;
  }
  Target target{{}, h->queue_id, nullptr};
  auto topic = TopicForSend(*h, live, &target.runtime);
  if (!topic.ok()) {
    RefuseSend(ctx, topic.status());
    return std::nullopt;
  }
  if (!*topic) {
    RefuseSend(ctx, rc::kTopicNotExist,
               "topic[" + h->topic + "] not exist, apply first please!" +
                   std::string(protocol::kFaqSuffix));
    return std::nullopt;
  }
  const TopicSendFields& fields = **topic;
  if (auto choice = ChooseWriteQueue(fields.perm, fields.read_queue_nums, fields.write_queue_nums,
                                     &target.queue_id);
      choice != QueueChoice::kOk) {
    // The remark prints the whole config: looked up again on this rare path.
    auto config = bc_.topics.Find(h->topic);
    if (!config) {
      RefuseSend(ctx, rc::kTopicNotExist,
                 "topic[" + h->topic + "] not exist, apply first please!" +
                     std::string(protocol::kFaqSuffix));
      return std::nullopt;
    }
    Refusal refused =
        WriteQueueRefusal(choice, h->topic, *config, target.queue_id, ctx->remote_address());
    RefuseSend(ctx, refused.code, refused.remark);
    return std::nullopt;
  }
  if (bc_.store->IsDiskFull()) {
    RefuseSend(ctx, rc::kServiceNotAvailable, "service not available now: the disk is full");
    return std::nullopt;
  }
  if (!RouteExhaustedRetry(ctx, h, live, &target)) return std::nullopt;
  // The header's name moves into the target (no copy per send), unless the DLQ took its place.
  if (target.topic.empty()) target.topic = std::move(h->topic);
  return target;
}

bool SendProcessor::RouteExhaustedRetry(const RequestContextPtr& ctx, SendHeader* h,
                                        const BrokerConfig& live, Target* target) {
  if (!h->topic.starts_with(kRetryGroupTopicPrefix)) return true;
  std::string group = h->topic.substr(strlen(kRetryGroupTopicPrefix));
  auto g = bc_.groups.FindOrCreate(group, live.auto_create_subscription_group);
  if (!g.ok()) {
    RefuseSend(ctx, g.status());
    return false;
  }
  if (!*g) {
    RefuseSend(ctx, rc::kSubscriptionGroupNotExist, "subscription group not exist, " + group);
    return false;
  }
  int32_t max = (*g)->retry_max_times;
  if (ctx->request().version >= 121 && h->max_reconsume_times >= 0) max = h->max_reconsume_times;
  if (h->reconsume_times < max) return true;
  target->topic = kDlqGroupTopicPrefix + group;
  if (Status s = bc_.EnsureGroupTopic(target->topic, 1); !s.ok()) {
    RefuseSend(ctx, s);
    return false;
  }
  target->queue_id = 0;
  target->runtime.reset();  // the DLQ topic's, not the retry topic's
  h->properties = EditProperties(h->properties, {"DELAY"}, {});
  return true;
}

void SendProcessor::ProcessSend(const RequestContextPtr& ctx) {
  const int64_t start_ms = NowMillis();
  auto header = ParseSendHeader(ctx->request());
  if (!header.ok()) return RefuseSend(ctx, header.status());
  SendHeader& h = *header;
  const auto live = bc_.Live();  // one snapshot per request
  auto target = Admit(ctx, &h, *live);
  if (!target) return;
  const bool prepared = message::FindProperty(h.properties, "TRAN_MSG") == "true";
  if (prepared && live->reject_transaction_message) {
    return RefuseSend(
        ctx, rc::kNoPermission,
        "the broker[" + bc_.config().broker_name + "] sending transaction message is forbidden");
  }
  if (prepared && h.batch) {
    return RefuseSend(ctx, rc::kMessageIllegal, "batch messages cannot be transactional");
  }
  auto born = message::HostAddress::Parse(ctx->remote_address());
  message::HostAddress born_host = born.ok() ? *born : message::HostAddress::V4(0, 0, 0, 0, 0);
  bool wait_store_ok = message::FindProperty(h.properties, "WAIT") != "false";
  if (h.batch) {
    return SendBatch(ctx, h, std::make_shared<std::string>(std::move(target->topic)),
                     target->queue_id, born_host, wait_store_ok, start_ms);
  }
  SendOne(ctx, h, std::move(*target), born_host, wait_store_ok, start_ms);
}

void SendProcessor::SendOne(const RequestContextPtr& ctx, SendHeader& h, Target target,
                            const message::HostAddress& born_host, bool wait_store_ok,
                            int64_t start_ms) {
  const BrokerConfig& config = bc_.config();
  const bool prepared = message::FindProperty(h.properties, "TRAN_MSG") == "true";
  // The strings the store's views point into until its callback (one allocation per send).
  struct Stored {
    std::string topic;
    std::string props;
  };
  // A half message keeps the client's WAIT: RocketMQ 4.9 stores it, and the committed message
  // carries the half message's properties.
  auto stored = std::make_shared<Stored>(
      Stored{std::move(target.topic),
             prepared ? EditProperties(h.properties, {}, {{"CLUSTER", config.broker_cluster_name}})
                      : StoredSendProperties(h.properties, config.broker_cluster_name)});
  std::shared_ptr<std::string> shared_topic(stored, &stored->topic);
  std::string* props = &stored->props;
  int32_t queue_id = target.queue_id;
  const int32_t response_qid = queue_id;
  const int32_t tt = h.sys_flag & message::kTransactionTypeMask;
  std::string recall_handle;  // a timer message's (RecallMessage)
  if (prepared) {
    // A half message: invisible until END_TRANSACTION commits it.
    TransactionService::ToHalf(shared_topic.get(), &queue_id, props, &h.sys_flag);
  } else if (tt != message::kTransactionPreparedType && tt != message::kTransactionRollbackType) {
    std::optional<int64_t> timer;
    if (config.timer_wheel_enable) {
      auto t = TimerService::ToTimer(shared_topic.get(), &queue_id, props, NowMillis(),
                                     config.timer_max_delay_sec * 1000);
      if (!t.ok()) return RefuseSend(ctx, rc::kMessageIllegal, std::string(t.status().message()));
      timer = *t;
    }
    if (!timer) ApplyDelay(shared_topic.get(), &queue_id, props);
    if (timer) {
      recall_handle =
          RecallHandle{std::string(message::FindProperty(*props, "REAL_TOPIC")), config.broker_name,
                       *timer, std::string(message::FindProperty(*props, "UNIQ_KEY"))}
              .Encode();
    }
  }
  PutReply reply;
  reply.queue_id = response_qid;
  reply.start_ms = start_ms;
  reply.wait_store_ok = wait_store_ok;
  reply.recall_handle = std::move(recall_handle);
  // The topic's send state serves while the message goes where the client sent it (not to the
  // half, timer or schedule topic, nor to another queue).
  store::QueueHandle* queue = nullptr;  // alive with reply.runtime (captured below)
  if (target.runtime != nullptr && *shared_topic == target.runtime->topic()) {
    reply.runtime = std::move(target.runtime);
    if (queue_id == target.queue_id) queue = reply.runtime->Queue(bc_.store.get(), queue_id);
  }
  reply.topic = std::move(shared_topic);
  message::MessageInput msg;
  // The handle's own name (equal: TopicRuntime resolves its handles under its topic, checked
  // just above), through which the store checks the handle by address, not by content.
  msg.topic = queue != nullptr ? std::string_view(queue->topic()) : std::string_view(*reply.topic);
  msg.queue_id = queue_id;
  msg.flag = h.flag;
  msg.body = ctx->request().body;
  msg.properties = *props;
  msg.sys_flag = h.sys_flag & ~kHostV6Flags;
  msg.born_timestamp = h.born_timestamp;
  msg.born_host = born_host;
  msg.reconsume_times = h.reconsume_times;
  store::DeferredAppends defer(DeferAppends(*ctx));
  bc_.store->PutMessageAsync(
      msg, wait_store_ok,
      [this, ctx, stored = std::move(stored),
       reply = std::move(reply)](const Result<store::PutResult>& res) mutable {
        (void)stored;  // kept alive until the store is done with the views
        RespondPut(ctx, res, std::move(reply));
      },
      queue);
}

bool SendProcessor::SplitBatch(const RequestContextPtr& ctx, const SendHeader& h,
                               std::vector<std::pair<size_t, size_t>>* bodies,
                               std::vector<int32_t>* flags, std::vector<std::string>* props) {
  const std::string& body = ctx->request().body;
  // Batch-level properties are appended to every message (WAIT dropped, CLUSTER added).
  const std::string batch_props =
      StoredSendProperties(h.properties, bc_.config().broker_cluster_name);
  const auto batch_pairs = message::ParseProperties(batch_props);
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.size() - pos < 20) {
      RefuseSend(ctx, rc::kMessageIllegal, "batch body truncated at byte " + std::to_string(pos));
      return false;
    }
    int32_t total = static_cast<int32_t>(DecodeBE32(body.data() + pos));
    int32_t flag = static_cast<int32_t>(DecodeBE32(body.data() + pos + 12));
    int32_t body_len = static_cast<int32_t>(DecodeBE32(body.data() + pos + 16));
    const std::string malformed = "batch entry at byte " + std::to_string(pos) + " is malformed";
    if (total < 22 || static_cast<size_t>(total) > body.size() - pos || body_len < 0 ||
        20 + static_cast<int64_t>(body_len) + 2 > total) {
      RefuseSend(ctx, rc::kMessageIllegal, malformed);
      return false;
    }
    size_t p = pos + 20;
    bodies->emplace_back(p, static_cast<size_t>(body_len));
    p += body_len;
    uint16_t plen = DecodeBE16(body.data() + p);
    p += 2;
    if (p + plen > pos + static_cast<size_t>(total)) {
      RefuseSend(ctx, rc::kMessageIllegal, malformed);
      return false;
    }
    std::string inner(body.data() + p, plen);
    AppendMissingProperties(batch_pairs, &inner);
    props->push_back(std::move(inner));
    flags->push_back(flag);
    pos += static_cast<size_t>(total);
  }
  if (bodies->empty()) {
    RefuseSend(ctx, rc::kMessageIllegal, "empty batch");
    return false;
  }
  return true;
}

void SendProcessor::SendBatch(const RequestContextPtr& ctx, const SendHeader& h,
                              const std::shared_ptr<std::string>& topic, int32_t queue_id,
                              const message::HostAddress& born_host, bool wait_store_ok,
                              int64_t start_ms) {
  const BrokerConfig& config = bc_.config();
  const int32_t original_qid = queue_id;
  if (!message::FindProperty(h.properties, "DELAY").empty()) {
    return RefuseSend(ctx, rc::kMessageIllegal, "batch message does not support delay level");
  }
  auto props = std::make_shared<std::vector<std::string>>();
  std::vector<std::pair<size_t, size_t>> bodies;  // offset, length in body
  std::vector<int32_t> flags;
  if (!SplitBatch(ctx, h, &bodies, &flags, props.get())) return;
  // Timer messages in a batch: all or none, and then the whole batch goes to the timer queue.
  auto batch_topic = topic;
  if (config.timer_wheel_enable) {
    int timers = 0;
    const int64_t now = NowMillis();
    for (auto& p : *props) {
      std::string t = *topic;
      int32_t q = queue_id;
      auto r = TimerService::ToTimer(&t, &q, &p, now, config.timer_max_delay_sec * 1000);
      if (!r.ok()) return RefuseSend(ctx, rc::kMessageIllegal, std::string(r.status().message()));
      if (*r) ++timers;
    }
    if (timers > 0 && timers != static_cast<int>(props->size())) {
      return RefuseSend(ctx, rc::kMessageIllegal,
                        "a batch must not mix timer and immediate messages");
    }
    if (timers > 0) {
      batch_topic = std::make_shared<std::string>(kTimerTopic);
      queue_id = 0;
    }
  }
  const std::string& body = ctx->request().body;
  std::vector<message::MessageInput> msgs(bodies.size());
  std::vector<int32_t> sizes;
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto& m = msgs[i];
    m.topic = *batch_topic;
    m.queue_id = queue_id;
    m.flag = flags[i];
    m.body = std::string_view(body).substr(bodies[i].first, bodies[i].second);
    m.properties = (*props)[i];
    m.sys_flag = h.sys_flag & ~kHostV6Flags;
    m.born_timestamp = h.born_timestamp;
    m.born_host = born_host;
    auto sz = message::RecordSize(m, config.store.store_host);
    if (!sz.ok()) return RefuseSend(ctx, rc::kMessageIllegal, std::string(sz.status().message()));
    sizes.push_back(static_cast<int32_t>(*sz));
  }
  store::DeferredAppends defer(DeferAppends(*ctx));
  bc_.store->PutMessagesAsync(
      msgs, wait_store_ok,
      [this, ctx, props, batch_topic,
       reply =
           PutReply{original_qid, std::move(sizes), topic, nullptr, start_ms, wait_store_ok, {}}](
          const Result<store::PutResult>& r) mutable {
        (void)props;
        (void)batch_topic;
        RespondPut(ctx, r, std::move(reply));
      });
}

void SendProcessor::RespondPut(const RequestContextPtr& ctx, const Result<store::PutResult>& res,
                               PutReply reply) {
  if (!res.ok()) {
    bc_.stats.OnPutFailed();
    auto [code, remark] = PutStatusToResponse(res.status());
    return RefuseSend(ctx, code, std::move(remark));
  }
  // Controller mode: the sync-state set (confirmed in etcd) says whom to wait for; a master
  // alone in it acknowledges on its own store (RocketMQ 5's minInSyncReplicas = 1).
  const bool alone = bc_.controller != nullptr && bc_.controller->AloneInSyncStateSet();
  if (!reply.wait_store_ok || !bc_.ha_master || !bc_.config().IsSyncMaster() || alone) {
    return RespondStored(ctx, *res, reply, 0);
  }
  // SYNC_MASTER: one acknowledgement of the slave completes every send stored below it.
  const int64_t end = res->physical_offset.value() + res->wrote_bytes;
  bc_.ha_master->WaitReplicated(
      end, bc_.config().store.sync_flush_timeout_ms,
      [this, ctx, stored = *res, reply = std::move(reply)](const Status& s) {
        const int32_t replica = s.ok()                             ? 0
                                : s.code() == StatusCode::kTimeout ? rc::kFlushSlaveTimeout
                                                                   : rc::kSlaveNotAvailable;
        RespondStored(ctx, stored, reply, replica);
      });
}

void SendProcessor::RespondStored(const RequestContextPtr& ctx, const store::PutResult& res,
                                  const PutReply& reply, int32_t replica_code) {
  // FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE are stored messages: clients
  // need msgId/queueId/queueOffset as for SUCCESS (the Java client builds a SendResult from
  // them). The slave's outcome wins over the disk's, as in RocketMQ.
  int32_t code = res.flush_timeout ? rc::kFlushDiskTimeout : rc::kSuccess;
  std::string remark = res.flush_timeout ? "FLUSH_DISK_TIMEOUT" : "";
  if (replica_code != 0) {
    code = replica_code;
    remark.clear();
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), code, std::move(remark));
  protocol::SendMessageResponseHeader out;
  if (reply.batch_sizes.empty()) {
    out.msg_id = res.msg_id;
  } else {
    int64_t off = res.physical_offset.value();
    for (size_t i = 0; i < reply.batch_sizes.size(); ++i) {
      if (i) out.msg_id.push_back(',');
      out.msg_id += message::CreateOffsetMessageId(bc_.config().store.store_host, off);
      off += reply.batch_sizes[i];
    }
  }
  out.queue_offset = res.queue_offset.value();
  out.queue_id = reply.queue_id;
  out.recall_handle = reply.recall_handle;
  out.Encode(&resp);
  auto live = bc_.Live();
  resp.Set("MSG_REGION", live->region_id);
  resp.Set("TRACE_ON", std::string(live->trace_on ? "true" : "false"));
  const auto bytes = static_cast<int64_t>(ctx->request().body.size());
  const int64_t latency_ms = NowMillis() - reply.start_ms;
  if (BrokerStats::PutItem* item = reply.runtime ? reply.runtime->put_stats() : nullptr) {
    bc_.stats.OnPut(item, res.msg_num, bytes, latency_ms);
  } else {
    item = bc_.stats.OnPut(*reply.topic, res.msg_num, bytes, latency_ms);
    if (reply.runtime) reply.runtime->set_put_stats(item);
  }
  ctx->Respond(std::move(resp));
}

// ---------------------------------------------------------------------------------------------
// CONSUMER_SEND_MSG_BACK

void SendProcessor::ConsumerSendMsgBack(const RequestContextPtr& ctx) {
  auto header = protocol::ConsumerSendMsgBackRequestHeader::Decode(ctx->request());
  if (!header.ok()) return RespondError(ctx, header.status());
  const auto& h = *header;
  auto live = bc_.Live();
  auto g = bc_.groups.FindOrCreate(h.group, live->auto_create_subscription_group);
  if (!g.ok()) return RespondError(ctx, g.status());
  if (!*g) {
    return ctx->RespondCode(rc::kSubscriptionGroupNotExist,
                            "subscription group not exist, " + h.group);
  }
  if ((live->broker_permission & protocol::kPermWrite) == 0) {
    return ctx->RespondCode(rc::kNoPermission, "the broker[" + bc_.config().broker_name +
                                                   "] sending message is forbidden");
  }
  if ((*g)->retry_queue_nums <= 0) return ctx->RespondCode(rc::kSuccess);
  std::string retry_topic = kRetryGroupTopicPrefix + h.group;
  if (Status s = bc_.EnsureGroupTopic(retry_topic, (*g)->retry_queue_nums); !s.ok()) {
    return RespondError(ctx, s);
  }
  auto rec = bc_.store->ReadRecord(PhysicalOffset(h.offset));
  if (!rec.ok()) {
    // Apache's remark; the store's reason goes to the log.
    RJ_LOG(kInfo, "broker", "send-back of offset %lld: %s", static_cast<long long>(h.offset),
           rec.status().ToString().c_str());
    return ctx->RespondCode(rc::kSystemError,
                            "look message by offset failed, " + std::to_string(h.offset));
  }
  const message::RecordView& m = rec->view;
  std::vector<std::pair<std::string, std::string>> add = RetryOriginProperties(m, h.origin_msg_id);
  const int32_t max = h.max_reconsume_times.value_or((*g)->retry_max_times);
  auto target = std::make_shared<std::string>(retry_topic);
  int32_t qid = static_cast<int32_t>(bc_.Random() % static_cast<uint32_t>((*g)->retry_queue_nums));
  auto props = std::make_shared<std::string>();
  const bool dead = m.reconsume_times >= max || h.delay_level < 0;
  if (dead) {
    *target = kDlqGroupTopicPrefix + h.group;
    qid = 0;
    if (Status s = bc_.EnsureGroupTopic(*target, 1); !s.ok()) return RespondError(ctx, s);
  }
  // As RocketMQ stores them: a DLQ message with DELAY 0, a retry with the escalating level;
  // WAIT false either way.
  const int level = dead ? 0 : (h.delay_level == 0 ? 3 + m.reconsume_times : h.delay_level);
  add.emplace_back("DELAY", std::to_string(level));
  add.emplace_back("WAIT", "false");
  *props = EditProperties(m.properties, {}, add);
  if (!dead) ApplyDelay(target.get(), &qid, props.get());
  auto body = std::make_shared<std::string>(m.body);
  message::MessageInput in = RequeueInput(m, *target, qid, *props);
  in.body = *body;  // the record's pin is released before the put completes
  in.reconsume_times = m.reconsume_times + 1;
  bc_.store->PutMessageAsync(
      in, false, [ctx, target, props, body](const Result<store::PutResult>& res) {
        if (res.ok()) return ctx->RespondCode(rc::kSuccess);
        ctx->RespondCode(rc::kSystemError, PutStatusToResponse(res.status()).second);
      });
}

}  // namespace ramjet::broker
