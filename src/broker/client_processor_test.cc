// ClientProcessor, ConsumerOffsetProcessor and QueryProcessor without sockets: heartbeats,
// subscription checks, queue locks, consumer and queue offsets, message lookup.
#include "client_processor.h"

#include "consumer_offset_processor.h"
#include "processor_test_util.h"
#include "query_processor.h"

namespace ramjet::broker {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

class ClientProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    client_ = std::make_unique<ClientProcessor>(bc_.get());
    offsets_ = std::make_unique<ConsumerOffsetProcessor>(bc_.get());
    query_ = std::make_unique<QueryProcessor>(bc_.get());
  }
  static RemotingCommand WithBody(int32_t code, std::string body) {
    RemotingCommand r = RemotingCommand::Request(code);
    r.body = std::move(body);
    return r;
  }
  static std::string Heartbeat(const std::string& group, const std::string& type,
                               const std::string& expr) {
    protocol::HeartbeatData hb;
    hb.client_id = "127.0.0.1@1";
    protocol::ConsumerData c;
    c.group_name = group;
    protocol::SubscriptionData s;
    s.topic = "T";
    s.expression_type = type;
    s.sub_string = expr;
    c.subscription_data_set.push_back(s);
    hb.consumer_data_set.push_back(c);
    return hb.ToJson();
  }
  auto HeartBeat() {
    return [this](const auto& ctx) { client_->HeartBeat(ctx); };
  }
  auto Lock() {
    return [this](const auto& ctx) { client_->LockBatchMq(ctx); };
  }
  static std::string LockBody(const std::string& client, std::vector<int32_t> queues) {
    protocol::LockBatchRequestBody b;
    b.consumer_group = "G";
    b.client_id = client;
    for (int32_t q : queues) b.mq_set.push_back({"T", "broker-t", q});
    return b.Encode();
  }
  std::vector<int32_t> Locked(const std::string& client, std::vector<int32_t> queues) {
    auto a = Call(Lock(), WithBody(req::kLockBatchMq, LockBody(client, std::move(queues))));
    std::vector<int32_t> out;
    if (!a || a->code != rc::kSuccess) return {-1};
    auto body = protocol::LockBatchResponseBody::Decode(a->body);
    if (!body.ok()) return {-2};
    for (const auto& mq : body->lock_ok_mq_set) out.push_back(mq.queue_id);
    return out;
  }

  std::unique_ptr<ClientProcessor> client_;
  std::unique_ptr<ConsumerOffsetProcessor> offsets_;
  std::unique_ptr<QueryProcessor> query_;
};

TEST_F(ClientProcessorTest, AHeartbeatCreatesTheGroupAndItsRetryTopic) {
  EXPECT_EQ(CodeOf(HeartBeat(), WithBody(req::kHeartBeat, Heartbeat("G", "TAG", "*"))),
            rc::kSuccess);
  EXPECT_TRUE(bc_->groups.Find("G"));
  EXPECT_TRUE(bc_->topics.Find("%RETRY%G"));
  EXPECT_EQ(topics_changed_, 1) << "the name servers hear of the retry topic";
}

TEST_F(ClientProcessorTest, BadHeartbeatsAreRefusedAndCreateNothing) {
  EXPECT_EQ(CodeOf(HeartBeat(), WithBody(req::kHeartBeat, "{not json")), rc::kSystemError);
  EXPECT_EQ(CodeOf(HeartBeat(), WithBody(req::kHeartBeat, Heartbeat("../etc", "TAG", "*"))),
            rc::kSystemError);
  EXPECT_TRUE(bc_->groups.List().empty());
}

TEST_F(ClientProcessorTest, ABadSqlSubscriptionIsReportedAsAParseFailure) {
  SetLive([](BrokerConfig* c) { c->enable_property_filter = true; });
  auto a = Call(HeartBeat(), WithBody(req::kHeartBeat, Heartbeat("G", "SQL92", "a >")));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSubscriptionParseFailed);
  EXPECT_NE(a->remark->find("consumer group G, topic T"), std::string::npos) << *a->remark;
}

