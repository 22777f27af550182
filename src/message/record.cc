#include "ramjet/message/record.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/names.h"

namespace ramjet::message {
namespace {

void PutHost(std::string* out, const HostAddress& h) {
  out->append(reinterpret_cast<const char*>(h.ip.data()), h.v6 ? 16 : 4);
  PutBE32(out, static_cast<uint32_t>(h.port));
}

HostAddress GetHost(const char* p, bool v6) {
  HostAddress h;
  h.v6 = v6;
  size_t n = v6 ? 16 : 4;
  std::memcpy(h.ip.data(), p, n);
  h.port = static_cast<int32_t>(DecodeBE32(p + n));
  return h;
}

int32_t HostFlags(const HostAddress& born, const HostAddress& store) {
  return (born.v6 ? kSysFlagBornHostV6 : 0) | (store.v6 ? kSysFlagStoreHostV6 : 0);
}

}  // namespace

HostAddress HostAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, int32_t port) {
  HostAddress h;
  h.ip[0] = a;
  h.ip[1] = b;
  h.ip[2] = c;
  h.ip[3] = d;
  h.port = port;
  return h;
}

Result<HostAddress> HostAddress::Parse(std::string_view hp) {
  HostAddress h;
  std::string host;
  std::string_view port_str;
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':')
      return Status::InvalidArgument("bad address: " + std::string(hp));
    host = std::string(hp.substr(1, close - 1));
    port_str = hp.substr(close + 2);
    h.v6 = true;
  } else {
    size_t colon = hp.rfind(':');
    if (colon == std::string_view::npos)
      return Status::InvalidArgument("address without port: " + std::string(hp));
    host = std::string(hp.substr(0, colon));
    port_str = hp.substr(colon + 1);
  }
  int port = 0;
  auto [ptr, ec] = std::from_chars(port_str.data(), port_str.data() + port_str.size(), port);
  if (ec != std::errc() || ptr != port_str.data() + port_str.size() || port < 0 || port > 65535)
    return Status::InvalidArgument("bad port in address: " + std::string(hp));
  h.port = port;
  if (inet_pton(h.v6 ? AF_INET6 : AF_INET, host.c_str(), h.ip.data()) != 1)
    return Status::InvalidArgument("bad ip in address: " + std::string(hp));
  return h;
}

std::string HostAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(v6 ? AF_INET6 : AF_INET, ip.data(), buf, sizeof(buf));
  std::string s = v6 ? "[" + std::string(buf) + "]" : std::string(buf);
  return s + ":" + std::to_string(port);
}

Result<size_t> RecordSize(const MessageInput& msg, const HostAddress& store_host) {
  // The topic becomes a consume-queue directory: the one name check (ramjet/base/names.h).
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(msg.topic));
  static_assert(kGroupTopicMaxLength <= kMaxTopicLength);
  if (msg.queue_id < 0) return Status::InvalidArgument("negative queue id");
  if (msg.properties.size() > kMaxPropertiesLength)
    return Status::InvalidArgument("properties longer than 32767 bytes");
  if (msg.body.size() > 0x7FFFFFFF - 1024) return Status::InvalidArgument("body too large");
  return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + msg.born_host.EncodedSize() + 8 +
         store_host.EncodedSize() + 4 + 8 + 4 + msg.body.size() + 1 + msg.topic.size() + 2 +
         msg.properties.size();
}

