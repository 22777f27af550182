#include "topic_runtime.h"

namespace ramjet::broker {

store::QueueHandle* TopicRuntime::Queue(store::MessageStore* store, int32_t queue_id) {
  if (queue_id < 0 || queue_id >= kMaxCachedQueues) return nullptr;
  const auto qid = static_cast<size_t>(queue_id);
  if (qid < fast_.size()) {
    store::QueueHandle* q = fast_[qid].load(std::memory_order_acquire);
    if (q != nullptr && !q->retired()) return q;
  }
  MutexLock l(&mu_);
  if (qid >= queues_.size()) queues_.resize(qid + 1);
  std::shared_ptr<store::QueueHandle>& slot = queues_[qid];
  if (slot == nullptr || slot->retired()) {
    if (slot != nullptr) replaced_.push_back(std::move(slot));
    slot = store->ResolveQueue(topic_, queue_id);
    if (qid < fast_.size()) fast_[qid].store(slot.get(), std::memory_order_release);
  }
  return slot.get();
}

}  // namespace ramjet::broker
