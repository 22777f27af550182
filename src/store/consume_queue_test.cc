#include "consume_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <thread>
#include <vector>

#include "ramjet/base/coding.h"
#include "store_impl.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::TempDir;

TEST(ConsumeQueueTest, PutGetAcrossFiles) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 1, 10);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(cq.Put(i, i * 100, 100, i).ok());
  EXPECT_EQ(cq.max_offset(), 25);
  EXPECT_EQ(cq.min_offset(), 0);
  CqEntry e;
  ASSERT_TRUE(cq.Get(13, &e, nullptr));
  EXPECT_EQ(e.physical_offset, 1300);
  EXPECT_EQ(e.size, 100);
  EXPECT_EQ(e.tags_code, 13);
  EXPECT_FALSE(cq.Get(25, &e, nullptr));
  // Duplicate dispatch is ignored.
  ASSERT_TRUE(cq.Put(5, 999999, 1, 1).ok());
  ASSERT_TRUE(cq.Get(5, &e, nullptr));
  EXPECT_EQ(e.physical_offset, 500);
  int64_t n = 100;
  std::shared_ptr<const void> pin;
  ASSERT_NE(cq.GetRange(8, &n, &pin), nullptr);
  EXPECT_EQ(n, 2);  // stops at the end of the first file
  // Files are 10 entries = 200 bytes, named by byte offset.
  EXPECT_TRUE(PosixFileSystem()->Exists(dir.path() + "/consumequeue/T/1/00000000000000000200"));
}

TEST(ConsumeQueueTest, RecoverFindsEndAndTruncatesBeyondCommitLog) {
  TempDir dir;
  {
    ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
    ConsumeQueue::RecoverReport rep;
    ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
    for (int i = 0; i < 15; ++i) ASSERT_TRUE(cq.Put(i, i * 100, 100, 0).ok());
    ASSERT_TRUE(cq.Flush().ok());
  }
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
  ConsumeQueue::RecoverReport rep;
  // The CommitLog was recovered only up to 1250: entries 12.. point past it.
  ASSERT_TRUE(cq.Recover(0, 1250, &rep).ok());
  EXPECT_EQ(cq.max_offset(), 12);
  EXPECT_EQ(rep.truncated_entries, 3);
  EXPECT_FALSE(rep.corrupt);
  ASSERT_TRUE(cq.Put(12, 1200, 50, 0).ok());
  EXPECT_EQ(cq.max_offset(), 13);
}

TEST(ConsumeQueueTest, CorruptEntryIsReported) {
  TempDir dir;
  {
    ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
    ConsumeQueue::RecoverReport rep;
    ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(cq.Put(i, i * 100, 100, 0).ok());
  }
  // Garbage over entry 4: negative size.
  std::string path = dir.path() + "/consumequeue/T/0/00000000000000000000";
  FILE* f = std::fopen(path.c_str(), "r+");
  std::fseek(f, 4 * 20 + 8, SEEK_SET);
  std::fputc(0xFF, f);
  std::fclose(f);
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  EXPECT_TRUE(rep.corrupt);
  EXPECT_EQ(cq.max_offset(), 4);
  EXPECT_EQ(rep.redispatch_from, 400);  // the end of the last intact entry
}

TEST(ConsumeQueueTest, QueueStartingPastZeroIsPadded) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  ASSERT_TRUE(cq.Put(23, 0, 100, 0).ok());
  EXPECT_EQ(cq.min_offset(), 23);
  EXPECT_EQ(cq.max_offset(), 24);
  ConsumeQueue again(PosixFileSystem(), dir.path(), "T", 0, 10);
  ASSERT_TRUE(again.Recover(0, 1 << 30, &rep).ok());
  EXPECT_EQ(again.min_offset(), 23);
  EXPECT_EQ(again.max_offset(), 24);
}

