// Typed headers and bodies of RocketMQ 5's POP family on remoting (PopMessageRequestHeader,
// AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, NotificationRequestHeader,
// PollingInfoRequestHeader and their responses; BatchAckMessageRequestBody; the server-side
// assignment bodies of QUERY_ASSIGNMENT / SET_MESSAGE_REQUEST_MODE), decoded and validated once
// as headers.h does. The extra-info text (POP_CK) and the offset-info strings of a pop answer are
// in ExtraInfo below. Field names and formats: docs/formats/pop-remoting.md.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::protocol {

// POP_MESSAGE (200050).
struct PopMessageRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = -1;  // -1 (or any negative): every readable queue
  int32_t max_msg_nums = 32;
  int64_t invisible_time = 60000;
  int64_t poll_time = 15000;  // long-polling budget, ms
  int64_t born_time = 0;      // the client's clock when sent (0: absent)
  int32_t init_mode = 0;      // a new group starts at the queue's min (0) or max (1) offset
  std::string exp_type = "TAG";
  std::string exp = "*";
  bool order = false;
  std::string attempt_id;
  static Result<PopMessageRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

struct PopMessageResponseHeader {
  int64_t pop_time = 0;
  int64_t invisible_time = 0;
  int32_t revive_qid = 0;
  int64_t rest_num = 0;
  std::string start_offset_info;  // "mark queueId startOffset;..." (ExtraInfo)
  std::string msg_offset_info;    // "mark queueId o1,o2,...;..."
  std::string order_count_info;   // "mark queueId count;..." (FIFO pops only)
  static Result<PopMessageResponseHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// ACK_MESSAGE (200051); with invisible_time, CHANGE_MESSAGE_INVISIBLETIME (200053).
struct AckMessageRequestHeader {
  std::string consumer_group;
  std::string topic;  // the topic popped from: the pop retry topic for a retried message
  int32_t queue_id = 0;
  std::string extra_info;  // the message's POP_CK
  int64_t offset = 0;
  std::optional<int64_t> invisible_time;  // required by CHANGE_MESSAGE_INVISIBLETIME
  static Result<AckMessageRequestHeader> Decode(const RemotingCommand& r, bool change_invisible);
  void Encode(RemotingCommand* r) const;
};

struct ChangeInvisibleTimeResponseHeader {
  int64_t pop_time = 0;
  int64_t invisible_time = 0;
  int32_t revive_qid = 0;
  static Result<ChangeInvisibleTimeResponseHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// NOTIFICATION (200054): long-polls until the group has something to pop; POLLING_INFO
// (200055): how many pops of the group are parked (poll_time, born_time unused).
struct NotificationRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = -1;
  int64_t poll_time = 0;
  int64_t born_time = 0;
  bool order = false;
  static Result<NotificationRequestHeader> Decode(const RemotingCommand& r, bool polling_info);
};

// POP_CK / extraInfo: "startOffset popTime invisibleTime reviveQid mark brokerName queueId
// offset", mark 0 for the topic itself, 1 for the group's pop retry topic (%RETRY%group_topic).
// The offset-info strings of a pop answer, one entry per queue read: Add* append to them.
struct ExtraInfo {
  static void AddStartOffset(std::string* info, bool retry, int32_t queue_id, int64_t start);
  static void AddMsgOffsets(std::string* info, bool retry, int32_t queue_id,
                            const std::vector<int64_t>& offsets);
  // FIFO pops: how often the message at offset was delivered before ("mark qo<queueId>%<offset>
  // count", the form the client looks up first).
  static void AddOrderCount(std::string* info, bool retry, int32_t queue_id, int64_t offset,
                            int32_t count);
};

// BATCH_ACK_MESSAGE (200151) body: {"acks":[{"c","t","r","so","q","rq","pt","it","b"}]}, b the
// base64 of a Java BitSet (bit i acks offset so+i); t the original topic, r its retry mark.
struct BatchAck {
  std::string consumer_group;
  std::string topic;
  int32_t retry = 0;
  int64_t start_offset = 0;
  int32_t queue_id = 0;
  int32_t revive_qid = 0;
  int64_t pop_time = 0;
  int64_t invisible_time = 0;
  std::vector<int64_t> offsets;  // from the bit set
};
struct BatchAckMessageRequestBody {
  std::string broker_name;
  std::vector<BatchAck> acks;
  static Result<BatchAckMessageRequestBody> Decode(std::string_view body);
  std::string Encode() const;
};

// QUERY_ASSIGNMENT (400) request body.
struct QueryAssignmentRequestBody {
  std::string topic;
  std::string consumer_group;
  std::string client_id;
  std::string strategy_name = "AVG";
  std::string message_model = "CLUSTERING";
  static Result<QueryAssignmentRequestBody> Decode(std::string_view body);
  std::string Encode() const;
};

// QUERY_ASSIGNMENT response body: {"messageQueueAssignments":[{"messageQueue":{..},"mode":..}]}.
struct MessageQueueAssignment {
  MessageQueue message_queue;
  std::string mode = "PULL";  // PULL or POP
};
std::string EncodeQueryAssignmentResponse(const std::vector<MessageQueueAssignment>& a);
Result<std::vector<MessageQueueAssignment>> DecodeQueryAssignmentResponse(std::string_view body);

// SET_MESSAGE_REQUEST_MODE (401) body, also what config/messageRequestMode.json keeps.
struct SetMessageRequestModeRequestBody {
  std::string topic;
  std::string consumer_group;
  std::string mode = "PULL";
  int32_t pop_share_queue_num = 0;
  static Result<SetMessageRequestModeRequestBody> Decode(std::string_view body);
  std::string Encode() const;
};

// AllocateMessageQueueAveragely ("AVG") and AllocateMessageQueueAveragelyByCircle
// ("AVG_BY_CIRCLE"): the share of client_id among consumer_ids (both sorted here); empty when
// client_id is not among them.
std::vector<MessageQueue> AllocateAveragely(std::vector<MessageQueue> all,
                                            std::vector<std::string> consumer_ids,
                                            const std::string& client_id);
std::vector<MessageQueue> AllocateAveragelyByCircle(std::vector<MessageQueue> all,
                                                    std::vector<std::string> consumer_ids,
                                                    const std::string& client_id);

}  // namespace ramjet::protocol
