#include "ramjet/protocol/system_topics.h"

namespace ramjet::protocol {

bool IsSendForbiddenTopic(std::string_view topic) {
  return topic == kScheduleTopic || topic == kTransHalfTopic || topic == kTransOpHalfTopic ||
         topic == kTransCheckMaxTimeTopic || topic == kSelfTestTopic ||
         topic == kOffsetMovedEvent || topic == "rmq_sys_wheel_timer" ||
         topic == "rmq_sys_timer_op";
}

bool IsSystemTopic(std::string_view topic, std::string_view cluster_name,
                   std::string_view broker_name) {
  static constexpr std::string_view kSystem[] = {
      kAutoCreateTopicKey, kScheduleTopic,        kSelfTestTopic,          kOffsetMovedEvent,
      kTransHalfTopic,     kTransOpHalfTopic,     kTransCheckMaxTimeTopic, kTraceTopic,
      kBenchmarkTopic,     "rmq_sys_wheel_timer", "rmq_sys_timer_op",
  };
  for (std::string_view t : kSystem) {
    if (topic == t) return true;
  }
  if (topic.starts_with("rmq_sys_") || topic.starts_with("RMQ_SYS_")) return true;
  if (topic == cluster_name || topic == broker_name) return true;
  return topic.size() == cluster_name.size() + 12 && topic.starts_with(cluster_name) &&
         topic.ends_with("_REPLY_TOPIC");
}

bool IsSystemGroup(std::string_view group) {
  static constexpr std::string_view kSystem[] = {
      "TOOLS_CONSUMER",     "FILTERSRV_CONSUMER",    "__MONITOR_CONSUMER", "SELF_TEST_C_GROUP",
      "CID_ONS-HTTP-PROXY", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER",   "CID_ONSAPI_PULL",
      "CID_SYS_RMQ_TRANS",  "RAMJET_DASHBOARD"};
  for (std::string_view g : kSystem) {
    if (group == g) return true;
  }
  return group.starts_with("CID_RMQ_SYS_");
}

}  // namespace ramjet::protocol
