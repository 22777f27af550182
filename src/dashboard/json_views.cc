#include "json_views.h"

#include <cerrno>
#include <cstdlib>

#include "ramjet/base/base64.h"
#include "ramjet/base/names.h"

namespace ramjet::dashboard {

using Json = nlohmann::json;

bool IsUtf8(const std::string& s) {
  for (size_t at = 0; at < s.size();) {
    const size_t n = Utf8SequenceLength(std::string_view(s).substr(at));
    if (n == 0) return false;
    at += n;
  }
  return true;
}

Json SummaryOf(const client::MessageExt& m, const std::string& broker_name) {
  return Json{{"msgId", m.msg_id},
              {"offsetMsgId", m.offset_msg_id},
              {"topic", m.topic},
              {"brokerName", broker_name},
              {"queueId", m.queue_id},
              {"queueOffset", m.queue_offset},
              {"tags", m.tags()},
              {"keys", m.keys()},
              {"bornTimestamp", m.born_timestamp},
              {"storeTimestamp", m.store_timestamp},
              {"bornHost", m.born_host},
              {"storeHost", m.store_host},
              {"bodySize", m.body.size()},
              {"reconsumeTimes", m.reconsume_times}};
}

Json DetailOf(const client::MessageExt& m, const std::string& broker_name) {
  Json j = SummaryOf(m, broker_name);
  Json props = Json::object();
  for (const auto& [k, v] : m.properties) props[k] = IsUtf8(v) ? v : Base64Encode(v);
  j["properties"] = std::move(props);
  if (IsUtf8(m.body)) {
    j["body"] = m.body;
    j["bodyEncoding"] = "utf8";
  } else {
    j["body"] = Base64Encode(m.body);
    j["bodyEncoding"] = "base64";
  }
  return j;
}

Json TraceOf(const protocol::TraceRecord& t) {
  return Json{{"type", t.type},
              {"timestamp", t.timestamp},
              {"regionId", t.region},
              {"group", t.group},
              {"topic", t.topic},
              {"msgId", t.msg_id},
              {"tags", t.tags},
              {"keys", t.keys},
              {"storeHost", t.store_host},
              {"clientHost", t.client_host},
              {"costTime", t.cost_ms},
              {"success", t.success},
              {"status", t.success ? "success" : "failed"},
              {"retryTimes", t.retry_times},
              {"bodyLength", t.body_length},
              {"offsetMsgId", t.offset_msg_id}};
}

Result<int64_t> IntField(const Json& body, const char* name, int64_t def, int64_t lo, int64_t hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return def;
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    return Status::InvalidArgument(std::string(name) + " must be an integer");
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return Status::InvalidArgument(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "]");
  }
  return v;
}

Result<bool> BoolField(const Json& body, const char* name, bool def) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return def;
  if (!it->is_boolean())
    return Status::InvalidArgument(std::string(name) + " must be true or false");
  return it->get<bool>();
}

Result<std::string> StringField(const Json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
    if (required) return Status::InvalidArgument(std::string(name) + " is required");
    return std::string();
  }
  if (!it->is_string()) return Status::InvalidArgument(std::string(name) + " must be a string");
  return it->get<std::string>();
}

Result<int64_t> IntParam(const std::string& text, const char* name, int64_t def, int64_t lo,
                         int64_t hi) {
  if (text.empty()) return def;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < lo || v > hi) {
    return Status::InvalidArgument(std::string(name) + " must be an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(v);
}

}  // namespace ramjet::dashboard
