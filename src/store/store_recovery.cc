// StoreImpl: open and recovery (see store_impl.h).
#include "store_impl.h"

namespace ramjet::store::internal {

// ---------------------------------------------------------------------------------------------
// Open and recovery

Status StoreImpl::Open() {
  const int64_t started_ms = MonoMillis();
  Status s = OpenAndRecover();
  recovery_stats_.recovery_ms = MonoMillis() - started_ms;
  return s;
}

Status StoreImpl::OpenAndRecover() {
  if (config_.commit_log_segment_size < 4096)
    return Status::InvalidArgument("commit_log_segment_size must be at least 4096");
  if (config_.consume_queue_entries_per_file < 1)
    return Status::InvalidArgument("consume_queue_entries_per_file must be positive");
  if (config_.max_hash_slot_num < 1 || config_.max_index_num < 2)
    return Status::InvalidArgument("index sizes must be positive");
  RJ_RETURN_IF_ERROR(fs_->CreateDirs(config_.root_dir));
  RJ_RETURN_IF_ERROR(fs_->CreateDirs(Path("consumequeue")));
  {
    auto lf = fs_->OpenFile(Path("lock"), true);
    if (!lf.ok()) return lf.status();
    lock_file_ = std::move(lf).value();
    RJ_RETURN_IF_ERROR(lock_file_->TryLock());
  }
  const bool crashed = fs_->Exists(Path("abort"));
  recovery_stats_.recovered_after_crash = crashed;

  auto cp = Checkpoint::Load(fs_, Path("checkpoint"));
  if (!cp.ok() && cp.status().code() != StatusCode::kNotFound)
    RJ_LOG(kError, kLog, "%s: recovering from the start of the CommitLog",
           cp.status().ToString().c_str());

  SegmentQueue::LoadReport report;
  RJ_RETURN_IF_ERROR(commit_log_.segments().Load(&report));
  for (const auto& p : report.problems) RJ_LOG(kError, kLog, "CommitLog: %s", p.c_str());

  RJ_ASSIGN_OR_RETURN(const bool cut, CutCommitLog());
  const int64_t cl_min = commit_log_.min_offset();
  auto last = commit_log_.segments().Last();
  const int64_t cl_limit = last ? last->end() : 0;

  // Where verification starts: the checkpointed offsets bound the work after a crash; a clean
  // shutdown leaves both at the end of the log.
  int64_t start = cl_min;
  if (cp.ok()) start = std::min(cp->physic_flushed_offset, cp->logics_flushed_offset);
  for (int64_t b : report.short_segments) start = std::min(start, b);
  if (cut) start = std::min(start, config_.truncate_commit_log_at);
  start = std::clamp(start, cl_min, cl_limit);
  if (!cp.ok() && !commit_log_.segments().empty() && cp.status().code() == StatusCode::kNotFound)
    RJ_LOG(kWarn, kLog, "no checkpoint: verifying the whole CommitLog");

  bool corrupted = false;
  const int64_t clean_end =
      !crashed && !cut && cp.ok() && cp->physic_flushed_offset == cp->logics_flushed_offset
          ? cp->physic_flushed_offset
          : -1;
  auto end_or = RecoverCommitLog(start, clean_end, &corrupted);
  if (!end_or.ok()) return end_or.status();
  const int64_t end = *end_or;
  commit_log_.SetRecoveredEnd(end);

  // Consume queues: truncate entries past the recovered end; find what must be rebuilt.
  int64_t redispatch_from = cp.ok() ? std::min(cp->logics_flushed_offset, end) : cl_min;
  redispatch_from = std::max(redispatch_from, cl_min);
  for (int64_t b : report.short_segments) redispatch_from = std::min(redispatch_from, b);
  RJ_RETURN_IF_ERROR(LoadConsumeQueues(cl_min, end, &redispatch_from));
  // Consume-queue entries pointing into destroyed byte ranges become skip entries.
  if (!lost_ranges_.empty()) {
    for (auto& cq : AllQueues()) {
      int64_t marked = 0;
      CqEntry e;
      for (int64_t o = cq->max_offset() - 1; o >= cq->min_offset(); --o) {
        if (!cq->Get(o, &e, nullptr)) break;
        if (e.size == kCqBlankSize) continue;
        if (e.physical_offset < lost_ranges_.front().first) break;
        for (const auto& [b, en] : lost_ranges_) {
          if (e.physical_offset < en && e.physical_offset + e.size > b) {
            RJ_RETURN_IF_ERROR(cq->MarkSkipped(o));
            ++marked;
            break;
          }
        }
      }
      if (marked > 0)
        RJ_LOG(kError, kLog, "%s-%d: %lld messages were in destroyed CommitLog data: skipped",
               cq->topic().c_str(), cq->queue_id(), static_cast<long long>(marked));
    }
  }
  // Consume-queue entries of corrupt records become skip entries, so no reader gets them.
  for (const auto& [pos, size] : corrupt_records_) {
    SegmentPtr seg = commit_log_.segments().Find(pos);
    auto v = message::DecodeRecord(
        std::string_view(seg->data() + (pos - seg->base()), static_cast<size_t>(size)), false);
    if (!v.ok()) continue;
    auto cq = FindQueue(v->topic, v->queue_id);
    CqEntry e;
    if (cq && cq->Get(v->queue_offset, &e, nullptr) && e.physical_offset == pos) {
      RJ_RETURN_IF_ERROR(cq->MarkSkipped(v->queue_offset));
      RJ_LOG(kError, kLog, "%.*s-%d queue offset %lld refers to a corrupt record: skipped",
             static_cast<int>(v->topic.size()), v->topic.data(), v->queue_id,
             static_cast<long long>(v->queue_offset));
    }
  }
  RJ_RETURN_IF_ERROR(index_.Load());
  index_.SetRecoveredEnd(end);

  // Rebuild consume-queue and index entries past what was persisted.
  if (redispatch_from < end) {
    int64_t reached = DispatchRange(redispatch_from, end, false, config_.check_crc_on_recover);
    RJ_LOG(kInfo, kLog, "re-dispatched CommitLog [%lld, %lld)",
           static_cast<long long>(redispatch_from), static_cast<long long>(reached));
    // If re-dispatch stopped early (e.g. a consume queue file could not be created), the
    // dispatcher thread resumes from there.
    dispatched_.store(reached);
  } else {
    dispatched_.store(end);
  }
  {
    std::shared_lock<std::shared_mutex> l(queues_mu_);
    for (auto& [topic, qs] : queues_)
      for (auto& [qid, cq] : qs) commit_log_.SetQueueOffset(topic, qid, cq->max_offset());
  }
  if (crashed || corrupted || start < end) {
    RJ_LOG(kInfo, kLog,
           "recovered store %s after %s: CommitLog [%lld, %lld), verified %lld bytes (%lld "
           "records), %lld corrupt records skipped",
           config_.root_dir.c_str(), crashed ? "a crash" : "a clean shutdown",
           static_cast<long long>(cl_min), static_cast<long long>(end),
           static_cast<long long>(recovery_stats_.recovery_scanned_bytes),
           static_cast<long long>(recovery_stats_.recovery_scanned_records),
           static_cast<long long>(recovery_stats_.recovery_corrupt_records));
  }

  // Persist the recovered state before accepting writes, then mark the store as running. On a
  // full disk the store still opens, read-only: consumers can drain it, and writes are refused
  // (kNoSpace) until retention or the operator frees space.
  RJ_RETURN_IF_ERROR(StartReadOnlyIfFull(FlushLogicsAndCheckpoint()));
  {
    auto af = fs_->OpenFile(Path("abort"), true);
    if (!af.ok()) RJ_RETURN_IF_ERROR(StartReadOnlyIfFull(af.status()));
  }
  RJ_RETURN_IF_ERROR(StartReadOnlyIfFull(fs_->SyncDir(config_.root_dir)));

  // Under load the dispatcher polls every millisecond anyway; a wake per append would cost a
  // futex call and a context switch per message, so appends wake it only when it is idle.
  commit_log_.SetDataListener([this] {
    if (dispatch_idle_.load(std::memory_order_relaxed)) WakeDispatcher();
  });
  commit_log_.StartFlushService();
  running_.store(true);
  dispatch_service_.Start([this](ServiceThread& self) { DispatchLoop(self); });
  house_service_.Start([this](ServiceThread& self) {
    LowerCurrentThreadPriority(10);
    HousekeepingLoop(self);
  });
  return Status::OK();
}

ScanItem StoreImpl::ScanAt(const SegmentPtr& seg, int64_t pos, int64_t limit, bool check_crc) {
  ScanItem it;
  const int64_t rel = pos - seg->base();
  const int64_t avail = std::min(seg->end(), limit) - pos;
  const char* p = seg->data() + rel;
  if (avail < 8) {
    it.kind = ScanItem::kEnd;
    return it;
  }
  uint32_t total = DecodeBE32(p);
  uint32_t magic = DecodeBE32(p + 4);
  if (magic == message::kBlankMagic && static_cast<int64_t>(total) == seg->end() - pos) {
    it.kind = ScanItem::kBlank;
    it.size = total;
    return it;
  }
  if (total == 0 && magic == 0) {
    it.kind = ScanItem::kEnd;
    return it;
  }
  auto r = message::DecodeRecord(std::string_view(p, static_cast<size_t>(avail)), check_crc);
  if (r.ok() && r->physical_offset == pos) {
    it.kind = ScanItem::kRecord;
    it.size = r->total_size;
    it.view = *r;
    return it;
  }
  it.kind = ScanItem::kCorrupt;
  it.error = r.ok()
                 ? Status::Corruption("PHYSICALOFFSET field " + std::to_string(r->physical_offset) +
                                      " does not match the record position")
                 : r.status();
  // A record whose framing is intact (only the body CRC is wrong) can be skipped exactly.
  if (!r.ok() && magic == message::kMessageMagic && total >= 91 && total <= avail &&
      static_cast<int64_t>(DecodeBE64(p + message::kPosPhysicalOffset)) == pos &&
      message::DecodeRecord(std::string_view(p, static_cast<size_t>(avail)), false).ok()) {
    it.size = total;
  }
  return it;
}

int64_t StoreImpl::Resync(int64_t pos, int64_t window) {
  char magic[4];
  EncodeBE32(magic, message::kMessageMagic);
  for (auto& seg : commit_log_.segments().Snapshot()) {
    if (seg->end() <= pos) continue;
    const bool first = pos >= seg->base();
    int64_t from = first ? pos - seg->base() + 1 : 0;
    const int64_t limit = first ? std::min(seg->size(), from + window) : seg->size();
    while (from + 4 + 4 <= limit) {
      const void* hit =
          memmem(seg->data() + from + 4, static_cast<size_t>(limit - from - 4), magic, 4);
      if (hit == nullptr) break;
      int64_t cand = static_cast<const char*>(hit) - seg->data() - 4;
      ScanItem it = ScanAt(seg, seg->base() + cand, seg->end(), true);
      if (it.kind == ScanItem::kRecord) return seg->base() + cand;
      from = cand + 1;
    }
  }
  return -1;
}

// truncate_commit_log_at: the tail of another term is cut (zeroed, later segments deleted)
// before recovery, which then finds the log's end there. True when something was cut.
Result<bool> StoreImpl::CutCommitLog() {
  const int64_t at = config_.truncate_commit_log_at;
  auto last = commit_log_.segments().Last();
  if (at < 0 || !last || at >= last->end()) return false;
  RJ_LOG(kWarn, kLog, "cutting the CommitLog at %lld: a new master's term began there",
         static_cast<long long>(at));
  RJ_RETURN_IF_ERROR(commit_log_.segments().TruncateFrom(std::max(at, commit_log_.min_offset())));
  return true;
}

Result<int64_t> StoreImpl::RecoverCommitLog(int64_t start, int64_t clean_end, bool* corrupted) {
  auto& segs = commit_log_.segments();
  if (segs.empty()) return start;
  int64_t pos = start;
  int64_t end = start;
  for (;;) {
    SegmentPtr seg = segs.Find(pos);
    if (!seg) break;
    ScanItem it = ScanAt(seg, pos, seg->end(), config_.check_crc_on_recover);
    if (it.kind == ScanItem::kRecord) {
      recovery_stats_.recovery_scanned_records++;
      recovery_stats_.recovery_scanned_bytes += it.size;
      pos += it.size;
      end = pos;
      continue;
    }
    if (it.kind == ScanItem::kBlank) {
      pos = seg->end();
      end = pos;
      continue;
    }
    if (it.kind == ScanItem::kEnd && pos == clean_end) break;  // a clean shutdown's end
    // End of data or corruption: is there any valid record after this point?
    int64_t next = Resync(pos, ResyncWindow());
    if (next < 0) {
      if (it.kind == ScanItem::kCorrupt)
        RJ_LOG(kWarn, kLog, "CommitLog torn tail at %lld (%s): truncated",
               static_cast<long long>(pos), it.error.ToString().c_str());
      break;
    }
    *corrupted = true;
    recovery_stats_.recovery_corrupt_records++;
    if (it.kind == ScanItem::kCorrupt && it.size > 0)
      corrupt_records_.emplace_back(pos, it.size);
    else
      lost_ranges_.emplace_back(pos, next);
    RJ_LOG(kError, kLog,
           "CommitLog corruption at offset %lld (%s): skipped %lld bytes to the next intact "
           "record at %lld",
           static_cast<long long>(pos),
           it.kind == ScanItem::kEnd ? "zeroed data" : it.error.ToString().c_str(),
           static_cast<long long>(next - pos), static_cast<long long>(next));
    pos = next;
    end = pos;
  }
  // Discard everything after the last intact record.
  auto last = segs.Last();
  int64_t data_end = last->end();
  if (end < data_end) {
    SegmentPtr seg = segs.Find(end);
    if (seg && DecodeBE64(seg->data() + (end - seg->base())) != 0)
      recovery_stats_.recovery_truncated_tail = true;
    // A clean shutdown left zeros after its end: nothing to zero or sync (nor to write on a
    // full disk). After a crash the tail is zeroed, or the store starts read-only without.
    RJ_RETURN_IF_ERROR(StartReadOnlyIfFull(segs.TruncateFrom(end, end != clean_end)));
  }
  for (auto& s : segs.Snapshot()) {
    if (s->end() <= end) {
      s->set_wrote(s->size());
      s->set_flushed(s->size());
    }
  }
  return end;
}

Status StoreImpl::LoadConsumeQueues(int64_t cl_min, int64_t cl_end, int64_t* redispatch_from) {
  const std::string root = Path("consumequeue");
  auto topics = fs_->ListDir(root);
  if (!topics.ok()) return topics.status();
  for (const auto& topic : *topics) {
    std::string tdir = JoinPath(root, topic);
    if (!fs_->IsDir(tdir)) continue;
    auto qids = fs_->ListDir(tdir);
    if (!qids.ok()) return qids.status();
    for (const auto& q : *qids) {
      char* endp = nullptr;
      long qid = std::strtol(q.c_str(), &endp, 10);
      if (q.empty() || *endp != '\0' || qid < 0 || qid > INT32_MAX) {
        RJ_LOG(kWarn, kLog, "ignoring foreign entry %s", JoinPath(tdir, q).c_str());
        continue;
      }
      auto cq =
          std::make_shared<ConsumeQueue>(fs_, config_.root_dir, topic, static_cast<int32_t>(qid),
                                         config_.consume_queue_entries_per_file);
      ConsumeQueue::RecoverReport rep;
      RJ_RETURN_IF_ERROR(cq->Recover(cl_min, cl_end, &rep));
      if (rep.redispatch_from >= 0)
        *redispatch_from = std::min(*redispatch_from, std::max(rep.redispatch_from, cl_min));
      queues_[topic][static_cast<int32_t>(qid)] = std::move(cq);
    }
  }
  return Status::OK();
}

}  // namespace ramjet::store::internal
