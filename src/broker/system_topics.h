// The broker's names for the system topics, which live in the protocol layer (the admin tools
// and the dashboard classify topics and groups the same way).
#pragma once

#include "ramjet/protocol/system_topics.h"

namespace ramjet::broker {

using protocol::IsSendForbiddenTopic;
using protocol::IsSystemGroup;
using protocol::IsSystemTopic;
using protocol::kAutoCreateTopicKey;
using protocol::kBenchmarkTopic;
using protocol::kDlqGroupTopicPrefix;
using protocol::kOffsetMovedEvent;
using protocol::kRetryGroupTopicPrefix;
using protocol::kScheduleTopic;
using protocol::kSelfTestTopic;
using protocol::kTraceTopic;
using protocol::kTransCheckMaxTimeTopic;
using protocol::kTransHalfTopic;
using protocol::kTransOpHalfTopic;

}  // namespace ramjet::broker
