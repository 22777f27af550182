#include "pull_processor.h"

#include <unistd.h>

#include <algorithm>

#include "message_filter.h"
#include "ramjet/base/clock.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::broker {

using protocol::PullMessageRequestHeader;
using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;

namespace {

int32_t PullCode(store::GetStatus status, int64_t queue_offset) {
  switch (status) {
    case store::GetStatus::kFound:
      return rc::kSuccess;
    case store::GetStatus::kNoMatchedMessage:
    case store::GetStatus::kMessageWasRemoving:
      return rc::kPullRetryImmediately;
    case store::GetStatus::kNoMessageInQueue:
    case store::GetStatus::kNoMatchedLogicQueue:
      return queue_offset != 0 ? rc::kPullOffsetMoved : rc::kPullNotFound;
    case store::GetStatus::kOffsetTooSmall:
    case store::GetStatus::kOffsetOverflowBadly:
      return rc::kPullOffsetMoved;
    case store::GetStatus::kOffsetOverflowOne:
    case store::GetStatus::kOffsetFoundNull:
      return rc::kPullNotFound;
  }
  return rc::kSystemError;
}

}  // namespace

PullProcessor::PullProcessor(BrokerContext* bc, remoting::ThreadPool* executor)
    : bc_(*bc),
      executor_(executor),
      hold_(bc->store.get(), [this](const RequestContextPtr& ctx) { Reexecute(ctx); }) {}

void PullProcessor::Reexecute(const RequestContextPtr& ctx) {
  if (ctx->peer_closed()) return;
  bool ok = executor_->TrySubmit([this, ctx] { Process(ctx, false); });
  if (!ok) {
    ctx->RespondCode(rc::kSystemBusy, "[OVERLOAD]system busy, start flow control for a while");
  }
}

std::optional<protocol::TopicConfig> PullProcessor::ReplicatedTopic(const std::string& topic) {
  // A slave learns topics from its master every 10 s, but their messages arrive at once: a topic
  // whose queues are in the replicated log is readable before its configuration is copied (so
  // consumers that fail over right after a topic was created still find every message).
  int32_t queues = 0;
  for (const auto& [t, qid] : bc_.store->ListQueues()) {
    if (t == topic) queues = std::max(queues, qid + 1);
  }
  if (queues == 0) return std::nullopt;
  protocol::TopicConfig tc;
  tc.topic_name = topic;
  tc.read_queue_nums = tc.write_queue_nums = queues;
  tc.perm = protocol::kPermRead;
  return tc;
}

int64_t PullProcessor::SuggestBroker(const PullMessageRequestHeader& h, const store::GetResult& got,
                                     const BrokerConfig& live) {
  // RocketMQ: a slave always sends consumers back to the master; a master with slaveReadEnable
  // sends a consumer whose backlog no longer fits in memory to the group's slow-consumer broker.
  if (!live.slave_read_enable || bc_.config().IsSlave()) return 0;
  auto g = bc_.groups.Find(h.consumer_group);
  const int64_t fast = g ? g->broker_id : 0;
  if (got.messages.empty()) return fast;
  const int64_t behind =
      bc_.store->MaxPhysicalOffset().value() - got.messages.back().physical_offset.value();
  static const int64_t kMemory =
      static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  if (behind > kMemory / 100 * live.access_message_in_memory_max_ratio) {
    return g ? g->which_broker_when_consume_slowly : 1;
  }
  return fast;
}

bool PullProcessor::Admit(const RequestContextPtr& ctx, const PullMessageRequestHeader& h,
                          const BrokerConfig& live) {
  const BrokerConfig& config = bc_.config();
  if ((live.broker_permission & protocol::kPermRead) == 0) {
    ctx->RespondCode(rc::kNoPermission, "the broker[" + config.broker_name + ", " +
                                            config.BrokerAddr() + "] pulling message is forbidden");
    return false;
  }
  auto g = bc_.groups.FindOrCreate(h.consumer_group, live.auto_create_subscription_group);
  if (!g.ok()) {
    RespondError(ctx, g.status());
    return false;
  }
  if (!*g) {
    ctx->RespondCode(rc::kSubscriptionGroupNotExist, "subscription group [" + h.consumer_group +
                                                         "] does not exist, " +
                                                         std::string(protocol::kFaqSuffix));
    return false;
  }
  if (!(*g)->consume_enable) {
    ctx->RespondCode(rc::kNoPermission, "subscription group no permission, " + h.consumer_group);
    return false;
  }
  auto tc = bc_.topics.Find(h.topic);
  if (!tc && config.IsSlave()) tc = ReplicatedTopic(h.topic);
  if (!tc) {
    ctx->RespondCode(rc::kTopicNotExist, "topic[" + h.topic + "] not exist, apply first please! " +
                                             std::string(protocol::kFaqSuffix));
    return false;
  }
  if ((tc->perm & protocol::kPermRead) == 0) {
    ctx->RespondCode(rc::kNoPermission, "the topic[" + h.topic + "] pulling message is forbidden");
    return false;
  }
  if (h.queue_id < 0 || h.queue_id >= tc->read_queue_nums) {
    ctx->RespondCode(rc::kSystemError,
                     "queueId[" + std::to_string(h.queue_id) + "] is illegal, topic:[" + h.topic +
                         "] topicConfig.readQueueNums:[" + std::to_string(tc->read_queue_nums) +
                         "] consumer:[/" + ctx->remote_address() + "]");
    return false;
  }
  return true;
}

