// The failover controller against a real etcd (Debian's etcd-server), started by the test:
// election of a new group, the leader lease, failover to the in-sync slave, and the cut point
// of the old master when it returns. Brokers are replaced by hooks here; the broker-level fault
// tests are tests/integration/failover_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "ramjet/base/clock.h"
#include "ramjet/controller/etcd_client.h"
#include "ramjet/controller/failover_controller.h"

namespace ramjet::controller {
namespace {

namespace fs = std::filesystem;

// etcd on 127.0.0.1 with ports of its own, in a temporary directory; killed at the end.
class EtcdServer {
 public:
  bool Start() {
    if (std::system("command -v etcd >/dev/null 2>&1") != 0) return false;
    dir_ = fs::temp_directory_path() / ("rj-etcd-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (int attempt = 0; attempt < 5; ++attempt) {
      const int port = 21000 + (getpid() * 7 + attempt * 101) % 20000;
      endpoint_ = "127.0.0.1:" + std::to_string(port);
      const std::string client = "http://" + endpoint_;
      const std::string peer = "http://127.0.0.1:" + std::to_string(port + 1);
      pid_ = fork();
      if (pid_ == 0) {
        const std::string log = (dir_ / "etcd.log").string();
        freopen(log.c_str(), "w", stderr);
        freopen(log.c_str(), "a", stdout);
        execlp("etcd", "etcd", "--data-dir", (dir_ / "data").c_str(), "--listen-client-urls",
               client.c_str(), "--advertise-client-urls", client.c_str(), "--listen-peer-urls",
               peer.c_str(), "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster",
               ("default=" + peer).c_str(), nullptr);
        _exit(127);
      }
      EtcdClient probe({endpoint_}, 500);
      for (int i = 0; i < 100; ++i) {
        if (probe.Get("probe").ok()) return true;
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) == pid_) break;  // port taken: try another
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      Stop();
    }
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~EtcdServer() {
    Stop();
    fs::remove_all(dir_);
  }
  const std::string& endpoint() const { return endpoint_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::string endpoint_;
  pid_t pid_ = -1;
};

struct Member {
  std::unique_ptr<FailoverController> c;
  std::atomic<int64_t> offset{0};
  std::promise<std::pair<int64_t, std::string>> restarted;
  std::mutex mu;  // replicas: set by the test, read by the controller's thread
  std::vector<ReplicaView> replicas;
  void SetReplicas(std::vector<ReplicaView> r) {
    std::lock_guard<std::mutex> l(mu);
    replicas = std::move(r);
  }
};

class ControllerLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_.Start()) {
      if (std::getenv("CI") != nullptr) FAIL() << "etcd could not be started (etcd-server)";
      GTEST_SKIP() << "etcd is not installed";
    }
  }
  ControllerOptions Options(int64_t id, int64_t lease) {
    ControllerOptions o;
    o.etcd_endpoints = {etcd_.endpoint()};
    o.cluster = "c";
    o.broker_name = "g";
    o.member_id = id;
    o.addr = "127.0.0.1:" + std::to_string(10000 + id);
    o.ha_addr = "127.0.0.1:" + std::to_string(20000 + id);
    o.lease_ttl_s = 2;
    o.round_ms = 100;
    o.inherited_lease = lease;
    o.epoch_file = (etcd_.dir() / ("epoch-" + std::to_string(id))).string();
    return o;
  }
  // A new incarnation of member m (the broker's restart): joins and starts.
  JoinDecision Boot(Member* m, int64_t id, int64_t lease) {
    m->c = std::make_unique<FailoverController>(Options(id, lease));
    auto d = m->c->Join();
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    m->restarted = {};
    FailoverController::Hooks h;
    h.max_offset = [m] { return m->offset.load(); };
    h.replicas = [m] {
      std::lock_guard<std::mutex> l(m->mu);
      return m->replicas;
    };
    h.restart = [m](int64_t l, const std::string& why) { m->restarted.set_value({l, why}); };
    EXPECT_TRUE(m->c->Start(h).ok());
    return d.ok() ? *d : JoinDecision{};
  }
  static std::pair<int64_t, std::string> AwaitRestart(Member* m, int seconds) {
    auto f = m->restarted.get_future();
    if (f.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) return {0, ""};
    return f.get();
  }

  EtcdServer etcd_;
};

