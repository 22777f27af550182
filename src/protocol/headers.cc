#include "ramjet/protocol/headers.h"

#include <nlohmann/json.hpp>

#include "ramjet/base/clock.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::protocol {

namespace req = request_code;

namespace {
std::string Flag(bool b) { return b ? "true" : "false"; }
}  // namespace

// ---------------------------------------------------------------------------------------------
// Send

bool SendMessageRequestHeader::IsV2(int32_t code) {
  return code == req::kSendMessageV2 || code == req::kSendBatchMessage ||
         code == req::kSendReplyMessageV2;
}

Result<SendMessageRequestHeader> SendMessageRequestHeader::Decode(const RemotingCommand& r) {
  const bool v2 = IsV2(r.code);
  auto key = [v2](std::string_view shortk, std::string_view longk) { return v2 ? shortk : longk; };
  SendMessageRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.producer_group, r.GetGroup(key("a", "producerGroup")));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic(key("b", "topic")));
  h.default_topic = std::string(r.Find(key("c", "defaultTopic")).value_or("TBW102"));
  h.default_topic_queue_nums = r.GetInt32Or(key("d", "defaultTopicQueueNums"), 4);
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32(key("e", "queueId")));
  h.sys_flag = r.GetInt32Or(key("f", "sysFlag"), 0);
  h.born_timestamp = r.GetInt64Or(key("g", "bornTimestamp"), NowMillis());
  h.flag = r.GetInt32Or(key("h", "flag"), 0);
  h.properties = std::string(r.Find(key("i", "properties")).value_or(""));
  h.reconsume_times = r.GetInt32Or(key("j", "reconsumeTimes"), 0);
  h.unit_mode = r.GetBool(key("k", "unitMode"));
  h.max_reconsume_times = r.GetInt32Or(key("l", "maxReconsumeTimes"), -1);
  h.batch = r.GetBool(key("m", "batch")) || r.code == req::kSendBatchMessage;
  h.broker_name = std::string(r.Find(key("n", "bname")).value_or(""));
  return h;
}

void SendMessageRequestHeader::Encode(RemotingCommand* r) const {
  const bool v2 = IsV2(r->code);
  auto key = [v2](const char* shortk, const char* longk) {
    return std::string(v2 ? shortk : longk);
  };
  r->Set(key("a", "producerGroup"), producer_group);
  r->Set(key("b", "topic"), topic);
  r->Set(key("c", "defaultTopic"), default_topic);
  r->Set(key("d", "defaultTopicQueueNums"), int64_t{default_topic_queue_nums});
  r->Set(key("e", "queueId"), int64_t{queue_id});
  r->Set(key("f", "sysFlag"), int64_t{sys_flag});
  r->Set(key("g", "bornTimestamp"), born_timestamp);
  r->Set(key("h", "flag"), int64_t{flag});
  r->Set(key("i", "properties"), properties);
  r->Set(key("j", "reconsumeTimes"), int64_t{reconsume_times});
  r->Set(key("k", "unitMode"), Flag(unit_mode));
  if (max_reconsume_times >= 0) r->Set(key("l", "maxReconsumeTimes"), int64_t{max_reconsume_times});
  if (batch) r->Set(key("m", "batch"), Flag(true));
  if (!broker_name.empty()) r->Set(key("n", "bname"), broker_name);
}

