// Helpers for the services that store a message again (delayed delivery, timers, transaction
// commits and checks, send-back). Private to the broker module.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ramjet/message/record.h"

namespace ramjet::broker {

// A properties string without the `remove` keys and the keys of `add`, then `add` appended.
std::string EditProperties(std::string_view props, std::initializer_list<std::string_view> remove,
                           const std::vector<std::pair<std::string, std::string>>& add);

// What a message stored again for another try adds to its properties, as RocketMQ's send-back
// does, each only when absent: RETRY_TOPIC (the topic it was first sent to) and
// ORIGIN_MESSAGE_ID (origin_msg_id, or the record's offset id when that is empty).
std::vector<std::pair<std::string, std::string>> RetryOriginProperties(
    const message::RecordView& r, std::string_view origin_msg_id);

// Re-stores record r's payload (body, flag, sysFlag, born time and host, reconsume count) under
// another topic, queue and properties. The result points into r's body and the given strings.
message::MessageInput RequeueInput(const message::RecordView& r, std::string_view topic,
                                   int32_t queue_id, std::string_view props);

}  // namespace ramjet::broker
