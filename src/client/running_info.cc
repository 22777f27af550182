#include "running_info.h"

#include <nlohmann/json.hpp>

#include "ramjet/protocol/admin_bodies.h"

namespace ramjet::client {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json SubscriptionJson(const protocol::SubscriptionData& s) {
  return json::parse(protocol::SubscriptionDataJson(s));
}

}  // namespace

std::string ConsumerRunningInfoJson(const ConsumerRunningInput& in) {
  std::string mq_table = "{";
  std::set<std::string> topics;
  for (size_t i = 0; i < in.queues.size(); ++i) {
    const QueueRunningInfo& q = in.queues[i];
    topics.insert(q.mq.topic);
    if (i) mq_table.push_back(',');
    mq_table += protocol::MessageQueue{q.mq.topic, q.mq.broker_name, q.mq.queue_id}.ToJson();
    mq_table.push_back(':');
    mq_table += Dump(json{{"cachedMsgCount", q.cached_msg_count},
                          {"cachedMsgMaxOffset", q.cached_msg_max_offset},
                          {"cachedMsgMinOffset", q.cached_msg_min_offset},
                          {"cachedMsgSizeInMiB", q.cached_bytes / (1024 * 1024)},
                          {"commitOffset", q.commit_offset},
                          {"droped", q.dropped},
                          {"lastLockTimestamp", q.last_lock_timestamp},
                          {"locked", q.locked},
                          {"tryUnlockTimes", 0}});
  }
  mq_table.push_back('}');
  json subs = json::array();
  for (const auto& s : in.subscriptions) subs.push_back(SubscriptionJson(s));
  // Per-topic consume statistics are not sampled by this client: the table names the topics it
  // consumes, with no rates.
  json status = json::object();
  for (const auto& t : topics) status[t] = json::object();
  return R"({"mqTable":)" + mq_table + R"(,"properties":)" + Dump(json(in.properties)) +
         R"(,"statusTable":)" + Dump(status) + R"(,"subscriptionSet":)" + Dump(subs) + "}";
}

std::string ConsumeMessageDirectlyResultJson(bool order, const std::string& consume_result,
                                             const std::string& remark, int64_t spent_ms) {
  return Dump(json{{"autoCommit", true},
                   {"consumeResult", consume_result},
                   {"order", order},
                   {"remark", remark},
                   {"spentTimeMills", spent_ms}});
}

}  // namespace ramjet::client
