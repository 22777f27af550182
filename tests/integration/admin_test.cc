// One test per ramjet-admin subcommand, against the real name server and broker programs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/client/push_consumer.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {
namespace {

using Out = testing::CommandOutput;

class AdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("ramjet-adm-" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    ns_port_ = testing::PickPort();
    broker_port_ = testing::PickPort();
    {
      std::FILE* f = std::fopen((*dir_ / "broker.conf").c_str(), "w");
      std::fputs("# admin test broker\nbrokerName=broker-adm\nbrokerClusterName=AdmCluster\n", f);
      std::fclose(f);
    }
    ns_ = new testing::Process(
        testing::Process::Start({RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port_),
                                 "--kvConfigPath=" + (*dir_ / "kv.json").string()},
                                (*dir_ / "ns.log").string()));
    ASSERT_TRUE(testing::WaitForPort(ns_port_, 10000));
    broker_ = new testing::Process(testing::Process::Start(
        {RAMJET_BROKER_BIN, "--namesrvAddr=127.0.0.1:" + std::to_string(ns_port_),
         "--listenPort=" + std::to_string(broker_port_), "--brokerIP1=127.0.0.1",
         "--storePathRootDir=" + (*dir_ / "store").string(), "-c",
         (*dir_ / "broker.conf").string()},
        (*dir_ / "broker.log").string()));
    ASSERT_TRUE(testing::WaitForPort(broker_port_, 20000));
    for (int i = 0; i < 100 && Admin("clusterList").text.find("broker-adm") == std::string::npos;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  static void TearDownTestSuite() {
    delete broker_;
    delete ns_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string Ns() { return "127.0.0.1:" + std::to_string(ns_port_); }
  static std::string Broker() { return "127.0.0.1:" + std::to_string(broker_port_); }
  static Out Admin(const std::string& args) {
    std::string cmd = std::string(RAMJET_ADMIN_BIN) + " " + args;
    if (args.find(" -n ") == std::string::npos && args.rfind("help", 0) != 0) {
      size_t sp = cmd.find(' ', std::string(RAMJET_ADMIN_BIN).size() + 1);
      cmd.insert(sp == std::string::npos ? cmd.size() : sp, " -n " + Ns());
    }
    return testing::RunCommand(cmd);
  }
  static void EnsureTopic(const std::string& t) {
    auto o = Admin("updateTopic -c AdmCluster -t " + t + " -r 2 -w 2");
    ASSERT_EQ(o.code, 0) << o.text;
    for (int i = 0; i < 100 && Admin("topicRoute -t " + t).code != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  static inline std::filesystem::path* dir_;
  static inline int ns_port_, broker_port_;
  static inline testing::Process* ns_;
  static inline testing::Process* broker_;
};

TEST_F(AdminTest, UpdateTopicAndTopicRoute) {
  auto o = Admin("updateTopic -b " + Broker() + " -t AdmTopic -r 3 -w 3");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("create topic to " + Broker() + " success."), std::string::npos);
  for (int i = 0; i < 100 && Admin("topicRoute -t AdmTopic").code != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  o = Admin("topicRoute -t AdmTopic");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("\"writeQueueNums\":3"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find(Broker()), std::string::npos);
}

TEST_F(AdminTest, TopicListAndDeleteTopic) {
  EnsureTopic("AdmDel");
  auto o = Admin("topicList");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("AdmDel\n"), std::string::npos);
  o = Admin("deleteTopic -c AdmCluster -t AdmDel");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("delete topic [AdmDel] from NameServer success."), std::string::npos);
  o = Admin("topicRoute -t AdmDel");
  EXPECT_NE(o.code, 0);
  EXPECT_NE(o.text.find("ERROR:"), std::string::npos);
}

TEST_F(AdminTest, SendMessageTopicStatusAndQueries) {
  EnsureTopic("AdmMsg");
  auto o = Admin("sendMessage -t AdmMsg -p hello-admin -c TagQ -k adm-key -b broker-adm -i 1");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("SEND_OK"), std::string::npos);
  std::string uniq = o.text.substr(o.text.rfind(' ') + 1);
  uniq.erase(uniq.find_last_not_of("\n") + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  o = Admin("topicStatus -t AdmMsg");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("#Min Offset"), std::string::npos);
  EXPECT_NE(o.text.find("broker-adm                        1     0                     1"),
            std::string::npos)
      << o.text;
  o = Admin("queryMsgByKey -t AdmMsg -k adm-key");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find(uniq), std::string::npos) << o.text;
  o = Admin("queryMsgByUniqueKey -t AdmMsg -i " + uniq);
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("hello-admin"), std::string::npos);
  std::string off_id = o.text.substr(o.text.find("OffsetID:") + 9);
  off_id = off_id.substr(off_id.find_first_not_of(' '), 32);
  o = Admin("queryMsgById -i " + off_id);
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("Tags:                [TagQ]"), std::string::npos) << o.text;
  o = Admin("queryMsgByOffset -t AdmMsg -b broker-adm -i 1 -o 0");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("hello-admin"), std::string::npos);
  o = Admin("printMsg -t AdmMsg");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("BODY: hello-admin"), std::string::npos);
  o = Admin("consumeMessage -t AdmMsg -c 1");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("Consumed 1 messages"), std::string::npos);
  o = Admin("queryMsgByKey -t AdmMsg -k no-such-key");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.text.find("ERROR: no message found"), std::string::npos);
}