TEST_F(ControllerLiveTest, ElectsFailsOverAndCutsTheOldMastersTail) {
  Member a, b;
  a.offset = 100;
  b.offset = 50;
  // A new group: both are candidates; the longer log wins term 1.
  EXPECT_FALSE(Boot(&a, 1, 0).master);
  EXPECT_FALSE(Boot(&b, 2, 0).master);
  auto [lease_a, why_a] = AwaitRestart(&a, 10);
  EXPECT_NE(why_a.find("elected master of term 1"), std::string::npos) << why_a;
  auto [lease_b, why_b] = AwaitRestart(&b, 10);
  EXPECT_NE(why_b.find("member 1 is master of term 1"), std::string::npos) << why_b;
  a.c.reset();
  b.c.reset();

  // After their restarts: a is master, b follows it and keeps its log (term 1 starts at 100).
  JoinDecision da = Boot(&a, 1, lease_a);
  EXPECT_TRUE(da.master);
  EXPECT_EQ(da.epoch, 1);
  b.offset = 100;
  JoinDecision db = Boot(&b, 2, lease_b);
  EXPECT_FALSE(db.master);
  EXPECT_EQ(db.master_addr, "127.0.0.1:10001");
  EXPECT_EQ(db.truncate_to, 100);  // b's log agrees with no term yet: cut at term 1's start
  EXPECT_TRUE(a.c->Writable());
  EXPECT_FALSE(b.c->Writable());
  // b catches up: the master puts it in the sync-state set.
  a.offset = 300;
  b.offset = 300;
  const int64_t now = NowMillis();
  a.SetReplicas({{"127.0.0.1:40000", 300, now + 60000, now}});
  for (int i = 0; i < 50 && a.c->Info().sync_state_set->members.size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(a.c->Info().sync_state_set->members, (std::vector<int64_t>{1, 2}));

  // The master dies with an unreplicated tail (offset 340): b is elected after the lease ends.
  a.offset = 340;
  auto* dead = a.c.release();  // no clean stop: the lease is left to expire
  dead->Stop(/*leave=*/false);
  const int64_t killed = MonoMillis();
  EXPECT_TRUE(dead->Writable());
  auto [lease_b2, why_b2] = AwaitRestart(&b, 10);
  const int64_t elected_after = MonoMillis() - killed;
  EXPECT_NE(why_b2.find("elected master of term 2"), std::string::npos) << why_b2;
  EXPECT_LT(elected_after, 5000);
  EXPECT_FALSE(dead->Writable());  // fenced before anyone else could win
  std::printf("failover: term 2 elected %lld ms after the master stopped\n",
              static_cast<long long>(elected_after));
  b.c.reset();
  EXPECT_TRUE(Boot(&b, 2, lease_b2).master);

  // The old master returns: it follows b and cuts its tail at term 2's start (300).
  delete dead;
  JoinDecision back = Boot(&a, 1, 0);
  EXPECT_FALSE(back.master);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.master_addr, "127.0.0.1:10002");
  EXPECT_EQ(back.truncate_to, 300);
}

TEST_F(ControllerLiveTest, ElectMasterHandsOverToTheChosenMember) {
  Member a, b;
  a.offset = 10;
  Boot(&a, 1, 0);
  Boot(&b, 2, 0);
  auto la = AwaitRestart(&a, 10).first;
  auto lb = AwaitRestart(&b, 10).first;
  a.c.reset();
  b.c.reset();
  ASSERT_TRUE(Boot(&a, 1, la).master);
  b.offset = 10;
  ASSERT_FALSE(Boot(&b, 2, lb).master);
  const int64_t now = NowMillis();
  a.SetReplicas({{"127.0.0.1:40000", 10, now + 60000, now}});
  for (int i = 0; i < 50 && a.c->Info().sync_state_set->members.size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(b.c->RequestElect(3).ok());  // not in the set
  ASSERT_TRUE(b.c->RequestElect(2).ok());
  auto [l1, why1] = AwaitRestart(&a, 10);
  EXPECT_NE(why1.find("handed over to member 2"), std::string::npos) << why1;
  a.c.reset();
  EXPECT_FALSE(Boot(&a, 1, l1).master);  // steps down and stays out of the election
  auto [l2, why2] = AwaitRestart(&b, 10);
  EXPECT_NE(why2.find("elected master of term 2"), std::string::npos) << why2;
}

}  // namespace
}  // namespace ramjet::controller
