// The gRPC port when TLS is on: Ramjet accepts the connections itself and hands each to gRPC's
// TLS or plaintext transport, told apart by the first byte as on the remoting ports (0x16 opens
// a TLS handshake; an HTTP/2 client preface starts with "PRI"). tlsMode enforcing closes
// plaintext connections with a log line; permissive serves both, like RocketMQ's proxy
// (ProxyAndTlsProtocolNegotiator). With tlsMode disabled gRPC listens by itself and this class
// is not used.
//
// Threading: one thread polls the listening socket and the accepted connections whose first
// byte has not arrived (at most kMaxUndecided, each for at most 10 s), then passes them on.
#pragma once

#include <grpcpp/server_builder.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "ramjet/base/status.h"
#include "ramjet/remoting/tls.h"

namespace ramjet::broker {

class GrpcPortRouter {
 public:
  using Acceptor = ::grpc::experimental::ExternalConnectionAcceptor;
  // Adds the TLS (from context's PEMs) and plaintext acceptors to the builder; call before
  // BuildAndStart, then Start after it.
  GrpcPortRouter(::grpc::ServerBuilder* builder, remoting::TlsMode mode,
                 const remoting::TlsContext& context);
  ~GrpcPortRouter();
  GrpcPortRouter(const GrpcPortRouter&) = delete;
  GrpcPortRouter& operator=(const GrpcPortRouter&) = delete;

  // Listens on address:port (0: any free port) and starts routing.
  [[nodiscard]] Status Start(const std::string& address, int port);
  // Stops accepting; connections already handed to gRPC stay with it. Idempotent.
  void Stop();
  int port() const { return port_; }

 private:
  struct Undecided {
    int fd;
    int64_t deadline_us;
  };
  void Run();
  void Route(int fd);
  std::unique_ptr<Acceptor> tls_;
  std::unique_ptr<Acceptor> plain_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::deque<Undecided> undecided_;  // router thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ramjet::broker
