// GrpcService::Impl: the MessagingService callback service and what its RPC files share
// (grpc_service.cc: route, heartbeat, send, transactions, acks; grpc_receive.cc: the receive
// stream and its waiters; grpc_telemetry.cc: the telemetry stream). Private to the broker module.
#pragma once

#include <grpcpp/grpcpp.h>

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "apache/rocketmq/v2/service.grpc.pb.h"
#include "grpc_convert.h"
#include "grpc_port.h"
#include "grpc_service.h"
#include "pop_waiters.h"
#include "ramjet/acl/plain_acl.h"
#include "ramjet/base/mutex.h"

namespace ramjet::broker {

namespace v2 = apache::rocketmq::v2;

// What the request metadata says about the caller.
struct GrpcCaller {
  std::string client_id;  // x-mq-client-id
  std::string ns;         // x-mq-namespace
  std::string peer;       // host:port
};
GrpcCaller CallerOf(const ::grpc::CallbackServerContext* ctx);

// A streaming call refused before it starts (ACL): finished at once with UNAUTHENTICATED.
template <typename Reactor>
class RefusedStream final : public Reactor {
 public:
  explicit RefusedStream(const std::string& why) {
    this->Finish(::grpc::Status(::grpc::StatusCode::UNAUTHENTICATED, why));
  }
  void OnDone() override { delete this; }
};

// Answers a unary call: the response's status set, the call finished.
template <typename Resp>
::grpc::ServerUnaryReactor* FinishUnary(::grpc::CallbackServerContext* ctx, Resp* resp,
                                        v2::Code code, std::string_view message = {}) {
  grpc_api::SetStatus(resp->mutable_status(), code, message);
  auto* r = ctx->DefaultReactor();
  r->Finish(::grpc::Status::OK);
  return r;
}

class ReceiveCall;
class TelemetryCall;

class GrpcService::Impl final : public v2::MessagingService::CallbackService {
 public:
  explicit Impl(Deps deps) : d_(deps) {}
  // aclEnable: the call is signed by an account of the ACL file (MQv2-HMAC-SHA1), or comes from
  // a white address (else UNAUTHORIZED), and the account holds the permissions the call needs on
  // `resources` (topics by name, groups as %RETRY%<group>; else UNAUTHORIZED too, as Apache's
  // proxy answers), as ACL 1.0 decides
  // for remoting requests. Nothing when the call may go on.
  using Resources = std::map<std::string, uint8_t>;
  std::optional<grpc_api::Refusal> Authorize(const ::grpc::CallbackServerContext* ctx,
                                             const Resources& resources) const;
  // What a call presents (kept by streams that authorize later messages: telemetry settings).
  struct CallCredentials {
    std::string authorization;  // the authorization header
    std::string date_time;      // x-mq-date-time
    std::string peer;           // host:port
  };
  static CallCredentials CredentialsOf(const ::grpc::CallbackServerContext* ctx);
  std::optional<grpc_api::Refusal> Authorize(const CallCredentials& credentials,
                                             const Resources& resources) const;
  // Resource names of a call: a topic, and a group's retry topic (ACL 1.0 group permissions).
  static std::string T(const v2::Resource& topic) { return grpc_api::WithNamespace(topic); }
  static std::string G(const v2::Resource& group) {
    return "%RETRY%" + grpc_api::WithNamespace(group);
  }
  static Resources SendResources(const v2::SendMessageRequest& req);
  static Resources HeartbeatResources(const v2::HeartbeatRequest& req);

  ::grpc::ServerUnaryReactor* QueryRoute(::grpc::CallbackServerContext* ctx,
                                         const v2::QueryRouteRequest* req,
                                         v2::QueryRouteResponse* resp) override;
  ::grpc::ServerUnaryReactor* Heartbeat(::grpc::CallbackServerContext* ctx,
                                        const v2::HeartbeatRequest* req,
                                        v2::HeartbeatResponse* resp) override;
  ::grpc::ServerUnaryReactor* SendMessage(::grpc::CallbackServerContext* ctx,
                                          const v2::SendMessageRequest* req,
                                          v2::SendMessageResponse* resp) override;
  ::grpc::ServerUnaryReactor* QueryAssignment(::grpc::CallbackServerContext* ctx,
                                              const v2::QueryAssignmentRequest* req,
                                              v2::QueryAssignmentResponse* resp) override;
  ::grpc::ServerWriteReactor<v2::ReceiveMessageResponse>* ReceiveMessage(
      ::grpc::CallbackServerContext* ctx, const v2::ReceiveMessageRequest* req) override;
  ::grpc::ServerUnaryReactor* AckMessage(::grpc::CallbackServerContext* ctx,
                                         const v2::AckMessageRequest* req,
                                         v2::AckMessageResponse* resp) override;
  ::grpc::ServerUnaryReactor* ForwardMessageToDeadLetterQueue(
      ::grpc::CallbackServerContext* ctx, const v2::ForwardMessageToDeadLetterQueueRequest* req,
      v2::ForwardMessageToDeadLetterQueueResponse* resp) override;
  ::grpc::ServerUnaryReactor* EndTransaction(::grpc::CallbackServerContext* ctx,
                                             const v2::EndTransactionRequest* req,
                                             v2::EndTransactionResponse* resp) override;
  ::grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand>* Telemetry(
      ::grpc::CallbackServerContext* ctx) override;
  ::grpc::ServerUnaryReactor* NotifyClientTermination(
      ::grpc::CallbackServerContext* ctx, const v2::NotifyClientTerminationRequest* req,
      v2::NotifyClientTerminationResponse* resp) override;
  ::grpc::ServerUnaryReactor* ChangeInvisibleDuration(
      ::grpc::CallbackServerContext* ctx, const v2::ChangeInvisibleDurationRequest* req,
      v2::ChangeInvisibleDurationResponse* resp) override;
  ::grpc::ServerUnaryReactor* RecallMessage(::grpc::CallbackServerContext* ctx,
                                            const v2::RecallMessageRequest* req,
                                            v2::RecallMessageResponse* resp) override;

