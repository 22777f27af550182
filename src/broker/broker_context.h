// BrokerContext: what the broker's request processors share — the configuration (as started
// and as updated at runtime), the metadata managers, the client registries, the statistics and
// the store — and the few shared actions on them (group topics, the random source, telling the
// name servers that topics changed). It sits below every processor and knows none of them:
// processors that must reach each other do so through callbacks set by the broker (broker.cc),
// the composition root.
//
// Threading: every member is internally synchronized (or immutable after start); a processor
// may use the context from any executor thread. Live() is one atomic load: take it once per
// request so that a request sees one configuration.
//
// Lifetime: owned by the broker; outlives the remoting server and every processor. `store` and
// `server` are set during start and not changed afterwards (server is null in unit tests).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "broker_stats.h"
#include "consumer_manager.h"
#include "consumer_offset_manager.h"
#include "producer_manager.h"
#include "ramjet/base/mutex.h"
#include "ramjet/broker/broker.h"
#include "ramjet/controller/failover_controller.h"
#include "ramjet/ha/ha_master.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/store/message_store.h"
#include "subscription_group_manager.h"
#include "topic_config_manager.h"

namespace ramjet::broker {

class BrokerContext {
 public:
  // The metadata files live under config.store.root_dir/config (not read until Load()).
  explicit BrokerContext(BrokerConfig config);
  BrokerContext(const BrokerContext&) = delete;
  BrokerContext& operator=(const BrokerContext&) = delete;

  // Reads topics, subscription groups and consumer offsets from disk.
  [[nodiscard]] Status LoadMetadata();

  // The configuration the broker started with (names, addresses, store path, pool sizes).
  const BrokerConfig& config() const { return config_; }
  // The configuration as updated at runtime (UPDATE_BROKER_CONFIG).
  std::shared_ptr<const BrokerConfig> Live() const { return live_.load(std::memory_order_acquire); }
  void SetLive(std::shared_ptr<const BrokerConfig> next) {
    live_.store(std::move(next), std::memory_order_release);
  }

  // A read-write group topic (%RETRY% / %DLQ%) of `queues` queues.
  static protocol::TopicConfig GroupTopicConfig(const std::string& name, int32_t queues);
  // Creates the group topic if it is missing (validated name) and tells the name servers.
  [[nodiscard]] Status EnsureGroupTopic(const std::string& name, int32_t queues);
  // Topics were created, changed or deleted: re-register with the name servers (asynchronous).
  void TopicsChanged() {
    if (on_topics_changed_) on_topics_changed_();
  }
  void set_on_topics_changed(std::function<void()> f) { on_topics_changed_ = std::move(f); }

  uint32_t Random() RJ_EXCLUDES(rng_mu_);

  // Tells every live consumer of group to rebalance (NOTIFY_CONSUMER_IDS_CHANGED), one-way.
  void NotifyConsumerIdsChanged(const std::string& group);
  // Sends a request one-way to one live producer of group; false if there is none.
  bool SendToProducer(const std::string& group, protocol::RemotingCommand cmd);

  TopicConfigManager topics;
  SubscriptionGroupManager groups;
  ConsumerOffsetManager offsets;
  ConsumerManager consumers;
  ProducerManager producers;
  BrokerStats stats;
  std::unique_ptr<store::MessageStore> store;
  remoting::Endpoint* server = nullptr;  // the broker's remoting server; null in unit tests
  // The HA service of a master (null on a slave and in unit tests).
  ha::HaMaster* ha_master = nullptr;
  // Controller mode: the group's failover controller (null otherwise). A master takes writes
  // and registers as master only while controller->Writable().
  controller::FailoverController* controller = nullptr;

 private:
  const BrokerConfig config_;
  std::atomic<std::shared_ptr<const BrokerConfig>> live_;
  std::function<void()> on_topics_changed_;
  Mutex rng_mu_;
  std::mt19937 rng_ RJ_GUARDED_BY(rng_mu_){std::random_device{}()};
};

// The file system the broker's store and metadata files use (StoreConfig::file_system, or
// POSIX).
store::FileSystem* FileSystemOf(const BrokerConfig& config);

// Answers a request that failed with s: SYSTEM_ERROR and the status message as remark (the
// generic mapping; processors answer specific codes themselves).
void RespondError(const remoting::RequestContextPtr& ctx, const Status& s);

}  // namespace ramjet::broker
