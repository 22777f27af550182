#include "ramjet/protocol/admin_bodies.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace ramjet::protocol {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json SubscriptionJson(const SubscriptionData& s) {
  return json{{"classFilterMode", s.class_filter_mode},
              {"codeSet", s.code_set},
              {"expressionType", s.expression_type},
              {"subString", s.sub_string},
              {"subVersion", s.sub_version},
              {"tagsSet", s.tags_set},
              {"topic", s.topic}};
}

// {mq:value,...} with fastjson's object keys; value_json writes one value.
template <typename Map, typename F>
std::string MessageQueueMap(const Map& m, F value_json) {
  std::string out = "{";
  bool first = true;
  for (const auto& [mq, v] : m) {
    if (!first) out.push_back(',');
    first = false;
    out += mq.ToJson();
    out.push_back(':');
    out += value_json(v);
  }
  out.push_back('}');
  return out;
}

json ItemJson(const BrokerStatsItem& i) {
  return json{{"avgpt", i.avgpt}, {"sum", i.sum}, {"tps", i.tps}};
}

}  // namespace

std::string MessageQueue::ToJson() const {
  return Dump(json{{"brokerName", broker_name}, {"queueId", queue_id}, {"topic", topic}});
}

std::string TopicStatsTable::ToJson() const {
  return R"({"offsetTable":)" +
         MessageQueueMap(offset_table,
                         [](const TopicOffset& o) {
                           return Dump(json{{"lastUpdateTimestamp", o.last_update_timestamp},
                                            {"maxOffset", o.max_offset},
                                            {"minOffset", o.min_offset}});
                         }) +
         "}";
}

int64_t ConsumeStats::TotalDiff() const {
  int64_t diff = 0;
  for (const auto& [mq, o] : offset_table) diff += o.broker_offset - o.consumer_offset;
  return diff;
}

std::string ConsumeStats::ToJson() const {
  return R"({"consumeTps":)" + Dump(json(consume_tps)) + R"(,"offsetTable":)" +
         MessageQueueMap(offset_table,
                         [](const OffsetWrapper& o) {
                           return Dump(json{{"brokerOffset", o.broker_offset},
                                            {"consumerOffset", o.consumer_offset},
                                            {"lastTimestamp", o.last_timestamp}});
                         }) +
         "}";
}

std::string ConsumeStatsList::ToJson() const {
  std::string list = "[";
  for (size_t i = 0; i < consume_stats_list.size(); ++i) {
    const auto& [group, stats] = consume_stats_list[i];
    if (i) list.push_back(',');
    list += "{" + Dump(json(group)) + ":[";
    for (size_t k = 0; k < stats.size(); ++k) {
      if (k) list.push_back(',');
      list += stats[k].ToJson();
    }
    list += "]}";
  }
  list.push_back(']');
  return R"({"brokerAddr":)" + Dump(json(broker_addr)) + R"(,"consumeStatsList":)" + list +
         R"(,"totalDiff":)" + std::to_string(total_diff) + "}";
}

std::string GroupList::ToJson() const { return Dump(json{{"groupList", group_list}}); }

std::string QueryConsumeTimeSpanBody::ToJson() const {
  std::string out = R"({"consumeTimeSpanSet":[)";
  for (size_t i = 0; i < consume_time_span_set.size(); ++i) {
    const QueueTimeSpan& t = consume_time_span_set[i];
    if (i) out.push_back(',');
    out += R"({"consumeTimeStamp":)" + std::to_string(t.consume_time_stamp) + R"(,"delayTime":)" +
           std::to_string(t.delay_time) + R"(,"maxTimeStamp":)" + std::to_string(t.max_time_stamp) +
           R"(,"messageQueue":)" + t.message_queue.ToJson() + R"(,"minTimeStamp":)" +
           std::to_string(t.min_time_stamp) + "}";
  }
  return out + "]}";
}

std::string BrokerStatsData::ToJson() const {
  return Dump(json{{"statsDay", ItemJson(stats_day)},
                   {"statsHour", ItemJson(stats_hour)},
                   {"statsMinute", ItemJson(stats_minute)}});
}

