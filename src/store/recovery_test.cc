// Recovery: clean restart, crash (power loss through the fault-injecting file system and a real
// SIGKILL of a writer process), torn tails, corrupt and truncated files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "ramjet/store/fault_injection_file_system.h"
#include "ramjet/store/message_store.h"
#include "test_util.h"

namespace ramjet::store {
namespace {

using testing::Msg;
using testing::OpenStore;
using testing::ReadQueue;
using testing::SmallConfig;
using testing::SyncFlushConfig;
using testing::TempDir;
using testing::WaitForCheckpoints;

// SYNC_FLUSH through fs, with consume-queue entries kept in memory for up to a minute.
StoreConfig WriteBehindConfig(const std::string& root, FileSystem* fs) {
  auto cfg = SmallConfig(root);
  cfg.file_system = fs;
  cfg.flush_disk_type = FlushDiskType::kSyncFlush;
  cfg.flush_consume_queue_thorough_interval_ms = 60000;
  return cfg;
}

void CorruptByte(const std::string& path, int64_t offset) {
  FILE* f = std::fopen(path.c_str(), "r+");
  ASSERT_NE(f, nullptr);
  std::fseek(f, offset, SEEK_SET);
  int c = std::fgetc(f);
  std::fseek(f, offset, SEEK_SET);
  std::fputc(c ^ 0x5A, f);
  std::fclose(f);
}

void Touch(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "a");
  std::fclose(f);
}

std::string SegPath(const std::string& root, int64_t base) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(base));
  return root + "/commitlog/" + buf;
}

TEST(RecoveryTest, CleanRestartIsFastAndKeepsEverything) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(
          store
              ->PutMessage(
                  Msg("T", i % 3, "m" + std::to_string(i), "", "k" + std::to_string(i)).Input())
              .ok());
    ASSERT_TRUE(store->Shutdown().ok());
  }
  EXPECT_FALSE(PosixFileSystem()->Exists(dir.path() + "/abort"));
  auto store = OpenStore(cfg);
  auto st = store->Stats();
  EXPECT_FALSE(st.recovered_after_crash);
  EXPECT_EQ(st.recovery_scanned_records, 0);  // nothing to verify after a clean shutdown
  EXPECT_EQ(ReadQueue(store.get(), "T", 1).size(), 100u);
  auto r = store->PutMessage(Msg("T", 1, "after").Input());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->queue_offset.value(), 100);
  EXPECT_EQ(store->QueryMessages("T", "k42", 4, 0, INT64_MAX)->size(), 1u);
}

TEST(RecoveryTest, CrashRecoveryWorkIsBoundedByTheCheckpoint) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SyncFlushConfig(dir.path(), &fs, 1 << 20);
  // The index is fsynced (and the checkpoint may pass it) every 100 ms, not every 10 s.
  cfg.flush_consume_queue_thorough_interval_ms = 100;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(store->PutMessage(Msg("T", 0, "old" + std::to_string(i)).Input()).ok());
    ASSERT_TRUE(store->WaitDispatched(5000));
    // Let the housekeeper write two checkpoints after everything was dispatched (so one of them
    // covers all 2000 records), then write a little more and crash.
    WaitForCheckpoints(dir.path(), 2);
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(store->PutMessage(Msg("T", 0, "new" + std::to_string(i)).Input()).ok());
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
  }
  fs.Reset();
  auto store = OpenStore(cfg);
  auto st = store->Stats();
  EXPECT_TRUE(st.recovered_after_crash);
  // Only the tail after the checkpoint was verified, not the 2000 older records.
  EXPECT_GE(st.recovery_scanned_records, 20);
  EXPECT_LE(st.recovery_scanned_records, 200);
  auto all = ReadQueue(store.get(), "T", 0);
  ASSERT_EQ(all.size(), 2020u);
  EXPECT_EQ(all[1999], "old1999");
  EXPECT_EQ(all[2019], "new19");
}