  // The offset RPCs of 5.x pull consumers (grpc_offsets.cc).
  ::grpc::ServerUnaryReactor* UpdateOffset(::grpc::CallbackServerContext* ctx,
                                           const v2::UpdateOffsetRequest* req,
                                           v2::UpdateOffsetResponse* resp) override;
  ::grpc::ServerUnaryReactor* GetOffset(::grpc::CallbackServerContext* ctx,
                                        const v2::GetOffsetRequest* req,
                                        v2::GetOffsetResponse* resp) override;
  ::grpc::ServerUnaryReactor* QueryOffset(::grpc::CallbackServerContext* ctx,
                                          const v2::QueryOffsetRequest* req,
                                          v2::QueryOffsetResponse* resp) override;
  ::grpc::ServerWriteReactor<v2::PullMessageResponse>* PullMessage(
      ::grpc::CallbackServerContext* ctx, const v2::PullMessageRequest* req) override;

  const Deps& deps() const { return d_; }
  BrokerContext& bc() const { return *d_.bc; }

  // Long-polling receives (grpc_receive.cc).
  PopWaiters waiters{"grpc-poll"};

  // Telemetry sessions (grpc_telemetry.cc): a producer's session names the topics it publishes;
  // transaction check-backs go to one of them.
  // What a client's settings said: the topics it publishes, or the group it consumes.
  struct Session {
    std::set<std::string> topics;
    std::string group;
    std::map<std::string, protocol::SubscriptionData> subscriptions;  // by topic
    protocol::ConnectionInfo connection;
  };
  void AddSession(TelemetryCall* call, Session session) RJ_EXCLUDES(sessions_mu_);
  // The live consumer sessions of group (the admin's consumer connection list).
  std::vector<Session> ConsumerSessions(const std::string& group) const RJ_EXCLUDES(sessions_mu_);
  void RemoveSession(TelemetryCall* call) RJ_EXCLUDES(sessions_mu_);
  // Sends cmd to a live producer session publishing topic; false if there is none.
  bool SendToPublisher(const std::string& topic, const v2::TelemetryCommand& cmd)
      RJ_EXCLUDES(sessions_mu_);

  // Sends cmd (PrintThreadStackTraceCommand, VerifyMessageCommand with nonce) to the live
  // telemetry session of client_id and waits up to timeout_ms for the client's answer with the
  // same nonce. kNotFound (no session), kTimeout.
  Result<v2::TelemetryCommand> CallClient(const std::string& client_id,
                                          const v2::TelemetryCommand& cmd, const std::string& nonce,
                                          int timeout_ms) RJ_EXCLUDES(sessions_mu_, calls_mu_);
  // A client's answer (ThreadStackTrace, VerifyMessageResult) to a CallClient.
  void OnClientAnswer(const std::string& nonce, const v2::TelemetryCommand& answer)
      RJ_EXCLUDES(calls_mu_);

  std::unique_ptr<::grpc::Server> server;
  int port = 0;
  std::unique_ptr<GrpcPortRouter> router;  // TLS on: accepts for gRPC (grpc_port.h)

 private:
  const Deps d_;
  Mutex calls_mu_;
  std::map<std::string, std::shared_ptr<std::promise<v2::TelemetryCommand>>> calls_
      RJ_GUARDED_BY(calls_mu_);
  mutable Mutex sessions_mu_;
  std::map<TelemetryCall*, Session> sessions_ RJ_GUARDED_BY(sessions_mu_);
};

}  // namespace ramjet::broker
