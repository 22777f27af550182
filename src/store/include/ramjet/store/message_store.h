// MessageStore: the RocketMQ-compatible storage engine (one CommitLog, a ConsumeQueue per
// topic/queue, an IndexFile chain, checkpoint, abort and lock files). See src/store/README.md for
// the vocabulary (written / flushed / dispatched watermarks) and docs/formats/ for byte layouts.
//
// Threading model:
//  - Put*/Get*/Query* may be called from any thread concurrently.
//  - Appends are serialized by one put lock (encoding and CRC happen before it).
//  - Background threads owned by the store: the flush service (async flush or group commit),
//    the dispatcher (builds consume-queue and index entries from the CommitLog, then calls the
//    arrival listener), and the housekeeper (flushes consume queues/index, writes the
//    checkpoint, runs retention).
//  - Completion callbacks of PutMessageAsync run on the appending thread (async flush, or when
//    the message need not wait) or on the flush service thread (sync flush): keep them short.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"
#include "ramjet/base/strong_types.h"
#include "ramjet/message/record.h"
#include "ramjet/metrics/metrics.h"
#include "ramjet/store/store_config.h"

namespace ramjet::store {

struct PutResult {
  PhysicalOffset physical_offset;  // of the first record
  int32_t wrote_bytes = 0;
  QueueOffset queue_offset;  // of the first record (0 for prepared/rollback records)
  int32_t msg_num = 1;
  int64_t store_timestamp = 0;
  std::string msg_id;  // offset message id of the first record
  // SYNC_FLUSH only: the record is stored but the fsync did not complete within
  // sync_flush_timeout_ms (RocketMQ's FLUSH_DISK_TIMEOUT).
  bool flush_timeout = false;
};

using PutCallback = std::function<void(Result<PutResult>)>;

// RocketMQ's GetMessageStatus, which the broker maps to pull response codes.
enum class GetStatus {
  kFound,
  kNoMatchedMessage,
  kMessageWasRemoving,
  kOffsetFoundNull,
  kOffsetOverflowBadly,
  kOffsetOverflowOne,
  kOffsetTooSmall,
  kNoMatchedLogicQueue,
  kNoMessageInQueue,
};
std::string_view GetStatusName(GetStatus s);

// Decides which messages a read returns. Both checks must pass.
class MessageFilter {
 public:
  virtual ~MessageFilter() = default;
  // Cheap check on the consume-queue tag hash.
  virtual bool MatchTagsCode(int64_t tags_code) const = 0;
  // Optional check on the whole record (e.g. SQL92 over properties).
  virtual bool MatchRecord(const message::RecordView&) const { return true; }
};

// A message served from a mapped segment (no copy). Valid while the GetResult that holds it is.
struct SelectedMessage {
  std::string_view data;  // the whole record, §4.4 layout
  QueueOffset queue_offset;
  PhysicalOffset physical_offset;
  int64_t tags_code = 0;
};

struct GetResult {
  GetStatus status = GetStatus::kNoMessageInQueue;
  QueueOffset next_begin_offset;
  QueueOffset min_offset;
  QueueOffset max_offset;
  std::vector<SelectedMessage> messages;
  int64_t total_bytes = 0;
  // Keeps the mapped segments alive while the views are used.
  std::vector<std::shared_ptr<const void>> pins;
};

// A record read by physical offset.
struct RecordRef {
  std::string_view data;
  message::RecordView view;
  std::shared_ptr<const void> pin;
};

// Raw CommitLog bytes (replication): a view into a mapped segment and the pin that keeps it.
struct CommitLogRange {
  std::string_view data;
  std::shared_ptr<const void> pin;
};

// Called on the appending thread after every CommitLog append, with the new end offset.
using AppendListener = std::function<void(int64_t end)>;

// Called by the dispatcher after a message becomes readable through its consume queue.
using ArrivalListener =
    std::function<void(std::string_view topic, int32_t queue_id, QueueOffset queue_offset,
                       int64_t tags_code, int64_t store_timestamp)>;

// One consume-queue entry: where its record is in the CommitLog, the record's size, and the
// tags hash code (or, for delayed topics, the delivery time).
struct ConsumeQueueEntry {
  PhysicalOffset physical_offset;
  int32_t size = 0;
  int64_t tags_code = 0;
};

struct StoreStats {
  PhysicalOffset min_physical_offset;
  PhysicalOffset written;     // appended (readable by physical offset)
  PhysicalOffset flushed;     // fsynced
  PhysicalOffset dispatched;  // consume queues and index built up to here
  int64_t put_count = 0;
  int64_t commit_log_segments = 0;
  // What the last Open did.
  bool recovered_after_crash = false;
  int64_t recovery_scanned_bytes = 0;
  int64_t recovery_scanned_records = 0;
  int64_t recovery_corrupt_records = 0;
  bool recovery_truncated_tail = false;  // a torn record after the last intact one
  int64_t recovery_ms = 0;               // how long the last Open took (recovery included)
  // Since start: each CommitLog fsync round's latency (µs) and size (bytes), and how many
  // waiting SYNC_FLUSH sends each round answered (the group-commit size).
  metrics::Histogram::Snapshot fsync_micros;
  metrics::Histogram::Snapshot fsync_bytes;
  metrics::Histogram::Snapshot group_commit_requests;
};

// While one is alive on a thread, that thread's appends (PutMessageAsync, PutMessagesAsync) are
// only queued behind the CommitLog's end (offsets assigned) and written by the next
// FinishDeferredAppends in one write(2) with whatever else was queued: a round of pipelined sends
// costs one system call instead of one per send. Under ASYNC_FLUSH the callbacks run at once, and
// the caller must run FinishDeferredAppends on the same thread before any acknowledgement leaves
// (the broker does it at the end of each I/O read round, remoting's before_corked_flush). Under
// SYNC_FLUSH with wait_store_ok the callbacks come from the group commit that follows that write;
// a failed write fails them. The blocking PutMessage and PutMessages are never deferred.
class DeferredAppends {
 public:
  explicit DeferredAppends(bool on);
  ~DeferredAppends();
  DeferredAppends(const DeferredAppends&) = delete;
  DeferredAppends& operator=(const DeferredAppends&) = delete;

