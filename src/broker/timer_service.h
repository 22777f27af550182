// Arbitrary-delay timers (RocketMQ 5 properties TIMER_DELIVER_MS = absolute delivery time in ms,
// TIMER_DELAY_SEC / TIMER_DELAY_MS = delay from arrival). A timer message is stored in topic
// rmq_sys_wheel_timer queue 0 with REAL_TOPIC / REAL_QID and TIMER_OUT_MS (its delivery time,
// also its consume-queue tags code). The timer service keeps every pending timer in a min-heap
// of (delivery time, timer-queue offset) - 16 bytes each, so 1,000,000 pending timers take about
// 16 MiB - and re-puts each one into its real topic when due.
//
// Durability: after each delivery batch an op record listing the delivered timer-queue offsets
// goes to rmq_sys_timer_op; the low watermark (every offset below it is delivered) is persisted
// in config/timerProgress.json. At start the heap is rebuilt from the timer queue above the
// watermark, skipping offsets named by op records; a crash between a delivery and its op record
// repeats that delivery (none is lost).
//
// Threading model: one timer thread loads new timers (every 50 ms at most) and delivers due ones;
// Persist()/Pending() may be called from other threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <unordered_set>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

inline constexpr const char* kTimerTopic = "rmq_sys_wheel_timer";
inline constexpr const char* kTimerOpTopic = "rmq_sys_timer_op";

class TimerService {
 public:
  // REQUIRES: store and fs outlive the service; progress_path is written through fs.
  TimerService(store::MessageStore* store, std::string progress_path,
               message::HostAddress store_host, store::FileSystem* fs = store::PosixFileSystem());
  ~TimerService();
  Status Load();
  void Start();
  void Stop();
  Status Persist();
  size_t Pending() const;
  // Recalls the pending timer at timer-queue offset: it is never delivered, in this run or after
  // a restart (an op record names it). kNotFound when it was delivered, is being delivered or
  // was recalled already.
  [[nodiscard]] Status Cancel(int64_t offset) RJ_EXCLUDES(mu_);

  // Send path: if props carry a timer due after now, reroutes the message to the timer queue
  // and returns its delivery time. kInvalidArgument for a malformed or too distant timer.
  static Result<std::optional<int64_t>> ToTimer(std::string* topic, int32_t* queue_id,
                                                std::string* props, int64_t now,
                                                int64_t max_delay_ms);

 private:
  struct Entry {
    int64_t deliver_ms;
    int64_t offset;
    bool operator>(const Entry& o) const {
      return deliver_ms != o.deliver_ms ? deliver_ms > o.deliver_ms : offset > o.offset;
    }
  };
  void Run(ServiceThread& self);
  void LoadNew();        // timer-queue entries from scan_offset_ into the heap
  int64_t DeliverDue();  // returns the next due time (INT64_MAX if none)
  void AdvanceWatermarkLocked() RJ_REQUIRES(mu_);
  // Appends an op record naming offsets (delivered or recalled).
  Status PutOp(const std::vector<int64_t>& offsets, int64_t now);

  store::MessageStore* store_;
  std::string path_;
  store::FileSystem* const fs_;
  message::HostAddress store_host_;
  mutable Mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_ RJ_GUARDED_BY(mu_);
  // Delivered offsets >= watermark_.
  std::unordered_set<int64_t> delivered_ RJ_GUARDED_BY(mu_);
  // Recalled offsets still in the heap (skipped when they come up), and the offsets the current
  // delivery round took out of the heap (a recall of one of those is too late).
  std::unordered_set<int64_t> cancelled_ RJ_GUARDED_BY(mu_);
  std::unordered_set<int64_t> popped_ RJ_GUARDED_BY(mu_);
  int64_t watermark_ RJ_GUARDED_BY(mu_) = 0;
  int64_t scan_offset_ RJ_GUARDED_BY(mu_) = 0;
  bool dirty_ RJ_GUARDED_BY(mu_) = false;
  std::atomic<bool> stopped_{false};
  ServiceThread thread_{"timer"};
};

}  // namespace ramjet::broker
