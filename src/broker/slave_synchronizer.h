// A slave's copy of its master's metadata (RocketMQ's SlaveSynchronize): every 10 s (first after
// 3 s, and as soon as the master's address becomes known) it asks the master's main port for
// GET_ALL_TOPIC_CONFIG (21), GET_ALL_CONSUMER_OFFSET (43), GET_ALL_DELAY_OFFSET (45) and
// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) and replaces its own tables with the answers, so that
// consumers can read from the slave and a slave that becomes master starts from them.
//
// Threading: its own scheduler thread ("slave-sync") and remoting client; SetMasterAddr from any
// thread.
#pragma once

#include <memory>
#include <string>

#include "broker_context.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/remoting/remoting.h"
#include "schedule_service.h"

namespace ramjet::broker {

class SlaveSynchronizer {
 public:
  // REQUIRES: bc and schedule outlive this object.
  SlaveSynchronizer(BrokerContext* bc, ScheduleService* schedule);
  ~SlaveSynchronizer() { Stop(); }

  void Start();
  void Stop();
  // The master's remoting address (REGISTER_BROKER's masterAddr); a new one syncs at once.
  void SetMasterAddr(const std::string& addr) RJ_EXCLUDES(mu_);
  std::string master_addr() const RJ_EXCLUDES(mu_) {
    MutexLock l(&mu_);
    return master_addr_;
  }
  // One round now (also what the timer runs). Errors are logged; the next round retries.
  void SyncAll();

 private:
  Result<std::string> Fetch(const std::string& master, int32_t code);
  Status SyncTopics(const std::string& master);
  Status SyncOffsets(const std::string& master);
  Status SyncDelayOffsets(const std::string& master);
  Status SyncGroups(const std::string& master);

  BrokerContext& bc_;
  ScheduleService* const schedule_;
  std::unique_ptr<remoting::RemotingClient> client_;
  Scheduler scheduler_{"slave-sync"};
  mutable Mutex mu_;
  std::string master_addr_ RJ_GUARDED_BY(mu_);
  Mutex sync_mu_;  // one round at a time
};

}  // namespace ramjet::broker
