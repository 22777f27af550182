// CommitLog: the single append-only log of every record, in segments of
// StoreConfig::commit_log_segment_size bytes, plus its flush service.
//
// Watermarks (absolute byte offsets, see README.md):
//   written  - end of the last record whose write(2) completed; readable through the mappings.
//   flushed  - everything below is fsynced.
// Invariant: min_offset <= flushed <= written.
//
// Threading: Append is serialized by the put lock. The flush service (a ServiceThread,
// "store-flush") owns fsyncs of CommitLog segments; in SYNC_FLUSH mode it completes
// group-commit requests (one fsync serves every request queued while the previous fsync ran).
// StartFlushService/StopFlushService from the owner only; RequestFlush from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ramjet/base/hash.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/metrics/metrics.h"
#include "ramjet/store/message_store.h"
#include "ramjet/store/store_config.h"
#include "segment.h"

namespace ramjet::store {

struct AppendOutcome {
  int64_t physical_offset = 0;  // of the first record
  int64_t end_offset = 0;       // physical offset after the last record
  int64_t queue_offset = 0;     // of the first record
  int64_t store_timestamp = 0;
};

class CommitLog {
 public:
  CommitLog(const StoreConfig& config, FileSystem* fs);
  ~CommitLog();

  SegmentQueue& segments() { return segments_; }

  // After recovery: positions the log at end (every segment before it is full/flushed).
  void SetRecoveredEnd(int64_t end);
  // Next queue offsets, kept per "topic-queueId" as RocketMQ's topicQueueTable; rebuilt from the
  // consume queues after recovery (raised, never lowered).
  void SetQueueOffset(std::string_view topic, int32_t queue_id, int64_t next);
  // Forgets a deleted topic's offsets and retires their handles.
  void RemoveQueueOffsets(std::string_view topic);
  // The handle holding a queue's next offset (created at 0 if the queue has none).
  std::shared_ptr<QueueHandle> ResolveQueue(std::string_view topic, int32_t queue_id);

  // Appends count encoded records (back to back in records) for one topic/queue. Patches queue
  // offsets (consecutive from the queue's counter when advance_queue, else 0), physical offsets
  // and store timestamps. On error nothing is acknowledged and no watermark moves.
  //
  // defer: the records are only queued behind the log's end (offsets assigned, "written" not
  // moved) and written with the next FlushPendingAppends or non-deferred append, in one write(2)
  // with whatever else was queued (kMaxPendingBytes at most). The caller must not acknowledge
  // them before that returned OK or written() >= the outcome's end_offset.
  // queue: the topic queue's handle if the caller has one (not retired, and of this topic
  // queue), else nullptr and the queue is looked up by name.
  Result<AppendOutcome> Append(std::string* records, const std::vector<uint32_t>& sizes,
                               std::string_view topic, int32_t queue_id, QueueHandle* queue,
                               bool advance_queue, bool defer = false);
  // Writes the deferred appends. A failed write makes the log refuse appends from then on (as a
  // failed flush does) and drops what was queued; the status says so.
  Status FlushPendingAppends();
  static constexpr int64_t kMaxPendingBytes = 256 * 1024;

  int64_t min_offset() const;
  int64_t written() const { return written_.load(std::memory_order_acquire); }
  int64_t flushed() const { return flushed_.load(std::memory_order_acquire); }

  // Flush service.
  void StartFlushService();
  void StopFlushService();  // flushes everything before returning
  // SYNC_FLUSH: run done(status) once flushed >= end (or with kTimeout / kIOError).
  void RequestFlush(int64_t end, std::function<void(Status)> done);
  // Appends raw bytes (a replica's copy of its master's log) at `at` == written(), or on an empty
  // log at a segment start. The bytes must not cross a segment end. Queue offsets are not
  // touched (the records carry their master's).
  Status AppendRaw(int64_t at, std::string_view data);
  // Called after every append with the new end. REQUIRES: set before the first append.
  void SetAppendListener(std::function<void(int64_t)> fn) { on_append_ = std::move(fn); }
  // Wakes whoever waits for new data (dispatcher) - set by the store.
  void SetDataListener(std::function<void()> fn) { on_data_ = std::move(fn); }
  // Flushes all written data now. Returns the first flush error, which is sticky.
  Status FlushAll();
  Status flush_error() const;
  int64_t put_count() const { return put_count_.load(); }
  // Each fsync round: latency (µs), bytes made durable, SYNC_FLUSH requests answered.
  const metrics::Histogram& fsync_micros() const { return fsync_micros_; }
  const metrics::Histogram& fsync_bytes() const { return fsync_bytes_; }
  const metrics::Histogram& group_commit_requests() const { return group_commit_requests_; }

