// AdminProcessor and TransactionProcessor without sockets: topic and group administration,
// runtime configuration, connection views, offset resets, END_TRANSACTION.
#include "admin_processor.h"

#include "processor_test_util.h"
#include "system_topics.h"
#include "transaction_processor.h"

namespace ramjet::broker {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

class AdminProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    admin_ = std::make_unique<AdminProcessor>(bc_.get());
  }
  template <typename Fn>
  auto H(Fn fn) {
    return [this, fn](const auto& ctx) { (admin_.get()->*fn)(ctx); };
  }
  static RemotingCommand CreateTopicRequest(const std::string& topic, int64_t queues) {
    RemotingCommand r = RemotingCommand::Request(req::kUpdateAndCreateTopic);
    r.Set("topic", topic);
    r.Set("readQueueNums", queues);
    r.Set("writeQueueNums", queues);
    r.Set("perm", int64_t{6});
    return r;
  }
  static RemotingCommand ConfigUpdate(std::string body) {
    RemotingCommand r = RemotingCommand::Request(req::kUpdateBrokerConfig);
    r.body = std::move(body);
    return r;
  }
  static RemotingCommand ResetRequest(const std::string& group, const std::string& topic) {
    RemotingCommand r = RemotingCommand::Request(req::kInvokeBrokerToResetOffset);
    r.Set("topic", topic);
    r.Set("group", group);
    r.Set("timestamp", int64_t{-1});
    r.Set("isForce", std::string("true"));
    r.language = protocol::LanguageCode::kJava;  // fastjson's form of the answer
    return r;
  }

  std::unique_ptr<AdminProcessor> admin_;
};

TEST_F(AdminProcessorTest, ATopicIsCreatedAndTheNameServersAreTold) {
  EXPECT_EQ(CodeOf(H(&AdminProcessor::UpdateAndCreateTopic), CreateTopicRequest("Orders", 8)),
            rc::kSuccess);
  auto t = bc_->topics.Find("Orders");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->write_queue_nums, 8);
  EXPECT_EQ(topics_changed_, 1);
}

TEST_F(AdminProcessorTest, SystemTopicsBadQueueCountsAndBadNamesAreRefused) {
  auto create = H(&AdminProcessor::UpdateAndCreateTopic);
  auto a = Call(create, CreateTopicRequest(kScheduleTopic, 4));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("conflict with system topic"), std::string::npos);
  EXPECT_EQ(CodeOf(create, CreateTopicRequest("Orders", 0)), rc::kSystemError);
  EXPECT_EQ(CodeOf(create, CreateTopicRequest("Orders", 2000)), rc::kSystemError);
  EXPECT_EQ(CodeOf(create, CreateTopicRequest("a/../b", 4)), rc::kSystemError);
  EXPECT_FALSE(bc_->topics.Find("Orders"));
  EXPECT_EQ(topics_changed_, 0);
}

TEST_F(AdminProcessorTest, ADeletedTopicLosesItsOffsets) {
  CreateTopic("Gone", 1);
  bc_->offsets.Commit("G", "Gone", 0, 5);
  RemotingCommand r = RemotingCommand::Request(req::kDeleteTopicInBroker);
  r.Set("topic", std::string("Gone"));
  EXPECT_EQ(CodeOf(H(&AdminProcessor::DeleteTopicInBroker), std::move(r)), rc::kSuccess);
  EXPECT_FALSE(bc_->topics.Find("Gone"));
  EXPECT_EQ(bc_->offsets.Query("G", "Gone", 0), -1);
}

