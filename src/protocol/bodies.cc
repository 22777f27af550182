#include "ramjet/protocol/bodies.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "ramjet/base/coding.h"
#include "ramjet/base/compression.h"
#include "ramjet/base/hash.h"

namespace ramjet::protocol {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string QuoteNumericKeys(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 16);
  bool in_str = false;
  char prev_sig = 0;  // last non-space char outside strings
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (in_str) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_str = false;
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
      out.push_back(c);
      prev_sig = c;
      continue;
    }
    if ((prev_sig == '{' || prev_sig == ',') && (c == '-' || (c >= '0' && c <= '9'))) {
      size_t j = i + 1;
      while (j < in.size() && in[j] >= '0' && in[j] <= '9') ++j;
      size_t k = j;
      while (k < in.size() && (in[k] == ' ' || in[k] == '\t' || in[k] == '\n' || in[k] == '\r')) {
        ++k;
      }
      if (k < in.size() && in[k] == ':') {
        out.push_back('"');
        out.append(in.substr(i, j - i));
        out.push_back('"');
        i = j - 1;
        prev_sig = '"';
        continue;
      }
    }
    out.push_back(c);
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') prev_sig = c;
  }
  return out;
}

namespace {

Result<json> ParseJson(std::string_view text) {
  std::string fixed = QuoteNumericKeys(text);
  json j = json::parse(fixed, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("body is not valid JSON");
  if (!j.is_object()) return Status::Corruption("body JSON is not an object");
  return j;
}

std::string Str(const json& j, const char* key, std::string def = {}) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (it->is_number()) return Dump(*it);
  return def;
}

int64_t I64(const json& j, const char* key, int64_t def = 0) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!(d >= -9.2e18 && d <= 9.2e18)) return def;  // also rejects NaN
    return static_cast<int64_t>(d);
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  if (it->is_boolean()) return it->get<bool>() ? 1 : 0;
  return def;
}

bool Bool(const json& j, const char* key, bool def = false) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return it->get<std::string>() == "true";
  if (it->is_number_integer()) return it->get<int64_t>() != 0;
  return def;
}

// An enum given by name or ordinal.
int64_t EnumValue(const json& j, const char* key, const std::vector<std::string_view>& names,
                  int64_t def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t i = 0;
    for (auto n : names) {
      if (n == s) return i;
      ++i;
    }
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return def;
}

const std::vector<std::string_view> kConsumeFromWhereNames = {
    "CONSUME_FROM_LAST_OFFSET",  "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",   "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET", "CONSUME_FROM_TIMESTAMP"};

json TopicConfigJson(const TopicConfig& t) {
  return json{{"order", t.order},
              {"perm", t.perm},
              {"readQueueNums", t.read_queue_nums},
              {"topicFilterType", t.topic_filter_type},
              {"topicName", t.topic_name},
              {"topicSysFlag", t.topic_sys_flag},
              {"writeQueueNums", t.write_queue_nums}};
}

TopicConfig TopicConfigFrom(const json& j, const std::string& name) {
  TopicConfig t;
  t.topic_name = Str(j, "topicName", name);
  t.read_queue_nums = static_cast<int32_t>(I64(j, "readQueueNums", 16));
  t.write_queue_nums = static_cast<int32_t>(I64(j, "writeQueueNums", 16));
  t.perm = static_cast<int32_t>(I64(j, "perm", 6));
  t.topic_filter_type = Str(j, "topicFilterType", "SINGLE_TAG");
  t.topic_sys_flag = static_cast<int32_t>(I64(j, "topicSysFlag", 0));
  t.order = Bool(j, "order", false);
  return t;
}

json DataVersionJson(const DataVersion& v) {
  return json{{"counter", v.counter}, {"timestamp", v.timestamp}};
}
DataVersion DataVersionFrom(const json& j) {
  DataVersion v;
  v.counter = I64(j, "counter");
  v.timestamp = I64(j, "timestamp");
  return v;
}

json WrapperJson(const TopicConfigSerializeWrapper& w) {
  json table = json::object();
  for (const auto& [k, t] : w.topic_config_table) table[k] = TopicConfigJson(t);
  return json{{"dataVersion", DataVersionJson(w.data_version)}, {"topicConfigTable", table}};
}