// Write-behind: with many quiet queues, consume-queue entries wait in memory (no file write
// each). A crash loses them from the files, and the checkpoint must have stayed below them so
// that recovery rebuilds them from the CommitLog.
TEST(RecoveryTest, ConsumeQueueEntriesOnlyInMemoryAreRebuiltAfterACrash) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = WriteBehindConfig(dir.path(), &fs);
  constexpr int kQueues = 40;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 3; ++i)
      for (int q = 0; q < kQueues; ++q)
        ASSERT_TRUE(
            store
                ->PutMessage(Msg("T", q, "m" + std::to_string(q) + "-" + std::to_string(i)).Input())
                .ok());
    ASSERT_TRUE(store->WaitDispatched(5000));
    // Served to readers, but not in the queue's file.
    ASSERT_EQ(ReadQueue(store.get(), "T", 7).size(), 3u);
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/consumequeue/T/7/00000000000000000000"));
    // Two checkpoints after everything was dispatched, then the crash.
    WaitForCheckpoints(dir.path(), 2);
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
  }
  fs.Reset();
  auto store = OpenStore(cfg);
  EXPECT_TRUE(store->Stats().recovered_after_crash);
  for (int q = 0; q < kQueues; ++q) {
    auto all = ReadQueue(store.get(), "T", q);
    ASSERT_EQ(all.size(), 3u) << "queue " << q;
    EXPECT_EQ(all[2], "m" + std::to_string(q) + "-2");
  }
  auto r = store->PutMessage(Msg("T", 7, "after").Input());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->queue_offset.value(), 3);
}

// A topic deleted and created again, then a crash: the deleted topic's records must not come
// back into the new queue (they would take its offsets and its own entries would be dropped).
TEST(RecoveryTest, DeletedTopicDoesNotReturnAfterACrash) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = WriteBehindConfig(dir.path(), &fs);
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(store->PutMessage(Msg("Gone", 0, "old" + std::to_string(i)).Input()).ok());
    ASSERT_TRUE(store->WaitDispatched(5000));
    ASSERT_TRUE(store->DeleteTopic("Gone").ok());
    for (int i = 0; i < 2; ++i) {
      auto r = store->PutMessage(Msg("Gone", 0, "new" + std::to_string(i)).Input());
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->queue_offset.value(), i);
    }
    ASSERT_TRUE(store->WaitDispatched(5000));
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
  }
  fs.Reset();
  auto store = OpenStore(cfg);
  auto all = ReadQueue(store.get(), "Gone", 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], "new0");
  EXPECT_EQ(all[1], "new1");
}

// Power loss at random points while 4 threads append with SYNC_FLUSH: every acknowledged message
// must be readable, at its queue offset, after recovery; nothing torn is ever returned.
TEST(RecoveryTest, PowerLossLoopLosesNothingAcknowledged) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SyncFlushConfig(dir.path(), &fs, 256 * 1024);
  std::mt19937 rng(12345);
  std::map<std::pair<int, int64_t>, std::string> acked;  // (queue, offset) -> body
  int64_t total_acked = 0;
  for (int round = 0; round < 12; ++round) {
    auto store = OpenStore(cfg);
    ASSERT_TRUE(store);
    if (round > 0) {
      EXPECT_TRUE(store->Stats().recovered_after_crash);
    }
    // Verify everything acknowledged so far.
    for (int q = 0; q < 4; ++q) {
      for (const auto& [key, body] : acked) {
        if (key.first != q) continue;
        auto res = store->GetMessages("T", q, QueueOffset(key.second), 1, 1 << 20, nullptr);
        ASSERT_EQ(res.status, GetStatus::kFound)
            << "round " << round << " q" << q << " off " << key.second << " written "
            << store->Stats().written.value() << " scanned "
            << store->Stats().recovery_scanned_records << " max "
            << store->GetMaxOffsetInQueue("T", q).value();
        auto v = message::DecodeRecord(res.messages[0].data, true);
        ASSERT_TRUE(v.ok());
        ASSERT_EQ(v->body, body) << "round " << round << " q" << q << " offset " << key.second
                                 << " record queue offset " << v->queue_offset << " at "
                                 << v->physical_offset;
        ASSERT_EQ(res.messages[0].queue_offset.value(), key.second);
      }
      ReadQueue(store.get(), "T", q);  // asserts every record passes its CRC
    }
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        std::string pad(static_cast<size_t>(50 + t * 300), 'p');
        for (int i = 0; !stop.load() && i < 100000; ++i) {
          std::string body = "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" +
                             std::to_string(i) + pad;
          auto r = store->PutMessage(Msg("T", t, body).Input());
          if (!r.ok() || r->flush_timeout) continue;  // only durable acks count
          std::lock_guard<std::mutex> l(mu);
          acked[{t, r->queue_offset.value()}] = body;
          ++total_acked;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
    stop = true;
    for (auto& w : writers) w.join();
    store.reset();  // shutdown fails: the abort file stays
    fs.Reset();
  }
  EXPECT_GT(total_acked, 100);
  std::printf("power-loss loop: %lld acknowledged messages survived 12 crashes\n",
              static_cast<long long>(total_acked));
}

