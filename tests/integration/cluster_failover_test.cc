// Fault test 4: a cluster of two broker groups (broker-a, broker-b; each a SYNC_MASTER with a
// slave) behind two name servers, every process on a host of its own (network namespaces;
// 127.0.0.x when they cannot be made). One name server and group a's master are killed under
// load: the producer goes on with group b (after asking the other name server), and a consumer
// started afterwards drains every acknowledged message of both groups, group a's from its slave.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker_calls.h"
#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/client/producer.h"
#include "ramjet/client/push_consumer.h"
#include "test_hosts.h"

namespace ramjet {
namespace {

namespace fs = std::filesystem;

TEST(ClusterFailoverTest, ANameServerAndAGroupDieProducersAndConsumersGoOn) {
  // Hosts: 0, 1 name servers; 2, 3 broker-a master and slave; 4, 5 broker-b master and slave.
  testing::TestHosts hosts(6);
  std::printf("hosts: %s\n", hosts.mode().c_str());
  const fs::path dir = fs::temp_directory_path() / ("ramjet-cluster-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(NowMillis()));
  fs::create_directories(dir);
  std::map<int, testing::Process> procs;
  std::map<int, int> ports;
  std::string ns_list;
  for (int h = 0; h < 2; ++h) {
    ports[h] = testing::PickPort();
    procs[h] = testing::Process::Start(
        hosts.On(h, {RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ports[h]),
                     "--kvConfigPath=" + (dir / ("kv" + std::to_string(h))).string()}),
        (dir / ("ns" + std::to_string(h) + ".log")).string());
    ns_list += (h ? ";" : "") + hosts.ip(h) + ":" + std::to_string(ports[h]);
  }
  auto addr = [&](int h) { return hosts.ip(h) + ":" + std::to_string(ports[h]); };
  for (int h = 2; h < 6; ++h) {
    ports[h] = testing::PickPort();
    const bool master = h % 2 == 0;
    procs[h] = testing::Process::Start(
        hosts.On(h, {RAMJET_BROKER_BIN, "--namesrvAddr=" + ns_list,
                     "--listenPort=" + std::to_string(ports[h]),
                     "--haListenPort=" + std::to_string(ports[h] + 1), "--brokerIP1=" + hosts.ip(h),
                     "--storePathRootDir=" + (dir / ("store" + std::to_string(h))).string(),
                     std::string("--brokerName=broker-") + (h < 4 ? "a" : "b"),
                     std::string("--brokerRole=") + (master ? "SYNC_MASTER" : "SLAVE"),
                     std::string("--brokerId=") + (master ? "0" : "1"), "--syncFlushTimeout=2000",
                     "--mappedFileSizeCommitLog=8388608"}),
        (dir / ("broker" + std::to_string(h) + ".log")).string());
  }
  // The topic on both groups (through the admin tool), and both groups with both members in
  // the route of each name server.
  testing::BrokerCalls calls;
  bool ready = false;
  std::string admin_out;
  for (const int64_t end = NowMillis() + 60000; !ready && NowMillis() < end;) {
    const std::string cmd = std::string(RAMJET_ADMIN_BIN) +
                            " updateTopic -t Fo4 -c DefaultCluster -r 4 -w 4 -n '" + ns_list +
                            "' 2>&1";
    admin_out.clear();
    int rc = -1;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof(buf), p)) > 0) admin_out.append(buf, n);
      rc = pclose(p);
    }
    if (rc == 0) {
      ready = true;
      for (int h = 0; h < 2 && ready; ++h) {
        auto r =
            calls.Call(addr(h), protocol::request_code::kGetRouteinfoByTopic, {{"topic", "Fo4"}});
        auto route = r.ok() ? protocol::TopicRouteData::Parse(r->body)
                            : Result<protocol::TopicRouteData>(r.status());
        ready = route.ok() && route->broker_datas.size() == 2 && route->queue_datas.size() == 2;
        for (const auto& b : ready ? route->broker_datas : std::vector<protocol::BrokerData>{})
          ready = ready && b.broker_addrs.size() == 2;
      }
    }
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(ready) << "the cluster did not come up; the admin said: " << admin_out;

  client::ClientConfig pc;
  pc.namesrv_addr = ns_list;
  pc.instance_name = "cluster-p";
  pc.poll_name_server_interval_ms = 1000;
  client::Producer producer("FO4_PG", pc);
  ASSERT_TRUE(producer.Start().ok());
  std::map<std::string, std::string> acked;  // body -> broker name
  int next = 0;
  auto send_until = [&](size_t total, int64_t deadline, int* failures, int64_t* first_ok) {
    while (acked.size() < total && NowMillis() < deadline) {
      client::Message m;
      m.topic = "Fo4";
      m.body = "fo4-" + std::to_string(next++);
      auto r = producer.Send(m);
      if (r.ok() && r->status == client::SendStatus::kSendOk) {
        acked[m.body] = r->queue.broker_name;
        if (*first_ok == 0) *first_ok = NowMillis();
      } else {
        ++*failures;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  };
  int failures1 = 0, failures2 = 0;
  int64_t ignored = 0, first_after = 0;
  send_until(400, NowMillis() + 30000, &failures1, &ignored);
  ASSERT_EQ(acked.size(), 400u);
  std::map<std::string, int> before;
  for (const auto& [body, group] : acked) ++before[group];
  ASSERT_GT(before["broker-a"], 0);
  ASSERT_GT(before["broker-b"], 0);

  // A consumer group running when the failure comes (as in RocketMQ, a group that never read a
  // queue cannot start on it without its master: the starting offset is kept there). It reads
  // slowly, so most of broker-a's messages are still to be read when its master dies.
  client::ConsumerConfig cc;
  cc.namesrv_addr = ns_list;
  cc.instance_name = "cluster-c";
  cc.consume_from_where = client::ConsumeFromWhere::kFirstOffset;
  cc.rebalance_interval_ms = 500;
  cc.poll_name_server_interval_ms = 500;
  cc.heartbeat_interval_ms = 500;
  cc.pull_batch_size = 4;
  cc.pull_threshold_for_queue = 4;
  std::mutex mu;
  std::set<std::string> got;
  std::atomic<bool> killed_flag{false};
  std::atomic<int> a_after_kill{0};
  client::PushConsumer consumer("FO4_CG", cc);
  ASSERT_TRUE(consumer.Subscribe("Fo4", "*").ok());
  consumer.RegisterListener([&](const client::MessageExt& m) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard<std::mutex> l(mu);
    auto it = acked.find(m.body);  // broker-a's were all sent before the kill
    if (got.insert(m.body).second && killed_flag.load() && it != acked.end() &&
        it->second == "broker-a")
      ++a_after_kill;
    return client::ConsumeStatus::kSuccess;
  });
  const int64_t consume_start = NowMillis();
  ASSERT_TRUE(consumer.Start().ok());
  auto consumed = [&] {
    std::lock_guard<std::mutex> l(mu);
    return got.size();
  };
  for (const int64_t end = NowMillis() + 20000; consumed() < 20 && NowMillis() < end;)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(consumed(), 20u);

  procs[0].Kill();  // the first name server
  procs[2].Kill();  // broker-a's master
  const int64_t killed = NowMillis();
  killed_flag.store(true);
  std::thread producing([&] {
    int failures = 0;
    int64_t first = 0;
    while (NowMillis() < killed + 40000) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (acked.size() >= 800) break;
      }
      client::Message m;
      m.topic = "Fo4";
      m.body = "fo4-" + std::to_string(next++);
      auto r = producer.Send(m);
      std::lock_guard<std::mutex> l(mu);
      if (r.ok() && r->status == client::SendStatus::kSendOk) {
        acked[m.body] = r->queue.broker_name;
        if (first == 0) first = NowMillis();
      } else {
        ++failures;
      }
    }
    failures2 = failures;
    first_after = first;
  });
  producing.join();
  producer.Shutdown();
  int after_on_a = -before["broker-a"];
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(acked.size(), 800u) << "the producer did not go on";
    for (const auto& [body, group] : acked) after_on_a += group == "broker-a";
  }
  EXPECT_EQ(after_on_a, 0);

  auto missing = [&] {
    std::lock_guard<std::mutex> l(mu);
    size_t n = 0;
    for (const auto& [body, group] : acked) n += got.count(body) == 0;
    return n;
  };
  for (const int64_t end = NowMillis() + 60000; missing() > 0 && NowMillis() < end;)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t drained_ms = NowMillis() - consume_start;
  consumer.Shutdown();
  EXPECT_EQ(missing(), 0u);
  EXPECT_GT(a_after_kill.load(), 0) << "nothing of broker-a was read from its slave";
  std::printf(
      "fault test 4: 400 acknowledged before (broker-a %d, broker-b %d); after killing name "
      "server 1 and broker-a's master: first acknowledged send after %lld ms, 400 more "
      "acknowledged (%d on broker-a), %d sends failed; the consumer group got %zu of %zu in %lld "
      "ms, %d of broker-a's from its slave after the kill\n",
      before["broker-a"], before["broker-b"], static_cast<long long>(first_after - killed),
      after_on_a, failures2, acked.size() - missing(), acked.size(),
      static_cast<long long>(drained_ms), a_after_kill.load());
  for (auto& [h, p] : procs) p.Kill();
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace ramjet
