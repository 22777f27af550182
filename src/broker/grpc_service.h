// The apache.rocketmq.v2 MessagingService (the RocketMQ 5.x gRPC API) served by the broker
// itself, with no proxy, on grpcServerPort (RocketMQ's proxy in "local" mode, folded into the
// broker). Each RPC is translated into what the broker already does: a send becomes the
// SEND_MESSAGE_V2 request the send processor runs (so permissions, topic creation, delays,
// transactions and replication behave exactly as for 4.x clients), EndTransaction the
// END_TRANSACTION request, ReceiveMessage / AckMessage / ChangeInvisibleDuration the PopService.
// Topics, groups, offsets and messages are the ones 4.x remoting clients see.
//
// Threading: gRPC's callback API; handlers run on gRPC's threads and never block on I/O except
// the store appends the processors do. Long-polling receives wait in a waiter list woken by
// message arrival (OnArrival) or their deadline, on the service's own thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "broker_context.h"
#include "pop_service.h"
#include "ramjet/acl/acl_validator.h"
#include "ramjet/acl/authorizer.h"
#include "ramjet/base/status.h"
#include "ramjet/metrics/rpc_latency.h"
#include "ramjet/remoting/tls.h"
#include "send_processor.h"
#include "timer_service.h"
#include "transaction_processor.h"

namespace ramjet::broker {

class GrpcService {
 public:
  struct Deps {
    BrokerContext* bc = nullptr;
    SendProcessor* send = nullptr;
    TransactionProcessor* transactions = nullptr;
    PopService* pop = nullptr;
    TimerService* timers = nullptr;              // RecallMessage
    metrics::RpcLatency* rpc_latency = nullptr;  // rocketmq_rpc_latency (null: not recorded)
    acl::AclValidator* acl = nullptr;            // aclEnable (null: calls are not authenticated)
    const acl::Authorizer* auth2 = nullptr;      // ACL 2.0 (null: off); takes precedence
  };
  // REQUIRES: every dependency outlives the service.
  explicit GrpcService(Deps deps);
  ~GrpcService();
  GrpcService(const GrpcService&) = delete;
  GrpcService& operator=(const GrpcService&) = delete;

  // Listens on address:port (port 0: any free port). With a TLS mode other than disabled, tls
  // (a server context) serves TLS clients on the same port (grpc_port.h).
  [[nodiscard]] Status Start(const std::string& address, int port,
                             remoting::TlsMode tls_mode = remoting::TlsMode::kDisabled,
                             const std::shared_ptr<remoting::TlsContext>& tls = nullptr);
  // Ends every call (waiting receives answer MESSAGE_NOT_FOUND) and stops the server.
  void Stop();
  int port() const;
  // A message arrived on topic: long-polling receives of it try again.
  void OnArrival(std::string_view topic);
  // The transaction service's check of a half message (CHECK_TRANSACTION_STATE, its body the
  // half re-encoded with its real topic) of producer group `group`: for the group of gRPC
  // producers it goes as RecoverOrphanedTransactionCommand to a producer publishing the topic.
  // False when the group is not the gRPC one or no such producer is connected.
  bool CheckTransaction(const std::string& group, const protocol::RemotingCommand& check);
  // The group's 5.x clients (their telemetry sessions), added to the admin's consumer
  // connection list; false when none is connected.
  bool AddConsumerConnections(const std::string& group,
                              protocol::ConsumerConnectionBody* body) const;
  // GET_CONSUMER_RUNNING_INFO (a PrintThreadStackTraceCommand) or CONSUME_MESSAGE_DIRECTLY (a
  // VerifyMessageCommand with record) for the 5.x client client_id of group, over its telemetry
  // stream: the answer's code and body (ConsumerRunningInfo / ConsumeMessageDirectlyResult
  // JSON). Blocks up to 10 s. kNotFound when the client has no session, kTimeout.
  Result<std::pair<int32_t, std::string>> CallConsumer(int32_t code, const std::string& group,
                                                       const std::string& client_id,
                                                       const std::string& record);
  // The producer group of every half message sent over gRPC (the 5.x API has none).
  static constexpr const char* kProducerGroup = "CID_RMQ_GRPC_PRODUCER";

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramjet::broker
