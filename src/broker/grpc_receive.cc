// ReceiveMessage: a POP of the group's messages answered as a server stream (a status, then one
// response per message), parked in PopWaiters while it long-polls. See grpc_service.h.
#include <atomic>

#include "grpc_service_impl.h"
#include "ramjet/base/clock.h"
#include "ramjet/message/record.h"

namespace ramjet::broker {

constexpr int64_t kDefaultInvisibleMs = 30000;
constexpr int64_t kDefaultLongPollingMs = 20000;
constexpr int64_t kMaxLongPollingMs = 60000;

class ReceiveCall final : public ::grpc::ServerWriteReactor<v2::ReceiveMessageResponse>,
                          public PopWaiter {
 public:
  ReceiveCall(GrpcService::Impl* svc, ::grpc::CallbackServerContext* ctx,
              const v2::ReceiveMessageRequest* req)
      : svc_(*svc) {
    Prepare(ctx, *req);
  }

  // False when the request was refused (and answered).
  bool ok() const { return ok_; }
  bool Attempt(bool last_chance) override;
  bool Matches(std::string_view topic) const override {
    return topic == pop_.topic || topic == retry_;
  }
  int64_t deadline_ms() const override { return deadline_ms_; }
  bool cancelled() const override { return cancelled_.load(); }
  void AnswerCancelled() { Finish(::grpc::Status::CANCELLED); }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(::grpc::Status::OK);
    WriteNext();
  }
  void OnCancel() override {
    cancelled_.store(true);
    svc_.waiters.WakeThread();
  }
  void OnDone() override { delete this; }

 private:
  void Prepare(::grpc::CallbackServerContext* ctx, const v2::ReceiveMessageRequest& req);
  void Answer(v2::Code code, std::string_view message) {
    out_.clear();
    grpc_api::SetStatus(out_.emplace_back().mutable_status(), code, message);
    WriteNext();
  }
  void WriteNext() {
    if (next_ < out_.size()) return StartWrite(&out_[next_++]);
    Finish(::grpc::Status::OK);
  }

  GrpcService::Impl& svc_;
  bool ok_ = false;
  PopRequest pop_;
  std::string retry_;
  std::string ns_;
  std::string subscribed_topic_;  // as the client named it (with its namespace)
  int64_t deadline_ms_ = 0;
  std::atomic<bool> cancelled_{false};
  std::vector<v2::ReceiveMessageResponse> out_;
  size_t next_ = 0;
};

void ReceiveCall::Prepare(::grpc::CallbackServerContext* ctx,
                          const v2::ReceiveMessageRequest& req) {
  BrokerContext& bc = svc_.bc();
  pop_.topic = grpc_api::WithNamespace(req.message_queue().topic());
  pop_.group = grpc_api::WithNamespace(req.group());
  ns_ = req.message_queue().topic().resource_namespace();
  subscribed_topic_ = pop_.topic;
  if (auto r = grpc_api::CheckTopicName(pop_.topic)) return Answer(r->code, r->message);
  if (auto r = grpc_api::CheckGroupName(pop_.group)) return Answer(r->code, r->message);
  auto tc = bc.topics.Find(pop_.topic);
  if (!tc) return Answer(v2::TOPIC_NOT_FOUND, "topic not found: " + pop_.topic);
  auto group_config = bc.groups.Find(pop_.group);
  if (!group_config && !bc.Live()->auto_create_subscription_group) {
    return Answer(v2::CONSUMER_GROUP_NOT_FOUND, "consumer group not found: " + pop_.group);
  }
  // Any queue of the topic on this broker, whatever queue the client names (RocketMQ's proxy
  // selects the broker and pops with queue -1 too; clients that pick a queue of the route,
  // as the Python client does, would otherwise wait on an empty queue while others are full).
  pop_.queue_id = -1;
  pop_.max_messages = req.batch_size() > 0 ? std::min(req.batch_size(), 32) : 32;
  pop_.invisible_ms = kDefaultInvisibleMs;
  if (req.has_invisible_duration()) {
    pop_.invisible_ms = grpc_api::MillisOf(req.invisible_duration());
    if (pop_.invisible_ms < kMinInvisibleMs || pop_.invisible_ms > kMaxInvisibleMs) {
      return Answer(v2::ILLEGAL_INVISIBLE_TIME, "invisible duration out of range: " +
                                                    std::to_string(pop_.invisible_ms) + " ms");
    }
  }
  pop_.subscription = grpc_api::SubscriptionOf(pop_.topic, req.filter_expression());
  // A FIFO group (consumeMessageOrderly): a queue is handed out only when nothing of it is in
  // flight, so one message group's messages come one at a time, in order.
  pop_.fifo = group_config && group_config->consume_message_orderly;
  int64_t poll = kDefaultLongPollingMs;
  if (req.has_long_polling_timeout()) {
    poll = grpc_api::MillisOf(req.long_polling_timeout());
    if (poll < 0 || poll > kMaxLongPollingMs) {
      return Answer(v2::ILLEGAL_POLLING_TIME,
                    "long polling timeout out of range: " + std::to_string(poll) + " ms");
    }
  }
  // Answer before the client gives up (its deadline is its timeout plus the polling time).
  const int64_t now = NowMillis();
  const int64_t client_deadline =
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx->deadline().time_since_epoch())
          .count();
  deadline_ms_ = std::min(now + poll, client_deadline - 500);
  retry_ = PopRetryTopic(pop_.group, pop_.topic);
  ok_ = true;
}

