// What a push consumer answers when an admin tool asks about it through the broker:
// GET_CONSUMER_RUNNING_INFO (307, mqadmin consumerStatus) and CONSUME_MESSAGE_DIRECTLY (309,
// mqadmin consumeMessage / the dashboard's "resend to this consumer"). The JSON is written the
// way Java's fastjson writes ConsumerRunningInfo and ConsumeMessageDirectlyResult: keys sorted,
// the process-queue table keyed by MessageQueue objects (not standard JSON, see admin_bodies.h).
//
// Threading: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"

namespace ramjet::protocol {

// One assigned queue and its process queue (ProcessQueueInfo, keyed by the queue in mqTable).
struct QueueRunningInfo {
  MessageQueue mq;
  int64_t commit_offset = -1;
  int64_t cached_msg_count = 0;
  int64_t cached_msg_min_offset = 0;
  int64_t cached_msg_max_offset = 0;
  int64_t cached_bytes = 0;  // written as cachedMsgSizeInMiB
  bool locked = false;
  int64_t last_lock_timestamp = 0;
  bool dropped = false;  // written as fastjson's "droped"
};

// GET_CONSUMER_RUNNING_INFO (307) response body (ConsumerRunningInfo):
// {"mqTable":{mq:ProcessQueueInfo},"properties":{..},"statusTable":{..},"subscriptionSet":[..]}.
// statusTable names each consumed topic with no rates (this client does not sample them).
struct ConsumerRunningInfo {
  std::map<std::string, std::string> properties;  // PROP_* keys and the consumer settings
  std::vector<SubscriptionData> subscriptions;
  std::vector<QueueRunningInfo> queues;  // mqTable, in this order
  std::string Encode() const;
};

// CONSUME_MESSAGE_DIRECTLY (309) response body (ConsumeMessageDirectlyResult).
struct ConsumeMessageDirectlyResult {
  bool order = false;
  bool auto_commit = true;
  std::string consume_result;  // CMResult's name: CR_SUCCESS, CR_LATER, CR_THROW_EXCEPTION, ...
  std::string remark;
  int64_t spent_time_mills = 0;
  std::string Encode() const;
};

}  // namespace ramjet::protocol
