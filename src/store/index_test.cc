#include <gtest/gtest.h>

#include "index_service.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::TempDir;

TEST(IndexTest, KeyHashIsAbsJavaHash) {
  EXPECT_EQ(IndexKeyHash("a"), 97);
  EXPECT_EQ(IndexKeyHash("polygenelubricants"), 0);  // Integer.MIN_VALUE -> 0
  EXPECT_GE(IndexKeyHash("TopicTest#order-42"), 0);
}

TEST(IndexTest, PutSelectAndRollOver) {
  TempDir dir;
  StoreConfig cfg = testing::SmallConfig(dir.path());
  cfg.max_hash_slot_num = 8;  // many collisions
  cfg.max_index_num = 10;
  IndexService idx(cfg, PosixFileSystem());
  ASSERT_TRUE(idx.Load().ok());
  const int64_t t0 = 1700000000000;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        idx.Build("T", "k" + std::to_string(i % 5) + " all", "", 100 * (i + 1), t0 + i * 1000)
            .ok());
  }
  EXPECT_GE(idx.file_count(), 6u);  // 60 keys, 9 per file
  auto all = idx.Query("T", "all", 100, t0, t0 + 100000);
  EXPECT_EQ(all.size(), 30u);
  EXPECT_EQ(all.front(), 3000);  // newest first
  auto k3 = idx.Query("T", "k3", 100, t0, t0 + 100000);
  // Hash collisions may add candidates; every true match must be there.
  for (int i = 3; i < 30; i += 5)
    EXPECT_NE(std::find(k3.begin(), k3.end(), 100 * (i + 1)), k3.end()) << i;
  auto windowed = idx.Query("T", "all", 100, t0 + 10000, t0 + 12000);
  for (int64_t phy : windowed) EXPECT_TRUE(phy >= 1000 && phy <= 1300) << phy;
  EXPECT_TRUE(idx.Query("Other", "all", 100, t0, t0 + 100000).size() <= 30u);
  // Re-dispatch of an already indexed record adds nothing.
  ASSERT_TRUE(idx.Build("T", "all", "", 3000, t0 + 29000).ok());
  EXPECT_EQ(idx.Query("T", "all", 100, t0, t0 + 100000).size(), 30u);
  ASSERT_TRUE(idx.Flush().ok());
  IndexService reloaded(cfg, PosixFileSystem());
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Query("T", "all", 100, t0, t0 + 100000).size(), 30u);
  EXPECT_GT(reloaded.DeleteBefore(2000), 0);
}

TEST(IndexTest, CorruptFileIsDroppedNotFatal) {
  TempDir dir;
  StoreConfig cfg = testing::SmallConfig(dir.path());
  {
    IndexService idx(cfg, PosixFileSystem());
    ASSERT_TRUE(idx.Load().ok());
    ASSERT_TRUE(idx.Build("T", "a", "", 100, 1700000000000).ok());
    ASSERT_TRUE(idx.Flush().ok());
  }
  auto names = PosixFileSystem()->ListDir(dir.path() + "/index");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  ASSERT_EQ(::truncate((dir.path() + "/index/" + (*names)[0]).c_str(), 10), 0);
  IndexService idx(cfg, PosixFileSystem());
  ASSERT_TRUE(idx.Load().ok());
  EXPECT_EQ(idx.file_count(), 0u);
}

}  // namespace
}  // namespace ramjet::store
