#include "segment.h"

#include <algorithm>
#include <cstdio>

#include "ramjet/base/logging.h"

namespace ramjet::store {

std::string OffsetToFileName(int64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(offset));
  return buf;
}

bool FileNameToOffset(const std::string& name, int64_t* offset) {
  if (name.size() != 20) return false;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *offset = v;
  return true;
}

Result<SegmentPtr> Segment::Create(FileSystem* fs, const std::string& path, int64_t base,
                                   int64_t size) {
  auto f = fs->OpenFile(path, true);
  if (!f.ok()) return f.status();
  std::unique_ptr<File> file = std::move(f).value();
  // A leftover file of the same name (e.g. one ignored after a gap) must not leak old records.
  Status s = file->Truncate(0);
  if (s.ok()) s = file->Allocate(static_cast<uint64_t>(size));
  if (!s.ok()) {
    file.reset();
    fs->RemoveFile(path).IgnoreError();
    return s;
  }
  auto region = file->Map(static_cast<uint64_t>(size), false);
  if (!region.ok()) return region.status();
  return SegmentPtr(new Segment(path, base, size, std::move(file), std::move(region).value()));
}

Result<SegmentPtr> Segment::OpenExisting(FileSystem* fs, const std::string& path, int64_t base,
                                         int64_t size, int64_t* original_size) {
  auto f = fs->OpenFile(path, false);
  if (!f.ok()) return f.status();
  std::unique_ptr<File> file = std::move(f).value();
  auto actual = file->Size();
  if (!actual.ok()) return actual.status();
  *original_size = static_cast<int64_t>(*actual);
  if (*original_size < size) {
    RJ_RETURN_IF_ERROR(file->Allocate(static_cast<uint64_t>(size)));
  }
  auto region = file->Map(static_cast<uint64_t>(size), false);
  if (!region.ok()) return region.status();
  return SegmentPtr(new Segment(path, base, size, std::move(file), std::move(region).value()));
}

Status Segment::WriteAt(int64_t pos, std::string_view data) {
  if (pos < 0 || pos + static_cast<int64_t>(data.size()) > size_)
    return Status::Internal("write past the end of segment " + path_);
  return file_->WriteAt(static_cast<uint64_t>(pos), data);
}

Status Segment::Flush() {
  int64_t w = wrote();
  if (w <= flushed()) return Status::OK();
  RJ_RETURN_IF_ERROR(file_->Sync());
  set_flushed(w);
  return Status::OK();
}

Status SegmentQueue::GeometryError(const std::string& name, const std::string& what) const {
  return Status::InvalidArgument(
      JoinPath(dir_, name) + " " + what + " " + size_key_ + "=" + std::to_string(segment_size_) +
      ": the store was written with another " + size_key_ +
      "; start with the value it was written with (nothing was changed)");
}

Status SegmentQueue::Load(LoadReport* report) {
  RJ_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  auto names = fs_->ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& n : *names) {
    int64_t off;
    if (!FileNameToOffset(n, &off)) {
      report->problems.push_back("ignoring foreign file " + JoinPath(dir_, n));
      continue;
    }
    if (off % segment_size_ != 0) return GeometryError(n, "does not start on a boundary of");
    found.emplace_back(off, n);
  }
  std::sort(found.begin(), found.end());
  // The geometry of every file is checked before any is opened (opening extends a short file).
  for (size_t i = 0; i < found.size(); ++i) {
    auto file = fs_->OpenFile(JoinPath(dir_, found[i].second), false);
    if (!file.ok()) return file.status();
    auto size = (*file)->Size();
    if (!size.ok()) return size.status();
    const int64_t actual = static_cast<int64_t>(*size);
    const std::string is = "is " + std::to_string(actual) + " bytes, ";
    if (actual > segment_size_) return GeometryError(found[i].second, is + "longer than");
    if (actual < segment_size_ && i + 1 < found.size() &&
        found[i + 1].first == found[i].first + actual) {
      return GeometryError(found[i].second, is + "and the next segment starts right after it: not");
    }
  }
  std::vector<SegmentPtr> segs;
  for (const auto& [off, name] : found) {
    if (!segs.empty() && segs.back()->end() != off) {
      report->problems.push_back("gap before segment " + JoinPath(dir_, name) +
                                 ": ignoring it and every later segment");
      break;
    }
    int64_t original = 0;
    auto seg = Segment::OpenExisting(fs_, JoinPath(dir_, name), off, segment_size_, &original);
    if (!seg.ok()) return seg.status();
    if (original != segment_size_) {
      report->problems.push_back("segment " + JoinPath(dir_, name) + " is " +
                                 std::to_string(original) + " bytes, expected " +
                                 std::to_string(segment_size_) + " (truncated or resized)");
      report->short_segments.push_back(off);
    }
    (*seg)->set_wrote(segment_size_);
    (*seg)->set_flushed(segment_size_);
    segs.push_back(std::move(seg).value());
  }
  std::lock_guard<std::mutex> l(mu_);
  segments_ = std::move(segs);
  return Status::OK();
}