Status EncodeRecord(const MessageInput& msg, const HostAddress& store_host, std::string* out) {
  auto size_or = RecordSize(msg, store_host);
  if (!size_or.ok()) return size_or.status();
  size_t size = *size_or;
  size_t start = out->size();
  out->reserve(start + size);
  int32_t sys_flag = (msg.sys_flag & ~(kSysFlagBornHostV6 | kSysFlagStoreHostV6)) |
                     HostFlags(msg.born_host, store_host);
  PutBE32(out, static_cast<uint32_t>(size));
  PutBE32(out, kMessageMagic);
  PutBE32(out, static_cast<uint32_t>(RocketBodyCrc(msg.body)));
  PutBE32(out, static_cast<uint32_t>(msg.queue_id));
  PutBE32(out, static_cast<uint32_t>(msg.flag));
  PutBE64(out, 0);  // queue offset, patched
  PutBE64(out, 0);  // physical offset, patched
  PutBE32(out, static_cast<uint32_t>(sys_flag));
  PutBE64(out, static_cast<uint64_t>(msg.born_timestamp));
  PutHost(out, msg.born_host);
  PutBE64(out, 0);  // store timestamp, patched
  PutHost(out, store_host);
  PutBE32(out, static_cast<uint32_t>(msg.reconsume_times));
  PutBE64(out, static_cast<uint64_t>(msg.prepared_transaction_offset));
  PutBE32(out, static_cast<uint32_t>(msg.body.size()));
  out->append(msg.body);
  out->push_back(static_cast<char>(msg.topic.size()));
  out->append(msg.topic);
  PutBE16(out, static_cast<uint16_t>(msg.properties.size()));
  out->append(msg.properties);
  if (out->size() - start != size) return Status::Internal("record size mismatch");
  return Status::OK();
}

size_t StoreTimestampPos(int32_t sys_flag) {
  return kPosBornHost + ((sys_flag & kSysFlagBornHostV6) ? 20 : 8);
}

void PatchRecord(char* p, int64_t queue_offset, int64_t physical_offset, int64_t store_timestamp) {
  EncodeBE64(p + kPosQueueOffset, static_cast<uint64_t>(queue_offset));
  EncodeBE64(p + kPosPhysicalOffset, static_cast<uint64_t>(physical_offset));
  int32_t sys_flag = static_cast<int32_t>(DecodeBE32(p + kPosSysFlag));
  EncodeBE64(p + StoreTimestampPos(sys_flag), static_cast<uint64_t>(store_timestamp));
}

Result<RecordView> DecodeRecord(std::string_view data, bool check_crc) {
  const char* p = data.data();
  const size_t n = data.size();
  if (n < 8) return Status::OutOfRange("buffer shorter than a record header");
  RecordView r;
  r.total_size = static_cast<int32_t>(DecodeBE32(p));
  uint32_t magic = DecodeBE32(p + kPosMagic);
  if (magic != kMessageMagic) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "bad magic code 0x%08X", magic);
    return Status::Corruption(buf);
  }
  if (r.total_size < 91 || r.total_size > 0x7FFFFFFF - 1)
    return Status::Corruption("bad total size " + std::to_string(r.total_size));
  if (static_cast<size_t>(r.total_size) > n)
    return Status::OutOfRange("record of " + std::to_string(r.total_size) +
                              " bytes extends past the buffer");
  const char* end = p + r.total_size;
  r.body_crc = static_cast<int32_t>(DecodeBE32(p + kPosBodyCrc));
  r.queue_id = static_cast<int32_t>(DecodeBE32(p + kPosQueueId));
  r.flag = static_cast<int32_t>(DecodeBE32(p + kPosFlag));
  r.queue_offset = static_cast<int64_t>(DecodeBE64(p + kPosQueueOffset));
  r.physical_offset = static_cast<int64_t>(DecodeBE64(p + kPosPhysicalOffset));
  r.sys_flag = static_cast<int32_t>(DecodeBE32(p + kPosSysFlag));
  r.born_timestamp = static_cast<int64_t>(DecodeBE64(p + kPosBornTimestamp));
  const bool born_v6 = r.sys_flag & kSysFlagBornHostV6;
  const bool store_v6 = r.sys_flag & kSysFlagStoreHostV6;
  // Fixed part: up to and including BODYLENGTH.
  size_t fixed = kPosBornHost + (born_v6 ? 20 : 8) + 8 + (store_v6 ? 20 : 8) + 4 + 8 + 4;
  if (fixed + 1 + 2 > static_cast<size_t>(r.total_size))
    return Status::Corruption("total size too small for header");
  const char* q = p + kPosBornHost;
  r.born_host = GetHost(q, born_v6);
  q += born_v6 ? 20 : 8;
  r.store_timestamp = static_cast<int64_t>(DecodeBE64(q));
  q += 8;
  r.store_host = GetHost(q, store_v6);
  q += store_v6 ? 20 : 8;
  r.reconsume_times = static_cast<int32_t>(DecodeBE32(q));
  q += 4;
  r.prepared_transaction_offset = static_cast<int64_t>(DecodeBE64(q));
  q += 8;
  int32_t body_len = static_cast<int32_t>(DecodeBE32(q));
  q += 4;
  if (body_len < 0 || body_len > end - q - 3)
    return Status::Corruption("bad body length " + std::to_string(body_len));
  r.body = std::string_view(q, static_cast<size_t>(body_len));
  q += body_len;
  uint8_t topic_len = static_cast<uint8_t>(*q++);
  if (topic_len == 0 || topic_len > kMaxTopicLength || topic_len > end - q - 2)
    return Status::Corruption("bad topic length " + std::to_string(topic_len));
  r.topic = std::string_view(q, topic_len);
  q += topic_len;
  int32_t props_len = static_cast<int16_t>(DecodeBE16(q));
  q += 2;
  if (props_len < 0 || props_len != end - q)
    return Status::Corruption("total size " + std::to_string(r.total_size) +
                              " does not match the computed record length");
  r.properties = std::string_view(q, static_cast<size_t>(props_len));
  if (check_crc && RocketBodyCrc(r.body) != r.body_crc)
    return Status::Corruption("body CRC mismatch");
  return r;
}

