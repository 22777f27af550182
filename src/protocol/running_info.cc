#include "ramjet/protocol/running_info.h"

#include <nlohmann/json.hpp>
#include <set>

namespace ramjet::protocol {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ProcessQueueJson(const QueueRunningInfo& q) {
  return Dump(json{{"cachedMsgCount", q.cached_msg_count},
                   {"cachedMsgMaxOffset", q.cached_msg_max_offset},
                   {"cachedMsgMinOffset", q.cached_msg_min_offset},
                   {"cachedMsgSizeInMiB", q.cached_bytes / (1024 * 1024)},
                   {"commitOffset", q.commit_offset},
                   {"droped", q.dropped},
                   {"lastLockTimestamp", q.last_lock_timestamp},
                   {"locked", q.locked},
                   {"tryUnlockTimes", 0}});
}

}  // namespace

std::string ConsumerRunningInfo::Encode() const {
  std::string mq_table = "{";
  std::set<std::string> topics;
  for (size_t i = 0; i < queues.size(); ++i) {
    const QueueRunningInfo& q = queues[i];
    topics.insert(q.mq.topic);
    if (i) mq_table.push_back(',');
    mq_table += q.mq.ToJson();
    mq_table.push_back(':');
    mq_table += ProcessQueueJson(q);
  }
  mq_table.push_back('}');
  std::string subs = "[";
  for (size_t i = 0; i < subscriptions.size(); ++i) {
    if (i) subs.push_back(',');
    subs += SubscriptionDataJson(subscriptions[i]);
  }
  subs.push_back(']');
  json status = json::object();
  for (const auto& t : topics) status[t] = json::object();
  return R"({"mqTable":)" + mq_table + R"(,"properties":)" + Dump(json(properties)) +
         R"(,"statusTable":)" + Dump(status) + R"(,"subscriptionSet":)" + subs + "}";
}

std::string ConsumeMessageDirectlyResult::Encode() const {
  return Dump(json{{"autoCommit", auto_commit},
                   {"consumeResult", consume_result},
                   {"order", order},
                   {"remark", remark},
                   {"spentTimeMills", spent_time_mills}});
}

}  // namespace ramjet::protocol
