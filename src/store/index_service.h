// IndexFile: RocketMQ's on-disk hash index from message key to CommitLog offset
// (docs/formats/index.md). IndexService: the chain of index files, newest last.
//
// Threading: IndexService methods are thread-safe (one mutex): the dispatcher adds keys, request
// threads query. Index files are written through a writable mapping and fsynced by Flush().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/store/store_config.h"

namespace ramjet::store {

inline constexpr int kIndexHeaderSize = 40;
inline constexpr int kIndexSlotSize = 4;
inline constexpr int kIndexEntrySize = 20;

// Hash of a key for the index: abs(Java hashCode), negative result -> 0.
int32_t IndexKeyHash(std::string_view key);

class IndexFile {
 public:
  static Result<std::unique_ptr<IndexFile>> Create(FileSystem* fs, const std::string& path,
                                                   int slots, int max_entries);
  // Opens and validates an existing file.
  static Result<std::unique_ptr<IndexFile>> Open(FileSystem* fs, const std::string& path, int slots,
                                                 int max_entries);

  const std::string& path() const { return path_; }
  bool IsFull() const;
  // Adds key -> phy. False if full.
  bool Put(std::string_view key, int64_t phy_offset, int64_t store_timestamp) {
    return PutHash(IndexKeyHash(key), phy_offset, store_timestamp);
  }
  // The same for a key of this IndexKeyHash.
  bool PutHash(int32_t hash, int64_t phy_offset, int64_t store_timestamp);
  // Asks the CPU to fetch the hash's slot ahead of its PutHash (no effect on the contents).
  void PrefetchSlot(int32_t hash) const;
  // Appends offsets of entries whose hash matches key and whose time is in [begin, end].
  void Select(std::string_view key, int max, int64_t begin_ms, int64_t end_ms,
              std::vector<int64_t>* out) const;
  int64_t begin_timestamp() const;
  int64_t end_timestamp() const;
  int64_t begin_phy_offset() const;
  int64_t end_phy_offset() const;
  int32_t index_count() const;
  Status Flush() { return file_->Sync(); }

 private:
  IndexFile(std::string path, std::unique_ptr<File> file, std::shared_ptr<MappedRegion> map,
            int slots, int max_entries)
      : path_(std::move(path)),
        file_(std::move(file)),
        map_(std::move(map)),
        slots_(slots),
        max_entries_(max_entries) {}
  char* base() const { return map_->mutable_data(); }
  // The hash slot of a key of this IndexKeyHash, and the n-th entry.
  char* SlotFor(int32_t hash) const;
  char* EntryAt(int32_t n) const;

  std::string path_;
  std::unique_ptr<File> file_;
  std::shared_ptr<MappedRegion> map_;
  int slots_;
  int max_entries_;
};

class IndexService {
 public:
  IndexService(const StoreConfig& config, FileSystem* fs);
  // Loads index files; corrupt ones are deleted with an error log line.
  Status Load();
  // After CommitLog recovery: records at or after end may be new records written over a
  // truncated tail, so they must be indexed even if the newest file's end offset is past end.
  void SetRecoveredEnd(int64_t end);
  // Indexes one record (skipped if already indexed: a re-dispatch).
  Status Build(std::string_view topic, std::string_view keys, std::string_view uniq_key,
               int64_t phy_offset, int64_t store_timestamp);
  // Offsets of candidate records for topic#key, newest first.
  std::vector<int64_t> Query(std::string_view topic, std::string_view key, int max,
                             int64_t begin_ms, int64_t end_ms);
  Status Flush();
  // Deletes index files whose entries all point below commit_log_min (not the newest).
  int DeleteBefore(int64_t commit_log_min);
  size_t file_count();

 private:
  // A key of a record counted as indexed (below indexed_below_) whose entry is not yet written.
  struct PendingKey {
    int32_t hash;
    int64_t phy;
    int64_t ts;
  };
  // Keys wait for their entries in runs of kPendingKeys: each slot, at random in a table of
  // maxHashSlotNum x 4 bytes (20 MB), is prefetched when its key is queued and written a few
  // records later, when it is in cache (with 1,000 topics a slot write was a cache and TLB
  // miss, half a microsecond per message). Query, Flush and SetRecoveredEnd write them first;
  // a failed write keeps them (Build then fails until it succeeds; a crash re-dispatches).
  static constexpr size_t kPendingKeys = 16;
  Status DrainLocked();
  Status PutHashLocked(int32_t hash, int64_t phy, int64_t ts);

  const StoreConfig& config_;
  FileSystem* fs_;
  std::string dir_;
  std::mutex mu_;
  std::vector<std::unique_ptr<IndexFile>> files_;  // guarded by mu_
  int name_seq_ = 0;
  int64_t indexed_below_ = 0;        // guarded by mu_: records below this offset are indexed
  std::vector<PendingKey> pending_;  // guarded by mu_
  std::string key_buf_;  // guarded by mu_: Build's "topic#key" (kept: no allocation per key)
};

}  // namespace ramjet::store
