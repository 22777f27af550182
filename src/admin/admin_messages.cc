// Message and configuration views of the admin library that the dashboard needs beyond the CLI:
// whole topic and group tables of a broker, pulls of a range, searches by time, direct
// consumption and resending a dead letter to its group.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "admin_impl.h"
#include "ramjet/base/clock.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/config_files.h"
#include "ramjet/protocol/headers.h"

namespace ramjet::admin {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace {

constexpr int kMaxPull = 32;
constexpr int kMaxTimeRange = 1000;
constexpr int kDirectConsumeTimeoutMs = 15000;

// Properties a message gets anew when it is sent back (the store, the retry path and the
// dead-letter path set them; a copy must not carry the old values).
constexpr std::string_view kResetOnResend[] = {"REAL_TOPIC",
                                               "REAL_QID",
                                               "MIN_OFFSET",
                                               "MAX_OFFSET",
                                               "CONSUME_START_TIME",
                                               "DELAY",
                                               "WAIT",
                                               "TRAN_MSG",
                                               "PGROUP",
                                               "TIMER_DELIVER_MS",
                                               "TIMER_DELAY_MS",
                                               "TIMER_DELAY_SEC",
                                               "TIMER_OUT_MS",
                                               "POP_CK",
                                               "DLQ_ORIGIN_TOPIC",
                                               "DLQ_ORIGIN_MESSAGE_ID",
                                               "RETRY_TOPIC"};

}  // namespace

Result<std::map<std::string, protocol::TopicConfig>> Admin::TopicConfigs(const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetAllTopicConfig, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_ALL_TOPIC_CONFIG on " + addr));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::TopicConfigSerializeWrapper::Parse(r.body));
  return w.topic_config_table;
}

Result<std::map<std::string, protocol::SubscriptionGroupConfigBody>> Admin::SubscriptionGroups(
    const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetAllSubscriptionGroupConfig, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG on " + addr));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::SubscriptionGroupWrapper::Decode(r.body));
  return w.subscription_group_table;
}

Result<std::map<std::string, std::map<int32_t, int64_t>>> Admin::ConsumerOffsets(
    const std::string& addr) {
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr, req::kGetAllConsumerOffset, {}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_ALL_CONSUMER_OFFSET on " + addr));
  RJ_ASSIGN_OR_RETURN(auto w, protocol::ConsumerOffsetWrapper::Decode(r.body));
  return w.offset_table;
}

Result<int64_t> Admin::MaxOffset(const std::string& addr, const std::string& topic,
                                 int32_t queue_id) {
  RJ_ASSIGN_OR_RETURN(auto r,
                      impl_->Call(addr, req::kGetMaxOffset,
                                  {{"topic", topic}, {"queueId", std::to_string(queue_id)}}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "GET_MAX_OFFSET on " + addr));
  return r.GetInt64Or("offset", 0);
}

Result<Admin::Impl::PullBatch> Admin::Impl::Pull(const std::string& addr, const std::string& topic,
                                                 int32_t queue_id, int64_t offset, int max_num) {
  RJ_ASSIGN_OR_RETURN(auto r,
                      Call(addr, req::kPullMessage,
                           {{"consumerGroup", "TOOLS_CONSUMER"},
                            {"topic", topic},
                            {"queueId", std::to_string(queue_id)},
                            {"queueOffset", std::to_string(offset)},
                            {"maxMsgNums", std::to_string(std::clamp(max_num, 1, kMaxPull))},
                            {"sysFlag", "4"},
                            {"commitOffset", "0"},
                            {"suspendTimeoutMillis", "0"},
                            {"subscription", "*"},
                            {"subVersion", "0"}}));
  PullBatch out;
  out.next = r.GetInt64Or("nextBeginOffset", offset);
  out.code = r.code;
  if (r.code != rc::kSuccess) {
    out.refused = r.remark.value_or("");
    return out;
  }
  RJ_ASSIGN_OR_RETURN(out.messages, client::DecodeMessages(r.body));
  return out;
}

Result<std::vector<client::MessageExt>> Admin::PullMessages(const client::MessageQueue& mq,
                                                            int64_t offset, int max_num) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(mq.topic));
  auto masters = Masters(route);
  auto addr = masters.find(mq.broker_name);
  if (addr == masters.end()) return Status::NotFound("no master for broker " + mq.broker_name);
  RJ_ASSIGN_OR_RETURN(auto batch,
                      impl_->Pull(addr->second, mq.topic, mq.queue_id, offset, max_num));
  return std::move(batch.messages);
}

