// ACL 2.0: resource patterns, the choice among matching entries, source addresses, the store's
// edit semantics and persistence, and the authorizer's decisions and texts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "ramjet/acl/auth_model.h"
#include "ramjet/acl/auth_store.h"
#include "ramjet/acl/authorizer.h"
#include "ramjet/acl/plain_acl.h"
#include "ramjet/acl/signature.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::acl {
namespace {

namespace req = protocol::request_code;
using protocol::RemotingCommand;

TEST(AuthContexts, BatchAckNeedsSubOnEveryGroupAndTopicOfItsBody) {
  protocol::BatchAckMessageRequestBody body;
  body.acks.push_back({"g1", "t1", 0, 0, 0, 0, 0, 0, {1}});
  body.acks.push_back({"g2", "%RETRY%g2_t1", 0, 0, 0, 0, 0, 0, {2}});  // g2's own: for t1
  RemotingCommand r = RemotingCommand::Request(req::kBatchAckMessage);
  r.body = body.Encode();
  auto contexts = ContextsOf(r, "DefaultCluster");
  ASSERT_TRUE(contexts.ok()) << contexts.status().ToString();
  std::vector<std::string> keys;
  for (const auto& c : *contexts) {
    EXPECT_EQ(c.actions, action::kSub);
    keys.push_back(c.resource.Key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"Group:g1", "Topic:t1", "Group:g2", "Topic:t1"}));
  // Another group's retry topic is that group's.
  body.acks[1].topic = "%RETRY%g3";
  r.body = body.Encode();
  contexts = ContextsOf(r, "DefaultCluster");
  ASSERT_TRUE(contexts.ok());
  EXPECT_EQ(contexts->back().resource.Key(), "Group:g3");
  r.body = "not json";  // unreadable: refused, never "no context"
  EXPECT_FALSE(ContextsOf(r, "DefaultCluster").ok());
}

TEST(AuthModel, ResourcesParseMatchAndPrint) {
  auto any = Resource::Parse("*");
  auto topics = Resource::Parse("topic:*");
  auto prefix = Resource::Parse("Topic:order*");
  auto literal = Resource::Parse("Topic:orders");
  ASSERT_TRUE(any && topics && prefix && literal);
  EXPECT_EQ(topics->Key(), "Topic:*") << "canonical spelling";
  EXPECT_EQ(prefix->Key(), "Topic:order*");
  const Resource t = Resource::Literal(ResourceType::kTopic, "orders");
  const Resource g = Resource::Literal(ResourceType::kGroup, "orders");
  EXPECT_TRUE(any->Matches(g));
  EXPECT_TRUE(topics->Matches(t));
  EXPECT_FALSE(topics->Matches(g));
  EXPECT_TRUE(prefix->Matches(t));
  EXPECT_FALSE(prefix->Matches(Resource::Literal(ResourceType::kTopic, "ord")));
  EXPECT_TRUE(literal->Matches(t));
  EXPECT_FALSE(literal->Matches(Resource::Literal(ResourceType::kTopic, "orders2")));
  EXPECT_FALSE(Resource::Parse("Queue:x").has_value());
  EXPECT_FALSE(Resource::Parse("orders").has_value());
}

TEST(AuthModel, SourceAddressesAndCidrs) {
  EXPECT_TRUE(SourceIpMatches("10.0.0.0/8", "10.1.2.3"));
  EXPECT_FALSE(SourceIpMatches("10.0.0.0/8", "11.1.2.3"));
  EXPECT_TRUE(SourceIpMatches("192.168.1.7", "192.168.1.7"));
  EXPECT_TRUE(SourceIpMatches("fd00::/8", "fd12::1"));
  EXPECT_FALSE(SourceIpMatches("fd00::/8", "10.1.2.3"));
  EXPECT_FALSE(ValidSourceIp("10.0.0.0/33"));
  EXPECT_FALSE(ValidSourceIp("not-an-ip"));
}

Acl MakeAcl(const std::string& json) {
  auto acl = ParseAclInfo(json, "");
  EXPECT_TRUE(acl.ok()) << acl.status().ToString();
  return acl.ok() ? *acl : Acl{};
}