TEST_F(ClientProcessorTest, CheckClientConfigJudgesSqlSubscriptions) {
  auto check = [this](const auto& ctx) { client_->CheckClientConfig(ctx); };
  auto body = [](const std::string& type, const std::string& expr) {
    return R"({"group":"G","subscriptionData":{"expressionType":")" + type + R"(","subString":")" +
           expr + R"("}})";
  };
  SetLive([](BrokerConfig* c) { c->enable_property_filter = true; });
  EXPECT_EQ(CodeOf(check, WithBody(req::kCheckClientConfig, body("SQL92", "a > 1"))), rc::kSuccess);
  EXPECT_EQ(CodeOf(check, WithBody(req::kCheckClientConfig, body("SQL92", "a >"))),
            rc::kSubscriptionParseFailed);
  EXPECT_EQ(CodeOf(check, WithBody(req::kCheckClientConfig, body("TAG", "a || b"))), rc::kSuccess);
  EXPECT_EQ(CodeOf(check, WithBody(req::kCheckClientConfig, "[]")), rc::kSystemError);
  SetLive([](BrokerConfig* c) { c->enable_property_filter = false; });
  EXPECT_EQ(CodeOf(check, WithBody(req::kCheckClientConfig, body("SQL92", "a > 1"))),
            rc::kSystemError);
}

