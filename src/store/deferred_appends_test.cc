// DeferredAppends: appends queued on the I/O thread are written in one go by
// FinishDeferredAppends, are invisible before it, and a failed write withholds the
// acknowledgements of what it carried.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "ramjet/base/clock.h"
#include "ramjet/store/fault_injection_file_system.h"
#include "ramjet/store/message_store.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::Msg;
using testing::OpenStore;
using testing::SmallConfig;
using testing::TempDir;

// Puts n messages with deferral on; returns the results the callbacks saw.
std::vector<Result<PutResult>> PutDeferred(MessageStore* store, int n, const std::string& body) {
  std::vector<Result<PutResult>> out;
  DeferredAppends defer(true);
  for (int i = 0; i < n; ++i) {
    store->PutMessageAsync(Msg("T", 0, body + std::to_string(i)).Input(), true,
                           [&out](Result<PutResult> r) { out.push_back(std::move(r)); });
  }
  return out;
}

TEST(DeferredAppendsTest, QueuedAppendsAreWrittenTogetherByFinish) {
  TempDir dir;
  auto store = OpenStore(SmallConfig(dir.path()));
  ASSERT_TRUE(store);
  const int64_t before = store->Stats().written.value();
  auto results = PutDeferred(store.get(), 10, "deferred-");
  ASSERT_EQ(results.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->queue_offset.value(), i);
  }
  // Offsets are assigned, but nothing is in the log yet: not readable, not consumable.
  EXPECT_EQ(store->Stats().written.value(), before);
  EXPECT_FALSE(store->ReadRecord(results[0]->physical_offset).ok());

  EXPECT_TRUE(store->FinishDeferredAppends());
  EXPECT_GT(store->Stats().written.value(), results[9]->physical_offset.value());
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto got = store->GetMessages("T", 0, QueueOffset(0), 32, 1 << 20, nullptr);
  ASSERT_EQ(got.messages.size(), 10u);
  EXPECT_EQ(message::DecodeRecord(got.messages[9].data, true)->body, "deferred-9");

  // Without a DeferredAppends an append is written at once, after what was queued before it.
  auto queued = PutDeferred(store.get(), 2, "queued-");
  auto now = store->PutMessage(Msg("T", 0, "direct").Input());
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->queue_offset.value(), 12);
  EXPECT_TRUE(store->ReadRecord(queued[1]->physical_offset).ok());
  EXPECT_TRUE(store->ReadRecord(now->physical_offset).ok());
  EXPECT_TRUE(store->FinishDeferredAppends());  // nothing left: true
}

TEST(DeferredAppendsTest, QueuedAppendsRollSegmentsAndCapTheQueue) {
  TempDir dir;
  auto store = OpenStore(SmallConfig(dir.path()));  // 64 KiB segments
  ASSERT_TRUE(store);
  // 60 records of ~3 KiB: several segment rolls inside one deferred round.
  auto results = PutDeferred(store.get(), 60, std::string(3000, 'x'));
  ASSERT_EQ(results.size(), 60u);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status().ToString();
  // A roll writes what was queued before the blank marker: the first segments are in the log.
  EXPECT_TRUE(store->ReadRecord(results[0]->physical_offset).ok());
  EXPECT_TRUE(store->FinishDeferredAppends());
  EXPECT_GE(store->Stats().commit_log_segments, 3);
  ASSERT_TRUE(store->WaitDispatched(5000));
  for (int i = 0; i < 60; i += 7) {
    auto rec = store->ReadRecord(results[i]->physical_offset);
    ASSERT_TRUE(rec.ok()) << i << ": " << rec.status().ToString();
  }
  EXPECT_EQ(store->GetMaxOffsetInQueue("T", 0).value(), 60);
}

