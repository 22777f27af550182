// ACL 1.0 on a real broker (aclEnable=true): an anonymous client and an ordinary account try
// what an attacker would — delete a topic, reset a group's offsets, change the broker's
// configuration, create topics, write into system topics and other groups' retry topics — and
// are refused NO_PERMISSION (16) while the data stays as it was; the admin account can. With a
// cluster credential, the name server refuses fake broker registrations, unregistrations and
// KV writes from strangers; the real broker registers, and a slave signs its sync requests.
#include <fstream>

#include "cluster_fixture.h"
#include "ramjet/acl/signature.h"

namespace ramjet::itest {
namespace {

class AclAttackTest : public Cluster {
 protected:
  // A request signed with the account (empty: anonymous).
  Result<RemotingCommand> As(const acl::Credentials& who, int32_t code,
                             std::vector<std::pair<std::string, std::string>> fields,
                             std::string body = {}) {
    RemotingCommand c = RemotingCommand::Request(code);
    for (auto& [k, v] : fields) c.Set(k, v);
    c.body = std::move(body);
    if (!who.empty()) acl::Sign(&c, who);
    return client_->InvokeSync(BrokerAddr(), std::move(c), 5000);
  }
  std::vector<std::pair<std::string, std::string>> SendFields(const std::string& topic) {
    return {{"a", "PG"},
            {"b", topic},
            {"c", "TBW102"},
            {"d", "4"},
            {"e", "0"},
            {"f", "0"},
            {"g", std::to_string(NowMillis())},
            {"h", "0"},
            {"i", ""},
            {"j", "0"},
            {"k", "false"}};
  }
  // The queue's max offset once it reaches `want` (consume queues are built asynchronously), or
  // what it is after 5 s.
  int64_t MaxOffset(const acl::Credentials& who, const std::string& topic, int64_t want) {
    int64_t got = -1;
    for (int i = 0; i < 100 && got != want; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto r = As(who, req::kGetMaxOffset, {{"topic", topic}, {"queueId", "0"}});
      got = r.ok() && r->code == rc::kSuccess ? r->GetInt64Or("offset", -1) : -1;
    }
    return got;
  }
};

TEST_F(AclAttackTest, AnonymousAndOrdinaryAccountsCannotHarmTheBroker) {
  const std::string file = (dir_ / "plain_acl.yml").string();
  std::ofstream(file) << "accounts:\n"
                         "  - accessKey: adminKey\n    secretKey: adminSecret\n    admin: true\n"
                         "  - accessKey: userKey1\n    secretKey: userSecret\n    admin: false\n"
                         "    defaultTopicPerm: PUB\n    defaultGroupPerm: SUB\n"
                         "    groupPerms:\n      - OtherGroup=DENY\n";
  StartNamesrv();
  StartBroker({"--aclEnable=true", "--aclFilePath=" + file, "--dashboardPort=-1"});
  const acl::Credentials admin{"adminKey", "adminSecret", ""};
  const acl::Credentials user{"userKey1", "userSecret", ""};
  const acl::Credentials none;

  // The admin creates a topic and stores three messages; a group commits offset 2.
  auto created = As(admin, req::kUpdateAndCreateTopic,
                    {{"topic", "Precious"},
                     {"defaultTopic", "TBW102"},
                     {"readQueueNums", "1"},
                     {"writeQueueNums", "1"},
                     {"perm", "6"},
                     {"topicFilterType", "SINGLE_TAG"},
                     {"topicSysFlag", "0"},
                     {"order", "false"}});
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->code, rc::kSuccess) << created->remark.value_or("");
  for (int i = 0; i < 3; ++i) {
    auto s = As(admin, req::kSendMessageV2, SendFields("Precious"), "m" + std::to_string(i));
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->code, rc::kSuccess) << s->remark.value_or("");
  }
  auto commit =
      As(admin, req::kUpdateConsumerOffset,
         {{"consumerGroup", "G1"}, {"topic", "Precious"}, {"queueId", "0"}, {"commitOffset", "2"}});
  ASSERT_TRUE(commit.ok());
  ASSERT_EQ(commit->code, rc::kSuccess) << commit->remark.value_or("");