std::string QueryConsumeQueueBody::ToJson() const {
  json queue = json::array();
  for (const auto& d : queue_data) {
    json e{{"physicOffset", d.physic_offset},
           {"physicSize", d.physic_size},
           {"tagsCode", d.tags_code}};
    if (d.eval) e["eval"] = *d.eval;
    if (!d.msg.empty()) e["msg"] = d.msg;
    queue.push_back(std::move(e));
  }
  json j{{"maxQueueIndex", max_queue_index},
         {"minQueueIndex", min_queue_index},
         {"queueData", std::move(queue)}};
  if (!filter_data.empty()) j["filterData"] = filter_data;
  if (subscription_data) j["subscriptionData"] = SubscriptionJson(*subscription_data);
  return Dump(j);
}

std::string TopicListJson(const std::set<std::string>& topics) {
  return Dump(json{{"topicList", topics}});
}

std::string SubscriptionDataJson(const SubscriptionData& s) { return Dump(SubscriptionJson(s)); }

std::string ResetOffsetBody::Encode(LanguageCode peer) const {
  if (peer == LanguageCode::kCpp) {
    json list = json::array();
    for (const auto& [mq, off] : offset_table) {
      list.push_back({{"brokerName", mq.broker_name},
                      {"offset", off},
                      {"queueId", mq.queue_id},
                      {"topic", mq.topic}});
    }
    return Dump(json{{"offsetTable", list}});
  }
  return R"({"offsetTable":)" +
         MessageQueueMap(offset_table, [](int64_t off) { return std::to_string(off); }) + "}";
}

namespace {
json ConnectionSetJson(const std::vector<ConnectionInfo>& set) {
  json out = json::array();
  for (const auto& c : set) {
    out.push_back({{"clientAddr", c.client_addr},
                   {"clientId", c.client_id},
                   {"language", std::string(LanguageName(c.language))},
                   {"version", c.version}});
  }
  return out;
}
}  // namespace

std::string ProducerConnectionBody::Encode() const {
  return json{{"connectionSet", ConnectionSetJson(connection_set)}}.dump();
}

std::string ConsumerConnectionBody::Encode() const {
  json subs = json::object();
  for (const auto& [topic, sd] : subscription_table) subs[topic] = SubscriptionJson(sd);
  return json{{"connectionSet", ConnectionSetJson(connection_set)},
              {"consumeFromWhere", std::string(ConsumeFromWhereName(consume_from_where))},
              {"consumeType", std::string(ConsumeTypeName(consume_type))},
              {"messageModel", std::string(MessageModelName(message_model))},
              {"subscriptionTable", subs}}
      .dump();
}

// ---------------------------------------------------------------------------------------------
// Decoders (the admin tool reads these bodies back)

namespace {

// ConsumeFromWhere has six constants in RocketMQ 4.9 (ConsumeFromWhereName names them).
constexpr int32_t kConsumeFromWhereCount = 6;

Result<json> ParseObject(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + " is not a JSON object");
  }
  return j;
}

// A string, or def when absent or of another type.
std::string StrOr(const json& j, const char* key, std::string_view def = {}) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(def);
}

// An integer, or a string holding one (as fastjson accepts); def otherwise.
int64_t IntOr(const json& j, const char* key, int64_t def) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return def;
}

// An enum written by name (name_of(0..count-1)) or ordinal; def when absent or unknown.
template <typename F>
int32_t EnumOr(const json& j, const char* key, int32_t count, F name_of, int32_t def) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    return v >= 0 && v < count ? static_cast<int32_t>(v) : def;
  }
  if (!it->is_string()) return def;
  const auto& s = it->get_ref<const std::string&>();
  for (int32_t i = 0; i < count; ++i) {
    if (name_of(i) == s) return i;
  }
  return def;
}

LanguageCode LanguageOf(const json& c) {
  auto it = c.find("language");
  if (it == c.end()) return LanguageCode::kJava;
  if (it->is_string()) return LanguageFromName(it->get_ref<const std::string&>());
  if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    constexpr auto kLast = static_cast<int64_t>(LanguageCode::kNodeJs);
    return v >= 0 && v <= kLast ? static_cast<LanguageCode>(v) : LanguageCode::kOther;
  }
  return LanguageCode::kOther;
}

Result<std::vector<ConnectionInfo>> ConnectionSetFrom(const json& j) {
  auto set = j.find("connectionSet");
  if (set == j.end() || !set->is_array()) {
    return Status::InvalidArgument("connection body without a connectionSet array");
  }
  std::vector<ConnectionInfo> out;
  out.reserve(set->size());
  for (const auto& c : *set) {
    if (!c.is_object()) return Status::InvalidArgument("connectionSet entry is not an object");
    ConnectionInfo info;
    info.client_addr = StrOr(c, "clientAddr");
    info.client_id = StrOr(c, "clientId");
    info.language = LanguageOf(c);
    info.version = static_cast<int32_t>(IntOr(c, "version", 0));
    out.push_back(std::move(info));
  }
  return out;
}