Result<client::MessageExt> Admin::MessageAtOffset(const client::MessageQueue& mq, int64_t offset) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(mq.topic));
  auto masters = Masters(route);
  auto addr = masters.find(mq.broker_name);
  if (addr == masters.end()) return Status::NotFound("no master for broker " + mq.broker_name);
  RJ_ASSIGN_OR_RETURN(auto batch, impl_->Pull(addr->second, mq.topic, mq.queue_id, offset, 1));
  const bool no_message = batch.code == rc::kPullNotFound || batch.code == rc::kPullOffsetMoved ||
                          batch.code == rc::kPullRetryImmediately;
  if (batch.refused && !no_message) {  // e.g. NO_PERMISSION: an error, not an empty queue
    return Status::PermissionDenied("PULL_MESSAGE on " + addr->second + " refused: code " +
                                    std::to_string(batch.code) + " " + *batch.refused);
  }
  if (batch.refused) {
    return Status::NotFound("no message at offset " + std::to_string(offset) + " of " +
                            mq.ToString() + " (" + *batch.refused + ")");
  }
  if (batch.messages.empty()) {
    return Status::NotFound("no message at offset " + std::to_string(offset));
  }
  return std::move(batch.messages[0]);
}

Result<int64_t> Admin::SearchOffset(const client::MessageQueue& mq, int64_t timestamp_ms) {
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(mq.topic));
  auto masters = Masters(route);
  auto addr = masters.find(mq.broker_name);
  if (addr == masters.end()) return Status::NotFound("no master for broker " + mq.broker_name);
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(addr->second, req::kSearchOffsetByTimestamp,
                                          {{"topic", mq.topic},
                                           {"queueId", std::to_string(mq.queue_id)},
                                           {"timestamp", std::to_string(timestamp_ms)}}));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "SEARCH_OFFSET_BY_TIMESTAMP on " + addr->second));
  return r.GetInt64Or("offset", 0);
}

Result<TimeRangeMessages> Admin::QueryByTime(const std::string& topic, int64_t begin_ms,
                                             int64_t end_ms, int max_num) {
  if (end_ms < begin_ms) return Status::InvalidArgument("the end of the range is before its begin");
  max_num = std::clamp(max_num, 1, kMaxTimeRange);
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(topic));
  const auto masters = Masters(route);
  RJ_ASSIGN_OR_RETURN(auto queues, TopicStatus(topic));
  TimeRangeMessages out;
  for (const auto& q : queues) {
    if (q.max_offset <= q.min_offset) continue;
    auto master = masters.find(q.queue.broker_name);
    if (master == masters.end()) continue;  // the route changed between the two reads
    const std::string& addr = master->second;
    RJ_ASSIGN_OR_RETURN(int64_t from, SearchOffset(q.queue, begin_ms));
    from = std::max(from, q.min_offset);
    // Offsets at and after the search for end_ms + 1 were stored later (one more is read in
    // case the search answered the last message before the time instead).
    int64_t to = q.max_offset;
    if (end_ms < INT64_MAX) {
      if (auto end = SearchOffset(q.queue, end_ms + 1); end.ok()) to = std::min(to, *end + 1);
    }
    // Only the newest max_num of a queue can be among the newest max_num of the topic; what is
    // skipped below `to - window` lies in the range.
    const int64_t window = max_num + 1;
    if (to - from > window) {
      out.truncated = true;
      from = to - window;
    }
    for (int64_t at = from; at < to;) {
      RJ_ASSIGN_OR_RETURN(auto batch, impl_->Pull(addr, topic, q.queue.queue_id, at, kMaxPull));
      int64_t next = batch.next;
      for (auto& m : batch.messages) {
        next = std::max(next, m.queue_offset + 1);
        if (m.store_timestamp >= begin_ms && m.store_timestamp <= end_ms) {
          out.messages.push_back(std::move(m));
        }
      }
      if (next <= at) break;  // the queue does not go on: never loop
      at = next;
    }
  }
  std::stable_sort(out.messages.begin(), out.messages.end(), [](const auto& a, const auto& b) {
    return a.store_timestamp < b.store_timestamp;
  });
  if (out.messages.size() > static_cast<size_t>(max_num)) {
    out.truncated = true;
    out.messages.erase(out.messages.begin(), out.messages.end() - max_num);
  }
  return out;
}

