// The message record: RocketMQ's v1 message layout — the CommitLog's on-disk record and the wire
// format of PULL_MESSAGE / QUERY_MESSAGE / VIEW_MESSAGE_BY_ID bodies — with its sysflags,
// properties and message ids. Wire vocabulary shared by the store, the broker, the client and
// the admin tool (module `message`, below protocol and store). Specified in
// docs/formats/commitlog.md. All integers are big-endian.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet::message {

inline constexpr uint32_t kMessageMagic = 0xDAA320A7u;  // int -626843481
inline constexpr uint32_t kBlankMagic = 0xCBD43194u;    // int -875286124, end-of-segment marker
inline constexpr int kEndFileMinBlankLength = 8;
inline constexpr int kMaxTopicLength = 127;
inline constexpr int kMaxPropertiesLength = 32767;

// Field positions that do not depend on host address sizes.
inline constexpr size_t kPosTotalSize = 0;
inline constexpr size_t kPosMagic = 4;
inline constexpr size_t kPosBodyCrc = 8;
inline constexpr size_t kPosQueueId = 12;
inline constexpr size_t kPosFlag = 16;
inline constexpr size_t kPosQueueOffset = 20;
inline constexpr size_t kPosPhysicalOffset = 28;
inline constexpr size_t kPosSysFlag = 36;
inline constexpr size_t kPosBornTimestamp = 40;
inline constexpr size_t kPosBornHost = 48;

// sysFlag bits (MessageSysFlag).
inline constexpr int32_t kSysFlagCompressed = 0x1;
inline constexpr int32_t kSysFlagMultiTags = 0x2;
inline constexpr int32_t kTransactionTypeMask = 0xC;
inline constexpr int32_t kTransactionNotType = 0x0;
inline constexpr int32_t kTransactionPreparedType = 0x4;
inline constexpr int32_t kTransactionCommitType = 0x8;
inline constexpr int32_t kTransactionRollbackType = 0xC;
inline constexpr int32_t kSysFlagBornHostV6 = 0x10;
inline constexpr int32_t kSysFlagStoreHostV6 = 0x20;

// Property string separators (MessageDecoder).
inline constexpr char kNameValueSeparator = '\x01';
inline constexpr char kPropertySeparator = '\x02';

// An IPv4 or IPv6 socket address as stored in a record: address bytes then int32 port.
struct HostAddress {
  std::array<uint8_t, 16> ip{};
  bool v6 = false;
  int32_t port = 0;

  static HostAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, int32_t port);
  // Parses "1.2.3.4:10911" or "[::1]:10911".
  static Result<HostAddress> Parse(std::string_view host_port);
  size_t EncodedSize() const { return v6 ? 20 : 8; }
  std::string ToString() const;
  bool operator==(const HostAddress&) const = default;
};

// What a producer hands to the store. Offsets and the store timestamp are assigned on append.
struct MessageInput {
  std::string_view topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  std::string_view body;
  std::string_view properties;  // name\x01value\x02... (see BuildProperties)
  int32_t sys_flag = 0;         // host-v6 bits are set by the encoder
  int64_t born_timestamp = 0;
  HostAddress born_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
};

// A decoded record. string_views point into the buffer that was decoded.
struct RecordView {
  int32_t total_size = 0;
  int32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  HostAddress born_host;
  int64_t store_timestamp = 0;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::string_view body;
  std::string_view topic;
  std::string_view properties;

  int32_t transaction_type() const { return sys_flag & kTransactionTypeMask; }
};

// Total encoded size of a record, or an error if a field is over its limit.
Result<size_t> RecordSize(const MessageInput& msg, const HostAddress& store_host);

// Appends the encoded record to *out. QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP are written
// as zero: PatchRecord fills them in under the append lock. The body CRC is computed here.
Status EncodeRecord(const MessageInput& msg, const HostAddress& store_host, std::string* out);

// Position of STORETIMESTAMP in a record whose sysFlag is sys_flag.
size_t StoreTimestampPos(int32_t sys_flag);

// Writes the append-time fields into an encoded record at p.
void PatchRecord(char* p, int64_t queue_offset, int64_t physical_offset, int64_t store_timestamp);

// Decodes and validates a record at the start of data (which may extend past it).
// Checks magic, sizes against the buffer, the computed total size and, if check_crc, the body
// CRC. Errors are kCorruption with a message naming the field; a kOutOfRange error means the
// buffer ends before the record does.
Result<RecordView> DecodeRecord(std::string_view data, bool check_crc);

// Looks up one property in a properties string; empty if absent.
std::string_view FindProperty(std::string_view properties, std::string_view name);
// Parses all properties (skipping malformed pairs, as MessageDecoder does).
std::vector<std::pair<std::string_view, std::string_view>> ParseProperties(std::string_view props);
// Builds a properties string from pairs (no trailing separator).
std::string BuildProperties(const std::vector<std::pair<std::string, std::string>>& props);

// The tag hash stored in the consume queue: Java String.hashCode() of TAGS, sign-extended; 0 if
// there is no tag.
int64_t TagsCode(std::string_view tags);

// RocketMQ "offset message id": store host ip + port + physical offset, uppercase hex.
std::string CreateOffsetMessageId(const HostAddress& store_host, int64_t physical_offset);
// Decodes an offset message id (32 hex chars = IPv4, 56 = IPv6).
Result<std::pair<HostAddress, int64_t>> DecodeOffsetMessageId(std::string_view id);

}  // namespace ramjet::message
