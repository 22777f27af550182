#include "ramjet/base/service_thread.h"

#include <chrono>

#include "ramjet/base/check.h"
#include "ramjet/base/thread_util.h"

namespace ramjet {

void ServiceThread::Start(std::function<void(ServiceThread&)> body) {
  RJ_CHECK(!thread_.joinable(), "service thread %s started twice", name_.c_str());
  stop_ = std::stop_source();
  thread_ = std::jthread([this, body = std::move(body)] {
    SetCurrentThreadName(name_);
    body(*this);
  });
}

void ServiceThread::Stop() {
  if (!thread_.joinable()) return;
  stop_.request_stop();
  Wake();
  thread_.join();
}

void ServiceThread::Wake() {
  {
    MutexLock l(&mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool ServiceThread::WaitFor(int64_t ms) {
  std::stop_token st = stop_.get_token();
  {
    // condition_variable_any waits on the Mutex itself; the analysis cannot follow the
    // unlock/relock inside wait_for, so the lock is taken and released explicitly.
    mu_.lock();
    cv_.wait_for(mu_, st, std::chrono::milliseconds(ms > 0 ? ms : 0),
                 [this]() RJ_NO_THREAD_SAFETY_ANALYSIS { return woken_; });
    woken_ = false;
    mu_.unlock();
  }
  return !st.stop_requested();
}

}  // namespace ramjet
