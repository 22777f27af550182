#include "grpc_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::broker {

namespace {
constexpr size_t kMaxUndecided = 1024;
constexpr int64_t kFirstByteTimeoutUs = 10'000'000;
constexpr unsigned char kTlsHandshakeRecord = 0x16;

std::shared_ptr<::grpc::ServerCredentials> TlsCredentials(const remoting::TlsContext& c) {
  ::grpc::SslServerCredentialsOptions o;
  o.pem_key_cert_pairs.push_back({c.key_pem(), c.cert_chain_pem()});
  o.pem_root_certs = c.trust_pem();
  switch (c.client_auth()) {
    case remoting::TlsClientAuth::kNone:
      o.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
      break;
    case remoting::TlsClientAuth::kOptional:
      o.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
    case remoting::TlsClientAuth::kRequire:
      o.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
  }
  return ::grpc::SslServerCredentials(o);
}
}  // namespace

GrpcPortRouter::GrpcPortRouter(::grpc::ServerBuilder* b, remoting::TlsMode mode,
                               const remoting::TlsContext& context) {
  using Type = ::grpc::ServerBuilder::experimental_type::ExternalConnectionType;
  tls_ = b->experimental().AddExternalConnectionAcceptor(Type::FROM_FD, TlsCredentials(context));
  if (mode != remoting::TlsMode::kEnforcing) {
    plain_ = b->experimental().AddExternalConnectionAcceptor(Type::FROM_FD,
                                                             ::grpc::InsecureServerCredentials());
  }
}

GrpcPortRouter::~GrpcPortRouter() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  for (const Undecided& u : undecided_) ::close(u.fd);
}

Status GrpcPortRouter::Start(const std::string& address, int port) {
  bool v6 = address.find(':') != std::string::npos;
  listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::FromErrno(errno, "gRPC socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool parsed = false;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    parsed = ::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) == 1;
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    parsed = ::inet_pton(AF_INET, address.c_str(), &a->sin_addr) == 1;
    len = sizeof(sockaddr_in);
  }
  if (!parsed) return Status::InvalidArgument("bad gRPC listen address " + address);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 1024) != 0) {
    return Status::IOError("gRPC server: cannot listen on " + address + ":" + std::to_string(port) +
                           ": " + std::strerror(errno));
  }
  std::string local = remoting::PeerAddress(listen_fd_, true);
  port_ = std::atoi(local.substr(local.rfind(':') + 1).c_str());
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void GrpcPortRouter::Stop() {
  if (stop_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    uint64_t v = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &v, sizeof(v));
  }
  if (thread_.joinable()) thread_.join();
}

void GrpcPortRouter::Route(int fd) {
  unsigned char first = 0;
  ssize_t n = ::recv(fd, &first, 1, MSG_PEEK);
  if (n <= 0) {
    ::close(fd);  // closed before saying anything
    return;
  }
  Acceptor* to = first == kTlsHandshakeRecord ? tls_.get() : plain_.get();
  if (to == nullptr) {
    RJ_LOG(kWarn, "grpc", "plaintext gRPC connection from %s refused: tlsMode is enforcing",
           remoting::PeerAddress(fd).c_str());
    ::close(fd);
    return;
  }
  Acceptor::NewConnectionParameters p;
  p.listener_fd = listen_fd_;
  p.fd = fd;
  to->HandleNewConnection(&p);  // gRPC owns fd from here
}

void GrpcPortRouter::Run() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Undecided& u : undecided_) fds.push_back({u.fd, POLLIN, 0});
    int r = ::poll(fds.data(), fds.size(), 1000);
    if (r < 0 && errno != EINTR) {  // ENOMEM and the like: try again rather than stop accepting
      RJ_LOG(kError, "grpc", "poll: %s", std::strerror(errno));
      ::poll(nullptr, 0, 100);
      continue;
    }
    if (stop_.load()) return;
    const int64_t now = MonoMicros();
    std::deque<Undecided> waiting;
    for (size_t i = 0; i < undecided_.size(); ++i) {
      const Undecided& u = undecided_[i];
      if (fds[i + 2].revents != 0) {
        Route(u.fd);
      } else if (now > u.deadline_us) {
        ::close(u.fd);  // connected and said nothing
      } else {
        waiting.push_back(u);
      }
    }
    undecided_.swap(waiting);
    if ((fds[1].revents & POLLIN) == 0) continue;
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
          RJ_LOG(kWarn, "grpc", "out of file descriptors, not accepting for 100 ms");
          ::poll(nullptr, 0, 100);
        }
        break;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (undecided_.size() >= kMaxUndecided) {
        ::close(undecided_.front().fd);
        undecided_.pop_front();
      }
      undecided_.push_back({fd, MonoMicros() + kFirstByteTimeoutUs});
    }
  }
}

}  // namespace ramjet::broker
