#include "ramjet/protocol/config_files.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "ramjet/protocol/bodies.h"

namespace ramjet::protocol {

using json = nlohmann::json;

Result<DelayOffsetFile> DelayOffsetFile::Decode(std::string_view text) {
  auto j = json::parse(QuoteNumericKeys(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("delay offsets are not JSON");
  DelayOffsetFile f;
  auto t = j.find("offsetTable");
  if (t == j.end() || !t->is_object()) return f;
  for (auto& [k, v] : t->items()) {
    const int level = std::atoi(k.c_str());
    if (level >= 1 && v.is_number_integer()) f.offset_table[level] = v.get<int64_t>();
  }
  return f;
}

std::string DelayOffsetFile::Encode() const {
  json t = json::object();
  for (const auto& [level, off] : offset_table) t[std::to_string(level)] = off;
  return json{{"offsetTable", t}}.dump(2);
}

Result<TimerProgressFile> TimerProgressFile::Decode(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("timer progress is not JSON");
  TimerProgressFile f;
  if (auto w = j.find("watermark"); w != j.end() && w->is_number_integer()) {
    f.watermark = w->get<int64_t>();
  }
  return f;
}

std::string TimerProgressFile::Encode() const { return json{{"watermark", watermark}}.dump(); }

Result<KvConfigFile> KvConfigFile::Decode(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  KvConfigFile f;
  auto t = j.find("configTable");
  if (t == j.end() || !t->is_object()) return f;
  for (auto& [ns, kv] : t->items()) {
    if (!kv.is_object()) continue;
    for (auto& [k, v] : kv.items()) {
      if (v.is_string()) f.config_table[ns][k] = v.get<std::string>();
    }
  }
  return f;
}

std::string KvConfigFile::Encode() const {
  return json{{"configTable", config_table}}.dump(2, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------
// Subscription groups and consumer offsets

namespace {

std::string Compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The hand-editable file's leniency: a value of the wrong type keeps def; booleans may be the
// string "true"/"false", integers a string of digits (read with atoll, as before).
bool BoolOr(const json& j, const char* k, bool def) {
  auto it = j.find(k);
  if (it == j.end()) return def;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return it->get_ref<const std::string&>() == "true";
  return def;
}

int64_t IntOr(const json& j, const char* k, int64_t def) {
  auto it = j.find(k);
  if (it == j.end()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return std::atoll(it->get_ref<const std::string&>().c_str());
  return def;
}

SubscriptionGroupConfigBody GroupFrom(const json& v, const std::string& key) {
  SubscriptionGroupConfigBody g;
  auto name = v.find("groupName");
  g.group_name = name != v.end() && name->is_string() ? name->get<std::string>() : key;
  g.consume_enable = BoolOr(v, "consumeEnable", true);
  g.consume_from_min_enable = BoolOr(v, "consumeFromMinEnable", true);
  g.consume_broadcast_enable = BoolOr(v, "consumeBroadcastEnable", true);
  g.consume_message_orderly = BoolOr(v, "consumeMessageOrderly", false);
  g.retry_queue_nums = static_cast<int32_t>(IntOr(v, "retryQueueNums", 1));
  g.retry_max_times = static_cast<int32_t>(IntOr(v, "retryMaxTimes", 16));
  g.broker_id = IntOr(v, "brokerId", 0);
  g.which_broker_when_consume_slowly = IntOr(v, "whichBrokerWhenConsumeSlowly", 1);
  g.notify_consumer_ids_changed_enable = BoolOr(v, "notifyConsumerIdsChangedEnable", true);
  return g;
}

json GroupJson(const SubscriptionGroupConfigBody& g) {
  return json{{"brokerId", g.broker_id},
              {"consumeBroadcastEnable", g.consume_broadcast_enable},
              {"consumeEnable", g.consume_enable},
              {"consumeFromMinEnable", g.consume_from_min_enable},
              {"consumeMessageOrderly", g.consume_message_orderly},
              {"groupName", g.group_name},
              {"notifyConsumerIdsChangedEnable", g.notify_consumer_ids_changed_enable},
              {"retryMaxTimes", g.retry_max_times},
              {"retryQueueNums", g.retry_queue_nums},
              {"whichBrokerWhenConsumeSlowly", g.which_broker_when_consume_slowly}};
}

}  // namespace

Result<SubscriptionGroupWrapper> SubscriptionGroupWrapper::Decode(std::string_view text) {
  auto j = json::parse(QuoteNumericKeys(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  SubscriptionGroupWrapper w;
  if (auto v = j.find("dataVersion"); v != j.end() && v->is_object()) {
    w.data_version.counter = IntOr(*v, "counter", 0);
    w.data_version.timestamp = IntOr(*v, "timestamp", 0);
  }
  auto t = j.find("subscriptionGroupTable");
  if (t == j.end() || !t->is_object()) return w;
  for (const auto& [key, v] : t->items()) {
    if (v.is_object()) w.subscription_group_table[key] = GroupFrom(v, key);
  }
  return w;
}

std::string SubscriptionGroupWrapper::Encode() const {
  json t = json::object();
  for (const auto& [k, g] : subscription_group_table) t[k] = GroupJson(g);
  return Compact(json{{"dataVersion", json{{"counter", data_version.counter},
                                           {"timestamp", data_version.timestamp}}},
                      {"subscriptionGroupTable", t}});
}

Result<ConsumerOffsetWrapper> ConsumerOffsetWrapper::Decode(std::string_view text) {
  auto j = json::parse(QuoteNumericKeys(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  ConsumerOffsetWrapper w;
  auto t = j.find("offsetTable");
  if (t == j.end() || !t->is_object()) return w;
  for (const auto& [key, queues] : t->items()) {
    if (!queues.is_object()) continue;
    for (const auto& [qid, off] : queues.items()) {
      if (off.is_number_integer()) w.offset_table[key][std::atoi(qid.c_str())] = off.get<int64_t>();
    }
  }
  return w;
}

std::string ConsumerOffsetWrapper::Encode() const {
  json t = json::object();
  for (const auto& [k, q] : offset_table) {
    json m = json::object();
    for (const auto& [qid, off] : q) m[std::to_string(qid)] = off;
    t[k] = std::move(m);
  }
  return Compact(json{{"offsetTable", t}});
}

Result<LocalOffsetFile> LocalOffsetFile::Decode(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  LocalOffsetFile f;
  for (const auto& [k, v] : j.items()) {
    if (v.is_number_integer()) f.offsets[k] = v.get<int64_t>();
  }
  return f;
}

std::string LocalOffsetFile::Encode() const { return Compact(json(offsets)); }

Result<std::string> IndentJson(std::string_view json_text) {
  auto j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("not JSON");
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace ramjet::protocol
