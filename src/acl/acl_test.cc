#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "ramjet/acl/acl_validator.h"
#include "ramjet/acl/plain_acl.h"
#include "ramjet/acl/signature.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::acl {
namespace {

namespace req = protocol::request_code;
using protocol::RemotingCommand;

// The signature Apache's Java client computes for this request (AclClientRPCHook 4.9.8 with
// SessionCredentials("RocketMQ", "12345678")); tests/java AclTest computes it with the Java
// client and pins the same value.
constexpr char kGoldenSignature[] = "xTfkVYh3/06t1J/W3ZFyQ2RjBGQ=";

RemotingCommand GoldenRequest() {
  RemotingCommand r = RemotingCommand::Request(req::kSendMessage);
  r.Set("a", "producerGroup");
  r.Set("b", "TopicTest");
  r.body = "Hello RocketMQ \xc3\xa9";
  return r;
}

TEST(Signature, MatchesTheJavaClientsGoldenVector) {
  RemotingCommand r = GoldenRequest();
  Sign(&r, {"RocketMQ", "12345678", ""});
  EXPECT_EQ(r.ext_fields.at("AccessKey"), "RocketMQ");
  EXPECT_EQ(r.ext_fields.at("Signature"), kGoldenSignature);
  // The server's content leaves Signature (and _UNIQUE_KEY_QUERY) out.
  EXPECT_EQ(CalSignature(SignedContent(r, true), "12345678"), kGoldenSignature);
  r.Set("_UNIQUE_KEY_QUERY", "true");
  EXPECT_EQ(CalSignature(SignedContent(r, true), "12345678"), kGoldenSignature);
}

constexpr char kYaml[] = R"(
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.{1,2}
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    admin: true
)";

