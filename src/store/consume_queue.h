// ConsumeQueue: the index of one topic/queue. Entry n (the message with queue offset n) is the
// 20 bytes at byte n*20: CommitLog offset int64, record size int32, tags code int64.
// Files hold consume_queue_entries_per_file entries and are named by their start byte.
//
// Threading: only the dispatcher (or recovery) writes; readers may run concurrently and see
// entries below max_offset(), which is published after each entry's write completes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

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

  // Writes the entry for queue_offset. Entries below max_offset() are duplicates and skipped.
  // Commits buffered entries first.
  Status Put(int64_t queue_offset, int64_t physical_offset, int32_t size, int64_t tags_code);
  // Like Put, but the entry is buffered: it is written, and max_offset() moves past it, only at
  // the next Commit (one write for a run of consecutive entries instead of one per entry).
  // Returns true if the entry was buffered (Commit is needed), false if it was written at once.
  Result<bool> Append(int64_t queue_offset, int64_t physical_offset, int32_t size,
                      int64_t tags_code);
  // Writes the buffered entries and publishes them. On error they are dropped (the dispatcher
  // dispatches them again; duplicates are skipped).
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
  // corrupt). Readers and recovery pass over skip entries.
  Status MarkSkipped(int64_t queue_offset);
  Status Flush();
  // Deletes files whose entries all point below commit_log_min and moves min_offset to the first
  // entry at or above it. Returns the number of files deleted.
  Result<int> DeleteBefore(int64_t commit_log_min);
  Status Destroy();

 private:
  Status WriteEntry(int64_t queue_offset, const CqEntry& e);
  // The file holding byte position pos, created if it is the next one.
  Result<SegmentPtr> SegmentFor(int64_t pos);

  // Buffered entries (Append/Commit; one writer: the dispatcher).
  static constexpr int64_t kMaxBuffered = 1024;
  std::string pending_;
  int64_t pending_first_ = 0;
  int64_t pending_count_ = 0;
  int64_t pending_phy_end_ = 0;

  const std::string topic_;
  const int32_t queue_id_;
  const int64_t file_size_;
  SegmentQueue files_;
  std::atomic<int64_t> min_offset_{0};
  std::atomic<int64_t> max_offset_{0};
  std::atomic<int64_t> max_phy_end_{0};
};

}  // namespace ramjet::store
