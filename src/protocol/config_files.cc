#include "ramjet/protocol/config_files.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "ramjet/protocol/bodies.h"

namespace ramjet::protocol {

using json = nlohmann::json;

Result<DelayOffsetFile> DelayOffsetFile::Decode(std::string_view text) {
  auto j = json::parse(QuoteNumericKeys(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("delay offsets are not JSON");
  DelayOffsetFile f;
  auto t = j.find("offsetTable");
  if (t == j.end() || !t->is_object()) return f;
  for (auto& [k, v] : t->items()) {
    const int level = std::atoi(k.c_str());
    if (level >= 1 && v.is_number_integer()) f.offset_table[level] = v.get<int64_t>();
  }
  return f;
}

std::string DelayOffsetFile::Encode() const {
  json t = json::object();
  for (const auto& [level, off] : offset_table) t[std::to_string(level)] = off;
  return json{{"offsetTable", t}}.dump(2);
}

Result<TimerProgressFile> TimerProgressFile::Decode(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("timer progress is not JSON");
  TimerProgressFile f;
  if (auto w = j.find("watermark"); w != j.end() && w->is_number_integer()) {
    f.watermark = w->get<int64_t>();
  }
  return f;
}

std::string TimerProgressFile::Encode() const { return json{{"watermark", watermark}}.dump(); }

Result<KvConfigFile> KvConfigFile::Decode(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  KvConfigFile f;
  auto t = j.find("configTable");
  if (t == j.end() || !t->is_object()) return f;
  for (auto& [ns, kv] : t->items()) {
    if (!kv.is_object()) continue;
    for (auto& [k, v] : kv.items()) {
      if (v.is_string()) f.config_table[ns][k] = v.get<std::string>();
    }
  }
  return f;
}

std::string KvConfigFile::Encode() const {
  return json{{"configTable", config_table}}.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace ramjet::protocol