  struct Attack {
    const char* what;
    int32_t code;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
  };
  const std::vector<Attack> attacks = {
      {"delete a topic", req::kDeleteTopicInBroker, {{"topic", "Precious"}}, ""},
      {"reset a group's offsets",
       req::kInvokeBrokerToResetOffset,
       {{"topic", "Precious"}, {"group", "G1"}, {"timestamp", "-1"}, {"isForce", "true"}},
       ""},
      {"make the broker read-only", req::kUpdateBrokerConfig, {}, "brokerPermission=4\n"},
      {"create a topic",
       req::kUpdateAndCreateTopic,
       {{"topic", "Intruder"},
        {"defaultTopic", "TBW102"},
        {"readQueueNums", "1"},
        {"writeQueueNums", "1"},
        {"perm", "6"},
        {"topicFilterType", "SINGLE_TAG"},
        {"topicSysFlag", "0"},
        {"order", "false"}},
       ""},
      {"delete a subscription group", req::kDeleteSubscriptionGroup, {{"groupName", "G1"}}, ""},
  };
  for (const acl::Credentials* who : {&none, &user}) {
    for (const Attack& a : attacks) {
      auto r = As(*who, a.code, a.fields, a.body);
      ASSERT_TRUE(r.ok()) << a.what;
      EXPECT_EQ(r->code, rc::kNoPermission)
          << a.what << " by " << (who->empty() ? "anonymous" : who->access_key) << ": "
          << r->remark.value_or("");
    }
  }
  // Writes: anonymous to anything; the ordinary account into a system topic and into the retry
  // topic of a group it is denied.
  auto anon_send = As(none, req::kSendMessageV2, SendFields("Precious"), "evil");
  ASSERT_TRUE(anon_send.ok());
  EXPECT_EQ(anon_send->code, rc::kNoPermission);
  EXPECT_EQ(anon_send->remark.value_or(""), "No accessKey is configured");
  for (const char* system : {"SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC"}) {
    auto r = As(user, req::kSendMessageV2, SendFields(system), "evil");
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->code, rc::kSuccess) << "ordinary account wrote into " << system;
  }
  auto retry = As(user, req::kSendMessageV2, SendFields("%RETRY%OtherGroup"), "evil");
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->code, rc::kNoPermission) << retry->remark.value_or("");
  // A wrong signature and a request altered after signing.
  auto wrong =
      As({"userKey1", "not-the-secret", ""}, req::kSendMessageV2, SendFields("Precious"), "evil");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->code, rc::kNoPermission);
  EXPECT_EQ(wrong->remark.value_or(""), "Check signature failed for accessKey=userKey1");

  // Data intact: three messages, the group's offset, the broker still writable, the topic there.
  EXPECT_EQ(MaxOffset(admin, "Precious", 3), 3);
  auto offset = As(admin, req::kQueryConsumerOffset,
                   {{"consumerGroup", "G1"}, {"topic", "Precious"}, {"queueId", "0"}});
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->GetInt64Or("offset", -1), 2);
  auto ok_send = As(user, req::kSendMessageV2, SendFields("Precious"), "fine");
  ASSERT_TRUE(ok_send.ok());
  EXPECT_EQ(ok_send->code, rc::kSuccess)
      << "the ordinary account may send: " << ok_send->remark.value_or("");
  EXPECT_EQ(MaxOffset(admin, "Precious", 4), 4);
  // ACL administration: only the admin may add an account; the new account works at once and
  // stops working when it is deleted; a bad permission text is refused without harming the file.
  const std::vector<std::pair<std::string, std::string>> new_account = {
      {"accessKey", "newUser01"},
      {"secretKey", "newSecret01"},
      {"defaultTopicPerm", "PUB"},
      {"topicPerms", "Precious=PUB,Other=DENY"}};
  auto by_user = As(user, req::kUpdateAndCreateAclConfig, new_account);
  ASSERT_TRUE(by_user.ok());
  EXPECT_EQ(by_user->code, rc::kNoPermission);
  auto by_admin = As(admin, req::kUpdateAndCreateAclConfig, new_account);
  ASSERT_TRUE(by_admin.ok());
  ASSERT_EQ(by_admin->code, rc::kSuccess) << by_admin->remark.value_or("");
  const acl::Credentials fresh{"newUser01", "newSecret01", ""};
  auto fresh_send = As(fresh, req::kSendMessageV2, SendFields("Precious"), "new");
  ASSERT_TRUE(fresh_send.ok());
  EXPECT_EQ(fresh_send->code, rc::kSuccess) << fresh_send->remark.value_or("");
  auto version = As(admin, req::kGetBrokerClusterAclInfo, {});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->code, rc::kSuccess);
  EXPECT_NE(version->Find("version").value_or("").find("counter"), std::string_view::npos);
  auto bad = As(admin, req::kUpdateAndCreateAclConfig,
                {{"accessKey", "x"}, {"secretKey", "short"}});  // too short: refused
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->code, rc::kUpdateAndCreateAclConfigFailed);
  auto deleted = As(admin, req::kDeleteAclConfig, {{"accessKey", "newUser01"}});
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->code, rc::kSuccess) << deleted->remark.value_or("");
  auto gone = As(fresh, req::kSendMessageV2, SendFields("Precious"), "new");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->code, rc::kNoPermission);
  EXPECT_EQ(gone->remark.value_or(""), "No acl config for newUser01");
  EXPECT_EQ(MaxOffset(admin, "Precious", 5), 5);

  const std::string log = ReadAll(Log("broker.log"));
  EXPECT_NE(log.find("No accessKey is configured"), std::string::npos) << "refusals are logged";
  EXPECT_EQ(log.find("userSecret"), std::string::npos) << "no secret in the log";
  EXPECT_EQ(log.find("adminSecret"), std::string::npos) << "no secret in the log";
  EXPECT_EQ(log.find("newSecret01"), std::string::npos) << "no secret in the log";
}

