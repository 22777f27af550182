// Scheduled (delayed) delivery through SCHEDULE_TOPIC_XXXX, as RocketMQ's
// ScheduleMessageService: a message sent with DELAY level L is stored in queue L-1 of the
// schedule topic with REAL_TOPIC / REAL_QID properties; its consume-queue tags code is its
// delivery time (store timestamp + delay of L, see the store's tags_code_override). One thread
// walks the 18 (configurable) level queues in order and re-puts each due message into its real
// topic and queue. Progress per level is persisted in config/delayOffset.json
// ({"offsetTable":{"<level>":<next offset>}}) every flushDelayOffsetInterval and at Stop, so a
// restart resumes where it left off (a message may be delivered twice if the broker dies between
// the re-put and the next persist; none is lost).
//
// Threading model: one delivery thread; Offsets()/Persist() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

// Parses "1s 5s 10s 30s 1m ... 2h" (units ms, s, m, h, d) into milliseconds.
Result<std::vector<int64_t>> ParseDelayLevels(std::string_view text);

class ScheduleService {
 public:
  // REQUIRES: store and fs outlive the service; offsets_path is written through fs.
  ScheduleService(store::MessageStore* store, std::string offsets_path,
                  std::vector<int64_t> level_ms, store::FileSystem* fs = store::PosixFileSystem());
  ~ScheduleService();
  Status Load();
  void Start();
  void Stop();  // joins the thread and persists
  Status Persist();
  std::map<int, int64_t> Offsets() const;
  // delayOffset.json's text of the current offsets (the GET_ALL_DELAY_OFFSET body).
  std::string Encode() const;
  // A slave takes its master's offsets (SlaveSynchronize); persists.
  Status ReplaceOffsets(const std::map<int, int64_t>& master);
  int max_level() const { return static_cast<int>(level_ms_.size()); }
  int64_t delay_ms(int level) const { return level_ms_.at(static_cast<size_t>(level - 1)); }
  // Wakes the delivery thread (a new delayed message may be due earlier than it planned).
  void Wake();

 private:
  void Run(ServiceThread& self);
  // Delivers what is due on one level; returns when the next entry becomes due (INT64_MAX if
  // the level is empty, now + retry delay after an error).
  int64_t DeliverLevel(int level, int64_t now);

  store::MessageStore* store_;
  std::string path_;
  store::FileSystem* const fs_;
  std::vector<int64_t> level_ms_;
  mutable Mutex mu_;
  std::vector<int64_t> offsets_ RJ_GUARDED_BY(mu_);  // next queue offset per level (index level-1)
  bool dirty_ RJ_GUARDED_BY(mu_) = false;
  std::atomic<bool> stopped_{false};
  ServiceThread thread_{"schedule"};
};

}  // namespace ramjet::broker
