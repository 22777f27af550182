// ACL 2.0 on a real broker (authenticationEnabled, authorizationEnabled, initAuthenticationUser):
// the Super user manages users and ACLs with ramjet-admin (createUser, createAcl, getUser,
// listAcl, updateUser, deleteAcl); a normal user may do exactly what its policies allow, with
// Apache's refusal texts; users survive a restart; plain_acl.yml accounts can be imported.
#include <sys/wait.h>

#include <array>
#include <fstream>

#include "cluster_fixture.h"
#include "ramjet/acl/signature.h"

namespace ramjet::itest {
namespace {

class Auth2Test : public Cluster {
 protected:
  struct Out {
    int code = -1;
    std::string text;
  };
  // ramjet-admin as `user` (empty: anonymous).
  Out Admin(const std::string& args, const std::string& user = "root",
            const std::string& pass = "rootPass99") {
    std::string cmd;
    if (!user.empty()) cmd = "RAMJET_ACCESS_KEY=" + user + " RAMJET_SECRET_KEY=" + pass + " ";
    cmd += std::string(RAMJET_ADMIN_BIN) + " " + args + " -n " + NsAddr() + " 2>&1";
    Out o;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.text.append(buf.data(), n);
    const int st = ::pclose(p);
    o.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return o;
  }
  Result<RemotingCommand> As(const acl::Credentials& who, int32_t code,
                             std::vector<std::pair<std::string, std::string>> fields,
                             std::string body = {}) {
    RemotingCommand c = RemotingCommand::Request(code);
    for (auto& [k, v] : fields) c.Set(k, v);
    c.body = std::move(body);
    if (!who.empty()) acl::Sign(&c, who);
    return client_->InvokeSync(BrokerAddr(), std::move(c), 5000);
  }
  Result<RemotingCommand> Send(const acl::Credentials& who, const std::string& topic) {
    return As(who, req::kSendMessageV2,
              {{"a", "PG"},
               {"b", topic},
               {"c", "TBW102"},
               {"d", "4"},
               {"e", "0"},
               {"f", "0"},
               {"g", std::to_string(NowMillis())},
               {"h", "0"},
               {"i", ""},
               {"j", "0"},
               {"k", "false"}},
              "m");
  }
  std::vector<std::string> AuthArgs() {
    return {"--authenticationEnabled=true", "--authorizationEnabled=true",
            R"(--initAuthenticationUser={"username":"root","password":"rootPass99"})",
            "--dashboardPort=-1"};
  }
};

TEST_F(Auth2Test, SuperUserManagesUsersAndPoliciesDecide) {
  StartNamesrv();
  StartBroker(AuthArgs());
  const acl::Credentials root{"root", "rootPass99", ""};
  const acl::Credentials bob{"bob", "bobPass123", ""};
  const std::string b = " -b " + BrokerAddr();
  // The Super user creates topics, a user and its policy.
  for (const char* t : {"orders", "payments"}) {
    auto r = As(root, req::kUpdateAndCreateTopic,
                {{"topic", t}, {"readQueueNums", "1"}, {"writeQueueNums", "1"}, {"perm", "6"}});
    ASSERT_TRUE(r.ok() && r->code == rc::kSuccess) << (r.ok() ? r->remark.value_or("") : "");
  }
  Out created = Admin("createUser -u bob -p bobPass123" + b);
  ASSERT_EQ(created.code, 0) << created.text;
  EXPECT_NE(created.text.find("create user to " + BrokerAddr() + " success."), std::string::npos);
  Out acl = Admin("createAcl -s User:bob -r Topic:orders,Group:g1 -a Pub,Sub -d Allow" + b);
  ASSERT_EQ(acl.code, 0) << acl.text;
  Out deny = Admin("createAcl -s User:bob -r Topic:pay* -a All -d Deny" + b);
  ASSERT_EQ(deny.code, 0) << deny.text;

  // Bob sends where allowed; elsewhere he is refused with Apache's texts.
  auto ok = Send(bob, "orders");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, rc::kSuccess) << ok->remark.value_or("");
  auto denied = Send(bob, "payments");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->code, rc::kNoPermission);
  EXPECT_EQ(denied->remark.value_or(""),
            "User:bob has no permission to access Topic:payments from 127.0.0.1, the decision is "
            "deny.");
  auto anonymous = Send({}, "orders");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->remark.value_or(""), "username cannot be null.");
  auto wrong = Send({"bob", "guessed", ""}, "orders");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->remark.value_or(""), "check signature failed.");
  // Bob is no administrator: no users, no topics, no broker config.
  Out by_bob = Admin("createUser -u eve -p evePass123" + b, "bob", "bobPass123");
  EXPECT_NE(by_bob.code, 0);
  EXPECT_NE(by_bob.text.find("no permission to access Cluster:DefaultCluster"), std::string::npos)
      << by_bob.text;
  auto topic = As(bob, req::kUpdateAndCreateTopic, {{"topic", "orders"}, {"perm", "2"}});
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ(topic->code, rc::kNoPermission);
  auto config = As(bob, req::kUpdateBrokerConfig, {}, "brokerPermission=4\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->code, rc::kNoPermission);

  // Reads print mqadmin's tables.
  Out user = Admin("getUser -u bob" + b);
  ASSERT_EQ(user.code, 0) << user.text;
  EXPECT_NE(user.text.find("#UserName"), std::string::npos);
  EXPECT_NE(user.text.find("Normal"), std::string::npos) << user.text;
  Out list = Admin("listAcl -s bob" + b);
  ASSERT_EQ(list.code, 0) << list.text;
  EXPECT_NE(list.text.find("Topic:orders"), std::string::npos) << list.text;
  EXPECT_NE(list.text.find("[Pub, Sub]"), std::string::npos) << list.text;
  EXPECT_NE(list.text.find("Topic:pay*"), std::string::npos) << list.text;
  // A duplicate user and a Super user made by a normal one are refused.
  Out again = Admin("createUser -u bob -p other123" + b);
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.text.find("The user is existed"), std::string::npos) << again.text;

  // Disabled: refused; deleted ACL entry: refused; users and ACLs survive a restart.
  ASSERT_EQ(Admin("updateUser -u bob -s disable" + b).code, 0);
  auto disabled = Send(bob, "orders");
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->remark.value_or(""), "User:bob is disabled.");
  ASSERT_EQ(Admin("updateUser -u bob -s enable" + b).code, 0);
  ASSERT_EQ(Admin("deleteAcl -s User:bob -r Topic:pay*" + b).code, 0);
  broker_.Stop();
  StartBroker(AuthArgs());
  auto after = Send(bob, "orders");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->code, rc::kSuccess) << after->remark.value_or("");
  auto no_match = Send(bob, "payments");
  ASSERT_TRUE(no_match.ok());
  EXPECT_EQ(no_match->remark.value_or(""),
            "User:bob has no permission to access Topic:payments from 127.0.0.1, no matched "
            "policies.");
  const std::string log = ReadAll(Log("broker.log"));
  // Refusals are logged (at most one line a second: the first one is there).
  EXPECT_NE(log.find("refused: User:bob has no permission to access Topic:payments"),
            std::string::npos);
  EXPECT_EQ(log.find("bobPass123"), std::string::npos) << "no password in the log";
  EXPECT_EQ(log.find("rootPass99"), std::string::npos) << "no password in the log";
}

