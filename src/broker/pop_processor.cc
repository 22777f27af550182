#include "pop_processor.h"

#include <map>

#include "ramjet/base/clock.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/pop_headers.h"
#include "requeue.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;

namespace {

// The one mapping of PopService errors to remoting codes (the request was checked for its
// topic and group before, so kNotFound is a handle that is no longer valid).
int32_t PopCodeOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kPermissionDenied:
      return rc::kNoPermission;
    case StatusCode::kInvalidArgument:
      return rc::kInvalidParameter;
    case StatusCode::kNotFound:
      return rc::kNoMessage;
    default:
      return rc::kSystemError;
  }
}

// The topic an ack names is the one popped from: the pop retry topic for a retried message
// (mark 1 in its extra info). The PopService wants the topic the group subscribed.
Result<std::string> SubscribedTopic(const protocol::AckMessageRequestHeader& h,
                                    const ReceiptHandle& handle) {
  if (handle.topic_type == 0) return h.topic;
  if (auto topic = TopicOfPopRetry(h.consumer_group, h.topic)) return *topic;
  return Status::InvalidArgument("topic " + h.topic + " is not the pop retry topic of group " +
                                 h.consumer_group);
}

// A parked POP_MESSAGE.
class PopCall final : public PopWaiter {
 public:
  PopCall(remoting::RequestContextPtr ctx, PopService* pop, PopRequest req, int64_t deadline_ms)
      : ctx_(std::move(ctx)),
        pop_(pop),
        req_(std::move(req)),
        retry_(PopRetryTopic(req_.group, req_.topic)),
        deadline_ms_(deadline_ms) {}

  bool Attempt(bool last_chance) override;
  bool Matches(std::string_view topic) const override {
    return topic == req_.topic || topic == retry_;
  }
  int64_t deadline_ms() const override { return deadline_ms_; }
  bool cancelled() const override { return ctx_->peer_closed(); }
  bool Polls(const std::string& group, const std::string& topic, int32_t queue_id) const {
    return req_.group == group && req_.topic == topic && req_.queue_id == queue_id;
  }

 private:
  void Answer(const std::vector<PoppedMessage>& popped);

  remoting::RequestContextPtr ctx_;
  PopService* const pop_;
  const PopRequest req_;
  const std::string retry_;
  const int64_t deadline_ms_;
};

bool PopCall::Attempt(bool last_chance) {
  if (ctx_->peer_closed()) return true;  // nobody to answer
  auto popped = pop_->Pop(req_);
  if (!popped.ok()) {
    ctx_->RespondCode(PopCodeOf(popped.status()), std::string(popped.status().message()));
    return true;
  }
  if (popped->empty() && !last_chance) return false;
  Answer(*popped);
  return true;
}

void PopCall::Answer(const std::vector<PoppedMessage>& popped) {
  protocol::PopMessageResponseHeader h;
  h.invisible_time = req_.invisible_ms;
  auto resp = protocol::RemotingCommand::ResponseTo(
      ctx_->request(), popped.empty() ? rc::kPollingTimeout : rc::kSuccess,
      popped.empty() ? "no new message" : "");
  // Per queue read (the topic's queues, the retry topic's queue 0): its check point's start
  // offset and the offsets handed out, in body order.
  std::map<std::pair<bool, int32_t>, std::pair<int64_t, std::vector<int64_t>>> queues;
  for (const PoppedMessage& p : popped) {
    h.pop_time = p.pop_time;
    auto& q = queues[{p.from_retry, p.queue_id}];
    if (q.second.empty()) q.first = p.ck_start_offset;
    q.second.push_back(p.queue_offset);
    if (req_.fifo && p.delivery_attempt > 1) {
      protocol::ExtraInfo::AddOrderCount(&h.order_count_info, p.from_retry, p.queue_id,
                                         p.queue_offset, p.delivery_attempt - 1);
    }
    auto r = message::DecodeRecord(p.record, false);
    if (!p.from_retry || !r.ok()) {
      resp.body += p.record;
      continue;
    }
    // A retried message goes out under the subscribed topic, its handle in POP_CK.
    auto handle = ReceiptHandle::Decode(p.receipt_handle);
    std::string props = std::string(r->properties);
    if (handle.ok() && message::FindProperty(props, "POP_CK").empty()) {
      props = EditProperties(props, {}, {{"POP_CK", handle->EncodeExtraInfo()}});
    }
    message::MessageInput in = RequeueInput(*r, req_.topic, r->queue_id, props);
    in.sys_flag = r->sys_flag;
    std::string encoded;
    if (message::EncodeRecord(in, r->store_host, &encoded).ok()) {
      message::PatchRecord(encoded.data(), r->queue_offset, r->physical_offset, r->store_timestamp);
      resp.body += encoded;
    } else {
      resp.body += p.record;
    }
  }
  for (const auto& [key, q] : queues) {
    protocol::ExtraInfo::AddStartOffset(&h.start_offset_info, key.first, key.second, q.first);
    protocol::ExtraInfo::AddMsgOffsets(&h.msg_offset_info, key.first, key.second, q.second);
  }
  h.Encode(&resp);
  ctx_->Respond(std::move(resp));
}

}  // namespace