AclConfig Config() {
  auto c = AclConfig::Parse(kYaml);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

Status Check(const AclConfig& c, RemotingCommand r, const std::string& ak, const std::string& sk,
             const std::string& from = "127.0.0.1:50000") {
  if (!ak.empty()) Sign(&r, {ak, sk, ""});
  auto parsed = ParseRequest(r, from);
  if (!parsed.ok()) return parsed.status();
  return Validate(c, *parsed);
}

RemotingCommand SendV2(const std::string& group, const std::string& topic) {
  RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
  r.Set("a", group);
  r.Set("b", topic);
  r.body = "x";
  return r;
}

RemotingCommand Pull(const std::string& group, const std::string& topic) {
  RemotingCommand r = RemotingCommand::Request(req::kPullMessage);
  r.Set("consumerGroup", group);
  r.Set("topic", topic);
  return r;
}

TEST(PlainAcl, DecidesAsApachesValidator) {
  const AclConfig c = Config();
  EXPECT_TRUE(Check(c, SendV2("P", "topicB"), "RocketMQ", "12345678").ok());
  EXPECT_EQ(Check(c, SendV2("P", "topicA"), "RocketMQ", "12345678").message(),
            "No default permission for topic:topicA");
  EXPECT_EQ(Check(c, SendV2("P", "topicC"), "RocketMQ", "12345678").message(),
            "No default permission for topic:topicC");
  EXPECT_EQ(Check(c, SendV2("P", "other"), "RocketMQ", "12345678").message(),
            "No default permission for topic:other");  // defaultTopicPerm DENY
  EXPECT_TRUE(Check(c, Pull("groupB", "topicC"), "RocketMQ", "12345678").ok());
  EXPECT_TRUE(Check(c, Pull("anyGroup", "topicB"), "RocketMQ", "12345678").ok());  // default SUB
  EXPECT_EQ(Check(c, Pull("groupA", "topicB"), "RocketMQ", "12345678").message(),
            "No default permission for group:groupA");
  // Batches, replies and the lite pull consumer's code are checked like sends and pulls.
  for (int32_t code : {req::kSendBatchMessage, req::kSendReplyMessageV2}) {
    RemotingCommand batch = SendV2("P", "topicA");
    batch.code = code;
    EXPECT_EQ(Check(c, batch, "RocketMQ", "12345678").message(),
              "No default permission for topic:topicA")
        << code;
  }
  RemotingCommand lite = Pull("groupB", "topicA");
  lite.code = req::kLitePullMessage;
  EXPECT_EQ(Check(c, lite, "RocketMQ", "12345678").message(),
            "No default permission for topic:topicA");
  RemotingCommand direct = RemotingCommand::Request(req::kConsumeMessageDirectly);
  direct.Set("consumerGroup", "groupB");
  EXPECT_FALSE(Check(c, direct, "RocketMQ", "12345678").ok()) << "admin only";
  // Another group's retry and dead-letter topics: SUB on that group, whatever group is named.
  EXPECT_EQ(Check(c, SendV2("groupB", "%RETRY%groupA"), "RocketMQ", "12345678").message(),
            "No default permission for group:groupA");
  EXPECT_EQ(Check(c, SendV2("groupB", "%DLQ%groupA"), "RocketMQ", "12345678").message(),
            "No default permission for group:groupA");
  EXPECT_TRUE(
      Check(c, SendV2("CLIENT_INNER_PRODUCER", "%RETRY%groupB"), "RocketMQ", "12345678").ok());
  // Publishing trace data needs no permission.
  EXPECT_TRUE(Check(c, SendV2("P", "RMQ_SYS_TRACE_TOPIC"), "RocketMQ", "12345678").ok());
  // Credentials.
  EXPECT_EQ(Check(c, SendV2("P", "topicB"), "RocketMQ", "wrong-secret").message(),
            "Check signature failed for accessKey=RocketMQ");
  EXPECT_EQ(Check(c, SendV2("P", "topicB"), "unknownKey", "12345678").message(),
            "No acl config for unknownKey");
  EXPECT_EQ(Check(c, SendV2("P", "topicB"), "", "").message(), "No accessKey is configured");
  // A request altered after signing.
  RemotingCommand tampered = SendV2("P", "topicB");
  Sign(&tampered, {"RocketMQ", "12345678", ""});
  tampered.Set("b", "topicA");
  EXPECT_EQ(Validate(c, *ParseRequest(tampered, "127.0.0.1:1")).message(),
            "Check signature failed for accessKey=RocketMQ");
  // Admin codes.
  RemotingCommand del = RemotingCommand::Request(req::kDeleteTopicInBroker);
  del.Set("topic", "topicB");
  EXPECT_EQ(Check(c, del, "RocketMQ", "12345678").message(),
            "Need admin permission for request code=215, but accessKey=RocketMQ is not");
  EXPECT_TRUE(Check(c, del, "rocketmq2", "12345678").ok());
  RemotingCommand reset = RemotingCommand::Request(req::kInvokeBrokerToResetOffset);
  EXPECT_FALSE(Check(c, reset, "RocketMQ", "12345678").ok());
  // White addresses: the account's (no signature needed) and the global ones.
  EXPECT_TRUE(Check(c, del, "rocketmq2", "bad-secret", "192.168.1.7:1234").ok());
  EXPECT_FALSE(Check(c, del, "rocketmq2", "bad-secret", "192.168.2.7:1234").ok());
  EXPECT_TRUE(Check(c, del, "", "", "10.10.103.9:1").ok());
  EXPECT_TRUE(Check(c, del, "", "", "192.168.0.2:1").ok());
  EXPECT_FALSE(Check(c, del, "", "", "192.168.0.3:1").ok());
}

TEST(PlainAcl, GrpcCallsAreAuthenticatedByTheirDateTimeSignature) {
  const AclConfig c = Config();
  const std::string dt = "20261206T070000Z";
  const std::string sig = GrpcSignature(dt, "12345678");
  EXPECT_EQ(sig, "4860F85CD836D2FBEDF49F3BCFC4106FECB31767");  // openssl dgst -sha1 -hmac
  EXPECT_EQ(sig.find_first_not_of("0123456789ABCDEF"), std::string::npos) << "upper-case hex";
  auto auth = [](const std::string& ak, const std::string& s) {
    return "MQv2-HMAC-SHA1 Credential=" + ak + ", SignedHeaders=x-mq-date-time, Signature=" + s;
  };
  bool forbidden = false;
  auto v = [&](const std::string& a, const std::string& d, const std::string& ip,
               std::map<std::string, uint8_t> resources = {}) {
    return ValidateGrpc(c, a, d, ip, resources, &forbidden);
  };
  EXPECT_TRUE(v(auth("RocketMQ", sig), dt, "127.0.0.1").ok());
  EXPECT_EQ(v(auth("RocketMQ", sig), "20261206T070001Z", "127.0.0.1").message(),
            "Check signature failed for accessKey=RocketMQ");
  EXPECT_FALSE(forbidden) << "an authentication failure";
  EXPECT_EQ(v(auth("Nobody1", sig), dt, "127.0.0.1").message(), "No acl config for Nobody1");
  EXPECT_EQ(v("", dt, "127.0.0.1").message(), "No accessKey is configured");
  EXPECT_TRUE(v("", dt, "10.10.103.7").ok()) << "a global white address";
  // The call's resources, as ACL 1.0 decides them for 4.x requests.
  EXPECT_TRUE(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicB", kPub}}).ok());
  EXPECT_EQ(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicC", kPub}}).message(),
            "No default permission for topic:topicC");
  EXPECT_TRUE(forbidden);
  EXPECT_TRUE(
      v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicC", kSub}, {"%RETRY%groupX", kSub}}).ok());
  EXPECT_EQ(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicC", kSub}, {"%RETRY%groupA", kSub}})
                .message(),
            "No default permission for group:groupA");
  EXPECT_TRUE(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicC", kAny}}).ok()) << "QueryRoute";
  // The trace topic is exempt by itself only: it does not carry a batch's other topics.
  EXPECT_TRUE(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"RMQ_SYS_TRACE_TOPIC", kPub}}).ok());
  EXPECT_FALSE(
      v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"RMQ_SYS_TRACE_TOPIC", kPub}, {"topicA", kPub}})
          .ok());
  EXPECT_FALSE(v(auth("RocketMQ", sig), dt, "127.0.0.1", {{"topicA", kAny}}).ok());
}

