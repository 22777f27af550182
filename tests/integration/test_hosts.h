// Hosts for multi-process fault tests: each test host is a network namespace of its own, joined
// to a bridge in the test's namespace by a veth pair (so a link can be cut), created and removed
// by the test. Where namespaces cannot be created (not root, no `ip`), the hosts are distinct
// loopback addresses 127.0.0.x in one namespace, and Cut() is not available; mode() says which.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace ramjet::testing {

class TestHosts {
 public:
  // count hosts (at most 20).
  explicit TestHosts(int count) : count_(count) {
    const int pid = static_cast<int>(::getpid());
    prefix_ = "rj" + std::to_string(pid % 100000);
    ip_bin_ = ::access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip"
              : ::access("/sbin/ip", X_OK) == 0   ? "/sbin/ip"
                                                  : "";
    if (::geteuid() == 0 && !ip_bin_.empty() && !std::getenv("RAMJET_NO_NETNS")) {
      RemoveLeftovers();
      subnet_ = FreeSubnet(pid % 250);
      namespaces_ = SetUpNamespaces();
      if (!namespaces_) TearDownNamespaces();
    }
  }
  ~TestHosts() {
    if (namespaces_) TearDownNamespaces();
  }
  TestHosts(const TestHosts&) = delete;
  TestHosts& operator=(const TestHosts&) = delete;

  bool namespaces() const { return namespaces_; }
  std::string mode() const {
    return namespaces_ ? "network namespaces (" + std::to_string(count_) + " hosts, veth + bridge)"
                       : "loopback addresses 127.0.0.x (network namespaces unavailable)";
  }
  // The address of host i, as the other hosts and the test reach it.
  std::string ip(int i) const {
    return namespaces_ ? NsIp(i) : "127.0.0." + std::to_string(10 + i);
  }
  // argv to run a program on host i.
  std::vector<std::string> On(int i, std::vector<std::string> argv) const {
    if (!namespaces_) return argv;
    std::vector<std::string> out = {ip_bin_, "netns", "exec", Ns(i)};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }
  // Cuts host i off the network (its link down) / restores it. Namespaces only.
  bool Cut(int i) { return namespaces_ && Run("link set " + Veth(i) + " down"); }
  bool Heal(int i) { return namespaces_ && Run("link set " + Veth(i) + " up"); }
  // Drops all traffic between hosts i and j (blackhole routes in both namespaces) while both
  // stay reachable from the test's own namespace / restores it. Namespaces only.
  bool Partition(int i, int j) { return namespaces_ && Route("add", i, j) && Route("add", j, i); }
  bool Unpartition(int i, int j) {
    const bool a = Route("del", i, j);
    const bool b = Route("del", j, i);
    return namespaces_ && a && b;
  }

 private:
  std::string NsIp(int i) const { return subnet_ + std::to_string(10 + i); }
  std::string Ns(int i) const { return prefix_ + "h" + std::to_string(i); }
  std::string Veth(int i) const { return prefix_ + "v" + std::to_string(i); }
  std::string Bridge() const { return prefix_ + "br"; }
  bool Route(const std::string& verb, int from, int to) const {
    return Run("netns exec " + Ns(from) + " ip route " + verb + " blackhole " + NsIp(to) + "/32");
  }
  bool Run(const std::string& args) const {
    const std::string cmd = ip_bin_ + " " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }
  // What a command prints (empty if it fails).
  static std::string Output(const std::string& cmd) {
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
      ::pclose(f);
    }
    return out;
  }
  // The pid in a name "rj<pid>..." of this harness, or 0.
  static int OwnerPid(const std::string& name) {
    if (name.rfind("rj", 0) != 0) return 0;
    int pid = 0;
    for (size_t i = 2; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
      pid = pid * 10 + (name[i] - '0');
    }
    return pid;
  }
  // Namespaces and bridges of tests that died before their destructor ran (a timeout, a
  // crash): left alone they keep their subnet's route and swallow a later test's traffic.
  void RemoveLeftovers() const {
    auto dead = [](int pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; };
    std::istringstream ns(Output(ip_bin_ + " netns list 2>/dev/null"));
    for (std::string line; std::getline(ns, line);) {
      const std::string name = line.substr(0, line.find(' '));
      if (dead(OwnerPid(name))) Run("netns del " + name);
    }
    std::istringstream links(Output(ip_bin_ + " -o link show type bridge 2>/dev/null"));
    for (std::string line; std::getline(links, line);) {
      const size_t a = line.find(": "), b = line.find(':', a + 2);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string name = line.substr(a + 2, b - a - 2);
      if (dead(OwnerPid(name))) Run("link del " + name);
    }
  }
  // A 10.123.x.0/24 no other interface routes (starting at x = first).
  std::string FreeSubnet(int first) const {
    for (int k = 0; k < 250; ++k) {
      const std::string subnet = "10.123." + std::to_string((first + k) % 250) + ".";
      if (Output(ip_bin_ + " route show " + subnet + "0/24 2>/dev/null").empty()) return subnet;
    }
    return "10.123." + std::to_string(first) + ".";
  }
  bool SetUpNamespaces() {
    if (!Run("link add " + Bridge() + " type bridge") ||
        !Run("addr add " + subnet_ + "1/24 dev " + Bridge()) ||
        !Run("link set " + Bridge() + " up")) {
      return false;
    }
    for (int i = 0; i < count_; ++i) {
      const std::string ns = Ns(i), peer = prefix_ + "p" + std::to_string(i);
      if (!Run("netns add " + ns) || !Run("link add " + Veth(i) + " type veth peer name " + peer) ||
          !Run("link set " + peer + " netns " + ns) ||
          !Run("link set " + Veth(i) + " master " + Bridge()) ||
          !Run("link set " + Veth(i) + " up") ||
          !Run("netns exec " + ns + " ip addr add " + NsIp(i) + "/24 dev " + peer) ||
          !Run("netns exec " + ns + " ip link set " + peer + " up") ||
          !Run("netns exec " + ns + " ip link set lo up")) {
        return false;
      }
    }
    return true;
  }
  void TearDownNamespaces() {
    for (int i = 0; i < count_; ++i) Run("netns del " + Ns(i));
    Run("link del " + Bridge());
  }

  const int count_;
  std::string prefix_, subnet_ = "10.123.0.", ip_bin_;
  bool namespaces_ = false;
};

}  // namespace ramjet::testing
