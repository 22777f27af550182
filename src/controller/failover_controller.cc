#include "ramjet/controller/failover_controller.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/ha/socket_util.h"

namespace ramjet::controller {
namespace {

constexpr char kLog[] = "controller";
constexpr int64_t kHandOverWaitMs = 10000;
constexpr int64_t kElectRequestLifeMs = 30000;

std::string EpochKey(int64_t epoch) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "epoch/%010" PRId64, epoch);
  return buf;
}

}  // namespace

FailoverController::FailoverController(ControllerOptions options)
    : options_(std::move(options)),
      prefix_("/ramjet/" + options_.cluster + "/" + options_.broker_name + "/"),
      etcd_(options_.etcd_endpoints, static_cast<int>(options_.etcd_timeout_ms)) {}

int64_t FailoverController::ReadLocalEpoch() const {
  std::ifstream in(options_.epoch_file);
  int64_t e = 0;
  if (in >> e && e >= 0) return e;
  return 0;
}

Status FailoverController::WriteLocalEpoch(int64_t epoch) {
  const std::string tmp = options_.epoch_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << epoch << "\n";
    out.flush();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), options_.epoch_file.c_str()) != 0)
    return Status::FromErrno(errno, "rename " + tmp);
  local_epoch_ = epoch;
  return Status::OK();
}

Result<std::vector<EpochEntry>> FailoverController::Epochs() {
  RJ_ASSIGN_OR_RETURN(auto kvs, etcd_.GetPrefix(Key("epoch/")));
  std::vector<EpochEntry> out;
  for (const auto& kv : kvs) {
    auto e = DecodeEpoch(kv.value);
    if (!e.ok()) return Status::Corruption(kv.key + ": " + e.status().ToString());
    out.push_back(*e);
  }
  return out;
}

Result<std::optional<SyncStateSet>> FailoverController::ReadSyncStateSet(int64_t* mod_revision) {
  RJ_ASSIGN_OR_RETURN(auto kv, etcd_.Get(Key("syncStateSet")));
  if (mod_revision) *mod_revision = kv ? kv->mod_revision : 0;
  if (!kv) return std::optional<SyncStateSet>();
  RJ_ASSIGN_OR_RETURN(SyncStateSet s, DecodeSyncStateSet(kv->value));
  return std::optional<SyncStateSet>(std::move(s));
}

Result<std::vector<MemberRecord>> FailoverController::LiveMembers() {
  RJ_ASSIGN_OR_RETURN(auto kvs, etcd_.GetPrefix(Key("member/")));
  std::vector<MemberRecord> out;
  for (const auto& kv : kvs) {
    auto m = DecodeMember(kv.value);
    if (m.ok()) {
      out.push_back(*m);
    } else {
      RJ_LOG(kWarn, kLog, "%s: %s", kv.key.c_str(), m.status().ToString().c_str());
    }
  }
  return out;
}

Result<std::optional<ElectRequest>> FailoverController::ReadElect() {
  RJ_ASSIGN_OR_RETURN(auto kv, etcd_.Get(Key("elect")));
  if (!kv) return std::optional<ElectRequest>();
  auto e = DecodeElect(kv->value);
  if (!e.ok() || NowMillis() - e->requested_ms > kElectRequestLifeMs)
    return std::optional<ElectRequest>();
  return std::optional<ElectRequest>(*e);
}

Result<JoinDecision> FailoverController::Join() {
  if (options_.member_id < 1) return Status::InvalidArgument("controller mode needs brokerId >= 1");
  local_epoch_ = ReadLocalEpoch();
  if (options_.inherited_lease != 0) {
    auto ttl = etcd_.KeepAlive(options_.inherited_lease);
    if (ttl.ok() && *ttl > 0) lease_ = options_.inherited_lease;
  }
  if (lease_ == 0) {
    RJ_ASSIGN_OR_RETURN(lease_, etcd_.GrantLease(options_.lease_ttl_s));
  }
  writable_until_ms_.store(MonoMillis() + options_.lease_ttl_s * 750);
  RJ_ASSIGN_OR_RETURN(auto leader_kv, etcd_.Get(Key("leader")));
  JoinDecision d;
  if (leader_kv) {
    RJ_ASSIGN_OR_RETURN(LeaderRecord leader, DecodeLeader(leader_kv->value));
    if (leader.broker_id == options_.member_id && leader_kv->lease == lease_) {
      d.master = true;
      d.epoch = leader.epoch;
    } else if (leader.broker_id != options_.member_id) {
      RJ_ASSIGN_OR_RETURN(auto history, Epochs());
      d.epoch = leader.epoch;
      d.master_addr = leader.addr;
      d.master_ha_addr = leader.ha_addr;
      d.truncate_to = TruncationPoint(local_epoch_, history);
    }
    // else: our own key from before a crash; it expires with its lease, then we campaign.
  }
  RJ_LOG(kInfo, kLog, "%s member %" PRId64 ": %s, term %" PRId64 "%s%s (local term %" PRId64 ")",
         options_.broker_name.c_str(), options_.member_id,
         d.master ? "master" : (d.master_addr.empty() ? "candidate" : "slave"), d.epoch,
         d.master_addr.empty() ? "" : " of ", d.master_addr.c_str(), local_epoch_);
  decision_ = d;
  return d;
}

