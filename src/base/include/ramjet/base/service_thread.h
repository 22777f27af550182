// ServiceThread: one background thread with a stop request and a wake-up, the base of the
// services that loop "do a round, sleep until woken or the interval passes" (RocketMQ's
// ServiceThread: the delay-level, timer and transaction-check services, housekeeping).
//
//   ServiceThread t("schedule");
//   t.Start([&](ServiceThread& self) {
//     while (!self.stopping()) {
//       DoRound();
//       self.WaitFor(100);  // returns early on Wake() or Stop()
//     }
//   });
//   ...
//   t.Wake();   // from any thread: new work
//   t.Stop();   // from any thread but the service's own: request stop, wake, join
//
// Threading: Start/Stop from the owner; Wake and stopping() from any thread; WaitFor only from
// the service thread. A Wake() that comes while the body is busy is remembered: the next
// WaitFor returns at once (no lost wake-ups).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>

#include "ramjet/base/mutex.h"

namespace ramjet {

class ServiceThread {
 public:
  explicit ServiceThread(std::string name) : name_(std::move(name)) {}
  ~ServiceThread() { Stop(); }
  ServiceThread(const ServiceThread&) = delete;
  ServiceThread& operator=(const ServiceThread&) = delete;

  // Runs body(*this) on a new thread named `name`. REQUIRES: not running.
  void Start(std::function<void(ServiceThread&)> body);
  // Requests a stop, wakes the thread and joins it. Idempotent; no-op if never started.
  void Stop();
  // Makes the current or next WaitFor return early.
  void Wake() RJ_EXCLUDES(mu_);
  // Sleeps up to ms milliseconds, until woken or a stop is requested. False when stopping.
  bool WaitFor(int64_t ms) RJ_EXCLUDES(mu_);
  bool stopping() const { return stop_.stop_requested(); }
  bool running() const { return thread_.joinable(); }

 private:
  const std::string name_;
  Mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ RJ_GUARDED_BY(mu_) = false;
  // Created before the thread starts (the thread reads it from its first instruction).
  std::stop_source stop_;
  std::jthread thread_;
};

}  // namespace ramjet