 private:
  bool previous_;
};

// One topic queue resolved once for many appends (MessageStore::ResolveQueue; the broker keeps
// one per queue of each topic it sends to). An append that carries it takes the queue's next
// offset from it instead of looking the queue up by name: with thousands of queues that lookup
// was a cache miss per message. A handle outlives its queue: once the topic is deleted from the
// store it is retired, and appends that carry it fall back to the lookup by name.
// Thread-safety: the accessors are safe from any thread; the offset is the CommitLog's (under
// its put lock).
class QueueHandle {
 public:
  QueueHandle(std::string topic, int32_t queue_id)
      : topic_(std::move(topic)), queue_id_(queue_id) {}
  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }
  bool retired() const { return retired_.load(std::memory_order_acquire); }

 private:
  friend class CommitLog;
  const std::string topic_;
  const int32_t queue_id_;
  int64_t next_offset_ = 0;  // guarded by the CommitLog's put lock
  std::atomic<bool> retired_{false};
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // Opens (creating if needed) and recovers a store, then starts its background threads.
  static Result<std::unique_ptr<MessageStore>> Open(StoreConfig config);

  // Flushes everything, writes the checkpoint, removes the abort file and stops the threads.
  // Called by the destructor if not called before.
  virtual Status Shutdown() = 0;

  // Appends one message. With SYNC_FLUSH and wait_store_ok the callback runs only after the
  // record is fsynced (FLUSH_DISK_TIMEOUT -> a result with flush_timeout set after
  // sync_flush_timeout_ms, the record is
  // stored all the same). Errors: kInvalidArgument (illegal message), kNoSpace / kIOError (the
  // write or segment allocation failed: nothing was acknowledged), kUnavailable (shut down, or
  // not writable after a flush failure), kBusy.
  void PutMessageAsync(const message::MessageInput& msg, bool wait_store_ok, PutCallback cb) {
    PutMessageAsync(msg, wait_store_ok, std::move(cb), nullptr);
  }
  // The same through a resolved queue (nullptr: by name). The handle must be msg's topic queue;
  // one that is not is ignored (the append looks the queue up by name).
  virtual void PutMessageAsync(const message::MessageInput& msg, bool wait_store_ok, PutCallback cb,
                               QueueHandle* queue) = 0;
  // The handle of a topic queue (never null; created if the queue has no offset yet).
  virtual std::shared_ptr<QueueHandle> ResolveQueue(std::string_view topic, int32_t queue_id) = 0;
  // Appends several messages for one topic/queue as consecutive records in one write.
  virtual void PutMessagesAsync(const std::vector<message::MessageInput>& msgs, bool wait_store_ok,
                                PutCallback cb) = 0;
  // Writes the appends this thread deferred (DeferredAppends) together with everything else
  // queued. True when every record this thread deferred since the last call is in the page
  // cache; false when one was lost to a failed write (the store is then read-only): the
  // acknowledgements of those records must not be sent.
  virtual bool FinishDeferredAppends() = 0;
  // Blocking forms.
  Result<PutResult> PutMessage(const message::MessageInput& msg, bool wait_store_ok = true);
  Result<PutResult> PutMessages(const std::vector<message::MessageInput>& msgs,
                                bool wait_store_ok = true);