void PopProcessor::PopMessage(const remoting::RequestContextPtr& ctx) {
  auto h = protocol::PopMessageRequestHeader::Decode(ctx->request());
  if (!h.ok()) return RespondError(ctx, h.status());
  if (h->max_msg_nums <= 0 || h->max_msg_nums > 32) {
    return ctx->RespondCode(rc::kInvalidParameter,
                            "maxMsgNums must be 1..32, not " + std::to_string(h->max_msg_nums));
  }
  if (!bc_.topics.Find(h->topic)) {
    return ctx->RespondCode(rc::kTopicNotExist, "topic[" + h->topic + "] not exist");
  }
  if (!bc_.groups.Find(h->consumer_group) && !bc_.Live()->auto_create_subscription_group) {
    return ctx->RespondCode(rc::kSubscriptionGroupNotExist,
                            "subscription group [" + h->consumer_group + "] does not exist");
  }
  PopRequest req;
  req.group = h->consumer_group;
  req.topic = h->topic;
  req.queue_id = h->queue_id;
  req.max_messages = h->max_msg_nums;
  req.invisible_ms = h->invisible_time;
  req.fifo = h->order;
  req.from_min = h->init_mode == 0;
  req.subscription = PopSubscription(h->topic, h->exp_type == "SQL92", h->exp);
  const int64_t now = NowMillis();
  // As RocketMQ: a pop that waited too long on its way here is answered at once.
  const bool stale = h->born_time > 0 && now - h->born_time - h->poll_time > 500;
  auto call = std::make_shared<PopCall>(ctx, pop_, std::move(req), now + h->poll_time);
  if (!call->Attempt(h->poll_time <= 0 || stale)) waiters_.Park(std::move(call));
}

std::optional<PopProcessor::Target> PopProcessor::TargetOf(const remoting::RequestContextPtr& ctx,
                                                           bool change_invisible) {
  auto h = protocol::AckMessageRequestHeader::Decode(ctx->request(), change_invisible);
  if (!h.ok()) {
    RespondError(ctx, h.status());
    return std::nullopt;
  }
  auto handle = ReceiptHandle::Decode(h->extra_info);
  if (!handle.ok()) {
    ctx->RespondCode(rc::kInvalidParameter, handle.status().ToString());
    return std::nullopt;
  }
  auto topic = SubscribedTopic(*h, *handle);
  if (!topic.ok()) {
    ctx->RespondCode(rc::kInvalidParameter, topic.status().ToString());
    return std::nullopt;
  }
  if (!bc_.topics.Find(*topic)) {
    ctx->RespondCode(rc::kTopicNotExist, "topic[" + *topic + "] not exist");
    return std::nullopt;
  }
  // The handle names the message; the header's queue and offset must agree with it.
  handle->queue_id = h->queue_id;
  handle->offset = h->offset;
  return Target{std::move(*h), std::move(*topic), std::move(*handle)};
}

void PopProcessor::AckMessage(const remoting::RequestContextPtr& ctx) {
  auto t = TargetOf(ctx, false);
  if (!t) return;
  Status s = pop_->Ack(t->header.consumer_group, t->topic, t->handle.Encode());
  if (!s.ok()) return ctx->RespondCode(PopCodeOf(s), std::string(s.message()));
  ctx->RespondCode(rc::kSuccess);
}

void PopProcessor::ChangeInvisibleTime(const remoting::RequestContextPtr& ctx) {
  auto t = TargetOf(ctx, true);
  if (!t) return;
  const int64_t invisible = *t->header.invisible_time;
  auto next =
      pop_->ChangeInvisible(t->header.consumer_group, t->topic, t->handle.Encode(), invisible);
  if (!next.ok()) return ctx->RespondCode(PopCodeOf(next.status()), next.status().ToString());
  auto n = ReceiptHandle::Decode(*next);
  protocol::ChangeInvisibleTimeResponseHeader rh;
  rh.pop_time = n.ok() ? n->pop_time : NowMillis();
  rh.invisible_time = invisible;
  rh.revive_qid = n.ok() ? n->revive_qid : 0;
  auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  rh.Encode(&resp);
  ctx->Respond(std::move(resp));
}

