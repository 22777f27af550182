// GrpcService: the server, and the unary RPCs (route, heartbeat, send, assignment, acks,
// invisible time, dead-letter forwarding, transactions, termination). See grpc_service.h.
#include "grpc_service.h"

#include <absl/synchronization/mutex.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "grpc_metrics.h"
#include "grpc_service_impl.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "recall.h"
#include "system_topics.h"

namespace ramjet::broker {
namespace {

namespace rc = protocol::response_code;

std::string Metadata(const ::grpc::CallbackServerContext* ctx, const char* key) {
  auto it = ctx->client_metadata().find(key);
  if (it == ctx->client_metadata().end()) return {};
  return std::string(it->second.data(), it->second.size());
}

// "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000" -> "127.0.0.1:5000" / "[::1]:5000".
std::string PeerAddress(const std::string& peer) {
  size_t colon = peer.find(':');
  if (colon == std::string::npos) return peer;
  std::string rest = peer.substr(colon + 1);
  // Percent-encoded brackets in some gRPC versions.
  for (auto [from, to] : {std::pair<const char*, const char*>{"%5B", "["}, {"%5D", "]"}}) {
    for (size_t p; (p = rest.find(from)) != std::string::npos;) rest.replace(p, 3, to);
  }
  return rest;
}

v2::Permission PermissionOf(int32_t perm) {
  const bool r = (perm & protocol::kPermRead) != 0;
  const bool w = (perm & protocol::kPermWrite) != 0;
  return r && w ? v2::READ_WRITE : r ? v2::READ : w ? v2::WRITE : v2::NONE;
}

void FillBroker(const BrokerConfig& c, const v2::Endpoints& endpoints, v2::Broker* b) {
  b->set_name(c.broker_name);
  b->set_id(0);
  *b->mutable_endpoints() = endpoints;
}

}  // namespace

GrpcCaller CallerOf(const ::grpc::CallbackServerContext* ctx) {
  GrpcCaller c;
  c.client_id = Metadata(ctx, "x-mq-client-id");
  c.ns = Metadata(ctx, "x-mq-namespace");
  c.peer = PeerAddress(ctx->peer());
  return c;
}

std::optional<grpc_api::Refusal> GrpcService::Impl::Authorize(
    const ::grpc::CallbackServerContext* ctx, const Resources& resources) const {
  return Authorize(CredentialsOf(ctx), resources);
}

GrpcService::Impl::CallCredentials GrpcService::Impl::CredentialsOf(
    const ::grpc::CallbackServerContext* ctx) {
  return {Metadata(ctx, "authorization"), Metadata(ctx, "x-mq-date-time"),
          PeerAddress(ctx->peer())};
}

std::optional<grpc_api::Refusal> GrpcService::Impl::Authorize(const CallCredentials& c,
                                                              const Resources& resources) const {
  if (d_.auth2 != nullptr) {
    Status s = d_.auth2->CheckGrpc(c.authorization, c.date_time, c.peer, resources);
    if (s.ok()) return std::nullopt;
    return grpc_api::Refusal{v2::UNAUTHORIZED, std::string(s.message())};
  }
  if (d_.acl == nullptr) return std::nullopt;
  bool forbidden = false;
  Status s = d_.acl->CheckGrpc(c.authorization, c.date_time, c.peer, resources, &forbidden);
  if (s.ok()) return std::nullopt;
  // Apache's proxy answers UNAUTHORIZED for both (ResponseBuilder); the text tells which.
  (void)forbidden;
  return grpc_api::Refusal{v2::UNAUTHORIZED, std::string(s.message())};
}

GrpcService::Impl::Resources GrpcService::Impl::SendResources(const v2::SendMessageRequest& req) {
  Resources r;
  for (const auto& m : req.messages()) r[T(m.topic())] = acl::kPub;
  return r;
}

GrpcService::Impl::Resources GrpcService::Impl::HeartbeatResources(
    const v2::HeartbeatRequest& req) {
  // Consumers heartbeat with their group; producers name none.
  if (!req.has_group() || req.group().name().empty()) return {};
  return {{G(req.group()), acl::kSub}};
}

// ---------------------------------------------------------------------------------------------
// Route and assignment

::grpc::ServerUnaryReactor* GrpcService::Impl::QueryRoute(::grpc::CallbackServerContext* ctx,
                                                          const v2::QueryRouteRequest* req,
                                                          v2::QueryRouteResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kAny}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  auto live = bc().Live();
  auto tc = bc().topics.Find(topic);
  if (!tc && live->auto_create_topic_enable &&
      !IsSystemTopic(topic, live->broker_cluster_name, live->broker_name)) {
    // As a 4.x producer's first send does (TBW102): a standalone broker that "just works".
    protocol::TopicConfig t;
    t.topic_name = topic;
    t.read_queue_nums = t.write_queue_nums = live->default_topic_queue_nums;
    t.perm = protocol::kPermRead | protocol::kPermWrite;
    if (auto added = bc().topics.AddIfAbsent(t); added.ok()) {
      if (*added) bc().TopicsChanged();
      tc = bc().topics.Find(topic);
    }
  }
  if (!tc) return FinishUnary(ctx, resp, v2::TOPIC_NOT_FOUND, "topic not found: " + topic);
  const int32_t perm = tc->perm & live->broker_permission;
  const int32_t queues = std::max(tc->read_queue_nums, tc->write_queue_nums);
  for (int32_t q = 0; q < queues; ++q) {
    v2::MessageQueue* mq = resp->add_message_queues();
    *mq->mutable_topic() = req->topic();
    mq->set_id(q);
    int32_t p = perm;
    if (q >= tc->read_queue_nums) p &= ~protocol::kPermRead;
    if (q >= tc->write_queue_nums) p &= ~protocol::kPermWrite;
    mq->set_permission(PermissionOf(p));
    FillBroker(bc().config(), req->endpoints(), mq->mutable_broker());
    for (auto t : {v2::NORMAL, v2::FIFO, v2::DELAY, v2::TRANSACTION}) {
      mq->add_accept_message_types(t);
    }
  }
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::QueryAssignment(
    ::grpc::CallbackServerContext* ctx, const v2::QueryAssignmentRequest* req,
    v2::QueryAssignmentResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  auto tc = bc().topics.Find(topic);
  if (!tc) return FinishUnary(ctx, resp, v2::TOPIC_NOT_FOUND, "topic not found: " + topic);
  auto live = bc().Live();
  const int32_t perm = tc->perm & live->broker_permission;
  if ((perm & protocol::kPermRead) == 0) return FinishUnary(ctx, resp, v2::OK);  // nothing to read
  // POP: the broker assigns messages, so the consumer is given the whole broker (queue -1).
  v2::MessageQueue* mq = resp->add_assignments()->mutable_message_queue();
  *mq->mutable_topic() = req->topic();
  mq->set_id(-1);
  mq->set_permission(PermissionOf(perm));
  FillBroker(bc().config(), req->endpoints(), mq->mutable_broker());
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::Heartbeat(::grpc::CallbackServerContext* ctx,
                                                         const v2::HeartbeatRequest* req,
                                                         v2::HeartbeatResponse* resp) {
  if (auto denied = Authorize(ctx, HeartbeatResources(*req))) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  if (req->has_group()) {
    const std::string group = grpc_api::WithNamespace(req->group());
    if (auto r = grpc_api::CheckGroupName(group))
      return FinishUnary(ctx, resp, r->code, r->message);
  }
  if (CallerOf(ctx).client_id.empty()) {
    return FinishUnary(ctx, resp, v2::CLIENT_ID_REQUIRED, "x-mq-client-id is required");
  }
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::NotifyClientTermination(
    ::grpc::CallbackServerContext* ctx, const v2::NotifyClientTerminationRequest*,
    v2::NotifyClientTerminationResponse* resp) {
  if (auto denied = Authorize(ctx, {})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  return FinishUnary(ctx, resp, v2::OK);
}

// ---------------------------------------------------------------------------------------------
// Send

::grpc::ServerUnaryReactor* GrpcService::Impl::SendMessage(::grpc::CallbackServerContext* ctx,
                                                           const v2::SendMessageRequest* req,
                                                           v2::SendMessageResponse* resp) {
  if (auto denied = Authorize(ctx, SendResources(*req))) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  if (req->messages_size() == 0)
    return FinishUnary(ctx, resp, v2::BAD_REQUEST, "no message to send");
  // Each message is its own SEND_MESSAGE_V2 (a batch of the 5.x API may mix topics and
  // queues); the answer goes out when the last one is done.
  struct Pending {
    Mutex mu;
    int left = 0;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = req->messages_size();
  auto* reactor = ctx->DefaultReactor();
  for (int i = 0; i < req->messages_size(); ++i) resp->add_entries();
  const GrpcCaller caller = CallerOf(ctx);
  auto finish_one = [pending, reactor, resp] {
    bool last = false;
    {
      MutexLock l(&pending->mu);
      last = --pending->left == 0;
    }
    if (!last) return;
    // The call's status is the first failure's, or OK.
    v2::Code code = v2::OK;
    std::string message;
    for (const auto& e : resp->entries()) {
      if (e.status().code() != v2::OK) {
        code = e.status().code();
        message = e.status().message();
        break;
      }
    }
    grpc_api::SetStatus(resp->mutable_status(), code, message);
    reactor->Finish(::grpc::Status::OK);
  };
  const auto max_body = static_cast<int32_t>(bc().config().store.max_message_size);
  // The last completion finishes the call and frees req and resp: the loop reads neither after
  // handing its last message to the send processor.
  const int n = req->messages_size();
  for (int i = 0; i < n; ++i) {
    v2::SendResultEntry* entry = resp->mutable_entries(i);
    grpc_api::Refusal refusal;
    auto conv =
        grpc_api::ToSendRequest(req->messages(i), GrpcService::kProducerGroup, max_body, &refusal);
    if (!conv.ok()) {
      grpc_api::SetStatus(entry->mutable_status(), refusal.code, refusal.message);
      finish_one();
      continue;
    }
    entry->set_message_id(conv->message_id);
    const bool tx = conv->transactional;
    auto rctx = std::make_shared<remoting::RequestContext>(
        [entry, finish_one, tx](const protocol::RemotingCommand& r) {
          if (r.code == rc::kSuccess) {
            auto h = protocol::SendMessageResponseHeader::Decode(r);
            if (h.ok()) {
              entry->set_offset(h->queue_offset);
              // The transaction id is the half message's offset id: END_TRANSACTION finds the
              // record (and its queue offset) from it, across restarts.
              if (tx) entry->set_transaction_id(h->msg_id);
              if (!h->recall_handle.empty()) entry->set_recall_handle(h->recall_handle);
            }
            grpc_api::SetStatus(entry->mutable_status(), v2::OK, "");
          } else {
            grpc_api::SetStatus(entry->mutable_status(), grpc_api::CodeOfResponse(r.code),
                                r.remark.value_or(""));
          }
          finish_one();
        },
        std::move(conv->request), protocol::kVersionV4_9_8, caller.peer);
    d_.send->ProcessSend(rctx);
  }
  return reactor;
}

// ---------------------------------------------------------------------------------------------
// Transactions

::grpc::ServerUnaryReactor* GrpcService::Impl::EndTransaction(::grpc::CallbackServerContext* ctx,
                                                              const v2::EndTransactionRequest* req,
                                                              v2::EndTransactionResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kPub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  auto id = message::DecodeOffsetMessageId(req->transaction_id());
  if (!id.ok()) {
    return FinishUnary(ctx, resp, v2::INVALID_TRANSACTION_ID,
                       "invalid transaction id: " + EscapeForLog(req->transaction_id()));
  }
  auto rec = bc().store->ReadRecord(PhysicalOffset(id->second));
  if (!rec.ok() || rec->view.topic != kTransHalfTopic) {
    return FinishUnary(ctx, resp, v2::INVALID_TRANSACTION_ID,
                       "no half message with transaction id " + req->transaction_id());
  }
  protocol::EndTransactionRequestHeader h;
  h.producer_group = std::string(message::FindProperty(rec->view.properties, "PGROUP"));
  h.tran_state_table_offset = rec->view.queue_offset;
  h.commit_log_offset = id->second;
  h.commit_or_rollback = req->resolution() == v2::COMMIT     ? message::kTransactionCommitType
                         : req->resolution() == v2::ROLLBACK ? message::kTransactionRollbackType
                                                             : message::kTransactionNotType;
  h.from_transaction_check = req->source() == v2::SOURCE_SERVER_CHECK;
  h.msg_id = req->message_id();
  h.transaction_id = req->transaction_id();
  auto cmd = protocol::RemotingCommand::Request(protocol::request_code::kEndTransaction);
  h.Encode(&cmd);
  auto* reactor = ctx->DefaultReactor();
  auto rctx = std::make_shared<remoting::RequestContext>(
      [reactor, resp](const protocol::RemotingCommand& r) {
        grpc_api::SetStatus(resp->mutable_status(), grpc_api::CodeOfResponse(r.code),
                            r.remark.value_or(""));
        reactor->Finish(::grpc::Status::OK);
      },
      std::move(cmd), protocol::kVersionV4_9_8, CallerOf(ctx).peer);
  d_.transactions->EndTransaction(rctx);
  return reactor;
}

// ---------------------------------------------------------------------------------------------
// Acks, invisible time, dead letters

::grpc::ServerUnaryReactor* GrpcService::Impl::AckMessage(::grpc::CallbackServerContext* ctx,
                                                          const v2::AckMessageRequest* req,
                                                          v2::AckMessageResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  if (req->entries_size() == 0) return FinishUnary(ctx, resp, v2::BAD_REQUEST, "no entry to ack");
  v2::Code first = v2::OK;
  std::string first_message;
  for (const auto& e : req->entries()) {
    v2::AckMessageResultEntry* out = resp->add_entries();
    out->set_message_id(e.message_id());
    out->set_receipt_handle(e.receipt_handle());
    Status s = d_.pop->Ack(group, topic, e.receipt_handle());
    v2::Code code = s.ok() ? v2::OK
                    : s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound
                        ? v2::INVALID_RECEIPT_HANDLE
                        : grpc_api::CodeOfStatus(s);
    grpc_api::SetStatus(out->mutable_status(), code, s.message());
    if (code != v2::OK && first == v2::OK) {
      first = code;
      first_message = std::string(s.message());
    }
  }
  return FinishUnary(ctx, resp, first, first_message);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::RecallMessage(::grpc::CallbackServerContext* ctx,
                                                             const v2::RecallMessageRequest* req,
                                                             v2::RecallMessageResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kPub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  if (!d_.timers) return FinishUnary(ctx, resp, v2::FORBIDDEN, "timer messages are off");
  auto id = RecallTimer(bc(), d_.timers, topic, req->recall_handle());
  if (!id.ok()) {
    return FinishUnary(ctx, resp, grpc_api::CodeOfStatus(id.status()), id.status().message());
  }
  resp->set_message_id(*id);
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::ChangeInvisibleDuration(
    ::grpc::CallbackServerContext* ctx, const v2::ChangeInvisibleDurationRequest* req,
    v2::ChangeInvisibleDurationResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  const int64_t ms = grpc_api::MillisOf(req->invisible_duration());
  if (ms < kMinInvisibleMs || ms > kMaxInvisibleMs) {
    return FinishUnary(ctx, resp, v2::ILLEGAL_INVISIBLE_TIME,
                       "invisible duration out of range: " + std::to_string(ms) + " ms");
  }
  auto next = d_.pop->ChangeInvisible(group, topic, req->receipt_handle(), ms);
  if (!next.ok())
    return FinishUnary(ctx, resp, v2::INVALID_RECEIPT_HANDLE, next.status().message());
  resp->set_receipt_handle(*next);
  return FinishUnary(ctx, resp, v2::OK);
}

::grpc::ServerUnaryReactor* GrpcService::Impl::ForwardMessageToDeadLetterQueue(
    ::grpc::CallbackServerContext* ctx, const v2::ForwardMessageToDeadLetterQueueRequest* req,
    v2::ForwardMessageToDeadLetterQueueResponse* resp) {
  if (auto denied = Authorize(ctx, {{T(req->topic()), acl::kSub}, {G(req->group()), acl::kSub}})) {
    return FinishUnary(ctx, resp, denied->code, denied->message);
  }
  const std::string topic = grpc_api::WithNamespace(req->topic());
  const std::string group = grpc_api::WithNamespace(req->group());
  if (auto r = grpc_api::CheckTopicName(topic)) return FinishUnary(ctx, resp, r->code, r->message);
  if (auto r = grpc_api::CheckGroupName(group)) return FinishUnary(ctx, resp, r->code, r->message);
  Status s = d_.pop->ToDeadLetterQueue(group, topic, req->receipt_handle());
  if (!s.ok()) {
    v2::Code code = s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound
                        ? v2::INVALID_RECEIPT_HANDLE
                        : grpc_api::CodeOfStatus(s);
    return FinishUnary(ctx, resp, code, s.message());
  }
  return FinishUnary(ctx, resp, v2::OK);
}

// ---------------------------------------------------------------------------------------------
// The server

GrpcService::GrpcService(Deps deps) : impl_(std::make_unique<Impl>(deps)) {}
GrpcService::~GrpcService() { Stop(); }

Status GrpcService::Start(const std::string& address, int port, remoting::TlsMode tls_mode,
                          const std::shared_ptr<remoting::TlsContext>& tls) {
  // Debian's abseil keeps absl::Mutex's deadlock detection on: a debugging aid that builds a
  // lock graph on every gRPC lock (about 6 % of the broker's CPU under gRPC send load, and
  // races TSan reports inside the uninstrumented library). Off, as in release builds of abseil.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ::grpc::ServerBuilder b;
  const bool routed = tls_mode != remoting::TlsMode::kDisabled && tls != nullptr;
  if (routed) {
    impl_->router = std::make_unique<GrpcPortRouter>(&b, tls_mode, *tls);
  } else {
    b.AddListeningPort(address + ":" + std::to_string(port), ::grpc::InsecureServerCredentials(),
                       &impl_->port);
  }
  b.RegisterService(impl_.get());
  if (impl_->deps().rpc_latency != nullptr) {
    std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(MakeGrpcLatencyInterceptor(impl_->deps().rpc_latency));
    b.experimental().SetInterceptorCreators(std::move(f));
  }
  // One broker per port: gRPC would otherwise share a taken port with SO_REUSEPORT.
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A TLS handshake must end within 10 s, as on the remoting ports (gRPC's default is 120 s).
  b.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  // A message of maxMessageSize with its properties and framing.
  const auto max = static_cast<int>(
      std::min<int64_t>(impl_->bc().config().store.max_message_size * 2 + (1 << 20), 1 << 30));
  b.SetMaxReceiveMessageSize(max);
  b.SetMaxSendMessageSize(max);
  impl_->server = b.BuildAndStart();
  if (routed && impl_->server) {
    if (Status s = impl_->router->Start(address, port); !s.ok()) {
      impl_->server->Shutdown();
      impl_->server.reset();
      return s;
    }
    impl_->port = impl_->router->port();
  }
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    return Status::IOError("gRPC server: cannot listen on " + address + ":" + std::to_string(port));
  }
  impl_->waiters.Start();
  RJ_LOG(
      kInfo, "grpc", "apache.rocketmq.v2 gRPC service on %s:%d (tlsMode %s)", address.c_str(),
      impl_->port,
      std::string(remoting::TlsModeName(routed ? tls_mode : remoting::TlsMode::kDisabled)).c_str());
  return Status::OK();
}

void GrpcService::Stop() {
  if (!impl_ || !impl_->server) return;
  if (impl_->router) impl_->router->Stop();
  impl_->waiters.Stop();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server.reset();
}

int GrpcService::port() const { return impl_->port; }

void GrpcService::OnArrival(std::string_view topic) { impl_->waiters.Wake(topic); }

bool GrpcService::AddConsumerConnections(const std::string& group,
                                         protocol::ConsumerConnectionBody* body) const {
  auto sessions = impl_->ConsumerSessions(group);
  for (const auto& s : sessions) {
    body->connection_set.push_back(s.connection);
    for (const auto& [topic, sub] : s.subscriptions) body->subscription_table.emplace(topic, sub);
  }
  return !sessions.empty();
}

Result<std::pair<int32_t, std::string>> GrpcService::CallConsumer(int32_t code,
                                                                  const std::string& group,
                                                                  const std::string& client_id,
                                                                  const std::string& record) {
  constexpr int kTimeoutMs = 10000;  // as the remoting relay
  char nonce[32];
  std::snprintf(nonce, sizeof(nonce), "%08x%08x", impl_->bc().Random(), impl_->bc().Random());
  v2::TelemetryCommand cmd;
  const int64_t start = NowMillis();
  if (code == protocol::request_code::kGetConsumerRunningInfo) {
    cmd.mutable_print_thread_stack_trace_command()->set_nonce(nonce);
    RJ_ASSIGN_OR_RETURN(v2::TelemetryCommand answer,
                        impl_->CallClient(client_id, cmd, nonce, kTimeoutMs));
    nlohmann::json info = {
        {"jstack", answer.thread_stack_trace().thread_stack_trace()},
        {"mqTable", nlohmann::json::object()},
        {"properties", {{"PROP_CONSUME_TYPE", "CONSUME_POP"}, {"PROP_CONSUMER_GROUP", group}}},
        {"statusTable", nlohmann::json::object()},
        {"subscriptionSet", nlohmann::json::array()}};
    return std::make_pair(int32_t{protocol::response_code::kSuccess}, info.dump());
  }
  auto r = message::DecodeRecord(record, false);
  if (!r.ok()) return r.status();
  auto* verify = cmd.mutable_verify_message_command();
  verify->set_nonce(nonce);
  grpc_api::DeliveryInfo d;
  d.topic = r->topic;
  d.queue_id = r->queue_id;
  d.queue_offset = r->queue_offset;
  grpc_api::ToMessage(*r, d, verify->mutable_message());
  RJ_ASSIGN_OR_RETURN(v2::TelemetryCommand answer,
                      impl_->CallClient(client_id, cmd, nonce, kTimeoutMs));
  const bool ok = answer.status().code() == v2::OK;
  nlohmann::json result = {{"autoCommit", true},
                           {"consumeResult", ok ? "CR_SUCCESS" : "CR_THROW_EXCEPTION"},
                           {"order", false},
                           {"remark", answer.status().message()},
                           {"spentTimeMills", NowMillis() - start}};
  return std::make_pair(int32_t{protocol::response_code::kSuccess}, result.dump());
}

bool GrpcService::CheckTransaction(const std::string& group,
                                   const protocol::RemotingCommand& check) {
  if (group != kProducerGroup || !impl_->server) return false;
  auto r = message::DecodeRecord(check.body, false);
  if (!r.ok()) return false;
  // The transaction id a check answers with: the offset id of the half as re-appended for
  // this check, which END_TRANSACTION reads back (EndTransaction above).
  auto offset_id = check.Find("offsetMsgId");
  if (!offset_id) return false;
  v2::TelemetryCommand cmd;
  auto* recover = cmd.mutable_recover_orphaned_transaction_command();
  recover->set_transaction_id(std::string(*offset_id));
  grpc_api::DeliveryInfo d;
  d.topic = r->topic;
  d.queue_id = r->queue_id;
  d.queue_offset = r->queue_offset;
  grpc_api::ToMessage(*r, d, recover->mutable_message());
  return impl_->SendToPublisher(std::string(r->topic), cmd);
}

}  // namespace ramjet::broker
