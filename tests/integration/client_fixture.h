// Fixtures of the C++ client integration tests: a name server and a broker as real processes,
// and helpers to send and consume with the C++ client.
#pragma once

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
#include "ramjet/client/push_consumer.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {
// Named (not anonymous): gtest requires one fixture type per suite across the test files.
namespace itest {

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
    if (HasFailure()) {
      std::printf("--- broker.log (tail) ---\n%s\n--- ns.log (tail) ---\n%s\n",
                  testing::TailOfFile((dir_ / "broker.log").string()).c_str(),
                  testing::TailOfFile((dir_ / "ns.log").string()).c_str());
      return;
    }
    std::filesystem::remove_all(dir_);
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
      for (auto [k, v] :
           std::vector<std::pair<std::string, std::string>>{{"consumerGroup", "CT"},
                                                            {"topic", topic},
                                                            {"queueId", std::to_string(qid)},
                                                            {"queueOffset", std::to_string(off)},
                                                            {"maxMsgNums", "32"},
                                                            {"sysFlag", want == 0 ? "4" : "6"},
                                                            {"commitOffset", "0"},
                                                            {"suspendTimeoutMillis", "300"},
                                                            {"subscription", "*"},
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
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_EQ(resp->code, rc::kSuccess) << resp->remark.value_or("");
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

}  // namespace itest
}  // namespace ramjet
