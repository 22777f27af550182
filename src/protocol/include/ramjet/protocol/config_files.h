// The JSON files the broker and the name server keep besides the RocketMQ wire bodies, in the
// layout Apache RocketMQ writes them (so a store directory moves between the two): the delay-level
// progress (config/delayOffset.json), the timer progress (config/timerProgress.json) and the
// name server's KV config (kvConfig.json). JSON stays inside protocol/: callers see structs.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet::protocol {

// delayOffset.json: {"offsetTable":{"<level>":<next queue offset>,...}}. Levels are 1-based;
// entries whose key or value is not a number are skipped.
struct DelayOffsetFile {
  std::map<int, int64_t> offset_table;
  static Result<DelayOffsetFile> Decode(std::string_view text);
  std::string Encode() const;
};

// timerProgress.json: {"watermark":<timer queue offset below which every timer was delivered>}.
struct TimerProgressFile {
  int64_t watermark = 0;
  static Result<TimerProgressFile> Decode(std::string_view text);
  std::string Encode() const;
};

// kvConfig.json: {"configTable":{"<namespace>":{"<key>":"<value>",...},...}}.
struct KvConfigFile {
  std::map<std::string, std::map<std::string, std::string>> config_table;
  static Result<KvConfigFile> Decode(std::string_view text);
  std::string Encode() const;
};

}  // namespace ramjet::protocol
