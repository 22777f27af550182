// HaMaster: the master side of RocketMQ 4.x replication (HAService + HAConnection +
// GroupTransferService). It listens on the HA port, streams raw CommitLog bytes to each slave
// from the offset the slave reports, and tracks the highest offset any slave acknowledged, which
// SYNC_MASTER sends wait for.
//
// Threading: one accept thread ("ha-accept"), one thread per slave connection ("ha-conn"), and
// one thread that times out waiting sends ("ha-transfer"). WaitReplicated callbacks run on a
// connection thread (acknowledged) or on ha-transfer (timed out, or at Stop): keep them short.
// All public methods may be called from any thread once Start has returned; Start and Stop from
// the owner.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/store/message_store.h"

namespace ramjet::ha {

struct HaMasterOptions {
  std::string listen_ip = "0.0.0.0";
  int port = 10912;                            // haListenPort
  int32_t transfer_batch_size = 32 * 1024;     // haTransferBatchSize
  int64_t heartbeat_interval_ms = 5000;        // haSendHeartbeatInterval
  int64_t housekeeping_interval_ms = 20000;    // haHousekeepingInterval
  int64_t slave_fallbehind_max = 256LL << 20;  // haSlaveFallbehindMax
  int64_t segment_size = 1LL << 30;            // mapedFileSizeCommitLog (the start point)
};

struct SlaveState {
  std::string address;        // ip:port of the slave's HA socket
  int64_t acked_offset = -1;  // its last report (-1: none yet)
  int64_t last_report_ms = 0;
  // When a report last covered everything the master had then (0: never): the slave's lag in
  // time is now minus this while it is behind.
  int64_t caught_up_ms = 0;
};

class HaMaster {
 public:
  // REQUIRES: store outlives this object.
  HaMaster(HaMasterOptions options, store::MessageStore* store);
  ~HaMaster();
  HaMaster(const HaMaster&) = delete;
  HaMaster& operator=(const HaMaster&) = delete;

  // Binds the HA port and starts the threads.
  Status Start();
  // Closes every connection and completes every waiting send with kUnavailable.
  void Stop();

  // New CommitLog data up to end: wakes connections that are waiting for data.
  void NotifyData(int64_t end);

  // SYNC_MASTER: done(OK) once a slave has acknowledged end; kUnavailable at once when no slave
  // is in sync (none connected, or the best one more than slave_fallbehind_max behind);
  // kTimeout after timeout_ms.
  void WaitReplicated(int64_t end, int64_t timeout_ms, std::function<void(Status)> done);
  // Controller mode: the sync-state set's slaves, by IP address. From now on a send is
  // replicated once every one of them has acknowledged it (each address counts once: the best
  // connection from it); empty (the default, and 4.x): once any slave has.
  void SetAckers(std::vector<std::string> ips);
  // RocketMQ's isSlaveOK: a connected slave within slave_fallbehind_max of master_max.
  bool IsSlaveOk(int64_t master_max) const;
  // The highest offset any slave has acknowledged (push2SlaveMaxOffset).
  int64_t acked_offset() const { return acked_.load(std::memory_order_acquire); }
  std::vector<SlaveState> Slaves() const;
  int port() const { return bound_port_; }

 private:
  class Connection;
  struct Waiter {
    int64_t deadline_us;
    std::function<void(Status)> done;
  };
  void AcceptLoop(ServiceThread& self);
  void TransferLoop(ServiceThread& self);
  void OnAck(int64_t offset);
  // What the ackers have all acknowledged (-1: not all connected).
  int64_t AckedByAll() const RJ_EXCLUDES(mu_);
  void CompleteWaiters();
  void ReapClosed() RJ_REQUIRES(mu_);

  const HaMasterOptions options_;
  store::MessageStore* const store_;
  int listen_fd_ = -1;
  int bound_port_ = 0;
  std::atomic<int64_t> acked_{-1};
  std::atomic<bool> some_idle_{false};  // a connection waits for data (NotifyData wakes it)

  mutable Mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_ RJ_GUARDED_BY(mu_);
  bool stopped_ RJ_GUARDED_BY(mu_) = false;
  std::vector<std::string> ackers_ RJ_GUARDED_BY(mu_);
  std::atomic<bool> any_acker_{true};  // ackers_ is empty

  Mutex waiters_mu_;
  std::multimap<int64_t, Waiter> waiters_ RJ_GUARDED_BY(waiters_mu_);  // by end offset

  ServiceThread accept_thread_{"ha-accept"};
  ServiceThread transfer_thread_{"ha-transfer"};
};

}  // namespace ramjet::ha