TEST(AuthModel, TheMostSpecificEntryDecidesAndDenyWinsTies) {
  const Acl acl = MakeAcl(R"({"subject":"User:bob","policies":[
    {"policyType":"Custom","entries":[
      {"resource":"Topic:*","actions":["Pub","Sub"],"decision":"Allow"},
      {"resource":"Topic:secret*","actions":["All"],"decision":"Deny"},
      {"resource":"Topic:secret-ok","actions":["Pub"],"decision":"Allow"},
      {"resource":"Group:g1","actions":["Sub"],"decision":"Allow","sourceIps":["10.0.0.0/8"]},
      {"resource":"Topic:tie","actions":["Pub"],"decision":"Allow"},
      {"resource":"Topic:tie","actions":["Pub"],"decision":"Deny"}]},
    {"policyType":"Default","entries":[{"resource":"*","actions":["Get"],"decision":"Allow"}]}]})");
  auto decide = [&](ResourceType t, const std::string& name, uint16_t a,
                    const std::string& ip = "10.1.1.1") {
    return Decide(&acl, "User:bob", {Resource::Literal(t, name), a}, ip);
  };
  EXPECT_TRUE(decide(ResourceType::kTopic, "orders", action::kPub).ok());
  EXPECT_EQ(decide(ResourceType::kTopic, "secret-x", action::kPub).message(),
            "User:bob has no permission to access Topic:secret-x from 10.1.1.1, the decision is "
            "deny.");
  EXPECT_TRUE(decide(ResourceType::kTopic, "secret-ok", action::kPub).ok()) << "literal first";
  EXPECT_FALSE(decide(ResourceType::kTopic, "secret-ok", action::kSub).ok())
      << "the literal entry does not cover Sub: the prefixed Deny decides";
  EXPECT_TRUE(decide(ResourceType::kGroup, "g1", action::kSub).ok());
  EXPECT_FALSE(decide(ResourceType::kGroup, "g1", action::kSub, "192.168.0.1").ok());
  EXPECT_FALSE(decide(ResourceType::kTopic, "tie", action::kPub).ok()) << "Deny wins a tie";
  EXPECT_TRUE(decide(ResourceType::kGroup, "g2", action::kGet).ok()) << "the Default policy";
  EXPECT_EQ(decide(ResourceType::kGroup, "g2", action::kSub).message(),
            "User:bob has no permission to access Group:g2 from 10.1.1.1, no matched policies.");
}

TEST(AuthModel, AclBodiesAreCheckedWithApachesTexts) {
  auto err = [](const std::string& json) {
    return std::string(ParseAclInfo(json, "User:x").status().message());
  };
  EXPECT_EQ(err(R"({"policies":[]})"), "The policies is empty.");
  EXPECT_EQ(
      err(R"({"policies":[{"entries":[{"resource":"Queue:q","actions":["Pub"],"decision":"Allow"}]}]})"),
      "The resource is null.");
  EXPECT_EQ(
      err(R"({"policies":[{"entries":[{"resource":"Topic:t","actions":["Fly"],"decision":"Allow"}]}]})"),
      "The actions is empty.");
  EXPECT_EQ(
      err(R"({"policies":[{"entries":[{"resource":"Topic:t","actions":["Any"],"decision":"Allow"}]}]})"),
      "The actions can not be Any.");
  EXPECT_EQ(
      err(R"({"policies":[{"entries":[{"resource":"Topic:t","actions":["Pub"],"sourceIps":["x"],"decision":"Allow"}]}]})"),
      "The source ip is invalid.");
  EXPECT_EQ(
      err(R"({"policies":[{"entries":[{"resource":"Topic:t","actions":["Pub"],"decision":"Maybe"}]}]})"),
      "The decision is null or illegal.");
  const Acl ok = MakeAcl(
      R"({"subject":"User:a","policies":[{"entries":[{"resource":"topic:t","actions":["pub","SUB"],"decision":"allow"}]}]})");
  EXPECT_EQ(
      AclToJson(ok),
      R"({"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:t"}],"policyType":"Custom"}],"subject":"User:a"})");
}

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ramjet-auth2-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "auth.json").string();
    auto s = AuthStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<AuthStore> store_;
};

