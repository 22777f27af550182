// PushConsumer's implementation, shared by the files that carry its roles (the model is
// RocketMQ's DefaultMQPushConsumerImpl and its services):
//   push_consumer.cc          start/stop, subscriptions, routes and heartbeats, the requests a
//                             broker sends to the consumer (reset offset, running info, consume
//                             directly), the public API
//   rebalance.cc              queue allocation (RebalanceImpl) and orderly queue locks
//   pull_service.cc           pulls and their results (PullMessageService)
//   consume_concurrently.cc   the concurrent listener, send-back
//   (ConsumeMessageConcurrentlyService) consume_orderly.cc        the orderly listener
//   (ConsumeMessageOrderlyService) offset_store.cc           broker and local offsets
//   (Remote/LocalFileOffsetStore)
// Private to the client module.
//
// Threading: the scheduler thread drives rebalance, offset persistence and lock renewal; the
// client instance's scheduler refreshes routes (OnRoute) and sends heartbeats (FillHeartbeat);
// pulls complete on I/O threads and re-submit on the pull pool; listeners run on the consume pool.
// mu_ guards the tables (subscriptions, routes, process queues, offsets); rebalance_mu_ serializes
// rebalances; a ProcessQueue has its own mutex.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "client_instance.h"
#include "client_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/client/push_consumer.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/config_files.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/protocol/running_info.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::client {
namespace detail {

struct ProcessQueue {
  MessageQueue mq;
  std::string broker_addr;
  std::mutex mu;
  std::map<int64_t, MessageExt> msgs;  // by queue offset, not yet consumed
  int64_t max_offset_seen = -1;
  int64_t cached_bytes = 0;
  int64_t next_pull_offset = 0;
  std::atomic<bool> dropped{false};
  // Orderly.
  std::atomic<bool> locked{false};
  std::atomic<int64_t> last_lock_ms{0};
  bool consuming = false;           // an orderly task is running (guarded by mu)
  std::mutex consume_mu;            // held while an orderly listener runs
  std::map<int64_t, int> attempts;  // orderly: per-offset consume attempts
};
using PqPtr = std::shared_ptr<ProcessQueue>;

struct Sub {
  std::string topic;
  std::string expression;
  std::string type;
  int64_t version = 0;
  std::set<std::string> tags;
  protocol::SubscriptionData data;
};

}  // namespace detail

class PushConsumer::Impl : public detail::ClientMember,
                           public std::enable_shared_from_this<PushConsumer::Impl> {
 public:
  using ProcessQueue = detail::ProcessQueue;
  using PqPtr = detail::PqPtr;
  using Sub = detail::Sub;

  Impl(std::string group, ConsumerConfig config)
      : group_(std::move(group)), config_(std::move(config)), scheduler_("consumer") {
    client_id_ = MakeClientId(config_.client_ip, config_.instance_name);
  }

  // push_consumer.cc
  Status Subscribe(const std::string& topic, const std::string& expr, const std::string& type);
  Status Start();
  void Shutdown();
  // Routes of every subscribed topic through the client instance (which calls OnRoute).
  void RefreshRoutes();
  // detail::ClientMember: the instance's view of this consumer.
  std::vector<std::string> TopicsInUse() override;
  void OnRoute(const std::string& topic, const protocol::TopicRouteData& route) override;
  void FillHeartbeat(protocol::HeartbeatData* hb) override;
  // NOTIFY_CONSUMER_IDS_CHANGED, RESET_CONSUMER_CLIENT_OFFSET, GET_CONSUMER_RUNNING_INFO and
  // CONSUME_MESSAGE_DIRECTLY for this group.
  void OnBrokerRequest(const remoting::RequestContextPtr& ctx) override;
  // RESET_CONSUMER_CLIENT_OFFSET: the broker already committed the new offsets; drop the
  // affected process queues (and what they cached) so they restart from there at once.
  void OnResetOffset(const remoting::RequestContextPtr& ctx);
  // GET_CONSUMER_RUNNING_INFO: settings, subscriptions and the state of each assigned queue.
  void OnRunningInfo(const remoting::RequestContextPtr& ctx);
  // CONSUME_MESSAGE_DIRECTLY: the body is one stored record; the listener consumes it once,
  // outside the queues (offsets do not move), and the result goes back to the admin tool.
  void OnConsumeDirectly(const remoting::RequestContextPtr& ctx);

  // rebalance.cc
  void TriggerRebalance();
  std::vector<std::string> ConsumerIds(const protocol::TopicRouteData& route);
  void RebalanceNow();
  void DropQueue(const PqPtr& pq);
  Result<int64_t> ComputeStartOffset(const MessageQueue& mq, const std::string& addr);
  std::set<MessageQueue> SendLockRequest(const std::string& addr,
                                         const std::vector<MessageQueue>& mqs, bool lock);
  void LockAll();
  std::set<MessageQueue> Assigned();

  // pull_service.cc
  void SubmitPull(const PqPtr& pq, int delay_ms);
  void Pull(const PqPtr& pq);
  // Where the next pull of mq goes (RocketMQ's findBrokerAddressInSubscribe): the suggested
  // member, else the master, else any slave (a group whose master is down is read from its
  // slave). Empty when the group is unknown.
  std::string PullAddr(const MessageQueue& mq, bool* from_master);
  void OnPulled(const PqPtr& pq, const Sub& sub, Result<protocol::RemotingCommand> resp);

  // consume_concurrently.cc
  // Offset to commit: the smallest unconsumed offset, or one past the highest seen.
  void UpdateOffsetFromQueue(const PqPtr& pq);
  void RemoveConsumed(const PqPtr& pq, int64_t offset);
  bool SendBack(const PqPtr& pq, const MessageExt& m, int delay_level);
  void SubmitConcurrent(const PqPtr& pq, MessageExt m);

  // consume_orderly.cc
  void SubmitOrderly(const PqPtr& pq);
  void ConsumeOrderly(const PqPtr& pq);

  // offset_store.cc
  void PersistOffset(const MessageQueue& mq, bool sync);
  void PersistOffsets(bool sync);
  std::string LocalOffsetPath() const;
  void LoadLocalOffsets();
  void SaveLocalOffsets();

  std::string group_;
  ConsumerConfig config_;
  std::string client_id_;
  Listener listener_;
  OrderlyListener orderly_;
  std::shared_ptr<detail::ClientInstance> instance_;
  remoting::RemotingClient* client_ = nullptr;  // the instance's, while started
  std::unique_ptr<remoting::ThreadPool> pull_pool_, consume_pool_, rebalance_pool_;
  Scheduler scheduler_;
  std::mutex mu_;
  std::mutex rebalance_mu_;
  std::map<std::string, Sub> subs_;
  std::map<std::string, protocol::TopicRouteData> routes_;
  std::map<std::string, std::string> master_;
  // Every member of each broker group (brokerId -> address) and, per queue, the member the
  // broker suggested for the next pull (suggestWhichBrokerId).
  std::map<std::string, std::map<int64_t, std::string>> members_;
  std::map<MessageQueue, int64_t> suggested_;
  std::map<MessageQueue, PqPtr> pqs_;
  std::map<MessageQueue, int64_t> offsets_;
  std::map<std::string, int64_t> local_offsets_;
  std::atomic<bool> started_{false};
  int64_t start_ms_ = 0;
};

}  // namespace ramjet::client