Status FailoverController::Start(Hooks hooks) {
  hooks_ = std::move(hooks);
  // A slave's log now agrees with its master's term (it was cut); a master's with its own.
  if (decision_.epoch > 0 && (decision_.master || !decision_.master_addr.empty())) {
    RJ_RETURN_IF_ERROR(WriteLocalEpoch(decision_.epoch));
  }
  if (decision_.master) {
    int64_t rev = 0;
    auto set = ReadSyncStateSet(&rev);
    if (set.ok() && *set) {
      auto live = LiveMembers();
      PushAckers(**set, live.ok() ? *live : std::vector<MemberRecord>{});
      MutexLock l(&mu_);
      set_ = *set;
      alone_.store(set_->members.size() <= 1, std::memory_order_release);
    }
  }
  PublishMember();
  thread_.Start([this](ServiceThread& self) {
    while (!self.stopping()) {
      // Once quiet (a restart is under way, or the broker shuts down) only the lease is kept:
      // a restart hands it to the next incarnation however long the shutdown takes.
      if (quiet_.load()) {
        RenewLease();
      } else {
        Round();
      }
      self.WaitFor(options_.round_ms);
    }
  });
  return Status::OK();
}

void FailoverController::Quiesce() { quiet_.store(true); }

void FailoverController::Stop(bool leave) {
  const bool was_running = thread_.running();
  thread_.Stop();
  if (!leave) return;
  // A clean stop (not a restart) leaves the group at once: the lease and with it the leader
  // and member keys go, so a slave is elected without waiting for the lease to run out.
  if (was_running && !restarting_.load() && lease_ != 0) {
    Status s = etcd_.Revoke(lease_);
    if (!s.ok()) RJ_LOG(kWarn, kLog, "revoking the lease: %s", s.ToString().c_str());
    lease_ = 0;
  }
}

bool FailoverController::Writable() const {
  return decision_.master && !handing_over_.load() && !restarting_.load() &&
         MonoMillis() < writable_until_ms_.load();
}

ControllerInfo FailoverController::Info() const {
  ControllerInfo info;
  info.role = decision_.master ? "master" : (decision_.master_addr.empty() ? "candidate" : "slave");
  info.epoch = decision_.epoch;
  info.writable = Writable();
  info.master_addr = decision_.master_addr;
  MutexLock l(&mu_);
  info.sync_state_set = set_;
  return info;
}

Status FailoverController::RequestElect(int64_t broker_id) {
  int64_t rev = 0;
  RJ_ASSIGN_OR_RETURN(auto set, ReadSyncStateSet(&rev));
  if (!set) return Status::Unavailable("the group has no sync-state set yet");
  if (!set->Contains(broker_id))
    return Status::InvalidArgument("broker " + std::to_string(broker_id) +
                                   " is not in the sync-state set");
  return etcd_.Put(Key("elect"), EncodeElect(ElectRequest{broker_id, NowMillis()}));
}

void FailoverController::Restart(const std::string& reason) {
  if (restarting_.exchange(true)) return;
  quiet_.store(true);
  RJ_LOG(kWarn, kLog, "%s member %" PRId64 ": restarting: %s", options_.broker_name.c_str(),
         options_.member_id, reason.c_str());
  if (hooks_.restart) hooks_.restart(lease_, reason);
}

void FailoverController::PublishMember() {
  MemberRecord m;
  m.broker_id = options_.member_id;
  m.addr = options_.addr;
  m.ha_addr = options_.ha_addr;
  m.max_offset = hooks_.max_offset ? hooks_.max_offset() : 0;
  m.epoch = local_epoch_;
  m.master = decision_.master;
  Status s =
      etcd_.Put(Key("member/" + std::to_string(options_.member_id)), EncodeMember(m), lease_);
  if (!s.ok()) RJ_LOG(kWarn, kLog, "publishing member: %s", s.ToString().c_str());
}