TEST_F(AuthStoreTest, UsersAndAclsPersistWithApachesEditSemantics) {
  ASSERT_TRUE(
      store_->CreateUser({"alice", "alicePass1", UserType::kNormal, UserStatus::kEnable}).ok());
  EXPECT_EQ(store_->CreateUser({"alice", "x", UserType::kNormal, UserStatus::kEnable}).message(),
            "The user is existed");
  EXPECT_EQ(store_->UpdateUser("nobody", UserInfo{}).message(), "The user is not exist");
  EXPECT_EQ(
      store_
          ->UpsertAcl(MakeAcl(
              R"({"subject":"User:nobody","policies":[{"entries":[{"resource":"Topic:t","actions":["Pub"],"decision":"Allow"}]}]})"))
          .message(),
      "The subject of User:nobody is not exist.");
  ASSERT_TRUE(store_
                  ->UpsertAcl(MakeAcl(R"({"subject":"User:alice","policies":[{"entries":[
      {"resource":"Topic:t1","actions":["Pub"],"decision":"Allow"},
      {"resource":"Topic:t2","actions":["Sub"],"decision":"Allow"}]}]})"))
                  .ok());
  // A second upsert replaces t1's entry and appends t3.
  ASSERT_TRUE(store_
                  ->UpsertAcl(MakeAcl(R"({"subject":"User:alice","policies":[{"entries":[
      {"resource":"Topic:t1","actions":["Sub"],"decision":"Deny"},
      {"resource":"Topic:t3","actions":["Pub"],"decision":"Allow"}]}]})"))
                  .ok());
  auto listed = store_->ListAcls("alice", "");
  ASSERT_EQ(listed.size(), 1u);
  ASSERT_EQ(listed[0].policies.size(), 1u);
  ASSERT_EQ(listed[0].policies[0].entries.size(), 3u);
  EXPECT_EQ(listed[0].policies[0].entries[0].decision, Decision::kDeny);
  EXPECT_EQ(store_->ListAcls("", "t3")[0].policies[0].entries.size(), 1u);
  ASSERT_TRUE(
      store_->DeleteAcl("User:alice", PolicyType::kCustom, Resource::Parse("Topic:t2")).ok());
  EXPECT_EQ(store_->DeleteAcl("User:bob", PolicyType::kCustom, std::nullopt).message(),
            "The subject is not exist.");
  // Reopened from the file: the same users and ACLs; the file is private.
  auto again = AuthStore::Open(path_);
  ASSERT_TRUE(again.ok());
  auto state = (*again)->Current();
  ASSERT_TRUE(state->users.count("alice"));
  EXPECT_EQ(state->users.at("alice").password, "alicePass1");
  EXPECT_EQ(state->acls.at("User:alice").policies[0].entries.size(), 2u);
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  // Deleting the user deletes its ACL; deleting an absent user is fine.
  ASSERT_TRUE(store_->DeleteUser("alice").ok());
  EXPECT_TRUE(store_->Current()->acls.empty());
  EXPECT_TRUE(store_->DeleteUser("alice").ok());
}

