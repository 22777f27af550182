// Broker-group views of ramjet-admin (getSyncStateSet, clusterList's lag column), built from
// the name server's cluster table and each member's GET_BROKER_RUNTIME_INFO.
#include <cstdlib>

#include "ramjet/admin/admin.h"

namespace ramjet::admin {
namespace {

std::string IpOf(const std::string& addr) { return addr.substr(0, addr.rfind(':')); }

int64_t Field(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return -1;
  return std::strtoll(line.c_str() + at + key.size() + 2, nullptr, 10);
}

}  // namespace

std::pair<int64_t, int64_t> SlaveLag(const std::map<std::string, std::string>& master_info,
                                     const std::string& slave_addr) {
  for (int i = 0;; ++i) {
    auto it = master_info.find("haSlave." + std::to_string(i));
    if (it == master_info.end()) return {-1, -1};
    // "<ip:port of its HA socket> ackOffset=.. behindBytes=.. behindMs=.. lastReportMs=.."
    if (IpOf(it->second.substr(0, it->second.find(' '))) == IpOf(slave_addr))
      return {Field(it->second, "behindBytes"), Field(it->second, "behindMs")};
  }
}

Result<std::vector<GroupMember>> Admin::GroupMembers(const std::string& broker_name) {
  RJ_ASSIGN_OR_RETURN(auto info, ClusterInfo());
  auto group = info.broker_addr_table.find(broker_name);
  if (group == info.broker_addr_table.end())
    return Status::NotFound("no broker group " + broker_name);
  std::map<std::string, std::string> master_info;
  auto m = group->second.broker_addrs.find(0);
  if (m != group->second.broker_addrs.end()) {
    auto rt = BrokerRuntimeInfo(m->second);
    if (rt.ok()) master_info = *rt;
  }
  std::vector<GroupMember> out;
  for (const auto& [id, addr] : group->second.broker_addrs) {
    GroupMember g;
    g.route_id = id;
    g.addr = addr;
    auto rt =
        id == 0 ? Result<std::map<std::string, std::string>>(master_info) : BrokerRuntimeInfo(addr);
    if (rt.ok()) {
      auto& t = *rt;
      g.role = t["brokerRole"];
      g.controller_role = t["controllerRole"];
      g.epoch = std::atoll(t["controllerEpoch"].c_str());
      g.sync_state_set = t["syncStateSet"];
    } else {
      g.role = "unreachable";
    }
    if (id != 0) std::tie(g.behind_bytes, g.behind_ms) = SlaveLag(master_info, addr);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace ramjet::admin
