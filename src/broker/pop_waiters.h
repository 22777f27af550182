// Long polling of POP requests (RocketMQ 5's PopLongPollingService), for both doors into the
// PopService: a gRPC ReceiveMessage and a remoting POP_MESSAGE that found nothing are parked here
// and tried again when
//  - a message arrives in the topic they pop or in the group's pop retry topic (Wake, called by
//    the store's dispatcher),
//  - every kRetryEveryMs (a revived message or a lapsed FIFO queue does not pass the
//    dispatcher's arrival hook as a new message of the popped topic would),
//  - their deadline passed (a last chance: the pop answers whatever it has, maybe nothing), or
//    they were cancelled (the caller gave up).
//
// Threading: internally locked. Park/Wake/WakeThread from any thread; the attempts run on the
// waiters' own service thread, outside the lock. Stop answers every parked waiter (last chance)
// on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "ramjet/base/mutex.h"
#include "ramjet/base/service_thread.h"

namespace ramjet::broker {

class PopWaiter {
 public:
  virtual ~PopWaiter() = default;
  // Pops; answers the caller and returns true when there were messages, when the pop failed,
  // or when last_chance; false: nothing yet, keep waiting.
  virtual bool Attempt(bool last_chance) = 0;
  // Whether a message arriving in topic may be for this pop.
  virtual bool Matches(std::string_view topic) const = 0;
  // When the caller stops waiting (NowMillis()).
  virtual int64_t deadline_ms() const = 0;
  virtual bool cancelled() const { return false; }

 private:
  friend class PopWaiters;
  bool woken_ = false;       // guarded by the waiter list's mutex
  int64_t next_try_ms_ = 0;  // guarded by the waiter list's mutex
};

class PopWaiters {
 public:
  static constexpr int64_t kRetryEveryMs = 500;

  explicit PopWaiters(std::string thread_name) : thread_(std::move(thread_name)) {}
  ~PopWaiters() { Stop(); }
  PopWaiters(const PopWaiters&) = delete;
  PopWaiters& operator=(const PopWaiters&) = delete;

  void Start();
  // Stops the thread, then gives every parked waiter its last chance. Idempotent.
  void Stop() RJ_EXCLUDES(mu_);
  // Keeps w until an attempt answers it; once stopped, gives it its last chance at once.
  void Park(std::shared_ptr<PopWaiter> w) RJ_EXCLUDES(mu_);
  // A message arrived in topic.
  void Wake(std::string_view topic) RJ_EXCLUDES(mu_);
  // Makes the thread look at its waiters now (a waiter was cancelled).
  void WakeThread() { thread_.Wake(); }
  size_t parked() const RJ_EXCLUDES(mu_);
  // Parked waiters for which pred holds.
  size_t CountIf(const std::function<bool(const PopWaiter&)>& pred) const RJ_EXCLUDES(mu_);

 private:
  void Run(ServiceThread& self) RJ_EXCLUDES(mu_);

  mutable Mutex mu_;
  std::list<std::shared_ptr<PopWaiter>> waiters_ RJ_GUARDED_BY(mu_);
  bool stopping_ RJ_GUARDED_BY(mu_) = false;
  ServiceThread thread_;
};

}  // namespace ramjet::broker
