// Client-side message types, shaped like the Java client's Message / MessageExt / SendResult.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet::client {

struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  auto operator<=>(const MessageQueue&) const = default;
  std::string ToString() const;
};

struct Message {
  std::string topic;
  std::string body;
  std::string tags;
  std::vector<std::string> keys;
  int32_t flag = 0;
  int32_t delay_level = 0;  // 1..18 (messageDelayLevel), 0 = none
  bool wait_store_ok = true;
  // User properties (system property names are refused on send).
  std::map<std::string, std::string> properties;

  Message() = default;
  Message(std::string t, std::string tag, std::string b)
      : topic(std::move(t)), body(std::move(b)), tags(std::move(tag)) {}
};

// A message as consumed: decoded from the commit-log record layout.
struct MessageExt {
  std::string topic;
  std::string body;  // decompressed
  std::map<std::string, std::string> properties;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;
  int32_t reconsume_times = 0;
  int64_t born_timestamp = 0;
  int64_t store_timestamp = 0;
  std::string born_host;
  std::string store_host;
  std::string msg_id;         // UNIQ_KEY when present, else the offset id
  std::string offset_msg_id;  // store host + commit-log offset
  std::string tags() const;
  std::string keys() const;
  std::string Property(std::string_view name) const;
};

// Decodes the records of a PULL / QUERY / VIEW body (zlib bodies are inflated).
Result<std::vector<MessageExt>> DecodeMessages(std::string_view data);

enum class SendStatus { kSendOk, kFlushDiskTimeout, kFlushSlaveTimeout, kSlaveNotAvailable };
std::string_view SendStatusName(SendStatus s);

struct SendResult {
  SendStatus status = SendStatus::kSendOk;
  std::string msg_id;         // the client's UNIQ_KEY (comma-joined for batches)
  std::string offset_msg_id;  // from the broker
  MessageQueue queue;
  int64_t queue_offset = 0;
  std::string transaction_id;
};

// RocketMQ's client message id (MessageClientIDSetter): ip, pid, a per-process token, ms since
// the start of the month and a counter, as 32 uppercase hex characters.
std::string NewUniqueId();

}  // namespace ramjet::client
