// RemotingServer (listeners and their acceptors) and RemotingClient (connections by address)
// over the shared Endpoint (remoting.cc). Threading as in remoting.h.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "event_loop.h"
#include "ramjet/base/logging.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {

using protocol::RemotingCommand;

namespace {

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<std::pair<std::string, int>> SplitHostPort(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == addr.size()) {
    return Status::InvalidArgument("address '" + std::string(addr) + "' is not host:port");
  }
  std::string host(addr.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = std::atoi(std::string(addr.substr(colon + 1)).c_str());
  if (port <= 0 || port > 65535) {
    return Status::InvalidArgument("address '" + std::string(addr) + "' has a bad port");
  }
  return std::make_pair(host, port);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RemotingServer

class RemotingServer::Acceptor {
 public:
  Acceptor(RemotingServer* server, EventLoop* loop, int fd, int index)
      : server_(server), loop_(loop), fd_(fd), index_(index) {
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~Acceptor() {
    if (fd_ >= 0) ::close(fd_);
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }
  void Register() {
    loop_->Post([this] { loop_->Add(fd_, EPOLLIN, [this](uint32_t) { OnAccept(); }); });
  }
  void Unregister() {
    std::promise<void> done;
    loop_->Post([this, &done] {
      loop_->Remove(fd_);
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  void OnAccept() {
    for (;;) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno == EMFILE || errno == ENFILE) {
          // Out of descriptors: the pending connection would keep the level-triggered listener
          // readable forever. Use the spare descriptor to accept and drop it.
          RJ_LOG(kWarn, "remoting", "%s: out of file descriptors, refusing a connection",
                 server_->options().name.c_str());
          if (spare_fd_ >= 0) {
            ::close(spare_fd_);
            int dropped = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (dropped >= 0) ::close(dropped);
            spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          }
          return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          RJ_LOG(kWarn, "remoting", "%s: accept: %s", server_->options().name.c_str(),
                 std::strerror(errno));
        }
        return;
      }
      std::string peer = PeerAddress(fd);
      if (!server_->AdmitConnection(peer)) {
        ::close(fd);
        continue;
      }
      SetNoDelay(fd);
      RJ_LOG(kDebug, "remoting", "%s: accepted %s", server_->options().name.c_str(), peer.c_str());
      if (auto conn = server_->Adopt(fd, peer, index_, false); !conn.ok()) {
        RJ_LOG(kWarn, "remoting", "%s: %s", server_->options().name.c_str(),
               std::string(conn.status().message()).c_str());
      }
    }
  }
  RemotingServer* server_;
  EventLoop* loop_;
  int fd_;
  int index_;
  int spare_fd_ = -1;
};

RemotingServer::RemotingServer(EndpointOptions options) : Endpoint(std::move(options)) {}

RemotingServer::~RemotingServer() { Shutdown(); }

Status RemotingServer::Start(const std::vector<ListenAddress>& listeners) {
  ResolveConnectionLimit();
  std::vector<int> fds;
  auto fail = [&](const Status& s) {
    for (int fd : fds) ::close(fd);
    return s;
  };
  for (const auto& la : listeners) {
    bool v6 = la.host.find(':') != std::string::npos;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(Status::FromErrno(errno, "socket"));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(la.port));
      if (::inet_pton(AF_INET6, la.host.c_str(), &a->sin6_addr) != 1) {
        ::close(fd);
        return fail(Status::InvalidArgument("bad listen address " + la.host));
      }
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(la.port));
      if (::inet_pton(AF_INET, la.host.c_str(), &a->sin_addr) != 1) {
        ::close(fd);
        return fail(Status::InvalidArgument("bad listen address " + la.host));
      }
      len = sizeof(sockaddr_in);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      int e = errno;
      ::close(fd);
      return fail(Status::IOError("cannot listen on " + la.host + ":" + std::to_string(la.port) +
                                  ": " + std::strerror(e)));
    }
    if (::listen(fd, 1024) != 0) {
      int e = errno;
      ::close(fd);
      return fail(Status::FromErrno(e, "listen"));
    }
    fds.push_back(fd);
    std::string local = PeerAddress(fd, true);
    ports_.push_back(std::atoi(local.substr(local.rfind(':') + 1).c_str()));
  }
  StartLoops();
  for (size_t i = 0; i < fds.size(); ++i) {
    acceptors_.push_back(
        std::make_unique<Acceptor>(this, loops_[0].get(), fds[i], static_cast<int>(i)));
    acceptors_.back()->Register();
  }
  started_ = true;
  return Status::OK();
}