bool ReceiveCall::Attempt(bool last_chance) {
  if (cancelled()) {
    AnswerCancelled();
    return true;
  }
  auto popped = svc_.deps().pop->Pop(pop_);
  if (!popped.ok()) {
    const Status& s = popped.status();
    v2::Code code = s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kUnavailable
                        ? v2::ILLEGAL_FILTER_EXPRESSION
                    : s.code() == StatusCode::kNotFound ? v2::CONSUMER_GROUP_NOT_FOUND
                                                        : grpc_api::CodeOfStatus(s);
    Answer(code, s.message());
    return true;
  }
  if (popped->empty()) {
    if (!last_chance) return false;
    Answer(v2::MESSAGE_NOT_FOUND, "no new message");
    return true;
  }
  out_.clear();
  grpc_api::SetStatus(out_.emplace_back().mutable_status(), v2::OK, "");
  // When the batch left the broker: clients measure their delivery latency from it (the Python
  // client's push consumer needs it).
  grpc_api::SetTimestamp(out_.emplace_back().mutable_delivery_timestamp(), NowMillis());
  for (const PoppedMessage& p : *popped) {
    auto r = message::DecodeRecord(p.record, false);
    if (!r.ok()) continue;  // cannot happen for a record the store served; comes back later
    grpc_api::DeliveryInfo d;
    d.topic = subscribed_topic_;
    d.ns = ns_;
    d.receipt_handle = p.receipt_handle;
    d.queue_id = p.queue_id;
    d.queue_offset = p.queue_offset;
    d.invisible_ms = p.invisible_ms;
    d.delivery_attempt = p.delivery_attempt;
    grpc_api::ToMessage(*r, d, out_.emplace_back().mutable_message());
  }
  WriteNext();
  return true;
}

::grpc::ServerWriteReactor<v2::ReceiveMessageResponse>* GrpcService::Impl::ReceiveMessage(
    ::grpc::CallbackServerContext* ctx, const v2::ReceiveMessageRequest* req) {
  if (auto denied = Authorize(
          ctx, {{T(req->message_queue().topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return new RefusedStream<::grpc::ServerWriteReactor<v2::ReceiveMessageResponse>>(
        denied->message);
  }
  auto* call = new ReceiveCall(this, ctx, req);
  if (call->ok() && !call->Attempt(false)) {
    // gRPC owns the call (OnDone deletes it, after the Finish of the attempt that answers).
    waiters.Park(std::shared_ptr<PopWaiter>(call, [](PopWaiter*) {}));
  }
  return call;
}

}  // namespace ramjet::broker