// The file's bytes for entry n (zeros until the entry is written; empty without the file).
std::string FileEntry(const std::string& root, int64_t n, int64_t per_file) {
  const int64_t base = n / per_file * per_file * kCqUnitSize;
  std::ifstream in(root + "/consumequeue/T/0/" + OffsetToFileName(base), std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = static_cast<size_t>(n * kCqUnitSize - base);
  return all.size() >= at + kCqUnitSize ? all.substr(at, kCqUnitSize) : std::string();
}

bool Written(const std::string& root, int64_t n, int64_t per_file) {
  const std::string bytes = FileEntry(root, n, per_file);
  return !bytes.empty() && bytes != std::string(kCqUnitSize, '\0');
}

TEST(ConsumeQueueTest, WriteBehindServesEntriesFromMemoryUntilTheyAreOldEnough) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 1000);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(*cq.Append(i, 1000 + i * 100, 100, i));
  EXPECT_EQ(cq.max_offset(), 0);  // appended, not published
  ASSERT_TRUE(cq.Commit().ok());
  EXPECT_EQ(cq.max_offset(), 10);
  CqEntry e;
  ASSERT_TRUE(cq.Get(7, &e, nullptr));
  EXPECT_EQ(e.physical_offset, 1700);
  EXPECT_EQ(e.tags_code, 7);
  int64_t n = 100;
  std::shared_ptr<const void> pin;
  ASSERT_NE(cq.GetRange(3, &n, &pin), nullptr);
  EXPECT_EQ(n, 7);
  EXPECT_FALSE(Written(dir.path(), 0, 1000));
  // Younger than the write-behind age: still only in memory, and the checkpoint must stay
  // below the first of them.
  int64_t unsynced = 0;
  ASSERT_TRUE(cq.Flush(60000, &unsynced).ok());
  EXPECT_EQ(unsynced, 1000);
  EXPECT_FALSE(Written(dir.path(), 9, 1000));
  ASSERT_TRUE(cq.Flush(0, &unsynced).ok());
  EXPECT_EQ(unsynced, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(Written(dir.path(), 0, 1000));
  EXPECT_TRUE(Written(dir.path(), 9, 1000));
  ASSERT_TRUE(cq.Get(9, &e, nullptr));
  EXPECT_EQ(e.physical_offset, 1900);
}

// flushConsumeQueueLeastPages: entries written to the file but not fsynced (too few bytes since
// the last fsync) hold the checkpoint below them until a pass that fsyncs them.
TEST(ConsumeQueueTest, AFlushBelowTheLeastBytesLeavesTheCheckpointBelowUnsyncedEntries) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 1000);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  auto append = [&](int from, int to) {
    for (int i = from; i < to; ++i) ASSERT_TRUE(*cq.Append(i, 1000 + i * 100, 100, i));
    ASSERT_TRUE(cq.Commit().ok());
  };
  append(0, 10);
  int64_t unsynced = 0;
  ASSERT_TRUE(cq.Flush(0, &unsynced, nullptr, 8192).ok());
  EXPECT_TRUE(Written(dir.path(), 9, 1000)) << "written out, only the fsync is left for later";
  EXPECT_EQ(unsynced, 1000);
  append(10, 20);
  ASSERT_TRUE(cq.Flush(0, &unsynced, nullptr, 8192).ok());
  EXPECT_EQ(unsynced, 1000);
  ASSERT_TRUE(cq.Flush(0, &unsynced).ok());  // a thorough pass
  EXPECT_EQ(unsynced, std::numeric_limits<int64_t>::max());
  // A skip entry says nothing about the CommitLog: the first real entry after it bounds.
  append(20, 22);
  ASSERT_TRUE(cq.MarkSkipped(20).ok());
  ASSERT_TRUE(cq.Flush(0, &unsynced, nullptr, 8192).ok());
  EXPECT_EQ(unsynced, 1000 + 21 * 100);
  // With enough bytes written since the last fsync, a pass fsyncs.
  append(22, 22 + 8192 / kCqUnitSize);
  ASSERT_TRUE(cq.Flush(0, &unsynced, nullptr, 8192).ok());
  EXPECT_EQ(unsynced, std::numeric_limits<int64_t>::max());
}

TEST(ConsumeQueueTest, FullTailIsWrittenAndRangesStopAtWhatIsWritten) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 1000);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  for (int i = 0; i < 70; ++i) {
    ASSERT_TRUE(cq.Append(i, i * 100, 100, 0).ok());
    if (i % 5 == 4) {
      ASSERT_TRUE(cq.Commit().ok());
    }
  }
  ASSERT_TRUE(cq.Commit().ok());
  EXPECT_EQ(cq.max_offset(), 70);
  // The first 64 filled a tail and were written as one run; the rest wait in memory.
  EXPECT_TRUE(Written(dir.path(), 63, 1000));
  EXPECT_FALSE(Written(dir.path(), 64, 1000));
  int64_t n = 100;
  std::shared_ptr<const void> pin;
  const char* p = cq.GetRange(60, &n, &pin);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(n, 4);  // the file's part
  n = 100;
  p = cq.GetRange(64, &n, &pin);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(n, 6);  // the tail's part
  EXPECT_EQ(static_cast<int64_t>(DecodeBE64(p + 5 * kCqUnitSize)), 6900);
}

