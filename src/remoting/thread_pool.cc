#include "ramjet/remoting/thread_pool.h"

#include "ramjet/base/logging.h"
#include "ramjet/base/thread_util.h"

namespace ramjet::remoting {

ThreadPool::ThreadPool(std::string name, int threads, size_t capacity)
    : name_(std::move(name)), capacity_(capacity) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      std::string tn = name_.substr(0, 12) + "-" + std::to_string(i);
      SetCurrentThreadName(tn);
      Work();
    });
  }
}

ThreadPool::~ThreadPool() { Shutdown(); }

bool ThreadPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_ || queue_.size() >= capacity_) return false;
    queue_.push_back(Task{std::move(task), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
  return true;
}

size_t ThreadPool::QueueSize() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

int64_t ThreadPool::HeadWaitMillis() const {
  std::lock_guard<std::mutex> l(mu_);
  if (queue_.empty()) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               queue_.front().enqueued)
      .count();
}

void ThreadPool::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void ThreadPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front().fn);
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      RJ_LOG(kError, "remoting", "%s: task threw: %s", name_.c_str(), e.what());
    }
  }
}

}  // namespace ramjet::remoting