SubscriptionData SubscriptionFrom(const std::string& topic, const json& s) {
  SubscriptionData d;
  d.topic = topic;
  if (!s.is_object()) return d;
  d.topic = StrOr(s, "topic", topic);
  d.sub_string = StrOr(s, "subString", "*");
  d.expression_type = StrOr(s, "expressionType", "TAG");
  d.sub_version = IntOr(s, "subVersion", 0);
  if (auto it = s.find("classFilterMode"); it != s.end() && it->is_boolean()) {
    d.class_filter_mode = it->get<bool>();
  }
  if (auto it = s.find("tagsSet"); it != s.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) d.tags_set.insert(t.get<std::string>());
    }
  }
  if (auto it = s.find("codeSet"); it != s.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (c.is_number_integer()) d.code_set.insert(static_cast<int32_t>(c.get<int64_t>()));
    }
  }
  return d;
}

}  // namespace

Result<ResetOffsetBody> ResetOffsetBody::Decode(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "reset offset body"));
  auto list = j.find("offsetTable");
  if (list == j.end() || !list->is_array()) {
    return Status::InvalidArgument("reset offset body has no offsetTable list");
  }
  ResetOffsetBody b;
  for (const auto& e : *list) {
    if (!e.is_object()) continue;
    MessageQueue mq{StrOr(e, "topic"), StrOr(e, "brokerName"),
                    static_cast<int32_t>(IntOr(e, "queueId", 0))};
    b.offset_table.emplace_back(std::move(mq), IntOr(e, "offset", 0));
  }
  return b;
}

Result<ProducerConnectionBody> ProducerConnectionBody::Decode(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "producer connection body"));
  ProducerConnectionBody b;
  RJ_ASSIGN_OR_RETURN(b.connection_set, ConnectionSetFrom(j));
  return b;
}

Result<ConsumerConnectionBody> ConsumerConnectionBody::Decode(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "consumer connection body"));
  ConsumerConnectionBody b;
  RJ_ASSIGN_OR_RETURN(b.connection_set, ConnectionSetFrom(j));
  if (auto it = j.find("subscriptionTable"); it != j.end() && it->is_object()) {
    for (const auto& [topic, sd] : it->items()) {
      b.subscription_table[topic] = SubscriptionFrom(topic, sd);
    }
  }
  b.consume_from_where =
      EnumOr(j, "consumeFromWhere", kConsumeFromWhereCount, ConsumeFromWhereName, 0);
  b.consume_type = static_cast<ConsumeType>(EnumOr(
      j, "consumeType", 2, [](int32_t i) { return ConsumeTypeName(static_cast<ConsumeType>(i)); },
      static_cast<int32_t>(ConsumeType::kConsumePassively)));
  b.message_model = static_cast<MessageModel>(EnumOr(
      j, "messageModel", 2,
      [](int32_t i) { return MessageModelName(static_cast<MessageModel>(i)); },
      static_cast<int32_t>(MessageModel::kClustering)));
  return b;
}

Result<SubscriptionGroupConfigBody> SubscriptionGroupConfigBody::Decode(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("groupName") ||
      !j["groupName"].is_string() || j["groupName"].get<std::string>().empty()) {
    return Status::InvalidArgument("the body must be a SubscriptionGroupConfig with a groupName");
  }
  SubscriptionGroupConfigBody g;
  g.group_name = j["groupName"].get<std::string>();
  auto b = [&](const char* k, bool def) {
    auto it = j.find(k);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
  };
  auto i = [&](const char* k, int64_t def) {
    auto it = j.find(k);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : def;
  };
  g.consume_enable = b("consumeEnable", true);
  g.consume_from_min_enable = b("consumeFromMinEnable", true);
  g.consume_broadcast_enable = b("consumeBroadcastEnable", true);
  g.consume_message_orderly = b("consumeMessageOrderly", false);
  g.retry_queue_nums = static_cast<int32_t>(i("retryQueueNums", 1));
  g.retry_max_times = static_cast<int32_t>(i("retryMaxTimes", 16));
  g.broker_id = i("brokerId", 0);
  g.which_broker_when_consume_slowly = i("whichBrokerWhenConsumeSlowly", 1);
  g.notify_consumer_ids_changed_enable = b("notifyConsumerIdsChangedEnable", true);
  return g;
}

}  // namespace ramjet::protocol
