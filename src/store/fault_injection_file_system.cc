#include "ramjet/store/fault_injection_file_system.h"

#include <string>

namespace ramjet::store {

class FaultInjectionFile : public File {
 public:
  FaultInjectionFile(FaultInjectionFileSystem* fs, std::unique_ptr<File> base)
      : fs_(fs), base_(std::move(base)) {}
  const std::string& path() const override { return base_->path(); }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    RJ_RETURN_IF_ERROR(fs_->CheckFrozen("write"));
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RJ_RETURN_IF_ERROR(fs_->Check(&fs_->fail_writes_, fs_->write_error_));
    }
    RJ_RETURN_IF_ERROR(base_->WriteAt(offset, data));
    fs_->writes_.fetch_add(1);
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      fs_->writes_by_path_[path()]++;
    }
    fs_->RecordWrite(path(), offset, data.size());
    return Status::OK();
  }
  Status ReadAt(uint64_t offset, size_t n, char* out, size_t* read) override {
    return base_->ReadAt(offset, n, out, read);
  }
  Status Sync() override {
    RJ_RETURN_IF_ERROR(fs_->CheckFrozen("sync"));
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RJ_RETURN_IF_ERROR(fs_->Check(&fs_->fail_syncs_, fs_->sync_error_));
    }
    // Ranges recorded before the sync began are durable once it returns.
    std::map<uint64_t, uint64_t> before;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      before = fs_->unsynced_[path()];
    }
    RJ_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard<std::mutex> l(fs_->mu_);
    // Power was lost while the fsync ran: it never completed.
    if (fs_->frozen_) return Status::IOError("injected power loss during fsync");
    auto& cur = fs_->unsynced_[path()];
    for (const auto& [off, end] : before) {
      auto it = cur.find(off);
      if (it == cur.end()) continue;
      // A write during the fsync may have extended this range: only what lies past the
      // synced part stays unsynced (zeroing fsynced bytes at a power loss would model a disk
      // that loses durable data).
      const uint64_t grown_end = it->second;
      cur.erase(it);
      if (grown_end > end) {
        auto [rest, inserted] = cur.emplace(end, grown_end);
        if (!inserted && rest->second < grown_end) rest->second = grown_end;
      }
    }
    return Status::OK();
  }
  Status Allocate(uint64_t size) override {
    RJ_RETURN_IF_ERROR(fs_->CheckFrozen("allocate"));
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RJ_RETURN_IF_ERROR(fs_->Check(&fs_->fail_allocates_, fs_->allocate_error_));
    }
    return base_->Allocate(size);
  }
  Status Truncate(uint64_t size) override {
    RJ_RETURN_IF_ERROR(fs_->CheckFrozen("truncate"));
    return base_->Truncate(size);
  }
  Status ZeroRange(uint64_t offset, uint64_t len) override {
    RJ_RETURN_IF_ERROR(fs_->CheckFrozen("zero"));
    RJ_RETURN_IF_ERROR(base_->ZeroRange(offset, len));
    fs_->RecordWrite(path(), offset, len);
    return Status::OK();
  }
  Result<uint64_t> Size() override { return base_->Size(); }
  Result<std::shared_ptr<MappedRegion>> Map(uint64_t size, bool writable) override {
    return base_->Map(size, writable);
  }
  Status TryLock() override { return base_->TryLock(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::unique_ptr<File> base_;
};

Status FaultInjectionFileSystem::Check(int* counter, const Status& s) {
  if (*counter > 0) {
    --*counter;
    return s;
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::CheckFrozen(std::string_view what) {
  std::lock_guard<std::mutex> l(mu_);
  if (frozen_) return Status::IOError(std::string("injected power loss: ") + std::string(what));
  return Status::OK();
}

void FaultInjectionFileSystem::RecordWrite(const std::string& path, uint64_t off, uint64_t len) {
  if (len == 0) return;
  std::lock_guard<std::mutex> l(mu_);
  auto& ranges = unsynced_[path];
  auto [it, inserted] = ranges.emplace(off, off + len);
  if (!inserted && it->second < off + len) it->second = off + len;
}

Status FaultInjectionFileSystem::SimulatePowerLoss() {
  std::map<std::string, std::map<uint64_t, uint64_t>> lost;
  {
    std::lock_guard<std::mutex> l(mu_);
    frozen_ = true;
    lost.swap(unsynced_);
  }
  for (const auto& [path, ranges] : lost) {
    if (ranges.empty() || !base_->Exists(path)) continue;
    auto f = base_->OpenFile(path, false);
    if (!f.ok()) return f.status();
    for (const auto& [off, end] : ranges) {
      RJ_RETURN_IF_ERROR((*f)->ZeroRange(off, end - off));
    }
  }
  return Status::OK();
}

int64_t FaultInjectionFileSystem::WritesUnder(const std::string& prefix) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& [path, count] : writes_by_path_)
    if (path.compare(0, prefix.size(), prefix) == 0) n += count;
  return n;
}

void FaultInjectionFileSystem::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  frozen_ = false;
  fail_writes_ = fail_syncs_ = fail_allocates_ = 0;
  unsynced_.clear();
}

void FaultInjectionFileSystem::FailNextWrites(int n, Status s) {
  std::lock_guard<std::mutex> l(mu_);
  fail_writes_ = n;
  write_error_ = std::move(s);
}
void FaultInjectionFileSystem::FailNextSyncs(int n, Status s) {
  std::lock_guard<std::mutex> l(mu_);
  fail_syncs_ = n;
  sync_error_ = std::move(s);
}
void FaultInjectionFileSystem::FailNextAllocates(int n, Status s) {
  std::lock_guard<std::mutex> l(mu_);
  fail_allocates_ = n;
  allocate_error_ = std::move(s);
}
void FaultInjectionFileSystem::SetDiskUsageRatio(std::optional<double> ratio) {
  std::lock_guard<std::mutex> l(mu_);
  disk_ratio_ = ratio;
}

Result<std::unique_ptr<File>> FaultInjectionFileSystem::OpenFile(const std::string& path,
                                                                 bool create) {
  if (create && !base_->Exists(path)) RJ_RETURN_IF_ERROR(CheckFrozen("create"));
  auto f = base_->OpenFile(path, create);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new FaultInjectionFile(this, std::move(f).value()));
}
Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  RJ_RETURN_IF_ERROR(CheckFrozen("mkdir"));
  return base_->CreateDirs(path);
}
Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  RJ_RETURN_IF_ERROR(CheckFrozen("unlink"));
  {
    std::lock_guard<std::mutex> l(mu_);
    unsynced_.erase(path);
  }
  return base_->RemoveFile(path);
}
Status FaultInjectionFileSystem::RemoveDir(const std::string& path) {
  RJ_RETURN_IF_ERROR(CheckFrozen("rmdir"));
  return base_->RemoveDir(path);
}
Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  RJ_RETURN_IF_ERROR(CheckFrozen("rename"));
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = unsynced_.find(from);
    if (it != unsynced_.end()) {
      unsynced_[to] = std::move(it->second);
      unsynced_.erase(from);
    }
  }
  return base_->Rename(from, to);
}
Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  RJ_RETURN_IF_ERROR(CheckFrozen("syncdir"));
  return base_->SyncDir(path);
}
Result<double> FaultInjectionFileSystem::DiskUsageRatio(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (disk_ratio_) return *disk_ratio_;
  }
  return base_->DiskUsageRatio(path);
}

}  // namespace ramjet::store
