#include "ramjet/client/message.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

#include "ramjet/base/compression.h"
#include "ramjet/message/record.h"

namespace ramjet::client {

std::string MessageQueue::ToString() const {
  return "MessageQueue [topic=" + topic + ", brokerName=" + broker_name +
         ", queueId=" + std::to_string(queue_id) + "]";
}

std::string MessageExt::Property(std::string_view name) const {
  auto it = properties.find(std::string(name));
  return it == properties.end() ? std::string() : it->second;
}
std::string MessageExt::tags() const { return Property("TAGS"); }
std::string MessageExt::keys() const { return Property("KEYS"); }

std::string_view SendStatusName(SendStatus s) {
  switch (s) {
    case SendStatus::kSendOk:
      return "SEND_OK";
    case SendStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "UNKNOWN";
}

Result<std::vector<MessageExt>> DecodeMessages(std::string_view data) {
  std::vector<MessageExt> out;
  while (!data.empty()) {
    auto r = message::DecodeRecord(data, false);
    if (!r.ok()) return r.status();
    MessageExt m;
    m.topic = std::string(r->topic);
    if (r->sys_flag & message::kSysFlagCompressed) {
      RJ_ASSIGN_OR_RETURN(m.body, ZlibInflate(r->body, 64u << 20));
    } else {
      m.body = std::string(r->body);
    }
    for (const auto& [k, v] : message::ParseProperties(r->properties)) {
      m.properties[std::string(k)] = std::string(v);
    }
    m.queue_id = r->queue_id;
    m.queue_offset = r->queue_offset;
    m.commit_log_offset = r->physical_offset;
    m.flag = r->flag;
    m.sys_flag = r->sys_flag;
    m.reconsume_times = r->reconsume_times;
    m.born_timestamp = r->born_timestamp;
    m.store_timestamp = r->store_timestamp;
    m.born_host = r->born_host.ToString();
    m.store_host = r->store_host.ToString();
    m.offset_msg_id = message::CreateOffsetMessageId(r->store_host, r->physical_offset);
    auto uniq = m.properties.find("UNIQ_KEY");
    m.msg_id = uniq != m.properties.end() ? uniq->second : m.offset_msg_id;
    out.push_back(std::move(m));
    data.remove_prefix(static_cast<size_t>(r->total_size));
  }
  return out;
}

std::string NewUniqueId() {
  static const std::string prefix = [] {
    std::string p;
    // 4 bytes of "IP" (a stable random token when the address is unknown), pid, process token.
    std::random_device rd;
    uint32_t ip = 0x7F000001u ^ (rd() & 0x0000FFFFu);
    uint16_t pid = static_cast<uint16_t>(::getpid());
    uint32_t token = rd();
    char b[10];
    b[0] = static_cast<char>(ip >> 24);
    b[1] = static_cast<char>(ip >> 16);
    b[2] = static_cast<char>(ip >> 8);
    b[3] = static_cast<char>(ip);
    b[4] = static_cast<char>(pid >> 8);
    b[5] = static_cast<char>(pid);
    b[6] = static_cast<char>(token >> 24);
    b[7] = static_cast<char>(token >> 16);
    b[8] = static_cast<char>(token >> 8);
    b[9] = static_cast<char>(token);
    return std::string(b, 10);
  }();
  static std::atomic<uint16_t> counter{0};
  // Milliseconds since the start of the current month (local time). The month boundaries are
  // computed once a month, as Java's MessageClientIDSetter does: mktime reads the time zone
  // file on every call, which would cost a stat() per message.
  static std::mutex month_mu;
  static std::atomic<int64_t> month_start_ms{0}, next_month_ms{0};
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (now_ms >= next_month_ms.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> l(month_mu);
    if (now_ms >= next_month_ms.load(std::memory_order_relaxed)) {
      std::time_t t = static_cast<std::time_t>(now_ms / 1000);
      std::tm tm{};
      localtime_r(&t, &tm);
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      tm.tm_isdst = -1;
      std::tm next = tm;
      next.tm_mon += 1;
      month_start_ms.store(static_cast<int64_t>(std::mktime(&tm)) * 1000,
                           std::memory_order_relaxed);
      next_month_ms.store(static_cast<int64_t>(std::mktime(&next)) * 1000,
                          std::memory_order_release);
    }
  }
  int64_t ms = now_ms - month_start_ms.load(std::memory_order_relaxed);
  uint32_t since = static_cast<uint32_t>(ms);
  uint16_t c = counter.fetch_add(1);
  std::string raw = prefix;
  raw.push_back(static_cast<char>(since >> 24));
  raw.push_back(static_cast<char>(since >> 16));
  raw.push_back(static_cast<char>(since >> 8));
  raw.push_back(static_cast<char>(since));
  raw.push_back(static_cast<char>(c >> 8));
  raw.push_back(static_cast<char>(c));
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : raw) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 15]);
  }
  return out;
}

}  // namespace ramjet::client