TEST_F(AuthStoreTest, AuthorizerAuthenticatesThenDecides) {
  ASSERT_TRUE(store_->EnsureSuperUser("root", "rootPass99").ok());
  ASSERT_TRUE(
      store_->CreateUser({"bob", "bobPass123", UserType::kNormal, UserStatus::kEnable}).ok());
  ASSERT_TRUE(
      store_->CreateUser({"eve", "evePass123", UserType::kNormal, UserStatus::kDisable}).ok());
  ASSERT_TRUE(store_
                  ->UpsertAcl(MakeAcl(R"({"subject":"User:bob","policies":[{"entries":[
      {"resource":"Topic:orders","actions":["Pub"],"decision":"Allow"}]}]})"))
                  .ok());
  Authorizer auth(store_.get(), {true, true, {}, {}, "DefaultCluster"});
  auto send = [](const std::string& topic) {
    RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
    r.Set("a", "PG");
    r.Set("b", topic);
    r.body = "x";
    return r;
  };
  auto as = [](RemotingCommand r, const std::string& user, const std::string& pass) {
    Sign(&r, {user, pass, ""});
    return r;
  };
  const std::string from = "127.0.0.1:5555";
  EXPECT_TRUE(auth.Check(as(send("orders"), "bob", "bobPass123"), from).ok());
  EXPECT_EQ(auth.Check(as(send("payments"), "bob", "bobPass123"), from).message(),
            "User:bob has no permission to access Topic:payments from 127.0.0.1, no matched "
            "policies.");
  EXPECT_EQ(auth.Check(send("orders"), from).message(), "username cannot be null.");
  EXPECT_EQ(auth.Check(as(send("orders"), "bob", "wrong"), from).message(),
            "check signature failed.");
  EXPECT_EQ(auth.Check(as(send("orders"), "mallory", "x"), from).message(),
            "User:mallory is not found.");
  EXPECT_EQ(auth.Check(as(send("orders"), "eve", "evePass123"), from).message(),
            "User:eve is disabled.");
  EXPECT_TRUE(auth.Check(as(send("payments"), "root", "rootPass99"), from).ok()) << "Super";
  // Admin codes: Create on the topic; unmapped admin codes need Cluster Update.
  RemotingCommand create = RemotingCommand::Request(req::kUpdateAndCreateTopic);
  create.Set("topic", "orders");
  EXPECT_FALSE(auth.Check(as(create, "bob", "bobPass123"), from).ok());
  RemotingCommand config = RemotingCommand::Request(req::kUpdateBrokerConfig);
  config.body = "brokerPermission=4\n";
  EXPECT_EQ(auth.Check(as(config, "bob", "bobPass123"), from).message(),
            "User:bob has no permission to access Cluster:DefaultCluster from 127.0.0.1, no "
            "matched policies.");
  EXPECT_TRUE(auth.Check(as(config, "root", "rootPass99"), from).ok());
  // Codes that read or write topics by other fields are decided too.
  RemotingCommand lite = RemotingCommand::Request(req::kLitePullMessage);
  lite.Set("topic", "payments");
  lite.Set("consumerGroup", "g1");
  EXPECT_FALSE(auth.Check(as(lite, "bob", "bobPass123"), from).ok());
  RemotingCommand reply = send("payments");
  reply.code = req::kSendReplyMessageV2;
  EXPECT_FALSE(auth.Check(as(reply, "bob", "bobPass123"), from).ok());
  RemotingCommand view = RemotingCommand::Request(req::kViewMessageById);
  view.Set("offset", "0");
  view.Set("topic", "orders");  // a named topic does not decide what offset 0 holds
  EXPECT_FALSE(auth.Check(as(view, "bob", "bobPass123"), from).ok());
  EXPECT_TRUE(auth.Check(as(view, "root", "rootPass99"), from).ok());
  // A whitelisted (unauthenticated) code is not decided as the user its AccessKey names.
  Authorizer lenient(store_.get(), {true, true, {req::kUpdateBrokerConfig}, {}, "DefaultCluster"});
  RemotingCommand spoofed = config;
  spoofed.Set(kAccessKeyField, "root");  // no signature
  EXPECT_FALSE(lenient.Check(spoofed, from).ok());
  EXPECT_FALSE(lenient.Caller(spoofed).has_value());
  // gRPC: the same users, the date-time signature.
  const std::string dt = "20261206T101010Z";
  const std::string header =
      "MQv2-HMAC-SHA1 Credential=bob, SignedHeaders=x-mq-date-time, Signature=" +
      GrpcSignature(dt, "bobPass123");
  EXPECT_TRUE(auth.CheckGrpc(header, dt, from, {{"orders", kPub}}).ok());
  EXPECT_FALSE(auth.CheckGrpc(header, dt, from, {{"orders", kSub}}).ok());
  EXPECT_EQ(auth.CheckGrpc(header, "20261206T101011Z", from, {}).message(),
            "check signature failed.");
  EXPECT_EQ(auth.CheckGrpc("", dt, from, {}).message(), "username cannot be null.");
}

}  // namespace
}  // namespace ramjet::acl