namespace {

// Calls fn(name, value) for each well-formed "name\x01value" entry, as MessageDecoder keeps only
// entries whose name and value are both non-empty. Stops early when fn returns true.
template <typename Fn>
void ForEachProperty(std::string_view props, Fn&& fn) {
  size_t pos = 0;
  while (pos < props.size()) {
    size_t end = props.find(kPropertySeparator, pos);
    if (end == std::string_view::npos) end = props.size();
    std::string_view entry = props.substr(pos, end - pos);
    size_t sep = entry.find(kNameValueSeparator);
    if (sep != std::string_view::npos && sep > 0 && sep + 1 < entry.size() &&
        fn(entry.substr(0, sep), entry.substr(sep + 1)))
      return;
    pos = end + 1;
  }
}

}  // namespace

std::string_view FindProperty(std::string_view props, std::string_view name) {
  std::string_view found;
  ForEachProperty(props, [&](std::string_view k, std::string_view v) {
    if (k != name) return false;
    found = v;
    return true;
  });
  return found;
}

std::vector<std::pair<std::string_view, std::string_view>> ParseProperties(std::string_view props) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  ForEachProperty(props, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return false;
  });
  return out;
}

std::string BuildProperties(const std::vector<std::pair<std::string, std::string>>& props) {
  std::string s;
  for (const auto& [k, v] : props) {
    if (!s.empty()) s.push_back(kPropertySeparator);
    s += k;
    s.push_back(kNameValueSeparator);
    s += v;
  }
  return s;
}

int64_t TagsCode(std::string_view tags) {
  if (tags.empty()) return 0;
  return static_cast<int64_t>(JavaStringHash(tags));
}

std::string CreateOffsetMessageId(const HostAddress& h, int64_t physical_offset) {
  static const char* kHex = "0123456789ABCDEF";
  std::string raw;
  raw.append(reinterpret_cast<const char*>(h.ip.data()), h.v6 ? 16 : 4);
  PutBE32(&raw, static_cast<uint32_t>(h.port));
  PutBE64(&raw, static_cast<uint64_t>(physical_offset));
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

Result<std::pair<HostAddress, int64_t>> DecodeOffsetMessageId(std::string_view id) {
  if (id.size() != 32 && id.size() != 56)
    return Status::InvalidArgument("message id must be 32 or 56 hex characters");
  std::string raw;
  for (size_t i = 0; i < id.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(id[i]), lo = nib(id[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("message id is not hex");
    raw.push_back(static_cast<char>(hi << 4 | lo));
  }
  bool v6 = id.size() == 56;
  HostAddress h = GetHost(raw.data(), v6);
  int64_t off = static_cast<int64_t>(DecodeBE64(raw.data() + (v6 ? 20 : 8)));
  return std::make_pair(h, off);
}

}  // namespace ramjet::message
