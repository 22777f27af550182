// Starting and stopping the real server programs from tests.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ramjet::testing {

inline bool PortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// Holds an flock on /tmp/ramjet-test-ports/<port> until this process exits, so that the other
// test processes of a parallel run skip the port between its pick and its server's bind.
inline bool ReservePort(int port) {
  static const bool made = [] {
    ::mkdir("/tmp/ramjet-test-ports", 01777);
    ::chmod("/tmp/ramjet-test-ports", 01777);
    return true;
  }();
  (void)made;
  std::string path = "/tmp/ramjet-test-ports/" + std::to_string(port);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // no lock directory: fall back to the bind probe alone
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open: the lock lives as long as the test process
}

// Ports for test servers come from outside the kernel's ephemeral range (an outgoing connection
// of any test can take a port inside it at any moment) and are reserved across test processes.
inline std::pair<int, int> TestPortRange() {
  int lo = 32768, hi = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &lo, &hi) != 2) lo = 32768, hi = 60999;
    std::fclose(f);
  }
  if (lo >= 12000) return {10002, lo - 2};
  return {hi + 3, 65533};
}

// A port p with p, p-2 and p+1 free and reserved (broker main, VIP and HA ports).
inline int PickPort() {
  static std::mt19937 rng(static_cast<unsigned>(::getpid() * 7919 + time(nullptr)));
  static const std::pair<int, int> range = TestPortRange();
  for (int i = 0; i < 1000; ++i) {
    int p = range.first + static_cast<int>(rng() % (range.second - range.first));
    if (!PortFree(p) || !PortFree(p - 2) || !PortFree(p + 1)) continue;
    // (a triple reserved only in part keeps its locks until exit: a few ports fewer to pick)
    if (ReservePort(p) && ReservePort(p - 2) && ReservePort(p + 1)) return p;
  }
  return 0;
}

// The last max_bytes of a file (a server's log for a failing test's output).
inline std::string TailOfFile(const std::string& path, size_t max_bytes = 4000) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "(no " + path + ")";
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  long from = size > static_cast<long>(max_bytes) ? size - static_cast<long>(max_bytes) : 0;
  std::fseek(f, from, SEEK_SET);
  std::string out(static_cast<size_t>(size - from), '\0');
  out.resize(std::fread(out.data(), 1, out.size(), f));
  std::fclose(f);
  return out;
}

inline bool WaitForPort(int port, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    // A connect to a port nobody listens on can "succeed" from that very port (TCP's
    // simultaneous open with itself, when the kernel picks it as the ephemeral source port).
    sockaddr_in self{};
    socklen_t len = sizeof(self);
    if (ok && ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) == 0 &&
        self.sin_port == a.sin_port) {
      ok = false;
    }
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// What a shell command printed (stdout and stderr) and its exit code (-1 if it did not exit).
struct CommandOutput {
  int code = -1;
  std::string text;
};

inline CommandOutput RunCommand(const std::string& cmd) {
  CommandOutput o;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) o.text.append(buf, n);
  int st = ::pclose(p);
  o.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  Process& operator=(Process&& o) noexcept {
    if (this != &o) {
      Kill();
      pid_ = o.pid_;
      o.pid_ = -1;
    }
    return *this;
  }
  ~Process() { Kill(); }

  // Starts argv[0] with its output appended to log_path.
  static Process Start(const std::vector<std::string>& argv, const std::string& log_path) {
    Process p;
    p.pid_ = ::fork();
    if (p.pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return p;
  }
  pid_t pid() const { return pid_; }
  bool Alive() {
    if (pid_ <= 0) return false;
    int st;
    return ::waitpid(pid_, &st, WNOHANG) == 0;
  }
  // Sends SIGINT and waits; returns the exit code (or -signal), -1000 on timeout (then kills).
  int Stop(int timeout_ms = 20000) { return Signal(SIGINT, timeout_ms); }
  int Signal(int sig, int timeout_ms) {
    if (pid_ <= 0) return -1001;
    ::kill(pid_, sig);
    return Wait(timeout_ms);
  }
  int Wait(int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
    return -1000;
  }
  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace ramjet::testing
