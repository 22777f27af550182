// Shared helpers for store tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ramjet/store/message_store.h"

namespace ramjet::store::testing {

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                       "/ramjet-store-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::string cmd = "rm -rf '" + path_ + "'";
      int rc = std::system(cmd.c_str());
      (void)rc;
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A small-store configuration for tests.
inline StoreConfig SmallConfig(const std::string& dir) {
  StoreConfig c;
  c.root_dir = dir;
  c.commit_log_segment_size = 64 * 1024;
  c.consume_queue_entries_per_file = 100;
  c.max_hash_slot_num = 64;
  c.max_index_num = 256;
  c.flush_interval_commit_log_ms = 20;
  c.flush_interval_consume_queue_ms = 50;
  c.clean_resource_interval_ms = 3600 * 1000;  // retention only when a test asks
  return c;
}

// A small SYNC_FLUSH store on fs (a FaultInjectionFileSystem: power loss keeps only what was
// fsynced) with CommitLog segments of segment_size bytes.
inline StoreConfig SyncFlushConfig(const std::string& dir, FileSystem* fs, int64_t segment_size) {
  StoreConfig c = SmallConfig(dir);
  c.file_system = fs;
  c.commit_log_segment_size = segment_size;
  c.flush_disk_type = FlushDiskType::kSyncFlush;
  return c;
}

// Opens a store, failing the test (and returning null) if that fails.
inline std::unique_ptr<MessageStore> OpenStore(const StoreConfig& cfg) {
  auto s = MessageStore::Open(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Message with a body, tags and keys.
struct TestMessage {
  std::string topic = "TopicTest";
  int32_t queue_id = 0;
  std::string body;
  std::string props;
  int32_t sys_flag = 0;
  message::MessageInput Input() const {
    message::MessageInput m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = body;
    m.properties = props;
    m.sys_flag = sys_flag;
    m.born_timestamp = 1700000000000;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 40000);
    return m;
  }
};

inline TestMessage Msg(std::string topic, int32_t q, std::string body, std::string tags = "",
                       std::string keys = "") {
  TestMessage m;
  m.topic = std::move(topic);
  m.queue_id = q;
  m.body = std::move(body);
  std::vector<std::pair<std::string, std::string>> p;
  if (!tags.empty()) p.emplace_back("TAGS", tags);
  if (!keys.empty()) p.emplace_back("KEYS", keys);
  m.props = message::BuildProperties(p);
  return m;
}

// Reads a whole queue; every returned record must pass its CRC check.
inline std::vector<std::string> ReadQueue(MessageStore* store, const std::string& topic, int q) {
  std::vector<std::string> out;
  QueueOffset off = store->GetMinOffsetInQueue(topic, q);
  for (;;) {
    auto res = store->GetMessages(topic, q, off, 64, 1 << 30, nullptr);
    for (auto& m : res.messages) {
      auto v = message::DecodeRecord(m.data, true);
      EXPECT_TRUE(v.ok()) << "torn or corrupt record returned: " << v.status().ToString();
      if (v.ok()) out.emplace_back(v->body);
    }
    if (res.status != GetStatus::kFound && res.status != GetStatus::kNoMatchedMessage) break;
    if (res.next_begin_offset == off) break;
    off = res.next_begin_offset;
  }
  return out;
}

// Waits (at most 10 s) until the housekeeper has written the checkpoint n more times.
inline void WaitForCheckpoints(const std::string& root, int n) {
  const auto ckpt = std::filesystem::path(root) / "checkpoint";
  auto stamp = [&] {
    std::error_code ec;
    return std::filesystem::last_write_time(ckpt, ec);
  };
  for (int changes = 0, i = 0; changes < n && i < 500; ++i) {
    auto before = stamp();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stamp() != before) ++changes;
  }
}

}  // namespace ramjet::store::testing
