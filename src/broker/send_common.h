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
#include "ramjet/protocol/headers.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::broker {

// The typed header of every send-family request (protocol/headers.h).
using SendHeader = protocol::SendMessageRequestHeader;
inline Result<SendHeader> ParseSendHeader(const protocol::RemotingCommand& r) {
  return SendHeader::Decode(r);
}

// A DELAY level > 0 in props reroutes the message to SCHEDULE_TOPIC_XXXX queue level-1, keeping
// the real destination in REAL_TOPIC / REAL_QID (levels above max_level are clamped).
void ApplyDelayLevel(int max_level, std::string* topic, int32_t* queue_id, std::string* props);

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
// The same in two steps, for a send that holds only the topic's numbers (TopicSendFields): the
// choice, and the refusal (whose remark prints the whole config) when it is not kOk.
enum class QueueChoice { kOk, kNotWritable, kIllegalQueue };
QueueChoice ChooseWriteQueue(int32_t perm, int32_t read_queue_nums, int32_t write_queue_nums,
                             int32_t* queue_id);
Refusal WriteQueueRefusal(QueueChoice choice, const std::string& topic,
                          const protocol::TopicConfig& tc, int32_t queue_id,
                          const std::string& producer_addr);

}  // namespace ramjet::broker
