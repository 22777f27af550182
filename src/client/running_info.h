// What a push consumer answers when an admin tool asks about it through the broker:
// GET_CONSUMER_RUNNING_INFO (307, mqadmin consumerStatus) and CONSUME_MESSAGE_DIRECTLY (309,
// mqadmin consumeMessage / the dashboard's "resend to this consumer"). The JSON is written the
// way Java's fastjson writes ConsumerRunningInfo and ConsumeMessageDirectlyResult.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ramjet/client/message.h"
#include "ramjet/protocol/bodies.h"

namespace ramjet::client {

struct QueueRunningInfo {
  MessageQueue mq;
  int64_t commit_offset = -1;
  int64_t cached_msg_count = 0;
  int64_t cached_msg_min_offset = 0;
  int64_t cached_msg_max_offset = 0;
  int64_t cached_bytes = 0;
  bool locked = false;
  int64_t last_lock_timestamp = 0;
  bool dropped = false;
};

struct ConsumerRunningInput {
  std::map<std::string, std::string> properties;  // PROP_* keys and the consumer settings
  std::vector<protocol::SubscriptionData> subscriptions;
  std::vector<QueueRunningInfo> queues;
};

// ConsumerRunningInfo: {"mqTable":{mq:ProcessQueueInfo},"properties":{..},"statusTable":{..},
// "subscriptionSet":[..]}.
std::string ConsumerRunningInfoJson(const ConsumerRunningInput& in);

// ConsumeMessageDirectlyResult; consume_result is CMResult's name (CR_SUCCESS, CR_LATER, ...).
std::string ConsumeMessageDirectlyResultJson(bool order, const std::string& consume_result,
                                             const std::string& remark, int64_t spent_ms);

}  // namespace ramjet::client
