#include "ramjet/controller/records.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "ramjet/ha/socket_util.h"

namespace ramjet::controller {
namespace {

using nlohmann::json;

Result<json> Parse(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption(std::string(what) + ": not a JSON object");
  return j;
}

Result<int64_t> Int(const json& j, const char* name, const char* what) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer())
    return Status::Corruption(std::string(what) + ": " + name + " missing or not an integer");
  return it->get<int64_t>();
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool SyncStateSet::Contains(int64_t id) const {
  return std::find(members.begin(), members.end(), id) != members.end();
}

std::string EncodeLeader(const LeaderRecord& r) {
  return json{
      {"brokerId", r.broker_id}, {"addr", r.addr}, {"haAddr", r.ha_addr}, {"epoch", r.epoch}}
      .dump();
}

Result<LeaderRecord> DecodeLeader(std::string_view text) {
  RJ_ASSIGN_OR_RETURN(json j, Parse(text, "leader"));
  LeaderRecord r;
  RJ_ASSIGN_OR_RETURN(r.broker_id, Int(j, "brokerId", "leader"));
  RJ_ASSIGN_OR_RETURN(r.epoch, Int(j, "epoch", "leader"));
  r.addr = Str(j, "addr");
  r.ha_addr = Str(j, "haAddr");
  if (r.addr.empty() || r.ha_addr.empty()) return Status::Corruption("leader: no address");
  return r;
}

std::string EncodeEpoch(const EpochEntry& e) {
  return json{{"epoch", e.epoch}, {"startOffset", e.start_offset}, {"brokerId", e.broker_id}}
      .dump();
}

Result<EpochEntry> DecodeEpoch(std::string_view text) {
  RJ_ASSIGN_OR_RETURN(json j, Parse(text, "epoch"));
  EpochEntry e;
  RJ_ASSIGN_OR_RETURN(e.epoch, Int(j, "epoch", "epoch"));
  RJ_ASSIGN_OR_RETURN(e.start_offset, Int(j, "startOffset", "epoch"));
  RJ_ASSIGN_OR_RETURN(e.broker_id, Int(j, "brokerId", "epoch"));
  if (e.epoch <= 0 || e.start_offset < 0) return Status::Corruption("epoch: out of range");
  return e;
}

std::string EncodeSyncStateSet(const SyncStateSet& s) {
  return json{{"epoch", s.epoch}, {"masterId", s.master_id}, {"members", s.members}}.dump();
}

Result<SyncStateSet> DecodeSyncStateSet(std::string_view text) {
  RJ_ASSIGN_OR_RETURN(json j, Parse(text, "syncStateSet"));
  SyncStateSet s;
  RJ_ASSIGN_OR_RETURN(s.epoch, Int(j, "epoch", "syncStateSet"));
  RJ_ASSIGN_OR_RETURN(s.master_id, Int(j, "masterId", "syncStateSet"));
  auto m = j.find("members");
  if (m == j.end() || !m->is_array()) return Status::Corruption("syncStateSet: no members");
  for (const auto& e : *m) {
    if (!e.is_number_integer()) return Status::Corruption("syncStateSet: bad member");
    s.members.push_back(e.get<int64_t>());
  }
  std::sort(s.members.begin(), s.members.end());
  return s;
}

std::string EncodeMember(const MemberRecord& m) {
  return json{{"brokerId", m.broker_id},   {"addr", m.addr},   {"haAddr", m.ha_addr},
              {"maxOffset", m.max_offset}, {"epoch", m.epoch}, {"master", m.master}}
      .dump();
}

Result<MemberRecord> DecodeMember(std::string_view text) {
  RJ_ASSIGN_OR_RETURN(json j, Parse(text, "member"));
  MemberRecord m;
  RJ_ASSIGN_OR_RETURN(m.broker_id, Int(j, "brokerId", "member"));
  RJ_ASSIGN_OR_RETURN(m.max_offset, Int(j, "maxOffset", "member"));
  RJ_ASSIGN_OR_RETURN(m.epoch, Int(j, "epoch", "member"));
  m.addr = Str(j, "addr");
  m.ha_addr = Str(j, "haAddr");
  auto it = j.find("master");
  m.master = it != j.end() && it->is_boolean() && it->get<bool>();
  return m;
}

std::string EncodeElect(const ElectRequest& e) {
  return json{{"brokerId", e.broker_id}, {"requestedMs", e.requested_ms}}.dump();
}

Result<ElectRequest> DecodeElect(std::string_view text) {
  RJ_ASSIGN_OR_RETURN(json j, Parse(text, "elect"));
  ElectRequest e;
  RJ_ASSIGN_OR_RETURN(e.broker_id, Int(j, "brokerId", "elect"));
  RJ_ASSIGN_OR_RETURN(e.requested_ms, Int(j, "requestedMs", "elect"));
  return e;
}

int64_t TruncationPoint(int64_t local_epoch, const std::vector<EpochEntry>& history) {
  const EpochEntry* next = nullptr;
  for (const auto& e : history) {
    if (e.epoch > local_epoch && (next == nullptr || e.epoch < next->epoch)) next = &e;
  }
  return next ? next->start_offset : -1;
}

bool MayCampaign(int64_t me, int64_t my_offset, int64_t my_epoch,
                 const std::optional<SyncStateSet>& set, int64_t latest_epoch,
                 const std::vector<MemberRecord>& live, const std::optional<ElectRequest>& elect) {
  if (set && !set->Contains(me)) return false;
  if (my_epoch != latest_epoch) return false;
  auto eligible = [&](const MemberRecord& m) {
    return m.broker_id != me && (!set || set->Contains(m.broker_id)) && m.epoch == latest_epoch;
  };
  if (elect) {
    if (elect->broker_id == me) return true;
    for (const auto& m : live)
      if (m.broker_id == elect->broker_id && eligible(m)) return false;
  }
  for (const auto& m : live) {
    if (!eligible(m)) continue;
    if (m.max_offset > my_offset || (m.max_offset == my_offset && m.broker_id < me)) return false;
  }
  return true;
}

std::vector<int64_t> InSyncMembers(int64_t master_id, int64_t master_max,
                                   const std::vector<ReplicaView>& replicas,
                                   const std::vector<MemberRecord>& live, int64_t now_ms,
                                   int64_t housekeeping_ms, int64_t fallbehind_max) {
  std::map<std::string, std::vector<int64_t>> members_by_ip;
  for (const auto& m : live)
    if (m.broker_id != master_id)
      members_by_ip[std::string(ha::HostOf(m.addr))].push_back(m.broker_id);
  std::map<std::string, std::pair<int, bool>> conns_by_ip;  // count, all in sync
  for (const auto& r : replicas) {
    auto& [count, ok] =
        conns_by_ip.try_emplace(std::string(ha::HostOf(r.ha_peer)), 0, true).first->second;
    ++count;
    ok = ok && r.acked_offset >= 0 && r.caught_up_ms > 0 &&
         now_ms - r.last_report_ms <= housekeeping_ms &&
         master_max - r.acked_offset <= fallbehind_max;
  }
  std::vector<int64_t> out{master_id};
  for (const auto& [ip, ids] : members_by_ip) {
    auto c = conns_by_ip.find(ip);
    if (c == conns_by_ip.end() || !c->second.second ||
        c->second.first < static_cast<int>(ids.size()))
      continue;
    out.insert(out.end(), ids.begin(), ids.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ramjet::controller
