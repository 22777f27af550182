// A mutex the thread-safety analysis understands (ramjet/base/thread_annotations.h), and its
// scoped lock. Same cost as std::mutex / std::lock_guard, which they wrap.
//
//   Mutex mu_;
//   int n_ RJ_GUARDED_BY(mu_);
//   void Add() RJ_EXCLUDES(mu_) { MutexLock l(&mu_); ++n_; }
//
// Thread-safety: as std::mutex. For condition variables, use std::condition_variable_any with
// the Mutex itself (it is BasicLockable).
#pragma once

#include <mutex>

#include "ramjet/base/thread_annotations.h"

namespace ramjet {

class RJ_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() RJ_ACQUIRE() { mu_.lock(); }
  void unlock() RJ_RELEASE() { mu_.unlock(); }
  bool try_lock() RJ_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis that the calling thread holds this mutex (no run-time check).
  void AssertHeld() const RJ_THREAD_ANNOTATION(assert_capability(this)) {}

 private:
  std::mutex mu_;
};

class RJ_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) RJ_ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RJ_RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace ramjet
