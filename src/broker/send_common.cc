#include "send_common.h"

#include <random>

#include "ramjet/base/check.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/names.h"
#include "ramjet/protocol/codes.h"
#include "requeue.h"
#include "system_topics.h"

namespace ramjet::broker {

namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void ApplyDelayLevel(int max_level, std::string* topic, int32_t* queue_id, std::string* props) {
  std::string_view d = message::FindProperty(*props, "DELAY");
  if (d.empty()) return;
  int level = std::atoi(std::string(d).c_str());
  if (level <= 0) return;
  level = std::min(level, max_level);
  *props = EditProperties(*props, {},
                          {{"REAL_TOPIC", *topic},
                           {"REAL_QID", std::to_string(*queue_id)},
                           {"DELAY", std::to_string(level)}});
  *topic = kScheduleTopic;
  *queue_id = level - 1;
}

std::pair<int32_t, std::string> PutStatusToResponse(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return {rc::kSuccess, ""};
    case StatusCode::kTimeout:
      return {rc::kFlushDiskTimeout, "FLUSH_DISK_TIMEOUT"};
    case StatusCode::kInvalidArgument:
      return {rc::kMessageIllegal, "MESSAGE_ILLEGAL: " + std::string(s.message())};
    case StatusCode::kUnavailable:
      return {rc::kServiceNotAvailable, "SERVICE_NOT_AVAILABLE: " + std::string(s.message())};
    case StatusCode::kNoSpace:
      return {rc::kServiceNotAvailable,
              "SERVICE_NOT_AVAILABLE: disk full: " + std::string(s.message())};
    case StatusCode::kBusy:
      // SYSTEM_ERROR (not SYSTEM_BUSY) so that Java producers retry on another broker.
      return {rc::kSystemError, "[PC_SYNCHRONIZED]broker busy, start flow control for a while"};
    default:
      return {rc::kSystemError, "UNKNOWN_ERROR: " + std::string(s.message())};
  }
}

QueueChoice ChooseWriteQueue(int32_t perm, int32_t read_queue_nums, int32_t write_queue_nums,
                             int32_t* queue_id) {
  if ((perm & protocol::kPermWrite) == 0) return QueueChoice::kNotWritable;
  if (*queue_id < 0) {
    thread_local std::mt19937 rng(std::random_device{}());
    *queue_id = static_cast<int32_t>(rng() % static_cast<uint32_t>(std::max(1, write_queue_nums)));
  }
  if (*queue_id >= std::max(write_queue_nums, read_queue_nums)) return QueueChoice::kIllegalQueue;
  return QueueChoice::kOk;
}

Refusal WriteQueueRefusal(QueueChoice choice, const std::string& topic,
                          const protocol::TopicConfig& tc, int32_t queue_id,
                          const std::string& producer_addr) {
  RJ_CHECK(choice != QueueChoice::kOk, "a refusal of an accepted queue choice");
  if (choice == QueueChoice::kNotWritable) {
    return Refusal{rc::kNoPermission, "the topic[" + topic + "] sending message is forbidden"};
  }
  // TopicConfig.toString() as RocketMQ writes it into this remark.
  auto perm = [&](int32_t bit, char c) { return (tc.perm & bit) ? c : '-'; };
  std::string perms{perm(protocol::kPermRead, 'R'), perm(protocol::kPermWrite, 'W'),
                    perm(protocol::kPermInherit, 'X')};
  return Refusal{rc::kSystemError,
                 "request queueId[" + std::to_string(queue_id) +
                     "] is illegal, TopicConfig [topicName=" + topic +
                     ", readQueueNums=" + std::to_string(tc.read_queue_nums) +
                     ", writeQueueNums=" + std::to_string(tc.write_queue_nums) + ", perm=" + perms +
                     ", topicFilterType=" + tc.topic_filter_type +
                     ", topicSysFlag=" + std::to_string(tc.topic_sys_flag) +
                     ", order=" + (tc.order ? "true" : "false") + "] Producer: " + producer_addr};
}

std::optional<Refusal> ChooseWriteQueue(const std::string& topic, const protocol::TopicConfig& tc,
                                        int32_t* queue_id, const std::string& producer_addr) {
  QueueChoice choice = ChooseWriteQueue(tc.perm, tc.read_queue_nums, tc.write_queue_nums, queue_id);
  if (choice == QueueChoice::kOk) return std::nullopt;
  return WriteQueueRefusal(choice, topic, tc, *queue_id, producer_addr);
}

std::string StoredSendProperties(std::string_view client_properties, const std::string& cluster) {
  return EditProperties(client_properties, {"WAIT"}, {{"CLUSTER", cluster}});
}

}  // namespace ramjet::broker