 private:
  struct FlushRequest {
    int64_t end;
    int64_t deadline_us;
    std::function<void(Status)> done;
  };
  // SYNC_FLUSH: a round takes every queued request, fsyncs up to the log's end and answers
  // what that made durable. ASYNC_FLUSH: fsyncs at intervals when enough is dirty.
  void SyncFlushLoop(ServiceThread& self);
  void AsyncFlushLoop(ServiceThread& self);
  // A round's start: every queued request, and the flush error as it stands (*sticky).
  std::deque<FlushRequest> TakeRequests(Status* sticky);
  // Answers the requests s (the round's fsync status) served; the rest go back to the queue.
  void CompleteRequests(std::deque<FlushRequest>& batch, const Status& s, const Status& sticky);
  // Last round of a stopping service: flushes everything and answers every queued request.
  void DrainOnStop();

  // The end of the log including deferred appends.
  int64_t NextPositionLocked() const;
  Status FlushPendingLocked();
  // The queue's handle by name, created at offset 0 if absent. REQUIRES: put_mu_ held.
  const std::shared_ptr<QueueHandle>& FindOrAddQueueLocked(std::string_view topic,
                                                           int32_t queue_id);
  // ASYNC_FLUSH: starts write-back of the dirty range in short calls before the fdatasync.
  void StartWriteBack();
  // SYNC_FLUSH: whether the flush service has something to do: a failure to report, records to
  // fsync for a waiting request, or a request served already. REQUIRES: flush_mu_ held.
  bool SyncWorkLocked() const;
  // SYNC_FLUSH: keeps the bytes past end (the log's end, in seg) written with zeros up to 1 MiB
  // ahead. REQUIRES: put_mu_ held.
  void ZeroAheadLocked(Segment& seg, int64_t end);

  const StoreConfig& config_;
  FileSystem* fs_;
  SegmentQueue segments_;

  std::mutex put_mu_;
  // Looked up by string_view: a send builds its key without allocating.
  // Each queue's next offset lives in its QueueHandle, which appends may carry.
  std::unordered_map<std::string, std::shared_ptr<QueueHandle>, StringHash, std::equal_to<>>
      queue_offsets_;  // guarded by put_mu_
  // Deferred appends: bytes for [pending_pos_, pending_pos_ + size) of pending_seg_, right after
  // written_. All guarded by put_mu_.
  std::string pending_;
  int64_t pending_pos_ = 0;
  SegmentPtr pending_seg_;
  int64_t pending_count_ = 0;  // records in pending_
  // SYNC_FLUSH: the log's bytes below this are data or zeros written by ZeroAheadLocked (at
  // most one chunk ahead of the end). Guarded by put_mu_.
  int64_t zeroed_end_ = 0;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> flushed_{0};
  std::atomic<int64_t> put_count_{0};
  metrics::Histogram fsync_micros_{
      {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000}};
  metrics::Histogram fsync_bytes_{
      {4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}};
  metrics::Histogram group_commit_requests_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};

  // Flush service state.
  mutable std::mutex flush_mu_;
  std::deque<FlushRequest> requests_;  // guarded by flush_mu_
  // The service takes requests: set by StartFlushService, cleared before it is stopped, so a
  // request queued while it was set is completed by the service's last round.
  bool accepting_ = false;  // guarded by flush_mu_
  Status flush_error_;      // guarded by flush_mu_ (sticky)
  std::mutex sync_mu_;      // serializes fsync rounds
  ServiceThread flush_service_{"store-flush"};
  std::function<void()> on_data_;
  std::function<void(int64_t)> on_append_;
};

}  // namespace ramjet::store