Result<TopicConfigSerializeWrapper> WrapperFrom(const json& j) {
  TopicConfigSerializeWrapper w;
  if (auto it = j.find("dataVersion"); it != j.end() && it->is_object()) {
    w.data_version = DataVersionFrom(*it);
  }
  if (auto it = j.find("topicConfigTable"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Status::Corruption("topicConfigTable is not an object");
    for (auto& [k, v] : it->items()) {
      if (!v.is_object()) return Status::Corruption("topic config of " + k + " is not an object");
      w.topic_config_table[k] = TopicConfigFrom(v, k);
    }
  }
  return w;
}

json BrokerDataJson(const BrokerData& b) {
  json addrs = json::object();
  for (const auto& [id, a] : b.broker_addrs) addrs[std::to_string(id)] = a;
  return json{{"brokerAddrs", addrs}, {"brokerName", b.broker_name}, {"cluster", b.cluster}};
}

Result<BrokerData> BrokerDataFrom(const json& j) {
  if (!j.is_object()) return Status::Corruption("broker data is not an object");
  BrokerData b;
  b.cluster = Str(j, "cluster");
  b.broker_name = Str(j, "brokerName");
  if (auto it = j.find("brokerAddrs"); it != j.end() && it->is_object()) {
    for (auto& [k, v] : it->items()) {
      int64_t id = 0;
      auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
      if (ec != std::errc() || p != k.data() + k.size()) {
        return Status::Corruption("brokerAddrs key is not a broker id: " + k);
      }
      if (v.is_string()) b.broker_addrs[id] = v.get<std::string>();
    }
  }
  return b;
}

// Runs a parser, turning any stray nlohmann exception into a kCorruption status.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("malformed JSON body: ") + e.what());
  }
}

}  // namespace

std::string JsonQuote(std::string_view s) { return Dump(json(std::string(s))); }

std::string DataVersion::ToJson() const { return Dump(DataVersionJson(*this)); }
Result<DataVersion> DataVersion::Parse(std::string_view text) {
  return Guard([&]() -> Result<DataVersion> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    return DataVersionFrom(j);
  });
}

std::string TopicConfigSerializeWrapper::ToJson() const { return Dump(WrapperJson(*this)); }
Result<TopicConfigSerializeWrapper> TopicConfigSerializeWrapper::Parse(std::string_view text) {
  return Guard([&]() -> Result<TopicConfigSerializeWrapper> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    return WrapperFrom(j);
  });
}

std::string RegisterBrokerBody::ToJson() const {
  return Dump(json{{"filterServerList", filter_server_list},
                   {"topicConfigSerializeWrapper", WrapperJson(topic_config_wrapper)}});
}

