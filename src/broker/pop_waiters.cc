#include "pop_waiters.h"

#include <vector>

#include "ramjet/base/clock.h"

namespace ramjet::broker {

void PopWaiters::Start() {
  thread_.Start([this](ServiceThread& self) { Run(self); });
}

void PopWaiters::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.Stop();
  std::list<std::shared_ptr<PopWaiter>> left;
  {
    MutexLock l(&mu_);
    left.swap(waiters_);
  }
  for (const auto& w : left) w->Attempt(true);
}

void PopWaiters::Park(std::shared_ptr<PopWaiter> w) {
  {
    MutexLock l(&mu_);
    if (!stopping_) {
      w->next_try_ms_ = NowMillis() + kRetryEveryMs;
      waiters_.push_back(std::move(w));
      return;
    }
  }
  w->Attempt(true);
}

void PopWaiters::Wake(std::string_view topic) {
  bool any = false;
  {
    MutexLock l(&mu_);
    for (const auto& w : waiters_) {
      if (w->Matches(topic)) w->woken_ = any = true;
    }
  }
  if (any) thread_.Wake();
}

size_t PopWaiters::parked() const {
  MutexLock l(&mu_);
  return waiters_.size();
}

size_t PopWaiters::CountIf(const std::function<bool(const PopWaiter&)>& pred) const {
  MutexLock l(&mu_);
  size_t n = 0;
  for (const auto& w : waiters_) n += pred(*w) ? 1 : 0;
  return n;
}

void PopWaiters::Run(ServiceThread& self) {
  while (!self.stopping()) {
    std::vector<std::shared_ptr<PopWaiter>> due;
    const int64_t now = NowMillis();
    {
      MutexLock l(&mu_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        PopWaiter& w = **it;
        if (w.woken_ || w.cancelled() || now >= w.deadline_ms() || now >= w.next_try_ms_) {
          w.woken_ = false;
          due.push_back(std::move(*it));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& w : due) {
      if (!w->Attempt(now >= w->deadline_ms())) Park(std::move(w));
    }
    self.WaitFor(50);
  }
}

}  // namespace ramjet::broker
