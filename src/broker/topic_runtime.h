// The state sends keep per topic besides its config: the topic's put counters (BrokerStats) and
// its queues' store handles (store::QueueHandle), resolved on the topic's first sends and kept
// with the topic's entry in TopicConfigManager, which hands it out with the config. With a
// thousand topics each lookup by name on the send path was a cache miss; a send now looks its
// topic up once.
//
// Threading: thread-safe (sends of one topic run on several I/O threads).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker_stats.h"
#include "ramjet/base/mutex.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

class TopicRuntime : public std::enable_shared_from_this<TopicRuntime> {
 public:
  explicit TopicRuntime(std::string topic) : topic_(std::move(topic)) {}
  TopicRuntime(const TopicRuntime&) = delete;
  TopicRuntime& operator=(const TopicRuntime&) = delete;

  const std::string& topic() const { return topic_; }
  // The store handle of one of the topic's queues, resolved on first use and again once retired
  // (the topic was deleted from the store and created again). nullptr for a queue id no topic
  // has (the append then finds the queue by name). Valid while this runtime lives: replaced
  // handles are kept. The first kFastQueues ids are read without the lock.
  store::QueueHandle* Queue(store::MessageStore* store, int32_t queue_id);
  // The topic's put counters: nullptr until the first put was counted by name.
  BrokerStats::PutItem* put_stats() const { return put_stats_.load(std::memory_order_acquire); }
  void set_put_stats(BrokerStats::PutItem* item) {
    put_stats_.store(item, std::memory_order_release);
  }

  // RocketMQ caps a topic's queues far below this; larger ids are not cached.
  static constexpr int32_t kMaxCachedQueues = 4096;
  static constexpr int32_t kFastQueues = 16;

 private:
  const std::string topic_;
  std::atomic<BrokerStats::PutItem*> put_stats_{nullptr};
  // queues_[id].get() for the first ids: a send reads its handle from this object's own lines
  // instead of taking the lock and reading the vector.
  std::array<std::atomic<store::QueueHandle*>, kFastQueues> fast_{};
  Mutex mu_;
  std::vector<std::shared_ptr<store::QueueHandle>> queues_ RJ_GUARDED_BY(mu_);    // by queue id
  std::vector<std::shared_ptr<store::QueueHandle>> replaced_ RJ_GUARDED_BY(mu_);  // kept alive
};

}  // namespace ramjet::broker