  // Reads up to max_count messages (and about max_bytes) from a queue starting at offset.
  virtual GetResult GetMessages(std::string_view topic, int32_t queue_id, QueueOffset offset,
                                int32_t max_count, int64_t max_bytes,
                                const MessageFilter* filter) = 0;
  // Reads the record at a physical offset (verifying its CRC).
  virtual Result<RecordRef> ReadRecord(PhysicalOffset offset) = 0;

  virtual QueueOffset GetMinOffsetInQueue(std::string_view topic, int32_t queue_id) = 0;
  // One past the last entry (the next offset to be assigned once dispatched).
  virtual QueueOffset GetMaxOffsetInQueue(std::string_view topic, int32_t queue_id) = 0;
  // The first offset whose store timestamp is >= timestamp (max offset if none).
  virtual QueueOffset GetOffsetInQueueByTime(std::string_view topic, int32_t queue_id,
                                             int64_t timestamp) = 0;
  // The consume-queue entry at offset (NotFound outside the queue or for a padding entry).
  virtual Result<ConsumeQueueEntry> GetConsumeQueueEntry(std::string_view topic, int32_t queue_id,
                                                         QueueOffset offset) = 0;
  Result<PhysicalOffset> GetCommitLogOffsetInQueue(std::string_view topic, int32_t queue_id,
                                                   QueueOffset offset);
  virtual Result<int64_t> GetEarliestMessageTime(std::string_view topic, int32_t queue_id) = 0;
  virtual Result<int64_t> GetEarliestMessageTime() = 0;
  virtual Result<int64_t> GetMessageStoreTimestamp(std::string_view topic, int32_t queue_id,
                                                   QueueOffset offset) = 0;

  // Index lookup: records of topic whose KEYS contain key or whose UNIQ_KEY is key, stored in
  // [begin_ms, end_ms], newest first, at most max_num.
  virtual Result<std::vector<RecordRef>> QueryMessages(std::string_view topic, std::string_view key,
                                                       int max_num, int64_t begin_ms,
                                                       int64_t end_ms) = 0;

  // Topics and queue ids that have consume queues.
  virtual std::vector<std::pair<std::string, int32_t>> ListQueues() = 0;
  // Deletes the consume queues of a topic (the CommitLog keeps its records until retention).
  virtual Status DeleteTopic(std::string_view topic) = 0;

  virtual void SetArrivalListener(ArrivalListener listener) = 0;

  // Replication (RocketMQ's HA). The end of the CommitLog: the offset the next append gets.
  virtual PhysicalOffset MaxPhysicalOffset() = 0;
  // Master: raw CommitLog bytes from `from`, at most max_bytes, within one segment and below the
  // end (empty data when from is the end). NotFound below the first segment or past the end.
  virtual Result<CommitLogRange> ReadCommitLog(PhysicalOffset from, int32_t max_bytes) = 0;
  // Slave: appends raw CommitLog bytes, unchanged, at `at`, which must be MaxPhysicalOffset()
  // (on an empty store: the start of a segment). The bytes must lie within one segment. The
  // dispatcher then builds consume queues and index from them as from any append. Errors:
  // kInvalidArgument (wrong offset, crosses a segment), kIOError/kNoSpace, kUnavailable.
  virtual Status AppendCommitLog(PhysicalOffset at, std::string_view data) = 0;
  // REQUIRES: called before the first append (the listener is read without a lock).
  virtual void SetAppendListener(AppendListener listener) = 0;
  // Blocks until everything written so far is dispatched, or timeout. Mostly for tests/tools.
  virtual bool WaitDispatched(int timeout_ms) = 0;
  // Runs one retention round now; returns the number of CommitLog segments deleted.
  virtual Result<int> RunRetention() = 0;
  virtual StoreStats Stats() = 0;
  virtual bool IsDiskFull() = 0;
};

}  // namespace ramjet::store