TEST_F(AdminProcessorTest, ARuntimeKeyChangesTheLiveConfigurationAtOnce) {
  auto update = H(&AdminProcessor::UpdateBrokerConfig);
  auto a = Call(update, ConfigUpdate("brokerPermission=4\n"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess) << a->remark.value_or("");
  EXPECT_EQ(bc_->Live()->broker_permission, 4);
  EXPECT_EQ(bc_->config().broker_permission, 6) << "the start configuration stays";
  EXPECT_EQ(topics_changed_, 1) << "routes carry the permission";
  EXPECT_NE(a->remark->find("not persisted"), std::string::npos);
}

TEST_F(AdminProcessorTest, AnUnknownOrRefusedKeyChangesNothing) {
  auto update = H(&AdminProcessor::UpdateBrokerConfig);
  auto a = Call(update, ConfigUpdate("brokerPermission=4\nnoSuchKey=1\n"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("unknown key noSuchKey"), std::string::npos) << *a->remark;
  EXPECT_EQ(bc_->Live()->broker_permission, 6);
  a = Call(update, ConfigUpdate("storePathRootDir=/tmp/elsewhere\n"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("cannot be changed remotely"), std::string::npos) << *a->remark;
  EXPECT_EQ(CodeOf(update, ConfigUpdate("")), rc::kSystemError);
}

TEST_F(AdminProcessorTest, GetBrokerConfigShowsTheLiveValues) {
  SetLive([](BrokerConfig* c) { c->broker_permission = 2; });
  auto a =
      Call(H(&AdminProcessor::GetBrokerConfig), RemotingCommand::Request(req::kGetBrokerConfig));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_NE(a->body.find("brokerPermission=2"), std::string::npos);
  EXPECT_TRUE(a->Find("version"));
}

TEST_F(AdminProcessorTest, SubscriptionGroupBoundsAreChecked) {
  auto update = H(&AdminProcessor::UpdateSubscriptionGroup);
  auto group = [](const std::string& extra) {
    RemotingCommand r = RemotingCommand::Request(req::kUpdateAndCreateSubscriptionGroup);
    r.body = R"({"groupName":"G")" + extra + "}";
    return r;
  };
  EXPECT_EQ(CodeOf(update, group(R"(,"retryQueueNums":4)")), rc::kSuccess);
  EXPECT_EQ(bc_->groups.Find("G")->retry_queue_nums, 4);
  EXPECT_EQ(CodeOf(update, group(R"(,"retryQueueNums":5000)")), rc::kSystemError);
  EXPECT_EQ(CodeOf(update, group(R"(,"retryMaxTimes":-2)")), rc::kSystemError);
  RemotingCommand nameless = RemotingCommand::Request(req::kUpdateAndCreateSubscriptionGroup);
  nameless.body = "{}";
  EXPECT_EQ(CodeOf(update, std::move(nameless)), rc::kSystemError);
  EXPECT_EQ(bc_->groups.Find("G")->retry_queue_nums, 4);
}

TEST_F(AdminProcessorTest, ConnectionListsOfAbsentGroupsSayWhy) {
  RemotingCommand p = RemotingCommand::Request(req::kGetProducerConnectionList);
  p.Set("producerGroup", std::string("PG"));
  auto a = Call(H(&AdminProcessor::GetProducerConnectionList), std::move(p));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_EQ(a->remark.value_or(""), "the producer group not exist");
  RemotingCommand c = RemotingCommand::Request(req::kGetConsumerConnectionList);
  c.Set("consumerGroup", std::string("CG"));
  EXPECT_EQ(CodeOf(H(&AdminProcessor::GetConsumerConnectionList), std::move(c)),
            rc::kConsumerNotOnline);
}

TEST_F(AdminProcessorTest, AnOffsetResetMovesAKnownGroupToTheEnd) {
  auto reset = H(&AdminProcessor::InvokeBrokerToResetOffset);
  auto a = Call(reset, ResetRequest("Nobody", "T"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_EQ(a->remark.value_or(""), "THe consumer group <Nobody> not exist");
  ASSERT_TRUE(bc_->groups.FindOrCreate("G", true).ok());
  EXPECT_EQ(CodeOf(reset, ResetRequest("G", "NoTopic")), rc::kTopicNotExist);
  CreateTopic("T", 2);
  Store("T", 1, "x");
  Store("T", 1, "y");
  a = Call(reset, ResetRequest("G", "T"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 1), 2);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 0), 0);
  EXPECT_NE(a->body.find(R"("queueId":1,"topic":"T"}:2)"), std::string::npos) << a->body;
}

// --- END_TRANSACTION

class TransactionProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    transactions_ = std::make_unique<TransactionService>(
        bc_->store.get(), &bc_->offsets, TransactionConfig{}, bc_->config().store.store_host,
        [](const std::string&, RemotingCommand) { return false; },
        [](std::string*, int32_t*, std::string*) {});
    ASSERT_TRUE(transactions_->Load().ok());
    processor_ = std::make_unique<TransactionProcessor>(transactions_.get());
  }
  void TearDown() override {
    processor_.reset();
    transactions_.reset();
    BrokerFixture::TearDown();
  }
  std::optional<RemotingCommand> End(int64_t offset, int32_t type, int timeout_ms = 5000) {
    protocol::EndTransactionRequestHeader h;
    h.producer_group = "PG";
    h.commit_log_offset = offset;
    h.tran_state_table_offset = 0;
    h.commit_or_rollback = type;
    RemotingCommand r = RemotingCommand::Request(req::kEndTransaction);
    h.Encode(&r);
    return Call([this](const auto& ctx) { processor_->EndTransaction(ctx); }, std::move(r),
                timeout_ms);
  }
  std::unique_ptr<TransactionService> transactions_;
  std::unique_ptr<TransactionProcessor> processor_;
};

TEST_F(TransactionProcessorTest, AnUndecidedEndIsNotAnswered) { EXPECT_FALSE(End(0, 0, 200)); }

TEST_F(TransactionProcessorTest, CommittingAnUnknownHalfMessageIsASystemError) {
  auto a = End(999999, message::kTransactionCommitType);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
}

TEST_F(TransactionProcessorTest, AHeaderWithoutItsOffsetsIsRefused) {
  RemotingCommand r = RemotingCommand::Request(req::kEndTransaction);
  r.Set("producerGroup", std::string("PG"));
  auto a = Call([this](const auto& ctx) { processor_->EndTransaction(ctx); }, std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("tranStateTableOffset"), std::string::npos) << *a->remark;
}

}  // namespace
}  // namespace ramjet::broker
