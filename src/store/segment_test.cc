#include "segment.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "ramjet/store/fault_injection_file_system.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::TempDir;

TEST(SegmentTest, FileNames) {
  EXPECT_EQ(OffsetToFileName(0), "00000000000000000000");
  EXPECT_EQ(OffsetToFileName(1073741824), "00000000001073741824");
  int64_t off = 0;
  EXPECT_TRUE(FileNameToOffset("00000000001073741824", &off));
  EXPECT_EQ(off, 1073741824);
  EXPECT_FALSE(FileNameToOffset("0000000000107374182x", &off));
  EXPECT_FALSE(FileNameToOffset("123", &off));
}

TEST(SegmentTest, WriteReadThroughMapping) {
  TempDir dir;
  SegmentQueue q(PosixFileSystem(), dir.path() + "/log", 4096);
  SegmentQueue::LoadReport rep;
  ASSERT_TRUE(q.Load(&rep).ok());
  auto seg = q.CreateAt(0);
  ASSERT_TRUE(seg.ok());
  ASSERT_TRUE((*seg)->WriteAt(10, "abc").ok());
  EXPECT_EQ(std::string((*seg)->data() + 10, 3), "abc");  // pwrite visible through the mapping
  EXPECT_FALSE((*seg)->WriteAt(4095, "ab").ok());         // past the end
  auto seg2 = q.CreateAt(4096);
  ASSERT_TRUE(seg2.ok());
  EXPECT_FALSE(q.CreateAt(4096 * 3).ok());  // gap
  EXPECT_EQ(q.Find(5000), *seg2);
  EXPECT_EQ(q.Find(4095), *seg);
  EXPECT_EQ(q.Find(8192), nullptr);
}

TEST(SegmentTest, LoadReportsShortAndForeignFiles) {
  TempDir dir;
  std::string d = dir.path() + "/log";
  {
    SegmentQueue q(PosixFileSystem(), d, 4096);
    SegmentQueue::LoadReport rep;
    ASSERT_TRUE(q.Load(&rep).ok());
    ASSERT_TRUE(q.CreateAt(0).ok());
    ASSERT_TRUE(q.CreateAt(4096).ok());
  }
  ASSERT_EQ(::truncate((d + "/00000000000000004096").c_str(), 100), 0);
  FILE* f = std::fopen((d + "/junk").c_str(), "w");
  std::fclose(f);
  SegmentQueue q(PosixFileSystem(), d, 4096);
  SegmentQueue::LoadReport rep;
  ASSERT_TRUE(q.Load(&rep).ok());
  EXPECT_EQ(q.count(), 2u);
  ASSERT_EQ(rep.short_segments.size(), 1u);
  EXPECT_EQ(rep.short_segments[0], 4096);
  EXPECT_EQ(rep.problems.size(), 2u);
}

TEST(SegmentTest, AllocationFailureLeavesNoFile) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  SegmentQueue q(&fs, dir.path() + "/log", 4096);
  SegmentQueue::LoadReport rep;
  ASSERT_TRUE(q.Load(&rep).ok());
  fs.FailNextAllocates(1, Status::NoSpace("injected ENOSPC"));
  auto seg = q.CreateAt(0);
  EXPECT_EQ(seg.status().code(), StatusCode::kNoSpace);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(fs.Exists(dir.path() + "/log/00000000000000000000"));
}

}  // namespace

// A store written with another segment size is refused at load, naming the file and the key,
// and no file is changed (before, a smaller configured size truncated the log).
TEST(SegmentTest, LoadRefusesAnotherGeometryWithoutTouchingFiles) {
  TempDir dir;
  std::string d = dir.path() + "/log";
  {
    SegmentQueue q(PosixFileSystem(), d, 8192);
    SegmentQueue::LoadReport rep;
    ASSERT_TRUE(q.Load(&rep).ok());
    ASSERT_TRUE(q.CreateAt(0).ok());
    ASSERT_TRUE(q.CreateAt(8192).ok());
  }
  auto sizes = [&] {
    struct stat a {
    }, b{};
    ::stat((d + "/00000000000000000000").c_str(), &a);
    ::stat((d + "/00000000000000008192").c_str(), &b);
    return std::make_pair(a.st_size, b.st_size);
  };
  const auto before = sizes();
  for (int64_t configured : {4096, 16384, 12288}) {
    SegmentQueue q(PosixFileSystem(), d, configured, "mappedFileSizeCommitLog");
    SegmentQueue::LoadReport rep;
    Status s = q.Load(&rep);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << configured;
    EXPECT_NE(s.message().find("mappedFileSizeCommitLog=" + std::to_string(configured)),
              std::string::npos)
        << s.ToString();
    EXPECT_NE(s.message().find(d + "/0000000000000000"), std::string::npos) << s.ToString();
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(sizes(), before);
  }
  SegmentQueue q(PosixFileSystem(), d, 8192);
  SegmentQueue::LoadReport rep;
  EXPECT_TRUE(q.Load(&rep).ok());
  EXPECT_EQ(q.count(), 2u);
}

}  // namespace ramjet::store
