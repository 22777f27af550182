// Scheduler: one background thread running delayed and periodic tasks in due order.
// Tasks must be short; anything slow belongs on an executor. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace ramjet {

class Scheduler {
 public:
  explicit Scheduler(std::string name);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs fn once after delay_ms. Returns an id for Cancel.
  uint64_t RunAfter(int64_t delay_ms, std::function<void()> fn);
  // Runs fn every period_ms, first after initial_delay_ms.
  uint64_t RunEvery(int64_t initial_delay_ms, int64_t period_ms, std::function<void()> fn);
  void Cancel(uint64_t id);
  // Stops the thread; pending tasks are dropped. Idempotent.
  void Stop();

 private:
  struct Task {
    uint64_t id;
    int64_t period_ms;
    std::function<void()> fn;
  };
  void Loop();
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<int64_t, Task> queue_;  // due (monotonic ms) -> task
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ramjet