std::vector<SegmentPtr> SegmentQueue::Snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return segments_;
}
SegmentPtr SegmentQueue::First() const {
  std::lock_guard<std::mutex> l(mu_);
  return segments_.empty() ? nullptr : segments_.front();
}
SegmentPtr SegmentQueue::Last() const {
  std::lock_guard<std::mutex> l(mu_);
  return segments_.empty() ? nullptr : segments_.back();
}
bool SegmentQueue::empty() const {
  std::lock_guard<std::mutex> l(mu_);
  return segments_.empty();
}
size_t SegmentQueue::count() const {
  std::lock_guard<std::mutex> l(mu_);
  return segments_.size();
}

SegmentPtr SegmentQueue::Find(int64_t offset) const {
  std::lock_guard<std::mutex> l(mu_);
  if (segments_.empty() || offset < segments_.front()->base()) return nullptr;
  size_t idx = static_cast<size_t>((offset - segments_.front()->base()) / segment_size_);
  if (idx >= segments_.size()) return nullptr;
  return segments_[idx];
}

Result<SegmentPtr> SegmentQueue::CreateAt(int64_t base) {
  bool first = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!segments_.empty() && segments_.back()->end() != base)
      return Status::Internal("new segment at " + std::to_string(base) +
                              " does not follow the last one");
    first = segments_.empty();
  }
  if (first) RJ_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  auto seg = Segment::Create(fs_, JoinPath(dir_, OffsetToFileName(base)), base, segment_size_);
  if (!seg.ok()) return seg.status();
  fs_->SyncDir(dir_).IgnoreError();  // best effort: the name becomes durable with the next sync
  std::lock_guard<std::mutex> l(mu_);
  segments_.push_back(*seg);
  return seg;
}

Status SegmentQueue::TruncateFrom(int64_t offset, bool zero_tail) {
  std::vector<SegmentPtr> doomed;
  SegmentPtr keep;
  {
    std::lock_guard<std::mutex> l(mu_);
    while (!segments_.empty() && segments_.back()->base() > offset) {
      doomed.push_back(segments_.back());
      segments_.pop_back();
    }
    if (!segments_.empty() && offset >= segments_.back()->base() &&
        offset < segments_.back()->end())
      keep = segments_.back();
  }
  for (auto& s : doomed) {
    RJ_LOG(kWarn, "store", "deleting segment %s beyond recovered end %lld", s->path().c_str(),
           static_cast<long long>(offset));
    RJ_RETURN_IF_ERROR(fs_->RemoveFile(s->path()));
  }
  if (keep) {
    int64_t rel = offset - keep->base();
    // The positions move even when zeroing fails (a full disk), so that nothing is appended
    // past the recovered end; the error is returned.
    keep->set_wrote(rel);
    keep->set_flushed(rel);
    if (zero_tail) {
      RJ_RETURN_IF_ERROR(keep->file()->ZeroRange(static_cast<uint64_t>(rel),
                                                 static_cast<uint64_t>(keep->size() - rel)));
      RJ_RETURN_IF_ERROR(keep->file()->Sync());
    }
  }
  return Status::OK();
}

Status SegmentQueue::RemoveFirst(const SegmentPtr& seg) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (segments_.empty() || segments_.front() != seg)
      return Status::Internal("not the first segment");
    segments_.erase(segments_.begin());
  }
  return fs_->RemoveFile(seg->path());
}

Status SegmentQueue::Destroy() {
  std::vector<SegmentPtr> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.swap(segments_);
  }
  for (auto& s : all) RJ_RETURN_IF_ERROR(fs_->RemoveFile(s->path()));
  if (!fs_->Exists(dir_)) return Status::OK();  // no file was ever created
  auto names = fs_->ListDir(dir_);
  if (names.ok())
    for (auto& n : *names) fs_->RemoveFile(JoinPath(dir_, n)).IgnoreError();
  return fs_->RemoveDir(dir_);
}

}  // namespace ramjet::store
