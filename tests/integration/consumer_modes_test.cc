// The C++ client's orderly consumption, offset reset and lite pull consumer against the real
// programs.
#include "client_fixture.h"
#include "ramjet/client/lite_pull_consumer.h"

namespace ramjet {
namespace {

using namespace itest;  // NOLINT(google-build-using-namespace): the shared fixtures

TEST_F(ConsumerTest, OrderlyFourKeysThroughABrokerRestartAndAJoiningConsumer) {
  constexpr int kKeys = 4;
  constexpr int kPerKey = 10000;
  CreateTopic("OrdTopic", 8);
  auto producer = std::make_unique<Producer>("PG_ORD", config_);
  ASSERT_TRUE(producer->Start().ok());
  std::mutex mu;
  std::map<int, int> next_expected;   // key -> next first-seen sequence number
  std::map<int, std::set<int>> seen;  // key -> numbers seen
  int out_of_order = 0, redelivered = 0;
  std::map<int, std::set<std::string>> consumers_of_key;
  auto listener_for = [&](std::string name) {
    return [&, name](const client::MessageExt& m) {
      int key = std::atoi(m.body.c_str());
      int seq = std::atoi(m.body.c_str() + m.body.find(':') + 1);
      std::lock_guard<std::mutex> l(mu);
      consumers_of_key[key].insert(name);
      if (seen[key].count(seq)) {
        ++redelivered;  // a replay after a restart or a queue hand-over
      } else {
        if (seq != next_expected[key]) ++out_of_order;
        next_expected[key] = std::max(next_expected[key], seq + 1);
        seen[key].insert(seq);
      }
      return client::OrderlyStatus::kSuccess;
    };
  };
  auto c1 = std::make_unique<PushConsumer>("CG_ORD", Cc("o1"));
  ASSERT_TRUE(c1->Subscribe("OrdTopic", "*").ok());
  c1->RegisterOrderlyListener(listener_for("o1"));
  ASSERT_TRUE(c1->Start().ok());
  std::unique_ptr<PushConsumer> c2;
  int retries = 0;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      Message m("OrdTopic", "O", std::to_string(k) + ":" + std::to_string(i));
      // Same sequence number until it is stored: a failed send is retried, never skipped.
      for (;;) {
        auto r = producer->Send(m, client::SelectByKey("key-" + std::to_string(k)));
        if (r.ok()) break;
        ++retries;
        ASSERT_LT(retries, 2000) << r.status().ToString();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (i == kPerKey / 4) {
      c2 = std::make_unique<PushConsumer>("CG_ORD", Cc("o2"));  // joins mid-way
      ASSERT_TRUE(c2->Subscribe("OrdTopic", "*").ok());
      c2->RegisterOrderlyListener(listener_for("o2"));
      ASSERT_TRUE(c2->Start().ok());
    }
    if (i == kPerKey / 2) {
      ASSERT_EQ(broker_.Stop(), 0);  // clean restart in the middle
      broker_ = testing::Process::Start(
          {RAMJET_BROKER_BIN, "--namesrvAddr=" + config_.namesrv_addr,
           "--listenPort=" + std::to_string(broker_port_), "--brokerIP1=127.0.0.1",
           "--storePathRootDir=" + (dir_ / "store").string(), "--brokerName=broker-ct"},
          (dir_ / "broker2.log").string());
      ASSERT_TRUE(testing::WaitForPort(broker_port_, 20000));
    }
  }
  auto end = NowMillis() + 60000;
  while (NowMillis() < end) {
    {
      std::lock_guard<std::mutex> l(mu);
      size_t total = 0;
      for (const auto& [k, s] : seen) total += s.size();
      if (total == static_cast<size_t>(kKeys * kPerKey)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard<std::mutex> l(mu);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(seen[k].size(), static_cast<size_t>(kPerKey)) << "key " << k << " lost messages";
  }
  EXPECT_EQ(out_of_order, 0) << "a key's sequence was seen out of order";
  std::set<std::string> who;
  for (const auto& [k, names] : consumers_of_key) who.insert(names.begin(), names.end());
  EXPECT_TRUE(who.count("o2")) << "the consumer that joined mid-way took over queues";
  std::printf("ORDER keys=%d x %d, send retries across the restart=%d, redelivered=%d\n", kKeys,
              kPerKey, retries, redelivered);
  c1->Shutdown();
  c2->Shutdown();
  producer->Shutdown();
}

TEST_F(ConsumerTest, ResetOffsetByTimeReplaysFromThere) {
  CreateTopic("RpTopic", 2);
  Producer p("PG_RP", config_);
  ASSERT_TRUE(p.Start().ok());
  std::mutex mu;
  std::vector<std::string> got;
  PushConsumer c("CG_RP", Cc("rp"));
  ASSERT_TRUE(c.Subscribe("RpTopic", "*").ok());
  c.RegisterListener([&](const client::MessageExt& m) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(m.body);
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(c.Start().ok());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(p.Send(Message("RpTopic", "T", "a" + std::to_string(i))).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int64_t middle = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(p.Send(Message("RpTopic", "T", "b" + std::to_string(i))).ok());
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (got.size() >= n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(wait_for(40));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // offsets committed
  {
    std::lock_guard<std::mutex> l(mu);
    got.clear();
  }
  RemotingCommand r = RemotingCommand::Request(222);
  r.Set("topic", "RpTopic");
  r.Set("group", "CG_RP");
  r.Set("timestamp", middle);
  r.Set("isForce", "true");
  auto resp = raw_->InvokeSync(BrokerAddr(), r, 5000);
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp->code, rc::kSuccess);
  ASSERT_TRUE(wait_for(20)) << "the live consumer replays from the reset point";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::lock_guard<std::mutex> l(mu);
  std::set<std::string> replayed(got.begin(), got.end());
  EXPECT_EQ(replayed.size(), 20u);
  for (const auto& b : replayed) EXPECT_EQ(b[0], 'b') << b << " is from before the reset time";
}

TEST_F(ConsumerTest, LitePullAssignSeekCommitAndSubscribe) {
  CreateTopic("LpTopic2", 4);
  Producer p("PG_LP", config_);
  ASSERT_TRUE(p.Start().ok());
  client::MessageQueue q0;
  for (int i = 0; i < 20; ++i) {
    auto r = p.Send(Message("LpTopic2", i % 2 ? "B" : "A", "l" + std::to_string(i)),
                    client::MessageQueue{"LpTopic2", "broker-ct", 0});
    ASSERT_TRUE(r.ok());
    q0 = r->queue;
  }
  client::LitePullConsumer c("CG_LP", Cc("lp"), /*auto_commit=*/false);
  ASSERT_TRUE(c.Start().ok());
  auto qs = c.FetchMessageQueues("LpTopic2");
  ASSERT_TRUE(qs.ok());
  EXPECT_EQ(qs->size(), 4u);
  c.Assign({q0});
  ASSERT_TRUE(c.SeekToBegin(q0).ok());
  std::vector<std::string> got;
  auto end = NowMillis() + 5000;
  while (got.size() < 20 && NowMillis() < end) {
    for (auto& m : c.Poll(500)) got.push_back(m.body);
  }
  ASSERT_EQ(got.size(), 20u);
  EXPECT_EQ(got.front(), "l0");
  EXPECT_EQ(got.back(), "l19");
  EXPECT_TRUE(c.Poll(200).empty()) << "nothing new";
  // Seek back and read again from offset 15.
  ASSERT_TRUE(c.Seek(q0, 15).ok());
  auto again = c.Poll(1000);
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].body, "l15");
  EXPECT_EQ(c.Seek(q0, 999).code(), StatusCode::kOutOfRange);
  // Commit: the broker keeps the position.
  ASSERT_TRUE(c.CommitSync().ok());
  auto committed = c.Committed(q0);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, 20);
  // A tag expression filters.
  c.Assign({q0}, "B");
  ASSERT_TRUE(c.SeekToBegin(q0).ok());
  auto tagged = c.Poll(1000);
  ASSERT_EQ(tagged.size(), 10u);
  for (const auto& m : tagged) EXPECT_EQ(m.tags(), "B");
  c.Shutdown();
  // Subscribe: two members of a group split the 4 queues.
  client::LitePullConsumer a("CG_LP2", Cc("la")), b("CG_LP2", Cc("lb"));
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(a.Subscribe("LpTopic2").ok());
  ASSERT_TRUE(b.Subscribe("LpTopic2").ok());
  ASSERT_TRUE(a.Subscribe("LpTopic2").ok());  // re-balance now that both are registered
  auto qa = a.Assignment(), qb = b.Assignment();
  EXPECT_EQ(qa.size(), 2u);
  EXPECT_EQ(qb.size(), 2u);
  std::set<client::MessageQueue> all(qa.begin(), qa.end());
  all.insert(qb.begin(), qb.end());
  EXPECT_EQ(all.size(), 4u) << "no queue owned twice";
  a.Shutdown();
  b.Shutdown();
  p.Shutdown();
}

}  // namespace
}  // namespace ramjet
