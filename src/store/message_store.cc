#include "ramjet/store/message_store.h"

#include <future>

#include "store_impl.h"

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
  // Waits for its answer, which under SYNC_FLUSH needs the record written: never deferred.
  DeferredAppends write_now(false);
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
  DeferredAppends write_now(false);  // as PutMessage
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

namespace internal {

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
  // Under SYNC_FLUSH too: the group commit waits for the round's write (RequestFlush).
  const bool defer = t_defer_appends && (t_deferred_store == nullptr || t_deferred_store == this);
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
  TopicQueues qs;
  {
    std::unique_lock<std::shared_mutex> l(queues_mu_);
    auto it = queues_.find(topic);
    if (it != queues_.end()) {
      qs = std::move(it->second);
      queues_.erase(it);
      queues_generation_.fetch_add(1, std::memory_order_release);
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

}  // namespace internal

Result<std::unique_ptr<MessageStore>> MessageStore::Open(StoreConfig config) {
  auto store = std::make_unique<internal::StoreImpl>(std::move(config));
  Status s = store->Open();
  if (!s.ok()) return s;
  return std::unique_ptr<MessageStore>(std::move(store));
}

}  // namespace ramjet::store