TEST_F(Auth2Test, PlainAclAccountsAreImported) {
  const std::string file = (dir_ / "plain_acl.yml").string();
  std::ofstream(file) << "accounts:\n"
                         "  - accessKey: oldAdmin\n    secretKey: oldAdminSecret\n    admin: true\n"
                         "  - accessKey: oldUser\n    secretKey: oldUserSecret\n    admin: false\n"
                         "    defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n"
                         "    topicPerms:\n      - legacy=PUB\n";
  StartNamesrv();
  std::vector<std::string> args = AuthArgs();
  args.push_back("--migrateAuthFromV1Enabled=true");
  args.push_back("--aclFilePath=" + file);
  StartBroker(args);
  const acl::Credentials old_admin{"oldAdmin", "oldAdminSecret", ""};
  const acl::Credentials old_user{"oldUser", "oldUserSecret", ""};
  for (const char* t : {"legacy", "other"}) {
    auto r = As(old_admin, req::kUpdateAndCreateTopic,
                {{"topic", t}, {"readQueueNums", "1"}, {"writeQueueNums", "1"}, {"perm", "6"}});
    ASSERT_TRUE(r.ok() && r->code == rc::kSuccess) << (r.ok() ? r->remark.value_or("") : "");
  }
  auto legacy = Send(old_user, "legacy");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->code, rc::kSuccess) << legacy->remark.value_or("");
  auto other = Send(old_user, "other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->remark.value_or(""),
            "User:oldUser has no permission to access Topic:other from 127.0.0.1, the decision "
            "is deny.");
}

}  // namespace
}  // namespace ramjet::itest