void RemotingServer::Shutdown() {
  if (!started_) return;
  started_ = false;
  for (auto& a : acceptors_) a->Unregister();
  acceptors_.clear();
  StopLoops();
}

// ---------------------------------------------------------------------------------------------
// RemotingClient

RemotingClient::RemotingClient(EndpointOptions options, int connect_timeout_ms)
    : Endpoint(std::move(options)), connect_timeout_ms_(connect_timeout_ms) {
  StartLoops();
}

RemotingClient::~RemotingClient() { Shutdown(); }

void RemotingClient::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    by_addr_.clear();
  }
  StopLoops();
}

Result<ConnectionPtr> RemotingClient::GetConnection(const std::string& addr) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return Status::Unavailable("client shut down");
    auto it = by_addr_.find(addr);
    if (it != by_addr_.end() && !it->second->closed()) return it->second;
  }
  // Resolve and connect without the lock: one unreachable peer must not stall the others.
  RJ_ASSIGN_OR_RETURN(auto hp, SplitHostPort(addr));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(hp.first.c_str(), std::to_string(hp.second).c_str(), &hints, &res);
  if (gai != 0 || res == nullptr) {
    return Status::Unavailable("cannot resolve " + addr + ": " + ::gai_strerror(gai));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::FromErrno(errno, "socket");
  }
  int r = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (r != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    return Status::Unavailable("connect to " + addr + ": " + std::strerror(e));
  }
  if (r != 0) {
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, connect_timeout_ms_);
    int err = 0;
    socklen_t len = sizeof(err);
    if (pr <= 0) {
      ::close(fd);
      return Status::Timeout("connect to " + addr + " timed out");
    }
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return Status::Unavailable("connect to " + addr + ": " + std::strerror(err));
    }
  }
  SetNoDelay(fd);
  std::lock_guard<std::mutex> l(mu_);
  if (shut_down_) {
    ::close(fd);
    return Status::Unavailable("client shut down");
  }
  auto it = by_addr_.find(addr);
  if (it != by_addr_.end() && !it->second->closed()) {
    ::close(fd);  // another thread connected meanwhile
    return it->second;
  }
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, Adopt(fd, addr, 0, true));
  by_addr_[addr] = conn;
  return conn;
}

Result<RemotingCommand> RemotingClient::InvokeSync(const std::string& addr, RemotingCommand request,
                                                   int timeout_ms) {
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, GetConnection(addr));
  return Endpoint::InvokeSync(conn, std::move(request), timeout_ms);
}

void RemotingClient::InvokeAsync(const std::string& addr, RemotingCommand request, int timeout_ms,
                                 ResponseCallback cb) {
  auto conn = GetConnection(addr);
  if (!conn.ok()) {
    cb(conn.status());
    return;
  }
  Endpoint::InvokeAsync(*conn, std::move(request), timeout_ms, std::move(cb));
}

Status RemotingClient::InvokeOneway(const std::string& addr, RemotingCommand request) {
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, GetConnection(addr));
  if (!Endpoint::InvokeOneway(conn, std::move(request))) {
    return Status::Unavailable("connection to " + addr + " closed");
  }
  return Status::OK();
}

void RemotingClient::CloseConnection(const std::string& addr) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return;
  it->second->Close("closed by client");
  by_addr_.erase(it);
}

}  // namespace ramjet::remoting