TEST_F(ClientProcessorTest, AQueueIsLockedByOneClientUntilItUnlocks) {
  EXPECT_EQ(Locked("c1", {0, 1}), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(Locked("c2", {1, 2}), (std::vector<int32_t>{2}));
  EXPECT_EQ(Locked("c1", {0, 1}), (std::vector<int32_t>{0, 1})) << "renewal";
  auto unlock = [this](const auto& ctx) { client_->UnlockBatchMq(ctx); };
  EXPECT_EQ(CodeOf(unlock, WithBody(req::kUnlockBatchMq, LockBody("c1", {1}))), rc::kSuccess);
  EXPECT_EQ(Locked("c2", {1}), (std::vector<int32_t>{1}));
  EXPECT_EQ(CodeOf(Lock(), WithBody(req::kLockBatchMq, R"({"consumerGroup":"G"})")),
            rc::kSystemError);
}

TEST_F(ClientProcessorTest, AGroupWithoutConsumersHasNoConsumerList) {
  RemotingCommand r = RemotingCommand::Request(req::kGetConsumerListByGroup);
  r.Set("consumerGroup", std::string("G"));
  auto a = Call([this](const auto& ctx) { client_->GetConsumerList(ctx); }, std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_EQ(a->remark.value_or(""), "no consumer for this group, G");
}

// --- consumer and queue offsets

RemotingCommand QueryOffset(std::optional<bool> zero_if_not_found) {
  protocol::QueryConsumerOffsetRequestHeader h;
  h.consumer_group = "G";
  h.topic = "T";
  h.queue_id = 0;
  h.set_zero_if_not_found = zero_if_not_found;
  RemotingCommand r = RemotingCommand::Request(req::kQueryConsumerOffset);
  h.Encode(&r);
  return r;
}

TEST_F(ClientProcessorTest, AnUncommittedOffsetOfAYoungQueueIsZeroUnlessAskedNotTo) {
  CreateTopic("T", 1);
  auto query = [this](const auto& ctx) { offsets_->QueryConsumerOffset(ctx); };
  auto a = Call(query, QueryOffset(std::nullopt));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_EQ(a->Find("offset").value_or(""), "0");
  EXPECT_EQ(CodeOf(query, QueryOffset(false)), rc::kQueryNotFound);
}

TEST_F(ClientProcessorTest, ACommittedOffsetIsWhatQueriesReturn) {
  protocol::UpdateConsumerOffsetRequestHeader h{"G", "T", 0, 42};
  RemotingCommand r = RemotingCommand::Request(req::kUpdateConsumerOffset);
  h.Encode(&r);
  EXPECT_EQ(CodeOf([this](const auto& ctx) { offsets_->UpdateConsumerOffset(ctx); }, std::move(r)),
            rc::kSuccess);
  auto a =
      Call([this](const auto& ctx) { offsets_->QueryConsumerOffset(ctx); }, QueryOffset(false));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Find("offset").value_or(""), "42");
  RemotingCommand missing = RemotingCommand::Request(req::kUpdateConsumerOffset);
  missing.Set("consumerGroup", std::string("G"));
  EXPECT_EQ(
      CodeOf([this](const auto& ctx) { offsets_->UpdateConsumerOffset(ctx); }, std::move(missing)),
      rc::kSystemError);
}

TEST_F(ClientProcessorTest, QueueQueriesAnswerMaxMinAndEarliestTime) {
  CreateTopic("T", 1);
  Store("T", 0, "a");
  Store("T", 0, "b");
  auto ask = [this](int32_t code, int32_t queue) -> std::string {
    protocol::QueueRequestHeader h;
    h.topic = "T";
    h.queue_id = queue;
    if (code == req::kSearchOffsetByTimestamp) h.timestamp = 0;
    RemotingCommand r = RemotingCommand::Request(code);
    h.Encode(&r);
    auto a = Call([this](const auto& ctx) { offsets_->QueueQuery(ctx); }, std::move(r));
    if (!a || a->code != rc::kSuccess) return "error";
    return std::string(a->Find(code == req::kGetEarliestMsgStoretime ? "timestamp" : "offset")
                           .value_or("missing"));
  };
  EXPECT_EQ(ask(req::kGetMaxOffset, 0), "2");
  EXPECT_EQ(ask(req::kGetMinOffset, 0), "0");
  EXPECT_EQ(ask(req::kSearchOffsetByTimestamp, 0), "0");
  EXPECT_NE(ask(req::kGetEarliestMsgStoretime, 0), "-1");
  EXPECT_EQ(ask(req::kGetEarliestMsgStoretime, 5), "-1") << "an unknown queue";
  RemotingCommand no_ts = RemotingCommand::Request(req::kSearchOffsetByTimestamp);
  no_ts.Set("topic", std::string("T"));
  no_ts.Set("queueId", int64_t{0});
  EXPECT_EQ(CodeOf([this](const auto& ctx) { offsets_->QueueQuery(ctx); }, std::move(no_ts)),
            rc::kSystemError);
}

// --- message lookup

TEST_F(ClientProcessorTest, AKeyThatMatchesNothingIsQueryNotFound) {
  CreateTopic("T", 1);
  RemotingCommand r = RemotingCommand::Request(req::kQueryMessage);
  r.Set("topic", std::string("T"));
  r.Set("key", std::string("nope"));
  r.Set("maxNum", int64_t{32});
  r.Set("beginTimestamp", int64_t{0});
  r.Set("endTimestamp", int64_t{INT64_MAX});
  auto a = Call([this](const auto& ctx) { query_->QueryMessage(ctx); }, std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kQueryNotFound);
  EXPECT_EQ(a->Find("indexLastUpdateTimestamp").value_or(""), "0");
}

TEST_F(ClientProcessorTest, ViewByOffsetFindsTheRecordOrSaysItCannot) {
  CreateTopic("T", 1);
  const int64_t off = Store("T", 0, "viewed");
  auto view = [this](const auto& ctx) { query_->ViewMessageById(ctx); };
  RemotingCommand r = RemotingCommand::Request(req::kViewMessageById);
  r.Set("offset", off);
  auto a = Call(view, std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_NE(a->body.find("viewed"), std::string::npos);
  RemotingCommand bad = RemotingCommand::Request(req::kViewMessageById);
  bad.Set("offset", int64_t{12345678});
  a = Call(view, std::move(bad));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_EQ(a->remark.value_or(""), "can not find message by the offset, 12345678");
}

}  // namespace
}  // namespace ramjet::broker
