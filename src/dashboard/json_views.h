// The JSON shapes of docs/dashboard-api.md built from admin and protocol values.
// Threading: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/protocol/trace.h"

namespace ramjet::dashboard {

// Summary: ids, topic, queue, tags, keys, times, hosts, body size, reconsume times.
nlohmann::json SummaryOf(const client::MessageExt& m, const std::string& broker_name);
// Summary + properties + body (UTF-8 text as it is, anything else base64).
nlohmann::json DetailOf(const client::MessageExt& m, const std::string& broker_name);
nlohmann::json TraceOf(const protocol::TraceRecord& t);
bool IsUtf8(const std::string& s);

// Fields of a write body: the default when absent; kInvalidArgument naming the field when it
// has the wrong type or is out of [lo, hi].
Result<int64_t> IntField(const nlohmann::json& body, const char* name, int64_t def, int64_t lo,
                         int64_t hi);
Result<bool> BoolField(const nlohmann::json& body, const char* name, bool def);
// A string field; required ones may not be absent or empty.
Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required);
// A query parameter as an integer in [lo, hi] (`def` when absent).
Result<int64_t> IntParam(const std::string& text, const char* name, int64_t def, int64_t lo,
                         int64_t hi);

}  // namespace ramjet::dashboard
