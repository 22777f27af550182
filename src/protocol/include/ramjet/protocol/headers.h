// Typed request and response headers (RocketMQ's CommandCustomHeader classes): one struct per
// header, each with one Decode that reads and validates the ext fields of a command and one
// Encode that writes them. Broker, client and admin use these instead of spelling field names.
//
// Validation on Decode: required fields present and numeric where they are numbers; topic and
// group names checked (ramjet/base/names.h). Errors are kInvalidArgument naming the field.
// Encode writes every field a RocketMQ 4.9 peer sends (so a Ramjet client looks like a Java one).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::protocol {

// SEND_MESSAGE (10) with long field names; SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
// SEND_REPLY_MESSAGE_V2 (325) with the one-letter names "a".."m" of SendMessageRequestHeaderV2.
struct SendMessageRequestHeader {
  std::string producer_group;            // a
  std::string topic;                     // b
  std::string default_topic = "TBW102";  // c
  int32_t default_topic_queue_nums = 4;  // d
  int32_t queue_id = -1;                 // e
  int32_t sys_flag = 0;                  // f
  int64_t born_timestamp = 0;            // g (0 when absent: the broker's clock)
  int32_t flag = 0;                      // h
  std::string properties;                // i
  int32_t reconsume_times = 0;           // j
  bool unit_mode = false;                // k
  int32_t max_reconsume_times = -1;      // l (-1: absent)
  bool batch = false;                    // m (always true for SEND_BATCH_MESSAGE)
  std::string broker_name;               // n (5.x "bname"; empty: absent)

  // Whether code carries the V2 (one-letter) field names.
  static bool IsV2(int32_t code);
  static Result<SendMessageRequestHeader> Decode(const RemotingCommand& r);
  // Writes the header in the field names of r.code (set the code first).
  void Encode(RemotingCommand* r) const;
};

// SEND_MESSAGE responses (SendMessageResponseHeader).
struct SendMessageResponseHeader {
  std::string msg_id;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  std::string transaction_id;  // empty: not sent
  std::string recall_handle;   // 5.x, timer messages (RecallMessage); empty: not sent
  static Result<SendMessageResponseHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361).
struct PullMessageRequestHeader {
  // sysFlag bits (PullSysFlag).
  static constexpr int32_t kFlagCommitOffset = 0x1;
  static constexpr int32_t kFlagSuspend = 0x2;
  static constexpr int32_t kFlagSubscription = 0x4;
  static constexpr int32_t kFlagClassFilter = 0x8;

  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int32_t max_msg_nums = 32;
  int32_t sys_flag = 0;
  int64_t commit_offset = 0;
  int64_t suspend_timeout_millis = 15000;
  std::string subscription = "*";
  int64_t sub_version = 0;
  std::string expression_type = "TAG";

  static Result<PullMessageRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// PULL_MESSAGE responses (PullMessageResponseHeader).
struct PullMessageResponseHeader {
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t suggest_which_broker_id = 0;
  static Result<PullMessageResponseHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// CONSUMER_SEND_MSG_BACK (36).
struct ConsumerSendMsgBackRequestHeader {
  int64_t offset = 0;
  std::string group;
  int32_t delay_level = 0;
  std::string origin_msg_id;  // empty: absent
  std::string origin_topic;   // empty: absent
  bool unit_mode = false;
  std::optional<int32_t> max_reconsume_times;  // read from clients of version >= 121 only
  static Result<ConsumerSendMsgBackRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// END_TRANSACTION (37).
struct EndTransactionRequestHeader {
  std::string producer_group;
  int64_t tran_state_table_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t commit_or_rollback = 0;  // TRANSACTION_NOT_TYPE (0), COMMIT (8), ROLLBACK (12)
  bool from_transaction_check = false;
  std::string msg_id;
  std::string transaction_id;
  static Result<EndTransactionRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// QUERY_CONSUMER_OFFSET (14).
struct QueryConsumerOffsetRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;
  std::optional<bool> set_zero_if_not_found;  // 5.x clients only
  static Result<QueryConsumerOffsetRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// UPDATE_CONSUMER_OFFSET (15).
struct UpdateConsumerOffsetRequestHeader {
  std::string consumer_group;
  std::string topic;
  int32_t queue_id = 0;
  int64_t commit_offset = 0;
  static Result<UpdateConsumerOffsetRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32) and, with a
// timestamp, SEARCH_OFFSET_BY_TIMESTAMP (29): a topic and a queue.
struct QueueRequestHeader {
  std::string topic;
  int32_t queue_id = 0;
  std::optional<int64_t> timestamp;  // SEARCH_OFFSET_BY_TIMESTAMP only (required there)
  static Result<QueueRequestHeader> Decode(const RemotingCommand& r);
  void Encode(RemotingCommand* r) const;
};

// LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) request bodies (LockBatchRequestBody).
struct LockBatchRequestBody {
  std::string consumer_group;
  std::string client_id;
  std::vector<MessageQueue> mq_set;
  static Result<LockBatchRequestBody> Decode(const std::string& body);
  std::string Encode() const;
};

// LOCK_BATCH_MQ response body (LockBatchResponseBody): {"lockOKMQSet":[...]}.
struct LockBatchResponseBody {
  std::vector<MessageQueue> lock_ok_mq_set;
  static Result<LockBatchResponseBody> Decode(const std::string& body);
  std::string Encode() const;
};

// CHECK_CLIENT_CONFIG (46) request body (CheckClientRequestBody): the subscription a consumer
// is about to use. Without a subscriptionData object, subscription is nullopt.
struct CheckClientRequestBody {
  std::optional<SubscriptionData> subscription;  // expression_type and sub_string only
  static Result<CheckClientRequestBody> Decode(const std::string& body);
};

}  // namespace ramjet::protocol
