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
constexpr size_t kMaxResend = 100;  // one request's sends stay well within a worker's time

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

Status Api::CheckStoredInCluster(const std::string& offset_msg_id) const {
  if (!IsOffsetMessageId(offset_msg_id)) {
    return Status::InvalidArgument("not an offset message id: " + offset_msg_id);
  }
  // The id names the broker to ask: only brokers of this cluster, so that an id cannot make the
  // dashboard connect to any other host.
  const std::string addr = message::DecodeOffsetMessageId(offset_msg_id)->first.ToString();
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  if (BrokerNameOf(info, addr).empty()) {
    return Status::NotFound("message " + offset_msg_id + " names " + addr +
                            ", which is not a broker of this cluster");
  }
  return Status::OK();
}

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
    RJ_RETURN_IF_ERROR(CheckStoredInCluster(id));
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
  RJ_RETURN_IF_ERROR(CheckStoredInCluster(id));
  RJ_ASSIGN_OR_RETURN(std::string group, StringField(c.body, "group", true));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(std::string client_id, StringField(c.body, "clientId", false));
  RJ_ASSIGN_OR_RETURN(auto r, admin_->ConsumeMessageDirectly(group, client_id, id));
  return ApiReply(
      Json{{"result", r.consume_result}, {"remark", r.remark}, {"spentTimeMillis", r.spent_ms}});
}

Result<admin::TimeRangeMessages> Api::DlqMessages(const ApiCall& c, int64_t default_max) const {
  const std::string group = c.Param("group");
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  RJ_ASSIGN_OR_RETURN(int64_t begin, IntParam(c.Param("begin"), "begin", 0, 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t end, IntParam(c.Param("end"), "end", NowMillis(), 0, INT64_MAX));
  RJ_ASSIGN_OR_RETURN(int64_t max, IntParam(c.Param("max"), "max", default_max, 1, kMaxResults));
  auto found = admin_->QueryByTime(std::string(protocol::kDlqGroupTopicPrefix) + group, begin, end,
                                   static_cast<int>(max));
  if (!found.ok()) {
    // No route: the group never had a dead letter.
    if (found.status().code() == StatusCode::kNotFound) return admin::TimeRangeMessages{};
    return found.status();
  }
  return found;
}

Result<ApiReply> Api::Dlq(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(auto found, DlqMessages(c, 200));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json rows = Json::array();
  for (const auto& m : found.messages) {
    rows.push_back(SummaryOf(m, BrokerNameOf(info, m.store_host)));
  }
  const std::string group = c.Param("group");
  return ApiReply(Json{{"group", group},
                       {"topic", std::string(protocol::kDlqGroupTopicPrefix) + group},
                       {"messages", rows},
                       {"truncated", found.truncated}});
}

Result<ApiReply> Api::DlqExport(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(auto found, DlqMessages(c, kMaxResults));
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json rows = Json::array();
  for (const auto& m : found.messages) {
    rows.push_back(DetailOf(m, BrokerNameOf(info, m.store_host)));
  }
  const std::string topic = std::string(protocol::kDlqGroupTopicPrefix) + c.Param("group");
  return ApiReply(Json{{"group", c.Param("group")},
                       {"topic", topic},
                       {"truncated", found.truncated},
                       {"messages", rows}},
                  topic + ".json");
}

Result<ApiReply> Api::DlqResend(const ApiCall& c) const {
  RJ_ASSIGN_OR_RETURN(std::string group, StringField(c.body, "group", true));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  auto ids = c.body.find("msgIds");
  if (ids == c.body.end() || !ids->is_array() || ids->empty() || ids->size() > kMaxResend) {
    return Status::InvalidArgument("msgIds must be a list of 1 to 100 offset message ids");
  }
  const std::string dlq = std::string(protocol::kDlqGroupTopicPrefix) + group;
  Json results = Json::array();
  for (const auto& v : *ids) {
    const std::string id = v.is_string() ? v.get<std::string>() : "";
    Json row = {{"msgId", id}, {"ok", false}};
    Status stored = CheckStoredInCluster(id);
    auto m = stored.ok() ? admin_->ViewMessageByOffsetId(id) : Result<client::MessageExt>(stored);
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
