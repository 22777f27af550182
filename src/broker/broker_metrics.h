// The broker's Prometheus metrics (RocketMQ 5's names and labels, RIP-46, so its Grafana
// dashboards work): rendered on each scrape of /metrics from what the broker keeps anyway
// (BrokerStats' running totals, the metadata tables, consumer offsets, the store's watermarks,
// the POP in-flight table), plus the RPC latency distribution this class records per request
// and response code (the remoting server's response observer) and the process figures.
//
// Every sample carries cluster, node_type="broker", node_id=<brokerName>.
//
// Threading: OnResponse from any thread (metrics::RpcLatency). Render from the HTTP server's
// workers, concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>

#include "broker_context.h"
#include "pop_service.h"
#include "ramjet/metrics/metrics.h"
#include "ramjet/metrics/rpc_latency.h"

namespace ramjet::broker {

class BrokerMetrics {
 public:
  // REQUIRES: bc (and the PopService, when set) outlive the metrics.
  explicit BrokerMetrics(BrokerContext* bc) : bc_(*bc) {}
  // REQUIRES: before the first Render (masters have a PopService).
  void set_pop(PopService* pop) { pop_ = pop; }

  // A remoting request answered (RequestContext::ResponseObserver).
  void OnResponse(int32_t request_code, int32_t response_code, int64_t micros) {
    rpc_.OnResponse(request_code, response_code, micros);
  }
  // The recorder of rocketmq_rpc_latency (the gRPC service's interceptor feeds it too).
  metrics::RpcLatency* rpc() { return &rpc_; }
  // The whole exposition text.
  std::string Render() const;

 private:
  metrics::Labels Base() const;
  void WriteTraffic(metrics::Writer* w) const;
  void WriteClients(metrics::Writer* w) const;
  void WriteLag(metrics::Writer* w) const;
  void WriteStore(metrics::Writer* w) const;

  BrokerContext& bc_;
  PopService* pop_ = nullptr;
  metrics::RpcLatency rpc_;
};

}  // namespace ramjet::broker