TEST_F(AclAttackTest, NameServerRefusesFakeBrokersWithoutTheClusterCredential) {
  const std::vector<std::string> cred = {"--clusterAccessKey=clusterKey",
                                         "--clusterSecretKey=clusterSecret99"};
  StartNamesrv(cred);
  std::vector<std::string> broker_args = cred;
  broker_args.push_back("--dashboardPort=-1");
  StartBroker(broker_args);
  auto registered = [&](const std::string& addr) {
    auto r = Call(NsAddr(), req::kGetBrokerClusterInfo, {});
    if (!r.ok() || r->code != rc::kSuccess) return false;
    auto info = protocol::ClusterInfo::Parse(r->body);
    if (!info.ok()) return false;
    for (const auto& [name, data] : info->broker_addr_table) {
      for (const auto& [id, a] : data.broker_addrs) {
        if (a == addr) return true;
      }
    }
    return false;
  };
  bool real = false;
  for (int i = 0; i < 100 && !real; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    real = registered(BrokerAddr());
  }
  ASSERT_TRUE(real) << "the broker signs its registration with the cluster credential\n"
                    << ReadAll(Log("namesrv.log"));

  // A stranger registers a fake broker for TBW102, unregisters the real one, rewrites KV config
  // and wipes the real broker's write permission: anonymously and with a guessed secret.
  protocol::RegisterBrokerBody body;
  protocol::TopicConfig tc;
  tc.topic_name = "TBW102";
  tc.read_queue_nums = tc.write_queue_nums = 8;
  tc.perm = 6;
  body.topic_config_wrapper.topic_config_table["TBW102"] = tc;
  const std::string fake = "10.66.66.66:10911";
  struct Attack {
    const char* what;
    int32_t code;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
  };
  const std::vector<Attack> attacks = {
      {"register a fake broker",
       req::kRegisterBroker,
       {{"brokerName", "broker-it"},
        {"brokerAddr", fake},
        {"clusterName", "DefaultCluster"},
        {"haServerAddr", fake},
        {"brokerId", "0"},
        {"compressed", "false"}},
       body.ToJson()},
      {"unregister the real broker",
       req::kUnregisterBroker,
       {{"brokerName", "broker-it"},
        {"brokerAddr", BrokerAddr()},
        {"clusterName", "DefaultCluster"},
        {"brokerId", "0"}},
       ""},
      {"put KV config",
       req::kPutKvConfig,
       {{"namespace", "ORDER_TOPIC_CONFIG"}, {"key", "T"}, {"value", "x"}},
       ""},
      {"wipe write permission", req::kWipeWritePermOfBroker, {{"brokerName", "broker-it"}}, ""},
  };
  for (const acl::Credentials& who :
       {acl::Credentials{}, acl::Credentials{"clusterKey", "guessedSecret", ""},
        acl::Credentials{"someoneElse", "clusterSecret99", ""}}) {
    for (const Attack& a : attacks) {
      RemotingCommand c = RemotingCommand::Request(a.code);
      for (auto& [k, v] : a.fields) c.Set(k, v);
      c.body = a.body;
      if (!who.empty()) acl::Sign(&c, who);
      auto r = client_->InvokeSync(NsAddr(), std::move(c), 5000);
      ASSERT_TRUE(r.ok()) << a.what;
      EXPECT_EQ(r->code, rc::kNoPermission)
          << a.what << " by " << (who.empty() ? "anonymous" : who.access_key) << ": "
          << r->remark.value_or("");
    }
  }
  // Routes intact: the real broker, no fake one, writable; no KV entry.
  EXPECT_TRUE(registered(BrokerAddr()));
  EXPECT_FALSE(registered(fake));
  auto route = WaitRoute("TBW102", 5000);
  ASSERT_TRUE(route.has_value());
  for (const auto& q : route->queue_datas) EXPECT_EQ(q.perm & 2, 2) << "still writable";
  auto kv = Call(NsAddr(), req::kGetKvConfig, {{"namespace", "ORDER_TOPIC_CONFIG"}, {"key", "T"}});
  ASSERT_TRUE(kv.ok());
  EXPECT_NE(kv->code, rc::kSuccess);
  // Reads stay open to clients without credentials.
  auto read = Call(NsAddr(), req::kGetRouteinfoByTopic, {{"topic", "TBW102"}});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->code, rc::kSuccess);
  // The holder of the cluster credential may write (ramjet-admin with RAMJET_ACCESS_KEY).
  RemotingCommand put = RemotingCommand::Request(req::kPutKvConfig);
  put.Set("namespace", "ORDER_TOPIC_CONFIG");
  put.Set("key", "T");
  put.Set("value", "broker-it:4");
  acl::Sign(&put, {"clusterKey", "clusterSecret99", ""});
  auto ok = client_->InvokeSync(NsAddr(), std::move(put), 5000);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, rc::kSuccess) << ok->remark.value_or("");
  const std::string log = ReadAll(Log("namesrv.log"));
  EXPECT_NE(log.find("refused: not signed"), std::string::npos) << log;
  EXPECT_EQ(log.find("clusterSecret99"), std::string::npos) << "no secret in the log";
}

}  // namespace
}  // namespace ramjet::itest
