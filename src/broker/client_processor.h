// Client management (RocketMQ's ClientManageProcessor and the queue-lock requests):
// HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
// CHECK_CLIENT_CONFIG (46), LOCK_BATCH_MQ (41), UNLOCK_BATCH_MQ (42); and what follows from
// connections: a closed or silent channel leaves its groups, whose consumers are told to
// rebalance (NOTIFY_CONSUMER_IDS_CHANGED).
//
// Threading: handlers run on the client-management executor; OnConnectionClosed on an I/O
// thread; ScanExpiredChannels on the broker's scheduler. No lock of its own.
#pragma once

#include <string>
#include <vector>

#include "broker_context.h"
#include "lock_manager.h"

namespace ramjet::broker {

class ClientProcessor {
 public:
  // REQUIRES: bc outlives the processor.
  explicit ClientProcessor(BrokerContext* bc)
      : bc_(*bc), locks_(bc->config().rebalance_lock_max_live_time) {}

  void HeartBeat(const remoting::RequestContextPtr& ctx);
  void UnregisterClient(const remoting::RequestContextPtr& ctx);
  void GetConsumerList(const remoting::RequestContextPtr& ctx);
  void CheckClientConfig(const remoting::RequestContextPtr& ctx);
  void LockBatchMq(const remoting::RequestContextPtr& ctx);
  void UnlockBatchMq(const remoting::RequestContextPtr& ctx);

  // A connection closed: its producers and consumers leave their groups.
  void OnConnectionClosed(const remoting::ConnectionPtr& conn);
  // Closes channels silent for longer than channelExpiredTimeout.
  void ScanExpiredChannels();

 private:
  // Non-TAG subscriptions compiled: a bad expression is left out and reported.
  std::vector<protocol::SubscriptionData> CompiledSubscriptions(const protocol::ConsumerData& c,
                                                                std::string* errors,
                                                                int32_t* error_code) const;
  // Creates the heartbeat's groups and their retry topics (one write of each file).
  Result<std::map<std::string, std::optional<SubscriptionGroupConfig>>> EnsureGroups(
      const protocol::HeartbeatData& hb);

  BrokerContext& bc_;
  LockManager locks_;
};

}  // namespace ramjet::broker
