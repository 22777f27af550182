// PullProcessor without sockets: each refusal a pull can get, found / not found / offset moved,
// filters, and a long-polling pull woken by an arrival.
#include "pull_processor.h"

#include "processor_test_util.h"

namespace ramjet::broker {
namespace {

using protocol::PullMessageRequestHeader;
using namespace testing;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

class PullProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    pool_ = std::make_unique<remoting::ThreadPool>("t-pull", 1, 16);
    pull_ = std::make_unique<PullProcessor>(bc_.get(), pool_.get());
    bc_->store->SetArrivalListener(
        [this](std::string_view topic, int32_t qid, QueueOffset off, int64_t tags, int64_t) {
          pull_->hold_service().OnArrival(topic, qid, off.value(), tags);
        });
    CreateTopic("T", 2);
    ASSERT_TRUE(bc_->groups.FindOrCreate("G", true).ok());
  }
  void TearDown() override {
    pool_->Shutdown();
    BrokerFixture::TearDown();
  }
  static PullMessageRequestHeader Header(int64_t offset, std::string sub = "*",
                                         std::string type = "TAG") {
    PullMessageRequestHeader h;
    h.consumer_group = "G";
    h.topic = "T";
    h.queue_id = 0;
    h.queue_offset = offset;
    h.max_msg_nums = 32;
    h.sys_flag = PullMessageRequestHeader::kFlagSubscription;
    h.subscription = std::move(sub);
    h.expression_type = std::move(type);
    return h;
  }
  static RemotingCommand Pull(const PullMessageRequestHeader& h) {
    RemotingCommand r = RemotingCommand::Request(req::kPullMessage);
    h.Encode(&r);
    return r;
  }
  std::optional<RemotingCommand> Do(const PullMessageRequestHeader& h, int timeout_ms = 5000) {
    return Call([this](const auto& ctx) { pull_->ProcessPull(ctx); }, Pull(h), timeout_ms);
  }
  int32_t CodeOfPull(const PullMessageRequestHeader& h) {
    auto a = Do(h);
    return a ? a->code : -1;
  }

  std::unique_ptr<remoting::ThreadPool> pool_;
  std::unique_ptr<PullProcessor> pull_;
};

TEST_F(PullProcessorTest, FoundMessagesComeBackWithTheNextOffset) {
  Store("T", 0, "a");
  Store("T", 0, "b");
  auto a = Do(Header(0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  auto h = protocol::PullMessageResponseHeader::Decode(*a);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->next_begin_offset, 2);
  EXPECT_EQ(h->max_offset, 2);
  EXPECT_FALSE(a->body.empty());
}

TEST_F(PullProcessorTest, AnEmptyQueueIsNotFoundAtZeroAndMovedElsewhere) {
  EXPECT_EQ(CodeOfPull(Header(0)), rc::kPullNotFound);
  EXPECT_EQ(CodeOfPull(Header(5)), rc::kPullOffsetMoved);
  Store("T", 0, "a");
  EXPECT_EQ(CodeOfPull(Header(1)), rc::kPullNotFound) << "one past the end";
  EXPECT_EQ(CodeOfPull(Header(9)), rc::kPullOffsetMoved) << "far past the end";
}

TEST_F(PullProcessorTest, UnknownGroupTopicAndQueueAreRefused) {
  SetLive([](BrokerConfig* c) { c->auto_create_subscription_group = false; });
  auto h = Header(0);
  h.consumer_group = "NoGroup";
  EXPECT_EQ(CodeOfPull(h), rc::kSubscriptionGroupNotExist);
  h = Header(0);
  h.topic = "NoTopic";
  EXPECT_EQ(CodeOfPull(h), rc::kTopicNotExist);
  h = Header(0);
  h.queue_id = 2;
  auto a = Do(h);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("queueId[2] is illegal"), std::string::npos);
}

TEST_F(PullProcessorTest, AReadProtectedBrokerOrTopicRefusesPulls) {
  CreateTopic("WO", 1, protocol::kPermWrite);
  auto h = Header(0);
  h.topic = "WO";
  EXPECT_EQ(CodeOfPull(h), rc::kNoPermission);
  SetLive([](BrokerConfig* c) { c->broker_permission = protocol::kPermWrite; });
  EXPECT_EQ(CodeOfPull(Header(0)), rc::kNoPermission);
}

TEST_F(PullProcessorTest, WithoutItsOwnSubscriptionAPullNeedsARegisteredConsumer) {
  auto h = Header(0);
  h.sys_flag = 0;
  auto a = Do(h);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSubscriptionNotExist);
}

TEST_F(PullProcessorTest, TagFiltersSkipOtherTagsAndBadSqlIsAParseFailure) {
  Store("T", 0, "a", message::BuildProperties({{"TAGS", "red"}}));
  Store("T", 0, "b", message::BuildProperties({{"TAGS", "blue"}}));
  SetLive([](BrokerConfig* c) { c->enable_property_filter = true; });
  auto a = Do(Header(0, "blue"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_EQ(a->body.find("red"), std::string::npos);
  EXPECT_EQ(CodeOfPull(Header(0, "a >", "SQL92")), rc::kSubscriptionParseFailed);
  SetLive([](BrokerConfig* c) { c->enable_property_filter = false; });
  EXPECT_EQ(CodeOfPull(Header(0, "a > 1", "SQL92")), rc::kSystemError);
}

TEST_F(PullProcessorTest, ALongPollingPullIsAnsweredWhenAMessageArrives) {
  auto h = Header(0);
  h.sys_flag |= PullMessageRequestHeader::kFlagSuspend;
  h.suspend_timeout_millis = 20000;
  testing::Answer answer;
  auto ctx = std::make_shared<remoting::RequestContext>(answer.Responder(), Pull(h),
                                                        protocol::kVersionV4_9_8);
  pull_->ProcessPull(ctx);
  EXPECT_FALSE(answer.Get(200)) << "held: nothing to answer yet";
  EXPECT_EQ(pull_->hold_service().held(), 1);
  Store("T", 0, "late");
  auto a = answer.Get(5000);
  ASSERT_TRUE(a) << "woken by the arrival";
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_EQ(pull_->hold_service().held(), 0);
}

TEST_F(PullProcessorTest, AHeldPullTimesOutAsNotFound) {
  auto h = Header(0);
  h.sys_flag |= PullMessageRequestHeader::kFlagSuspend;
  h.suspend_timeout_millis = 50;
  testing::Answer answer;
  auto ctx = std::make_shared<remoting::RequestContext>(answer.Responder(), Pull(h),
                                                        protocol::kVersionV4_9_8);
  pull_->ProcessPull(ctx);
  std::optional<RemotingCommand> a;
  for (int i = 0; i < 100 && !a; ++i) {
    pull_->hold_service().Scan();
    a = answer.Get(50);
  }
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kPullNotFound);
}

TEST_F(PullProcessorTest, ACommitOffsetPiggyBackedOnAPullIsStored) {
  auto h = Header(0);
  h.sys_flag |= PullMessageRequestHeader::kFlagCommitOffset;
  h.commit_offset = 7;
  Do(h);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 0), 7);
}

}  // namespace
}  // namespace ramjet::broker
