// The C++ client library against the real ramjet-namesrv / ramjet-broker programs.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/client/producer.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {
namespace {

using client::Message;
using client::Producer;
using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ramjet-ct-" + std::to_string(::getpid()) + "-" + std::to_string(NowMillis()));
    std::filesystem::create_directories(dir_);
    ns_port_ = testing::PickPort();
    broker_port_ = testing::PickPort();
    ns_ = testing::Process::Start({RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port_),
                                   "--kvConfigPath=" + (dir_ / "kv.json").string()},
                                  (dir_ / "ns.log").string());
    ASSERT_TRUE(testing::WaitForPort(ns_port_, 10000));
    broker_ = testing::Process::Start(
        {RAMJET_BROKER_BIN, "--namesrvAddr=127.0.0.1:" + std::to_string(ns_port_),
         "--listenPort=" + std::to_string(broker_port_), "--brokerIP1=127.0.0.1",
         "--storePathRootDir=" + (dir_ / "store").string(), "--brokerName=broker-ct",
         "--transactionCheckInterval=300", "--transactionTimeOut=300"},
        (dir_ / "broker.log").string());
    ASSERT_TRUE(testing::WaitForPort(broker_port_, 20000));
    remoting::EndpointOptions o;
    raw_ = std::make_unique<remoting::RemotingClient>(o);
    config_.namesrv_addr = "127.0.0.1:" + std::to_string(ns_port_);
    // Wait until the broker registered (TBW102 routes exist).
    for (int i = 0; i < 200; ++i) {
      RemotingCommand r = RemotingCommand::Request(req::kGetRouteinfoByTopic);
      r.Set("topic", "TBW102");
      auto resp = raw_->InvokeSync(config_.namesrv_addr, r, 2000);
      if (resp.ok() && resp->code == rc::kSuccess) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void TearDown() override {
    raw_->Shutdown();
    broker_.Kill();
    ns_.Kill();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string BrokerAddr() const { return "127.0.0.1:" + std::to_string(broker_port_); }

  // Reads a whole queue through raw PULL requests.
  std::vector<client::MessageExt> ReadQueue(const std::string& topic, int qid, size_t want,
                                            int timeout_ms = 10000) {
    std::vector<client::MessageExt> out;
    int64_t off = 0;
    auto end = NowMillis() + timeout_ms;
    // want == 0: read what is there now (until the queue reports no new message).
    while ((want == 0 || out.size() < want) && NowMillis() < end) {
      RemotingCommand p = RemotingCommand::Request(req::kPullMessage);
      for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
               {"consumerGroup", "CT"}, {"topic", topic}, {"queueId", std::to_string(qid)},
               {"queueOffset", std::to_string(off)}, {"maxMsgNums", "32"}, {"sysFlag", want == 0 ? "4" : "6"},
               {"commitOffset", "0"}, {"suspendTimeoutMillis", "300"}, {"subscription", "*"},
               {"subVersion", "0"}}) {
        p.Set(k, v);
      }
      auto r = raw_->InvokeSync(BrokerAddr(), p, 5000);
      if (!r.ok()) continue;
      if (r->code == rc::kSuccess) {
        auto msgs = client::DecodeMessages(r->body);
        EXPECT_TRUE(msgs.ok());
        for (auto& m : *msgs) out.push_back(std::move(m));
      }
      off = r->GetInt64Or("nextBeginOffset", off);
      if (want == 0 && r->code != rc::kSuccess) break;
    }
    return out;
  }

  std::filesystem::path dir_;
  int ns_port_ = 0, broker_port_ = 0;
  testing::Process ns_, broker_;
  std::unique_ptr<remoting::RemotingClient> raw_;
  client::ClientConfig config_;
};

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

}  // namespace
}  // namespace ramjet

#include "ramjet/client/push_consumer.h"

namespace ramjet {
namespace {

using client::ConsumerConfig;
using client::PushConsumer;

class ConsumerTest : public ClientTest {
 protected:
  ConsumerConfig Cc(const std::string& instance) {
    ConsumerConfig c;
    c.namesrv_addr = config_.namesrv_addr;
    c.instance_name = instance;
    c.consume_from_where = client::ConsumeFromWhere::kFirstOffset;
    c.rebalance_interval_ms = 500;
    c.persist_offset_interval_ms = 300;
    c.broker_suspend_max_ms = 1000;
    c.lock_interval_ms = 1000;
    c.poll_name_server_interval_ms = 1000;
    c.heartbeat_interval_ms = 1000;
    c.suspend_current_queue_ms = 100;
    return c;
  }
  void CreateTopic(const std::string& topic, int queues) {
    RemotingCommand r = RemotingCommand::Request(req::kUpdateAndCreateTopic);
    r.Set("topic", topic);
    r.Set("readQueueNums", static_cast<int64_t>(queues));
    r.Set("writeQueueNums", static_cast<int64_t>(queues));
    r.Set("perm", "6");
    auto resp = raw_->InvokeSync(BrokerAddr(), r, 5000);
    ASSERT_TRUE(resp.ok());
    ASSERT_EQ(resp->code, rc::kSuccess);
    for (int i = 0; i < 200; ++i) {
      RemotingCommand q = RemotingCommand::Request(req::kGetRouteinfoByTopic);
      q.Set("topic", topic);
      auto rr = raw_->InvokeSync(config_.namesrv_addr, q, 2000);
      if (rr.ok() && rr->code == rc::kSuccess) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "no route for " << topic;
  }
};

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
  auto settled = [&](size_t live) {
    for (int i = 0; i < 100; ++i) {
      std::set<client::MessageQueue> all;
      size_t total = 0;
      for (size_t k = 0; k < live; ++k) {
        for (const auto& mq : cs[cs.size() - live + k]->Assigned()) {
          if (mq.topic != "RbTopic") continue;
          all.insert(mq);
          ++total;
        }
      }
      if (all.size() == 16 && total == 16) return true;
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
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.Send(Message("RtTopic", "T", "r" + std::to_string(i))).ok());
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

namespace ramjet {
namespace {

TEST_F(ConsumerTest, OrderlyFourKeysThroughABrokerRestartAndAJoiningConsumer) {
  constexpr int kKeys = 4;
  constexpr int kPerKey = 10000;
  CreateTopic("OrdTopic", 8);
  auto producer = std::make_unique<Producer>("PG_ORD", config_);
  ASSERT_TRUE(producer->Start().ok());
  std::mutex mu;
  std::map<int, int> next_expected;          // key -> next first-seen sequence number
  std::map<int, std::set<int>> seen;         // key -> numbers seen
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

}  // namespace
}  // namespace ramjet

namespace ramjet {
namespace {

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
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.Send(Message("RpTopic", "T", "a" + std::to_string(i))).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int64_t middle = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.Send(Message("RpTopic", "T", "b" + std::to_string(i))).ok());
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

}  // namespace
}  // namespace ramjet

#include "ramjet/client/lite_pull_consumer.h"

namespace ramjet {
namespace {

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
