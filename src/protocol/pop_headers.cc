#include "ramjet/protocol/pop_headers.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ramjet/base/base64.h"

namespace ramjet::protocol {
namespace {

using nlohmann::json;

Result<json> ParseObject(std::string_view body, const char* what) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string("the body is not a JSON ") + what);
  }
  return j;
}

std::string StringOr(const json& j, const char* k, const char* def = "") {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(def);
}

int64_t IntOr(const json& j, const char* k, int64_t def) {
  auto it = j.find(k);
  if (it == j.end()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return def;
    }
  }
  return def;
}

void AddEntry(std::string* info, bool retry, const std::string& key, const std::string& value) {
  if (!info->empty()) *info += ';';
  *info += retry ? "1 " : "0 ";
  *info += key;
  *info += ' ';
  *info += value;
}

}  // namespace

Result<PopMessageRequestHeader> PopMessageRequestHeader::Decode(const RemotingCommand& r) {
  PopMessageRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  if (h.queue_id < 0) h.queue_id = -1;
  RJ_ASSIGN_OR_RETURN(h.max_msg_nums, r.GetInt32("maxMsgNums"));
  RJ_ASSIGN_OR_RETURN(h.invisible_time, r.GetInt64("invisibleTime"));
  RJ_ASSIGN_OR_RETURN(h.poll_time, r.GetInt64("pollTime"));
  RJ_ASSIGN_OR_RETURN(h.born_time, r.GetInt64("bornTime"));
  RJ_ASSIGN_OR_RETURN(h.init_mode, r.GetInt32("initMode"));
  h.exp_type = std::string(r.Find("expType").value_or("TAG"));
  if (h.exp_type.empty()) h.exp_type = "TAG";
  h.exp = std::string(r.Find("exp").value_or("*"));
  if (h.exp.empty()) h.exp = "*";
  h.order = r.GetBool("order");
  h.attempt_id = std::string(r.Find("attemptId").value_or(""));
  return h;
}

void PopMessageRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("consumerGroup", consumer_group);
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  r->Set("maxMsgNums", int64_t{max_msg_nums});
  r->Set("invisibleTime", invisible_time);
  r->Set("pollTime", poll_time);
  r->Set("bornTime", born_time);
  r->Set("initMode", int64_t{init_mode});
  r->Set("expType", exp_type);
  r->Set("exp", exp);
  r->Set("order", order ? "true" : "false");
  if (!attempt_id.empty()) r->Set("attemptId", attempt_id);
}

Result<PopMessageResponseHeader> PopMessageResponseHeader::Decode(const RemotingCommand& r) {
  PopMessageResponseHeader h;
  RJ_ASSIGN_OR_RETURN(h.pop_time, r.GetInt64("popTime"));
  RJ_ASSIGN_OR_RETURN(h.invisible_time, r.GetInt64("invisibleTime"));
  RJ_ASSIGN_OR_RETURN(h.revive_qid, r.GetInt32("reviveQid"));
  h.rest_num = r.GetInt64Or("restNum", 0);
  h.start_offset_info = std::string(r.Find("startOffsetInfo").value_or(""));
  h.msg_offset_info = std::string(r.Find("msgOffsetInfo").value_or(""));
  h.order_count_info = std::string(r.Find("orderCountInfo").value_or(""));
  return h;
}

void PopMessageResponseHeader::Encode(RemotingCommand* r) const {
  r->Set("popTime", pop_time);
  r->Set("invisibleTime", invisible_time);
  r->Set("reviveQid", int64_t{revive_qid});
  r->Set("restNum", rest_num);
  if (!start_offset_info.empty()) r->Set("startOffsetInfo", start_offset_info);
  if (!msg_offset_info.empty()) r->Set("msgOffsetInfo", msg_offset_info);
  if (!order_count_info.empty()) r->Set("orderCountInfo", order_count_info);
}

Result<AckMessageRequestHeader> AckMessageRequestHeader::Decode(const RemotingCommand& r,
                                                                bool change_invisible) {
  AckMessageRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  RJ_ASSIGN_OR_RETURN(h.extra_info, r.GetString("extraInfo"));
  RJ_ASSIGN_OR_RETURN(h.offset, r.GetInt64("offset"));
  if (change_invisible) {
    RJ_ASSIGN_OR_RETURN(int64_t t, r.GetInt64("invisibleTime"));
    h.invisible_time = t;
  }
  return h;
}

void AckMessageRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("consumerGroup", consumer_group);
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  r->Set("extraInfo", extra_info);
  r->Set("offset", offset);
  if (invisible_time) r->Set("invisibleTime", *invisible_time);
}

