#include "topic_runtime.h"

namespace ramjet::broker {

std::shared_ptr<store::QueueHandle> TopicRuntime::Queue(store::MessageStore* store,
                                                        int32_t queue_id) {
  if (queue_id < 0 || queue_id >= kMaxCachedQueues) return nullptr;
  const auto qid = static_cast<size_t>(queue_id);
  MutexLock l(&mu_);
  if (qid >= queues_.size()) queues_.resize(qid + 1);
  std::shared_ptr<store::QueueHandle>& slot = queues_[qid];
  if (slot == nullptr || slot->retired()) slot = store->ResolveQueue(topic_, queue_id);
  return slot;
}

}  // namespace ramjet::broker
