// JSON bodies of remoting requests and responses (RocketMQ's fastjson shapes, §3 of the
// protocol digest). Writers emit standard JSON with keys sorted; readers are lenient the way the
// real clients need: any JSON scalar where Java has a string or number, enum names or ordinals,
// quoted or unquoted numeric map keys (fastjson style, see ParseLenientJson).
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet::protocol {

// Permission bits (PermName).
inline constexpr int32_t kPermPriority = 0x8;
inline constexpr int32_t kPermRead = 0x4;
inline constexpr int32_t kPermWrite = 0x2;
inline constexpr int32_t kPermInherit = 0x1;

struct DataVersion {
  int64_t timestamp = 0;
  int64_t counter = 0;
  bool operator==(const DataVersion&) const = default;
  std::string ToJson() const;
  static Result<DataVersion> Parse(std::string_view json);
};

struct TopicConfig {
  std::string topic_name;
  int32_t read_queue_nums = 16;
  int32_t write_queue_nums = 16;
  int32_t perm = kPermRead | kPermWrite;
  std::string topic_filter_type = "SINGLE_TAG";
  int32_t topic_sys_flag = 0;
  bool order = false;
  bool operator==(const TopicConfig&) const = default;
};

struct TopicConfigSerializeWrapper {
  DataVersion data_version;
  std::map<std::string, TopicConfig> topic_config_table;
  std::string ToJson() const;
  static Result<TopicConfigSerializeWrapper> Parse(std::string_view json);
};

struct RegisterBrokerBody {
  TopicConfigSerializeWrapper topic_config_wrapper;
  std::vector<std::string> filter_server_list;
  std::string ToJson() const;
  // Parses the JSON form, or the zlib "compressed" form when compressed is true.
  static Result<RegisterBrokerBody> Parse(std::string_view body, bool compressed);
};

struct QueueData {
  std::string broker_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  int32_t topic_sys_flag = 0;
  bool operator==(const QueueData&) const = default;
};

struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> broker_addrs;  // brokerId -> ip:port
  bool operator==(const BrokerData&) const = default;
};

struct TopicRouteData {
  std::optional<std::string> order_topic_conf;
  std::vector<QueueData> queue_datas;
  std::vector<BrokerData> broker_datas;
  std::map<std::string, std::vector<std::string>> filter_server_table;
  std::string ToJson() const;
  static Result<TopicRouteData> Parse(std::string_view json);
};

struct ClusterInfo {
  std::map<std::string, BrokerData> broker_addr_table;
  std::map<std::string, std::set<std::string>> cluster_addr_table;
  std::string ToJson() const;
  static Result<ClusterInfo> Parse(std::string_view json);
};

struct TopicList {
  std::set<std::string> topic_list;
  std::optional<std::string> broker_addr;
  std::string ToJson() const;
  static Result<TopicList> Parse(std::string_view json);
};

struct KVTable {
  std::map<std::string, std::string> table;
  std::string ToJson() const;
  static Result<KVTable> Parse(std::string_view json);
};

enum class ConsumeType { kConsumeActively = 0, kConsumePassively = 1 };
enum class MessageModel { kBroadcasting = 0, kClustering = 1 };
std::string_view ConsumeTypeName(ConsumeType t);
std::string_view MessageModelName(MessageModel m);
// ConsumeFromWhere ordinals; names as in the Java enum.
std::string_view ConsumeFromWhereName(int32_t ordinal);

struct SubscriptionData {
  bool class_filter_mode = false;
  std::string topic;
  std::string sub_string = "*";
  std::set<std::string> tags_set;
  std::set<int32_t> code_set;
  int64_t sub_version = 0;
  std::string expression_type = "TAG";
  bool operator==(const SubscriptionData&) const = default;
  // Builds a TAG subscription as FilterAPI.buildSubscriptionData does.
  static SubscriptionData ForTags(std::string topic, std::string_view sub_string,
                                  int64_t sub_version);
};

struct ConsumerData {
  std::string group_name;
  ConsumeType consume_type = ConsumeType::kConsumePassively;
  MessageModel message_model = MessageModel::kClustering;
  int32_t consume_from_where = 0;
  std::vector<SubscriptionData> subscription_data_set;
  bool unit_mode = false;
};

struct HeartbeatData {
  std::string client_id;
  std::vector<std::string> producer_groups;
  std::vector<ConsumerData> consumer_data_set;
  std::string ToJson() const;
  static Result<HeartbeatData> Parse(std::string_view json);
};

struct ConsumerListBody {
  std::vector<std::string> consumer_id_list;
  std::string ToJson() const;
  static Result<ConsumerListBody> Parse(std::string_view json);
};

// fastjson writes integer map keys unquoted ({0:"addr"}); this quotes them so a standard JSON
// parser can read the text. Only bare integers directly after '{' or ',' and followed by ':' are
// touched; string contents are left alone.
std::string QuoteNumericKeys(std::string_view in);

// Escapes a string as a JSON string literal (with quotes).
std::string JsonQuote(std::string_view s);

}  // namespace ramjet::protocol