TEST(ConsumeQueueTest, TailsStopAtFileEndsAndPutWritesThemFirst) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 10);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(cq.Append(i, i * 100, 100, 0).ok());
    ASSERT_TRUE(cq.Commit().ok());
  }
  // Files of 10 entries: two full tails were written, five entries wait.
  EXPECT_TRUE(Written(dir.path(), 19, 10));
  EXPECT_FALSE(Written(dir.path(), 20, 10));
  for (int i = 0; i < 25; ++i) {
    CqEntry e;
    ASSERT_TRUE(cq.Get(i, &e, nullptr)) << i;
    EXPECT_EQ(e.physical_offset, i * 100) << i;
  }
  // A gap takes the careful path, which writes the waiting entries first.
  ASSERT_TRUE(cq.Put(27, 2700, 100, 0).ok());
  EXPECT_TRUE(Written(dir.path(), 24, 10));
  EXPECT_EQ(cq.max_offset(), 28);
  ConsumeQueue again(PosixFileSystem(), dir.path(), "T", 0, 10);
  ASSERT_TRUE(again.Recover(0, 1 << 30, &rep).ok());
  EXPECT_EQ(again.max_offset(), 28);
}

// The dispatcher appends and commits, the housekeeper flushes (writing tails out) and two
// readers read concurrently: every entry a reader sees below max_offset() is the one written
// (physical offset = queue offset x 100), through the tail or the file.
TEST(ConsumeQueueTest, ReadersSeeEveryPublishedEntryWhileTailsAreWrittenOut) {
  TempDir dir;
  ConsumeQueue cq(PosixFileSystem(), dir.path(), "T", 0, 1000);
  ConsumeQueue::RecoverReport rep;
  ASSERT_TRUE(cq.Recover(0, 1 << 30, &rep).ok());
  constexpr int64_t kEntries = 20000;
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0}, seen{0};
  auto reader = [&] {
    int64_t from = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((!done.load() || from < cq.max_offset()) &&
           std::chrono::steady_clock::now() < deadline) {
      int64_t n = 50;
      std::shared_ptr<const void> pin;
      const char* p = cq.GetRange(from, &n, &pin);
      if (p == nullptr) {
        std::this_thread::yield();
        continue;
      }
      for (int64_t i = 0; i < n; ++i)
        if (static_cast<int64_t>(DecodeBE64(p + i * kCqUnitSize)) != (from + i) * 100) ++bad;
      CqEntry e;
      if (!cq.Get(from, &e, nullptr) || e.physical_offset != from * 100) ++bad;
      from += n;
      seen += n;
    }
  };
  std::thread flusher([&] {
    while (!done.load()) {
      int64_t unsynced = 0;
      if (!cq.Flush(0, &unsynced).ok()) ++bad;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::thread r1(reader), r2(reader);
  for (int64_t i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(cq.Append(i, i * 100, 100, 0).ok());
    if (i % 7 == 6) {
      ASSERT_TRUE(cq.Commit().ok());
    }
  }
  ASSERT_TRUE(cq.Commit().ok());
  done = true;
  r1.join();
  r2.join();
  flusher.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(seen.load(), 2 * kEntries);
  ASSERT_TRUE(cq.Flush(0, nullptr).ok());
  ConsumeQueue again(PosixFileSystem(), dir.path(), "T", 0, 1000);
  ASSERT_TRUE(again.Recover(0, 1 << 30, &rep).ok());
  EXPECT_EQ(again.max_offset(), kEntries);
}

// The dispatcher's per-topic queue array: ids arrive in any order (recovery reads directories
// unsorted, the dispatcher adds a queue with its first record) and each is found, once.
TEST(TopicQueuesTest, FindsEachQueueWhateverTheOrderItWasAddedIn) {
  TempDir dir;
  internal::TopicQueues qs;
  std::map<int32_t, ConsumeQueue*> made;
  for (int32_t id : {10, 2, 7, 0, 1023}) {
    auto cq = std::make_shared<ConsumeQueue>(PosixFileSystem(), dir.path(), "T", id, 10);
    made[id] = cq.get();
    qs[id] = std::move(cq);
  }
  EXPECT_EQ(qs[2].get(), made[2]);  // an existing id keeps its queue
  std::vector<int32_t> order;
  for (const auto& [id, cq] : qs) {
    order.push_back(id);
    EXPECT_EQ(cq.get(), made[id]);
  }
  EXPECT_EQ(order, (std::vector<int32_t>{0, 2, 7, 10, 1023}));
  for (const auto& [id, cq] : made) {
    ASSERT_NE(qs.Find(id), nullptr) << id;
    EXPECT_EQ(qs.Find(id)->get(), cq);
  }
  for (int32_t absent : {-1, 1, 3, 8, 11, 1024}) EXPECT_EQ(qs.Find(absent), nullptr) << absent;
}

}  // namespace
}  // namespace ramjet::store
