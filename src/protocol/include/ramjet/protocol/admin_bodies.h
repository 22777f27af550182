// JSON bodies of the administrative requests that Apache RocketMQ's admin tools (mqadmin, the
// dashboard) read, written the way Java's fastjson writes them: keys sorted, and maps keyed by a
// MessageQueue written with the queue object itself as the key,
// {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{...}}}. That is not standard JSON,
// but it is what fastjson parses back (see docs/formats/remoting.md and the protocol digest
// §3.13-3.14).
//
// Threading: plain values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::protocol {

// A queue of a topic on one broker (MessageQueue); ordered by topic, broker name, queue id.
struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  auto operator<=>(const MessageQueue&) const = default;
  // {"brokerName":..,"queueId":..,"topic":..}
  std::string ToJson() const;
};

// GET_TOPIC_STATS_INFO (202): TopicStatsTable.
struct TopicOffset {
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t last_update_timestamp = 0;
};
struct TopicStatsTable {
  std::map<MessageQueue, TopicOffset> offset_table;
  std::string ToJson() const;
};

// GET_CONSUME_STATS (208): ConsumeStats.
struct OffsetWrapper {
  int64_t broker_offset = 0;
  int64_t consumer_offset = 0;
  int64_t last_timestamp = 0;
};
struct ConsumeStats {
  double consume_tps = 0;
  std::map<MessageQueue, OffsetWrapper> offset_table;
  int64_t TotalDiff() const;
  std::string ToJson() const;
};

// GET_BROKER_CONSUME_STATS (317): ConsumeStatsList, one {group: [ConsumeStats per topic]} entry
// per subscription group.
struct ConsumeStatsList {
  std::string broker_addr;
  std::vector<std::pair<std::string, std::vector<ConsumeStats>>> consume_stats_list;
  int64_t total_diff = 0;
  std::string ToJson() const;
};

// QUERY_TOPIC_CONSUME_BY_WHO (300): GroupList.
struct GroupList {
  std::set<std::string> group_list;
  std::string ToJson() const;
};

// QUERY_CONSUME_TIME_SPAN (303): QueryConsumeTimeSpanBody.
struct QueueTimeSpan {
  MessageQueue message_queue;
  int64_t min_time_stamp = 0;
  int64_t max_time_stamp = 0;
  int64_t consume_time_stamp = 0;
  int64_t delay_time = 0;
};
struct QueryConsumeTimeSpanBody {
  std::vector<QueueTimeSpan> consume_time_span_set;
  std::string ToJson() const;
};

// VIEW_BROKER_STATS_DATA (315): BrokerStatsData.
struct BrokerStatsItem {
  int64_t sum = 0;
  double tps = 0;
  double avgpt = 0;
};
struct BrokerStatsData {
  BrokerStatsItem stats_minute, stats_hour, stats_day;
  std::string ToJson() const;
};

// QUERY_CONSUME_QUEUE (321): QueryConsumeQueueResponseBody.
struct ConsumeQueueData {
  int64_t physic_offset = 0;
  int32_t physic_size = 0;
  int64_t tags_code = 0;
  std::optional<bool> eval;  // whether the group's subscription matches the entry
  std::string msg;           // a note when the entry could not be read
};
struct QueryConsumeQueueBody {
  std::optional<SubscriptionData> subscription_data;
  std::string filter_data;
  std::vector<ConsumeQueueData> queue_data;
  int64_t max_queue_index = 0;
  int64_t min_queue_index = 0;
  std::string ToJson() const;
};

// TopicList of GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305) / _FROM_NS (304): {"topicList":[..]}.
std::string TopicListJson(const std::set<std::string>& topics);

// SubscriptionData as fastjson writes it (heartbeats, connection lists, QUERY_CONSUME_QUEUE).
std::string SubscriptionDataJson(const SubscriptionData& s);

// INVOKE_BROKER_TO_RESET_OFFSET (222) response and RESET_CONSUMER_CLIENT_OFFSET (220) request
// body (ResetOffsetBody): the new offset of each queue. Java peers read fastjson's form with
// MessageQueue objects as map keys; the C++ client (LanguageCode CPP) a list of
// {brokerName, offset, queueId, topic}.
struct ResetOffsetBody {
  std::vector<std::pair<MessageQueue, int64_t>> offset_table;
  std::string Encode(LanguageCode peer) const;
  // Reads the list form (what Encode(LanguageCode::kCpp) writes); entries that are not objects
  // are skipped, absent fields are empty or 0. The fastjson form (object keys) and anything else
  // that is not {"offsetTable":[...]} is kInvalidArgument.
  static Result<ResetOffsetBody> Decode(std::string_view body);
};

// One client connection as GET_PRODUCER_CONNECTION_LIST / GET_CONSUMER_CONNECTION_LIST list it
// (Java's Connection).
struct ConnectionInfo {
  std::string client_addr;
  std::string client_id;
  LanguageCode language = LanguageCode::kJava;
  int32_t version = 0;
};

// GET_PRODUCER_CONNECTION_LIST (204) body (ProducerConnection): {"connectionSet":[...]}.
// Decode needs the connectionSet array of objects (else kInvalidArgument); a language is read by
// name ("JAVA", "CPP", unknown names: OTHER) or ordinal, a version as a number or numeric text.
struct ProducerConnectionBody {
  std::vector<ConnectionInfo> connection_set;
  std::string Encode() const;
  static Result<ProducerConnectionBody> Decode(std::string_view body);
};

// GET_CONSUMER_CONNECTION_LIST (203) body (ConsumerConnection). Decode reads the connection set
// as ProducerConnectionBody does, the enums by name or ordinal (absent: the defaults below) and
// each subscription of the table (one that is not an object: "*" on its topic).
struct ConsumerConnectionBody {
  std::vector<ConnectionInfo> connection_set;
  std::map<std::string, SubscriptionData> subscription_table;  // by topic
  int32_t consume_from_where = 0;
  ConsumeType consume_type = ConsumeType::kConsumePassively;
  MessageModel message_model = MessageModel::kClustering;
  std::string Encode() const;
  static Result<ConsumerConnectionBody> Decode(std::string_view body);
};

// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) body (SubscriptionGroupConfig). Decode needs a
// non-empty groupName; absent or mistyped fields keep RocketMQ's defaults.
struct SubscriptionGroupConfigBody {
  std::string group_name;
  bool consume_enable = true;
  bool consume_from_min_enable = true;
  bool consume_broadcast_enable = true;
  // RocketMQ 5: a FIFO group (5.x clients get settings fifo=true and pop one message group's
  // messages at a time, in order).
  bool consume_message_orderly = false;
  int32_t retry_queue_nums = 1;
  int32_t retry_max_times = 16;
  int64_t broker_id = 0;
  int64_t which_broker_when_consume_slowly = 1;
  bool notify_consumer_ids_changed_enable = true;
  bool operator==(const SubscriptionGroupConfigBody&) const = default;
  static Result<SubscriptionGroupConfigBody> Decode(std::string_view body);
};

}  // namespace ramjet::protocol
