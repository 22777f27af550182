// The byte formats of RocketMQ 4.x's master/slave replication stream ("HA"), a raw TCP stream
// with no remoting framing (docs/formats/ha-stream.md):
//   slave -> master: 8 bytes, int64 big-endian: the slave's max CommitLog offset. The first is
//                    where to start; every later one is an acknowledgement and a heartbeat.
//   master -> slave: 12-byte header (int64 master physical offset, int32 body size) followed by
//                    body-size bytes of raw CommitLog; size 0 is a heartbeat.
// Pure functions and two incremental decoders. Thread-safety: a decoder belongs to one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet::ha {

inline constexpr size_t kReportSize = 8;
inline constexpr size_t kTransferHeaderSize = 12;

std::string EncodeReport(int64_t slave_max_offset);
std::string EncodeTransferHeader(int64_t master_offset, int32_t body_size);

// The slave-to-master stream. The master keeps only the newest complete report.
class ReportDecoder {
 public:
  // Consumes bytes; returns the last report completed by them, if any. Fails on a negative
  // offset (the stream is not a RocketMQ HA stream).
  Result<std::optional<int64_t>> Feed(std::string_view bytes);

 private:
  char partial_[kReportSize] = {};
  size_t partial_len_ = 0;
};

struct TransferFrame {
  int64_t master_offset = 0;
  std::string_view body;  // valid until the next Feed
};

// The master-to-slave stream.
class TransferDecoder {
 public:
  // max_body bounds a frame's body (RocketMQ's haTransferBatchSize is 32 KiB by default; a
  // master never sends more than one CommitLog segment).
  explicit TransferDecoder(int64_t max_body) : max_body_(max_body) {}
  void Feed(std::string_view bytes);
  // The next complete frame, nullopt when more bytes are needed. Fails on a negative offset or
  // size, or a size above max_body: the connection must be closed.
  Result<std::optional<TransferFrame>> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  const int64_t max_body_;
  std::string buf_;
  size_t pos_ = 0;  // consumed prefix of buf_
};

}  // namespace ramjet::ha
