#include "consume_queue.h"

#include <algorithm>

#include "ramjet/base/check.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/logging.h"

namespace ramjet::store {
namespace {

CqEntry DecodeEntry(const char* p) {
  return CqEntry{static_cast<int64_t>(DecodeBE64(p)), static_cast<int32_t>(DecodeBE32(p + 8)),
                 static_cast<int64_t>(DecodeBE64(p + 12))};
}

void EncodeEntry(char* p, int64_t phy, int32_t size, int64_t tags_code) {
  EncodeBE64(p, static_cast<uint64_t>(phy));
  EncodeBE32(p + 8, static_cast<uint32_t>(size));
  EncodeBE64(p + 12, static_cast<uint64_t>(tags_code));
}

}  // namespace

ConsumeQueue::ConsumeQueue(FileSystem* fs, const std::string& root, std::string topic,
                           int32_t queue_id, int64_t entries_per_file)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      file_size_(entries_per_file * kCqUnitSize),
      files_(fs,
             JoinPath(JoinPath(JoinPath(root, "consumequeue"), topic_), std::to_string(queue_id)),
             entries_per_file * kCqUnitSize, "mappedFileSizeConsumeQueue") {}

Status ConsumeQueue::Recover(int64_t cl_min, int64_t cl_end, RecoverReport* report) {
  SegmentQueue::LoadReport load;
  RJ_RETURN_IF_ERROR(files_.Load(&load));
  for (const auto& p : load.problems) {
    RJ_LOG(kWarn, "store", "consume queue %s-%d: %s", topic_.c_str(), queue_id_, p.c_str());
    report->corrupt = true;
    report->problem = p;
  }
  auto segs = files_.Snapshot();
  if (segs.empty()) return Status::OK();
  // Minimum: first non-blank entry of the first file.
  {
    const auto& first = segs.front();
    int64_t n = first->size() / kCqUnitSize;
    int64_t i = 0;
    for (; i < n; ++i) {
      CqEntry e = DecodeEntry(first->data() + i * kCqUnitSize);
      if (e.size != kCqBlankSize) break;
    }
    min_offset_.store(first->base() / kCqUnitSize + i);
  }
  // Scan the last file (earlier files are full) for the end. With short files (truncation),
  // scan from the first short one.
  size_t start_idx = segs.size() - 1;
  // A crash can lose the unsynced tail of the previous file too: step back over files whose
  // first entry was never (durably) written, or points past the CommitLog's end (a log cut at a
  // new term's start: CutCommitLog).
  while (start_idx > 0) {
    CqEntry e = DecodeEntry(segs[start_idx]->data());
    const bool never_written = e.physical_offset == 0 && e.size == 0 && e.tags_code == 0;
    const bool beyond_log =
        e.size > 0 && e.size != kCqBlankSize && e.physical_offset + e.size > cl_end;
    if (!never_written && !beyond_log) break;
    --start_idx;
  }
  for (int64_t b : load.short_segments)
    for (size_t i = 0; i < segs.size(); ++i)
      if (segs[i]->base() == b && i < start_idx) start_idx = i;
  int64_t prev_end = -1;
  if (start_idx > 0) {
    const auto& prev = segs[start_idx - 1];
    CqEntry e = DecodeEntry(prev->data() + prev->size() - kCqUnitSize);
    if (e.size > 0 && e.size != kCqBlankSize) prev_end = e.physical_offset + e.size;
  }
  int64_t end_pos = segs[start_idx]->base();  // absolute byte position of the end
  bool stopped = false;
  for (size_t si = start_idx; si < segs.size() && !stopped; ++si) {
    const auto& seg = segs[si];
    int64_t n = seg->size() / kCqUnitSize;
    for (int64_t i = 0; i < n; ++i) {
      CqEntry e = DecodeEntry(seg->data() + i * kCqUnitSize);
      if (e.size == kCqBlankSize && e.physical_offset == 0 && e.tags_code == 0) {
        end_pos = seg->base() + (i + 1) * kCqUnitSize;
        continue;  // pre-blank padding or a skipped (corrupt) record
      }
      bool valid = e.physical_offset >= 0 && e.size > 0 && e.physical_offset >= prev_end &&
                   e.physical_offset + e.size <= cl_end;
      if (!valid) {
        stopped = true;
        bool empty_entry = e.physical_offset == 0 && e.size == 0 && e.tags_code == 0;
        bool beyond_log =
            e.size > 0 && e.physical_offset >= prev_end && e.physical_offset + e.size > cl_end;
        if (!empty_entry && !beyond_log) {
          report->corrupt = true;
          report->problem = "invalid entry at queue offset " +
                            std::to_string((seg->base() + i * kCqUnitSize) / kCqUnitSize);
        }
        break;
      }
      prev_end = e.physical_offset + e.size;
      end_pos = seg->base() + (i + 1) * kCqUnitSize;
    }
  }
  // Anything after end_pos is discarded.
  int64_t after = 0;
  for (const auto& seg : segs) {
    if (seg->end() <= end_pos) continue;
    int64_t from = std::max(end_pos, seg->base());
    int64_t n = seg->size() / kCqUnitSize;
    for (int64_t i = (from - seg->base()) / kCqUnitSize; i < n; ++i) {
      CqEntry e = DecodeEntry(seg->data() + i * kCqUnitSize);
      if (e.size != 0 || e.physical_offset != 0) ++after;
    }
  }
  const bool files_beyond = segs.back()->base() > end_pos;
  if (after > 0 || files_beyond) {
    report->truncated_entries = after;
    RJ_RETURN_IF_ERROR(files_.TruncateFrom(end_pos));
  } else if (auto seg = files_.Find(end_pos)) {
    seg->set_wrote(end_pos - seg->base());
    seg->set_flushed(end_pos - seg->base());
  }
  for (const auto& seg : files_.Snapshot())
    if (seg->end() <= end_pos) {
      seg->set_wrote(seg->size());
      seg->set_flushed(seg->size());
    }
  max_offset_.store(end_pos / kCqUnitSize);
  written_end_.store(end_pos / kCqUnitSize);
  max_phy_end_.store(prev_end < 0 ? 0 : prev_end);
  // Whatever was cut off is rebuilt from the CommitLog (records past its end do not exist, so
  // a crash-torn tail costs nothing; a corrupt entry in the middle gets its successors back).
  if (after > 0 || report->corrupt) report->redispatch_from = prev_end < 0 ? cl_min : prev_end;
  if (report->corrupt) {
    RJ_LOG(kError, "store",
           "consume queue %s-%d is corrupt (%s): truncated %lld entries at queue offset %lld; "
           "they are rebuilt from the CommitLog",
           topic_.c_str(), queue_id_, report->problem.c_str(), static_cast<long long>(after),
           static_cast<long long>(end_pos / kCqUnitSize));
  }
  if (min_offset_.load() > max_offset_.load()) min_offset_.store(max_offset_.load());
  return Status::OK();
}

Result<SegmentPtr> ConsumeQueue::SegmentFor(int64_t pos) {
  SegmentPtr seg = files_.Find(pos);
  if (seg) return seg;
  int64_t base = pos - pos % file_size_;
  SegmentPtr last = files_.Last();
  if (last && last->end() != base) return Status::Internal("consume queue file gap");
  auto created = files_.CreateAt(base);
  if (!created.ok()) return created.status();
  seg = *created;
  seg->set_wrote(0);
  seg->set_flushed(0);
  return seg;
}

Status ConsumeQueue::WriteEntries(int64_t queue_offset, std::string_view bytes) {
  if (destroyed_) return Status::OK();
  const int64_t pos = queue_offset * kCqUnitSize;
  RJ_ASSIGN_OR_RETURN(SegmentPtr seg, SegmentFor(pos));
  RJ_RETURN_IF_ERROR(seg->WriteAt(pos - seg->base(), bytes));
  const int64_t end_in_file = pos - seg->base() + static_cast<int64_t>(bytes.size());
  if (end_in_file > seg->wrote()) seg->set_wrote(end_in_file);
  return Status::OK();
}

Status ConsumeQueue::WriteEntry(int64_t queue_offset, const CqEntry& e) {
  char buf[kCqUnitSize];
  EncodeEntry(buf, e.physical_offset, e.size, e.tags_code);
  return WriteEntries(queue_offset, std::string_view(buf, kCqUnitSize));
}

std::shared_ptr<const ConsumeQueue::Tail> ConsumeQueue::LoadTail() const {
  MutexLock l(&tail_mu_);
  return tail_;
}

Status ConsumeQueue::WriteOutLocked() {
  const int64_t from = written_end_.load(std::memory_order_relaxed);
  const int64_t end = max_offset();
  if (from >= end) return Status::OK();
  std::shared_ptr<const Tail> t = LoadTail();
  RJ_CHECK(t != nullptr && from >= t->first && end <= t->first + t->capacity,
           "consume queue %s-%d: entries [%lld, %lld) not in its tail", topic_.c_str(), queue_id_,
           static_cast<long long>(from), static_cast<long long>(end));
  RJ_RETURN_IF_ERROR(
      WriteEntries(from, std::string_view(t->bytes + (from - t->first) * kCqUnitSize,
                                          static_cast<size_t>((end - from) * kCqUnitSize))));
  written_end_.store(end, std::memory_order_release);
  return Status::OK();
}

Status ConsumeQueue::RetireTail() {
  MutexLock l(&write_mu_);
  RJ_RETURN_IF_ERROR(WriteOutLocked());
  wtail_ = nullptr;
  MutexLock t(&tail_mu_);
  tail_.reset();
  return Status::OK();
}

Result<bool> ConsumeQueue::Append(int64_t queue_offset, int64_t phy, int32_t size,
                                  int64_t tags_code) {
  const int64_t end = max_offset() + pending_count_;
  if (queue_offset < end) return false;  // duplicate dispatch (recovery)
  const bool fits = wtail_ != nullptr && queue_offset - wtail_->first < wtail_->capacity;
  if (queue_offset != end || size <= 0 || phy < 0 || !fits) {
    RJ_RETURN_IF_ERROR(Commit());
    if (queue_offset != max_offset() || size <= 0 || phy < 0) {
      // Gaps, padding and implausible entries take the careful path.
      RJ_RETURN_IF_ERROR(Put(queue_offset, phy, size, tags_code));
      return false;
    }
    if (!fits) {
      RJ_RETURN_IF_ERROR(RetireTail());
      // A new tail from queue_offset to at most the end of its file.
      const int64_t per_file = file_size_ / kCqUnitSize;
      auto t = std::make_shared<Tail>();
      t->first = queue_offset;
      t->capacity = std::min(kTailEntries, per_file - queue_offset % per_file);
      wtail_ = t.get();
      MutexLock l(&tail_mu_);
      tail_ = std::move(t);
    }
  }
  EncodeEntry(wtail_->bytes + (queue_offset - wtail_->first) * kCqUnitSize, phy, size, tags_code);
  ++pending_count_;
  pending_phy_end_ = phy + size;
  return true;
}

Status ConsumeQueue::Commit() {
  if (pending_count_ == 0) return Status::OK();
  const int64_t end = max_offset() + pending_count_;
  pending_count_ = 0;
  MutexLock l(&write_mu_);
  if (written_end_.load(std::memory_order_relaxed) == max_offset())
    unwritten_since_ms_ = MonoMillis();
  max_phy_end_.store(pending_phy_end_, std::memory_order_release);
  max_offset_.store(end, std::memory_order_release);
  // A full tail is written now; the next Append starts another.
  if (end - wtail_->first == wtail_->capacity) return WriteOutLocked();
  return Status::OK();
}

Status ConsumeQueue::Put(int64_t queue_offset, int64_t phy, int32_t size, int64_t tags_code) {
  RJ_RETURN_IF_ERROR(Commit());
  RJ_RETURN_IF_ERROR(RetireTail());
  int64_t max = max_offset();
  if (queue_offset < max) return Status::OK();  // duplicate dispatch (recovery)
  // Record headers are not covered by the body CRC: refuse absurd offsets instead of padding.
  constexpr int64_t kMaxGap = 1 << 20;
  if (queue_offset - max > kMaxGap || size <= 0 || phy < 0)
    return Status::Corruption("entry for queue offset " + std::to_string(queue_offset) +
                              " is not plausible (queue end " + std::to_string(max) + ")");
  MutexLock l(&write_mu_);
  if (queue_offset > max) {
    if (max == 0 && files_.empty()) {
      // A queue that starts past 0 (its earlier entries were deleted): pad the first file.
      int64_t pos = queue_offset * kCqUnitSize;
      int64_t first = (pos - pos % file_size_) / kCqUnitSize;
      for (int64_t q = first; q < queue_offset; ++q)
        RJ_RETURN_IF_ERROR(WriteEntry(q, CqEntry{0, kCqBlankSize, 0}));
      min_offset_.store(queue_offset);
    } else {
      RJ_LOG(kWarn, "store", "consume queue %s-%d: gap from %lld to %lld, padding", topic_.c_str(),
             queue_id_, static_cast<long long>(max), static_cast<long long>(queue_offset));
      for (int64_t q = max; q < queue_offset; ++q)
        RJ_RETURN_IF_ERROR(WriteEntry(q, CqEntry{0, kCqBlankSize, 0}));
    }
  }
  RJ_RETURN_IF_ERROR(WriteEntry(queue_offset, CqEntry{phy, size, tags_code}));
  written_end_.store(queue_offset + 1, std::memory_order_release);
  max_phy_end_.store(phy + size, std::memory_order_release);
  max_offset_.store(queue_offset + 1, std::memory_order_release);
  return Status::OK();
}

bool ConsumeQueue::Get(int64_t offset, CqEntry* entry, std::shared_ptr<const void>* pin) const {
  int64_t one = 1;
  std::shared_ptr<const void> held;
  const char* p = GetRange(offset, &one, &held);
  if (p == nullptr) return false;
  *entry = DecodeEntry(p);
  if (pin) *pin = std::move(held);
  return true;
}

const char* ConsumeQueue::GetRange(int64_t offset, int64_t* count,
                                   std::shared_ptr<const void>* pin) const {
  int64_t max = max_offset();
  if (offset < min_offset() || offset >= max) return nullptr;
  if (offset >= written_end_.load(std::memory_order_acquire)) {
    std::shared_ptr<const Tail> t = LoadTail();
    if (t && offset >= t->first) {
      *count = std::min(*count, max - offset);
      const char* p = t->bytes + (offset - t->first) * kCqUnitSize;
      *pin = std::move(t);
      return p;
    }
  }
  // Entries below written_end_ are in the file (it was loaded after the tail, which is dropped
  // only once written).
  const int64_t written = written_end_.load(std::memory_order_acquire);
  SegmentPtr seg = files_.Find(offset * kCqUnitSize);
  if (!seg || offset >= written) return nullptr;
  int64_t in_file = (seg->end() - offset * kCqUnitSize) / kCqUnitSize;
  *count = std::min({*count, in_file, max - offset, written - offset});
  *pin = seg;
  return seg->data() + (offset * kCqUnitSize - seg->base());
}

Status ConsumeQueue::MarkSkipped(int64_t queue_offset) {
  if (queue_offset < 0 || queue_offset >= max_offset()) return Status::OutOfRange("no such entry");
  RJ_RETURN_IF_ERROR(Commit());
  RJ_RETURN_IF_ERROR(RetireTail());  // readers read the file from here on
  MutexLock l(&write_mu_);
  RJ_RETURN_IF_ERROR(WriteEntry(queue_offset, CqEntry{0, kCqBlankSize, 0}));
  // The entry may lie below the flushed position of its file: sync it explicitly.
  SegmentPtr seg = files_.Find(queue_offset * kCqUnitSize);
  return seg ? seg->file()->Sync() : Status::OK();
}

Status ConsumeQueue::Flush(int64_t write_behind_ms, int64_t* unsynced_from, Status* write_out,
                           int64_t least_sync_bytes) {
  {
    MutexLock l(&write_mu_);
    const int64_t max = max_offset();
    if (written_end_.load(std::memory_order_relaxed) < max &&
        (write_behind_ms <= 0 || MonoMillis() - unwritten_since_ms_ >= write_behind_ms)) {
      // A failed write (a full disk) keeps the entries in the tail: report it, still bound the
      // checkpoint below them and still fsync what is written.
      Status s = WriteOutLocked();
      if (!s.ok()) {
        if (write_out == nullptr) return s;
        if (write_out->ok()) *write_out = s;
      }
    }
    if (unsynced_from) {
      *unsynced_from = std::numeric_limits<int64_t>::max();
      const int64_t written = written_end_.load(std::memory_order_relaxed);
      if (written < max) {
        std::shared_ptr<const Tail> t = LoadTail();
        RJ_CHECK(t != nullptr && written >= t->first,
                 "consume queue %s-%d: entry %lld not in its tail", topic_.c_str(), queue_id_,
                 static_cast<long long>(written));
        *unsynced_from = DecodeEntry(t->bytes + (written - t->first) * kCqUnitSize).physical_offset;
      }
    }
  }
  auto segs = files_.Snapshot();
  if (least_sync_bytes > 0) {
    int64_t unsynced_bytes = 0;
    for (const auto& seg : segs) unsynced_bytes += seg->wrote() - seg->flushed();
    if (unsynced_bytes < least_sync_bytes) {
      if (unsynced_from) *unsynced_from = std::min(*unsynced_from, FirstUnsynced(segs));
      return Status::OK();
    }
  }
  // Everything written before the snapshot above is covered by these fsyncs.
  for (auto& seg : segs) RJ_RETURN_IF_ERROR(seg->Flush());
  return Status::OK();
}

int64_t ConsumeQueue::FirstUnsynced(const std::vector<SegmentPtr>& segs) {
  for (const auto& seg : segs) {
    // Entries below wrote() are in the file (published with release after the write).
    const int64_t wrote = seg->wrote();
    for (int64_t at = seg->flushed(); at + kCqUnitSize <= wrote; at += kCqUnitSize) {
      CqEntry e = DecodeEntry(seg->data() + at);
      if (e.size != kCqBlankSize) return e.physical_offset;  // skip and padding entries say nothing
    }
  }
  return std::numeric_limits<int64_t>::max();
}

Result<int> ConsumeQueue::DeleteBefore(int64_t cl_min) {
  int deleted = 0;
  for (;;) {
    auto segs = files_.Snapshot();
    if (segs.size() < 2) break;  // never delete the file being written
    const auto& first = segs.front();
    // The file's last real entry decides; skip/padding entries say nothing.
    bool live = false;
    for (int64_t i = first->size() / kCqUnitSize - 1; i >= 0; --i) {
      CqEntry e = DecodeEntry(first->data() + i * kCqUnitSize);
      if (e.size == kCqBlankSize) continue;
      live = e.physical_offset + e.size > cl_min;
      break;
    }
    if (live) break;
    RJ_RETURN_IF_ERROR(files_.RemoveFirst(first));
    ++deleted;
  }
  // Move the minimum to the first entry that still points into the CommitLog.
  int64_t off = std::max(min_offset(), files_.First() ? files_.First()->base() / kCqUnitSize : 0);
  int64_t max = max_offset();
  CqEntry e;
  while (off < max && Get(off, &e, nullptr) &&
         (e.size == kCqBlankSize || e.physical_offset < cl_min))
    ++off;
  if (off != min_offset()) min_offset_.store(off, std::memory_order_release);
  return deleted;
}

Status ConsumeQueue::Destroy() {
  {
    // Entries only in memory are dropped with the files, and nothing writes to this queue's
    // directory again (a dispatch round or a flush may still hold the queue).
    MutexLock l(&write_mu_);
    destroyed_ = true;
    written_end_.store(max_offset(), std::memory_order_release);
  }
  return files_.Destroy();
}

}  // namespace ramjet::store
