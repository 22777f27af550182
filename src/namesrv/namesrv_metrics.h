// The name server's Prometheus metrics: rocketmq_rpc_latency per request and response code,
// the brokers and topics it routes, and the process figures; every sample labelled
// node_type="namesrv", node_id=<listen address:port>.
// Threading: RenderMetrics from the HTTP server's workers (RouteInfoManager is thread-safe).
#pragma once

#include <string>

#include "ramjet/metrics/rpc_latency.h"
#include "ramjet/namesrv/namesrv.h"

namespace ramjet::namesrv {

std::string RenderMetrics(const RouteInfoManager& routes, const metrics::RpcLatency& rpc,
                          const std::string& node_id);

}  // namespace ramjet::namesrv