void PopProcessor::BatchAckMessage(const remoting::RequestContextPtr& ctx) {
  auto body = protocol::BatchAckMessageRequestBody::Decode(ctx->request().body);
  if (!body.ok()) return ctx->RespondCode(rc::kInvalidParameter, body.status().ToString());
  if (body->acks.empty()) return ctx->RespondCode(rc::kNoMessage, "no ack in the body");
  const std::string& broker = bc_.config().broker_name;
  int acked = 0;
  for (const protocol::BatchAck& a : body->acks) {
    ReceiptHandle handle;
    handle.start_offset = a.start_offset;
    handle.pop_time = a.pop_time;
    handle.invisible_ms = a.invisible_time;
    handle.revive_qid = a.revive_qid;
    handle.topic_type = a.retry == 0 ? 0 : 1;
    handle.broker_name = body->broker_name.empty() ? broker : body->broker_name;
    handle.queue_id = a.queue_id;
    for (int64_t offset : a.offsets) {
      handle.offset = offset;
      if (pop_->Ack(a.consumer_group, a.topic, handle.Encode()).ok()) ++acked;
    }
  }
  // As RocketMQ: a batch ack is answered SUCCESS; handles no longer valid are skipped.
  ctx->RespondCode(rc::kSuccess, std::to_string(acked) + " acked");
}

void PopProcessor::Notification(const remoting::RequestContextPtr& ctx) {
  auto h = protocol::NotificationRequestHeader::Decode(ctx->request(), false);
  if (!h.ok()) return RespondError(ctx, h.status());
  if (!bc_.topics.Find(h->topic)) {
    return ctx->RespondCode(rc::kTopicNotExist, "topic[" + h->topic + "] not exist");
  }
  // A waiter that only looks: answers hasMsg true as soon as the group has something to pop.
  class Look final : public PopWaiter {
   public:
    Look(remoting::RequestContextPtr ctx, PopService* pop, protocol::NotificationRequestHeader h,
         int64_t deadline)
        : ctx_(std::move(ctx)),
          pop_(pop),
          h_(std::move(h)),
          retry_(PopRetryTopic(h_.consumer_group, h_.topic)),
          deadline_(deadline) {}
    bool Attempt(bool last_chance) override {
      const bool has = pop_->HasMessages(h_.consumer_group, h_.topic, h_.queue_id);
      if (!has && !last_chance && !ctx_->peer_closed()) return false;
      auto resp = protocol::RemotingCommand::ResponseTo(ctx_->request(), rc::kSuccess);
      resp.Set("hasMsg", has ? "true" : "false");
      resp.Set("pollingFull", "false");
      ctx_->Respond(std::move(resp));
      return true;
    }
    bool Matches(std::string_view t) const override { return t == h_.topic || t == retry_; }
    int64_t deadline_ms() const override { return deadline_; }
    bool cancelled() const override { return ctx_->peer_closed(); }

   private:
    remoting::RequestContextPtr ctx_;
    PopService* const pop_;
    const protocol::NotificationRequestHeader h_;
    const std::string retry_;
    const int64_t deadline_;
  };
  const int64_t poll = std::max<int64_t>(0, h->poll_time);
  auto look = std::make_shared<Look>(ctx, pop_, std::move(*h), NowMillis() + poll);
  if (!look->Attempt(poll == 0)) waiters_.Park(std::move(look));
}

void PopProcessor::PollingInfo(const remoting::RequestContextPtr& ctx) {
  auto h = protocol::NotificationRequestHeader::Decode(ctx->request(), true);
  if (!h.ok()) return RespondError(ctx, h.status());
  if (!bc_.topics.Find(h->topic)) {
    return ctx->RespondCode(rc::kTopicNotExist, "topic[" + h->topic + "] not exist");
  }
  const size_t n = waiters_.CountIf([&](const PopWaiter& w) {
    auto* call = dynamic_cast<const PopCall*>(&w);
    return call && call->Polls(h->consumer_group, h->topic, h->queue_id);
  });
  auto resp = protocol::RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.Set("pollingNum", static_cast<int64_t>(n));
  ctx->Respond(std::move(resp));
}

}  // namespace ramjet::broker
