#include "commit_log.h"

#include <algorithm>
#include <charconv>

#include "ramjet/base/check.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/thread_util.h"
#include "ramjet/message/record.h"

namespace ramjet::store {

CommitLog::CommitLog(const StoreConfig& config, FileSystem* fs)
    : config_(config),
      fs_(fs),
      segments_(fs, JoinPath(config.root_dir, "commitlog"), config.commit_log_segment_size,
                "mappedFileSizeCommitLog") {}

CommitLog::~CommitLog() { StopFlushService(); }

void CommitLog::SetRecoveredEnd(int64_t end) {
  written_.store(end);
  flushed_.store(end);
}

namespace {

// The queue-offset key "<topic>-<queue id>", built in a reused per-thread buffer (a send that
// carries no handle builds one per message); valid until the thread's next call.
std::string_view QueueKeyView(std::string_view topic, int32_t queue_id) {
  thread_local std::string k;
  k.assign(topic);
  k.push_back('-');
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), queue_id);
  k.append(digits, end);
  return k;
}

}  // namespace

const std::shared_ptr<QueueHandle>& CommitLog::FindOrAddQueueLocked(std::string_view topic,
                                                                    int32_t queue_id) {
  std::string_view key = QueueKeyView(topic, queue_id);
  auto it = queue_offsets_.find(key);
  if (it == queue_offsets_.end()) {
    it = queue_offsets_
             .try_emplace(std::string(key),
                          std::make_shared<QueueHandle>(std::string(topic), queue_id))
             .first;
  }
  return it->second;
}

void CommitLog::SetQueueOffset(std::string_view topic, int32_t queue_id, int64_t next) {
  std::lock_guard<std::mutex> l(put_mu_);
  QueueHandle& q = *FindOrAddQueueLocked(topic, queue_id);
  if (next > q.next_offset_) q.next_offset_ = next;
}

std::shared_ptr<QueueHandle> CommitLog::ResolveQueue(std::string_view topic, int32_t queue_id) {
  std::lock_guard<std::mutex> l(put_mu_);
  return FindOrAddQueueLocked(topic, queue_id);
}

void CommitLog::RemoveQueueOffsets(std::string_view topic) {
  std::lock_guard<std::mutex> l(put_mu_);
  for (auto it = queue_offsets_.begin(); it != queue_offsets_.end();) {
    if (it->second->topic() == topic) {
      it->second->retired_.store(true, std::memory_order_release);
      it = queue_offsets_.erase(it);
    } else {
      ++it;
    }
  }
}

int64_t CommitLog::min_offset() const {
  auto first = segments_.First();
  return first ? first->base() : 0;
}

int64_t CommitLog::NextPositionLocked() const {
  return pending_.empty() ? written_.load(std::memory_order_relaxed)
                          : pending_pos_ + static_cast<int64_t>(pending_.size());
}

Status CommitLog::FlushPendingLocked() {
  if (pending_.empty()) return Status::OK();
  const int64_t pos = pending_pos_;
  const int64_t end = pos + static_cast<int64_t>(pending_.size());
  Status s = pending_seg_->WriteAt(pos - pending_seg_->base(), pending_);
  pending_.clear();
  SegmentPtr seg = std::move(pending_seg_);
  pending_seg_.reset();
  const int64_t count = pending_count_;
  pending_count_ = 0;
  if (!s.ok()) {
    // The queued records got offsets but are not in the log: nothing more may follow them.
    RJ_LOG(kError, "store",
           "deferred CommitLog write of %lld records at %lld failed, store "
           "becomes read-only: %s",
           static_cast<long long>(count), static_cast<long long>(pos), s.ToString().c_str());
    {
      std::lock_guard<std::mutex> fl(flush_mu_);
      if (flush_error_.ok()) flush_error_ = s;
    }
    // SYNC_FLUSH: the group commits waiting for these records fail now, with this error.
    if (config_.flush_disk_type == FlushDiskType::kSyncFlush) flush_service_.Wake();
    return s;
  }
  seg->set_wrote(end - seg->base());
  written_.store(end, std::memory_order_release);
  if (config_.flush_disk_type == FlushDiskType::kSyncFlush) {
    ZeroAheadLocked(*seg, end);
    // The group commit of these records was requested before they were written (RequestFlush
    // does not wake the service for records beyond written).
    flush_service_.Wake();
  }
  if (on_data_ && config_.flush_disk_type == FlushDiskType::kAsyncFlush) on_data_();
  if (on_append_) on_append_(end);
  return Status::OK();
}

