// FailoverController: automatic master failover of one broker group (RocketMQ 5 controller-mode
// semantics) with its decisions kept in etcd, the way Patroni runs PostgreSQL: no consensus of
// our own. Keys and rules: records.h; how it runs: src/controller/README.md.
//
//  - The master holds the group's leader key, attached to its etcd lease. It renews the lease
//    every TTL/4 and stops accepting writes (Writable() false) once 3/4 of the TTL has passed
//    since the last renewal it sent: it is fenced before etcd can let anyone else win.
//  - Each term has an epoch and a start offset (the new master's CommitLog end). A member that
//    follows a new master first cuts its CommitLog at the start of the first term after the one
//    its log agrees with (TruncationPoint), so logs stay byte-identical up to the common offset.
//  - The master keeps the sync-state set (itself and the slaves that have caught up) in etcd;
//    only members of the set, with the longest log, may campaign when the leader key is gone.
//  - A role change restarts the broker (hooks.restart): the process re-executes itself and
//    Join() decides its role again. The lease survives the restart (inherited_lease).
//
// Threading: Join and Start from the owner before the broker serves; then one thread
// ("controller") runs the rounds. Writable() and Info() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/controller/etcd_client.h"
#include "ramjet/controller/records.h"

namespace ramjet::controller {

struct ControllerOptions {
  std::vector<std::string> etcd_endpoints;
  std::string cluster;
  std::string broker_name;
  int64_t member_id = 1;  // brokerId in the configuration; >= 1
  std::string addr;       // remoting ip:port
  std::string ha_addr;    // HA ip:port
  int64_t lease_ttl_s = 5;
  int64_t round_ms = 500;
  int64_t housekeeping_ms = 20000;       // haHousekeepingInterval
  int64_t fallbehind_max = 256LL << 20;  // haSlaveFallbehindMax
  int64_t inherited_lease = 0;           // from before a restart (0: none)
  std::string epoch_file;                // the term this member's log agrees with
  int64_t etcd_timeout_ms = 2000;
};

struct JoinDecision {
  bool master = false;
  int64_t epoch = 0;           // master: its term; slave: the term it follows (0: none yet)
  std::string master_addr;     // slave: remoting address of the master ("" while none)
  std::string master_ha_addr;  // slave: HA address of the master
  int64_t truncate_to = -1;    // slave: cut the CommitLog here before opening (-1: no cut)
};

struct ControllerInfo {
  std::string role;  // "master", "slave", "candidate"
  int64_t epoch = 0;
  bool writable = false;
  std::optional<SyncStateSet> sync_state_set;
  std::string master_addr;
};

class FailoverController {
 public:
  struct Hooks {
    std::function<int64_t()> max_offset;  // the CommitLog end
    std::function<void()> stop_replica;   // a candidate stops taking its master's bytes
    std::function<std::vector<ReplicaView>()> replicas;  // master: its HA connections
    // Master: the IP addresses of the slaves in the sync-state set, after every change of it
    // (their acknowledgements complete SYNC sends); "?" for a member whose address is unknown.
    std::function<void(std::vector<std::string>)> set_ackers;
    // The role must change: restart the broker, handing it the lease. Called once.
    std::function<void(int64_t lease, const std::string& reason)> restart;
  };

  explicit FailoverController(ControllerOptions options);
  ~FailoverController() { Stop(); }

  // Before the store opens: takes (or keeps) the lease, reads the group's keys and decides.
  Result<JoinDecision> Join();
  // After the store opened (and was cut): records the term the log now agrees with, publishes
  // this member and starts the rounds.
  Status Start(Hooks hooks);
  // The broker is shutting down: only the lease is renewed from now on (until Stop).
  void Quiesce();
  // Stops the rounds. With leave, unless a restart was requested, revokes the lease: the member
  // leaves its group at once (a master's slave is elected without waiting out the lease).
  // Without, etcd sees what it would see of a crash.
  void Stop(bool leave = true);
  // Master with an unexpired lease that is not handing over.
  bool Writable() const;
  ControllerInfo Info() const;
  // A master whose sync-state set, as last confirmed in etcd, holds no other member: nobody
  // else could be elected, so its sends need no replica's acknowledgement.
  bool AloneInSyncStateSet() const { return alone_.load(std::memory_order_acquire); }
  // ramjet-admin electMaster: asks the group to switch to member broker_id (a member of the
  // sync-state set). The master hands over once that member has all its data.
  Status RequestElect(int64_t broker_id);

 private:
  std::string Key(const std::string& suffix) const { return prefix_ + suffix; }
  // This member as the leader key holds it in term epoch.
  LeaderRecord Leader(int64_t epoch) const {
    return LeaderRecord{options_.member_id, options_.addr, options_.ha_addr, epoch};
  }
  Result<std::vector<EpochEntry>> Epochs();
  Result<std::optional<SyncStateSet>> ReadSyncStateSet(int64_t* mod_revision);
  Result<std::vector<MemberRecord>> LiveMembers();
  Result<std::optional<ElectRequest>> ReadElect();
  void Round();
  bool RenewLease();
  void MasterRound();
  void MaintainSyncStateSet(const std::vector<MemberRecord>& live);
  bool ReadyToGrow();
  void PushAckers(const SyncStateSet& set, const std::vector<MemberRecord>& live);
  void HandOver(int64_t target, int64_t now);
  void SlaveRound();
  void Campaign(int64_t latest_epoch, int64_t set_revision);
  void PublishMember();
  void Restart(const std::string& reason);
  Status WriteLocalEpoch(int64_t epoch);
  int64_t ReadLocalEpoch() const;

  const ControllerOptions options_;
  const std::string prefix_;
  EtcdClient etcd_;
  Hooks hooks_;
  JoinDecision decision_;
  int64_t lease_ = 0;
  int64_t local_epoch_ = 0;
  int64_t next_renew_ms_ = 0;
  int64_t handover_deadline_ms_ = 0;
  int64_t handover_target_ = 0;
  int64_t expand_mark_ = -1;  // log end when the set was about to grow (-1: not growing)
  std::atomic<int64_t> writable_until_ms_{0};
  std::atomic<bool> handing_over_{false};
  std::atomic<bool> restarting_{false};
  std::atomic<bool> quiet_{false};
  std::atomic<bool> alone_{false};
  mutable Mutex mu_;
  std::optional<SyncStateSet> set_ RJ_GUARDED_BY(mu_);
  ServiceThread thread_{"controller"};
};

}  // namespace ramjet::controller
