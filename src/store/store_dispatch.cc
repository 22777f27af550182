// StoreImpl: the dispatcher (CommitLog to consume queues and index) and housekeeping (see
// store_impl.h).
#include "store_impl.h"

namespace ramjet::store::internal {

// ---------------------------------------------------------------------------------------------
// Dispatch

std::shared_ptr<ConsumeQueue> StoreImpl::FindQueue(std::string_view topic, int32_t queue_id) {
  std::shared_lock<std::shared_mutex> l(queues_mu_);
  auto it = queues_.find(topic);
  if (it == queues_.end()) return nullptr;
  const std::shared_ptr<ConsumeQueue>* q = it->second.Find(queue_id);
  return q == nullptr ? nullptr : *q;
}

Result<std::shared_ptr<ConsumeQueue>> StoreImpl::GetOrCreateQueue(std::string_view topic,
                                                                  int32_t queue_id) {
  if (auto q = FindQueue(topic, queue_id)) return q;
  std::unique_lock<std::shared_mutex> l(queues_mu_);
  auto& slot = queues_[std::string(topic)][queue_id];
  if (!slot)
    slot = std::make_shared<ConsumeQueue>(fs_, config_.root_dir, std::string(topic), queue_id,
                                          config_.consume_queue_entries_per_file);
  return slot;
}

Status StoreImpl::FinishBatch(DispatchBatch* batch) {
  Status first;
  for (ConsumeQueue* cq : batch->touched) {
    Status s = cq->Commit();
    if (!s.ok() && first.ok()) first = s;
  }
  batch->touched.clear();
  batch->records = 0;
  if (!first.ok()) {
    batch->arrivals.clear();
    dispatch_queues_.ReleaseRetired();
    return first;
  }
  if (!batch->arrivals.empty()) {
    std::lock_guard<std::mutex> l(listener_mu_);
    if (listener_) {
      for (const auto& a : batch->arrivals) {
        listener_(a.queue->topic(), a.queue->queue_id(), QueueOffset(a.queue_offset), a.tags_code,
                  a.store_timestamp);
      }
    }
    batch->arrivals.clear();
  }
  dispatch_queues_.ReleaseRetired();  // nothing in the batch points at them any more
  return Status::OK();
}

Status StoreImpl::Dispatch(const message::RecordView& r, int64_t phy, int32_t size, bool notify,
                           DispatchBatch* batch) {
  const int32_t tt = r.transaction_type();
  int64_t tags_code = 0;
  std::optional<int64_t> overridden;
  if (config_.tags_code_override) overridden = config_.tags_code_override(r);
  tags_code =
      overridden ? *overridden : message::TagsCode(message::FindProperty(r.properties, "TAGS"));
  if (tt == message::kTransactionNotType || tt == message::kTransactionCommitType) {
    ConsumeQueue* cq = dispatch_queues_.Find(r.topic, r.queue_id,
                                             queues_generation_.load(std::memory_order_acquire));
    if (cq == nullptr) {
      RJ_ASSIGN_OR_RETURN(auto created, GetOrCreateQueue(r.topic, r.queue_id));
      cq = dispatch_queues_.Add(std::move(created));
    }
    // A queue joins the round's list with its first buffered entry (with thousands of queues a
    // search of the list per record was quadratic in the round).
    const bool had_pending = cq->has_pending();
    RJ_ASSIGN_OR_RETURN(bool buffered, cq->Append(r.queue_offset, phy, size, tags_code));
    if (buffered && !had_pending) batch->touched.push_back(cq);
    if (notify) {
      batch->arrivals.push_back(
          DispatchBatch::Arrival{cq, r.queue_offset, tags_code, r.store_timestamp});
    }
    ++batch->records;
  }
  if (config_.message_index_enable && tt != message::kTransactionRollbackType) {
    RJ_RETURN_IF_ERROR(index_.Build(r.topic, message::FindProperty(r.properties, "KEYS"),
                                    message::FindProperty(r.properties, "UNIQ_KEY"), phy,
                                    r.store_timestamp));
  }
  return Status::OK();
}

int64_t StoreImpl::DispatchRange(int64_t from, int64_t to, bool notify, bool check_crc) {
  DispatchBatch batch;
  // Everything before `committed` has its consume-queue entries written.
  int64_t committed = from;
  int64_t pos = DispatchRangeBatched(from, to, notify, check_crc, &batch, &committed);
  if (Status s = FinishBatch(&batch); !s.ok()) {
    RJ_LOG(kError, kLog, "writing consume queue entries failed: %s (retrying)",
           s.ToString().c_str());
    return committed;
  }
  return pos;
}

int64_t StoreImpl::DispatchRangeBatched(int64_t from, int64_t to, bool notify, bool check_crc,
                                        DispatchBatch* batch, int64_t* committed) {
  int64_t pos = from;
  while (pos < to) {
    if (batch->records >= 1024) {
      if (Status s = FinishBatch(batch); !s.ok()) {
        RJ_LOG(kError, kLog, "writing consume queue entries failed: %s (retrying)",
               s.ToString().c_str());
        return *committed;
      }
      *committed = pos;
    }
    SegmentPtr seg = commit_log_.segments().Find(pos);
    if (!seg) break;
    ScanItem it = ScanAt(seg, pos, to, check_crc);
    if (it.kind == ScanItem::kBlank) {
      pos = seg->end();
      continue;
    }
    if (it.kind == ScanItem::kRecord) {
      Status s = Dispatch(it.view, pos, static_cast<int32_t>(it.size), notify, batch);
      if (s.code() == StatusCode::kCorruption) {
        RJ_LOG(kError, kLog, "not dispatching record at %lld: %s", static_cast<long long>(pos),
               s.ToString().c_str());
        pos += it.size;
        continue;
      }
      if (!s.ok()) {
        // Rate-limited: the dispatcher retries every 10 ms.
        static std::atomic<int64_t> last_log_us{0};
        const int64_t now_us = MonoMicros();
        if (now_us - last_log_us.load() > 5000000) {
          last_log_us.store(now_us);
          RJ_LOG(kError, kLog, "dispatch of record at %lld failed: %s (retrying)",
                 static_cast<long long>(pos), s.ToString().c_str());
        }
        return pos;
      }
      last_flushed_store_ts_.store(it.view.store_timestamp, std::memory_order_relaxed);
      pos += it.size;
      continue;
    }
    if (it.kind == ScanItem::kCorrupt && it.size > 0) {
      RJ_LOG(kError, kLog, "not dispatching corrupt record at %lld: %s",
             static_cast<long long>(pos), it.error.ToString().c_str());
      pos += it.size;
      continue;
    }
    // Zeros or broken framing inside the range (only after recovery skipped corrupt bytes).
    int64_t next = Resync(pos, to - pos);
    if (next < 0 || next >= to) break;
    pos = next;
  }
  return pos;
}

void StoreImpl::DispatchLoop(ServiceThread& self) {
  const bool sync = config_.flush_disk_type == FlushDiskType::kSyncFlush;
  for (;;) {
    self.WaitFor(1);
    // After a stop request the loop drains what is there, then returns.
    const bool stopping = self.stopping();
    // In SYNC_FLUSH mode only fsynced records become visible to consumers.
    const int64_t limit = sync ? commit_log_.flushed() : commit_log_.written();
    const int64_t from = dispatched_.load();
    if (stopping && from >= limit) return;
    dispatch_idle_.store(from >= limit, std::memory_order_relaxed);
    if (from >= limit) continue;
    int64_t reached = DispatchRange(from, limit, true, false);
    if (reached == from) {
      // A record that cannot be dispatched yet: retry later (Shutdown dispatches the rest).
      if (stopping) return;
      self.WaitFor(10);
      continue;
    }
    {
      std::lock_guard<std::mutex> l(dispatch_mu_);
      dispatched_.store(reached);
    }
    dispatched_cv_.notify_all();
  }
}

bool StoreImpl::WaitDispatched(int timeout_ms) {
  const int64_t target = commit_log_.written();
  if (config_.flush_disk_type == FlushDiskType::kSyncFlush) commit_log_.FlushAll().IgnoreError();
  WakeDispatcher();
  std::unique_lock<std::mutex> l(dispatch_mu_);
  return dispatched_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                                 [&] { return dispatched_.load() >= target; });
}

