#include "ramjet/ha/socket_util.h"

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

namespace ramjet::ha {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

bool ParseAddress(const std::string& address, sockaddr_in* sa) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = address.substr(0, colon);
  const int port = std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  std::memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, host.c_str(), &sa->sin_addr) == 1;
}

}  // namespace

std::string_view HostOf(std::string_view address) { return address.substr(0, address.rfind(':')); }

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

Result<int> Listen(const std::string& ip, int port, int* bound_port) {
  sockaddr_in sa{};
  if (!ParseAddress(ip + ":" + std::to_string(port == 0 ? 1 : port), &sa)) {
    return Status::InvalidArgument("bad HA listen address " + ip + ":" + std::to_string(port));
  }
  sa.sin_port = htons(static_cast<uint16_t>(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 64) != 0) {
    Status s = Errno("HA port " + ip + ":" + std::to_string(port));
    close(fd);
    return s;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (bound_port) *bound_port = ntohs(sa.sin_port);
  return fd;
}

Result<int> Connect(const std::string& address, int timeout_ms, const std::string& bind_ip) {
  sockaddr_in sa{};
  if (!ParseAddress(address, &sa)) {
    return Status::InvalidArgument("bad HA master address '" + address + "'");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in local{};
  if (!bind_ip.empty() && bind_ip != "0.0.0.0" && ParseAddress(bind_ip + ":1", &local)) {
    local.sin_port = 0;
    // Not this host's address (e.g. behind NAT): connect from the default one instead.
    (void)bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS) {
    Status s = Errno("connect " + address);
    close(fd);
    return s;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof(err);
  if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    close(fd);
    return Status::IOError("connect " + address + ": " +
                           (err ? std::strerror(err) : std::string("timed out")));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

std::string PeerAddress(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(sa.sin_port));
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("HA write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

int PollRead(int fd, int wake_fd, int timeout_ms) {
  pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  int n = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
  if (n <= 0) return 0;
  if (wake_fd >= 0 && (p[1].revents & POLLIN)) {
    uint64_t v;
    [[maybe_unused]] ssize_t r = read(wake_fd, &v, sizeof(v));
  }
  return p[0].revents;
}

}  // namespace ramjet::ha