// A real process crash: a forked writer appends with SYNC_FLUSH and reports each acknowledged
// message through a pipe; the parent SIGKILLs it at a random moment, then verifies.
TEST(RecoveryTest, SigkillLoopLosesNothingAcknowledged) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  cfg.commit_log_segment_size = 256 * 1024;
  cfg.flush_disk_type = FlushDiskType::kSyncFlush;
  std::mt19937 rng(777);
  std::map<std::pair<int, int64_t>, std::string> acked;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto s = MessageStore::Open(cfg);
      if (!s.ok()) ::_exit(3);
      auto store = std::move(s).value();
      std::vector<std::thread> ts;
      for (int t = 0; t < 3; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < 1000000; ++i) {
            std::string body = "k" + std::to_string(round) + "-" + std::to_string(t) + "-" +
                               std::to_string(i) + std::string(static_cast<size_t>(i % 700), 'z');
            auto r = store->PutMessage(Msg("T", t, body).Input());
            if (!r.ok() || r->flush_timeout) continue;  // only durable acks count
            char line[64];
            int n = std::snprintf(line, sizeof(line), "%d %lld %d %d\n", t,
                                  static_cast<long long>(r->queue_offset.value()), round, i);
            if (::write(fds[1], line, static_cast<size_t>(n)) != n) ::_exit(4);
          }
        });
      }
      for (auto& t : ts) t.join();
      ::_exit(0);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    ::kill(pid, SIGKILL);
    // Drain everything the child reported before it died.
    std::string buf;
    char chunk[65536];
    ssize_t n;
    while ((n = ::read(fds[0], chunk, sizeof(chunk))) > 0)
      buf.append(chunk, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    size_t pos = 0;
    int lines = 0;
    while (pos < buf.size()) {
      size_t nl = buf.find('\n', pos);
      if (nl == std::string::npos) break;  // a torn report line: not counted as acknowledged
      int t, r, i;
      long long off;
      if (std::sscanf(buf.c_str() + pos, "%d %lld %d %d", &t, &off, &r, &i) == 4) {
        acked[{t, off}] = "k" + std::to_string(r) + "-" + std::to_string(t) + "-" +
                          std::to_string(i) + std::string(static_cast<size_t>(i % 700), 'z');
        ++lines;
      }
      pos = nl + 1;
    }
    EXPECT_GT(lines, 0) << "round " << round;
    auto store = OpenStore(cfg);
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->Stats().recovered_after_crash);
    for (int q = 0; q < 3; ++q) {
      auto bodies = ReadQueue(store.get(), "T", q);
      for (const auto& [key, body] : acked) {
        if (key.first != q) continue;
        ASSERT_LT(key.second, static_cast<int64_t>(bodies.size())) << "round " << round;
        ASSERT_EQ(bodies[static_cast<size_t>(key.second)], body);
      }
    }
  }
  std::printf("sigkill loop: %zu acknowledged messages survived 8 kills\n", acked.size());
}

TEST(RecoveryTest, TornTailIsTruncatedAndAppendsContinue) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  int64_t end = 0;
  std::string torn;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(store->PutMessage(Msg("T", 0, "m" + std::to_string(i)).Input()).ok());
    auto r = store->PutMessage(Msg("T", 0, std::string(500, 'x')).Input());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(store->WaitDispatched(5000));
    end = store->Stats().written.value();
    auto rec = store->ReadRecord(r->physical_offset);
    // A copy of the last record, as if written at the end and cut in half by a crash.
    torn = std::string(rec->data);
    ASSERT_TRUE(store->Shutdown().ok());
  }
  std::string with_pos = torn;
  for (int b = 0; b < 8; ++b)
    with_pos[28 + b] = static_cast<char>((static_cast<uint64_t>(end) >> (56 - 8 * b)) & 0xFF);
  {
    FILE* f = std::fopen(SegPath(dir.path(), 0).c_str(), "r+");
    std::fseek(f, end, SEEK_SET);
    std::fwrite(with_pos.data(), 1, with_pos.size() / 2, f);
    std::fclose(f);
  }
  Touch(dir.path() + "/abort");
  auto store = OpenStore(cfg);
  auto st = store->Stats();
  EXPECT_TRUE(st.recovered_after_crash);
  EXPECT_TRUE(st.recovery_truncated_tail);
  EXPECT_EQ(st.written.value(), end);
  auto r = store->PutMessage(Msg("T", 0, "after-crash").Input());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->queue_offset.value(), 11);
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto all = ReadQueue(store.get(), "T", 0);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(all.back(), "after-crash");
}

