#include "ramjet/store/message_store.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <future>
#include <limits>
#include <map>
#include <shared_mutex>
#include <unordered_map>

#include "checkpoint.h"
#include "commit_log.h"
#include "consume_queue.h"
#include "index_service.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/names.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/base/thread_util.h"

namespace ramjet::store {

std::string_view GetStatusName(GetStatus s) {
  switch (s) {
    case GetStatus::kFound:
      return "FOUND";
    case GetStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetStatus::kMessageWasRemoving:
      return "MESSAGE_WAS_REMOVING";
    case GetStatus::kOffsetFoundNull:
      return "OFFSET_FOUND_NULL";
    case GetStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
    case GetStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
    case GetStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
  }
  return "UNKNOWN";
}

Result<PutResult> MessageStore::PutMessage(const message::MessageInput& msg, bool wait_store_ok) {
  std::promise<Result<PutResult>> p;
  auto f = p.get_future();
  PutMessageAsync(msg, wait_store_ok, [&p](Result<PutResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<PhysicalOffset> MessageStore::GetCommitLogOffsetInQueue(std::string_view topic,
                                                               int32_t queue_id,
                                                               QueueOffset offset) {
  RJ_ASSIGN_OR_RETURN(auto e, GetConsumeQueueEntry(topic, queue_id, offset));
  return e.physical_offset;
}

Result<PutResult> MessageStore::PutMessages(const std::vector<message::MessageInput>& msgs,
                                            bool wait_store_ok) {
  std::promise<Result<PutResult>> p;
  auto f = p.get_future();
  PutMessagesAsync(msgs, wait_store_ok, [&p](Result<PutResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

namespace {
// DeferredAppends: whether this thread's appends are deferred; the store it deferred appends to
// since its last FinishDeferredAppends there (null: none) and the end of the last of them. A
// thread defers to one store at a time: appends to another are written at once.
thread_local bool t_defer_appends = false;
thread_local const void* t_deferred_store = nullptr;
thread_local int64_t t_deferred_end = 0;
}  // namespace

DeferredAppends::DeferredAppends(bool on) : previous_(t_defer_appends) { t_defer_appends = on; }
DeferredAppends::~DeferredAppends() { t_defer_appends = previous_; }

namespace {

constexpr const char* kLog = "store";

// A record found while scanning the CommitLog.
struct ScanItem {
  enum Kind { kRecord, kBlank, kEnd, kCorrupt } kind;
  int64_t size = 0;  // record size, or bytes to skip
  message::RecordView view;
  Status error;
};

class StoreImpl final : public MessageStore {
 public:
  explicit StoreImpl(StoreConfig config)
      : config_(std::move(config)),
        fs_(config_.file_system ? config_.file_system : PosixFileSystem()),
        commit_log_(config_, fs_),
        index_(config_, fs_) {}

  ~StoreImpl() override { Shutdown().IgnoreError(); }

  Status Open();
  Status OpenAndRecover();  // Open without the timing
  Status Shutdown() override;
  using MessageStore::PutMessageAsync;
  void PutMessageAsync(const message::MessageInput& msg, bool wait, PutCallback cb,
                       QueueHandle* queue) override;
  std::shared_ptr<QueueHandle> ResolveQueue(std::string_view topic, int32_t queue_id) override {
    return commit_log_.ResolveQueue(topic, queue_id);
  }
  bool FinishDeferredAppends() override;
  void PutMessagesAsync(const std::vector<message::MessageInput>& msgs, bool wait,
                        PutCallback cb) override;
  GetResult GetMessages(std::string_view topic, int32_t queue_id, QueueOffset offset,
                        int32_t max_count, int64_t max_bytes, const MessageFilter* filter) override;
  Result<RecordRef> ReadRecord(PhysicalOffset offset) override;
  QueueOffset GetMinOffsetInQueue(std::string_view topic, int32_t queue_id) override;
  QueueOffset GetMaxOffsetInQueue(std::string_view topic, int32_t queue_id) override;
  QueueOffset GetOffsetInQueueByTime(std::string_view topic, int32_t queue_id,
                                     int64_t timestamp) override;
  Result<ConsumeQueueEntry> GetConsumeQueueEntry(std::string_view topic, int32_t queue_id,
                                                 QueueOffset offset) override;
  Result<int64_t> GetEarliestMessageTime(std::string_view topic, int32_t queue_id) override;
  Result<int64_t> GetEarliestMessageTime() override;
  Result<int64_t> GetMessageStoreTimestamp(std::string_view topic, int32_t queue_id,
                                           QueueOffset offset) override;
  Result<std::vector<RecordRef>> QueryMessages(std::string_view topic, std::string_view key,
                                               int max_num, int64_t begin_ms,
                                               int64_t end_ms) override;
  std::vector<std::pair<std::string, int32_t>> ListQueues() override;
  Status DeleteTopic(std::string_view topic) override;
  void SetArrivalListener(ArrivalListener listener) override {
    std::lock_guard<std::mutex> l(listener_mu_);
    listener_ = std::move(listener);
  }
  bool WaitDispatched(int timeout_ms) override;
  PhysicalOffset MaxPhysicalOffset() override { return PhysicalOffset(commit_log_.written()); }
  Result<CommitLogRange> ReadCommitLog(PhysicalOffset from, int32_t max_bytes) override;
  Status AppendCommitLog(PhysicalOffset at, std::string_view data) override;
  void SetAppendListener(AppendListener listener) override {
    commit_log_.SetAppendListener(std::move(listener));
  }
  Result<int> RunRetention() override;
  StoreStats Stats() override;
  bool IsDiskFull() override { return disk_full_.load(); }

 private:
  int64_t Now() const { return config_.clock_ms ? config_.clock_ms() : NowMillis(); }
  std::string Path(std::string_view name) const { return JoinPath(config_.root_dir, name); }

  // Recovery.
  Status LoadConsumeQueues(int64_t cl_min, int64_t cl_end, int64_t* redispatch_from);
  // Reads the item at pos (which must lie in seg).
  ScanItem ScanAt(const SegmentPtr& seg, int64_t pos, int64_t limit, bool check_crc);
  // Searches forward from pos for the next valid record (its PHYSICALOFFSET equals its position).
  // The first intact record after pos, or -1: at most `window` bytes of pos's segment are
  // searched, and every later segment from its start.
  int64_t Resync(int64_t pos, int64_t window);
  // kNoSpace during start-up puts the store in read-only mode (logged) and is not an error.
  Status StartReadOnlyIfFull(const Status& s);
  // How far past the end of the data recovery looks for intact records (what a power loss can
  // leave behind a hole): the unflushed window of a busy broker, and at least two messages.
  int64_t ResyncWindow() const { return std::max<int64_t>(64 << 20, 2 * config_.max_message_size); }
  // clean_end >= 0: the store was shut down cleanly with its data ending there, so nothing is
  // searched past it (a clean start reads nothing beyond the checkpoint).
  Result<int64_t> RecoverCommitLog(int64_t start, int64_t clean_end, bool* corrupted);
  Result<bool> CutCommitLog();

  // Dispatch.
  // Snapshot of every consume queue (taken under the map lock).
  std::vector<std::shared_ptr<ConsumeQueue>> AllQueues() {
    std::vector<std::shared_ptr<ConsumeQueue>> all;
    std::shared_lock<std::shared_mutex> l(queues_mu_);
    for (auto& [t, qs] : queues_)
      for (auto& [q, cq] : qs) all.push_back(cq);
    return all;
  }
  std::shared_ptr<ConsumeQueue> FindQueue(std::string_view topic, int32_t queue_id);
  Result<std::shared_ptr<ConsumeQueue>> GetOrCreateQueue(std::string_view topic, int32_t queue_id);
  // One dispatch round's buffered work: consume queues with appended entries and the arrivals
  // to announce once those entries are written.
  struct DispatchBatch {
    struct Arrival {
      std::string topic;
      int32_t queue_id;
      int64_t queue_offset;
      int64_t tags_code;
      int64_t store_timestamp;
    };
    std::vector<std::shared_ptr<ConsumeQueue>> touched;
    std::vector<Arrival> arrivals;
    size_t records = 0;
  };
  Status Dispatch(const message::RecordView& r, int64_t phy, int32_t size, bool notify,
                  DispatchBatch* batch);
  // Commits the batch's consume queues, then announces its arrivals.
  Status FinishBatch(DispatchBatch* batch);
  // Dispatches records in [from, to); returns the position reached.
  int64_t DispatchRange(int64_t from, int64_t to, bool notify, bool check_crc);
  int64_t DispatchRangeBatched(int64_t from, int64_t to, bool notify, bool check_crc,
                               DispatchBatch* batch, int64_t* committed);
  void DispatchLoop(ServiceThread& self);
  void WakeDispatcher() { dispatch_service_.Wake(); }
  void HousekeepingLoop(ServiceThread& self);
  // Writes out consume-queue entries older than write_behind_ms (0: all), fsyncs, checkpoints.
  Status FlushLogicsAndCheckpoint(int64_t write_behind_ms = 0);

  void DoPut(std::string encoded, const std::vector<uint32_t>& sizes, std::string_view topic,
             int32_t queue_id, QueueHandle* queue, int32_t sys_flag, int32_t count, bool wait,
             PutCallback cb);
  Status CheckWritable();

  StoreConfig config_;
  FileSystem* fs_;
  CommitLog commit_log_;
  IndexService index_;
  std::unique_ptr<File> lock_file_;

  std::shared_mutex queues_mu_;
  // Hashed: the dispatcher looks a queue up per record, over thousands of topics.
  std::unordered_map<std::string, std::map<int32_t, std::shared_ptr<ConsumeQueue>>, StringHash,
                     std::equal_to<>>
      queues_;

  std::atomic<int64_t> dispatched_{0};
  std::mutex checkpoint_mu_;               // one FlushLogicsAndCheckpoint at a time
  std::mutex dispatch_mu_;                 // orders dispatched_ updates with WaitDispatched
  std::atomic<bool> dispatch_idle_{true};  // its last round found nothing to dispatch
  std::condition_variable dispatched_cv_;  // progress for WaitDispatched

  std::mutex listener_mu_;
  ArrivalListener listener_;

  std::mutex shutdown_mu_;
  std::atomic<bool> running_{false};
  bool shut_down_ = false;  // guarded by shutdown_mu_
  std::atomic<bool> disk_full_{false};
  std::mutex retention_mu_;
  std::atomic<int64_t> last_flushed_store_ts_{0};

  StoreStats recovery_stats_;
  // Records found corrupt (body CRC) with intact framing during recovery: [offset, size].
  std::vector<std::pair<int64_t, int64_t>> corrupt_records_;
  // Byte ranges skipped during recovery because their framing was destroyed: [begin, end).
  std::vector<std::pair<int64_t, int64_t>> lost_ranges_;

  // Last, so that they stop before any state they use is destroyed.
  // Woken by appends when idle; polls every millisecond under load.
  ServiceThread dispatch_service_{"store-dispatch"};
  // Consume-queue/index flush, checkpoint and retention every flushIntervalConsumeQueue.
  ServiceThread house_service_{"store-house"};
};

Status StoreImpl::CheckWritable() {
  if (!running_.load()) return Status::Unavailable("message store is not running");
  if (config_.replica) {
    return Status::Unavailable("the store is a replica: messages are written to the master");
  }
  if (disk_full_.load())
    return Status::NoSpace("disk usage above diskSpaceWarningLevelRatio: store is full");
  return Status::OK();
}

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

// ---------------------------------------------------------------------------------------------
// Dispatch

std::shared_ptr<ConsumeQueue> StoreImpl::FindQueue(std::string_view topic, int32_t queue_id) {
  std::shared_lock<std::shared_mutex> l(queues_mu_);
  auto it = queues_.find(topic);
  if (it == queues_.end()) return nullptr;
  auto q = it->second.find(queue_id);
  return q == it->second.end() ? nullptr : q->second;
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
  for (auto& cq : batch->touched) {
    Status s = cq->Commit();
    if (!s.ok() && first.ok()) first = s;
  }
  batch->touched.clear();
  batch->records = 0;
  if (!first.ok()) {
    batch->arrivals.clear();
    return first;
  }
  if (!batch->arrivals.empty()) {
    std::lock_guard<std::mutex> l(listener_mu_);
    if (listener_) {
      for (const auto& a : batch->arrivals) {
        listener_(a.topic, a.queue_id, QueueOffset(a.queue_offset), a.tags_code, a.store_timestamp);
      }
    }
    batch->arrivals.clear();
  }
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
    auto cq = GetOrCreateQueue(r.topic, r.queue_id);
    if (!cq.ok()) return cq.status();
    // A queue joins the round's list with its first buffered entry (with thousands of queues a
    // search of the list per record was quadratic in the round).
    const bool had_pending = (*cq)->has_pending();
    RJ_ASSIGN_OR_RETURN(bool buffered, (*cq)->Append(r.queue_offset, phy, size, tags_code));
    if (buffered && !had_pending) batch->touched.push_back(*cq);
    if (notify) {
      batch->arrivals.push_back(DispatchBatch::Arrival{
          std::string(r.topic), r.queue_id, r.queue_offset, tags_code, r.store_timestamp});
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
  for (auto& cq : AllQueues()) {
    int64_t from = 0;
    RJ_RETURN_IF_ERROR(cq->Flush(write_behind_ms, &from, &write_out));
    unsynced = std::min(unsynced, from);
  }
  RJ_RETURN_IF_ERROR(index_.Flush());
  Checkpoint cp;
  cp.physic_flushed_offset = commit_log_.flushed();
  cp.logics_flushed_offset = std::min({dispatched, cp.physic_flushed_offset, unsynced});
  cp.physic_msg_timestamp = ts;
  cp.logics_msg_timestamp = ts;
  cp.index_msg_timestamp = ts;
  if (unsynced < std::min(dispatched, cp.physic_flushed_offset)) {
    // RocketMQ's recovery starts from the file holding the logics timestamp: the record's own.
    if (auto rec = ReadRecord(PhysicalOffset(unsynced)); rec.ok())
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

// ---------------------------------------------------------------------------------------------
// Writes

bool StoreImpl::FinishDeferredAppends() {
  if (t_deferred_store != this) return true;  // nothing of this thread's queued here
  const int64_t mine = t_deferred_end;
  t_deferred_store = nullptr;
  t_deferred_end = 0;
  if (commit_log_.written() >= mine) return true;   // another thread's round wrote them
  commit_log_.FlushPendingAppends().IgnoreError();  // logged; what matters is whether mine got in
  return commit_log_.written() >= mine;
}

void StoreImpl::PutMessageAsync(const message::MessageInput& msg, bool wait, PutCallback cb,
                                QueueHandle* queue) {
  Status s = CheckWritable();
  if (!s.ok()) return cb(s);
  if (static_cast<int64_t>(msg.body.size()) > config_.max_message_size)
    return cb(Status::InvalidArgument("message body of " + std::to_string(msg.body.size()) +
                                      " bytes exceeds maxMessageSize"));
  std::string encoded;
  s = message::EncodeRecord(msg, config_.store_host, &encoded);
  if (!s.ok()) return cb(s);
  std::vector<uint32_t> sizes{static_cast<uint32_t>(encoded.size())};
  // Another queue's handle is not used. A caller that passes the handle's own name (the broker)
  // is checked by address: the handle's name is cold in the cache by now.
  if (queue != nullptr) {
    const std::string_view name = queue->topic();
    const bool same_view = msg.topic.data() == name.data() && msg.topic.size() == name.size();
    if (queue->queue_id() != msg.queue_id || (!same_view && msg.topic != name)) queue = nullptr;
  }
  DoPut(std::move(encoded), sizes, msg.topic, msg.queue_id, queue, msg.sys_flag, 1, wait,
        std::move(cb));
}

void StoreImpl::PutMessagesAsync(const std::vector<message::MessageInput>& msgs, bool wait,
                                 PutCallback cb) {
  Status s = CheckWritable();
  if (!s.ok()) return cb(s);
  if (msgs.empty()) return cb(Status::InvalidArgument("empty batch"));
  std::string encoded;
  std::vector<uint32_t> sizes;
  sizes.reserve(msgs.size());
  for (const auto& m : msgs) {
    if (m.topic != msgs[0].topic || m.queue_id != msgs[0].queue_id)
      return cb(Status::InvalidArgument("a batch must target one topic and queue"));
    if ((m.sys_flag & message::kTransactionTypeMask) != message::kTransactionNotType)
      return cb(Status::InvalidArgument("batch messages cannot be transactional"));
    if (static_cast<int64_t>(m.body.size()) > config_.max_message_size)
      return cb(Status::InvalidArgument("message body exceeds maxMessageSize"));
    size_t before = encoded.size();
    s = message::EncodeRecord(m, config_.store_host, &encoded);
    if (!s.ok()) return cb(s);
    sizes.push_back(static_cast<uint32_t>(encoded.size() - before));
  }
  DoPut(std::move(encoded), sizes, msgs[0].topic, msgs[0].queue_id, nullptr, 0,
        static_cast<int32_t>(msgs.size()), wait, std::move(cb));
}

void StoreImpl::DoPut(std::string encoded, const std::vector<uint32_t>& sizes,
                      std::string_view topic, int32_t queue_id, QueueHandle* queue,
                      int32_t sys_flag, int32_t count, bool wait, PutCallback cb) {
  const int32_t tt = sys_flag & message::kTransactionTypeMask;
  const bool advance = tt == message::kTransactionNotType || tt == message::kTransactionCommitType;
  const bool defer = t_defer_appends && config_.flush_disk_type == FlushDiskType::kAsyncFlush &&
                     (t_deferred_store == nullptr || t_deferred_store == this);
  auto out = commit_log_.Append(&encoded, sizes, topic, queue_id, queue, advance, defer);
  if (!out.ok()) {
    RJ_LOG(kWarn, kLog, "append to %.*s failed: %s", static_cast<int>(topic.size()), topic.data(),
           out.status().ToString().c_str());
    return cb(out.status());
  }
  if (defer) {
    t_deferred_store = this;
    t_deferred_end = std::max(t_deferred_end, out->end_offset);
  }
  PutResult pr;
  pr.physical_offset = PhysicalOffset(out->physical_offset);
  pr.wrote_bytes = static_cast<int32_t>(out->end_offset - out->physical_offset);
  pr.queue_offset = QueueOffset(out->queue_offset);
  pr.msg_num = count;
  pr.store_timestamp = out->store_timestamp;
  pr.msg_id = message::CreateOffsetMessageId(config_.store_host, out->physical_offset);
  if (config_.flush_disk_type == FlushDiskType::kSyncFlush && wait) {
    commit_log_.RequestFlush(out->end_offset,
                             [pr = std::move(pr), cb = std::move(cb)](const Status& s) mutable {
                               if (s.ok()) {
                                 cb(std::move(pr));
                               } else if (s.code() == StatusCode::kTimeout) {
                                 // Stored, but not known to be on disk yet.
                                 pr.flush_timeout = true;
                                 cb(std::move(pr));
                               } else {
                                 cb(s);
                               }
                             });
    return;
  }
  cb(std::move(pr));
}

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

std::vector<std::pair<std::string, int32_t>> StoreImpl::ListQueues() {
  std::vector<std::pair<std::string, int32_t>> out;
  std::shared_lock<std::shared_mutex> l(queues_mu_);
  for (auto& [t, qs] : queues_)
    for (auto& [q, cq] : qs) out.emplace_back(t, q);
  std::sort(out.begin(), out.end());
  return out;
}

Status StoreImpl::DeleteTopic(std::string_view topic) {
  RJ_RETURN_IF_ERROR(ValidateStoreTopicName(topic));  // the name becomes a path below
  std::map<int32_t, std::shared_ptr<ConsumeQueue>> qs;
  {
    std::unique_lock<std::shared_mutex> l(queues_mu_);
    auto it = queues_.find(topic);
    if (it != queues_.end()) {
      qs = std::move(it->second);
      queues_.erase(it);
    }
  }
  // Offsets (and their handles) go even if nothing was dispatched into a consume queue yet.
  commit_log_.RemoveQueueOffsets(topic);
  if (qs.empty()) return Status::OK();
  for (auto& [q, cq] : qs) RJ_RETURN_IF_ERROR(cq->Destroy());
  const std::string dir = JoinPath(Path("consumequeue"), topic);
  // Entries that were only in memory (write-behind) never created a file.
  if (fs_->Exists(dir)) RJ_RETURN_IF_ERROR(fs_->RemoveDir(dir));
  // A checkpoint past the deleted records: a crash must not re-dispatch them into a topic of
  // the same name created later (its new entries would look like duplicates).
  if (Status s = FlushLogicsAndCheckpoint(0); !s.ok())
    RJ_LOG(kWarn, kLog, "checkpoint after deleting topic %.*s failed: %s",
           static_cast<int>(topic.size()), topic.data(), s.ToString().c_str());
  return Status::OK();
}

StoreStats StoreImpl::Stats() {
  StoreStats s = recovery_stats_;
  s.fsync_micros = commit_log_.fsync_micros().Read();
  s.fsync_bytes = commit_log_.fsync_bytes().Read();
  s.group_commit_requests = commit_log_.group_commit_requests().Read();
  s.min_physical_offset = PhysicalOffset(commit_log_.min_offset());
  s.written = PhysicalOffset(commit_log_.written());
  s.flushed = PhysicalOffset(commit_log_.flushed());
  s.dispatched = PhysicalOffset(dispatched_.load());
  s.put_count = commit_log_.put_count();
  s.commit_log_segments = static_cast<int64_t>(commit_log_.segments().count());
  return s;
}

Status StoreImpl::Shutdown() {
  {
    std::lock_guard<std::mutex> l(shutdown_mu_);
    if (shut_down_) return Status::OK();
    shut_down_ = true;
  }
  if (!running_.exchange(false)) return Status::OK();
  // Stop accepting writes, flush the CommitLog, let the dispatcher drain, then persist the
  // consume queues, index and checkpoint and remove the abort file.
  commit_log_.StopFlushService();
  Status flush = commit_log_.FlushAll();
  house_service_.Stop();
  dispatch_service_.Stop();  // after it has dispatched everything flushed
  if (!flush.ok()) {
    RJ_LOG(kError, kLog,
           "shutdown: CommitLog flush failed (%s); leaving the abort file so the "
           "next start verifies the log",
           flush.ToString().c_str());
    return flush;
  }
  // Dispatch anything left (e.g. the dispatcher stopped early after an error).
  const int64_t end = commit_log_.written();
  if (dispatched_.load() < end)
    dispatched_.store(DispatchRange(dispatched_.load(), end, true, false));
  Status s = FlushLogicsAndCheckpoint();
  if (!s.ok()) {
    RJ_LOG(kError, kLog, "shutdown: checkpoint failed: %s", s.ToString().c_str());
    return s;
  }
  s = fs_->RemoveFile(Path("abort"));
  if (s.ok()) s = fs_->SyncDir(config_.root_dir);
  if (s.ok()) RJ_LOG(kInfo, kLog, "store %s shut down cleanly", config_.root_dir.c_str());
  return s;
}

}  // namespace

Result<std::unique_ptr<MessageStore>> MessageStore::Open(StoreConfig config) {
  auto store = std::make_unique<StoreImpl>(std::move(config));
  Status s = store->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<MessageStore>(std::move(store));
}

}  // namespace ramjet::store
