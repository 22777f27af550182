// StoreImpl: the MessageStore behind MessageStore::Open (private to the store library).
//
// Its definitions are split by concern: message_store.cc (open, writes, topics, shutdown),
// store_recovery.cc (recovery and CommitLog scanning), store_dispatch.cc (the dispatcher and
// housekeeping) and store_queries.cc (reads, pulls and queries). Threading: as MessageStore
// (ramjet/store/message_store.h): callers on any thread; the dispatcher and housekeeping run on
// their own service threads.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <future>
#include <limits>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checkpoint.h"
#include "commit_log.h"
#include "consume_queue.h"
#include "index_service.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/name_table.h"
#include "ramjet/base/names.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/base/thread_util.h"
#include "ramjet/store/message_store.h"

namespace ramjet::store::internal {

// The consume queues of one topic in one array sorted by queue id. A topic has a few dense ids:
// the dispatcher's lookup per record reads one or two cache lines, where a std::map walked a
// node per level (with thousands of topics, each a cache miss).
class TopicQueues {
 public:
  using Entry = std::pair<int32_t, std::shared_ptr<ConsumeQueue>>;

 private:
  template <typename Entries>
  static auto LowerBound(Entries& entries, int32_t queue_id) {
    return std::lower_bound(entries.begin(), entries.end(), queue_id,
                            [](const Entry& a, int32_t id) { return a.first < id; });
  }

 public:
  const std::shared_ptr<ConsumeQueue>* Find(int32_t queue_id) const {
    auto it = LowerBound(entries_, queue_id);
    return it != entries_.end() && it->first == queue_id ? &it->second : nullptr;
  }
  // The slot of queue_id, added empty if absent.
  std::shared_ptr<ConsumeQueue>& operator[](int32_t queue_id) {
    auto it = LowerBound(entries_, queue_id);
    if (it == entries_.end() || it->first != queue_id) it = entries_.insert(it, {queue_id, {}});
    return it->second;
  }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

// The dispatcher's cache of the consume queues it appends to. The shared table costs a shared
// lock, a bucket, a node, its key and the topic's queue array per record: with thousands of
// queues, a cache miss each; a NameTable hit reads one line and then the queue, which the append
// reads anyway. The cache empties itself when the store's queue generation changes (a topic was
// deleted), so it hands out no queue the shared table no longer has; the queues it held stay
// alive until ReleaseRetired (the end of a dispatch batch, whose lists point at them).
// Threading: one thread at a time (recovery, then the dispatcher, then Shutdown, ordered by the
// dispatcher thread's start and stop).
class QueueCache {
 public:
  // The cached queue of (topic, queue_id), or nullptr. Alive until the next ReleaseRetired.
  ConsumeQueue* Find(std::string_view topic, int32_t queue_id, uint64_t generation) {
    if (generation != generation_) {
      queues_.ForEach([this](std::string_view, int32_t, std::shared_ptr<ConsumeQueue>& cq) {
        retired_.push_back(std::move(cq));
      });
      queues_.Clear();
      generation_ = generation;
    }
    const std::shared_ptr<ConsumeQueue>* cached = queues_.Find(topic, queue_id);
    return cached == nullptr ? nullptr : cached->get();
  }
  // Drops the queues the last generation change took out of the cache.
  void ReleaseRetired() { retired_.clear(); }
  // Caches cq and returns it (alive as one Find returned).
  // REQUIRES: cq is not cached (Find returned nullptr for it since the last generation change).
  ConsumeQueue* Add(std::shared_ptr<ConsumeQueue> cq) {
    ConsumeQueue* queue = cq.get();
    queues_.Insert(queue->topic(), queue->queue_id(), std::move(cq));
    return queue;
  }

 private:
  NameTable<std::shared_ptr<ConsumeQueue>> queues_;
  std::vector<std::shared_ptr<ConsumeQueue>> retired_;
  uint64_t generation_ = 0;
};

inline constexpr const char* kLog = "store";

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
  // to announce once those entries are written. Its queues are dispatch_queues_'s, alive until
  // FinishBatch (which releases the queues a generation change retired): no reference count is
  // touched per record (with thousands of queues, each count was a cache miss).
  struct DispatchBatch {
    struct Arrival {
      ConsumeQueue* queue;  // names the topic and id (no copy of the name)
      int64_t queue_offset;
      int64_t tags_code;
      int64_t store_timestamp;
    };
    std::vector<ConsumeQueue*> touched;
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
  std::unordered_map<std::string, TopicQueues, StringHash, std::equal_to<>> queues_;
  // Bumped (under queues_mu_) whenever a queue leaves queues_; empties dispatch_queues_.
  std::atomic<uint64_t> queues_generation_{0};
  QueueCache dispatch_queues_;  // the dispatching thread's only (see QueueCache)

  std::atomic<int64_t> dispatched_{0};
  std::mutex checkpoint_mu_;  // one FlushLogicsAndCheckpoint at a time
  // The last thorough pass (guarded by checkpoint_mu_), which fsyncs the index: when (0: never,
  // so the first pass is thorough), and the dispatched offset and store timestamp it covered.
  int64_t thorough_us_ = 0;
  int64_t index_synced_below_ = 0;
  int64_t index_synced_ts_ = 0;
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

}  // namespace ramjet::store::internal
