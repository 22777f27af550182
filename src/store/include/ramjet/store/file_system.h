// The store's single file I/O seam. Every byte the store reads or writes on disk goes through a
// FileSystem: segment files, consume queues, index files, the checkpoint, abort and lock files.
//
// Design: data files are written with positional writes (WriteAt, i.e. pwrite) so that every
// write can fail with a real error (ENOSPC, EIO) that is returned to the caller, and are read
// through read-only shared memory mappings (Map), which see every completed WriteAt because
// Linux has one page cache. Index files are the exception: they are updated through a writable
// mapping (they are derived data and rebuilt from the CommitLog after a crash).
//
// Thread-safety: FileSystem implementations are thread-safe. A File may be used by several
// threads at once for WriteAt/ReadAt on disjoint ranges; Truncate/Allocate must not race writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/base/status.h"

namespace ramjet::store {

// A memory mapping of the first size() bytes of a file. Unmapped on destruction.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual const char* data() const = 0;
  // Non-null only for writable mappings.
  virtual char* mutable_data() = 0;
  virtual size_t size() const = 0;
};

class File {
 public:
  virtual ~File() = default;
  virtual const std::string& path() const = 0;
  // Writes all of data at offset, or returns an error (nothing is promised about the range then).
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // Reads up to n bytes at offset into out; *read is the count (short at end of file).
  virtual Status ReadAt(uint64_t offset, size_t n, char* out, size_t* read) = 0;
  // Makes everything written so far (by WriteAt or through a writable mapping) durable.
  virtual Status Sync() = 0;
  // A hint: start writing [offset, offset+len) back to disk without waiting and without any
  // durability promise (Sync still has to follow). Lets a large flush be cut into short
  // system calls, so it never holds a CPU for long. Default: nothing.
  virtual void StartWriteBack(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
  }
  // Reserves disk blocks so that [0, size) can be written without ENOSPC.
  virtual Status Allocate(uint64_t size) = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // Sets [offset, offset+len) to zero bytes.
  virtual Status ZeroRange(uint64_t offset, uint64_t len) = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Result<std::shared_ptr<MappedRegion>> Map(uint64_t size, bool writable) = 0;
  // Takes an exclusive advisory lock (flock) or fails with kBusy if another process holds it.
  virtual Status TryLock() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RemoveDir(const std::string& path) = 0;  // must be empty
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<int64_t> ModifiedTimeMillis(const std::string& path) = 0;
  // Fraction (0..1) of the file system holding path that is in use.
  virtual Result<double> DiskUsageRatio(const std::string& path) = 0;
  virtual bool IsDir(const std::string& path) = 0;
};

// The real thing: POSIX calls on the local file system. Process-wide singleton.
FileSystem* PosixFileSystem();

// Joins path components with '/'.
std::string JoinPath(std::string_view a, std::string_view b);

// Small whole-file helpers over the seam, for metadata files (the broker's topics, groups,
// offsets, delay and timer progress), so that fault injection covers them too.
// Replaces path atomically: writes path.tmp, syncs it, renames it over path, syncs the directory
// (created if missing). On error the old file is intact.
Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view content);
// The whole file; kNotFound when it does not exist.
Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path);

}  // namespace ramjet::store