TEST_F(AdminTest, ClusterListBrokerStatusAndBrokerConfig) {
  auto o = Admin("clusterList");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("AdmCluster"), std::string::npos);
  EXPECT_NE(o.text.find("broker-adm"), std::string::npos);
  o = Admin("brokerStatus -b " + Broker());
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("brokerVersionDesc"), std::string::npos);
  o = Admin("getBrokerConfig -b " + Broker());
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("brokerName"), std::string::npos);
  EXPECT_NE(o.text.find("broker-adm"), std::string::npos);
  o = Admin("getBrokerConfig -c AdmCluster");
  ASSERT_EQ(o.code, 0);
  o = Admin("brokerStatus -b 127.0.0.1:1");
  EXPECT_EQ(o.code, 1);
}

TEST_F(AdminTest, UpdateBrokerConfigAppliesPersistsAndRefuses) {
  EnsureTopic("AdmPerm");
  // brokerPermission takes effect at once: a read-only broker refuses sends.
  auto o = Admin("updateBrokerConfig -b " + Broker() + " -k brokerPermission -v 4");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("update broker config success, " + Broker()), std::string::npos) << o.text;
  o = Admin("getBrokerConfig -b " + Broker());
  size_t at = o.text.find("\nbrokerPermission ");
  ASSERT_NE(at, std::string::npos) << o.text;
  std::string line = o.text.substr(at + 1, o.text.find('\n', at + 1) - at - 1);
  EXPECT_TRUE(line.ends_with("=  4")) << line;
  o = Admin("sendMessage -t AdmPerm -p refused -b broker-adm -i 0");
  EXPECT_NE(o.code, 0) << o.text;
  // The name server hears of it: the route shows the topic without write permission.
  bool read_only = false;
  for (int i = 0; i < 100 && !read_only; ++i) {
    read_only = Admin("topicRoute -t AdmPerm").text.find("\"perm\":4") != std::string::npos;
    if (!read_only) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(read_only) << Admin("topicRoute -t AdmPerm").text;
  o = Admin("updateBrokerConfig -c AdmCluster -k brokerPermission -v 6");
  ASSERT_EQ(o.code, 0) << o.text;
  o = Admin("sendMessage -t AdmPerm -p accepted -b broker-adm -i 0");
  EXPECT_EQ(o.code, 0) << o.text;
  // A key read at start-up is persisted into the -c file and reported as such.
  o = Admin("updateBrokerConfig -b " + Broker() + " -k sendMessageThreadPoolNums -v 3");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("takes effect at the next start: sendMessageThreadPoolNums"),
            std::string::npos)
      << o.text;
  std::string conf;
  {
    std::FILE* f = std::fopen((*dir_ / "broker.conf").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) conf.append(buf, n);
    std::fclose(f);
  }
  EXPECT_NE(conf.find("# admin test broker\nbrokerName=broker-adm\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("brokerPermission=6\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("sendMessageThreadPoolNums=3\n"), std::string::npos) << conf;
  // Refused, unknown and invalid keys are errors and change nothing.
  o = Admin("updateBrokerConfig -b " + Broker() + " -k brokerName -v other");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.text.find("brokerName cannot be changed remotely"), std::string::npos) << o.text;
  o = Admin("updateBrokerConfig -b " + Broker() + " -k noSuchKey -v 1");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.text.find("unknown key noSuchKey"), std::string::npos) << o.text;
  o = Admin("updateBrokerConfig -b " + Broker() + " -k brokerPermission -v lots");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.text.find("brokerPermission"), std::string::npos) << o.text;
  o = Admin("getBrokerConfig -b " + Broker());
  EXPECT_NE(o.text.find("broker-adm"), std::string::npos);
  o = Admin("updateBrokerConfig -b " + Broker() + " -v 1");
  EXPECT_NE(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("missing option -k"), std::string::npos) << o.text;
}

