// rocketmq_rpc_latency: milliseconds from a remoting request's arrival to its answer, one
// histogram per (request code, response code), with RocketMQ's buckets. Fed by a remoting
// server's response observer (EndpointOptions::on_response); written on each scrape.
//
// Threading: OnResponse from any thread: successful answers of codes below kFastCodes (the hot
// path: sends, pulls, heartbeats) find their histogram with one atomic load; other pairs take a
// shared lock, and an exclusive one the first time a pair is seen (gRPC calls always go through
// the map). Write from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>

#include "ramjet/metrics/metrics.h"

namespace ramjet::metrics {

class RpcLatency {
 public:
  void OnResponse(int32_t request_code, int32_t response_code, int64_t micros);
  // A gRPC call answered: method is its short name (SendMessage), status the gRPC status name.
  void OnGrpc(const std::string& method, const std::string& status, int64_t micros);
  // The family and one histogram per code pair seen, labelled base + protocol_type ("remoting":
  // request_code and response_code are numbers; "grpc": the method and status names).
  void Write(Writer* w, const Labels& base) const;

 private:
  static constexpr int32_t kFastCodes = 1024;
  std::array<std::atomic<Histogram*>, kFastCodes> ok_{};
  mutable std::shared_mutex mu_;
  std::map<std::pair<int32_t, int32_t>, std::unique_ptr<Histogram>> by_code_;       // mu_
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Histogram>> grpc_;  // mu_
};

}  // namespace ramjet::metrics