TEST(RecoveryTest, NewRecordsOverATruncatedTailAreIndexed) {
  TempDir dir;
  FaultInjectionFileSystem fs(PosixFileSystem());
  auto cfg = SmallConfig(dir.path());
  cfg.file_system = &fs;
  cfg.flush_interval_commit_log_ms = 100000;  // ASYNC_FLUSH that never flushes in time
  cfg.flush_commit_log_thorough_interval_ms = 1000000;
  cfg.flush_commit_log_least_pages = 100000;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(
          store->PutMessage(Msg("T", 0, "lost", "", "lost" + std::to_string(i)).Input()).ok());
    ASSERT_TRUE(store->WaitDispatched(5000));  // indexed (index pages survive, log pages do not)
    ASSERT_TRUE(fs.SimulatePowerLoss().ok());
  }
  fs.Reset();
  auto store = OpenStore(cfg);
  EXPECT_EQ(store->Stats().written.value(), 0);
  ASSERT_TRUE(store->PutMessage(Msg("T", 0, "fresh", "", "fresh-key").Input()).ok());
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto q = store->QueryMessages("T", "fresh-key", 4, 0, INT64_MAX);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].view.body, "fresh");
  EXPECT_TRUE(store->QueryMessages("T", "lost3", 4, 0, INT64_MAX)->empty());
}

TEST(RecoveryTest, CorruptRecordIsSkippedAndLaterRecordsKept) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  int64_t bad_pos = 0;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 100; ++i) {
      auto r = store->PutMessage(Msg("T", 0, "body-" + std::to_string(i)).Input());
      ASSERT_TRUE(r.ok());
      if (i == 50) bad_pos = r->physical_offset.value();
    }
    ASSERT_TRUE(store->Shutdown().ok());
  }
  // Flip a body byte of record 50 (body starts at +88 with IPv4 hosts), and lose the checkpoint
  // so recovery verifies the whole log.
  CorruptByte(SegPath(dir.path(), 0), bad_pos + 90);
  ASSERT_EQ(::unlink((dir.path() + "/checkpoint").c_str()), 0);
  Touch(dir.path() + "/abort");
  auto store = OpenStore(cfg);
  auto st = store->Stats();
  EXPECT_EQ(st.recovery_corrupt_records, 1);
  auto all = ReadQueue(store.get(), "T", 0);
  ASSERT_EQ(all.size(), 99u);  // only the corrupt one is gone
  EXPECT_EQ(all[49], "body-49");
  EXPECT_EQ(all[50], "body-51");
  EXPECT_EQ(all[98], "body-99");
  EXPECT_EQ(store->ReadRecord(PhysicalOffset(bad_pos)).status().code(), StatusCode::kCorruption);
  // And it stays skipped after another clean restart.
  ASSERT_TRUE(store->Shutdown().ok());
  store.reset();
  store = OpenStore(cfg);
  EXPECT_EQ(ReadQueue(store.get(), "T", 0).size(), 99u);
}

TEST(RecoveryTest, TruncatedMiddleSegmentKeepsIntactRecords) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());  // 64 KiB segments
  std::string body(900, 'b');
  std::vector<std::pair<int64_t, int64_t>> spans;  // [phy, end) of each record
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 250; ++i) {
      auto r = store->PutMessage(Msg("T", 0, std::to_string(i) + body).Input());
      ASSERT_TRUE(r.ok());
      spans.emplace_back(r->physical_offset.value(), r->physical_offset.value() + r->wrote_bytes);
    }
    ASSERT_GE(store->Stats().commit_log_segments, 3);
    ASSERT_TRUE(store->Shutdown().ok());
  }
  // Cut the second segment to 20 KiB.
  const int64_t cut = 64 * 1024 + 20 * 1024;
  ASSERT_EQ(::truncate(SegPath(dir.path(), 64 * 1024).c_str(), 20 * 1024), 0);
  std::vector<std::string> expected;
  for (size_t i = 0; i < spans.size(); ++i)
    if (spans[i].second <= cut || spans[i].first >= 2 * 64 * 1024)
      expected.push_back(std::to_string(i) + body);
  ASSERT_LT(expected.size(), 250u);
  auto store = OpenStore(cfg);
  // Exactly the records that lie in intact data survive, in order.
  EXPECT_EQ(ReadQueue(store.get(), "T", 0), expected);
  EXPECT_GE(store->Stats().recovery_corrupt_records, 1);
  auto r = store->PutMessage(Msg("T", 0, "new").Input());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->queue_offset.value(), 250);
}

