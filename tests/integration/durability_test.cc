// Acknowledged means stored: pipelined asynchronous sends (64 in flight, so the broker answers
// many per read round and writes their records together at the round's end) are cut by a SIGKILL
// of the broker; after a restart every acknowledged message is in its queue at its offset. Under
// SYNC_FLUSH too, where a round's records are written together and acknowledged by the group
// commit that follows.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client_fixture.h"

namespace ramjet {
namespace {

using namespace itest;  // NOLINT(google-build-using-namespace): the shared fixtures

class DurabilityTest : public ClientTest {
 protected:
  std::vector<std::string> BrokerArgs(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {RAMJET_BROKER_BIN,
                                     "--namesrvAddr=127.0.0.1:" + std::to_string(ns_port_),
                                     "--listenPort=" + std::to_string(broker_port_),
                                     "--brokerIP1=127.0.0.1",
                                     "--storePathRootDir=" + (dir_ / "store").string(),
                                     "--brokerName=broker-ct"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // Sends with 64 in flight until 3,000 are acknowledged, SIGKILLs the broker, restarts it with
  // `extra` and checks every acknowledged message is in its queue at its offset.
  void SendKillAndCheck(const std::vector<std::string>& extra);
};

TEST_F(DurabilityTest, EveryAcknowledgedPipelinedSendSurvivesASigkill) { SendKillAndCheck({}); }

TEST_F(DurabilityTest, EveryAcknowledgedSyncFlushSendSurvivesASigkill) {
  broker_.Kill();
  broker_ = testing::Process::Start(BrokerArgs({"--flushDiskType=SYNC_FLUSH"}),
                                    (dir_ / "broker-sync.log").string());
  ASSERT_TRUE(testing::WaitForPort(broker_port_, 20000));
  bool registered = false;  // the name server dropped the killed broker's routes
  for (int i = 0; i < 200 && !registered; ++i) {
    RemotingCommand r = RemotingCommand::Request(req::kGetRouteinfoByTopic);
    r.Set("topic", "TBW102");
    auto resp = raw_->InvokeSync(config_.namesrv_addr, r, 2000);
    registered = resp.ok() && resp->code == rc::kSuccess;
    if (!registered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(registered);
  SendKillAndCheck({"--flushDiskType=SYNC_FLUSH"});
}

void DurabilityTest::SendKillAndCheck(const std::vector<std::string>& extra) {
  Producer p("PG_KILL", config_);
  ASSERT_TRUE(p.Start().ok());
  auto warm = p.Send(Message("KillTopic", "T", "warm"));  // creates the topic
  ASSERT_TRUE(warm.ok()) << warm.status().ToString();

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  // (queue id, queue offset) -> body of every acknowledged send.
  std::map<std::pair<int32_t, int64_t>, std::string> acked;
  std::atomic<bool> killed{false};
  const int64_t deadline = NowMillis() + 30000;
  for (int i = 0; !killed && NowMillis() < deadline && i < 200000; ++i) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return in_flight < 64; });
      ++in_flight;
    }
    std::string body = "k-" + std::to_string(i) + std::string(200, 'x');
    p.SendAsync(Message("KillTopic", "T", body), [&, body](Result<client::SendResult> r) {
      std::lock_guard<std::mutex> l(mu);
      if (r.ok() && r->status == client::SendStatus::kSendOk) {
        acked[{r->queue.queue_id, r->queue_offset}] = body;
      }
      --in_flight;
      cv.notify_all();
    });
    bool kill_now = false;
    {
      std::lock_guard<std::mutex> l(mu);
      kill_now = acked.size() >= 3000;
    }
    if (kill_now) {
      broker_.Kill();  // SIGKILL with sends in flight
      killed = true;
    }
  }
  ASSERT_TRUE(killed.load()) << "too few acknowledgements to test";
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(20), [&] { return in_flight == 0; }));
  }
  p.Shutdown();

  broker_ = testing::Process::Start(BrokerArgs(extra), (dir_ / "broker-restarted.log").string());
  ASSERT_TRUE(testing::WaitForPort(broker_port_, 20000));
  std::map<std::pair<int32_t, int64_t>, std::string> stored;
  for (int q = 0; q < 8; ++q) {
    for (auto& m : ReadQueue("KillTopic", q, 0)) stored[{q, m.queue_offset}] = m.body;
  }
  size_t missing = 0;
  for (const auto& [where, body] : acked) {
    auto it = stored.find(where);
    if (it == stored.end() || it->second != body) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged sends";
  EXPECT_GE(stored.size(), acked.size());
}

}  // namespace
}  // namespace ramjet
