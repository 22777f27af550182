// The offset RPCs of 5.x pull consumers: GetOffset / UpdateOffset (the group's committed offset
// of a queue, the same table 4.x consumers use), QueryOffset (beginning, end, or by time) and
// PullMessage (messages of one queue from an offset, a server stream: a status, the messages,
// the next offset). A pull answers at once; an empty one says MESSAGE_NOT_FOUND with the next
// offset. See grpc_service.h.
#include "grpc_service_impl.h"
#include "message_filter.h"
#include "ramjet/message/record.h"

namespace ramjet::broker {
namespace {

constexpr int64_t kMaxPullBytes = 8 << 20;

// The topic and queue of mq, checked; a refusal otherwise.
std::optional<grpc_api::Refusal> CheckQueue(BrokerContext& bc, const v2::MessageQueue& mq,
                                            std::string* topic) {
  *topic = grpc_api::WithNamespace(mq.topic());
  if (auto r = grpc_api::CheckTopicName(*topic)) return r;
  auto tc = bc.topics.Find(*topic);
  if (!tc) return grpc_api::Refusal{v2::TOPIC_NOT_FOUND, "topic not found: " + *topic};
  if (mq.id() < 0 || mq.id() >= tc->read_queue_nums) {
    return grpc_api::Refusal{
        v2::BAD_REQUEST, "queue " + std::to_string(mq.id()) + " of " + *topic + " does not exist"};
  }
  return std::nullopt;
}

}  // namespace

::grpc::ServerUnaryReactor* GrpcService::Impl::UpdateOffset(::grpc::CallbackServerContext* ctx,
                                                            const v2::UpdateOffsetRequest* req,
                                                            v2::UpdateOffsetResponse* resp) {
  if (auto denied = Authorize(
          ctx, {{T(req->message_queue().topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  std::string topic;
  if (auto r = CheckQueue(bc(), req->message_queue(), &topic)) {
    return FinishUnary(ctx, resp, r->code, r->message);
  }
  if (req->offset() < 0) return FinishUnary(ctx, resp, v2::ILLEGAL_OFFSET, "negative offset");
  bc().offsets.Commit(group, topic, req->message_queue().id(), req->offset());
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::GetOffset(::grpc::CallbackServerContext* ctx,
                                                         const v2::GetOffsetRequest* req,
                                                         v2::GetOffsetResponse* resp) {
  if (auto denied = Authorize(
          ctx, {{T(req->message_queue().topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  std::string topic;
  if (auto r = CheckQueue(bc(), req->message_queue(), &topic)) {
    return FinishUnary(ctx, resp, r->code, r->message);
  }
  const int64_t off = bc().offsets.Query(group, topic, req->message_queue().id());
  if (off < 0) return FinishUnary(ctx, resp, v2::OFFSET_NOT_FOUND, "no offset of " + group);
  resp->set_offset(off);
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::QueryOffset(::grpc::CallbackServerContext* ctx,
                                                           const v2::QueryOffsetRequest* req,
                                                           v2::QueryOffsetResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->message_queue().topic()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  std::string topic;
  if (auto r = CheckQueue(bc(), req->message_queue(), &topic)) {
    return FinishUnary(ctx, resp, r->code, r->message);
  }
  const int32_t q = req->message_queue().id();
  switch (req->query_offset_policy()) {
    case v2::BEGINNING:
      resp->set_offset(bc().store->GetMinOffsetInQueue(topic, q).value());
      break;
    case v2::END:
      resp->set_offset(bc().store->GetMaxOffsetInQueue(topic, q).value());
      break;
    case v2::TIMESTAMP: {
      if (!req->has_timestamp()) {
        return FinishUnary(ctx, resp, v2::BAD_REQUEST, "TIMESTAMP without a timestamp");
      }
      resp->set_offset(
          bc().store->GetOffsetInQueueByTime(topic, q, grpc_api::MillisOf(req->timestamp()))
              .value());
      break;
    }
    default:
      return FinishUnary(ctx, resp, v2::BAD_REQUEST, "unknown query offset policy");
  }
  return FinishUnary(ctx, resp, v2::OK);
}

// ---------------------------------------------------------------------------------------------
// PullMessage

class PullCall final : public ::grpc::ServerWriteReactor<v2::PullMessageResponse> {
 public:
  PullCall(GrpcService::Impl* svc, const v2::PullMessageRequest& req) {
    Run(*svc, req);
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(::grpc::Status::OK);
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void Run(GrpcService::Impl& svc, const v2::PullMessageRequest& req);
  void Status(v2::Code code, std::string_view message) {
    grpc_api::SetStatus(out_.emplace_back().mutable_status(), code, message);
  }
  void WriteNext() {
    if (next_ < out_.size()) return StartWrite(&out_[next_++]);
    Finish(::grpc::Status::OK);
  }
  std::vector<v2::PullMessageResponse> out_;
  size_t next_ = 0;
};

void PullCall::Run(GrpcService::Impl& svc, const v2::PullMessageRequest& req) {
  BrokerContext& bc = svc.bc();
  const std::string group = grpc_api::WithNamespace(req.group());
  if (auto r = grpc_api::CheckGroupName(group)) return Status(r->code, r->message);
  std::string topic;
  if (auto r = CheckQueue(bc, req.message_queue(), &topic)) return Status(r->code, r->message);
  if (req.offset() < 0) return Status(v2::ILLEGAL_OFFSET, "negative offset");
  auto filter = MakeFilter(grpc_api::SubscriptionOf(topic, req.filter_expression()),
                           bc.Live()->enable_property_filter);
  if (!filter.ok()) return Status(v2::ILLEGAL_FILTER_EXPRESSION, filter.status().message());
  const int32_t q = req.message_queue().id();
  const int32_t batch = req.batch_size() > 0 ? std::min(req.batch_size(), 64) : 32;
  store::GetResult got = bc.store->GetMessages(topic, q, QueueOffset(req.offset()), batch,
                                               kMaxPullBytes, filter->get());
  if (got.messages.empty()) {
    Status(v2::MESSAGE_NOT_FOUND, "no new message");
  } else {
    Status(v2::OK, "");
    for (const auto& m : got.messages) {
      auto r = message::DecodeRecord(m.data, false);
      if (!r.ok()) continue;
      grpc_api::DeliveryInfo d;
      d.topic = topic;
      d.ns = req.message_queue().topic().resource_namespace();
      d.queue_id = q;
      d.queue_offset = m.queue_offset.value();
      d.delivery_attempt = r->reconsume_times + 1;
      grpc_api::ToMessage(*r, d, out_.emplace_back().mutable_message());
    }
  }
  out_.emplace_back().set_next_offset(got.next_begin_offset.value());
}

::grpc::ServerWriteReactor<v2::PullMessageResponse>* GrpcService::Impl::PullMessage(
    ::grpc::CallbackServerContext* ctx, const v2::PullMessageRequest* req) {
  if (auto denied = Authorize(
          ctx, {{T(req->message_queue().topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return new RefusedStream<::grpc::ServerWriteReactor<v2::PullMessageResponse>>(denied->message);
  }
  return new PullCall(this, *req);
}

}  // namespace ramjet::broker
