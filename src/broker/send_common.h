// What the processors of the send family share (SEND_MESSAGE, SEND_MESSAGE_V2,
// SEND_BATCH_MESSAGE, SEND_REPLY_MESSAGE, SEND_REPLY_MESSAGE_V2): the typed request header,
// decoded and validated once, and the one mapping of store outcomes to response codes.
// Private to the broker module. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::broker {

// SendMessageRequestHeader (long field names) / SendMessageRequestHeaderV2 (one-letter names).
struct SendHeader {
  std::string producer_group;
  std::string topic;
  std::string default_topic;
  int32_t default_topic_queue_nums = 4;
  int32_t queue_id = -1;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  int32_t flag = 0;
  std::string properties;
  int32_t reconsume_times = 0;
  int32_t max_reconsume_times = -1;
  bool batch = false;
  bool unit_mode = false;
};

// Decodes the header of any send-family request; the topic and the producer group are validated
// (ramjet/base/names.h). Missing required fields are kInvalidArgument naming the field.
Result<SendHeader> ParseSendHeader(const protocol::RemotingCommand& r);

// The properties a send is stored with: the client's, without WAIT, with CLUSTER
// (brokerClusterName) added. MSG_REGION and TRACE_ON go back in the send response only: Apache
// RocketMQ 4.9 stores them only when a send hook is installed, which a stock broker has not
// (seen in the differential run, tests/diff).
std::string StoredSendProperties(std::string_view client_properties, const std::string& cluster);

// The single place where store/put outcomes become RocketMQ response codes and remarks.
std::pair<int32_t, std::string> PutStatusToResponse(const Status& s);

// A response code and remark that refuse a request.
struct Refusal {
  int32_t code = 0;
  std::string remark;
};
// The queue a send to topic `tc` goes to: the requested one, or a random write queue when the
// request names none (a negative id). Refused when the topic takes no writes or the queue id is
// beyond the topic's queues.
// producer_addr names the sender in the refusal, as RocketMQ's remark does.
std::optional<Refusal> ChooseWriteQueue(const std::string& topic, const protocol::TopicConfig& tc,
                                       int32_t* queue_id, const std::string& producer_addr);

}  // namespace ramjet::broker