Result<ChangeInvisibleTimeResponseHeader> ChangeInvisibleTimeResponseHeader::Decode(
    const RemotingCommand& r) {
  ChangeInvisibleTimeResponseHeader h;
  RJ_ASSIGN_OR_RETURN(h.pop_time, r.GetInt64("popTime"));
  RJ_ASSIGN_OR_RETURN(h.invisible_time, r.GetInt64("invisibleTime"));
  RJ_ASSIGN_OR_RETURN(h.revive_qid, r.GetInt32("reviveQid"));
  return h;
}

void ChangeInvisibleTimeResponseHeader::Encode(RemotingCommand* r) const {
  r->Set("popTime", pop_time);
  r->Set("invisibleTime", invisible_time);
  r->Set("reviveQid", int64_t{revive_qid});
}

Result<NotificationRequestHeader> NotificationRequestHeader::Decode(const RemotingCommand& r,
                                                                    bool polling_info) {
  NotificationRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  if (h.queue_id < 0) h.queue_id = -1;
  if (!polling_info) {
    RJ_ASSIGN_OR_RETURN(h.poll_time, r.GetInt64("pollTime"));
    RJ_ASSIGN_OR_RETURN(h.born_time, r.GetInt64("bornTime"));
    h.order = r.GetBool("order");
  }
  return h;
}

void ExtraInfo::AddStartOffset(std::string* info, bool retry, int32_t queue_id, int64_t start) {
  AddEntry(info, retry, std::to_string(queue_id), std::to_string(start));
}

void ExtraInfo::AddMsgOffsets(std::string* info, bool retry, int32_t queue_id,
                              const std::vector<int64_t>& offsets) {
  std::string list;
  for (int64_t o : offsets) {
    if (!list.empty()) list += ',';
    list += std::to_string(o);
  }
  AddEntry(info, retry, std::to_string(queue_id), list);
}

void ExtraInfo::AddOrderCount(std::string* info, bool retry, int32_t queue_id, int64_t offset,
                              int32_t count) {
  AddEntry(info, retry, "qo" + std::to_string(queue_id) + "%" + std::to_string(offset),
           std::to_string(count));
}

Result<BatchAckMessageRequestBody> BatchAckMessageRequestBody::Decode(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "BatchAckMessageRequestBody"));
  BatchAckMessageRequestBody b;
  b.broker_name = StringOr(j, "brokerName");
  auto acks = j.find("acks");
  if (acks == j.end() || !acks->is_array()) return b;
  for (const json& a : *acks) {
    if (!a.is_object()) return Status::InvalidArgument("acks: an entry is not an object");
    BatchAck x;
    x.consumer_group = StringOr(a, "c");
    x.topic = StringOr(a, "t");
    x.retry = static_cast<int32_t>(IntOr(a, "r", 0));
    x.start_offset = IntOr(a, "so", -1);
    x.queue_id = static_cast<int32_t>(IntOr(a, "q", -1));
    x.revive_qid = static_cast<int32_t>(IntOr(a, "rq", 0));
    x.pop_time = IntOr(a, "pt", 0);
    x.invisible_time = IntOr(a, "it", 0);
    if (x.consumer_group.empty() || x.topic.empty() || x.start_offset < 0 || x.queue_id < 0) {
      return Status::InvalidArgument("acks: an entry lacks c, t, so or q");
    }
    auto bits = Base64Decode(StringOr(a, "b"));
    if (!bits.ok()) return Status::InvalidArgument("acks: b is not base64");
    // Java's BitSet.toByteArray: little-endian, bit i of the set is bit i%8 of byte i/8.
    for (size_t i = 0; i < bits->size() && i < 4096; ++i) {
      const auto byte = static_cast<uint8_t>((*bits)[i]);
      for (int k = 0; k < 8; ++k) {
        if (byte & (1u << k)) x.offsets.push_back(x.start_offset + static_cast<int64_t>(i * 8 + k));
      }
    }
    b.acks.push_back(std::move(x));
  }
  return b;
}

std::string BatchAckMessageRequestBody::Encode() const {
  json list = json::array();
  for (const BatchAck& a : acks) {
    std::string bits;
    for (int64_t o : a.offsets) {
      const int64_t i = o - a.start_offset;
      if (i < 0) continue;
      const size_t byte = static_cast<size_t>(i / 8);
      if (bits.size() <= byte) bits.resize(byte + 1, '\0');
      bits[byte] = static_cast<char>(static_cast<uint8_t>(bits[byte]) | (1u << (i % 8)));
    }
    list.push_back({{"c", a.consumer_group},
                    {"t", a.topic},
                    {"r", std::to_string(a.retry)},
                    {"so", a.start_offset},
                    {"q", a.queue_id},
                    {"rq", a.revive_qid},
                    {"pt", a.pop_time},
                    {"it", a.invisible_time},
                    {"b", Base64Encode(bits)}});
  }
  return json{{"brokerName", broker_name}, {"acks", list}}.dump();
}