TEST(DeferredAppendsTest, AFailedWriteWithholdsTheAcknowledgementsAndStopsWrites) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SmallConfig(dir.path());
  cfg.file_system = &fs;
  cfg.flush_interval_consume_queue_ms = 3600 * 1000;  // no housekeeping write takes the failure
  auto store = OpenStore(cfg);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutMessage(Msg("T", 0, "a").Input()).ok());
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto results = PutDeferred(store.get(), 3, "lost-");
  ASSERT_EQ(results.size(), 3u);
  fs.FailNextWrites(1, Status::IOError("injected EIO"));
  EXPECT_FALSE(store->FinishDeferredAppends());  // the caller must not acknowledge them
  // The log refuses further appends rather than leave a hole behind acknowledged records.
  EXPECT_EQ(store->PutMessage(Msg("T", 0, "b").Input()).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto got = store->GetMessages("T", 0, QueueOffset(0), 32, 1 << 20, nullptr);
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(message::DecodeRecord(got.messages[0].data, true)->body, "a");
}

TEST(DeferredAppendsTest, ABlockingPutIsNeverDeferred) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  cfg.flush_disk_type = FlushDiskType::kSyncFlush;
  auto store = OpenStore(cfg);
  ASSERT_TRUE(store);
  DeferredAppends defer(true);
  // Acknowledged after its fsync: it cannot have waited for a FinishDeferredAppends.
  auto r = store->PutMessage(Msg("T", 0, "sync").Input());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->flush_timeout);
  EXPECT_TRUE(store->ReadRecord(r->physical_offset).ok());
}

// Under SYNC_FLUSH a deferred round is acknowledged by the group commit after its one write.
TEST(DeferredAppendsTest, SyncFlushAcknowledgesADeferredRoundAfterItsWriteAndFsync) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  cfg.flush_disk_type = FlushDiskType::kSyncFlush;
  auto store = OpenStore(cfg);
  ASSERT_TRUE(store);
  std::mutex mu;
  std::vector<Result<PutResult>> acks;
  int64_t flushed_at_last_ack = 0;
  {
    DeferredAppends defer(true);
    for (int i = 0; i < 5; ++i) {
      store->PutMessageAsync(Msg("T", 0, "r" + std::to_string(i)).Input(), true,
                             [&](Result<PutResult> r) {
                               std::lock_guard<std::mutex> l(mu);
                               acks.push_back(std::move(r));
                               flushed_at_last_ack = store->Stats().flushed.value();
                             });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    {
      std::lock_guard<std::mutex> l(mu);
      EXPECT_TRUE(acks.empty());  // not written yet, so not flushed
    }
    EXPECT_TRUE(store->FinishDeferredAppends());
  }
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (acks.size() == 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(acks.size(), 5u);
  for (const auto& a : acks) {
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_FALSE(a->flush_timeout);
  }
  EXPECT_GE(flushed_at_last_ack, acks[4]->physical_offset.value() + acks[4]->wrote_bytes);
}

// A failed write of a deferred round fails its SYNC_FLUSH acknowledgements with the error at
// once, rather than as a flush timeout (which would say "stored").
TEST(DeferredAppendsTest, SyncFlushFailsADeferredRoundWhoseWriteFailed) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SmallConfig(dir.path());
  cfg.file_system = &fs;
  cfg.flush_disk_type = FlushDiskType::kSyncFlush;
  cfg.flush_interval_consume_queue_ms = 3600 * 1000;  // no housekeeping write takes the failure
  auto store = OpenStore(cfg);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutMessage(Msg("T", 0, "a").Input()).ok());
  ASSERT_TRUE(store->WaitDispatched(5000));
  std::atomic<int> failed{0};
  std::atomic<int> other{0};
  const int64_t start = MonoMillis();
  {
    DeferredAppends defer(true);
    for (int i = 0; i < 3; ++i) {
      store->PutMessageAsync(Msg("T", 0, "lost").Input(), true, [&](Result<PutResult> r) {
        (r.status().code() == StatusCode::kIOError ? failed : other).fetch_add(1);
      });
    }
    fs.FailNextWrites(1, Status::IOError("injected EIO"));
    EXPECT_FALSE(store->FinishDeferredAppends());
  }
  for (int i = 0; i < 300 && failed.load() + other.load() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(failed.load(), 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_LT(MonoMillis() - start, 2000);  // not after the 5 s flush timeout
}

}  // namespace
}  // namespace ramjet::store
