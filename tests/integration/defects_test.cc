// Regression tests for the defects that real clients and fault probes found (issue 10), each
// against the real ramjet-namesrv and ramjet-broker programs on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

namespace ramjet {
namespace {

constexpr int kSubFlag = 0x4;
constexpr int kSuspendFlag = 0x2;

std::string RandomBody(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

class Defects : public Cluster {
 protected:
  // Sends a message and returns its queue offset.
  int64_t Send(const std::string& topic, int qid, const std::string& body) {
    auto r = SendV2(topic, qid, body, "");
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return -1;
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    return r->GetInt64Or("queueOffset", -1);
  }
  void WaitMaxOffset(const std::string& topic, int qid, int64_t want) {
    for (int i = 0; i < 500; ++i) {
      auto r = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", topic}, {"queueId", std::to_string(qid)}});
      if (r.ok() && r->GetInt64Or("offset", -1) >= want) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << topic << "-" << qid << " never reached offset " << want;
  }
};

// A pull whose batch is full by bytes after its first message returns what it has; walking the
// queue returns every message once, mixed small and large. With a single pull thread, such a
// pull used to spin forever and no other pull was answered again.
TEST_F(Defects, PullsAtTheByteLimitReturnWhatTheyHaveAndNeverPinAPullThread) {
  StartNamesrv();
  StartBroker({"--pullMessageThreadPoolNums=1"});
  CreateTopic("BigTopic", 1);
  CreateTopic("SmallTopic", 1);
  CreateTopic("IdleTopic", 4);
  std::vector<std::string> bodies;
  auto add = [&](size_t n) { bodies.push_back(RandomBody(n, static_cast<uint32_t>(bodies.size()))); };
  add(1024);
  add(300 * 1024);  // a 1 KiB message followed by a 300 KiB one
  add(150 * 1024);
  add(150 * 1024);  // two 150 KiB messages
  for (int i = 0; i < 100; ++i) add(10 * 1024);
  for (size_t n : {8u << 10, 64u << 10, 1u << 20, 4u << 20}) {
    add(n);
    add(100);
  }
  for (const auto& b : bodies) Send("BigTopic", 0, b);
  Send("SmallTopic", 0, "small");
  WaitMaxOffset("BigTopic", 0, static_cast<int64_t>(bodies.size()));
  WaitMaxOffset("SmallTopic", 0, 1);

  // Long-polling pulls parked on empty queues hold no pull thread.
  struct Joined : std::vector<std::thread> {
    ~Joined() {
      for (auto& t : *this) {
        if (t.joinable()) t.join();
      }
    }
  } parked;
  std::atomic<int> parked_answered{0};
  for (int i = 0; i < 8; ++i) {
    parked.emplace_back([&, i] {
      remoting::EndpointOptions o;
      o.name = "parked";
      remoting::RemotingClient c(o);
      RemotingCommand cmd = RemotingCommand::Request(req::kPullMessage);
      for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
               {"consumerGroup", "PG"}, {"topic", "IdleTopic"}, {"queueId", std::to_string(i % 4)},
               {"queueOffset", "0"}, {"maxMsgNums", "32"},
               {"sysFlag", std::to_string(kSuspendFlag | kSubFlag)}, {"commitOffset", "0"},
               {"suspendTimeoutMillis", "3000"}, {"subscription", "*"}, {"subVersion", "0"}}) {
        cmd.Set(k, v);
      }
      auto r = c.InvokeSync(BrokerAddr(), std::move(cmd), 10000);
      if (r.ok()) parked_answered.fetch_add(1);
      c.Shutdown();
    });
  }
  size_t got = 0;
  int64_t next = 0;
  for (int round = 0; round < 400 && next < static_cast<int64_t>(bodies.size()); ++round) {
    auto r = Pull("BigTopic", 0, next, kSubFlag, 0, 10000);
    ASSERT_TRUE(r.ok()) << "pull at " << next << ": " << r.status().ToString();
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    auto recs = Records(r->body);
    ASSERT_FALSE(recs.empty());
    if (recs.size() > 1) {
      EXPECT_LE(r->body.size(), 256u * 1024) << "at " << next;
    }
    for (const auto& rec : recs) {
      ASSERT_EQ(rec.queue_offset, next) << "messages in queue order, each once";
      EXPECT_EQ(rec.body, bodies[static_cast<size_t>(next)]) << "body of #" << next;
      ++next;
      ++got;
    }
    EXPECT_EQ(r->GetInt64Or("nextBeginOffset", -1), next);
    // Another queue's pull is answered between the large ones (one pull thread only).
    auto small = Pull("SmallTopic", 0, 0, kSubFlag, 0, 5000);
    ASSERT_TRUE(small.ok()) << small.status().ToString();
    ASSERT_EQ(small->code, rc::kSuccess);
  }
  EXPECT_EQ(got, bodies.size());
  for (auto& t : parked) t.join();
  EXPECT_EQ(parked_answered.load(), 8) << "parked pulls are answered when their hold ends";
  EXPECT_EQ(broker_.Stop(), 0) << "SIGTERM/SIGINT completes: no pull thread is stuck";
}

// Group names become %RETRY%/%DLQ% topics (directories): a hostile one is refused with a clear
// error and nothing is created or deleted outside the store.
TEST_F(Defects, HostileGroupAndTopicNamesAreRefusedAndCreateNothing) {
  StartNamesrv();
  StartBroker();
  CreateTopic("NameTopic", 1);
  Send("NameTopic", 0, "x");
  WaitMaxOffset("NameTopic", 0, 1);
  const std::filesystem::path outside = dir_ / "x";
  std::filesystem::create_directories(dir_ / "victim");
  std::ofstream(dir_ / "victim" / "keep") << "keep";
  const std::string evil = "a/../../../../x";
  const std::string long_group(1 << 20, 'g');
  for (const std::string& group : {evil, std::string("a\nb"), long_group, std::string("")}) {
    SCOPED_TRACE(group.substr(0, 20));
    auto r = Call(BrokerAddr(), req::kConsumerSendMsgBack,
                  {{"offset", "0"}, {"group", group}, {"delayLevel", "0"}, {"originMsgId", "x"},
                   {"originTopic", "NameTopic"}, {"unitMode", "false"}, {"maxReconsumeTimes", "16"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("group"), std::string::npos) << r->remark.value_or("");
    EXPECT_EQ(r->remark.value_or("").find('\n'), std::string::npos) << "raw bytes are escaped";
    std::string hb = R"({"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":)" +
                     nlohmann::json(group).dump() +
                     R"(,"consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
                     R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[]}]})";
    r = Call(BrokerAddr(), req::kHeartBeat, {}, hb);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError);
  }
  for (const std::string& topic :
       {"%RETRY%" + evil, std::string("../victim"), std::string("%DLQ%a/../../victim")}) {
    auto r = Call(BrokerAddr(), req::kDeleteTopicInBroker, {{"topic", topic}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError) << topic;
    EXPECT_NE(r->remark.value_or("").find("illegal characters"), std::string::npos);
  }
  // A subscription group with absurd retry queues is refused.
  auto r = Call(BrokerAddr(), 200 /* UPDATE_AND_CREATE_SUBSCRIPTIONGROUP */, {},
                R"({"groupName":"G1","retryQueueNums":100000})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSystemError);
  EXPECT_NE(r->remark.value_or("").find("retryQueueNums"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(outside));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "victim" / "keep"));
  for (const auto& e : std::filesystem::directory_iterator(StoreDir() + "/consumequeue")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find_first_not_of(
                  "%|abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
              std::string::npos)
        << name;
  }
  // The broker still serves a legal group.
  std::string hb = R"({"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":"Ok_1",)"
                   R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
                   R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[]}]})";
  r = Call(BrokerAddr(), req::kHeartBeat, {}, hb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
}

