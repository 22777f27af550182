#include "ramjet/protocol/admin_bodies.h"

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
  g.retry_queue_nums = static_cast<int32_t>(i("retryQueueNums", 1));
  g.retry_max_times = static_cast<int32_t>(i("retryMaxTimes", 16));
  g.broker_id = i("brokerId", 0);
  g.which_broker_when_consume_slowly = i("whichBrokerWhenConsumeSlowly", 1);
  g.notify_consumer_ids_changed_enable = b("notifyConsumerIdsChangedEnable", true);
  return g;
}

}  // namespace ramjet::protocol