Result<DirectConsumeResult> Admin::ConsumeMessageDirectly(const std::string& group,
                                                          const std::string& client_id,
                                                          const std::string& offset_msg_id) {
  RJ_ASSIGN_OR_RETURN(auto id, message::DecodeOffsetMessageId(offset_msg_id));
  RJ_ASSIGN_OR_RETURN(auto msg, ViewMessageByOffsetId(offset_msg_id));
  std::string target = client_id;
  if (target.empty()) {
    RJ_ASSIGN_OR_RETURN(auto conn, ConsumerConnection(group));
    if (conn.connections.empty()) {
      return Status::NotFound("the consumer group[" + group + "] has no live client");
    }
    target = conn.connections.front().at("clientId");
  }
  // The broker waits up to 10 s for the client: wait longer than that.
  RJ_ASSIGN_OR_RETURN(auto r, impl_->Call(id.first.ToString(), req::kConsumeMessageDirectly,
                                          {{"consumerGroup", group},
                                           {"clientId", target},
                                           {"msgId", offset_msg_id},
                                           {"topic", msg.topic}},
                                          {}, kDirectConsumeTimeoutMs));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "CONSUME_MESSAGE_DIRECTLY to " + target));
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return Status::Corruption("CONSUME_MESSAGE_DIRECTLY: the answer is not JSON");
  DirectConsumeResult out;
  if (auto it = j.find("consumeResult"); it != j.end() && it->is_string()) {
    out.consume_result = it->get<std::string>();
  }
  if (auto it = j.find("remark"); it != j.end() && it->is_string())
    out.remark = it->get<std::string>();
  if (auto it = j.find("spentTimeMills"); it != j.end() && it->is_number()) {
    out.spent_ms = it->get<int64_t>();
  }
  return out;
}

Result<std::string> Admin::ResendToRetry(const std::string& group, const client::MessageExt& m) {
  const std::string retry_topic = "%RETRY%" + group;
  RJ_ASSIGN_OR_RETURN(auto route, TopicRoute(retry_topic));
  auto masters = Masters(route);
  if (masters.empty()) return Status::NotFound("no master serves " + retry_topic);
  std::vector<std::pair<std::string, std::string>> props;
  for (const auto& [k, v] : m.properties) {
    if (std::find(std::begin(kResetOnResend), std::end(kResetOnResend), k) ==
        std::end(kResetOnResend)) {
      props.emplace_back(k, v);
    }
  }
  // RETRY_TOPIC names the topic the consumer sees the message under; a message without one
  // (never sent back by a consumer) goes without, as the broker's send-back would not invent it.
  if (std::string origin = m.Property("RETRY_TOPIC"); !origin.empty()) {
    props.emplace_back("RETRY_TOPIC", origin);
  }
  protocol::SendMessageRequestHeader h;
  h.producer_group = "RAMJET_DASHBOARD";
  h.topic = retry_topic;
  h.queue_id = 0;
  h.sys_flag = m.sys_flag & message::kSysFlagMultiTags;  // the body is sent decompressed
  h.born_timestamp = NowMillis();
  h.flag = m.flag;
  h.properties = message::BuildProperties(props);
  h.reconsume_times = 0;
  RemotingCommand cmd = RemotingCommand::Request(req::kSendMessage);
  h.Encode(&cmd);
  cmd.body = m.body;
  RJ_ASSIGN_OR_RETURN(auto r, impl_->client_->InvokeSync(masters.begin()->second, std::move(cmd),
                                                         impl_->timeout_ms_));
  RJ_RETURN_IF_ERROR(Impl::Expect(r, "SEND_MESSAGE to " + retry_topic));
  return r.GetString("offsetMsgId").value_or(r.GetString("msgId").value_or(""));
}

}  // namespace ramjet::admin
