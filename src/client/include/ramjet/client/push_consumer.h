// PushConsumer: the Java 4.9 DefaultMQPushConsumer model. The client pulls (long polling) and
// hands messages to a listener; in CLUSTERING mode the group's queues are shared out by the
// average allocation strategy (rebalanced every rebalance interval and at once on
// NOTIFY_CONSUMER_IDS_CHANGED) and offsets are kept by the broker; in BROADCASTING mode every
// consumer takes every queue and keeps offsets in a local file.
//
// Listeners: concurrent (messages of a queue may be consumed in parallel; RECONSUME_LATER sends
// the message back for a delayed retry, up to maxReconsumeTimes, then to the DLQ) or orderly
// (a queue is consumed by one thread, in offset order, only while this client holds the broker's
// queue lock; SUSPEND retries the same message after a pause).
//
// Threading model: pulls are issued from a small pull executor and complete on the remoting I/O
// thread, which only queues the next step; listeners run on the consume executor
// (consumeThreadMax threads); rebalance, lock renewal and offset persistence run on the
// consumer's scheduler thread and a one-thread rebalance executor; heartbeats and route refresh
// on the client instance's scheduler (shared with the producers and consumers of the same
// instance name, see producer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ramjet/acl/signature.h"
#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/remoting/tls.h"

namespace ramjet::client {

enum class MessageModel { kBroadcasting, kClustering };
enum class ConsumeFromWhere { kLastOffset = 0, kFirstOffset = 4, kTimestamp = 5 };
enum class ConsumeStatus { kSuccess, kReconsumeLater };
enum class OrderlyStatus { kSuccess, kSuspendCurrentQueueAMoment };

struct ConsumerConfig {
  std::string namesrv_addr;
  acl::Credentials credentials;               // ACL 1.0: as ClientConfig::credentials
  std::shared_ptr<remoting::TlsContext> tls;  // as ClientConfig::tls
  std::string instance_name = "DEFAULT";
  std::string client_ip = "127.0.0.1";
  MessageModel model = MessageModel::kClustering;
  ConsumeFromWhere consume_from_where = ConsumeFromWhere::kLastOffset;
  int64_t consume_timestamp_ms = 0;  // for kTimestamp (0 = 30 minutes ago)
  int pull_batch_size = 32;
  int consume_threads = 4;
  int pull_threshold_for_queue = 1000;  // cached messages per queue before pausing pulls
  int64_t pull_threshold_size_for_queue_mb = 100;
  int max_reconsume_times = 16;
  int rebalance_interval_ms = 20000;
  int persist_offset_interval_ms = 5000;
  int heartbeat_interval_ms = 30000;
  int poll_name_server_interval_ms = 30000;
  int broker_suspend_max_ms = 15000;
  int lock_interval_ms = 20000;                      // orderly: renew queue locks
  int suspend_current_queue_ms = 1000;               // orderly: pause after SUSPEND
  std::string offset_store_dir = ".ramjet_offsets";  // broadcasting offsets
};

class PushConsumer {
 public:
  using Listener = std::function<ConsumeStatus(const MessageExt&)>;
  using OrderlyListener = std::function<OrderlyStatus(const MessageExt&)>;

  PushConsumer(std::string group, ConsumerConfig config);
  ~PushConsumer();
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;

  // expression: "*" or "TagA || TagB" (TAG), or an SQL92 expression with type "SQL92".
  Status Subscribe(const std::string& topic, const std::string& expression,
                   const std::string& type = "TAG");
  void RegisterListener(Listener listener);
  void RegisterOrderlyListener(OrderlyListener listener);
  Status Start();
  // Stops pulling, waits for running listeners, persists offsets, unlocks and unregisters.
  void Shutdown();

  // Queues currently assigned to this consumer (for tests and tools).
  std::set<MessageQueue> Assigned() const;
  const std::string& client_id() const;
  // Runs a rebalance now (normally periodic / on NOTIFY_CONSUMER_IDS_CHANGED).
  void RebalanceNow();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ramjet::client