// A segment is preallocated (fallocate): its blocks are allocated but unwritten, and the first
// write into one makes the next fdatasync commit that extent change to the journal as well. In
// SYNC_FLUSH, where a send waits for that fdatasync, the log therefore writes zeros ahead of its
// end, 1 MiB at a time: records land in blocks written already, and one fsync round per MiB
// carries the conversion. On this project's ext4 test host a 32 KiB write + fdatasync took
// 0.22-0.28 ms into fallocated blocks, 0.13-0.17 ms into zeroed ones. Zeros read as before (an
// unwritten block reads as zeros too), so recovery is unchanged; nothing below end is touched.
void CommitLog::ZeroAheadLocked(Segment& seg, int64_t end) {
  if (config_.flush_disk_type != FlushDiskType::kSyncFlush) return;
  constexpr int64_t kAhead = 1 << 20;
  constexpr int64_t kPiece = 64 << 10;
  alignas(4096) static const char kZeros[kPiece] = {};
  zeroed_end_ = std::max(zeroed_end_, end);
  if (zeroed_end_ - end >= kAhead / 2 || zeroed_end_ >= seg.end()) return;
  const int64_t to = std::min(seg.end(), zeroed_end_ + kAhead);
  for (int64_t p = zeroed_end_; p < to; p += kPiece) {
    const auto n = static_cast<size_t>(std::min(kPiece, to - p));
    // Best effort: a failing disk fails the next record's own write.
    if (!seg.WriteAt(p - seg.base(), std::string_view(kZeros, n)).ok()) return;
    zeroed_end_ = p + static_cast<int64_t>(n);
  }
}

Status CommitLog::FlushPendingAppends() {
  std::lock_guard<std::mutex> l(put_mu_);
  return FlushPendingLocked();
}

