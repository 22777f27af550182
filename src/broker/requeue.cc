#include "requeue.h"

namespace ramjet::broker {

std::string EditProperties(std::string_view props, std::initializer_list<std::string_view> remove,
                           const std::vector<std::pair<std::string, std::string>>& add) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, v] : message::ParseProperties(props)) {
    bool drop = false;
    for (auto r : remove) drop |= (k == r);
    for (const auto& [ak, av] : add) drop |= (k == ak);
    if (!drop) kv.emplace_back(std::string(k), std::string(v));
  }
  for (const auto& p : add) kv.push_back(p);
  return message::BuildProperties(kv);
}

std::vector<std::pair<std::string, std::string>> RetryOriginProperties(
    const message::RecordView& r, std::string_view origin_msg_id) {
  std::vector<std::pair<std::string, std::string>> add;
  if (message::FindProperty(r.properties, "RETRY_TOPIC").empty()) {
    add.emplace_back("RETRY_TOPIC", std::string(r.topic));
  }
  if (message::FindProperty(r.properties, "ORIGIN_MESSAGE_ID").empty()) {
    add.emplace_back("ORIGIN_MESSAGE_ID",
                     origin_msg_id.empty()
                         ? message::CreateOffsetMessageId(r.store_host, r.physical_offset)
                         : std::string(origin_msg_id));
  }
  return add;
}

message::MessageInput RequeueInput(const message::RecordView& r, std::string_view topic,
                                   int32_t queue_id, std::string_view props) {
  message::MessageInput in;
  in.topic = topic;
  in.queue_id = queue_id;
  in.flag = r.flag;
  in.body = r.body;
  in.properties = props;
  in.sys_flag = r.sys_flag & ~(message::kSysFlagBornHostV6 | message::kSysFlagStoreHostV6);
  in.born_timestamp = r.born_timestamp;
  in.born_host = r.born_host;
  in.reconsume_times = r.reconsume_times;
  return in;
}

}  // namespace ramjet::broker