// ---------------------------------------------------------------------------------------------
// Housekeeping: consume queue / index flush, checkpoint, retention, disk-full detection.

Status StoreImpl::StartReadOnlyIfFull(const Status& s) {
  if (s.ok() || s.code() != StatusCode::kNoSpace) return s;
  if (!disk_full_.exchange(true)) {
    RJ_LOG(kError, kLog,
           "%s: the disk is full (%s): starting read-only; messages and offsets are served, new "
           "messages are refused until space is freed",
           config_.root_dir.c_str(), s.ToString().c_str());
  }
  return Status::OK();
}

Status StoreImpl::FlushLogicsAndCheckpoint(int64_t write_behind_ms) {
  std::lock_guard<std::mutex> cl(checkpoint_mu_);
  const int64_t dispatched = dispatched_.load();
  const int64_t ts = last_flushed_store_ts_.load();
  // Entries still only in memory (write-behind, or a failed write-out) hold the logics offset
  // back: recovery re-dispatches from there.
  int64_t unsynced = std::numeric_limits<int64_t>::max();
  Status write_out;
  // A thorough pass fsyncs every file written to; the others only the consume queues with at
  // least flushConsumeQueueLeastPages written since their last fsync (with thousands of queues,
  // each taking a run of entries every few seconds, a pass a second fsynced thousands of files).
  const int64_t now_us = MonoMicros();
  const bool thorough = write_behind_ms <= 0 || now_us - thorough_us_ >= write_behind_ms * 1000LL;
  const int64_t least_bytes =
      thorough ? 0 : int64_t{config_.flush_consume_queue_least_pages} * 4096;
  for (auto& cq : AllQueues()) {
    int64_t from = 0;
    RJ_RETURN_IF_ERROR(cq->Flush(write_behind_ms, &from, &write_out, least_bytes));
    unsynced = std::min(unsynced, from);
  }
  // The index's live file is fsynced in thorough passes only: every write_behind_ms. Its hash slots
  // are written at random, so between two syncs most of its pages are dirtied again, and each sync
  // writes them all out and write-protects them (every next write then faults); with 1,000 topics a
  // sync a second cost about 6 % of the throughput. The checkpoint stays at or below what the last
  // sync covered: a crash re-dispatches, and re-indexes, the rest from the CommitLog.
  if (thorough) {
    RJ_RETURN_IF_ERROR(index_.Flush());
    thorough_us_ = now_us;
    index_synced_below_ = dispatched;
    index_synced_ts_ = ts;
  }
  Checkpoint cp;
  cp.physic_flushed_offset = commit_log_.flushed();
  cp.logics_flushed_offset =
      std::min({dispatched, cp.physic_flushed_offset, unsynced, index_synced_below_});
  cp.physic_msg_timestamp = ts;
  cp.logics_msg_timestamp = ts;
  cp.index_msg_timestamp = index_synced_ts_;
  if (cp.logics_flushed_offset < std::min(dispatched, cp.physic_flushed_offset)) {
    // RocketMQ's recovery starts from the file holding the logics timestamp: the record's own
    // (at a segment's end, where no record starts: the last one the index sync covered).
    if (cp.logics_flushed_offset == index_synced_below_) cp.logics_msg_timestamp = index_synced_ts_;
    if (auto rec = ReadRecord(PhysicalOffset(cp.logics_flushed_offset)); rec.ok())
      cp.logics_msg_timestamp = rec->view.store_timestamp;
  }
  RJ_RETURN_IF_ERROR(cp.Store(fs_, Path("checkpoint")));
  return write_out;
}