namespace {
// A compressed registration inflates to at most this (a 64 KB "zip bomb" took the name server to
// 800 MB): room for ~100,000 topic configs.
constexpr size_t kMaxInflatedRegisterBody = 16u << 20;

// RegisterBrokerBody.encode(true): a zlib stream of int32-length-prefixed parts.
Result<RegisterBrokerBody> ParseCompressed(std::string_view body) {
  auto inflated = ZlibInflate(body, kMaxInflatedRegisterBody);
  if (!inflated.ok()) {
    return Status::Corruption("compressed register body: " +
                              std::string(inflated.status().message()));
  }
  const std::string& raw = *inflated;
  size_t pos = 0;
  auto take = [&]() -> Result<std::string_view> {
    if (raw.size() - pos < 4) return Status::Corruption("compressed register body truncated");
    int32_t n = static_cast<int32_t>(DecodeBE32(raw.data() + pos));
    pos += 4;
    if (n < 0 || raw.size() - pos < static_cast<size_t>(n)) {
      return Status::Corruption("compressed register body length out of range");
    }
    std::string_view s(raw.data() + pos, n);
    pos += n;
    return s;
  };
  RegisterBrokerBody out;
  RJ_ASSIGN_OR_RETURN(std::string_view dv, take());
  RJ_ASSIGN_OR_RETURN(out.topic_config_wrapper.data_version, DataVersion::Parse(dv));
  if (raw.size() - pos < 4) return Status::Corruption("compressed register body truncated");
  int32_t count = static_cast<int32_t>(DecodeBE32(raw.data() + pos));
  pos += 4;
  if (count < 0) return Status::Corruption("negative topic count");
  for (int32_t i = 0; i < count; ++i) {
    RJ_ASSIGN_OR_RETURN(std::string_view line, take());
    // "<topicName> <readQueueNums> <writeQueueNums> <perm> <topicFilterType>"
    std::vector<std::string> parts;
    size_t s = 0;
    while (s <= line.size()) {
      size_t e = line.find(' ', s);
      if (e == std::string_view::npos) e = line.size();
      parts.emplace_back(line.substr(s, e - s));
      s = e + 1;
    }
    if (parts.size() < 4)
      return Status::Corruption("bad compact topic config: " + std::string(line));
    TopicConfig t;
    t.topic_name = parts[0];
    t.read_queue_nums = std::atoi(parts[1].c_str());
    t.write_queue_nums = std::atoi(parts[2].c_str());
    t.perm = std::atoi(parts[3].c_str());
    if (parts.size() > 4) t.topic_filter_type = parts[4];
    out.topic_config_wrapper.topic_config_table[t.topic_name] = t;
  }
  if (pos < raw.size()) {
    RJ_ASSIGN_OR_RETURN(std::string_view fs, take());
    json j = json::parse(fs, nullptr, false);
    if (j.is_array()) {
      for (auto& v : j) {
        if (v.is_string()) out.filter_server_list.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}
}  // namespace

Result<RegisterBrokerBody> RegisterBrokerBody::Parse(std::string_view body, bool compressed) {
  return Guard([&]() -> Result<RegisterBrokerBody> {
    if (compressed) return ParseCompressed(body);
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(body));
    RegisterBrokerBody out;
    // Version < V3_0_11 brokers send a bare TopicConfigSerializeWrapper.
    const json* w = &j;
    if (auto it = j.find("topicConfigSerializeWrapper"); it != j.end() && it->is_object()) {
      w = &*it;
    }
    RJ_ASSIGN_OR_RETURN(out.topic_config_wrapper, WrapperFrom(*w));
    if (auto it = j.find("filterServerList"); it != j.end() && it->is_array()) {
      for (auto& v : *it) {
        if (v.is_string()) out.filter_server_list.push_back(v.get<std::string>());
      }
    }
    return out;
  });
}

std::string TopicRouteData::ToJson() const {
  json brokers = json::array();
  for (const auto& b : broker_datas) brokers.push_back(BrokerDataJson(b));
  json queues = json::array();
  for (const auto& q : queue_datas) {
    queues.push_back(json{{"brokerName", q.broker_name},
                          {"perm", q.perm},
                          {"readQueueNums", q.read_queue_nums},
                          {"topicSysFlag", q.topic_sys_flag},
                          {"writeQueueNums", q.write_queue_nums}});
  }
  json j{{"brokerDatas", brokers}, {"filterServerTable", json::object()}, {"queueDatas", queues}};
  for (const auto& [k, v] : filter_server_table) j["filterServerTable"][k] = v;
  if (order_topic_conf) j["orderTopicConf"] = *order_topic_conf;
  return Dump(j);
}

Result<TopicRouteData> TopicRouteData::Parse(std::string_view text) {
  return Guard([&]() -> Result<TopicRouteData> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    TopicRouteData r;
    if (j.contains("orderTopicConf") && j["orderTopicConf"].is_string()) {
      r.order_topic_conf = j["orderTopicConf"].get<std::string>();
    }
    if (auto it = j.find("queueDatas"); it != j.end() && it->is_array()) {
      for (auto& q : *it) {
        if (!q.is_object()) return Status::Corruption("queue data is not an object");
        QueueData d;
        d.broker_name = Str(q, "brokerName");
        d.read_queue_nums = static_cast<int32_t>(I64(q, "readQueueNums"));
        d.write_queue_nums = static_cast<int32_t>(I64(q, "writeQueueNums"));
        d.perm = static_cast<int32_t>(I64(q, "perm"));
        d.topic_sys_flag = static_cast<int32_t>(I64(q, "topicSysFlag"));
        r.queue_datas.push_back(std::move(d));
      }
    }
    if (auto it = j.find("brokerDatas"); it != j.end() && it->is_array()) {
      for (auto& b : *it) {
        RJ_ASSIGN_OR_RETURN(BrokerData d, BrokerDataFrom(b));
        r.broker_datas.push_back(std::move(d));
      }
    }
    return r;
  });
}

std::string ClusterInfo::ToJson() const {
  json brokers = json::object();
  for (const auto& [k, b] : broker_addr_table) brokers[k] = BrokerDataJson(b);
  json clusters = json::object();
  for (const auto& [k, s] : cluster_addr_table) clusters[k] = s;
  return Dump(json{{"brokerAddrTable", brokers}, {"clusterAddrTable", clusters}});
}

Result<ClusterInfo> ClusterInfo::Parse(std::string_view text) {
  return Guard([&]() -> Result<ClusterInfo> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    ClusterInfo c;
    if (auto it = j.find("brokerAddrTable"); it != j.end() && it->is_object()) {
      for (auto& [k, v] : it->items()) {
        RJ_ASSIGN_OR_RETURN(c.broker_addr_table[k], BrokerDataFrom(v));
      }
    }
    if (auto it = j.find("clusterAddrTable"); it != j.end() && it->is_object()) {
      for (auto& [k, v] : it->items()) {
        auto& set = c.cluster_addr_table[k];
        if (v.is_array()) {
          for (auto& n : v) {
            if (n.is_string()) set.insert(n.get<std::string>());
          }
        }
      }
    }
    return c;
  });
}