TEST(RecoveryTest, CorruptCheckpointFallsBackToFullScan) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->PutMessage(Msg("T", 0, "x").Input()).ok());
    ASSERT_TRUE(store->Shutdown().ok());
  }
  CorruptByte(dir.path() + "/checkpoint", 50);
  auto store = OpenStore(cfg);
  EXPECT_EQ(store->Stats().recovery_scanned_records, 50);
  EXPECT_EQ(ReadQueue(store.get(), "T", 0).size(), 50u);
}

TEST(RecoveryTest, CorruptConsumeQueueIsRebuiltFromCommitLog) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  cfg.consume_queue_entries_per_file = 1000;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE(store->PutMessage(Msg("T", 0, "q" + std::to_string(i)).Input()).ok());
    ASSERT_TRUE(store->Shutdown().ok());
  }
  // Garbage in entry 120's size field.
  std::string cq = dir.path() + "/consumequeue/T/0/00000000000000000000";
  for (int b = 0; b < 4; ++b) CorruptByte(cq, 120 * 20 + 8 + b);
  auto store = OpenStore(cfg);
  auto all = ReadQueue(store.get(), "T", 0);
  ASSERT_EQ(all.size(), 200u);
  EXPECT_EQ(all[120], "q120");
  EXPECT_EQ(all[199], "q199");
}

TEST(RecoveryTest, GarbageFilesDoNotStopTheStore) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  {
    auto store = OpenStore(cfg);
    ASSERT_TRUE(store->PutMessage(Msg("T", 0, "x").Input()).ok());
    ASSERT_TRUE(store->Shutdown().ok());
  }
  Touch(dir.path() + "/commitlog/not-a-segment");
  Touch(dir.path() + "/consumequeue/T/notaqueue");
  Touch(dir.path() + "/index/garbage");
  auto store = OpenStore(cfg);
  ASSERT_TRUE(store);
  EXPECT_EQ(ReadQueue(store.get(), "T", 0).size(), 1u);
}

}  // namespace
}  // namespace ramjet::store

namespace ramjet::store {
namespace {

// A member rejoining under a new master cuts its log at the new term's start: everything from
// there (in this segment and later ones) is gone, queues and index forget it, and new records
// take its place.
TEST(RecoveryTest, CutAtATermStartDropsTheTailEverywhere) {
  TempDir dir;
  auto cfg = SmallConfig(dir.path());
  int64_t cut = 0;
  int64_t end = 0;
  {
    auto store = OpenStore(cfg);
    for (int i = 0; i < 300; ++i) {  // about 5 segments of 64 KiB
      auto r = store->PutMessage(
          Msg("T", 0, std::string(1000, 'a' + i % 26), "", "key" + std::to_string(i)).Input());
      ASSERT_TRUE(r.ok());
      if (i == 120) cut = r->physical_offset.value();
    }
    ASSERT_TRUE(store->WaitDispatched(5000));
    end = store->Stats().written.value();
    ASSERT_TRUE(store->Shutdown().ok());  // a clean shutdown: the checkpoint says "all of it"
  }
  cfg.truncate_commit_log_at = cut;
  auto store = OpenStore(cfg);
  EXPECT_LT(cut, end);
  EXPECT_EQ(store->Stats().written.value(), cut);
  EXPECT_LE(store->Stats().commit_log_segments, cut / cfg.commit_log_segment_size + 1);
  EXPECT_EQ(store->GetMaxOffsetInQueue("T", 0).value(), 120);
  EXPECT_TRUE(store->QueryMessages("T", "key200", 4, 0, INT64_MAX)->empty());
  auto r = store->PutMessage(Msg("T", 0, "new term", "", "key200").Input());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->physical_offset.value(), cut);
  EXPECT_EQ(r->queue_offset.value(), 120);
  ASSERT_TRUE(store->WaitDispatched(5000));
  auto all = ReadQueue(store.get(), "T", 0);
  ASSERT_EQ(all.size(), 121u);
  EXPECT_EQ(all.back(), "new term");
  auto q = store->QueryMessages("T", "key200", 4, 0, INT64_MAX);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].view.body, "new term");
}

}  // namespace
}  // namespace ramjet::store
