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