std::string TopicList::ToJson() const {
  json j{{"topicList", topic_list}};
  if (broker_addr) j["brokerAddr"] = *broker_addr;
  return Dump(j);
}

Result<TopicList> TopicList::Parse(std::string_view text) {
  return Guard([&]() -> Result<TopicList> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    TopicList t;
    if (auto it = j.find("topicList"); it != j.end() && it->is_array()) {
      for (auto& v : *it) {
        if (v.is_string()) t.topic_list.insert(v.get<std::string>());
      }
    }
    if (j.contains("brokerAddr") && j["brokerAddr"].is_string()) {
      t.broker_addr = j["brokerAddr"].get<std::string>();
    }
    return t;
  });
}

std::string KVTable::ToJson() const { return Dump(json{{"table", table}}); }

Result<KVTable> KVTable::Parse(std::string_view text) {
  return Guard([&]() -> Result<KVTable> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    KVTable t;
    if (auto it = j.find("table"); it != j.end() && it->is_object()) {
      for (auto& [k, v] : it->items()) t.table[k] = Str(*it, k.c_str());
    }
    return t;
  });
}

std::string_view ConsumeTypeName(ConsumeType t) {
  return t == ConsumeType::kConsumeActively ? "CONSUME_ACTIVELY" : "CONSUME_PASSIVELY";
}
std::string_view MessageModelName(MessageModel m) {
  return m == MessageModel::kBroadcasting ? "BROADCASTING" : "CLUSTERING";
}
std::string_view ConsumeFromWhereName(int32_t ordinal) {
  if (ordinal < 0 || ordinal >= static_cast<int32_t>(kConsumeFromWhereNames.size())) {
    return "CONSUME_FROM_LAST_OFFSET";
  }
  return kConsumeFromWhereNames[ordinal];
}

SubscriptionData SubscriptionData::ForTags(std::string topic, std::string_view sub_string,
                                           int64_t sub_version) {
  SubscriptionData s;
  s.topic = std::move(topic);
  s.sub_version = sub_version;
  std::string_view str = sub_string;
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  str = trim(str);
  if (str.empty() || str == "*") {
    s.sub_string = "*";
    return s;
  }
  s.sub_string = std::string(str);
  size_t pos = 0;
  while (pos <= str.size()) {
    size_t e = str.find("||", pos);
    if (e == std::string_view::npos) e = str.size();
    std::string_view tag = trim(str.substr(pos, e - pos));
    if (!tag.empty()) {
      s.tags_set.insert(std::string(tag));
      s.code_set.insert(JavaStringHash(tag));
    }
    pos = e + 2;
  }
  return s;
}

std::string HeartbeatData::ToJson() const {
  json producers = json::array();
  for (const auto& g : producer_groups) producers.push_back(json{{"groupName", g}});
  json consumers = json::array();
  for (const auto& c : consumer_data_set) {
    json subs = json::array();
    for (const auto& s : c.subscription_data_set) {
      subs.push_back(json{{"classFilterMode", s.class_filter_mode},
                          {"codeSet", s.code_set},
                          {"expressionType", s.expression_type},
                          {"subString", s.sub_string},
                          {"subVersion", s.sub_version},
                          {"tagsSet", s.tags_set},
                          {"topic", s.topic}});
    }
    consumers.push_back(json{{"consumeFromWhere", ConsumeFromWhereName(c.consume_from_where)},
                             {"consumeType", ConsumeTypeName(c.consume_type)},
                             {"groupName", c.group_name},
                             {"messageModel", MessageModelName(c.message_model)},
                             {"subscriptionDataSet", subs},
                             {"unitMode", c.unit_mode}});
  }
  return Dump(json{
      {"clientID", client_id}, {"consumerDataSet", consumers}, {"producerDataSet", producers}});
}