TEST(PlainAcl, PopCodesNeedSubOnTheGroupAndTheTopic) {
  const AclConfig c = Config();
  for (int32_t code : {req::kPopMessage, req::kAckMessage, req::kPeekMessage,
                       req::kChangeMessageInvisibleTime, req::kNotification}) {
    RemotingCommand pop = Pull("groupB", "topicC");
    pop.code = code;
    EXPECT_TRUE(Check(c, pop, "RocketMQ", "12345678").ok()) << code;
    pop = Pull("groupA", "topicC");
    pop.code = code;
    EXPECT_EQ(Check(c, pop, "RocketMQ", "12345678").message(),
              "No default permission for group:groupA")
        << code;
    pop = Pull("groupB", "topicA");
    pop.code = code;
    EXPECT_EQ(Check(c, pop, "RocketMQ", "12345678").message(),
              "No default permission for topic:topicA")
        << code;
  }
  // A group's own POP retry topic stands for its topic; another group's retry topic needs SUB
  // on that group.
  RemotingCommand retry = Pull("groupB", "%RETRY%groupB_topicC");
  retry.code = req::kAckMessage;
  EXPECT_TRUE(Check(c, retry, "RocketMQ", "12345678").ok());
  retry = Pull("groupB", "%RETRY%groupB_topicA");
  retry.code = req::kAckMessage;
  EXPECT_EQ(Check(c, retry, "RocketMQ", "12345678").message(),
            "No default permission for topic:topicA");
  retry = Pull("groupB", "%RETRY%groupA");
  retry.code = req::kPopMessage;
  EXPECT_EQ(Check(c, retry, "RocketMQ", "12345678").message(),
            "No default permission for group:groupA");
  // BATCH_ACK names its groups and topics in the body: every one is checked.
  protocol::BatchAckMessageRequestBody body;
  body.acks.push_back({"groupB", "topicC", 0, 0, 0, 0, 0, 0, {1}});
  body.acks.push_back({"groupA", "topicC", 0, 0, 0, 0, 0, 0, {2}});
  RemotingCommand batch = RemotingCommand::Request(req::kBatchAckMessage);
  batch.body = body.Encode();
  EXPECT_EQ(Check(c, batch, "RocketMQ", "12345678").message(),
            "No default permission for group:groupA");
  body.acks.pop_back();
  batch.body = body.Encode();
  EXPECT_TRUE(Check(c, batch, "RocketMQ", "12345678").ok());
  batch.body = "not json";
  EXPECT_FALSE(Check(c, batch, "RocketMQ", "12345678").ok());
}

TEST(PlainAcl, HeartbeatsNeedSubOnEveryGroupAndTopic) {
  const AclConfig c = Config();
  protocol::HeartbeatData hb;
  hb.client_id = "c";
  protocol::ConsumerData cd;
  cd.group_name = "groupB";
  cd.subscription_data_set.push_back(protocol::SubscriptionData::ForTags("topicC", "*", 1));
  hb.consumer_data_set.push_back(cd);
  RemotingCommand r = RemotingCommand::Request(req::kHeartBeat);
  r.body = hb.ToJson();
  EXPECT_TRUE(Check(c, r, "RocketMQ", "12345678").ok());
  hb.consumer_data_set[0].subscription_data_set.push_back(
      protocol::SubscriptionData::ForTags("topicA", "*", 1));
  r.body = hb.ToJson();
  EXPECT_EQ(Check(c, r, "RocketMQ", "12345678").message(),
            "No default permission for topic:topicA");
  r.body = "{not json";
  EXPECT_FALSE(Check(c, r, "RocketMQ", "12345678").ok());
}

