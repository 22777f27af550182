#include "ramjet/base/scheduler.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/thread_util.h"

namespace ramjet {

namespace {
int64_t MonoMs() { return MonoMicros() / 1000; }
}  // namespace

Scheduler::Scheduler(std::string name) : name_(std::move(name)) {
  thread_ = std::thread([this] {
    SetCurrentThreadName(name_);
    Loop();
  });
}

Scheduler::~Scheduler() { Stop(); }

uint64_t Scheduler::RunAfter(int64_t delay_ms, std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_id_++;
  queue_.emplace(MonoMs() + delay_ms, Task{id, 0, std::move(fn)});
  cv_.notify_one();
  return id;
}

uint64_t Scheduler::RunEvery(int64_t initial_delay_ms, int64_t period_ms,
                             std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_id_++;
  queue_.emplace(MonoMs() + initial_delay_ms, Task{id, period_ms > 0 ? period_ms : 1, std::move(fn)});
  cv_.notify_one();
  return id;
}

void Scheduler::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->second.id == id) {
      queue_.erase(it);
      return;
    }
  }
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  // Drop pending tasks now (outside the lock): they may own objects that own this scheduler.
  std::multimap<int64_t, Task> dropped;
  {
    std::lock_guard<std::mutex> l(mu_);
    dropped.swap(queue_);
  }
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(l);
      continue;
    }
    int64_t now = MonoMs();
    auto it = queue_.begin();
    if (it->first > now) {
      cv_.wait_for(l, std::chrono::milliseconds(it->first - now));
      continue;
    }
    Task task = std::move(it->second);
    queue_.erase(it);
    l.unlock();
    try {
      task.fn();
    } catch (const std::exception& e) {
      RJ_LOG(kError, "scheduler", "%s: task threw: %s", name_.c_str(), e.what());
    }
    l.lock();
    if (task.period_ms > 0 && !stop_) {
      // Re-arm unless it was cancelled while running (id no longer wanted is not tracked:
      // periodic tasks are cancelled by Stop()).
      queue_.emplace(MonoMs() + task.period_ms, std::move(task));
    }
  }
}

}  // namespace ramjet