// autoCreateTopicEnable changes at runtime, as in Apache RocketMQ: off, a send to an unknown
// topic is refused (TOPIC_NOT_EXIST) and nothing is created; on again, the topic is created.
TEST_F(AdminTest, AutoCreateTopicEnableChangesAtRuntime) {
  auto o = Admin("updateBrokerConfig -b " + Broker() + " -k autoCreateTopicEnable -v false");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_EQ(o.text.find("next start"), std::string::npos) << o.text;
  o = Admin("sendMessage -t AdmAutoOff -p refused");
  EXPECT_NE(o.code, 0) << o.text;
  EXPECT_NE(Admin("topicRoute -t AdmAutoOff").code, 0);
  o = Admin("updateBrokerConfig -b " + Broker() + " -k autoCreateTopicEnable -v true");
  ASSERT_EQ(o.code, 0) << o.text;
  o = Admin("sendMessage -t AdmAutoOff -p accepted");
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("SEND_OK"), std::string::npos) << o.text;
}

TEST_F(AdminTest, ConsumerProgressResetOffsetAndSkipAccumulated) {
  EnsureTopic("AdmOff");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Admin("sendMessage -t AdmOff -p m -b broker-adm -i 0").code, 0);
  }
  // The three are in queue 0's consume queue (dispatch can lag on a loaded machine).
  for (int i = 0; i < 100; ++i) {
    if (Admin("topicStatus -t AdmOff")
            .text.find("broker-adm                        0     0                     3") !=
        std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // As in Apache RocketMQ, offsets are reset only for a group the broker knows.
  auto o = Admin("skipAccumulatedMessage -g AdmGroup -t AdmOff");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("THe consumer group <AdmGroup> not exist"), std::string::npos) << o.text;
  ASSERT_EQ(Admin("updateSubGroup -g AdmGroup -c AdmCluster").code, 0);
  o = Admin("skipAccumulatedMessage -g AdmGroup -t AdmOff");
  ASSERT_EQ(o.code, 0) << o.text;
  o = Admin("consumerProgress -g AdmGroup -t AdmOff");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("Diff Total: 0"), std::string::npos) << o.text;
  o = Admin("resetOffsetByTime -g AdmGroup -t AdmOff -s 0");
  ASSERT_EQ(o.code, 0) << o.text;
  o = Admin("consumerProgress -g AdmGroup -t AdmOff");
  EXPECT_NE(o.text.find("Diff Total: 3"), std::string::npos) << o.text;
  o = Admin("consumerConnection -g AdmGroup");
  EXPECT_EQ(o.code, 1) << "no live consumer";
  EXPECT_NE(o.text.find("ERROR:"), std::string::npos);
}

