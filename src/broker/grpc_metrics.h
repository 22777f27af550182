// rocketmq_rpc_latency for the 5.x gRPC service: a server interceptor that times every unary
// and server-streaming call (Telemetry, a session-long bidi stream, is left out) from its
// initial metadata to its status, labelled with the method's short name and the gRPC status.
// Threading: interceptors run on gRPC's threads, one per call; RpcLatency is thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "ramjet/metrics/rpc_latency.h"

namespace ramjet::broker {

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> MakeGrpcLatencyInterceptor(
    metrics::RpcLatency* rpc);

}  // namespace ramjet::broker
