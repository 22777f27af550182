// The topics the broker owns (RocketMQ's TopicValidator): their names, the ones producers may not
// send to, and the ones clients may not create, reconfigure or delete. Thread-safe (pure).
#pragma once

#include <string_view>

namespace ramjet::protocol {

inline constexpr const char* kAutoCreateTopicKey = "TBW102";
inline constexpr const char* kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
inline constexpr const char* kSelfTestTopic = "SELF_TEST_TOPIC";
inline constexpr const char* kOffsetMovedEvent = "OFFSET_MOVED_EVENT";
inline constexpr const char* kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr const char* kTransOpHalfTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
inline constexpr const char* kTransCheckMaxTimeTopic = "TRANS_CHECK_MAX_TIME_TOPIC";
inline constexpr const char* kTraceTopic = "RMQ_SYS_TRACE_TOPIC";
inline constexpr const char* kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr const char* kDlqGroupTopicPrefix = "%DLQ%";

// Topics producers may not send to.
bool IsSendForbiddenTopic(std::string_view topic);
inline constexpr const char* kBenchmarkTopic = "BenchmarkTest";
// Topics the broker owns (RocketMQ's TopicValidator.isSystemTopic plus the topics named like the
// cluster and the broker, and the cluster's reply topic): they cannot be created, reconfigured or
// deleted by a client.
bool IsSystemTopic(std::string_view topic, std::string_view cluster_name,
                   std::string_view broker_name);
// The groups RocketMQ's tools and the broker itself use (MixAll's CID_RMQ_SYS_ and the tools',
// monitor's and self-test groups, and the dashboard's own): left out of the group views.
bool IsSystemGroup(std::string_view group);

}  // namespace ramjet::protocol
