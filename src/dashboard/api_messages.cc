// Messages and DLQ pages: searches by topic and time, by key and by id; a message's detail and
// trace; direct consumption; dead letters browsed, exported and sent back to their group.
#include "api.h"
#include "json_views.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/names.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/system_topics.h"

namespace ramjet::dashboard {

namespace {

constexpr int64_t kMaxResults = 1000;

// store host "ip:port" -> broker name, from the cluster table ("" when not found).
std::string BrokerNameOf(const protocol::ClusterInfo& info, const std::string& store_host) {
  for (const auto& [name, data] : info.broker_addr_table) {
    for (const auto& [id, addr] : data.broker_addrs) {
      if (addr == store_host) return name;
    }
  }
  return "";
}

bool IsOffsetMessageId(const std::string& id) {
  return (id.size() == 32 || id.size() == 56) && message::DecodeOffsetMessageId(id).ok();
}

}  // namespace

Result<ApiReply> Api::Messages(const ApiCall& c) const {
  const std::string topic = c.Param("topic");
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
  const int64_t now = NowMillis();
  RJ_ASSIGN_OR_RETURN(int64_t begin,
                      IntParam(c.Param("begin"), "begin", now - 3600 * 1000, 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t end, IntParam(c.Param("end"), "end", now, 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t max, IntParam(c.Param("max"), "max", 64, 1, kMaxResults));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json rows = Json::array();
  bool truncated = false;
  if (const std::string key = c.Param("key"); !key.empty()) {
    auto found = admin_->QueryByKey(topic, key, false, 64);
    if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
    if (found.ok()) {
      for (const auto& m : *found) rows.push_back(SummaryOf(m, BrokerNameOf(info, m.store_host)));
    }
  } else {
    RJ_ASSIGN_OR_RETURN(auto found, admin_->QueryByTime(topic, begin, end, static_cast<int>(max)));
    for (const auto& m : found.messages) {
      rows.push_back(SummaryOf(m, BrokerNameOf(info, m.store_host)));
    }
    truncated = found.truncated;
  }
  return ApiReply(Json{{"messages", rows}, {"truncated", truncated}});
}

Result<ApiReply> Api::MessageDetail(const ApiCall& c) const {
  const std::string& id = c.args[0];
  client::MessageExt m;
  if (IsOffsetMessageId(id)) {
    RJ_ASSIGN_OR_RETURN(m, admin_->ViewMessageByOffsetId(id));
  } else {
    const std::string topic = c.Param("topic");
    if (topic.empty()) {
      return Status::InvalidArgument("a message id that is not an offset id needs its topic");
    }
    RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));
    RJ_ASSIGN_OR_RETURN(auto found, admin_->QueryByKey(topic, id, true, 32));
    m = std::move(found.front());
  }
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json trace = Json::array();
  if (auto records = admin_->QueryMsgTrace(m.msg_id, trace_topic_); records.ok()) {
    for (const auto& t : *records) trace.push_back(TraceOf(t));
  }
  return ApiReply(
      Json{{"message", DetailOf(m, BrokerNameOf(info, m.store_host))}, {"trace", trace}});
}

Result<ApiReply> Api::Trace(const ApiCall& c) const {
  Json trace = Json::array();
  auto records = admin_->QueryMsgTrace(c.args[0], trace_topic_);
  if (!records.ok() && records.status().code() != StatusCode::kNotFound) return records.status();
  if (records.ok()) {
    for (const auto& t : *records) trace.push_back(TraceOf(t));
  }
  return ApiReply(Json{{"trace", trace}});
}

Result<ApiReply> Api::ResendMessage(const ApiCall& c) const {
  const std::string& id = c.args[0];
  if (!IsOffsetMessageId(id)) return Status::InvalidArgument("not an offset message id: " + id);
  RJ_ASSIGN_OR_RETURN(std::string group, StringField(c.body, "group", true));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(std::string client_id, StringField(c.body, "clientId", false));
  RJ_ASSIGN_OR_RETURN(auto r, admin_->ConsumeMessageDirectly(group, client_id, id));
  return ApiReply(
      Json{{"result", r.consume_result}, {"remark", r.remark}, {"spentTimeMillis", r.spent_ms}});
}

Result<std::vector<client::MessageExt>> Api::DlqMessages(const ApiCall& c) const {
  const std::string group = c.Param("group");
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(int64_t begin, IntParam(c.Param("begin"), "begin", 0, 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t end, IntParam(c.Param("end"), "end", NowMillis(), 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t max, IntParam(c.Param("max"), "max", 200, 1, kMaxResults));
  auto found = admin_->QueryByTime(std::string(protocol::kDlqGroupTopicPrefix) + group, begin, end,
                                   static_cast<int>(max));
  if (!found.ok()) {
    // No route: the group never had a dead letter.
    if (found.status().code() == StatusCode::kNotFound) return std::vector<client::MessageExt>{};
    return found.status();
  }
  return std::move(found->messages);
}

Result<ApiReply> Api::Dlq(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(auto messages, DlqMessages(c));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json rows = Json::array();
  for (const auto& m : messages) rows.push_back(SummaryOf(m, BrokerNameOf(info, m.store_host)));
  const std::string group = c.Param("group");
  return ApiReply(Json{{"group", group},
                       {"topic", std::string(protocol::kDlqGroupTopicPrefix) + group},
                       {"messages", rows}});
}

Result<ApiReply> Api::DlqExport(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(auto messages, DlqMessages(c));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json rows = Json::array();
  for (const auto& m : messages) rows.push_back(DetailOf(m, BrokerNameOf(info, m.store_host)));
  return ApiReply(rows, std::string(protocol::kDlqGroupTopicPrefix) + c.Param("group") + ".json");
}

Result<ApiReply> Api::DlqResend(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(std::string group, StringField(c.body, "group", true));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  auto ids = c.body.find("msgIds");
  if (ids == c.body.end() || !ids->is_array() || ids->empty() || ids->size() > kMaxResults) {
    return Status::InvalidArgument("msgIds must be a list of 1 to 1000 offset message ids");
  }
  const std::string dlq = std::string(protocol::kDlqGroupTopicPrefix) + group;
  Json results = Json::array();
  for (const auto& v : *ids) {
    const std::string id = v.is_string() ? v.get<std::string>() : "";
    Json row = {{"msgId", id}, {"ok", false}};
    auto m = IsOffsetMessageId(id)
                 ? admin_->ViewMessageByOffsetId(id)
                 : Result<client::MessageExt>(Status::InvalidArgument("not an offset message id"));
    if (m.ok() && m->topic != dlq) m = Status::InvalidArgument("not a message of " + dlq);
    if (!m.ok()) {
      row["error"] = std::string(m.status().message());
      results.push_back(std::move(row));
      continue;
    }
    auto sent = admin_->ResendToRetry(group, *m);
    if (sent.ok()) {
      row["ok"] = true;
      row["newMsgId"] = *sent;
    } else {
      row["error"] = std::string(sent.status().message());
    }
    results.push_back(std::move(row));
  }
  return ApiReply(Json{{"results", results}});
}

}  // namespace ramjet::dashboard
