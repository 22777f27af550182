// What the failover controller keeps in etcd, per broker group, under
// /ramjet/<cluster>/<brokerName>/ (docs/formats/controller-keys.md):
//   leader              LeaderRecord, attached to the master's lease: gone when the lease expires
//   epoch/<%010d>       EpochEntry, one per master term: where in the CommitLog the term began
//   syncStateSet        SyncStateSet: the members that hold every acknowledged message
//   member/<brokerId>   MemberRecord, attached to each member's lease (its offset, for ranking)
//   elect               ElectRequest: a manual switch to one member (ramjet-admin electMaster)
// Values are JSON objects. The rules that decide from them (truncation point, who may campaign,
// who is in sync) are pure functions here, unit-tested without etcd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet::controller {

struct LeaderRecord {
  int64_t broker_id = 0;  // the member id (brokerId in its configuration)
  std::string addr;       // remoting ip:port
  std::string ha_addr;    // HA ip:port
  int64_t epoch = 0;
};

struct EpochEntry {
  int64_t epoch = 0;
  int64_t start_offset = 0;  // the master's CommitLog end when the term began
  int64_t broker_id = 0;
};

struct SyncStateSet {
  int64_t epoch = 0;
  int64_t master_id = 0;
  std::vector<int64_t> members;  // sorted, includes the master
  bool Contains(int64_t id) const;
};

struct MemberRecord {
  int64_t broker_id = 0;
  std::string addr;
  std::string ha_addr;
  int64_t max_offset = 0;  // CommitLog end, republished every round (500 ms)
  int64_t epoch = 0;       // the term its log agrees with
  bool master = false;
};

struct ElectRequest {
  int64_t broker_id = 0;
  int64_t requested_ms = 0;
};

std::string EncodeLeader(const LeaderRecord& r);
Result<LeaderRecord> DecodeLeader(std::string_view json);
std::string EncodeEpoch(const EpochEntry& e);
Result<EpochEntry> DecodeEpoch(std::string_view json);
std::string EncodeSyncStateSet(const SyncStateSet& s);
Result<SyncStateSet> DecodeSyncStateSet(std::string_view json);
std::string EncodeMember(const MemberRecord& m);
Result<MemberRecord> DecodeMember(std::string_view json);
std::string EncodeElect(const ElectRequest& e);
Result<ElectRequest> DecodeElect(std::string_view json);

// Where a member whose log agrees with epoch local_epoch must cut its CommitLog before it
// follows the current master: the start of the first later term (bytes from there on were
// written by another master, or never acknowledged). -1: no cut (it is in the latest term).
// history: every EpochEntry, any order.
int64_t TruncationPoint(int64_t local_epoch, const std::vector<EpochEntry>& history);

// Whether member me (log end my_offset, agreeing with term my_epoch) may try to become master
// while the group has none: it must be in the sync-state set (any member may when there is none
// yet: a new group), agree with the latest term, and no other live member of the set may have
// a longer log (equal logs: the lower id goes first). An elect request for a live member in the
// set reserves the election for it.
bool MayCampaign(int64_t me, int64_t my_offset, int64_t my_epoch,
                 const std::optional<SyncStateSet>& set, int64_t latest_epoch,
                 const std::vector<MemberRecord>& live, const std::optional<ElectRequest>& elect);

// One slave connection as the master's HA service sees it.
struct ReplicaView {
  std::string ha_peer;        // ip:port of the slave's HA socket
  int64_t acked_offset = -1;  // -1: no report yet
  int64_t last_report_ms = 0;
  int64_t caught_up_ms = 0;  // 0: never caught up
};
// The members a master may count in its sync-state set: itself, and each live member whose HA
// connection (matched by IP address) has caught up once, reported within housekeeping_ms and
// is within fallbehind_max bytes. Members sharing an IP are in sync only if all connections
// from that IP are. Sorted.
std::vector<int64_t> InSyncMembers(int64_t master_id, int64_t master_max,
                                   const std::vector<ReplicaView>& replicas,
                                   const std::vector<MemberRecord>& live, int64_t now_ms,
                                   int64_t housekeeping_ms, int64_t fallbehind_max);

}  // namespace ramjet::controller
