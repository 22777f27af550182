// ConsumeQueue: the index of one topic/queue. Entry n (the message with queue offset n) is the
// 20 bytes at byte n*20: CommitLog offset int64, record size int32, tags code int64.
// Files hold consume_queue_entries_per_file entries and are named by their start byte.
//
// Write-behind: published entries reach the file in runs, not one write each. The newest entries
// (at most kTailEntries, within one file) live in an in-memory tail that readers read like the
// file; the tail is written when it is full, when its oldest unwritten entry is older than the
// housekeeper's write-behind age (Flush), or before any out-of-line write (Put). With thousands
// of queues each entry would otherwise be its own pwrite. Entries not yet written are not lost by
// a crash: the checkpoint's logics offset stays below them (Flush reports the bound), so recovery
// dispatches them again from the CommitLog.
//
// Threading: only the dispatcher (or recovery) appends, puts and commits; the housekeeper may
// Flush concurrently (write_mu_ orders their file writes). Readers may run concurrently and see
// entries below max_offset(), published (by Commit/Put) after each entry is in the tail or file.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/store/store_config.h"
#include "segment.h"

namespace ramjet::store {

inline constexpr int kCqUnitSize = 20;
inline constexpr int32_t kCqBlankSize = 0x7FFFFFFF;  // pre-blank padding entry {0, MAX, 0}

struct CqEntry {
  int64_t physical_offset;
  int32_t size;
  int64_t tags_code;
};

class ConsumeQueue {
 public:
  ConsumeQueue(FileSystem* fs, const std::string& root, std::string topic, int32_t queue_id,
               int64_t entries_per_file);

  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }

  struct RecoverReport {
    int64_t truncated_entries = 0;
    bool corrupt = false;          // an invalid entry was found before the end
    int64_t redispatch_from = -1;  // CommitLog offset to re-dispatch from, if entries were lost
    std::string problem;
  };
  // Loads files and finds the end: the first entry that is not valid (offset >= 0, size > 0,
  // increasing offsets, within [commit_log_min, commit_log_end)). Truncates there.
  Status Recover(int64_t commit_log_min, int64_t commit_log_end, RecoverReport* report);

  // Writes the entry for queue_offset to the file (with the tail before it). Entries below
  // max_offset() are duplicates and skipped. Commits buffered entries first.
  Status Put(int64_t queue_offset, int64_t physical_offset, int32_t size, int64_t tags_code);
  // Like Put, but the entry goes to the tail: max_offset() moves past it only at the next Commit.
  // Returns true if the entry was buffered (Commit is needed), false if it was written at once.
  Result<bool> Append(int64_t queue_offset, int64_t physical_offset, int32_t size,
                      int64_t tags_code);
  // Appended entries wait for Commit (dispatcher only).
  bool has_pending() const { return pending_count_ > 0; }
  // Publishes the appended entries (writing the tail out if it is full). On a write error they
  // stay in the tail, published, and are written by a later Commit, Flush or Put.
  Status Commit();

  int64_t min_offset() const { return min_offset_.load(std::memory_order_acquire); }
  int64_t max_offset() const { return max_offset_.load(std::memory_order_acquire); }
  // Commit log end of the last entry (for duplicate detection during dispatch).
  int64_t max_physical_end() const { return max_phy_end_.load(std::memory_order_acquire); }

  // Reads entry at offset (min <= offset < max). pin keeps the mapping alive.
  bool Get(int64_t offset, CqEntry* entry, std::shared_ptr<const void>* pin) const;
  // Pointer to up to *count consecutive raw entries starting at offset, within one file.
  const char* GetRange(int64_t offset, int64_t* count, std::shared_ptr<const void>* pin) const;

  // Replaces the entry at queue_offset by a skip entry {0, kCqBlankSize, 0} (its record is
  // corrupt). Readers and recovery pass over skip entries. Recovery (or the dispatcher) only.
  Status MarkSkipped(int64_t queue_offset);
  // Writes the tail out if its oldest unwritten entry is at least write_behind_ms old (0: always),
  // then fsyncs what was written. *unsynced_from (if given) is the CommitLog offset of the first
  // published entry not covered by this fsync (max when there is none): the checkpoint's logics
  // offset must stay at or below it. A failed write-out goes to *write_out (if given: the fsync
  // and *unsynced_from still happen) or is returned. With less than least_sync_bytes written
  // since the last fsync there is no fsync (RocketMQ's flushConsumeQueueLeastPages), and
  // *unsynced_from covers the entries written since.
  Status Flush(int64_t write_behind_ms = 0, int64_t* unsynced_from = nullptr,
               Status* write_out = nullptr, int64_t least_sync_bytes = 0);
  // Deletes files whose entries all point below commit_log_min and moves min_offset to the first
  // entry at or above it. Returns the number of files deleted.
  Result<int> DeleteBefore(int64_t commit_log_min);
  Status Destroy();

 private:
  // The CommitLog offset of the first real entry written to segs but not fsynced (max if none).
  static int64_t FirstUnsynced(const std::vector<SegmentPtr>& segs);
  // The newest entries: [first, first + capacity) of one file; entries below max_offset() are
  // immutable, so readers holding a pin read them without a lock.
  static constexpr int64_t kTailEntries = 64;
  struct Tail {
    int64_t first = 0;
    int64_t capacity = 0;
    char bytes[kTailEntries * kCqUnitSize];
  };

  // Writes whole entries starting at queue_offset's position (nothing once destroyed).
  Status WriteEntries(int64_t queue_offset, std::string_view bytes) RJ_REQUIRES(write_mu_);
  Status WriteEntry(int64_t queue_offset, const CqEntry& e) RJ_REQUIRES(write_mu_);
  // The file holding byte position pos, created if it is the next one.
  Result<SegmentPtr> SegmentFor(int64_t pos) RJ_REQUIRES(write_mu_);
  // Writes the published entries of the tail that are not in the file yet.
  Status WriteOutLocked() RJ_REQUIRES(write_mu_);
  // Writes the tail out and starts none (the next Append starts one).
  Status RetireTail() RJ_EXCLUDES(write_mu_);
  std::shared_ptr<const Tail> LoadTail() const RJ_EXCLUDES(tail_mu_);

  // The writer's view of the tail (dispatcher only; readers use tail_).
  Tail* wtail_ = nullptr;
  int64_t pending_count_ = 0;  // appended to the tail, not yet published
  int64_t pending_phy_end_ = 0;

  mutable Mutex tail_mu_;
  std::shared_ptr<Tail> tail_ RJ_GUARDED_BY(tail_mu_);
  Mutex write_mu_;  // file writes: the dispatcher's and the housekeeper's
  // Entries below written_end_ are in the file; [written_end_, max_offset_) only in the tail.
  std::atomic<int64_t> written_end_{0};
  // MonoMillis when the oldest entry not in the file was published.
  int64_t unwritten_since_ms_ RJ_GUARDED_BY(write_mu_) = 0;
  bool destroyed_ RJ_GUARDED_BY(write_mu_) = false;  // Destroy: no file writes any more

  const std::string topic_;
  const int32_t queue_id_;
  const int64_t file_size_;
  SegmentQueue files_;
  std::atomic<int64_t> min_offset_{0};
  std::atomic<int64_t> max_offset_{0};
  std::atomic<int64_t> max_phy_end_{0};
};

}  // namespace ramjet::store
