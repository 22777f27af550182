// Master/slave replication with the real programs on loopback: a SYNC_MASTER answers a send only
// once its slave has it, a SYNC_MASTER without a slave says SLAVE_NOT_AVAILABLE instead of
// acknowledging, a slave refuses sends, and every acknowledged message is readable on the slave
// after the master is killed (SIGKILL), at the same CommitLog offsets.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "broker_calls.h"
#include "process_util.h"
#include "ramjet/acl/signature.h"
#include "ramjet/base/clock.h"
#include "ramjet/client/message.h"
#include "ramjet/client/producer.h"
#include "ramjet/client/push_consumer.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"
#include "test_hosts.h"

namespace ramjet {
namespace {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ramjet-ha-" + std::to_string(::getpid()) + "-" + std::to_string(NowMillis()));
    std::filesystem::create_directories(dir_);
    ns_port_ = testing::PickPort();
    ns_ = testing::Process::Start({RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port_),
                                   "--kvConfigPath=" + (dir_ / "kv.json").string()},
                                  (dir_ / "ns.log").string());
    ASSERT_TRUE(testing::WaitForPort(ns_port_, 10000));
  }
  void TearDown() override {
    for (auto& [id, b] : brokers_) b.process.Kill();
    ns_.Kill();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  struct Member {
    testing::Process process;
    int port = 0;
    std::string Addr() const { return "127.0.0.1:" + std::to_string(port); }
  };
  std::string NsAddr() const { return "127.0.0.1:" + std::to_string(ns_port_); }
  std::string Log(int id) const {
    return (dir_ / ("broker-" + std::to_string(id) + ".log")).string();
  }

  // Starts member `id` of group "broker-ha" (0 = master with role `role`, > 0 = slave).
  void StartMember(int id, const std::string& role, std::vector<std::string> extra = {}) {
    Member& m = brokers_[id];
    m.port = testing::PickPort();
    const int ha_port = testing::PickPort();
    std::vector<std::string> argv = {
        RAMJET_BROKER_BIN,
        "--namesrvAddr=" + NsAddr(),
        "--listenPort=" + std::to_string(m.port),
        "--haListenPort=" + std::to_string(ha_port),
        "--brokerIP1=127.0.0.1",
        "--storePathRootDir=" + (dir_ / ("store-" + std::to_string(id))).string(),
        "--brokerName=broker-ha",
        "--brokerRole=" + role,
        "--brokerId=" + std::to_string(id),
        "--syncFlushTimeout=3000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    m.process = testing::Process::Start(argv, Log(id));
    ASSERT_TRUE(testing::WaitForPort(m.port, 20000)) << ReadFile(Log(id));
  }

  Result<RemotingCommand> Call(const std::string& addr, int32_t code,
                               std::vector<std::pair<std::string, std::string>> fields,
                               std::string body = {}) {
    return calls_.Call(addr, code, std::move(fields), std::move(body));
  }
  Result<RemotingCommand> Send(const std::string& addr, const std::string& topic,
                               const std::string& body) {
    return calls_.Send(addr, topic, body);
  }
  std::map<int64_t, std::string> WaitMembers(const std::string& topic, size_t members) {
    return calls_.WaitMembers(NsAddr(), topic, members);
  }
  std::map<std::string, std::string> ReadQueue(const std::string& addr, const std::string& topic,
                                               int qid, bool* exists = nullptr) {
    return calls_.ReadQueue(addr, topic, qid, exists);
  }
  size_t MissingOn(const std::string& addr, const std::string& topic,
                   const std::map<std::string, std::string>& acked,
                   std::map<std::string, std::string>* on_slave) {
    return calls_.MissingOn(addr, topic, acked, on_slave);
  }

  std::filesystem::path dir_;
  int ns_port_ = 0;
  testing::Process ns_;
  std::map<int, Member> brokers_;
  testing::BrokerCalls calls_;
};

TEST_F(ReplicationTest, SyncMasterWithoutSlaveSaysSlaveNotAvailable) {
  StartMember(0, "SYNC_MASTER");
  ASSERT_EQ(WaitMembers("TBW102", 1).size(), 1u);
  auto r = Send(brokers_[0].Addr(), "HaLonely", "no slave to hold me");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Stored on the master, but not acknowledged as replicated.
  EXPECT_EQ(r->code, rc::kSlaveNotAvailable);
  EXPECT_FALSE(r->GetString("msgId").value_or("").empty());
  // An ASYNC_MASTER acknowledges as before.
  StartMember(1, "SLAVE");  // a slave without a reachable master changes nothing here
  auto s = Send(brokers_[1].Addr(), "HaLonely", "to a slave");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->code, rc::kServiceNotAvailable) << s->remark.value_or("");
  EXPECT_NE(s->remark.value_or("").find("slave"), std::string::npos) << s->remark.value_or("");
}