Result<AppendOutcome> CommitLog::Append(std::string* records, const std::vector<uint32_t>& sizes,
                                        std::string_view topic, int32_t queue_id,
                                        QueueHandle* queue, bool advance_queue, bool defer) {
  const int64_t len = static_cast<int64_t>(records->size());
  const int64_t seg_size = config_.commit_log_segment_size;
  if (len + message::kEndFileMinBlankLength > seg_size)
    return Status::InvalidArgument("message of " + std::to_string(len) +
                                   " bytes does not fit in a CommitLog segment");
  std::lock_guard<std::mutex> l(put_mu_);
  {
    std::lock_guard<std::mutex> fl(flush_mu_);
    if (!flush_error_.ok())
      return Status::Unavailable("store not writable after flush failure: " +
                                 flush_error_.ToString());
  }
  int64_t pos = NextPositionLocked();
  SegmentPtr seg = segments_.Last();
  if (!seg || pos >= seg->end()) {
    RJ_RETURN_IF_ERROR(FlushPendingLocked());
    int64_t base = seg ? seg->end() : pos - pos % seg_size;
    auto created = segments_.CreateAt(base);
    if (!created.ok()) return created.status();
    seg = *created;
    if (pos < base) pos = base;
  }
  if (seg->end() - pos < len + message::kEndFileMinBlankLength) {
    RJ_RETURN_IF_ERROR(FlushPendingLocked());
    // Create the next segment first: if that fails, nothing changes.
    auto next = segments_.CreateAt(seg->end());
    if (!next.ok()) return next.status();
    char blank[8];
    EncodeBE32(blank, static_cast<uint32_t>(seg->end() - pos));
    EncodeBE32(blank + 4, message::kBlankMagic);
    RJ_RETURN_IF_ERROR(seg->WriteAt(pos - seg->base(), std::string_view(blank, 8)));
    seg->set_wrote(seg->size());
    pos = seg->end();
    written_.store(pos, std::memory_order_release);
    seg = *next;
  }
  const int64_t now = config_.clock_ms ? config_.clock_ms() : NowMillis();
  int64_t qoff = 0;
  if (advance_queue) {
    // A retired handle (its topic deleted) no longer holds the queue's offset: the name does.
    if (queue == nullptr || queue->retired_.load(std::memory_order_relaxed))
      queue = FindOrAddQueueLocked(topic, queue_id).get();
    qoff = queue->next_offset_;
  }
  char* p = records->data();
  int64_t phy = pos;
  for (size_t i = 0; i < sizes.size(); ++i) {
    message::PatchRecord(p, advance_queue ? qoff + static_cast<int64_t>(i) : 0, phy, now);
    p += sizes[i];
    phy += sizes[i];
  }
  if (defer) {
    if (pending_.empty()) {
      pending_pos_ = pos;
      pending_seg_ = seg;
    }
    pending_.append(*records);
    pending_count_ += static_cast<int64_t>(sizes.size());
  } else {
    RJ_RETURN_IF_ERROR(FlushPendingLocked());
    RJ_RETURN_IF_ERROR(seg->WriteAt(pos - seg->base(), *records));
    seg->set_wrote(pos + len - seg->base());
    ZeroAheadLocked(*seg, pos + len);
    written_.store(pos + len, std::memory_order_release);
  }
  if (advance_queue) queue->next_offset_ += static_cast<int64_t>(sizes.size());
  put_count_.fetch_add(static_cast<int64_t>(sizes.size()), std::memory_order_relaxed);
  if (defer) {
    // A full queue is written now (its records are only acknowledged later anyway).
    if (static_cast<int64_t>(pending_.size()) >= kMaxPendingBytes) {
      RJ_RETURN_IF_ERROR(FlushPendingLocked());
    }
  } else {
    if (on_data_ && config_.flush_disk_type == FlushDiskType::kAsyncFlush) on_data_();
    if (on_append_) on_append_(pos + len);
  }
  return AppendOutcome{pos, pos + len, qoff, now};
}

Status CommitLog::AppendRaw(int64_t at, std::string_view data) {
  const int64_t seg_size = config_.commit_log_segment_size;
  const auto len = static_cast<int64_t>(data.size());
  std::lock_guard<std::mutex> l(put_mu_);
  RJ_RETURN_IF_ERROR(FlushPendingLocked());
  {
    std::lock_guard<std::mutex> fl(flush_mu_);
    if (!flush_error_.ok())
      return Status::Unavailable("store not writable after flush failure: " +
                                 flush_error_.ToString());
  }
  SegmentPtr seg = segments_.Last();
  int64_t pos = written_.load(std::memory_order_relaxed);
  if (!seg && at != pos) {
    // An empty log starts where its master's stream starts: at a segment boundary.
    if (at < 0 || at % seg_size != 0) {
      return Status::InvalidArgument("an empty CommitLog can start only at a segment start, not " +
                                     std::to_string(at));
    }
    pos = at;
    flushed_.store(at, std::memory_order_release);
    written_.store(at, std::memory_order_release);
  }
  if (at != pos) {
    return Status::InvalidArgument("append at " + std::to_string(at) +
                                   " but the CommitLog ends at " + std::to_string(pos));
  }
  if (len == 0) return Status::OK();
  if (!seg || pos >= seg->end()) {
    auto created = segments_.CreateAt(seg ? seg->end() : pos - pos % seg_size);
    if (!created.ok()) return created.status();
    seg = *created;
  }
  if (pos + len > seg->end()) {
    return Status::InvalidArgument("replicated bytes [" + std::to_string(pos) + ", " +
                                   std::to_string(pos + len) +
                                   ") cross a segment end: the master's segment size differs");
  }
  RJ_RETURN_IF_ERROR(seg->WriteAt(pos - seg->base(), data));
  seg->set_wrote(pos + len - seg->base());
  written_.store(pos + len, std::memory_order_release);
  if (on_data_ && config_.flush_disk_type == FlushDiskType::kAsyncFlush) on_data_();
  if (on_append_) on_append_(pos + len);
  return Status::OK();
}