Result<HeartbeatData> HeartbeatData::Parse(std::string_view text) {
  return Guard([&]() -> Result<HeartbeatData> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    HeartbeatData h;
    h.client_id = Str(j, "clientID");
    if (h.client_id.empty()) return Status::Corruption("heartbeat without clientID");
    if (auto it = j.find("producerDataSet"); it != j.end() && it->is_array()) {
      for (auto& p : *it) {
        if (p.is_object()) h.producer_groups.push_back(Str(p, "groupName"));
      }
    }
    if (auto it = j.find("consumerDataSet"); it != j.end() && it->is_array()) {
      for (auto& c : *it) {
        if (!c.is_object()) return Status::Corruption("consumer data is not an object");
        ConsumerData d;
        d.group_name = Str(c, "groupName");
        if (d.group_name.empty()) return Status::Corruption("consumer data without groupName");
        d.consume_type = static_cast<ConsumeType>(
            EnumValue(c, "consumeType", {"CONSUME_ACTIVELY", "CONSUME_PASSIVELY"}, 1) == 0 ? 0 : 1);
        d.message_model = static_cast<MessageModel>(
            EnumValue(c, "messageModel", {"BROADCASTING", "CLUSTERING"}, 1) == 0 ? 0 : 1);
        d.consume_from_where =
            static_cast<int32_t>(EnumValue(c, "consumeFromWhere", kConsumeFromWhereNames, 0));
        d.unit_mode = Bool(c, "unitMode");
        if (auto st = c.find("subscriptionDataSet"); st != c.end() && st->is_array()) {
          for (auto& s : *st) {
            if (!s.is_object()) return Status::Corruption("subscription data is not an object");
            SubscriptionData sd;
            sd.class_filter_mode = Bool(s, "classFilterMode");
            sd.topic = Str(s, "topic");
            sd.sub_string = Str(s, "subString", "*");
            sd.sub_version = I64(s, "subVersion");
            sd.expression_type = Str(s, "expressionType", "TAG");
            if (sd.expression_type.empty()) sd.expression_type = "TAG";
            if (auto ts = s.find("tagsSet"); ts != s.end() && ts->is_array()) {
              for (auto& t : *ts) {
                if (t.is_string()) sd.tags_set.insert(t.get<std::string>());
              }
            }
            if (auto cs = s.find("codeSet"); cs != s.end() && cs->is_array()) {
              for (auto& v : *cs) {
                if (v.is_number_integer()) {
                  sd.code_set.insert(static_cast<int32_t>(v.get<int64_t>()));
                } else if (v.is_string()) {
                  sd.code_set.insert(
                      static_cast<int32_t>(std::atoll(v.get<std::string>().c_str())));
                }
              }
            }
            // Rebuild the hash set from the tags when a client omitted it.
            if (sd.expression_type == "TAG" && sd.code_set.empty() && !sd.tags_set.empty()) {
              for (const auto& t : sd.tags_set) sd.code_set.insert(JavaStringHash(t));
            }
            d.subscription_data_set.push_back(std::move(sd));
          }
        }
        h.consumer_data_set.push_back(std::move(d));
      }
    }
    return h;
  });
}

std::string ConsumerListBody::ToJson() const {
  return Dump(json{{"consumerIdList", consumer_id_list}});
}

Result<ConsumerListBody> ConsumerListBody::Parse(std::string_view text) {
  return Guard([&]() -> Result<ConsumerListBody> {
    RJ_ASSIGN_OR_RETURN(json j, ParseJson(text));
    ConsumerListBody b;
    if (auto it = j.find("consumerIdList"); it != j.end() && it->is_array()) {
      for (auto& v : *it) {
        if (v.is_string()) b.consumer_id_list.push_back(v.get<std::string>());
      }
    }
    return b;
  });
}

}  // namespace ramjet::protocol
