// Segment: one fixed-size, preallocated, memory-mapped file of a segmented log (CommitLog or
// ConsumeQueue), named by the 20-digit decimal byte offset at which it starts.
// SegmentQueue: the ordered list of a log's segments.
//
// Positions ("wrote", "flushed") are relative to the segment's base offset.
// Threading: one writer appends (callers serialize writes); readers may read [0, wrote) from the
// mapping concurrently. The segment list is guarded by a mutex; readers take a snapshot or a
// shared_ptr to a segment, which keeps the mapping alive after the file is deleted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/store/file_system.h"

namespace ramjet::store {

// "00000000001073741824" for 1073741824.
std::string OffsetToFileName(int64_t offset);
// Parses a 20-digit name; false if the name is not one.
bool FileNameToOffset(const std::string& name, int64_t* offset);

class Segment {
 public:
  // Creates (or reopens) a file at path, preallocated to size bytes, and maps it.
  static Result<std::shared_ptr<Segment>> Create(FileSystem* fs, const std::string& path,
                                                 int64_t base, int64_t size);
  // Opens an existing file. A file shorter than size is reported through *original_size and
  // extended (its missing tail reads as zeros).
  static Result<std::shared_ptr<Segment>> OpenExisting(FileSystem* fs, const std::string& path,
                                                       int64_t base, int64_t size,
                                                       int64_t* original_size);

  int64_t base() const { return base_; }
  int64_t size() const { return size_; }
  int64_t end() const { return base_ + size_; }
  const std::string& path() const { return path_; }
  const char* data() const { return region_->data(); }
  File* file() { return file_.get(); }

  int64_t wrote() const { return wrote_.load(std::memory_order_acquire); }
  void set_wrote(int64_t pos) { wrote_.store(pos, std::memory_order_release); }
  int64_t flushed() const { return flushed_.load(std::memory_order_acquire); }
  void set_flushed(int64_t pos) { flushed_.store(pos, std::memory_order_release); }
  int64_t remaining() const { return size_ - wrote(); }

  // Writes data at relative position pos. Does not move "wrote".
  Status WriteAt(int64_t pos, std::string_view data);
  // Fsyncs if anything was written since the last flush; flushed := wrote at entry.
  Status Flush();

 private:
  Segment(std::string path, int64_t base, int64_t size, std::unique_ptr<File> file,
          std::shared_ptr<MappedRegion> region)
      : path_(std::move(path)),
        base_(base),
        size_(size),
        file_(std::move(file)),
        region_(std::move(region)) {}

  const std::string path_;
  const int64_t base_;
  const int64_t size_;
  std::unique_ptr<File> file_;
  std::shared_ptr<MappedRegion> region_;
  std::atomic<int64_t> wrote_{0};
  std::atomic<int64_t> flushed_{0};
};

using SegmentPtr = std::shared_ptr<Segment>;

class SegmentQueue {
 public:
  // size_key names the configuration key that sets segment_size; start-up errors about a
  // store written with another geometry name it.
  SegmentQueue(FileSystem* fs, std::string dir, int64_t segment_size,
               std::string size_key = "segment size")
      : fs_(fs),
        dir_(std::move(dir)),
        segment_size_(segment_size),
        size_key_(std::move(size_key)) {}

  struct LoadReport {
    std::vector<std::string> problems;    // human-readable, logged by the caller
    std::vector<int64_t> short_segments;  // bases of segments that were shorter than their size
  };
  // Opens every segment file in dir. Files with foreign names are reported and ignored. A gap in
  // the sequence drops the segments after it (reported). A store written with another segment
  // size (a segment longer than segment_size, a name not on a segment boundary, or a short
  // segment directly followed by the next one) is refused with kInvalidArgument naming the file
  // and the size key: nothing is opened, extended or truncated. A short segment otherwise (a torn
  // allocation) is reported in short_segments and extended. Sets every segment's wrote = size; the
  // owner then sets the real positions during recovery.
  Status Load(LoadReport* report);

  const std::string& dir() const { return dir_; }
  int64_t segment_size() const { return segment_size_; }
  std::vector<SegmentPtr> Snapshot() const;
  SegmentPtr First() const;
  SegmentPtr Last() const;
  // The segment holding offset, or null.
  SegmentPtr Find(int64_t offset) const;
  bool empty() const;
  size_t count() const;
  // Creates the segment starting at base (must be the next one, or the first).
  Result<SegmentPtr> CreateAt(int64_t base);
  // Discards everything at and after offset: zeroes the rest of its segment and deletes later
  // segments. Sets wrote/flushed of the segment holding offset.
  // zero_tail=false: the caller knows the rest is zeros already (a clean shutdown's end).
  Status TruncateFrom(int64_t offset, bool zero_tail = true);
  // Removes seg (must be the first) from the list and deletes its file.
  Status RemoveFirst(const SegmentPtr& seg);
  // Deletes all files and the directory.
  Status Destroy();

 private:
  Status GeometryError(const std::string& name, const std::string& what) const;
  FileSystem* fs_;
  const std::string dir_;
  const int64_t segment_size_;
  const std::string size_key_;
  mutable std::mutex mu_;
  std::vector<SegmentPtr> segments_;
};

}  // namespace ramjet::store