TEST_F(AdminTest, ConsumerConnectionShowsLiveClientsAndSubscriptions) {
  EnsureTopic("AdmConn");
  client::ConsumerConfig cc;
  cc.namesrv_addr = Ns();
  cc.instance_name = "adm-conn";
  cc.heartbeat_interval_ms = 500;
  client::PushConsumer consumer("AdmConnGroup", cc);
  ASSERT_TRUE(consumer.Subscribe("AdmConn", "TagA || TagB").ok());
  consumer.RegisterListener(
      [](const client::MessageExt&) { return client::ConsumeStatus::kSuccess; });
  ASSERT_TRUE(consumer.Start().ok());
  Out o;
  for (int i = 0; i < 100; ++i) {
    o = Admin("consumerConnection -g AdmConnGroup");
    if (o.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("#ClientId"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find(consumer.client_id()), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("127.0.0.1:"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("CPP"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("AdmConn                                           TagA || TagB"),
            std::string::npos)
      << o.text;
  EXPECT_NE(o.text.find("%RETRY%AdmConnGroup"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("MessageModel: CLUSTERING"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("ConsumeType: CONSUME_PASSIVELY"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("ConsumeFromWhere: CONSUME_FROM_LAST_OFFSET"), std::string::npos) << o.text;
  consumer.Shutdown();
  // Once it has unregistered the group is not online.
  o = Admin("consumerConnection -g AdmConnGroup");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("not online"), std::string::npos) << o.text;
}

// The statistics and consumer requests Apache's mqadmin sends (topicStatus, consumerProgress,
// statsAll, brokerConsumeStats, consumerStatus, queryMsgById -d), answered with the bodies
// Java's fastjson reads: MessageQueue objects as map keys. GET_CONSUMER_RUNNING_INFO and
// CONSUME_MESSAGE_DIRECTLY are forwarded to a live C++ consumer, which answers them.
TEST_F(AdminTest, StatsRequestsAndConsumerCallsAnswerLikeRocketMQ) {
  namespace req = protocol::request_code;
  EnsureTopic("AdmRun");
  client::ConsumerConfig cc;
  cc.namesrv_addr = Ns();
  cc.instance_name = "adm-run";
  cc.heartbeat_interval_ms = 500;
  cc.persist_offset_interval_ms = 300;
  cc.consume_from_where = client::ConsumeFromWhere::kFirstOffset;
  client::PushConsumer consumer("AdmRunGroup", cc);
  ASSERT_TRUE(consumer.Subscribe("AdmRun", "*").ok());
  std::mutex mu;
  std::vector<client::MessageExt> seen;
  consumer.RegisterListener([&](const client::MessageExt& m) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(m);
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(consumer.Start().ok());
  for (int i = 0; i < 3; ++i) {
    auto o = Admin("sendMessage -t AdmRun -p run-" + std::to_string(i) + " -b broker-adm -i 0");
    ASSERT_EQ(o.code, 0) << o.text;
  }
  auto seen_count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size();
  };
  for (int i = 0; i < 200 && seen_count() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(seen_count(), 3u);

  remoting::RemotingClient rc(remoting::EndpointOptions{}, 3000);
  auto call = [&](int32_t code, std::map<std::string, std::string> fields) {
    auto cmd = protocol::RemotingCommand::Request(code);
    for (auto& [k, v] : fields) cmd.Set(k, v);
    auto r = rc.InvokeSync(Broker(), std::move(cmd), 15000);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : protocol::RemotingCommand{};
  };
  const std::string q0 = R"({"brokerName":"broker-adm","queueId":0,"topic":"AdmRun"})";
  auto r = call(req::kGetTopicStatsInfo, {{"topic", "AdmRun"}});
  ASSERT_EQ(r.code, 0) << r.remark.value_or("");
  EXPECT_NE(r.body.find(q0 + R"(:{"lastUpdateTimestamp":)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("maxOffset":3,"minOffset":0})"), std::string::npos) << r.body;
  EXPECT_EQ(call(req::kGetTopicStatsInfo, {{"topic", "NoSuchTopic"}}).code, 17);

  // The consumer commits its offset within a few hundred ms.
  for (int i = 0; i < 100; ++i) {
    r = call(req::kGetConsumeStats, {{"consumerGroup", "AdmRunGroup"}, {"topic", "AdmRun"}});
    if (r.body.find(R"("brokerOffset":3,"consumerOffset":3)") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(r.body.find(q0 + R"(:{"brokerOffset":3,"consumerOffset":3,"lastTimestamp":)"),
            std::string::npos)
      << r.body;
  r = call(req::kGetBrokerConsumeStats, {{"isOrder", "false"}});
  EXPECT_NE(r.body.find(R"({"AdmRunGroup":[{"consumeTps":)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("totalDiff":)"), std::string::npos) << r.body;
  r = call(req::kQueryTopicConsumeByWho, {{"topic", "AdmRun"}});
  EXPECT_NE(r.body.find(R"("AdmRunGroup")"), std::string::npos) << r.body;
  r = call(req::kViewBrokerStatsData, {{"statsName", "TOPIC_PUT_NUMS"}, {"statsKey", "AdmRun"}});
  ASSERT_EQ(r.code, 0) << r.remark.value_or("");
  EXPECT_NE(r.body.find(R"("statsMinute":{"avgpt":1.0,"sum":3,)"), std::string::npos) << r.body;
  r = call(req::kViewBrokerStatsData,
           {{"statsName", "GROUP_GET_NUMS"}, {"statsKey", "AdmRun@AdmRunGroup"}});
  EXPECT_NE(r.body.find(R"("sum":3)"), std::string::npos) << r.body;
  r = call(req::kGetBrokerRuntimeInfo, {});
  for (const char* key : {"\"putTps\"", "\"getTransferedTps\"", "\"msgPutTotalTodayNow\":\"",
                          "\"commitLogDirCapacity\":\"Total : ", "\"runtime\":\"[ 0 days"}) {
    EXPECT_NE(r.body.find(key), std::string::npos) << key << " in " << r.body;
  }

  // Forwarded to the consumer: its running state, then one message consumed directly.
  r = call(req::kGetConsumerRunningInfo, {{"consumerGroup", "AdmRunGroup"},
                                          {"clientId", consumer.client_id()},
                                          {"jstackEnable", "false"}});
  ASSERT_EQ(r.code, 0) << r.remark.value_or("");
  EXPECT_NE(r.body.find(R"("PROP_CONSUME_TYPE":"CONSUME_PASSIVELY")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(q0 + R"(:{"cachedMsgCount":0,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("commitOffset":3)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("subString":"*")"), std::string::npos) << r.body;
  r = call(req::kGetConsumerRunningInfo,
           {{"consumerGroup", "AdmRunGroup"}, {"clientId", "127.0.0.1@nobody"}});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.remark.value_or("").find("not online"), std::string::npos);
  std::string first_id;
  {
    std::lock_guard<std::mutex> l(mu);
    first_id = seen.front().offset_msg_id;
  }
  r = call(
      req::kConsumeMessageDirectly,
      {{"consumerGroup", "AdmRunGroup"}, {"clientId", consumer.client_id()}, {"msgId", first_id}});
  ASSERT_EQ(r.code, 0) << r.remark.value_or("");
  EXPECT_NE(r.body.find(R"("consumeResult":"CR_SUCCESS")"), std::string::npos) << r.body;
  ASSERT_EQ(seen_count(), 4u);
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(seen.back().body, seen.front().body);
  }
  consumer.Shutdown();
}

TEST_F(AdminTest, KvConfigAndNamesrvConfig) {
  auto o = Admin("updateKvConfig -s ORDER_TOPIC_CONFIG -k AdmTopic -v broker-adm:3");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("success"), std::string::npos);
  o = Admin("deleteKvConfig -s ORDER_TOPIC_CONFIG -k AdmTopic");
  ASSERT_EQ(o.code, 0) << o.text;
  o = Admin("getNamesrvConfig");
  ASSERT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("listenPort"), std::string::npos);
  EXPECT_NE(o.text.find(std::to_string(ns_port_)), std::string::npos);
}

TEST_F(AdminTest, UsageErrorsAreClear) {
  auto o = Admin("topicStatus");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("missing option -t"), std::string::npos);
  o = Admin("noSuchCommand");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("unknown subcommand"), std::string::npos);
  o = Admin("help");
  EXPECT_EQ(o.code, 0);
  EXPECT_NE(o.text.find("updateTopic"), std::string::npos);
  // An option the subcommand does not take is an error, not silently ignored.
  o = Admin("updateTopic -c AdmCluster -t AdmFifo -a +message.type=FIFO");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("unknown option '-a' for updateTopic"), std::string::npos) << o.text;
  o = Admin("topicRoute -t AdmFifo");
  EXPECT_NE(o.code, 0) << "the refused command created nothing: " << o.text;
}

}  // namespace
}  // namespace ramjet

namespace ramjet {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  if (!f) return {};
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

TEST_F(AdminTest, UpdateAndDeleteSubGroup) {
  auto o = Admin("updateSubGroup -g AdmSubGroup -c AdmCluster -r 5 -q 2");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("create subscription group to"), std::string::npos);
  auto file = *dir_ / "store" / "config" / "subscriptionGroup.json";
  std::string json = ReadFile(file);
  size_t at = json.find("\"AdmSubGroup\"");
  ASSERT_NE(at, std::string::npos) << json;
  EXPECT_NE(json.find("\"retryMaxTimes\": 5", at), std::string::npos) << json;
  o = Admin("deleteSubGroup -g AdmSubGroup -b " + Broker() + " -r true");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_EQ(ReadFile(file).find("\"AdmSubGroup\""), std::string::npos);
}

TEST_F(AdminTest, ProducerConnection) {
  EnsureTopic("AdmProd");
  // A live producer of group AdmPG for a few seconds.
  std::string cmd = std::string(RAMJET_LOAD_BIN) + " producer -n " + Ns() +
                    " -t AdmProd -g AdmPG --rate 20 --duration 4 --interval 100 > /dev/null 2>&1";
  std::thread load([cmd] { (void)std::system(cmd.c_str()); });
  Out o;
  for (int i = 0; i < 60; ++i) {
    o = Admin("producerConnection -g AdmPG -t AdmProd");
    if (o.code == 0 && o.text.find("@") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  load.join();
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("0001"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("CPP"), std::string::npos) << o.text;
  o = Admin("producerConnection -g NoSuchGroup -t AdmProd");
  EXPECT_EQ(o.code, 1);
}

}  // namespace
}  // namespace ramjet
