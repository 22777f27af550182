// ThreadPool: a fixed set of worker threads draining one bounded queue. TrySubmit refuses work
// when the queue is full, which is how request processors apply back-pressure (SYSTEM_BUSY)
// instead of queueing without bound. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ramjet::remoting {

class ThreadPool {
 public:
  ThreadPool(std::string name, int threads, size_t capacity);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue holds `capacity` tasks or the pool is shut down.
  bool TrySubmit(std::function<void()> task);
  // Runs queued tasks to completion, then joins the workers. Idempotent.
  void Shutdown();
  size_t QueueSize() const;
  // How long the oldest queued task has waited, in ms (0 when the queue is empty).
  int64_t HeadWaitMillis() const;
  const std::string& name() const { return name_; }

 private:
  void Work();
  std::string name_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Task {
    std::function<void()> fn;
    std::chrono::steady_clock::time_point enqueued;
  };
  std::deque<Task> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ramjet::remoting
