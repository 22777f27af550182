// Long polling (RocketMQ's PullRequestHoldService): a pull that found nothing is parked here
// per (topic, queue) and handed back to its processor (the `wake` callback) when
//  - the store reports a message arriving in that queue that the pull's filter may match
//    (OnArrival, called by the store's dispatcher),
//  - a periodic Scan sees the queue grown past the pull's offset, or its deadline passed, or
//    its connection closed.
// The processor then runs the pull again without parking it a second time.
//
// Threading: internally locked (one mutex over the table). `wake` is called outside the lock,
// on the thread that woke the pull (dispatcher or scanner); it must not block (the pull
// processor submits to its executor). OnArrival is cheap when nothing is held (one atomic load).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

class PullHoldService {
 public:
  using Wake = std::function<void(remoting::RequestContextPtr)>;

  // REQUIRES: store outlives the service.
  PullHoldService(store::MessageStore* store, Wake wake) : store_(store), wake_(std::move(wake)) {}

  // Parks a pull of (topic, queue_id) from offset until deadline_ms (MonoMillis(): a wall-clock
  // jump moves no deadline).
  void Hold(remoting::RequestContextPtr ctx, const std::string& topic, int32_t queue_id,
            int64_t offset, std::shared_ptr<store::MessageFilter> filter, int64_t deadline_ms)
      RJ_EXCLUDES(mu_);
  // A message with tags_code was stored at offset of (topic, queue_id).
  void OnArrival(std::string_view topic, int32_t queue_id, int64_t offset, int64_t tags_code)
      RJ_EXCLUDES(mu_);
  // Wakes pulls whose queue grew, whose deadline passed or whose connection closed.
  void Scan() RJ_EXCLUDES(mu_);
  // Pulls parked now.
  int64_t held() const { return held_count_.load(); }

 private:
  struct QueueKey {
    std::string topic;
    int32_t queue_id = 0;
    auto operator<=>(const QueueKey&) const = default;
  };
  struct HeldPull {
    remoting::RequestContextPtr ctx;
    int64_t offset = 0;
    int64_t deadline_ms = 0;
    std::shared_ptr<store::MessageFilter> filter;
  };

  // Removes the pulls of key that pred selects and wakes them (outside the lock).
  void WakeIf(const QueueKey& key, const std::function<bool(const HeldPull&)>& pred)
      RJ_EXCLUDES(mu_);

  store::MessageStore* const store_;
  const Wake wake_;
  Mutex mu_;
  std::map<QueueKey, std::vector<HeldPull>, std::less<>> held_ RJ_GUARDED_BY(mu_);
  // Mirrors the number of parked pulls so that arrivals skip the lock when none are held.
  std::atomic<int64_t> held_count_{0};
};

}  // namespace ramjet::broker
