#include "ramjet/ha/ha_codec.h"

#include <cstring>

#include "ramjet/base/coding.h"

namespace ramjet::ha {

std::string EncodeReport(int64_t slave_max_offset) {
  std::string out(kReportSize, '\0');
  EncodeBE64(out.data(), static_cast<uint64_t>(slave_max_offset));
  return out;
}

std::string EncodeTransferHeader(int64_t master_offset, int32_t body_size) {
  std::string out(kTransferHeaderSize, '\0');
  EncodeBE64(out.data(), static_cast<uint64_t>(master_offset));
  EncodeBE32(out.data() + 8, static_cast<uint32_t>(body_size));
  return out;
}

Result<std::optional<int64_t>> ReportDecoder::Feed(std::string_view bytes) {
  std::optional<int64_t> last;
  while (!bytes.empty()) {
    const size_t n = std::min(kReportSize - partial_len_, bytes.size());
    std::memcpy(partial_ + partial_len_, bytes.data(), n);
    partial_len_ += n;
    bytes.remove_prefix(n);
    if (partial_len_ < kReportSize) break;
    partial_len_ = 0;
    const auto v = static_cast<int64_t>(DecodeBE64(partial_));
    if (v < 0) {
      return Status::Corruption("HA report of a negative offset " + std::to_string(v));
    }
    last = v;
  }
  return last;
}

void TransferDecoder::Feed(std::string_view bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

Result<std::optional<TransferFrame>> TransferDecoder::Next() {
  if (buffered() < kTransferHeaderSize) return std::optional<TransferFrame>();
  const char* p = buf_.data() + pos_;
  const auto offset = static_cast<int64_t>(DecodeBE64(p));
  const auto size = static_cast<int32_t>(DecodeBE32(p + 8));
  if (offset < 0 || size < 0 || size > max_body_) {
    return Status::Corruption("HA transfer header with offset " + std::to_string(offset) +
                              " and size " + std::to_string(size) + " (at most " +
                              std::to_string(max_body_) + ")");
  }
  if (buffered() < kTransferHeaderSize + static_cast<size_t>(size)) {
    return std::optional<TransferFrame>();
  }
  TransferFrame f;
  f.master_offset = offset;
  f.body = std::string_view(p + kTransferHeaderSize, static_cast<size_t>(size));
  pos_ += kTransferHeaderSize + static_cast<size_t>(size);
  return std::optional<TransferFrame>(f);
}

}  // namespace ramjet::ha