Status CommitLog::flush_error() const {
  std::lock_guard<std::mutex> l(flush_mu_);
  return flush_error_;
}

Status CommitLog::FlushAll() {
  std::lock_guard<std::mutex> sl(sync_mu_);
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    if (!flush_error_.ok()) return flush_error_;
  }
  const int64_t target = written();
  const int64_t from = flushed();
  if (target <= from) return Status::OK();
  Status s;
  const int64_t started_us = MonoMicros();
  for (auto& seg : segments_.Snapshot()) {
    if (seg->end() <= from || seg->base() >= target) continue;
    s = seg->Flush();
    if (!s.ok()) break;
  }
  fsync_micros_.Observe(MonoMicros() - started_us);
  fsync_bytes_.Observe(target - from);
  if (!s.ok()) {
    // After a failed fsync the page cache state is unknown (pages may be marked clean and lost):
    // stop accepting writes rather than acknowledge data that may not be durable.
    RJ_LOG(kError, "store", "CommitLog flush failed, store becomes read-only: %s",
           s.ToString().c_str());
    std::lock_guard<std::mutex> l(flush_mu_);
    flush_error_ = s;
    return s;
  }
  // flushed only grows, and never past written (written only grows too).
  RJ_CHECK(target >= from && target <= written(), "flushed %lld -> %lld, written %lld",
           static_cast<long long>(from), static_cast<long long>(target),
           static_cast<long long>(written()));
  flushed_.store(target, std::memory_order_release);
  return Status::OK();
}

void CommitLog::StartFlushService() {
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    accepting_ = true;
  }
  flush_service_.Start([this](ServiceThread& self) {
    if (config_.flush_disk_type == FlushDiskType::kSyncFlush) {
      SyncFlushLoop(self);
    } else {
      // An asynchronous flush is background work; a SYNC_FLUSH send waits for this thread.
      LowerCurrentThreadPriority(10);
      AsyncFlushLoop(self);
    }
  });
}

void CommitLog::StopFlushService() {
  // A failed write is logged; its records were never acknowledged.
  FlushPendingAppends().IgnoreError();
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    if (!accepting_) return;
    accepting_ = false;
  }
  flush_service_.Stop();
}

void CommitLog::RequestFlush(int64_t end, std::function<void(Status)> done) {
  std::unique_lock<std::mutex> l(flush_mu_);
  if (flush_error_.ok() && accepting_) {
    requests_.push_back(
        {end, MonoMicros() + config_.sync_flush_timeout_ms * 1000LL, std::move(done)});
    // A deferred append is not written yet: its write (FlushPendingLocked) wakes the service.
    const bool written_already = written() >= end;
    l.unlock();
    if (written_already) flush_service_.Wake();
    return;
  }
  const Status err = flush_error_;
  l.unlock();
  if (!err.ok()) {
    done(err);
    return;
  }
  // No flush service (shutting down): flush inline.
  Status s = FlushAll();
  done(s.ok() && flushed() < end ? Status::Timeout("flush did not reach the record") : s);
}

bool CommitLog::SyncWorkLocked() const {
  if (requests_.empty()) return false;
  if (!flush_error_.ok() || written() > flushed()) return true;
  // Nothing new to fsync: only a request for records flushed already can be served.
  for (const auto& r : requests_) {
    if (r.end <= flushed()) return true;
  }
  return false;
}

void CommitLog::StartWriteBack() {
  // 1 MiB per call: the kernel work of one call stays well under a millisecond, and each return
  // to user space lets a waiting request thread have the CPU (the kernel may not preempt).
  constexpr int64_t kChunk = 1 << 20;
  const int64_t from = flushed();
  const int64_t to = written();
  for (auto& seg : segments_.Snapshot()) {
    if (seg->end() <= from || seg->base() >= to) continue;
    for (int64_t p = std::max(from, seg->base()); p < std::min(to, seg->end()); p += kChunk) {
      int64_t len = std::min({kChunk, to - p, seg->end() - p});
      seg->file()->StartWriteBack(static_cast<uint64_t>(p - seg->base()),
                                  static_cast<uint64_t>(len));
    }
  }
}

