#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ramjet/store/file_system.h"

namespace ramjet::store {
namespace {

class PosixMappedRegion : public MappedRegion {
 public:
  PosixMappedRegion(char* p, size_t n, bool writable) : p_(p), n_(n), writable_(writable) {}
  ~PosixMappedRegion() override {
    if (p_ != nullptr && n_ > 0) ::munmap(p_, n_);
  }
  const char* data() const override { return p_; }
  char* mutable_data() override { return writable_ ? p_ : nullptr; }
  size_t size() const override { return n_; }

 private:
  char* p_;
  size_t n_;
  bool writable_;
};

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }
  const std::string& path() const override { return path_; }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "pwrite " + path_);
      }
      p += n;
      left -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return Status::OK();
  }

  Status ReadAt(uint64_t offset, size_t n, char* out, size_t* read) override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "pread " + path_);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    *read = got;
    return Status::OK();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::OK();
  }

  void StartWriteBack(uint64_t offset, uint64_t len) override {
    // Errors surface in the fdatasync that follows.
    (void)::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(len),
                            SYNC_FILE_RANGE_WRITE);
  }

  Status Allocate(uint64_t size) override {
    int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (rc == EOPNOTSUPP || rc == EINVAL) {
      if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
        return Status::FromErrno(errno, "ftruncate " + path_);
      return Status::OK();
    }
    if (rc != 0) return Status::FromErrno(rc, "fallocate " + path_);
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return Status::FromErrno(errno, "ftruncate " + path_);
    return Status::OK();
  }

  Status ZeroRange(uint64_t offset, uint64_t len) override {
    if (len == 0) return Status::OK();
    if (::fallocate(fd_, FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset),
                    static_cast<off_t>(len)) == 0)
      return Status::OK();
    // Fall back to writing zeros.
    static const std::string kZeros(64 * 1024, '\0');
    while (len > 0) {
      size_t n = len < kZeros.size() ? static_cast<size_t>(len) : kZeros.size();
      RJ_RETURN_IF_ERROR(WriteAt(offset, std::string_view(kZeros.data(), n)));
      offset += n;
      len -= n;
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "fstat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::shared_ptr<MappedRegion>> Map(uint64_t size, bool writable) override {
    if (size == 0) return std::shared_ptr<MappedRegion>(new PosixMappedRegion(nullptr, 0, false));
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return Status::FromErrno(errno, "mmap " + path_);
    return std::shared_ptr<MappedRegion>(
        new PosixMappedRegion(static_cast<char*>(p), size, writable));
  }

  Status TryLock() override {
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return Status::Busy("store is locked by another process: " + path_);
      return Status::FromErrno(errno, "flock " + path_);
    }
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFs : public FileSystem {
 public:
  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  bool IsDir(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  Status CreateDirs(const std::string& path) override {
    std::string cur;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      cur = path.substr(0, j);
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        return Status::FromErrno(errno, "mkdir " + cur);
      i = j + 1;
    }
    return Status::OK();
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Status::FromErrno(errno, "opendir " + path);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      out.emplace_back(e->d_name);
    }
    ::closedir(d);
    return out;
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink " + path);
    return Status::OK();
  }
  Status RemoveDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + path);
    return Status::OK();
  }
  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return Status::FromErrno(errno, "rename " + from + " -> " + to);
    return Status::OK();
  }
  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open dir " + path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(err, "fsync dir " + path);
    return Status::OK();
  }
  Result<int64_t> ModifiedTimeMillis(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }
  Result<double> DiskUsageRatio(const std::string& path) override {
    struct statvfs sv;
    if (::statvfs(path.c_str(), &sv) != 0) return Status::FromErrno(errno, "statvfs " + path);
    // As df's Use% and RocketMQ's UtilAll.getDiskPartitionSpaceUsedPercent: used / (used + space
    // available to unprivileged users). Blocks reserved for root count neither way, so a file
    // system with a large reserve is not "full" while df shows it far from full.
    const double used = static_cast<double>(sv.f_blocks - sv.f_bfree);
    const double avail = static_cast<double>(sv.f_bavail);
    if (used + avail <= 0) return 0.0;
    return used / (used + avail);
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static PosixFs fs;
  return &fs;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out += '/';
  out += b;
  return out;
}

Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view content) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (slash != std::string::npos) RJ_RETURN_IF_ERROR(fs->CreateDirs(dir));
  const std::string tmp = path + ".tmp";
  {
    RJ_ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->OpenFile(tmp, true));
    RJ_RETURN_IF_ERROR(f->Truncate(0));
    RJ_RETURN_IF_ERROR(f->WriteAt(0, content));
    RJ_RETURN_IF_ERROR(f->Sync());
  }
  RJ_RETURN_IF_ERROR(fs->Rename(tmp, path));
  return fs->SyncDir(dir);
}

Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path) {
  if (!fs->Exists(path)) return Status::NotFound(path + " does not exist");
  RJ_ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->OpenFile(path, false));
  RJ_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::string out(size, '\0');
  size_t read = 0;
  RJ_RETURN_IF_ERROR(f->ReadAt(0, size, out.data(), &read));
  out.resize(read);
  return out;
}

}  // namespace ramjet::store