// Renews the lease when due. False when the lease is gone (the round must not go on).
bool FailoverController::RenewLease() {
  const int64_t now = MonoMillis();
  if (now < next_renew_ms_) return true;
  auto ttl = etcd_.KeepAlive(lease_);
  if (!ttl.ok()) {
    next_renew_ms_ = 0;  // retry next round; Writable() turns false when the time is up
    RJ_LOG(kWarn, kLog, "lease renewal failed: %s", ttl.status().ToString().c_str());
    return true;
  }
  if (*ttl > 0) {
    writable_until_ms_.store(now + options_.lease_ttl_s * 750);
    next_renew_ms_ = now + options_.lease_ttl_s * 250;
    return true;
  }
  if (decision_.master) {
    Restart("the leader lease expired");
    return false;
  }
  auto fresh = etcd_.GrantLease(options_.lease_ttl_s);
  if (fresh.ok()) lease_ = *fresh;
  return fresh.ok();
}

void FailoverController::Round() {
  if (!RenewLease()) return;
  if (decision_.master) {
    MasterRound();
  } else {
    SlaveRound();
  }
}

void FailoverController::MasterRound() {
  auto leader = etcd_.Get(Key("leader"));
  if (!leader.ok()) return;
  if (!*leader || (*leader)->lease != lease_) {
    handing_over_.store(true);
    Restart("the leader key is no longer ours");
    return;
  }
  PublishMember();
  auto live = LiveMembers();
  if (!live.ok()) return;
  MaintainSyncStateSet(*live);
  auto elect = ReadElect();
  const int64_t now = MonoMillis();
  if (handing_over_.load()) {
    HandOver(handover_target_, now);
  } else if (elect.ok() && *elect && (*elect)->broker_id != options_.member_id) {
    MutexLock l(&mu_);
    if (set_ && set_->Contains((*elect)->broker_id)) {
      RJ_LOG(kWarn, kLog, "handing over to member %" PRId64 ": writes stop", (*elect)->broker_id);
      handover_target_ = (*elect)->broker_id;
      handover_deadline_ms_ = now + kHandOverWaitMs;
      handing_over_.store(true);
    }
  }
}

void FailoverController::MaintainSyncStateSet(const std::vector<MemberRecord>& live) {
  if (!hooks_.replicas || !hooks_.max_offset) return;
  std::vector<int64_t> members =
      InSyncMembers(options_.member_id, hooks_.max_offset(), hooks_.replicas(), live, NowMillis(),
                    options_.housekeeping_ms, options_.fallbehind_max);
  bool grows = false;
  {
    MutexLock l(&mu_);
    if (set_ && set_->members == members && set_->epoch == decision_.epoch) {
      expand_mark_ = -1;
      return;
    }
    for (int64_t id : members) grows = grows || !set_ || !set_->Contains(id);
  }
  if (grows && !ReadyToGrow()) return;
  SyncStateSet next{decision_.epoch, options_.member_id, members};
  const LeaderRecord me = Leader(decision_.epoch);
  auto r = etcd_.Txn({Compare{Key("leader"), Compare::kValue, 0, EncodeLeader(me)}},
                     {Op::Put(Key("syncStateSet"), EncodeSyncStateSet(next))}, {});
  if (!r.ok() || !r->succeeded) return;
  std::string list;
  for (int64_t id : members) list += (list.empty() ? "" : ",") + std::to_string(id);
  RJ_LOG(kInfo, kLog, "sync-state set of term %" PRId64 ": {%s}", decision_.epoch, list.c_str());
  PushAckers(next, live);
  MutexLock l(&mu_);
  set_ = next;
  alone_.store(members.size() <= 1, std::memory_order_release);
}

void FailoverController::PushAckers(const SyncStateSet& set,
                                    const std::vector<MemberRecord>& live) {
  if (!hooks_.set_ackers) return;
  std::vector<std::string> ips;
  for (int64_t id : set.members) {
    if (id == options_.member_id) continue;
    std::string ip = "?";
    for (const auto& m : live)
      if (m.broker_id == id) ip = ha::HostOf(m.addr);
    ips.push_back(ip);
  }
  hooks_.set_ackers(std::move(ips));
}

