#include "consume_queue.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ramjet::store
