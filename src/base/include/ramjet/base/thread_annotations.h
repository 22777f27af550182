// Clang thread-safety annotations (-Wthread-safety), after leveldb's port/thread_annotations.h.
// Under GCC they expand to nothing; the clang stage of the test command (scripts/test.sh)
// checks them. Annotate with ramjet::Mutex (ramjet/base/mutex.h): std::mutex carries no
// capability attribute in libstdc++.
//
//   RJ_GUARDED_BY(mu)      a member read or written only with mu held
//   RJ_PT_GUARDED_BY(mu)   the pointee of a member pointer, likewise
//   RJ_REQUIRES(mu)        a function called with mu held
//   RJ_EXCLUDES(mu)        a function called without mu held (it takes mu itself)
//   RJ_ACQUIRE/RJ_RELEASE  functions that take / give back a capability
#pragma once

#if defined(__clang__)
#define RJ_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define RJ_THREAD_ANNOTATION(x)
#endif

#define RJ_CAPABILITY(x) RJ_THREAD_ANNOTATION(capability(x))
#define RJ_SCOPED_CAPABILITY RJ_THREAD_ANNOTATION(scoped_lockable)
#define RJ_GUARDED_BY(x) RJ_THREAD_ANNOTATION(guarded_by(x))
#define RJ_PT_GUARDED_BY(x) RJ_THREAD_ANNOTATION(pt_guarded_by(x))
#define RJ_REQUIRES(...) RJ_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define RJ_EXCLUDES(...) RJ_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define RJ_ACQUIRE(...) RJ_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RJ_RELEASE(...) RJ_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RJ_TRY_ACQUIRE(...) RJ_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define RJ_RETURN_CAPABILITY(x) RJ_THREAD_ANNOTATION(lock_returned(x))
#define RJ_NO_THREAD_SAFETY_ANALYSIS RJ_THREAD_ANNOTATION(no_thread_safety_analysis)