Result<QueryAssignmentRequestBody> QueryAssignmentRequestBody::Decode(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "QueryAssignmentRequestBody"));
  QueryAssignmentRequestBody b;
  b.topic = StringOr(j, "topic");
  b.consumer_group = StringOr(j, "consumerGroup");
  b.client_id = StringOr(j, "clientId");
  b.strategy_name = StringOr(j, "strategyName", "AVG");
  b.message_model = StringOr(j, "messageModel", "CLUSTERING");
  if (b.topic.empty() || b.consumer_group.empty() || b.client_id.empty()) {
    return Status::InvalidArgument(
        "QueryAssignmentRequestBody needs topic, consumerGroup, clientId");
  }
  return b;
}

std::string QueryAssignmentRequestBody::Encode() const {
  return json{{"topic", topic},
              {"consumerGroup", consumer_group},
              {"clientId", client_id},
              {"strategyName", strategy_name},
              {"messageModel", message_model}}
      .dump();
}

std::string EncodeQueryAssignmentResponse(const std::vector<MessageQueueAssignment>& a) {
  json list = json::array();
  for (const auto& x : a) {
    list.push_back({{"messageQueue",
                     {{"topic", x.message_queue.topic},
                      {"brokerName", x.message_queue.broker_name},
                      {"queueId", x.message_queue.queue_id}}},
                    {"mode", x.mode}});
  }
  return json{{"messageQueueAssignments", list}}.dump();
}

Result<std::vector<MessageQueueAssignment>> DecodeQueryAssignmentResponse(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "QueryAssignmentResponseBody"));
  std::vector<MessageQueueAssignment> out;
  auto list = j.find("messageQueueAssignments");
  if (list == j.end() || !list->is_array()) return out;
  for (const json& x : *list) {
    if (!x.is_object() || !x.contains("messageQueue") || !x["messageQueue"].is_object()) {
      return Status::InvalidArgument("messageQueueAssignments: bad entry");
    }
    MessageQueueAssignment m;
    const json& q = x["messageQueue"];
    m.message_queue.topic = StringOr(q, "topic");
    m.message_queue.broker_name = StringOr(q, "brokerName");
    m.message_queue.queue_id = static_cast<int32_t>(IntOr(q, "queueId", 0));
    m.mode = StringOr(x, "mode", "PULL");
    out.push_back(std::move(m));
  }
  return out;
}

Result<SetMessageRequestModeRequestBody> SetMessageRequestModeRequestBody::Decode(
    std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body, "SetMessageRequestModeRequestBody"));
  SetMessageRequestModeRequestBody b;
  b.topic = StringOr(j, "topic");
  b.consumer_group = StringOr(j, "consumerGroup");
  b.mode = StringOr(j, "mode", "PULL");
  b.pop_share_queue_num = static_cast<int32_t>(IntOr(j, "popShareQueueNum", 0));
  if (b.topic.empty() || b.consumer_group.empty()) {
    return Status::InvalidArgument("SetMessageRequestModeRequestBody needs topic, consumerGroup");
  }
  if (b.mode != "PULL" && b.mode != "POP") {
    return Status::InvalidArgument("mode must be PULL or POP, not " + b.mode);
  }
  return b;
}

std::string SetMessageRequestModeRequestBody::Encode() const {
  return json{{"topic", topic},
              {"consumerGroup", consumer_group},
              {"mode", mode},
              {"popShareQueueNum", pop_share_queue_num}}
      .dump();
}

std::vector<MessageQueue> AllocateAveragely(std::vector<MessageQueue> all,
                                            std::vector<std::string> cids,
                                            const std::string& client_id) {
  std::sort(all.begin(), all.end());
  std::sort(cids.begin(), cids.end());
  auto me = std::find(cids.begin(), cids.end(), client_id);
  std::vector<MessageQueue> out;
  if (me == cids.end() || all.empty()) return out;
  size_t n = all.size(), m = cids.size(), idx = static_cast<size_t>(me - cids.begin());
  size_t mod = n % m;
  size_t avg = n <= m ? 1 : (mod > 0 && idx < mod ? n / m + 1 : n / m);
  size_t start = (mod > 0 && idx < mod) ? idx * avg : idx * avg + mod;
  size_t range = start < n ? std::min(avg, n - start) : 0;
  for (size_t i = 0; i < range; ++i) out.push_back(all[(start + i) % n]);
  return out;
}

std::vector<MessageQueue> AllocateAveragelyByCircle(std::vector<MessageQueue> all,
                                                    std::vector<std::string> cids,
                                                    const std::string& client_id) {
  std::sort(all.begin(), all.end());
  std::sort(cids.begin(), cids.end());
  auto me = std::find(cids.begin(), cids.end(), client_id);
  std::vector<MessageQueue> out;
  if (me == cids.end()) return out;
  const size_t idx = static_cast<size_t>(me - cids.begin());
  for (size_t i = idx; i < all.size(); i += cids.size()) out.push_back(all[i]);
  return out;
}

}  // namespace ramjet::protocol
