// The one place where client-supplied names are validated before they become a file path or a
// table key (topics, consumer/producer groups, retry and dead-letter topics), and where raw client
// bytes are made safe to put into a log line or a response remark.
//
// Rules, as RocketMQ's TopicValidator: a name is non-empty, of the characters [%|a-zA-Z0-9_-]
// only (so no '/', '.', control characters or non-ASCII), a topic at most 127 characters, a group
// at most 255. A topic the broker builds from a group (%RETRY%<group>, %DLQ%<group>) is a topic
// like any other in the store: at most 127 characters, as the CommitLog record keeps the topic
// length in one signed byte; a group longer than 120 characters therefore has no retry topic.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ramjet/base/status.h"

namespace ramjet {

inline constexpr size_t kTopicMaxLength = 127;
inline constexpr size_t kGroupMaxLength = 255;
inline constexpr size_t kGroupTopicMaxLength = 127;  // %RETRY%<group>, %DLQ%<group>

// A topic named by a client (send, pull, create, delete, queries).
[[nodiscard]] Status ValidateTopicName(std::string_view topic);
// A consumer or producer group.
[[nodiscard]] Status ValidateGroupName(std::string_view group);
// Any topic that may become a store directory: client topics, and the retry/DLQ topics of
// groups, which the broker builds.
[[nodiscard]] Status ValidateStoreTopicName(std::string_view topic);

// Printable ASCII is kept; quotes, backslashes, control characters, DEL and bytes >= 0x80 become
// \xNN, so a remark or log line cannot be split or forged and is valid UTF-8. At most max_bytes
// of the input are shown, then "...(N bytes)".
std::string EscapeForLog(std::string_view raw, size_t max_bytes = 256);

// The length of the well-formed UTF-8 sequence at the start of s (1..4), or 0 when it is not
// one (a stray continuation byte, an overlong form, a surrogate, a truncated sequence).
size_t Utf8SequenceLength(std::string_view s);

}  // namespace ramjet