// A member joins the set only once it holds every message acknowledged without it: sends stop
// being acknowledged alone first (they wait for a replica from then on), and the set grows once
// every replica has acknowledged the log end of that moment.
bool FailoverController::ReadyToGrow() {
  if (expand_mark_ < 0) {
    alone_.store(false, std::memory_order_release);
    expand_mark_ = hooks_.max_offset();
    return false;
  }
  for (const auto& r : hooks_.replicas())
    if (r.acked_offset < expand_mark_) return false;
  expand_mark_ = -1;
  return true;
}

// Writes have stopped; once the target has acknowledged everything (or the wait is over), the
// leader key is released so that the target wins the next election.
void FailoverController::HandOver(int64_t target, int64_t now) {
  const int64_t max = hooks_.max_offset();
  bool caught_up = false;
  auto live = LiveMembers();
  if (live.ok()) {
    for (const auto& m : *live)
      if (m.broker_id == target && m.max_offset >= max) caught_up = true;
  }
  if (!caught_up && now < handover_deadline_ms_) return;
  if (!caught_up) RJ_LOG(kWarn, kLog, "member %" PRId64 " did not catch up: handing over", target);
  const LeaderRecord me = Leader(decision_.epoch);
  auto r = etcd_.Txn({Compare{Key("leader"), Compare::kValue, 0, EncodeLeader(me)}},
                     {Op::Delete(Key("leader"))}, {});
  (void)r;
  Restart("handed over to member " + std::to_string(target));
}

void FailoverController::SlaveRound() {
  auto leader_kv = etcd_.Get(Key("leader"));
  if (!leader_kv.ok()) return;
  if (*leader_kv) {
    auto leader = DecodeLeader((*leader_kv)->value);
    if (leader.ok() && leader->broker_id != options_.member_id &&
        (leader->epoch != decision_.epoch || leader->addr != decision_.master_addr)) {
      Restart("member " + std::to_string(leader->broker_id) + " is master of term " +
              std::to_string(leader->epoch));
      return;
    }
    PublishMember();
    return;
  }
  PublishMember();
  int64_t set_rev = 0;
  auto set = ReadSyncStateSet(&set_rev);
  auto history = Epochs();
  auto live = LiveMembers();
  auto elect = ReadElect();
  if (!set.ok() || !history.ok() || !live.ok() || !elect.ok()) return;
  int64_t latest = 0;
  for (const auto& e : *history) latest = std::max(latest, e.epoch);
  const int64_t my_offset = hooks_.max_offset();
  if (!MayCampaign(options_.member_id, my_offset, local_epoch_, *set, latest, *live, *elect))
    return;
  Campaign(latest, set_rev);
}

void FailoverController::Campaign(int64_t latest_epoch, int64_t set_revision) {
  if (hooks_.stop_replica) hooks_.stop_replica();
  const int64_t start = hooks_.max_offset();
  const int64_t epoch = latest_epoch + 1;
  const LeaderRecord me = Leader(epoch);
  SyncStateSet set{epoch, options_.member_id, {options_.member_id}};
  std::vector<Compare> cmp{Compare{Key("leader"), Compare::kCreateRevision, 0, {}}};
  cmp.push_back(set_revision == 0
                    ? Compare{Key("syncStateSet"), Compare::kCreateRevision, 0, {}}
                    : Compare{Key("syncStateSet"), Compare::kModRevision, set_revision, {}});
  cmp.push_back(Compare{Key(EpochKey(epoch)), Compare::kCreateRevision, 0, {}});
  auto r =
      etcd_.Txn(cmp,
                {Op::Put(Key("leader"), EncodeLeader(me), lease_),
                 Op::Put(Key(EpochKey(epoch)), EncodeEpoch({epoch, start, options_.member_id})),
                 Op::Put(Key("syncStateSet"), EncodeSyncStateSet(set)), Op::Delete(Key("elect"))},
                {});
  if (r.ok() && r->succeeded) {
    // The log agrees with the new term from here: if the lease runs out during the restart,
    // this member may campaign again (its term is the latest).
    Status w = WriteLocalEpoch(epoch);
    if (!w.ok())
      RJ_LOG(kError, kLog, "recording term %" PRId64 ": %s", epoch, w.ToString().c_str());
    RJ_LOG(kWarn, kLog, "member %" PRId64 " elected master of term %" PRId64 " at offset %" PRId64,
           options_.member_id, epoch, start);
    Restart("elected master of term " + std::to_string(epoch));
  } else {
    Restart(r.ok() ? "lost the election" : "election failed: " + r.status().ToString());
  }
}

}  // namespace ramjet::controller
