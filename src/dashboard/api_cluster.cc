// Overview and cluster pages: brokers with their runtime figures, broker configuration, the TPS
// history.
#include <set>

#include "api.h"

namespace ramjet::dashboard {

namespace {

int64_t ToInt(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

// "a=1\nb=2" (GET_BROKER_CONFIG) -> {"a":"1","b":"2"}.
Json PropertiesToJson(const std::string& text) {
  Json out = Json::object();
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace

Result<Json> Api::Brokers() const {
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  std::map<std::string, std::string> cluster_of;
  for (const auto& [cluster, names] : info.cluster_addr_table) {
    for (const auto& n : names) cluster_of[n] = cluster;
  }
  Json brokers = Json::array();
  for (const auto& [name, data] : info.broker_addr_table) {
    for (const auto& [id, addr] : data.broker_addrs) {
      Json b = {{"cluster", cluster_of.count(name) ? cluster_of[name] : data.cluster},
                {"brokerName", name},
                {"brokerId", id},
                {"addr", addr},
                {"role", id == 0 ? "MASTER" : "SLAVE"}};
      auto runtime = admin_->BrokerRuntimeInfo(addr);
      if (!runtime.ok()) {
        b["error"] = std::string(runtime.status().message());
        brokers.push_back(std::move(b));
        continue;
      }
      auto& rt = *runtime;
      if (!rt["brokerRole"].empty()) b["role"] = rt["brokerRole"];  // ASYNC_MASTER, SLAVE, ..
      b["version"] = rt["brokerVersionDesc"];
      b["inTps"] = FirstTps(rt["putTps"]);
      b["outTps"] = FirstTps(rt["getTransferedTps"]);
      b["diskRatio"] = std::strtod(rt["commitLogDiskRatio"].c_str(), nullptr);
      b["msgPutTotalToday"] = ToInt(rt["msgPutTotalTodayNow"]);
      b["msgGetTotalToday"] = ToInt(rt["msgGetTotalTodayNow"]);
      b["runtime"] = rt;
      brokers.push_back(std::move(b));
    }
  }
  return brokers;
}

Result<ApiReply> Api::Overview(const ApiCall&) const {
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  Json clusters = Json::array();
  for (const auto& [cluster, names] : info.cluster_addr_table) clusters.push_back(cluster);
  RJ_ASSIGN_OR_RETURN(Json brokers, Brokers());
  RJ_ASSIGN_OR_RETURN(auto topics, admin_->TopicList());
  int64_t user_topics = 0;
  for (const auto& t : topics) user_topics += TopicTypeOf(t, info) == "NORMAL" ? 1 : 0;
  RJ_ASSIGN_OR_RETURN(auto lags, GroupLags());
  int64_t total_lag = 0;
  for (const auto& [group, g] : lags) total_lag += g.lag;
  Json history = Json::array();
  for (const auto& s : history_->Samples()) {
    history.push_back({{"t", s.t}, {"inTps", s.in_tps}, {"outTps", s.out_tps}});
  }
  return ApiReply(Json{{"clusters", clusters},
                       {"brokers", brokers},
                       {"topicCount", user_topics},
                       {"groupCount", lags.size()},
                       {"totalLag", total_lag},
                       {"history", history}});
}

Result<ApiReply> Api::Cluster(const ApiCall&) const {
  RJ_ASSIGN_OR_RETURN(Json brokers, Brokers());
  return ApiReply(Json{{"brokers", brokers}});
}

Result<ApiReply> Api::BrokerConfig(const ApiCall& c) const {
  const std::string addr = c.Param("addr");
  if (addr.empty()) return Status::InvalidArgument("addr is required");
  // Only addresses of the cluster: the dashboard must not become a relay to arbitrary hosts.
  RJ_ASSIGN_OR_RETURN(auto info, admin_->ClusterInfo());
  bool known = false;
  for (const auto& [name, data] : info.broker_addr_table) {
    for (const auto& [id, a] : data.broker_addrs) known |= (a == addr);
  }
  if (!known) return Status::NotFound("no broker at " + addr + " in the cluster");
  RJ_ASSIGN_OR_RETURN(std::string text, admin_->BrokerConfig(addr));
  return ApiReply(Json{{"addr", addr}, {"config", PropertiesToJson(text)}});
}

}  // namespace ramjet::dashboard