void CommitLog::SyncFlushLoop(ServiceThread& self) {
  for (;;) {
    bool idle;
    {
      std::lock_guard<std::mutex> l(flush_mu_);
      idle = !SyncWorkLocked();
    }
    // A request, write or failure after this check wakes the service: the wait returns at once.
    // A wait that times out still fsyncs what was written (by sends that do not wait for it).
    if (idle) self.WaitFor(10);
    const bool stopping = self.stopping();
    Status sticky;
    std::deque<FlushRequest> batch = TakeRequests(&sticky);
    Status s;
    if (written() > flushed()) {
      s = FlushAll();
      if (on_data_) on_data_();
    }
    CompleteRequests(batch, s, sticky);
    if (stopping) {
      DrainOnStop();
      return;
    }
  }
}

void CommitLog::AsyncFlushLoop(ServiceThread& self) {
  int64_t last_thorough_us = MonoMicros();
  for (;;) {
    self.WaitFor(config_.flush_interval_commit_log_ms);
    const bool stopping = self.stopping();
    Status sticky;
    std::deque<FlushRequest> batch = TakeRequests(&sticky);
    const int64_t now = MonoMicros();
    const int64_t dirty = written() - flushed();
    const bool due = dirty >= config_.flush_commit_log_least_pages * 4096LL ||
                     (dirty > 0 && now - last_thorough_us >=
                                       config_.flush_commit_log_thorough_interval_ms * 1000LL);
    Status s;
    if ((due || stopping) && dirty > 0) {
      StartWriteBack();
      s = FlushAll();
      last_thorough_us = MonoMicros();
    }
    CompleteRequests(batch, s, sticky);
    if (stopping) {
      DrainOnStop();
      return;
    }
  }
}

std::deque<CommitLog::FlushRequest> CommitLog::TakeRequests(Status* sticky) {
  std::deque<FlushRequest> batch;
  std::lock_guard<std::mutex> l(flush_mu_);
  batch.swap(requests_);
  *sticky = flush_error_;
  return batch;
}

void CommitLog::CompleteRequests(std::deque<FlushRequest>& batch, const Status& s,
                                 const Status& sticky) {
  if (batch.empty()) return;
  const int64_t done_upto = flushed();
  const int64_t now = MonoMicros();
  std::deque<FlushRequest> pending;
  int64_t completed = 0;
  auto complete = [&] {
    for (auto& r : batch) {
      if (!s.ok()) {
        r.done(s);
      } else if (r.end <= done_upto) {
        r.done(Status::OK());
        ++completed;
      } else if (!sticky.ok()) {
        // A failed write (of deferred records, say): these never reached the log and must not
        // be answered as stored, nor as a flush timeout.
        r.done(sticky);
      } else if (now >= r.deadline_us) {
        r.done(Status::Timeout("sync flush timed out"));
      } else {
        pending.push_back(std::move(r));
      }
    }
  };
  if (config_.run_completions) {
    config_.run_completions(complete);
  } else {
    complete();
  }
  if (completed > 0) group_commit_requests_.Observe(completed);
  if (!pending.empty()) {
    std::lock_guard<std::mutex> l(flush_mu_);
    requests_.insert(requests_.begin(), std::make_move_iterator(pending.begin()),
                     std::make_move_iterator(pending.end()));
  }
}

void CommitLog::DrainOnStop() {
  std::deque<FlushRequest> rest;
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    rest.swap(requests_);
  }
  Status fs = FlushAll();
  for (auto& r : rest) {
    if (!fs.ok())
      r.done(fs);
    else if (r.end <= flushed())
      r.done(Status::OK());
    else
      r.done(Status::Timeout("flush did not reach the record"));
  }
}

}  // namespace ramjet::store
