// StoreImpl: reads, pulls and queries (see store_impl.h).
#include "store_impl.h"

namespace ramjet::store::internal {

// ---------------------------------------------------------------------------------------------
// Reads

Result<CommitLogRange> StoreImpl::ReadCommitLog(PhysicalOffset from, int32_t max_bytes) {
  const int64_t off = from.value();
  const int64_t end = commit_log_.written();
  if (off == end) return CommitLogRange{};
  if (off < commit_log_.min_offset() || off > end)
    return Status::NotFound("CommitLog offset " + std::to_string(off) + " is outside [" +
                            std::to_string(commit_log_.min_offset()) + ", " + std::to_string(end) +
                            "]");
  SegmentPtr seg = commit_log_.segments().Find(off);
  if (!seg) return Status::NotFound("no segment for offset " + std::to_string(off));
  const int64_t limit = std::min({seg->end(), end, off + std::max<int64_t>(max_bytes, 0)});
  CommitLogRange r;
  r.data = std::string_view(seg->data() + (off - seg->base()), static_cast<size_t>(limit - off));
  r.pin = seg;
  return r;
}

Status StoreImpl::AppendCommitLog(PhysicalOffset at, std::string_view data) {
  if (!running_.load()) return Status::Unavailable("message store is not running");
  if (commit_log_.segments().count() == 0 && dispatched_.load() < at.value()) {
    // An empty store that starts at its master's segment: nothing before it to dispatch.
    std::lock_guard<std::mutex> l(dispatch_mu_);
    dispatched_.store(at.value());
  }
  return commit_log_.AppendRaw(at.value(), data);
}

Result<RecordRef> StoreImpl::ReadRecord(PhysicalOffset offset) {
  const int64_t off = offset.value();
  if (off < commit_log_.min_offset() || off >= commit_log_.written())
    return Status::NotFound("no record at CommitLog offset " + std::to_string(off));
  SegmentPtr seg = commit_log_.segments().Find(off);
  if (!seg) return Status::NotFound("no segment for offset " + std::to_string(off));
  const int64_t limit = std::min(seg->end(), commit_log_.written());
  ScanItem it = ScanAt(seg, off, limit, true);
  if (it.kind != ScanItem::kRecord)
    return it.kind == ScanItem::kCorrupt
               ? it.error
               : Status::NotFound("no record at offset " + std::to_string(off));
  RecordRef ref;
  ref.data = std::string_view(seg->data() + (off - seg->base()), static_cast<size_t>(it.size));
  ref.view = it.view;
  ref.pin = seg;
  return ref;
}

namespace {
// Cheap integrity check of a pull: the consume-queue entry and the record must agree.
bool RecordMatchesEntry(const char* rec, int32_t size, int64_t phy) {
  return static_cast<int32_t>(DecodeBE32(rec)) == size &&
         DecodeBE32(rec + message::kPosMagic) == message::kMessageMagic &&
         static_cast<int64_t>(DecodeBE64(rec + message::kPosPhysicalOffset)) == phy;
}

void LogCorruptEntry(std::string_view topic, int32_t queue_id, int64_t cq_offset, int64_t phy) {
  static std::atomic<int64_t> last_log_us{0};
  const int64_t now_us = MonoMicros();
  if (now_us - last_log_us.load() <= 1000000) return;  // at most one line a second
  last_log_us.store(now_us);
  RJ_LOG(kError, kLog, "%.*s-%d offset %lld: CommitLog record at %lld is corrupt, skipped",
         static_cast<int>(topic.size()), topic.data(), queue_id, static_cast<long long>(cq_offset),
         static_cast<long long>(phy));
}
}  // namespace

GetResult StoreImpl::GetMessages(std::string_view topic, int32_t queue_id, QueueOffset offset,
                                 int32_t max_count, int64_t max_bytes,
                                 const MessageFilter* filter) {
  GetResult res;
  auto cq = FindQueue(topic, queue_id);
  const int64_t off = offset.value();
  if (!cq) {
    res.status = GetStatus::kNoMatchedLogicQueue;
    res.next_begin_offset = QueueOffset(0);
    return res;
  }
  const int64_t min = cq->min_offset(), max = cq->max_offset();
  res.min_offset = QueueOffset(min);
  res.max_offset = QueueOffset(max);
  if (max == 0) {
    res.status = GetStatus::kNoMessageInQueue;
    res.next_begin_offset = QueueOffset(0);
    return res;
  }
  if (off < min) {
    res.status = GetStatus::kOffsetTooSmall;
    res.next_begin_offset = QueueOffset(min);
    return res;
  }
  if (off == max) {
    res.status = GetStatus::kOffsetOverflowOne;
    res.next_begin_offset = offset;
    return res;
  }
  if (off > max) {
    res.status = GetStatus::kOffsetOverflowBadly;
    res.next_begin_offset = QueueOffset(max);  // as RocketMQ 4.9.7 answers
    return res;
  }
  if (max_count <= 0) max_count = 1;
  const int64_t scan_limit = std::max<int64_t>(800, max_count);
  const int64_t cl_min = commit_log_.min_offset();
  const int64_t cl_written = commit_log_.written();
  int64_t scanned = 0;
  int64_t cur = off;
  bool removed = false;
  // Set when the pull is complete: the batch is full (count or bytes), or the next entry cannot
  // be served yet. Every exit from the inner loop that does not advance `cur` must set it, or
  // the outer loop would re-read the same entry forever.
  bool done = false;
  SegmentPtr seg;
  while (!done && cur < max && scanned < scan_limit) {
    int64_t n = std::min<int64_t>(scan_limit - scanned, max - cur);
    std::shared_ptr<const void> pin;
    const char* p = cq->GetRange(cur, &n, &pin);
    if (p == nullptr || n <= 0) break;
    bool added_pin = false;
    for (int64_t i = 0; i < n; ++i, ++cur, ++scanned, p += kCqUnitSize) {
      const int64_t phy = static_cast<int64_t>(DecodeBE64(p));
      const int32_t size = static_cast<int32_t>(DecodeBE32(p + 8));
      const int64_t tags_code = static_cast<int64_t>(DecodeBE64(p + 12));
      if (size == kCqBlankSize || size <= 0) continue;
      if (phy < cl_min) {
        removed = true;
        continue;
      }
      if (phy + size > cl_written) {  // dispatched ahead of what readers may see: come back
        done = true;
        break;
      }
      if (filter && !filter->MatchTagsCode(tags_code)) continue;
      if (!seg || phy < seg->base() || phy >= seg->end()) {
        seg = commit_log_.segments().Find(phy);
        if (!seg) continue;
        res.pins.push_back(seg);
      }
      if (phy + size > seg->end()) continue;
      const char* rec = seg->data() + (phy - seg->base());
      if (!RecordMatchesEntry(rec, size, phy)) {
        LogCorruptEntry(topic, queue_id, cur, phy);
        continue;
      }
      if (filter) {
        auto view = message::DecodeRecord(std::string_view(rec, static_cast<size_t>(size)), false);
        if (!view.ok() || !filter->MatchRecord(*view)) continue;
      }
      // The batch is full by bytes: return what it has (always at least one message); the
      // consumer's next pull starts at this entry.
      if (!res.messages.empty() && res.total_bytes + size > max_bytes) {
        done = true;
        break;
      }
      res.messages.push_back(SelectedMessage{std::string_view(rec, static_cast<size_t>(size)),
                                             QueueOffset(cur), PhysicalOffset(phy), tags_code});
      res.total_bytes += size;
      if (!added_pin) {
        res.pins.push_back(pin);
        added_pin = true;
      }
      if (static_cast<int32_t>(res.messages.size()) >= max_count || res.total_bytes >= max_bytes) {
        ++cur;
        done = true;
        break;
      }
    }
  }
  res.next_begin_offset = QueueOffset(cur);
  if (!res.messages.empty())
    res.status = GetStatus::kFound;
  else if (removed)
    res.status = GetStatus::kMessageWasRemoving;
  else
    res.status = GetStatus::kNoMatchedMessage;
  return res;
}

QueueOffset StoreImpl::GetMinOffsetInQueue(std::string_view topic, int32_t queue_id) {
  auto cq = FindQueue(topic, queue_id);
  return QueueOffset(cq ? cq->min_offset() : 0);
}

QueueOffset StoreImpl::GetMaxOffsetInQueue(std::string_view topic, int32_t queue_id) {
  auto cq = FindQueue(topic, queue_id);
  return QueueOffset(cq ? cq->max_offset() : 0);
}

Result<int64_t> StoreImpl::GetMessageStoreTimestamp(std::string_view topic, int32_t queue_id,
                                                    QueueOffset offset) {
  auto cq = FindQueue(topic, queue_id);
  if (!cq) return Status::NotFound("no such queue");
  CqEntry e;
  if (!cq->Get(offset.value(), &e, nullptr)) return Status::NotFound("offset out of range");
  SegmentPtr seg = commit_log_.segments().Find(e.physical_offset);
  if (!seg || e.size < 91 || e.physical_offset + e.size > seg->end())
    return Status::NotFound("message was removed");
  const char* rec = seg->data() + (e.physical_offset - seg->base());
  int32_t sys_flag = static_cast<int32_t>(DecodeBE32(rec + message::kPosSysFlag));
  return static_cast<int64_t>(DecodeBE64(rec + message::StoreTimestampPos(sys_flag)));
}

QueueOffset StoreImpl::GetOffsetInQueueByTime(std::string_view topic, int32_t queue_id,
                                              int64_t timestamp) {
  auto cq = FindQueue(topic, queue_id);
  if (!cq) return QueueOffset(0);
  int64_t lo = cq->min_offset(), hi = cq->max_offset();
  // Skip entries whose records were deleted by retention.
  const int64_t cl_min = commit_log_.min_offset();
  CqEntry e;
  while (lo < hi && cq->Get(lo, &e, nullptr) &&
         (e.size == kCqBlankSize || e.physical_offset < cl_min))
    ++lo;
  // First offset in [lo, hi) whose store timestamp >= timestamp.
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    auto ts = GetMessageStoreTimestamp(topic, queue_id, QueueOffset(mid));
    if (ts.ok() && *ts < timestamp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return QueueOffset(lo);
}

Result<ConsumeQueueEntry> StoreImpl::GetConsumeQueueEntry(std::string_view topic, int32_t queue_id,
                                                          QueueOffset offset) {
  auto cq = FindQueue(topic, queue_id);
  CqEntry e;
  if (!cq || !cq->Get(offset.value(), &e, nullptr) || e.size == kCqBlankSize) {
    return Status::NotFound("no such entry");
  }
  return ConsumeQueueEntry{PhysicalOffset(e.physical_offset), e.size, e.tags_code};
}

Result<int64_t> StoreImpl::GetEarliestMessageTime(std::string_view topic, int32_t queue_id) {
  auto cq = FindQueue(topic, queue_id);
  if (!cq) return Status::NotFound("no such queue");
  const int64_t cl_min = commit_log_.min_offset();
  CqEntry e;
  for (int64_t o = cq->min_offset(); o < cq->max_offset(); ++o) {
    if (!cq->Get(o, &e, nullptr)) break;
    if (e.size == kCqBlankSize || e.physical_offset < cl_min) continue;
    return GetMessageStoreTimestamp(topic, queue_id, QueueOffset(o));
  }
  return Status::NotFound("queue is empty");
}

Result<int64_t> StoreImpl::GetEarliestMessageTime() {
  auto rec = ReadRecord(PhysicalOffset(commit_log_.min_offset()));
  if (!rec.ok()) return rec.status();
  return rec->view.store_timestamp;
}

Result<std::vector<RecordRef>> StoreImpl::QueryMessages(std::string_view topic,
                                                        std::string_view key, int max_num,
                                                        int64_t begin_ms, int64_t end_ms) {
  if (!config_.message_index_enable) return Status::Unavailable("message index is disabled");
  std::vector<RecordRef> out;
  auto offsets = index_.Query(topic, key, std::max(max_num, 1) * 4, begin_ms, end_ms);
  for (int64_t phy : offsets) {
    if (static_cast<int>(out.size()) >= max_num) break;
    auto rec = ReadRecord(PhysicalOffset(phy));
    if (!rec.ok()) continue;
    const message::RecordView& v = rec->view;
    if (v.topic != topic || v.store_timestamp < begin_ms || v.store_timestamp > end_ms) continue;
    bool match = message::FindProperty(v.properties, "UNIQ_KEY") == key;
    std::string_view keys = message::FindProperty(v.properties, "KEYS");
    size_t pos = 0;
    while (!match && pos < keys.size()) {
      size_t sp = keys.find(' ', pos);
      if (sp == std::string_view::npos) sp = keys.size();
      match = keys.substr(pos, sp - pos) == key;
      pos = sp + 1;
    }
    if (match) out.push_back(std::move(rec).value());
  }
  return out;
}

}  // namespace ramjet::store::internal