Result<SendMessageResponseHeader> SendMessageResponseHeader::Decode(const RemotingCommand& r) {
  SendMessageResponseHeader h;
  RJ_ASSIGN_OR_RETURN(h.msg_id, r.GetString("msgId"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  RJ_ASSIGN_OR_RETURN(h.queue_offset, r.GetInt64("queueOffset"));
  h.transaction_id = std::string(r.Find("transactionId").value_or(""));
  h.recall_handle = std::string(r.Find("recallHandle").value_or(""));
  return h;
}

void SendMessageResponseHeader::Encode(RemotingCommand* r) const {
  r->ext_fields.reserve(r->ext_fields.size() + 5);
  r->Set("msgId", msg_id);
  r->Set("queueOffset", queue_offset);
  r->Set("queueId", int64_t{queue_id});
  if (!transaction_id.empty()) r->Set("transactionId", transaction_id);
  if (!recall_handle.empty()) r->Set("recallHandle", recall_handle);
}

// ---------------------------------------------------------------------------------------------
// Pull

Result<PullMessageRequestHeader> PullMessageRequestHeader::Decode(const RemotingCommand& r) {
  PullMessageRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  RJ_ASSIGN_OR_RETURN(h.queue_offset, r.GetInt64("queueOffset"));
  RJ_ASSIGN_OR_RETURN(h.max_msg_nums, r.GetInt32("maxMsgNums"));
  RJ_ASSIGN_OR_RETURN(h.sys_flag, r.GetInt32("sysFlag"));
  h.commit_offset = r.GetInt64Or("commitOffset", 0);
  h.suspend_timeout_millis = r.GetInt64Or("suspendTimeoutMillis", 15000);
  h.subscription = std::string(r.Find("subscription").value_or("*"));
  h.sub_version = r.GetInt64Or("subVersion", 0);
  h.expression_type = std::string(r.Find("expressionType").value_or("TAG"));
  if (h.expression_type.empty()) h.expression_type = "TAG";
  return h;
}

void PullMessageRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("consumerGroup", consumer_group);
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  r->Set("queueOffset", queue_offset);
  r->Set("maxMsgNums", int64_t{max_msg_nums});
  r->Set("sysFlag", int64_t{sys_flag});
  r->Set("commitOffset", commit_offset);
  r->Set("suspendTimeoutMillis", suspend_timeout_millis);
  r->Set("subscription", subscription);
  r->Set("subVersion", sub_version);
  r->Set("expressionType", expression_type);
}

Result<PullMessageResponseHeader> PullMessageResponseHeader::Decode(const RemotingCommand& r) {
  PullMessageResponseHeader h;
  RJ_ASSIGN_OR_RETURN(h.next_begin_offset, r.GetInt64("nextBeginOffset"));
  RJ_ASSIGN_OR_RETURN(h.min_offset, r.GetInt64("minOffset"));
  RJ_ASSIGN_OR_RETURN(h.max_offset, r.GetInt64("maxOffset"));
  h.suggest_which_broker_id = r.GetInt64Or("suggestWhichBrokerId", 0);
  return h;
}

void PullMessageResponseHeader::Encode(RemotingCommand* r) const {
  r->Set("nextBeginOffset", next_begin_offset);
  r->Set("minOffset", min_offset);
  r->Set("maxOffset", max_offset);
  r->Set("suggestWhichBrokerId", suggest_which_broker_id);
}

// ---------------------------------------------------------------------------------------------
// Send-back, transactions, offsets

Result<ConsumerSendMsgBackRequestHeader> ConsumerSendMsgBackRequestHeader::Decode(
    const RemotingCommand& r) {
  ConsumerSendMsgBackRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.offset, r.GetInt64("offset"));
  RJ_ASSIGN_OR_RETURN(h.group, r.GetGroup("group"));
  h.delay_level = r.GetInt32Or("delayLevel", 0);
  h.origin_msg_id = std::string(r.Find("originMsgId").value_or(""));
  h.origin_topic = std::string(r.Find("originTopic").value_or(""));
  h.unit_mode = r.GetBool("unitMode");
  // maxReconsumeTimes exists from V3_4_9 (ordinal 121): older clients' values are ignored.
  if (r.version >= 121) {
    if (auto v = r.GetInt32("maxReconsumeTimes"); v.ok()) h.max_reconsume_times = *v;
  }
  return h;
}

void ConsumerSendMsgBackRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("offset", offset);
  r->Set("group", group);
  r->Set("delayLevel", int64_t{delay_level});
  if (!origin_msg_id.empty()) r->Set("originMsgId", origin_msg_id);
  if (!origin_topic.empty()) r->Set("originTopic", origin_topic);
  r->Set("unitMode", Flag(unit_mode));
  if (max_reconsume_times) r->Set("maxReconsumeTimes", int64_t{*max_reconsume_times});
}

Result<EndTransactionRequestHeader> EndTransactionRequestHeader::Decode(const RemotingCommand& r) {
  EndTransactionRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.producer_group, r.GetGroup("producerGroup"));
  RJ_ASSIGN_OR_RETURN(h.tran_state_table_offset, r.GetInt64("tranStateTableOffset"));
  RJ_ASSIGN_OR_RETURN(h.commit_log_offset, r.GetInt64("commitLogOffset"));
  RJ_ASSIGN_OR_RETURN(h.commit_or_rollback, r.GetInt32("commitOrRollback"));
  h.from_transaction_check = r.GetBool("fromTransactionCheck");
  h.msg_id = std::string(r.Find("msgId").value_or(""));
  h.transaction_id = std::string(r.Find("transactionId").value_or(""));
  return h;
}

void EndTransactionRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("producerGroup", producer_group);
  r->Set("tranStateTableOffset", tran_state_table_offset);
  r->Set("commitLogOffset", commit_log_offset);
  r->Set("commitOrRollback", int64_t{commit_or_rollback});
  r->Set("fromTransactionCheck", Flag(from_transaction_check));
  r->Set("msgId", msg_id);
  if (!transaction_id.empty()) r->Set("transactionId", transaction_id);
}

Result<QueryConsumerOffsetRequestHeader> QueryConsumerOffsetRequestHeader::Decode(
    const RemotingCommand& r) {
  QueryConsumerOffsetRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  if (r.Find("setZeroIfNotFound")) h.set_zero_if_not_found = r.GetBool("setZeroIfNotFound");
  return h;
}

void QueryConsumerOffsetRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("consumerGroup", consumer_group);
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  if (set_zero_if_not_found) r->Set("setZeroIfNotFound", Flag(*set_zero_if_not_found));
}

Result<UpdateConsumerOffsetRequestHeader> UpdateConsumerOffsetRequestHeader::Decode(
    const RemotingCommand& r) {
  UpdateConsumerOffsetRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.consumer_group, r.GetGroup("consumerGroup"));
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  RJ_ASSIGN_OR_RETURN(h.commit_offset, r.GetInt64("commitOffset"));
  return h;
}

void UpdateConsumerOffsetRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("consumerGroup", consumer_group);
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  r->Set("commitOffset", commit_offset);
}

Result<QueueRequestHeader> QueueRequestHeader::Decode(const RemotingCommand& r) {
  QueueRequestHeader h;
  RJ_ASSIGN_OR_RETURN(h.topic, r.GetTopic("topic"));
  RJ_ASSIGN_OR_RETURN(h.queue_id, r.GetInt32("queueId"));
  if (r.code == req::kSearchOffsetByTimestamp) {
    RJ_ASSIGN_OR_RETURN(h.timestamp, r.GetInt64("timestamp"));
  }
  return h;
}

void QueueRequestHeader::Encode(RemotingCommand* r) const {
  r->Set("topic", topic);
  r->Set("queueId", int64_t{queue_id});
  if (timestamp) r->Set("timestamp", *timestamp);
}

// ---------------------------------------------------------------------------------------------
// Queue locks

namespace {
nlohmann::json MqSetJson(const std::vector<MessageQueue>& mqs) {
  nlohmann::json set = nlohmann::json::array();
  for (const auto& mq : mqs) {
    set.push_back({{"brokerName", mq.broker_name}, {"queueId", mq.queue_id}, {"topic", mq.topic}});
  }
  return set;
}

Result<std::vector<MessageQueue>> ParseMqSet(const nlohmann::json& j, const char* key) {
  std::vector<MessageQueue> out;
  auto set = j.find(key);
  if (set == j.end() || !set->is_array()) return out;
  for (const auto& m : *set) {
    if (!m.is_object())
      return Status::InvalidArgument(std::string(key) + " entry is not an object");
    auto t = m.find("topic");
    auto bn = m.find("brokerName");
    auto q = m.find("queueId");
    if (t == m.end() || !t->is_string() || q == m.end() || !q->is_number_integer()) {
      return Status::InvalidArgument(std::string(key) + " entry needs topic and queueId");
    }
    MessageQueue mq;
    mq.topic = t->get<std::string>();
    mq.broker_name = bn != m.end() && bn->is_string() ? bn->get<std::string>() : "";
    mq.queue_id = static_cast<int32_t>(q->get<int64_t>());
    out.push_back(std::move(mq));
  }
  return out;
}
}  // namespace

Result<LockBatchRequestBody> LockBatchRequestBody::Decode(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("lock body is not a JSON object");
  }
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  LockBatchRequestBody b;
  b.consumer_group = str("consumerGroup");
  b.client_id = str("clientId");
  if (b.consumer_group.empty() || b.client_id.empty()) {
    return Status::InvalidArgument("lock body needs consumerGroup and clientId");
  }
  RJ_ASSIGN_OR_RETURN(b.mq_set, ParseMqSet(j, "mqSet"));
  return b;
}

std::string LockBatchRequestBody::Encode() const {
  return nlohmann::json{
      {"clientId", client_id}, {"consumerGroup", consumer_group}, {"mqSet", MqSetJson(mq_set)}}
      .dump();
}

Result<LockBatchResponseBody> LockBatchResponseBody::Decode(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("lock response body is not a JSON object");
  }
  LockBatchResponseBody b;
  RJ_ASSIGN_OR_RETURN(b.lock_ok_mq_set, ParseMqSet(j, "lockOKMQSet"));
  return b;
}

std::string LockBatchResponseBody::Encode() const {
  return nlohmann::json{{"lockOKMQSet", MqSetJson(lock_ok_mq_set)}}.dump();
}

Result<CheckClientRequestBody> CheckClientRequestBody::Decode(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("CHECK_CLIENT_CONFIG body is not a JSON object");
  }
  CheckClientRequestBody b;
  auto sd = j.find("subscriptionData");
  if (sd == j.end() || !sd->is_object()) return b;
  SubscriptionData sub;
  auto et = sd->find("expressionType");
  sub.expression_type = et != sd->end() && et->is_string() ? et->get<std::string>() : "TAG";
  auto ss = sd->find("subString");
  sub.sub_string = ss != sd->end() && ss->is_string() ? ss->get<std::string>() : "*";
  b.subscription = std::move(sub);
  return b;
}

}  // namespace ramjet::protocol
