// The JSON files the broker, the name server and the client keep, in the layout Apache RocketMQ
// writes them (so a store directory moves between the two): the subscription groups
// (config/subscriptionGroup.json) and consumer offsets (config/consumerOffset.json), which are
// also the bodies of GET_ALL_SUBSCRIPTIONGROUP_CONFIG and GET_ALL_CONSUMER_OFFSET, the delay-level
// progress (config/delayOffset.json), the timer progress (config/timerProgress.json), the name
// server's KV config (kvConfig.json) and a broadcasting consumer's local offsets. JSON stays
// inside protocol/: callers see structs.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"

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

// config/subscriptionGroup.json and the GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) body
// (SubscriptionGroupWrapper): {"dataVersion":{..},"subscriptionGroupTable":{"<group>":{..}}}.
// Decode is lenient the way a hand-edited file needs: numeric keys may be unquoted, a group
// without groupName takes its table key, booleans and integers may be given as strings, entries
// that are not objects are skipped. Only text that is not a JSON object is kCorruption.
struct SubscriptionGroupWrapper {
  std::map<std::string, SubscriptionGroupConfigBody> subscription_group_table;  // by table key
  DataVersion data_version;
  static Result<SubscriptionGroupWrapper> Decode(std::string_view text);
  // Compact, keys sorted (the wire body); the file is IndentJson of it.
  std::string Encode() const;
};

// config/consumerOffset.json and the GET_ALL_CONSUMER_OFFSET (43) body
// (ConsumerOffsetSerializeWrapper): {"offsetTable":{"<topic>@<group>":{"<queueId>":offset}}}.
// Decode reads unquoted queue ids and skips values that are not integers.
struct ConsumerOffsetWrapper {
  std::map<std::string, std::map<int32_t, int64_t>> offset_table;  // "topic@group" -> queue
  static Result<ConsumerOffsetWrapper> Decode(std::string_view text);
  // Compact, keys sorted as text (queue 10 before queue 2, as before); the file is IndentJson.
  std::string Encode() const;
};

// A broadcasting push consumer's local offsets (<offsetStoreDir>/<clientId>/<group>/offsets.json,
// the C++ client's LocalFileOffsetStore): a flat {"<topic>@<queueId>@<brokerName>":offset}.
// Values that are not integers are skipped on Decode.
struct LocalOffsetFile {
  std::map<std::string, int64_t> offsets;
  static Result<LocalOffsetFile> Decode(std::string_view text);
  std::string Encode() const;  // compact
};

// JSON text re-written with a 2-space indent (how the broker writes its config/*.json files).
// kCorruption when the text is not JSON.
Result<std::string> IndentJson(std::string_view json_text);

}  // namespace ramjet::protocol
