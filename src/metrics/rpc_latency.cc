#include "ramjet/metrics/rpc_latency.h"

#include <mutex>
#include <string>
#include <vector>

namespace ramjet::metrics {

namespace {

// RocketMQ's rocketmq_rpc_latency buckets (ms).
const std::vector<int64_t> kRpcBucketsMs = {1, 3, 5, 7, 10, 100, 1000, 2000, 3000};

}  // namespace

void RpcLatency::OnResponse(int32_t request_code, int32_t response_code, int64_t micros) {
  const auto key = std::make_pair(request_code, response_code);
  const int64_t ms = micros / 1000;
  const bool fast = response_code == 0 && request_code >= 0 && request_code < kFastCodes;
  if (fast) {
    if (Histogram* h = ok_[request_code].load(std::memory_order_acquire)) {
      h->Observe(ms);
      return;
    }
  }
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = by_code_.find(key);
    if (it != by_code_.end()) {
      it->second->Observe(ms);
      return;
    }
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  auto& h = by_code_[key];
  if (!h) h = std::make_unique<Histogram>(kRpcBucketsMs);
  h->Observe(ms);
  // Published once, under the lock; the map keeps it alive as long as this object.
  if (fast) ok_[request_code].store(h.get(), std::memory_order_release);
}

void RpcLatency::OnGrpc(const std::string& method, const std::string& status, int64_t micros) {
  const int64_t ms = micros / 1000;
  auto key = std::make_pair(method, status);
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = grpc_.find(key);
    if (it != grpc_.end()) {
      it->second->Observe(ms);
      return;
    }
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  auto& h = grpc_[key];
  if (!h) h = std::make_unique<Histogram>(kRpcBucketsMs);
  h->Observe(ms);
}

void RpcLatency::Write(Writer* w, const Labels& base) const {
  // (protocol, request, response) -> snapshot, read under the lock, written after it.
  std::vector<std::pair<std::array<std::string, 3>, Histogram::Snapshot>> snaps;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (const auto& [k, h] : by_code_) {
      snaps.push_back({{"remoting", std::to_string(k.first), std::to_string(k.second)}, h->Read()});
    }
    for (const auto& [k, h] : grpc_) snaps.push_back({{"grpc", k.first, k.second}, h->Read()});
  }
  w->Family("rocketmq_rpc_latency", "histogram",
            "Milliseconds from a request's arrival to its answer (remoting and gRPC).");
  for (const auto& [k, s] : snaps) {
    Labels labels = base;
    labels.emplace_back("protocol_type", k[0]);
    labels.emplace_back("request_code", k[1]);
    labels.emplace_back("response_code", k[2]);
    w->WriteHistogram("rocketmq_rpc_latency", labels, s);
  }
}

}  // namespace ramjet::metrics