void StoreImpl::HousekeepingLoop(ServiceThread& self) {
  int64_t last_clean_us = MonoMicros();
  while (self.WaitFor(config_.flush_interval_consume_queue_ms)) {
    Status s = FlushLogicsAndCheckpoint(config_.flush_consume_queue_thorough_interval_ms);
    if (!s.ok()) RJ_LOG(kError, kLog, "consume queue/index flush failed: %s", s.ToString().c_str());
    if (MonoMicros() - last_clean_us >= config_.clean_resource_interval_ms * 1000LL) {
      last_clean_us = MonoMicros();
      auto r = RunRetention();
      if (!r.ok()) RJ_LOG(kError, kLog, "retention failed: %s", r.status().ToString().c_str());
    }
  }
}

Result<int> StoreImpl::RunRetention() {
  std::lock_guard<std::mutex> rl(retention_mu_);
  auto ratio_or = fs_->DiskUsageRatio(config_.root_dir);
  double ratio = ratio_or.ok() ? *ratio_or : 0.0;
  bool full = ratio > config_.disk_space_warning_level_ratio;
  if (full != disk_full_.load()) {
    disk_full_.store(full);
    if (full)
      RJ_LOG(kError, kLog, "disk usage %.1f%% above the warning level: refusing new messages",
             ratio * 100);
    else
      RJ_LOG(kInfo, kLog, "disk usage %.1f%%: accepting messages again", ratio * 100);
  }
  const int64_t now = Now();
  bool delete_hour = false;
  {
    time_t secs = static_cast<time_t>(now / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char hour[4];
    std::snprintf(hour, sizeof(hour), "%02d", tm.tm_hour);
    size_t pos = 0;
    const std::string& w = config_.delete_when;
    while (pos <= w.size()) {
      size_t semi = w.find(';', pos);
      if (semi == std::string::npos) semi = w.size();
      std::string h = w.substr(pos, semi - pos);
      if (h == hour || (h.size() == 1 && "0" + h == hour)) delete_hour = true;
      pos = semi + 1;
    }
  }
  const double max_ratio = std::clamp(config_.disk_max_used_space_ratio, 10, 95) / 100.0;
  const bool space_pressure = ratio > max_ratio;
  const bool force = ratio > config_.disk_space_clean_forcibly_ratio;
  const int64_t reserved_ms = static_cast<int64_t>(config_.file_reserved_time_hours) * 3600000;
  int deleted = 0;
  auto segs = commit_log_.segments().Snapshot();
  for (size_t i = 0; i + 1 < segs.size() && deleted < config_.delete_files_batch_max; ++i) {
    const auto& seg = segs[i];
    auto mtime = fs_->ModifiedTimeMillis(seg->path());
    bool expired = mtime.ok() && now - *mtime >= reserved_ms;
    if (!((expired && (delete_hour || space_pressure)) || force)) break;
    if (seg->end() > dispatched_.load()) break;  // not fully dispatched yet: keep
    RJ_RETURN_IF_ERROR(commit_log_.segments().RemoveFirst(seg));
    RJ_LOG(kInfo, kLog, "retention deleted CommitLog segment %s (%s)", seg->path().c_str(),
           force ? "disk usage above the forced-clean ratio" : "expired");
    ++deleted;
  }
  if (deleted > 0) {
    const int64_t cl_min = commit_log_.min_offset();
    for (auto& cq : AllQueues()) {
      auto r = cq->DeleteBefore(cl_min);
      if (!r.ok()) return r.status();
    }
    index_.DeleteBefore(cl_min);
  }
  return deleted;
}

}  // namespace ramjet::store::internal
