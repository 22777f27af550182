#include "grpc_metrics.h"

#include <string>

#include "ramjet/base/clock.h"

namespace ramjet::broker {

namespace {

const char* StatusName(::grpc::StatusCode c) {
  switch (c) {
    case ::grpc::OK:
      return "OK";
    case ::grpc::CANCELLED:
      return "CANCELLED";
    case ::grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case ::grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case ::grpc::NOT_FOUND:
      return "NOT_FOUND";
    case ::grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case ::grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case ::grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case ::grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case ::grpc::INTERNAL:
      return "INTERNAL";
    case ::grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return "OTHER";
  }
}

class LatencyInterceptor : public ::grpc::experimental::Interceptor {
 public:
  LatencyInterceptor(metrics::RpcLatency* rpc, std::string method)
      : rpc_(rpc), method_(std::move(method)), start_us_(MonoMicros()) {}

  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods) override {
    using Point = ::grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Point::PRE_SEND_STATUS)) {
      rpc_->OnGrpc(method_, StatusName(methods->GetSendStatus().error_code()),
                   MonoMicros() - start_us_);
    }
    methods->Proceed();
  }

 private:
  metrics::RpcLatency* rpc_;
  const std::string method_;
  const int64_t start_us_;
};

class LatencyFactory : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit LatencyFactory(metrics::RpcLatency* rpc) : rpc_(rpc) {}
  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo* info) override {
    if (info->type() == ::grpc::experimental::ServerRpcInfo::Type::BIDI_STREAMING) return nullptr;
    // "/apache.rocketmq.v2.MessagingService/SendMessage" -> "SendMessage"
    std::string method = info->method() ? info->method() : "";
    method = method.substr(method.rfind('/') + 1);
    return new LatencyInterceptor(rpc_, std::move(method));  // gRPC owns and deletes it
  }

 private:
  metrics::RpcLatency* rpc_;
};

}  // namespace

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface> MakeGrpcLatencyInterceptor(
    metrics::RpcLatency* rpc) {
  return std::make_unique<LatencyFactory>(rpc);
}

}  // namespace ramjet::broker
