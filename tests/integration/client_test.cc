// The C++ client library against the real ramjet-namesrv / ramjet-broker programs: producers
// (sync, async, one-way, ordered, batch, transactional) and push consumers (clustering,
// broadcasting, delay, retry).
#include "client_fixture.h"

namespace ramjet {
namespace {

using namespace itest;  // NOLINT(google-build-using-namespace): the shared fixtures

TEST_F(ClientTest, ProducerSendsSyncAsyncOnewayOrderedAndBatch) {
  Producer p("PG_CT", config_);
  ASSERT_TRUE(p.Start().ok());
  // A topic that does not exist yet is created through TBW102 on first send.
  Message m("CtTopic", "TagA", "hello");
  m.keys = {"k1", "k2"};
  m.properties["color"] = "blue";
  auto r = p.Send(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, client::SendStatus::kSendOk);
  EXPECT_EQ(r->msg_id.size(), 32u);
  EXPECT_EQ(r->offset_msg_id.size(), 32u);
  auto got = ReadQueue("CtTopic", r->queue.queue_id, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "hello");
  EXPECT_EQ(got[0].tags(), "TagA");
  EXPECT_EQ(got[0].keys(), "k1 k2");
  EXPECT_EQ(got[0].Property("color"), "blue");
  EXPECT_EQ(got[0].msg_id, r->msg_id) << "UNIQ_KEY travels with the message";
  EXPECT_EQ(got[0].offset_msg_id, r->offset_msg_id);
  // A large body is compressed on the wire and restored on read.
  Message big("CtTopic", "TagB", std::string(100000, 'z'));
  auto rb = p.Send(big, client::MessageQueue{"CtTopic", r->queue.broker_name, 0});
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  auto q0 = ReadQueue("CtTopic", 0, 0 + (r->queue.queue_id == 0 ? 2 : 1));
  EXPECT_EQ(q0.back().body.size(), 100000u);
  // Ordered by sharding key: one queue per key.
  std::map<std::string, std::set<int>> queues_of;
  for (int i = 0; i < 40; ++i) {
    std::string key = "order-" + std::to_string(i % 4);
    auto ro = p.Send(Message("CtTopic", "O", "o" + std::to_string(i)), client::SelectByKey(key));
    ASSERT_TRUE(ro.ok());
    queues_of[key].insert(ro->queue.queue_id);
  }
  for (const auto& [k, qs] : queues_of) EXPECT_EQ(qs.size(), 1u) << k;
  // Async and oneway.
  std::promise<Result<client::SendResult>> done;
  p.SendAsync(Message("CtTopic", "A", "async"),
              [&](Result<client::SendResult> res) { done.set_value(std::move(res)); });
  auto ra = done.get_future().get();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  EXPECT_TRUE(p.SendOneway(Message("CtTopic", "W", "oneway")).ok());
  // A failing async send (retried, then) reports the broker's error: the broker is made
  // read-only at runtime; once writable again async sends succeed.
  auto set_perm = [&](const char* perm) {
    RemotingCommand u = RemotingCommand::Request(req::kUpdateBrokerConfig);
    u.body = std::string("brokerPermission=") + perm + "\n";
    auto ur = raw_->InvokeSync(BrokerAddr(), u, 5000);
    ASSERT_TRUE(ur.ok());
    ASSERT_EQ(ur->code, rc::kSuccess);
  };
  set_perm("4");
  std::promise<Result<client::SendResult>> refused;
  p.SendAsync(Message("CtTopic", "A", "refused"),
              [&](Result<client::SendResult> res) { refused.set_value(std::move(res)); });
  auto rr = refused.get_future().get();
  EXPECT_FALSE(rr.ok());
  EXPECT_NE(rr.status().ToString().find("forbidden"), std::string::npos) << rr.status().ToString();
  set_perm("6");
  // The broker re-registers with the name server in the background; new topics (CtBatch below)
  // are created through TBW102's route, so wait until it is writable again.
  for (int i = 0; i < 200; ++i) {
    RemotingCommand q = RemotingCommand::Request(req::kGetRouteinfoByTopic);
    q.Set("topic", "TBW102");
    auto rr2 = raw_->InvokeSync(config_.namesrv_addr, q, 2000);
    if (rr2.ok() && rr2->code == rc::kSuccess && rr2->body.find("\"perm\":7") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::promise<Result<client::SendResult>> again;
  p.SendAsync(Message("CtTopic", "A", "accepted"),
              [&](Result<client::SendResult> res) { again.set_value(std::move(res)); });
  auto rg = again.get_future().get();
  EXPECT_TRUE(rg.ok()) << rg.status().ToString();
  // Batch: one request, every message its own record and id.
  std::vector<Message> batch;
  for (int i = 0; i < 10; ++i) batch.emplace_back("CtBatch", "B", "b" + std::to_string(i));
  auto rbatch = p.SendBatch(batch);
  ASSERT_TRUE(rbatch.ok()) << rbatch.status().ToString();
  EXPECT_EQ(std::count(rbatch->msg_id.begin(), rbatch->msg_id.end(), ','), 9);
  auto bq = ReadQueue("CtBatch", rbatch->queue.queue_id, 10);
  ASSERT_EQ(bq.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bq[i].body, "b" + std::to_string(i));
  // Validation happens before anything is sent.
  Message bad("bad topic!", "", "x");
  EXPECT_EQ(p.Send(bad).status().code(), StatusCode::kInvalidArgument);
  Message reserved("CtTopic", "", "x");
  reserved.properties["UNIQ_KEY"] = "mine";
  EXPECT_EQ(p.Send(reserved).status().code(), StatusCode::kInvalidArgument);
  p.Shutdown();
}

TEST_F(ClientTest, TransactionalProducerCommitsRollsBackAndAnswersChecks) {
  Producer p("TX_CT", config_);
  std::atomic<int> checks{0};
  p.SetTransactionCheckListener([&](const client::MessageExt& m) {
    checks.fetch_add(1);
    return m.body == "later-commit" ? client::LocalTransactionState::kCommit
                                    : client::LocalTransactionState::kRollback;
  });
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Send(Message("TxCt", "x", "warm-up")).ok());  // creates the topic
  auto queues = p.FetchPublishQueues("TxCt");
  ASSERT_TRUE(queues.ok());
  using client::LocalTransactionState;
  for (const char* body : {"commit", "rollback", "later-commit"}) {
    Message m("TxCt", "T", body);
    auto r = p.SendInTransaction(m, [](const Message& msg, const client::SendResult&) {
      std::string b = msg.body;
      if (b == "commit") return LocalTransactionState::kCommit;
      if (b == "rollback") return LocalTransactionState::kRollback;
      return LocalTransactionState::kUnknown;  // the broker will ask
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::map<std::string, int> seen;
  auto end = NowMillis() + 10000;
  while (NowMillis() < end && !seen.count("later-commit")) {
    seen.clear();
    for (const auto& q : *queues) {
      for (const auto& m : ReadQueue("TxCt", q.queue_id, 0, 300)) seen[m.body]++;
    }
  }
  EXPECT_EQ(seen["commit"], 1);
  EXPECT_EQ(seen["rollback"], 0);
  EXPECT_EQ(seen["later-commit"], 1);
  EXPECT_GE(checks.load(), 1);
  p.Shutdown();
}

TEST_F(ConsumerTest, ClusteringRebalanceWithThreeConsumersJoiningAndLeaving) {
  CreateTopic("RbTopic", 16);
  Producer p("PG_RB", config_);
  ASSERT_TRUE(p.Start().ok());
  std::mutex mu;
  std::map<std::string, int> received;  // body -> times
  auto listener = [&](const client::MessageExt& m) {
    std::lock_guard<std::mutex> l(mu);
    received[m.body]++;
    return client::ConsumeStatus::kSuccess;
  };
  std::vector<std::unique_ptr<PushConsumer>> cs;
  auto add = [&](const std::string& name) {
    cs.push_back(std::make_unique<PushConsumer>("CG_RB", Cc(name)));
    ASSERT_TRUE(cs.back()->Subscribe("RbTopic", "*").ok());
    cs.back()->RegisterListener(listener);
    ASSERT_TRUE(cs.back()->Start().ok());
  };
  // Ownership check: live consumers' assignments never overlap once settled, and cover all.
  // Settled also means every consumer holds its average share: a consumer in the middle of a
  // rebalance (old queues dropped, new ones not yet added) can make a transient cover.
  auto settled = [&](size_t live) {
    for (int i = 0; i < 100; ++i) {
      std::set<client::MessageQueue> all;
      size_t total = 0;
      bool fair = true;
      for (size_t k = 0; k < live; ++k) {
        size_t mine = 0;
        for (const auto& mq : cs[cs.size() - live + k]->Assigned()) {
          if (mq.topic != "RbTopic") continue;
          all.insert(mq);
          ++total;
          ++mine;
        }
        fair = fair && mine >= 16 / live && mine <= (16 + live - 1) / live;
      }
      if (all.size() == 16 && total == 16 && fair) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  int sent = 0;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      ASSERT_TRUE(p.Send(Message("RbTopic", "T", "m" + std::to_string(sent))).ok());
    }
  };
  add("c1");
  ASSERT_TRUE(settled(1)) << "one consumer owns all 16 queues";
  send(500);
  add("c2");
  add("c3");
  ASSERT_TRUE(settled(3)) << "16 queues split over 3 consumers without overlap";
  for (const auto& c : cs) {
    size_t n = 0;
    for (const auto& mq : c->Assigned()) n += mq.topic == "RbTopic";
    EXPECT_GE(n, 5u);
    EXPECT_LE(n, 6u);
  }
  send(500);
  cs.front()->Shutdown();  // c1 leaves
  cs.erase(cs.begin());
  ASSERT_TRUE(settled(2)) << "the leaver's queues are taken over";
  send(500);
  auto end = NowMillis() + 20000;
  while (NowMillis() < end) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (static_cast<int>(received.size()) == sent) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(static_cast<int>(received.size()), sent) << "messages lost";
  int dups = 0;
  for (const auto& [b, n] : received) dups += n - 1;
  std::printf("REBALANCE sent=%d received=%zu redelivered=%d\n", sent, received.size(), dups);
  for (auto& c : cs) c->Shutdown();
  p.Shutdown();
}

TEST_F(ConsumerTest, BroadcastingGivesEveryConsumerEveryMessage) {
  CreateTopic("BcTopic", 4);
  Producer p("PG_BC", config_);
  ASSERT_TRUE(p.Start().ok());
  std::mutex mu;
  std::map<std::string, std::set<std::string>> got;  // consumer -> bodies
  std::vector<std::unique_ptr<PushConsumer>> cs;
  for (std::string name : {"bc1", "bc2"}) {
    ConsumerConfig cc = Cc(name);
    cc.model = client::MessageModel::kBroadcasting;
    cc.offset_store_dir = (dir_ / ("offsets-" + name)).string();
    cs.push_back(std::make_unique<PushConsumer>("CG_BC", cc));
    ASSERT_TRUE(cs.back()->Subscribe("BcTopic", "*").ok());
    cs.back()->RegisterListener([&, name](const client::MessageExt& m) {
      std::lock_guard<std::mutex> l(mu);
      got[name].insert(m.body);
      return client::ConsumeStatus::kSuccess;
    });
    ASSERT_TRUE(cs.back()->Start().ok());
  }
  // Broadcasting: each consumer takes every queue.
  for (int i = 0; i < 100; ++i) {
    bool all = true;
    for (auto& c : cs) all = all && c->Assigned().size() >= 4;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& c : cs) ASSERT_EQ(c->Assigned().size(), 4u);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(p.Send(Message("BcTopic", "T", "b" + std::to_string(i))).ok());
  }
  auto end = NowMillis() + 20000;
  while (NowMillis() < end) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (got["bc1"].size() == 200 && got["bc2"].size() == 200) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(got["bc1"].size(), 200u);
    EXPECT_EQ(got["bc2"].size(), 200u);
  }
  for (auto& c : cs) c->Shutdown();
  // Broadcasting offsets are kept by each client, not by the broker.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "offsets-bc1"));
  p.Shutdown();
}

TEST_F(ConsumerTest, DelayLevelSendArrivesOnlyAfterItsDelay) {
  CreateTopic("DlTopic", 1);
  Producer p("PG_DL", config_);
  ASSERT_TRUE(p.Start().ok());
  Message m("DlTopic", "T", "later");
  m.delay_level = 2;  // 5 s with the default messageDelayLevel
  const int64_t sent_at = NowMillis();
  auto r = p.Send(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(ReadQueue("DlTopic", 0, 0).empty()) << "visible before its delay";
  auto msgs = ReadQueue("DlTopic", 0, 1, 15000);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].body, "later");
  EXPECT_GE(msgs[0].store_timestamp - sent_at, 4900) << "delivered too early";
  EXPECT_LE(msgs[0].store_timestamp - sent_at, 7000) << "delivered too late";
  p.Shutdown();
}

TEST_F(ConsumerTest, ReconsumeLaterRetriesThroughTheBroker) {
  CreateTopic("RtTopic", 2);
  Producer p("PG_RT", config_);
  ASSERT_TRUE(p.Start().ok());
  std::mutex mu;
  std::map<std::string, std::vector<int>> attempts;
  PushConsumer c("CG_RT", Cc("rt"));
  ASSERT_TRUE(c.Subscribe("RtTopic", "*").ok());
  c.RegisterListener([&](const client::MessageExt& m) {
    std::lock_guard<std::mutex> l(mu);
    attempts[m.body].push_back(m.reconsume_times);
    EXPECT_EQ(m.topic, "RtTopic") << "retried messages carry their original topic";
    return m.reconsume_times == 0 ? client::ConsumeStatus::kReconsumeLater
                                  : client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(c.Start().ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(p.Send(Message("RtTopic", "T", "r" + std::to_string(i))).ok());
  // Level 3 = 10 s with the default delay levels.
  auto end = NowMillis() + 30000;
  while (NowMillis() < end) {
    {
      std::lock_guard<std::mutex> l(mu);
      int done = 0;
      for (const auto& [b, a] : attempts) done += a.size() >= 2;
      if (done == 10) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(attempts.size(), 10u);
  for (const auto& [b, a] : attempts) {
    ASSERT_GE(a.size(), 2u) << b;
    EXPECT_EQ(a[0], 0);
    EXPECT_EQ(a[1], 1);
  }
}

}  // namespace
}  // namespace ramjet
