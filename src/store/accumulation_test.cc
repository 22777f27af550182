// Million-level accumulation in one queue: 1,000,000 messages are appended to a single queue and
// read back in order, while the process's anonymous memory (RssAnon) stays bounded: messages are
// served from the mapped files, never buffered on the heap.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "ramjet/store/message_store.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

int64_t RssAnonKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8));
  return -1;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr int kMessages = 200000;  // sanitizer builds are ~10x slower; memory is not measured
constexpr bool kMeasureMemory = false;
#else
constexpr int kMessages = 1000000;
constexpr bool kMeasureMemory = true;
#endif

TEST(AccumulationTest, MillionMessagesInOneQueueWithBoundedMemory) {
  testing::TempDir dir;
  StoreConfig cfg;
  cfg.root_dir = dir.path();
  cfg.commit_log_segment_size = 64 * 1024 * 1024;
  cfg.max_hash_slot_num = 500000;
  cfg.max_index_num = 2000000;
  const int64_t rss_before = RssAnonKiB();
  auto s = MessageStore::Open(cfg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto store = std::move(s).value();
  std::string props = message::BuildProperties({{"TAGS", "TagA"}});
  std::string body(100, 'a');
  for (int i = 0; i < kMessages; ++i) {
    std::snprintf(body.data(), 12, "%011d", i);
    message::MessageInput m;
    m.topic = "Accumulate";
    m.queue_id = 0;
    m.body = body;
    m.properties = props;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 40000);
    auto r = store->PutMessage(m, false);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
  }
  ASSERT_TRUE(store->WaitDispatched(60000));
  const int64_t rss_written = RssAnonKiB();
  ASSERT_EQ(store->GetMaxOffsetInQueue("Accumulate", 0).value(), kMessages);
  int64_t next = 0;
  int64_t max_rss = rss_written;
  char expect[12];
  while (next < kMessages) {
    auto res = store->GetMessages("Accumulate", 0, QueueOffset(next), 32, 256 * 1024, nullptr);
    ASSERT_EQ(res.status, GetStatus::kFound) << next;
    for (const auto& m : res.messages) {
      ASSERT_EQ(m.queue_offset.value(), next);
      auto v = message::DecodeRecord(m.data, false);
      ASSERT_TRUE(v.ok());
      std::snprintf(expect, sizeof(expect), "%011lld", static_cast<long long>(next));
      ASSERT_EQ(v->body.substr(0, 11), std::string_view(expect, 11));
      ++next;
    }
    if ((next & 0xFFFF) < 32) max_rss = std::max(max_rss, RssAnonKiB());
  }
  max_rss = std::max(max_rss, RssAnonKiB());
  std::printf(
      "accumulation: %d messages of %zu-byte bodies in one queue; RssAnon before open "
      "%lld KiB, after writing %lld KiB, peak while reading %lld KiB (growth %lld KiB); "
      "commit log %lld bytes\n",
      kMessages, body.size(), static_cast<long long>(rss_before),
      static_cast<long long>(rss_written), static_cast<long long>(max_rss),
      static_cast<long long>(max_rss - rss_before),
      static_cast<long long>(store->Stats().written.value()));
  if (kMeasureMemory) {
    // The CommitLog alone is ~220 MB; the heap must not grow with it.
    EXPECT_LT(max_rss - rss_before, 64 * 1024) << "anonymous memory grew with the data";
  }
}

}  // namespace
}  // namespace ramjet::store