// Apache's mqadmin deleted SCHEDULE_TOPIC_XXXX and rewrote TBW102: system topics are refused.
TEST_F(Defects, SystemTopicsCannotBeDeletedOrReconfigured) {
  StartNamesrv();
  StartBroker();
  for (std::string topic : {"SCHEDULE_TOPIC_XXXX", "TBW102", "RMQ_SYS_TRANS_HALF_TOPIC",
                                   "SELF_TEST_TOPIC", "DefaultCluster", "broker-it",
                                   "OFFSET_MOVED_EVENT", "rmq_sys_wheel_timer"}) {
    SCOPED_TRACE(topic);
    auto r = Call(BrokerAddr(), req::kDeleteTopicInBroker, {{"topic", topic}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError);
    EXPECT_NE(r->remark.value_or("").find("conflict with system topic"), std::string::npos);
    r = Call(BrokerAddr(), req::kUpdateAndCreateTopic,
             {{"topic", topic}, {"readQueueNums", "1"}, {"writeQueueNums", "1"}, {"perm", "6"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError);
  }
  auto all = Call(BrokerAddr(), req::kGetAllTopicConfig, {});
  ASSERT_TRUE(all.ok());
  auto w = protocol::TopicConfigSerializeWrapper::Parse(all->body);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->topic_config_table.count("SCHEDULE_TOPIC_XXXX"));
  EXPECT_EQ(w->topic_config_table.at("SCHEDULE_TOPIC_XXXX").read_queue_nums, 18);
  EXPECT_EQ(w->topic_config_table.at("TBW102").read_queue_nums, 8);
}

// With enablePropertyFilter=false, Apache RocketMQ accepts a SQL92 heartbeat and refuses each
// pull; refusing the heartbeat made Apache's Java client report a broker without SQL92 support.
TEST_F(Defects, Sql92HeartbeatIsAcceptedWithPropertyFilterOffAndEachPullRefused) {
  StartNamesrv();
  StartBroker();
  CreateTopic("SqlOffTopic", 1);
  std::string hb =
      R"({"clientID":"127.0.0.1@sql","producerDataSet":[],"consumerDataSet":[{"groupName":"SqlG",)"
      R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":)"
      R"("CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"topic":"SqlOffTopic",)"
      R"("subString":"a > 1","expressionType":"SQL92","tagsSet":[],"codeSet":[],"subVersion":1}]}]})";
  auto r = Call(BrokerAddr(), req::kHeartBeat, {}, hb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  r = Call(BrokerAddr(), req::kGetConsumerListByGroup, {{"consumerGroup", "SqlG"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSuccess);
  EXPECT_NE(r->body.find("127.0.0.1@sql"), std::string::npos);
  r = Call(BrokerAddr(), req::kPullMessage,
           {{"consumerGroup", "SqlG"}, {"topic", "SqlOffTopic"}, {"queueId", "0"},
            {"queueOffset", "0"}, {"maxMsgNums", "32"}, {"sysFlag", std::to_string(kSubFlag)},
            {"commitOffset", "0"}, {"suspendTimeoutMillis", "0"}, {"subscription", "a > 1"},
            {"subVersion", "1"}, {"expressionType", "SQL92"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSystemError);
  EXPECT_NE(r->remark.value_or("").find("enablePropertyFilter"), std::string::npos);
}

// A heartbeat's cost no longer grows with the square of its groups (1,000 groups took 36 s).
TEST_F(Defects, AHeartbeatWithAThousandGroupsIsAnsweredPromptly) {
  StartNamesrv();
  StartBroker();
  nlohmann::json groups = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) {
    groups.push_back({{"groupName", "HbG_" + std::to_string(i)},
                      {"consumeType", "CONSUME_PASSIVELY"},
                      {"messageModel", "CLUSTERING"},
                      {"consumeFromWhere", "CONSUME_FROM_FIRST_OFFSET"},
                      {"subscriptionDataSet", nlohmann::json::array()}});
  }
  nlohmann::json hb = {{"clientID", "127.0.0.1@many"},
                       {"producerDataSet", nlohmann::json::array()},
                       {"consumerDataSet", groups}};
  const int64_t t0 = NowMillis();
  auto r = Call(BrokerAddr(), req::kHeartBeat, {}, hb.dump(), 10000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, rc::kSuccess);
  RecordProperty("heartbeat_1000_groups_ms", std::to_string(NowMillis() - t0));
  auto all = Call(BrokerAddr(), req::kGetAllTopicConfig, {});
  ASSERT_TRUE(all.ok());
  auto w = protocol::TopicConfigSerializeWrapper::Parse(all->body);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->topic_config_table.count("%RETRY%HbG_0"));
  EXPECT_TRUE(w->topic_config_table.count("%RETRY%HbG_999"));
}


// A remote change of the CommitLog segment size plus a restart used to truncate the log (93 % of
// the acknowledged messages became invisible). Store geometry is refused remotely, and a store
// written with another segment size stops the start-up, naming the file and the key.
TEST_F(Defects, StoreGeometryIsNotRemotelyChangeableAndAMismatchStopsStartUp) {
  StartNamesrv();
  const std::string conf = (dir_ / "broker.conf").string();
  auto write_conf = [&](int64_t segment) {
    std::ofstream(conf) << "# test broker\nmappedFileSizeCommitLog=" << segment
                        << "\nfileReservedTime=72\n";
  };
  write_conf(1 << 20);
  StartBroker({"-c", conf});
  CreateTopic("GeoTopic", 1);
  constexpr int kCount = 2500;  // 1 KiB each: three 1 MiB segments
  for (int i = 0; i < kCount; ++i) Send("GeoTopic", 0, std::string(1000, static_cast<char>('a' + i % 26)));
  WaitMaxOffset("GeoTopic", 0, kCount);
  auto update = [&](const std::string& body) {
    auto r = Call(BrokerAddr(), req::kUpdateBrokerConfig, {}, body);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : RemotingCommand();
  };
  for (const char* key : {"mappedFileSizeCommitLog", "mappedFileSizeConsumeQueue", "flushDiskType",
                          "storePathRootDir", "maxHashSlotNum", "maxIndexNum"}) {
    auto r = update(std::string(key) + "=65536\n");
    EXPECT_EQ(r.code, rc::kSystemError) << key;
    EXPECT_NE(r.remark.value_or("").find("cannot be changed remotely"), std::string::npos) << key;
  }
  auto r = update("fileReservedTime=1\n");
  EXPECT_EQ(r.code, rc::kSystemError);
  EXPECT_NE(r.remark.value_or("").find("fileReservedTime"), std::string::npos);
  r = update("diskMaxUsedSpaceRatio=5\n");
  EXPECT_EQ(r.code, rc::kSystemError);
  r = update("regionId=a\rbrokerName=evil\n");
  EXPECT_EQ(r.code, rc::kSystemError);
  EXPECT_NE(r.remark.value_or("").find("control characters"), std::string::npos);
  r = update("fileReservedTime=48\n");
  EXPECT_EQ(r.code, rc::kSuccess) << r.remark.value_or("");
  std::string text = ReadAll(conf);
  EXPECT_NE(text.find("fileReservedTime=48"), std::string::npos) << text;
  EXPECT_EQ(text.find("evil"), std::string::npos) << text;
  EXPECT_NE(text.find("mappedFileSizeCommitLog=1048576"), std::string::npos) << text;
  ASSERT_EQ(broker_.Stop(), 0);

  // The operator edits the file: the broker refuses to start and changes nothing.
  auto sizes = [&] {
    std::map<std::string, uintmax_t> m;
    for (const auto& e : std::filesystem::directory_iterator(StoreDir() + "/commitlog"))
      m[e.path().filename().string()] = e.file_size();
    return m;
  };
  const auto before = sizes();
  ASSERT_GE(before.size(), 3u);
  for (int64_t other : {1 << 19, 1 << 21}) {
    write_conf(other);
    Process bad = Process::Start({RAMJET_BROKER_BIN, "-c", conf, "--namesrvAddr=" + NsAddr(),
                                  "--listenPort=" + std::to_string(broker_port_),
                                  "--brokerIP1=127.0.0.1", "--storePathRootDir=" + StoreDir(),
                                  "--brokerName=broker-it"},
                                 Log("broker-bad.log"));
    EXPECT_NE(bad.Wait(20000), 0) << "the broker must not start";
    const std::string log = ReadAll(Log("broker-bad.log"));
    EXPECT_NE(log.find("mappedFileSizeCommitLog=" + std::to_string(other)), std::string::npos)
        << log;
    EXPECT_NE(log.find("/commitlog/0000"), std::string::npos) << log;
    EXPECT_EQ(sizes(), before);
  }
  write_conf(1 << 20);
  StartBroker({"-c", conf});
  int64_t next = 0;
  for (int round = 0; round < 1000 && next < kCount; ++round) {
    auto p = Pull("GeoTopic", 0, next, kSubFlag, 0);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->code, rc::kSuccess) << "at " << next;
    next += static_cast<int64_t>(Records(p->body).size());
  }
  EXPECT_EQ(next, kCount) << "every acknowledged message is still there";
}


// Request–reply (RocketMQ 4.7+): a reply sent with SEND_REPLY_MESSAGE_V2 is stored in the
// cluster's reply topic and pushed to the requester (REPLY_TO_CLIENT) with
// PUSH_REPLY_MESSAGE_TO_CLIENT; before, the reply send got "request type 325 not supported".
TEST_F(Defects, RepliesArePushedToTheRequestingClient) {
  StartNamesrv();
  StartBroker();
  CreateTopic("ReqTopic", 1);
  remoting::EndpointOptions o;
  o.name = "requester";
  remoting::RemotingClient requester(o);
  std::mutex mu;
  std::vector<RemotingCommand> pushed;
  requester.RegisterProcessor(
      req::kPushReplyMessageToClient,
      [&](const remoting::RequestContextPtr& ctx) {
        {
          std::lock_guard<std::mutex> l(mu);
          pushed.push_back(ctx->request());
        }
        ctx->RespondCode(rc::kSuccess);
      },
      nullptr);
  const std::string hb =
      R"({"clientID":"127.0.0.1@requester","producerDataSet":[{"groupName":"ReqPG"}],)"
      R"("consumerDataSet":[]})";
  RemotingCommand h = RemotingCommand::Request(req::kHeartBeat);
  h.body = hb;
  auto r = requester.InvokeSync(BrokerAddr(), h, 5000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess);
  // The request: an ordinary send carrying the correlation id and the requester's client id.
  const std::string req_props = message::BuildProperties(
      {{"CORRELATION_ID", "corr-1"}, {"REPLY_TO_CLIENT", "127.0.0.1@requester"}, {"TTL", "3000"}});
  r = SendV2("ReqTopic", 0, "question", req_props);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess);
  // The responder's reply, as Java's MessageUtil.createReplyMessage builds it.
  auto reply = [&](const std::string& to) {
    return Call(BrokerAddr(), req::kSendReplyMessageV2,
                {{"a", "RespPG"}, {"b", "DefaultCluster_REPLY_TOPIC"}, {"c", "TBW102"}, {"d", "4"},
                 {"e", "-1"}, {"f", "0"}, {"g", std::to_string(NowMillis())}, {"h", "0"},
                 {"i", message::BuildProperties({{"CORRELATION_ID", "corr-1"},
                                               {"REPLY_TO_CLIENT", to},
                                               {"TTL", "3000"},
                                               {"MSG_TYPE", "reply"}})},
                 {"j", "0"}, {"k", "false"}},
                "answer");
  };
  r = reply("127.0.0.1@requester");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  EXPECT_EQ(r->Find("msgId").value_or(""), "0");
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(pushed.size(), 1u);
    const RemotingCommand& p = pushed[0];
    EXPECT_EQ(p.body, "answer");
    EXPECT_EQ(p.Find("topic").value_or(""), "DefaultCluster_REPLY_TOPIC");
    EXPECT_EQ(p.Find("producerGroup").value_or(""), "RespPG");
    const std::string props(p.Find("properties").value_or(""));
    EXPECT_EQ(message::FindProperty(props, "CORRELATION_ID"), "corr-1");
    EXPECT_FALSE(message::FindProperty(props, "PUSH_REPLY_TIME").empty());
    for (const char* k : {"bornHost", "storeHost", "storeTimestamp", "bornTimestamp", "queueId",
                          "sysFlag", "flag", "defaultTopic", "defaultTopicQueueNums"}) {
      EXPECT_TRUE(p.Find(k).has_value()) << k << " is required by Java's ReplyMessageRequestHeader";
    }
  }
  // The reply is also stored (storeReplyMessageEnable).
  WaitMaxOffset("DefaultCluster_REPLY_TOPIC", 0, 1);
  // A reply to a client that is not connected is a clear error.
  r = reply("127.0.0.1@gone");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSystemError);
  EXPECT_NE(r->remark.value_or("").find("not found"), std::string::npos) << r->remark.value_or("");
  requester.Shutdown();
}

}  // namespace
}  // namespace ramjet
