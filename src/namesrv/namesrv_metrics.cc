#include "namesrv_metrics.h"

namespace ramjet::namesrv {

std::string RenderMetrics(const RouteInfoManager& routes, const metrics::RpcLatency& rpc,
                          const std::string& node_id) {
  metrics::Writer w;
  const metrics::Labels base = {{"node_type", "namesrv"}, {"node_id", node_id}};
  const protocol::ClusterInfo info = routes.GetClusterInfo();
  w.Family("ramjet_namesrv_brokers", "gauge", "Live broker addresses registered, per cluster.");
  for (const auto& [cluster, names] : info.cluster_addr_table) {
    size_t n = 0;
    for (const auto& name : names) {
      if (auto it = info.broker_addr_table.find(name); it != info.broker_addr_table.end()) {
        n += it->second.broker_addrs.size();
      }
    }
    metrics::Labels l = base;
    l.emplace_back("cluster", cluster);
    w.Sample("ramjet_namesrv_brokers", l, static_cast<double>(n));
  }
  w.Family("ramjet_namesrv_topics", "gauge", "Topics in the routing table.");
  w.Sample("ramjet_namesrv_topics", base,
           static_cast<double>(routes.GetAllTopicList().topic_list.size()));
  rpc.Write(&w, base);
  metrics::WriteProcessMetrics(&w);
  return w.text();
}

}  // namespace ramjet::namesrv
