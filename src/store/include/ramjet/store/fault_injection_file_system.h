// A FileSystem wrapper for tests that injects the faults a store must survive:
//  - "power loss": every byte written with WriteAt since that file's last Sync is replaced by
//    zeros (as if the page cache were lost), and from then on every mutating call fails until
//    Reset(), so a still-running store cannot write after the "crash";
//  - failure of the next N writes / syncs / allocations with a given status (e.g. ENOSPC);
//  - a fake disk-usage ratio, to drive retention and disk-full logic.
// Writes made through writable mappings (index files) are not tracked: they are derived data.
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "ramjet/store/file_system.h"

namespace ramjet::store {

class FaultInjectionFileSystem : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

  // Drops all unsynced WriteAt data and freezes the file system (mutations fail).
  Status SimulatePowerLoss();
  // Unfreezes after SimulatePowerLoss and clears injected failures.
  void Reset();
  void FailNextWrites(int n, Status s);
  void FailNextSyncs(int n, Status s);
  void FailNextAllocates(int n, Status s);
  void SetDiskUsageRatio(std::optional<double> ratio);
  int64_t writes() const { return writes_.load(); }
  // Number of successful WriteAt calls on files whose path starts with prefix.
  int64_t WritesUnder(const std::string& prefix);

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override;
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Status CreateDirs(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Result<int64_t> ModifiedTimeMillis(const std::string& path) override {
    return base_->ModifiedTimeMillis(path);
  }
  Result<double> DiskUsageRatio(const std::string& path) override;
  bool IsDir(const std::string& path) override { return base_->IsDir(path); }

 private:
  friend class FaultInjectionFile;
  // Returns the injected failure for this kind of call, if any (consumes one).
  Status Check(int* counter, const Status& s);
  Status CheckFrozen(std::string_view what);
  void RecordWrite(const std::string& path, uint64_t off, uint64_t len);

  FileSystem* base_;
  std::mutex mu_;
  bool frozen_ = false;
  int fail_writes_ = 0, fail_syncs_ = 0, fail_allocates_ = 0;
  Status write_error_, sync_error_, allocate_error_;
  std::optional<double> disk_ratio_;
  // path -> unsynced [offset -> end) ranges
  std::map<std::string, std::map<uint64_t, uint64_t>> unsynced_;
  std::atomic<int64_t> writes_{0};
  std::map<std::string, int64_t> writes_by_path_;  // guarded by mu_
};

}  // namespace ramjet::store
