// Recovery of the key index: the checkpoint against the index's fsyncs.
#include <gtest/gtest.h>

#include <string>

#include "checkpoint.h"
#include "ramjet/store/fault_injection_file_system.h"
#include "ramjet/store/message_store.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::Msg;
using testing::OpenStore;
using testing::ReadQueue;
using testing::SyncFlushConfig;
using testing::TempDir;
using testing::WaitForCheckpoints;

// The index's live file is fsynced every flushConsumeQueueThoroughInterval, not on every
// housekeeping pass: the checkpoint stays below the index entries written since, and after a
// crash every key is found, once.
TEST(RecoveryTest, TheCheckpointWaitsForTheIndexAndACrashLosesNoKey) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SyncFlushConfig(dir.path(), &fs, 1 << 20);
  cfg.max_hash_slot_num = 1024;
  cfg.max_index_num = 4096;
  cfg.consume_queue_entries_per_file = 1024;
  cfg.flush_consume_queue_thorough_interval_ms = 3600 * 1000;
  constexpr int kMessages = 128;  // two full runs of 64: no consume-queue entry waits in memory
  int64_t written = 0;
  {
    auto store = OpenStore(cfg);
    WaitForCheckpoints(dir.path(), 1);  // the first pass syncs the (empty) index
    for (int i = 0; i < kMessages; ++i) {
      auto m = Msg("T", 0, "m" + std::to_string(i), "", "k" + std::to_string(i));
      ASSERT_TRUE(store->PutMessage(m.Input()).ok());
    }
    ASSERT_TRUE(store->WaitDispatched(5000));
    written = store->Stats().written.value();
    WaitForCheckpoints(dir.path(), 3);
    auto cp = Checkpoint::Load(PosixFileSystem(), dir.path() + "/checkpoint");
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    EXPECT_EQ(cp->physic_flushed_offset, written);
    EXPECT_LT(cp->logics_flushed_offset, written) << "the index was not synced since the puts";
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
  }
  fs.Reset();
  auto store = OpenStore(cfg);
  EXPECT_TRUE(store->Stats().recovered_after_crash);
  EXPECT_EQ(ReadQueue(store.get(), "T", 0).size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    auto q = store->QueryMessages("T", "k" + std::to_string(i), 4, 0, INT64_MAX);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ(q->size(), 1u) << "k" << i;
    EXPECT_EQ((*q)[0].view.body, "m" + std::to_string(i));
  }
  // A clean shutdown syncs the index: the checkpoint then covers everything.
  ASSERT_TRUE(store->Shutdown().ok());
  auto cp = Checkpoint::Load(PosixFileSystem(), dir.path() + "/checkpoint");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->logics_flushed_offset, written);
}

}  // namespace
}  // namespace ramjet::store
