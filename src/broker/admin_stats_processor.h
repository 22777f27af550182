// The administrative read side that Apache RocketMQ's admin tools (mqadmin, the dashboard) use:
// queue and consumer statistics, runtime information, consume-queue dumps, and the requests the
// broker forwards to one consumer.
//
//   GET_BROKER_RUNTIME_INFO (28)          runtime table (clusterList, brokerStatus, clusterRT)
//   GET_ALL_CONSUMER_OFFSET (43)          every group's offsets
//   GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) subscription groups (getConsumerConfig)
//   GET_TOPIC_STATS_INFO (202)            min/max offset per queue (topicStatus)
//   GET_CONSUME_STATS (208)               broker/consumer offset per queue (consumerProgress)
//   QUERY_TOPIC_CONSUME_BY_WHO (300)      groups consuming a topic (topicList -c, queryMsgById)
//   QUERY_CONSUME_TIME_SPAN (303)         time span per queue (consumerProgress -s)
//   GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305)
//   CLEAN_EXPIRED_CONSUMEQUEUE (306), CLEAN_UNUSED_TOPIC (316), DELETE_EXPIRED_COMMITLOG (329):
//                                         one retention round on demand
//   GET_CONSUMER_RUNNING_INFO (307), CONSUME_MESSAGE_DIRECTLY (309)   forwarded to a client
//   CLONE_GROUP_OFFSET (314)
//   VIEW_BROKER_STATS_DATA (315)          per-topic / per-group counters (statsAll)
//   GET_BROKER_CONSUME_STATS (317)        ConsumeStats of every group (brokerConsumeStats)
//   QUERY_CONSUME_QUEUE (321)             consume-queue entries (queryCq)
//
// Threading: handlers run on the admin executor; forwarded calls complete on an I/O thread. The
// processor holds no lock of its own; its collaborators are internally locked.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "broker_stats.h"
#include "consumer_manager.h"
#include "consumer_offset_manager.h"
#include "ramjet/broker/broker.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/store/message_store.h"
#include "subscription_group_manager.h"
#include "topic_config_manager.h"

namespace ramjet::broker {

struct AdminStatsDeps {
  const BrokerConfig* config = nullptr;  // as started (names, address, store path)
  store::MessageStore* store = nullptr;
  const TopicConfigManager* topics = nullptr;
  const SubscriptionGroupManager* groups = nullptr;
  ConsumerOffsetManager* offsets = nullptr;
  const ConsumerManager* consumers = nullptr;
  const BrokerStats* stats = nullptr;
  remoting::Endpoint* server = nullptr;
  // Adds what only the broker knows to the runtime table (executor queues, schedule progress).
  std::function<void(std::map<std::string, std::string>*)> add_runtime_info;
  // delayOffset.json's text (GET_ALL_DELAY_OFFSET, which slaves copy).
  std::function<std::string()> delay_offsets;
  // GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY for a client that is not a remoting
  // consumer of the group: a 5.x gRPC client, asked over its telemetry stream (blocks up to the
  // call timeout). record: the stored message (CONSUME_MESSAGE_DIRECTLY). The answer's code and
  // body; kNotFound when there is no such client.
  std::function<Result<std::pair<int32_t, std::string>>(int32_t code, const std::string& group,
                                                        const std::string& client_id,
                                                        const std::string& record)>
      call_grpc_consumer;
};

class AdminStatsProcessor {
 public:
  explicit AdminStatsProcessor(AdminStatsDeps deps) : d_(std::move(deps)) {}

  // Registers every code listed above on server, run by executor.
  void RegisterOn(remoting::Endpoint* server, remoting::ThreadPool* executor);

 private:
  void RuntimeInfo(const remoting::RequestContextPtr& ctx);
  void AllConsumerOffset(const remoting::RequestContextPtr& ctx);
  void AllSubscriptionGroups(const remoting::RequestContextPtr& ctx);
  void AllDelayOffset(const remoting::RequestContextPtr& ctx);
  void TopicStats(const remoting::RequestContextPtr& ctx);
  void ConsumeStatsOf(const remoting::RequestContextPtr& ctx);
  void TopicConsumeByWho(const remoting::RequestContextPtr& ctx);
  void ConsumeTimeSpan(const remoting::RequestContextPtr& ctx);
  void SystemTopics(const remoting::RequestContextPtr& ctx);
  void CleanExpiredConsumeQueue(const remoting::RequestContextPtr& ctx);
  void CallConsumer(const remoting::RequestContextPtr& ctx);
  void CloneGroupOffset(const remoting::RequestContextPtr& ctx);
  void ViewStats(const remoting::RequestContextPtr& ctx);
  void BrokerConsumeStats(const remoting::RequestContextPtr& ctx);
  void QueryConsumeQueue(const remoting::RequestContextPtr& ctx);

  protocol::MessageQueue Mq(const std::string& topic, int32_t queue_id) const;
  // The request's "topic" if it names one, else every topic group has offsets on.
  Result<std::set<std::string>> TopicsOf(const protocol::RemotingCommand& r,
                                         const std::string& group) const;
  // True when group is online but subscribes to other topics only (RocketMQ then skips topic).
  bool OnlineWithoutTopic(const std::string& group, const std::string& topic) const;
  // The ConsumeStats of group on topic; nullopt when the group is online without subscribing
  // to topic (as RocketMQ skips such topics).
  std::optional<protocol::ConsumeStats> StatsOf(const std::string& group, const std::string& topic,
                                                int32_t queues) const;
  // Store time of the message at offset, 0 if there is none.
  int64_t StoreTime(const std::string& topic, int32_t queue_id, int64_t offset) const;
  static void Respond(const remoting::RequestContextPtr& ctx, std::string body);

  AdminStatsDeps d_;
};

}  // namespace ramjet::broker
