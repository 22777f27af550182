// RemotingCommand: one RocketMQ remoting frame (request or response) and its codecs.
//
// Frame: int32 length (bytes after this field) | int32 (serialize type << 24 | header length) |
// header (JSON or ROCKETMQ binary) | body. Specified in docs/formats/remoting.md and pinned by
// golden vectors in protocol_test.cc. No sockets here: the remoting library moves the bytes.
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"
#include "ramjet/protocol/ext_fields.h"

namespace ramjet::protocol {

enum class SerializeType : uint8_t { kJson = 0, kRocketMq = 1 };

// LanguageCode ordinals (the ROCKETMQ binary header carries the byte, JSON the name).
enum class LanguageCode : uint8_t {
  kJava = 0, kCpp = 1, kDotnet = 2, kPython = 3, kDelphi = 4, kErlang = 5, kRuby = 6,
  kOther = 7, kHttp = 8, kGo = 9, kPhp = 10, kOms = 11, kRust = 12, kNodeJs = 13,
};
std::string_view LanguageName(LanguageCode code);
// Unknown names map to kOther.
LanguageCode LanguageFromName(std::string_view name);

inline constexpr int32_t kFlagResponse = 1;
inline constexpr int32_t kFlagOneway = 2;
inline constexpr size_t kDefaultMaxFrameBytes = 16 * 1024 * 1024;

struct RemotingCommand {
  int32_t code = 0;
  LanguageCode language = LanguageCode::kCpp;
  int32_t version = 409;
  int32_t opaque = 0;
  int32_t flag = 0;
  std::optional<std::string> remark;
  ExtFields ext_fields;
  std::string body;
  SerializeType serialize_type = SerializeType::kJson;

  bool IsResponse() const { return (flag & kFlagResponse) != 0; }
  bool IsOneway() const { return (flag & kFlagOneway) != 0; }

  static RemotingCommand Request(int32_t code);
  // A response to `request`: same opaque and serialize type, response flag set.
  static RemotingCommand ResponseTo(const RemotingCommand& request, int32_t code,
                                    std::string remark = {});

  // extFields accessors. Missing or unparsable required fields are kInvalidArgument errors whose
  // message names the field, e.g. "the custom field <queueId> is null".
  Result<std::string> GetString(std::string_view key) const;
  // A field that names a topic or a group, validated (ramjet/base/names.h) as it is decoded:
  // a missing or illegal name is kInvalidArgument with a message fit for a remark.
  Result<std::string> GetTopic(std::string_view key = "topic") const;
  Result<std::string> GetGroup(std::string_view key) const;
  Result<int32_t> GetInt32(std::string_view key) const;
  Result<int64_t> GetInt64(std::string_view key) const;
  // Java Boolean.parseBoolean: "true" in any case is true, anything else false; missing = false.
  bool GetBool(std::string_view key) const;
  std::optional<std::string_view> Find(std::string_view key) const;
  int32_t GetInt32Or(std::string_view key, int32_t def) const;
  int64_t GetInt64Or(std::string_view key, int64_t def) const;
  void Set(std::string key, std::string value) {
    ext_fields.insert_or_assign(std::move(key), std::move(value));
  }
  void Set(std::string key, int64_t value) {
    ext_fields.insert_or_assign(std::move(key), std::to_string(value));
  }
};

// Encodes a whole frame (length field included) and appends it to *out.
void EncodeFrame(const RemotingCommand& cmd, std::string* out);
std::string EncodeFrame(const RemotingCommand& cmd);
// Header encoders, exposed for tests and fuzzing.
std::string EncodeJsonHeader(const RemotingCommand& cmd);
std::string EncodeBinaryHeader(const RemotingCommand& cmd);

// Decodes one frame given the bytes after the length field. Errors are kCorruption naming what
// is wrong (header length beyond the frame, unknown serialize type, bad JSON, ...).
Result<RemotingCommand> DecodeFrameBody(std::string_view frame);

// Incremental decoder for a byte stream. After an error the stream is unusable (the connection
// must be closed): RocketMQ servers close on any undecodable frame.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}
  // Appends bytes read from the socket.
  void Append(const char* data, size_t n) { buf_.append(data, n); }
  // The next whole command, nullopt if more bytes are needed, or an error.
  Result<std::optional<RemotingCommand>> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  static constexpr size_t kRetainedBufferBytes = 256 * 1024;
  size_t max_frame_bytes_;
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace ramjet::protocol