std::optional<protocol::SubscriptionData> PullProcessor::SubscriptionOf(
    const RequestContextPtr& ctx, const PullMessageRequestHeader& h) {
  if (h.sys_flag & PullMessageRequestHeader::kFlagSubscription) {
    auto sub = protocol::SubscriptionData::ForTags(h.topic, h.subscription, h.sub_version);
    sub.expression_type = h.expression_type;
    return sub;
  }
  auto info = bc_.consumers.Find(h.consumer_group);
  if (!info) {
    ctx->RespondCode(rc::kSubscriptionNotExist,
                     "the consumer's group info not exist" + std::string(protocol::kFaqSuffix));
    return std::nullopt;
  }
  if (info->message_model == protocol::MessageModel::kBroadcasting) {
    auto g = bc_.groups.Find(h.consumer_group);
    if (g && !g->consume_broadcast_enable) {
      ctx->RespondCode(rc::kNoPermission, "the consumer group[" + h.consumer_group +
                                              "] can not consume by broadcast way");
      return std::nullopt;
    }
  }
  auto it = info->subscriptions.find(h.topic);
  if (it == info->subscriptions.end()) {
    ctx->RespondCode(rc::kSubscriptionNotExist, "the consumer's subscription not exist");
    return std::nullopt;
  }
  if (it->second.sub_version < h.sub_version) {
    ctx->RespondCode(rc::kSubscriptionNotLatest, "the consumer's subscription not latest");
    return std::nullopt;
  }
  return it->second;
}

void PullProcessor::Process(const RequestContextPtr& ctx, bool allow_suspend) {
  const RemotingCommand& r = ctx->request();
  auto header = PullMessageRequestHeader::Decode(r);
  if (!header.ok()) return RespondError(ctx, header.status());
  const PullMessageRequestHeader& h = *header;
  const auto live = bc_.Live();  // one snapshot per request
  if (!Admit(ctx, h, *live)) return;
  auto sub = SubscriptionOf(ctx, h);
  if (!sub) return;
  auto filter = MakeFilter(*sub, live->enable_property_filter);
  if (!filter.ok()) {
    return ctx->RespondCode(SubscriptionErrorCode(filter.status()),
                            std::string(filter.status().message()));
  }
  int32_t max_nums = std::clamp(h.max_msg_nums, 1, live->max_transfer_count_on_message);
  const int64_t get_start_ms = NowMillis();
  store::GetResult got =
      bc_.store->GetMessages(h.topic, h.queue_id, QueueOffset(h.queue_offset), max_nums,
                             live->max_transfer_bytes_on_message, filter->get());
  // The topic and queue exist (checked above); a queue nobody wrote to has no files yet.
  // RocketMQ creates it on lookup and reports an empty queue.
  if (got.status == store::GetStatus::kNoMatchedLogicQueue) {
    got.status = store::GetStatus::kNoMessageInQueue;
  }
  const int32_t code = PullCode(got.status, h.queue_offset);
  // Offset commit piggy-backed on the first pass of a pull.
  // (Not on a slave: consumers commit to the master, and the slave copies the master's offsets.)
  if (allow_suspend && (h.sys_flag & PullMessageRequestHeader::kFlagCommitOffset) &&
      !bc_.config().IsSlave()) {
    bc_.offsets.Commit(h.consumer_group, h.topic, h.queue_id, h.commit_offset);
  }
  if (code == rc::kPullNotFound && allow_suspend &&
      (h.sys_flag & PullMessageRequestHeader::kFlagSuspend)) {
    int64_t hold =
        live->long_polling_enable ? h.suspend_timeout_millis : live->short_polling_time_mills;
    hold_.Hold(ctx, h.topic, h.queue_id, h.queue_offset, *filter, MonoMillis() + hold);
    return;
  }
  RemotingCommand resp =
      RemotingCommand::ResponseTo(r, code, std::string(store::GetStatusName(got.status)));
  protocol::PullMessageResponseHeader out;
  out.next_begin_offset = got.next_begin_offset.value();
  out.min_offset = got.min_offset.value();
  out.max_offset = got.max_offset.value();
  out.suggest_which_broker_id = SuggestBroker(h, got, *live);
  out.Encode(&resp);
  if (code == rc::kSuccess) {
    resp.body.reserve(static_cast<size_t>(got.total_bytes));
    for (const auto& m : got.messages) resp.body.append(m.data);
  }
  const bool found = code == rc::kSuccess;
  bc_.stats.OnGet(h.consumer_group, h.topic, found ? static_cast<int64_t>(got.messages.size()) : 0,
                  found ? static_cast<int64_t>(resp.body.size()) : 0, NowMillis() - get_start_ms);
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