TEST(PlainAcl, AddressPatternsAndPerms) {
  auto p = AddressPattern::Parse("192.168.1.10-20");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Match("192.168.1.15"));
  EXPECT_FALSE(p->Match("192.168.1.21"));
  auto list = AddressPattern::Parse("10.0.0.1,10.0.0.2");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Match("10.0.0.2"));
  EXPECT_FALSE(list->Match("10.0.0.3"));
  EXPECT_TRUE(AddressPattern::Parse("*")->Match("8.8.8.8"));
  EXPECT_FALSE(AddressPattern::Parse("")->Match("127.0.0.1"));
  EXPECT_FALSE(AddressPattern::Parse("1.2.3").ok());
  EXPECT_FALSE(AddressPattern::Parse("1.2.3.999").ok());
  EXPECT_TRUE(AddressPattern::Parse("*")->Match("not-an-ip"));
  EXPECT_EQ(ParsePerm("PUB|SUB"), kPub | kSub);
  EXPECT_EQ(ParsePerm("nonsense"), kDeny);
  EXPECT_FALSE(CheckPermission(kPub, kDeny | kPub));
  EXPECT_TRUE(CheckPermission(kAny, kSub));
}

TEST(PlainAcl, BadFilesAreErrors) {
  EXPECT_FALSE(AclConfig::Parse("accounts: [ {accessKey: short, secretKey: x} ]").ok());
  EXPECT_FALSE(AclConfig::Parse("accounts:\n  - accessKey: abcdefg\n    secretKey: abcdefg\n"
                                "  - accessKey: abcdefg\n    secretKey: hijklmn\n")
                   .ok());  // duplicate key
  EXPECT_FALSE(AclConfig::Parse("accounts:\n  - accessKey: abcdefg\n    secretKey: abcdefg\n"
                                "    topicPerms: [ noEquals ]\n")
                   .ok());
  EXPECT_FALSE(AclConfig::Parse("[unclosed").ok());
  EXPECT_TRUE(AclConfig::Parse("").ok());
}

TEST(AclValidator, ReloadsTheFileWhenItChangesAndKeepsTheLastGoodOne) {
  char dir[] = "/tmp/ramjet-acl-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/plain_acl.yml";
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::trunc) << text; };
  write("accounts:\n  - accessKey: firstKey\n    secretKey: 12345678\n    defaultTopicPerm: PUB\n");
  EXPECT_FALSE(AclValidator::Open(path + ".missing").ok());
  auto v = AclValidator::Open(path);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  RemotingCommand send = SendV2("P", "T");
  Sign(&send, {"firstKey", "12345678", ""});
  EXPECT_TRUE((*v)->Check(send, "127.0.0.1:1").ok());
  write(
      "accounts:\n  - accessKey: secondKey\n    secretKey: 12345678\n    defaultTopicPerm: PUB\n"
      "# longer than before\n");
  bool reloaded = false;
  for (int i = 0; i < 40 && !reloaded; ++i) {  // looked at once a second
    reloaded = !(*v)->Check(send, "127.0.0.1:1").ok();
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(reloaded) << "the first key is gone after the file changed";
  write("accounts: [ broken");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  RemotingCommand second = SendV2("P", "T");
  Sign(&second, {"secondKey", "12345678", ""});
  EXPECT_TRUE((*v)->Check(second, "127.0.0.1:1").ok()) << "a broken file keeps the last accounts";
  std::remove(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace ramjet::acl

namespace ramjet::acl {
namespace {

TEST(SignedByTest, OnlyTheClusterCredentialPasses) {
  const Credentials cluster{"clusterKey", "clusterSecret99", ""};
  protocol::RemotingCommand r = protocol::RemotingCommand::Request(103);
  r.Set("brokerName", "b1");
  r.body = "{}";
  EXPECT_FALSE(SignedBy(r, cluster)) << "unsigned";
  Sign(&r, cluster);
  EXPECT_TRUE(SignedBy(r, cluster));
  EXPECT_FALSE(SignedBy(r, Credentials{"clusterKey", "otherSecret", ""}));
  EXPECT_FALSE(SignedBy(r, Credentials{}));
  protocol::RemotingCommand tampered = r;
  tampered.Set("brokerName", "b2");
  EXPECT_FALSE(SignedBy(tampered, cluster));
  protocol::RemotingCommand other = protocol::RemotingCommand::Request(103);
  other.Set("brokerName", "b1");
  other.body = "{}";
  Sign(&other, Credentials{"otherKey", "clusterSecret99", ""});
  EXPECT_FALSE(SignedBy(other, cluster)) << "same secret, another key";
}

}  // namespace
}  // namespace ramjet::acl
