// The administrative write side and the connection views (RocketMQ's AdminBrokerProcessor, as
// far as mqadmin's topic, group and configuration commands use it):
//   UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21),
//   UPDATE_BROKER_CONFIG (25), GET_BROKER_CONFIG (26),
//   UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), DELETE_SUBSCRIPTIONGROUP (207),
//   GET_PRODUCER_CONNECTION_LIST (204), GET_CONSUMER_CONNECTION_LIST (203),
//   INVOKE_BROKER_TO_RESET_OFFSET (222).
// The read-only statistics live in AdminStatsProcessor.
//
// Threading: handlers run on the admin executor. UPDATE_BROKER_CONFIG is serialized by
// update_mu_ (check all keys, persist, then publish the new live configuration).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "broker_context.h"
#include "ramjet/base/mutex.h"

namespace ramjet::broker {

class AdminProcessor {
 public:
  // REQUIRES: bc outlives the processor.
  explicit AdminProcessor(BrokerContext* bc) : bc_(*bc) {}
  // Adds a group's 5.x gRPC clients to its consumer connection list (true when there were
  // any). REQUIRES: set before requests arrive; called on admin threads.
  using GrpcConsumers =
      std::function<bool(const std::string& group, protocol::ConsumerConnectionBody* body)>;
  void set_grpc_consumers(GrpcConsumers f) { grpc_consumers_ = std::move(f); }

  void UpdateAndCreateTopic(const remoting::RequestContextPtr& ctx);
  void DeleteTopicInBroker(const remoting::RequestContextPtr& ctx);
  void GetAllTopicConfig(const remoting::RequestContextPtr& ctx);
  void UpdateBrokerConfig(const remoting::RequestContextPtr& ctx) RJ_EXCLUDES(update_mu_);
  void GetBrokerConfig(const remoting::RequestContextPtr& ctx);
  void UpdateSubscriptionGroup(const remoting::RequestContextPtr& ctx);
  void DeleteSubscriptionGroup(const remoting::RequestContextPtr& ctx);
  void ElectMaster(const remoting::RequestContextPtr& ctx);
  void GetProducerConnectionList(const remoting::RequestContextPtr& ctx);
  void GetConsumerConnectionList(const remoting::RequestContextPtr& ctx);
  void InvokeBrokerToResetOffset(const remoting::RequestContextPtr& ctx);

 private:
  // Topics the broker owns are neither reconfigured nor deleted by clients (answered here).
  bool RefusedAsSystemTopic(const remoting::RequestContextPtr& ctx, const std::string& topic);
  // The checked next configuration with the keys that wait for a restart; a refusal's remark
  // otherwise.
  Result<std::shared_ptr<BrokerConfig>> NextConfig(
      const std::vector<std::pair<std::string, std::string>>& pairs,
      std::vector<std::string>* next_start) RJ_REQUIRES(update_mu_);
  // What follows a published configuration change (TBW102 back, routes re-registered).
  void AfterConfigChange(const BrokerConfig& before, const BrokerConfig& after);
  // Moves the group's offsets on topic to timestamp (-1 = the end) in every queue.
  std::map<int32_t, int64_t> ResetOffsets(const std::string& group, const std::string& topic,
                                          int32_t queues, int64_t timestamp, bool force);

  GrpcConsumers grpc_consumers_;
  BrokerContext& bc_;
  Mutex update_mu_;  // one UPDATE_BROKER_CONFIG at a time
};

}  // namespace ramjet::broker