TEST_F(ReplicationTest, SyncMasterAcknowledgedMessagesSurviveMasterKill) {
  StartMember(0, "SYNC_MASTER");
  StartMember(1, "SLAVE");
  auto members = WaitMembers("TBW102", 2);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0], brokers_[0].Addr());
  EXPECT_EQ(members[1], brokers_[1].Addr());

  client::ClientConfig cc;
  cc.namesrv_addr = NsAddr();
  cc.instance_name = "ha-producer";
  client::Producer producer("HA_PG", cc);
  ASSERT_TRUE(producer.Start().ok());
  // The slave learns the master's HA address from its registration (every 30 s at most, and
  // at once at start): wait until a send is replicated.
  std::map<std::string, std::string> acked;  // offset msg id -> body
  client::Message first;
  first.topic = "HaTopic";
  first.body = "first";
  const int64_t deadline = NowMillis() + 20000;
  while (NowMillis() < deadline) {
    auto r = producer.Send(first);
    if (r.ok() && r->status == client::SendStatus::kSendOk) {
      acked[r->offset_msg_id] = first.body;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(acked.size(), 1u) << ReadFile(Log(1));
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    client::Message m;
    m.topic = "HaTopic";
    m.body = "message-" + std::to_string(i) + std::string(static_cast<size_t>(i % 7) * 100, 'x');
    auto r = producer.Send(m);
    if (r.ok() && r->status == client::SendStatus::kSendOk) {
      acked[r->offset_msg_id] = m.body;
    } else {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 0);
  producer.Shutdown();
  brokers_[0].process.Kill();  // SIGKILL: no shutdown, nothing flushed after the last send

  // Everything acknowledged is on the slave, at the master's offsets (same offset message ids).
  std::map<std::string, std::string> on_slave;
  const size_t missing = MissingOn(brokers_[1].Addr(), "HaTopic", acked, &on_slave);
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
  std::printf("replication: %zu acknowledged sends, %zu on the slave after SIGKILL of the master\n",
              acked.size(), on_slave.size());
}

TEST_F(ReplicationTest, SlaveCopiesTopicsOffsetsAndGroupsFromItsMaster) {
  StartMember(0, "ASYNC_MASTER");
  const std::string master = brokers_[0].Addr();
  auto t =
      Call(master, req::kUpdateAndCreateTopic,
           {{"topic", "HaMeta"}, {"readQueueNums", "3"}, {"writeQueueNums", "3"}, {"perm", "6"}});
  ASSERT_TRUE(t.ok() && t->code == rc::kSuccess);
  auto o = Call(master, req::kUpdateConsumerOffset,
                {{"consumerGroup", "HA_META_CG"},
                 {"topic", "HaMeta"},
                 {"queueId", "2"},
                 {"commitOffset", "42"}});
  ASSERT_TRUE(o.ok() && o->code == rc::kSuccess);
  auto g = Call(master, req::kUpdateAndCreateSubscriptionGroup, {},
                R"({"groupName":"HA_META_CG","retryMaxTimes":7,"consumeEnable":true})");
  ASSERT_TRUE(g.ok() && g->code == rc::kSuccess) << (g.ok() ? g->remark.value_or("") : "");
  auto d = Call(master, req::kGetAllDelayOffset, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->code, rc::kSuccess);
  EXPECT_NE(d->body.find("offsetTable"), std::string::npos) << d->body;

  // The slave copies them as soon as it knows its master (and every 10 s after).
  StartMember(1, "SLAVE");
  const std::string slave = brokers_[1].Addr();
  bool topic = false, offset = false, group = false;
  const int64_t end = NowMillis() + 20000;
  while (NowMillis() < end && !(topic && offset && group)) {
    auto tc = Call(slave, req::kGetAllTopicConfig, {});
    topic = tc.ok() && tc->body.find("\"HaMeta\"") != std::string::npos;
    auto q = Call(slave, req::kQueryConsumerOffset,
                  {{"consumerGroup", "HA_META_CG"}, {"topic", "HaMeta"}, {"queueId", "2"}});
    offset = q.ok() && q->code == rc::kSuccess && q->GetInt64Or("offset", -1) == 42;
    auto sg = Call(slave, req::kGetAllSubscriptionGroupConfig, {});
    group = sg.ok() && sg->body.find("\"retryMaxTimes\":7") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(topic);
  EXPECT_TRUE(offset);
  EXPECT_TRUE(group);
  // The name server's route of the topic lists both members once the slave registered it.
  EXPECT_EQ(WaitMembers("HaMeta", 2).size(), 2u);
  // A commit carried by a pull to the slave is not taken there (consumers commit to the master).
  auto p = Call(slave, req::kPullMessage,
                {{"consumerGroup", "HA_META_CG"},
                 {"topic", "HaMeta"},
                 {"queueId", "2"},
                 {"queueOffset", "0"},
                 {"maxMsgNums", "1"},
                 {"sysFlag", "5"},
                 {"commitOffset", "7"},
                 {"suspendTimeoutMillis", "0"},
                 {"subscription", "*"},
                 {"subVersion", "0"}});
  ASSERT_TRUE(p.ok());
  auto q = Call(slave, req::kQueryConsumerOffset,
                {{"consumerGroup", "HA_META_CG"}, {"topic", "HaMeta"}, {"queueId", "2"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->GetInt64Or("offset", -1), 42);
}

// A master with aclEnable: its slave signs its sync requests with the cluster credential and
// copies the master's topics; a slave with a wrong cluster secret is refused (NO_PERMISSION) and
// copies nothing.
TEST_F(ReplicationTest, SlavesAuthenticateToAnAclMasterWithTheClusterCredential) {
  const std::string acl_file = (dir_ / "plain_acl.yml").string();
  std::ofstream(acl_file)
      << "accounts:\n"
         "  - accessKey: haAdmin\n    secretKey: haAdminSecret\n    admin: true\n";
  StartMember(0, "ASYNC_MASTER",
              {"--aclEnable=true", "--aclFilePath=" + acl_file, "--clusterAccessKey=haCluster",
               "--clusterSecretKey=haClusterSecret", "--dashboardPort=-1"});
  remoting::EndpointOptions o;
  o.name = "it-admin";
  const acl::Credentials admin{"haAdmin", "haAdminSecret", ""};
  o.sign_request = [admin](RemotingCommand* r) { acl::Sign(r, admin); };
  remoting::RemotingClient signed_client(o);
  RemotingCommand create = RemotingCommand::Request(req::kUpdateAndCreateTopic);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"topic", "HaAclMeta"},
                                                                      {"readQueueNums", "2"},
                                                                      {"writeQueueNums", "2"},
                                                                      {"perm", "6"}}) {
    create.Set(k, v);
  }
  auto t = signed_client.InvokeSync(brokers_[0].Addr(), std::move(create), 5000);
  ASSERT_TRUE(t.ok() && t->code == rc::kSuccess) << (t.ok() ? t->remark.value_or("") : "");

  StartMember(
      1, "SLAVE",
      {"--clusterAccessKey=haCluster", "--clusterSecretKey=haClusterSecret", "--dashboardPort=-1"});
  StartMember(
      2, "SLAVE",
      {"--clusterAccessKey=haCluster", "--clusterSecretKey=guessedSecret", "--dashboardPort=-1"});
  auto has_topic = [&](int id) {
    auto tc = Call(brokers_[id].Addr(), req::kGetAllTopicConfig, {});
    return tc.ok() && tc->body.find("\"HaAclMeta\"") != std::string::npos;
  };
  bool copied = false;
  for (int64_t end = NowMillis() + 20000; NowMillis() < end && !copied;) {
    copied = has_topic(1);
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(copied) << "the slave with the cluster credential copies the topic\n"
                      << ReadFile(Log(1));
  // The wrong secret's sync attempt is refused (it tries as soon as it knows its master): the
  // master logs the refusal, then the slave logs the answer (each when it gets there).
  auto log_with = [&](int id, const std::string& line) {
    std::string log;
    for (int64_t end = NowMillis() + 20000; NowMillis() < end;) {
      log = ReadFile(Log(id));
      if (log.find(line) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return log;
  };
  const std::string master_log = log_with(0, "refused: No acl config for haCluster");
  EXPECT_NE(master_log.find("refused: No acl config for haCluster"), std::string::npos)
      << master_log;
  const std::string slave_log = log_with(2, "answered 16");
  EXPECT_NE(slave_log.find("answered 16"), std::string::npos) << slave_log;
  EXPECT_FALSE(has_topic(2)) << "the slave with a wrong cluster secret copies nothing";
  EXPECT_EQ(master_log.find("haClusterSecret"), std::string::npos) << "no secret in the log";
}

TEST_F(ReplicationTest, MasterSuggestsTheSlaveForABacklogWhenSlaveReadIsOn) {
  StartMember(0, "ASYNC_MASTER", {"--slaveReadEnable=true", "--accessMessageInMemoryMaxRatio=0"});
  const std::string master = brokers_[0].Addr();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Send(master, "HaSuggest", "m")->code, rc::kSuccess);
  auto pull = [&](const std::string& addr) {
    return Call(addr, req::kPullMessage,
                {{"consumerGroup", "HA_S_CG"},
                 {"topic", "HaSuggest"},
                 {"queueId", "0"},
                 {"queueOffset", "0"},
                 {"maxMsgNums", "1"},
                 {"sysFlag", "4"},
                 {"commitOffset", "0"},
                 {"suspendTimeoutMillis", "0"},
                 {"subscription", "*"},
                 {"subVersion", "0"}});
  };
  // A send is answered before the dispatcher has put it in the consume queue: wait for it.
  auto r = pull(master);
  for (const int64_t end = NowMillis() + 5000;
       r.ok() && r->code == rc::kPullNotFound && NowMillis() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = pull(master);
  }
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess);
  // Behind by more than 0 % of memory: read from brokerId 1 (whichBrokerWhenConsumeSlowly).
  EXPECT_EQ(r->GetInt64Or("suggestWhichBrokerId", -1), 1);
  // Turned off at runtime: back to the master.
  auto u = Call(master, req::kUpdateBrokerConfig, {}, "slaveReadEnable=false\n");
  ASSERT_TRUE(u.ok() && u->code == rc::kSuccess);
  r = pull(master);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->GetInt64Or("suggestWhichBrokerId", -1), 0);
}

// A consumer of a group whose master dies keeps consuming from the slave (the C++ push consumer
// follows suggestWhichBrokerId and falls back to a slave when the route has no master).
TEST_F(ReplicationTest, ConsumersReadFromTheSlaveWhenTheMasterIsDown) {
  StartMember(0, "SYNC_MASTER");
  StartMember(1, "SLAVE");
  ASSERT_EQ(WaitMembers("TBW102", 2).size(), 2u);
  client::ClientConfig pc;
  pc.namesrv_addr = NsAddr();
  pc.instance_name = "ha-consume-p";
  client::Producer producer("HA_CONSUME_PG", pc);
  ASSERT_TRUE(producer.Start().ok());
  std::set<std::string> sent;
  const int64_t deadline = NowMillis() + 20000;
  for (int i = 0; sent.size() < 400 && NowMillis() < deadline; ++i) {
    client::Message m;
    m.topic = "HaConsume";
    m.body = "c-" + std::to_string(i);
    auto r = producer.Send(m);
    if (r.ok() && r->status == client::SendStatus::kSendOk) {
      sent.insert(m.body);  // on the slave too (SYNC_MASTER)
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  producer.Shutdown();
  ASSERT_EQ(sent.size(), 400u);

  client::ConsumerConfig cc;
  cc.namesrv_addr = NsAddr();
  cc.instance_name = "ha-consume-c";
  cc.consume_from_where = client::ConsumeFromWhere::kFirstOffset;
  cc.rebalance_interval_ms = 500;
  cc.poll_name_server_interval_ms = 300;
  cc.heartbeat_interval_ms = 500;
  cc.persist_offset_interval_ms = 300;
  cc.broker_suspend_max_ms = 500;
  cc.pull_batch_size = 4;
  cc.pull_threshold_for_queue = 4;  // most messages are pulled after the master is gone
  std::mutex mu;
  std::set<std::string> got;
  std::atomic<bool> master_dead{false};
  std::atomic<int> after_kill{0};
  client::PushConsumer consumer("HA_CONSUME_CG", cc);
  ASSERT_TRUE(consumer.Subscribe("HaConsume", "*").ok());
  consumer.RegisterListener([&](const client::MessageExt& m) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> l(mu);
    if (got.insert(m.body).second && master_dead.load()) ++after_kill;
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  auto count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return got.size();
  };
  const int64_t first = NowMillis() + 15000;
  while (count() < 20 && NowMillis() < first) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(count(), 20u);
  brokers_[0].process.Kill();
  master_dead.store(true);
  const int64_t killed_at = NowMillis();
  const int64_t end = NowMillis() + 30000;
  while (count() < sent.size() && NowMillis() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  consumer.Shutdown();
  EXPECT_EQ(count(), sent.size());
  EXPECT_GT(after_kill.load(), 0);
  std::printf(
      "consume from slave: %zu of %zu messages consumed, %d of them after the master was "
      "killed, the last %lld ms after\n",
      count(), sent.size(), after_kill.load(), static_cast<long long>(NowMillis() - killed_at));
}

// ramjet-admin's view of a broker group: haStatus, and draining the group with wipeWritePerm.
TEST_F(ReplicationTest, AdminShowsReplicationAndDrainsAGroup) {
  StartMember(0, "SYNC_MASTER");
  StartMember(1, "SLAVE");
  ASSERT_EQ(WaitMembers("TBW102", 2).size(), 2u);
  auto admin = [&](const std::string& args) {
    std::string cmd = std::string(RAMJET_ADMIN_BIN) + " " + args + " -n " + NsAddr() + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  };
  // Replicated sends, then the master reports its slave caught up.
  int64_t deadline = NowMillis() + 20000;
  bool replicated = false;
  while (!replicated && NowMillis() < deadline) {
    auto r = Send(brokers_[0].Addr(), "HaAdmin", "x");
    replicated = r.ok() && r->code == rc::kSuccess;
    if (!replicated) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(replicated);
  std::string status;
  deadline = NowMillis() + 10000;
  while (NowMillis() < deadline) {
    status = admin("haStatus");
    if (status.find("behindBytes=0 ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(status.find("SYNC_MASTER"), std::string::npos) << status;
  EXPECT_NE(status.find("1 slave(s)"), std::string::npos) << status;
  EXPECT_NE(status.find("behindBytes=0 behindMs=0"), std::string::npos) << status;
  EXPECT_NE(status.find("SLAVE"), std::string::npos) << status;
  EXPECT_NE(status.find("(connected)"), std::string::npos) << status;

  auto perm = [&] {
    auto r = Call(NsAddr(), req::kGetRouteinfoByTopic, {{"topic", "HaAdmin"}});
    if (!r.ok() || r->code != rc::kSuccess) return -1;
    auto route = protocol::TopicRouteData::Parse(r->body);
    return route.ok() && !route->queue_datas.empty() ? route->queue_datas[0].perm : -1;
  };
  deadline = NowMillis() + 10000;
  while (perm() != 6 && NowMillis() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(perm(), 6);
  std::string wiped = admin("wipeWritePerm -b broker-ha");
  EXPECT_NE(wiped.find("wipe write perm of broker[broker-ha] in name server["), std::string::npos)
      << wiped;
  EXPECT_EQ(perm(), 4);  // readable, no longer writable: producers go to other groups
  std::string added = admin("addWritePerm -b broker-ha");
  EXPECT_NE(added.find("add write perm of broker[broker-ha]"), std::string::npos) << added;
  EXPECT_EQ(perm(), 6);
}

// Fault test 1 of issue 13, each process on a host of its own: a real client sends to a
// SYNC_MASTER while the master is SIGKILLed mid-load; every send it saw acknowledged is on the
// slave and readable there.
TEST_F(ReplicationTest, MasterKilledMidLoadLosesNoAcknowledgedMessage) {
  testing::TestHosts hosts(3);  // 0: name server, 1: master, 2: slave
  std::printf("hosts: %s\n", hosts.mode().c_str());
  const int ns_port = testing::PickPort();
  testing::Process ns = testing::Process::Start(
      hosts.On(0, {RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port),
                   "--kvConfigPath=" + (dir_ / "kv-hosts.json").string()}),
      (dir_ / "ns-hosts.log").string());
  const std::string ns_addr = hosts.ip(0) + ":" + std::to_string(ns_port);
  auto start = [&](int host, int id, const std::string& role, int port) {
    return testing::Process::Start(
        hosts.On(
            host,
            {RAMJET_BROKER_BIN, "--namesrvAddr=" + ns_addr, "--listenPort=" + std::to_string(port),
             "--haListenPort=" + std::to_string(port + 1), "--brokerIP1=" + hosts.ip(host),
             "--storePathRootDir=" + (dir_ / ("hstore-" + std::to_string(id))).string(),
             "--brokerName=broker-fault", "--brokerRole=" + role,
             "--brokerId=" + std::to_string(id), "--syncFlushTimeout=2000"}),
        Log(10 + id));
  };
  const int mport = testing::PickPort(), sport = testing::PickPort();
  testing::Process master = start(1, 0, "SYNC_MASTER", mport);
  testing::Process slave = start(2, 1, "SLAVE", sport);
  const std::string slave_addr = hosts.ip(2) + ":" + std::to_string(sport);

  client::ClientConfig cc;
  cc.namesrv_addr = ns_addr;
  cc.instance_name = "ha-fault";
  client::Producer producer("HA_FAULT_PG", cc);
  ASSERT_TRUE(producer.Start().ok());
  std::mutex mu;
  std::map<std::string, std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread sender([&] {
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      client::Message m;
      m.topic = "HaFault";
      m.body = "fault-" + std::to_string(i);
      auto r = producer.Send(m);
      if (r.ok() && r->status == client::SendStatus::kSendOk) {
        std::lock_guard<std::mutex> l(mu);
        acked[r->offset_msg_id] = m.body;
      } else {
        ++failures;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  auto acked_count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return acked.size();
  };
  // Mid-load: once 500 sends are acknowledged (the slave took part in each), SIGKILL the master.
  const int64_t deadline = NowMillis() + 30000;
  while (acked_count() < 500 && NowMillis() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(acked_count(), 500u) << ReadFile(Log(10)) << ReadFile(Log(11));
  master.Kill();
  const int64_t killed_at = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  sender.join();
  producer.Shutdown();

  std::map<std::string, std::string> on_slave;
  const size_t missing = MissingOn(slave_addr, "HaFault", acked, &on_slave);
  EXPECT_EQ(missing, 0u);
  std::printf(
      "fault test 1: %zu sends acknowledged before and during the SIGKILL of the master, "
      "%d failed after it; %zu messages readable on the slave, %zu acknowledged missing "
      "(checked %lld ms after the kill)\n",
      acked.size(), failures.load(), on_slave.size(), missing,
      static_cast<long long>(NowMillis() - killed_at));
  slave.Kill();
  ns.Kill();
}

}  // namespace
}  // namespace ramjet
