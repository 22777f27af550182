// SendProcessor without sockets: each refusal a send can get, a stored send's answer, the DLQ
// route of a retry message out of retries, batches, and CONSUMER_SEND_MSG_BACK.
#include "send_processor.h"

#include "processor_test_util.h"
#include "ramjet/base/coding.h"
#include "system_topics.h"

namespace ramjet::broker {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

class SendProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    send_ = std::make_unique<SendProcessor>(bc_.get(), 18);
  }
  void TearDown() override {
    send_.reset();
    BrokerFixture::TearDown();
  }
  static RemotingCommand Send(const std::string& topic, int32_t queue_id, std::string props = "",
                              int32_t code = req::kSendMessageV2) {
    protocol::SendMessageRequestHeader h;
    h.producer_group = "PG";
    h.topic = topic;
    h.queue_id = queue_id;
    h.properties = std::move(props);
    h.born_timestamp = 1;
    RemotingCommand r = RemotingCommand::Request(code);
    h.Encode(&r);
    r.body = "hello";
    return r;
  }
  std::optional<RemotingCommand> Do(RemotingCommand r) {
    return Call([this](const auto& ctx) { send_->ProcessSend(ctx); }, std::move(r));
  }
  int32_t CodeOfSend(RemotingCommand r) {
    auto a = Do(std::move(r));
    return a ? a->code : -1;
  }
  // One batch entry (MessageBatch encoding: total, magic, crc, flag, body, properties).
  static std::string BatchEntry(const std::string& body, const std::string& props) {
    std::string e;
    const uint32_t total =
        20 + static_cast<uint32_t>(body.size()) + 2 + static_cast<uint32_t>(props.size());
    char b[4];
    EncodeBE32(b, total);
    e.append(b, 4);
    e.append(8, '\0');  // magic, body crc
    e.append(4, '\0');  // flag
    EncodeBE32(b, static_cast<uint32_t>(body.size()));
    e.append(b, 4);
    e += body;
    char s[2];
    EncodeBE16(s, static_cast<uint16_t>(props.size()));
    e.append(s, 2);
    e += props;
    return e;
  }

  std::unique_ptr<SendProcessor> send_;
};

TEST_F(SendProcessorTest, AStoredSendAnswersSuccessWithIdQueueAndOffset) {
  CreateTopic("T", 4);
  auto a = Do(Send("T", 2));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  auto h = protocol::SendMessageResponseHeader::Decode(*a);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->queue_id, 2);
  EXPECT_EQ(h->queue_offset, 0);
  EXPECT_EQ(h->msg_id.size(), 32u);
  EXPECT_TRUE(a->Find("MSG_REGION"));
  EXPECT_EQ(a->Find("TRACE_ON").value_or(""), "true");
  EXPECT_EQ(MaxOffset("T", 2, 1), 1);
}

TEST_F(SendProcessorTest, AHeaderWithoutTopicIsRefusedNamingTheField) {
  RemotingCommand r = Send("T", 0);
  r.ext_fields.erase("b");
  auto a = Do(std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark.value_or("").find('b'), std::string::npos) << *a->remark;
}

TEST_F(SendProcessorTest, AReadOnlyBrokerRefusesSendsWithNoPermission) {
  CreateTopic("T", 1);
  SetLive([](BrokerConfig* c) { c->broker_permission = protocol::kPermRead; });
  auto a = Do(Send("T", 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kNoPermission);
  EXPECT_NE(a->remark->find("sending message is forbidden"), std::string::npos);
}

TEST_F(SendProcessorTest, SystemTopicsAndUnknownTopicsAreRefused) {
  EXPECT_EQ(CodeOfSend(Send(kScheduleTopic, 0)), rc::kNoPermission);
  SetLive([](BrokerConfig* c) { c->auto_create_topic_enable = false; });
  auto a = Do(Send("NoSuchTopic", 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kTopicNotExist);
  EXPECT_FALSE(bc_->topics.Find("NoSuchTopic"));
}

TEST_F(SendProcessorTest, AQueueBeyondTheTopicsQueuesIsASystemError) {
  CreateTopic("T", 2);
  auto a = Do(Send("T", 7));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("queueId[7] is illegal"), std::string::npos) << *a->remark;
  // The remark prints the topic's whole config, as RocketMQ's TopicConfig.toString() does.
  EXPECT_NE(a->remark->find("[topicName=T, readQueueNums=2, writeQueueNums=2, perm=RW-, "
                            "topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"),
            std::string::npos)
      << *a->remark;
}

TEST_F(SendProcessorTest, AWriteProtectedTopicIsRefused) {
  CreateTopic("RO", 1, protocol::kPermRead);
  auto a = Do(Send("RO", 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kNoPermission);
  EXPECT_EQ(a->remark.value_or(""), "the topic[RO] sending message is forbidden");
}

TEST_F(SendProcessorTest, ARetryMessageOutOfRetriesGoesToTheDeadLetterQueue) {
  ASSERT_TRUE(bc_->groups.FindOrCreate("G", true).ok());
  CreateTopic("%RETRY%G", 1);
  protocol::SendMessageRequestHeader h;
  h.producer_group = "G";
  h.topic = "%RETRY%G";
  h.queue_id = 0;
  h.reconsume_times = 16;  // the group's default retryMaxTimes
  RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
  h.Encode(&r);
  r.body = "dead";
  auto a = Do(std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_TRUE(bc_->topics.Find("%DLQ%G"));
  EXPECT_EQ(MaxOffset("%DLQ%G", 0, 1), 1);
  EXPECT_EQ(MaxOffset("%RETRY%G", 0, 0), 0);
}

TEST_F(SendProcessorTest, TransactionalMessagesAreRefusedWhenTheBrokerRejectsThem) {
  CreateTopic("T", 1);
  SetLive([](BrokerConfig* c) { c->reject_transaction_message = true; });
  auto props = message::BuildProperties({{"TRAN_MSG", "true"}, {"PGROUP", "PG"}});
  EXPECT_EQ(CodeOfSend(Send("T", 0, props)), rc::kNoPermission);
}

TEST_F(SendProcessorTest, ABatchIsStoredAsOneMessagePerEntryWithCommaSeparatedIds) {
  CreateTopic("T", 1);
  RemotingCommand r = Send("T", 0, "", req::kSendBatchMessage);
  r.body = BatchEntry("one", message::BuildProperties({{"KEYS", "k1"}})) +
           BatchEntry("two", message::BuildProperties({{"KEYS", "k2"}}));
  auto a = Do(std::move(r));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess) << a->remark.value_or("");
  auto h = protocol::SendMessageResponseHeader::Decode(*a);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(std::count(h->msg_id.begin(), h->msg_id.end(), ','), 1);
  EXPECT_EQ(MaxOffset("T", 0, 2), 2);
}

TEST_F(SendProcessorTest, MalformedDelayedOrTransactionalBatchesAreIllegal) {
  CreateTopic("T", 1);
  RemotingCommand truncated = Send("T", 0, "", req::kSendBatchMessage);
  truncated.body = BatchEntry("one", "").substr(0, 15);
  EXPECT_EQ(CodeOfSend(std::move(truncated)), rc::kMessageIllegal);
  RemotingCommand empty = Send("T", 0, "", req::kSendBatchMessage);
  empty.body.clear();
  EXPECT_EQ(CodeOfSend(std::move(empty)), rc::kMessageIllegal);
  RemotingCommand delayed =
      Send("T", 0, message::BuildProperties({{"DELAY", "2"}}), req::kSendBatchMessage);
  delayed.body = BatchEntry("one", "");
  EXPECT_EQ(CodeOfSend(std::move(delayed)), rc::kMessageIllegal);
  RemotingCommand tx =
      Send("T", 0, message::BuildProperties({{"TRAN_MSG", "true"}}), req::kSendBatchMessage);
  tx.body = BatchEntry("one", "");
  EXPECT_EQ(CodeOfSend(std::move(tx)), rc::kMessageIllegal);
  EXPECT_EQ(MaxOffset("T", 0, 0), 0);
}

TEST_F(SendProcessorTest, ADelayedSendIsStoredInTheScheduleTopic) {
  CreateTopic("T", 1);
  auto a = Do(Send("T", 0, message::BuildProperties({{"DELAY", "3"}})));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSuccess);
  EXPECT_EQ(MaxOffset(kScheduleTopic, 2, 1), 1);
  EXPECT_EQ(MaxOffset("T", 0, 0), 0);
}

RemotingCommand SendBack(int64_t offset, const std::string& group, int32_t delay_level = 0) {
  protocol::ConsumerSendMsgBackRequestHeader h;
  h.offset = offset;
  h.group = group;
  h.delay_level = delay_level;
  RemotingCommand r = RemotingCommand::Request(req::kConsumerSendMsgBack);
  h.Encode(&r);
  return r;
}

TEST_F(SendProcessorTest, SendBackOfAnUnknownOffsetIsASystemError) {
  ASSERT_TRUE(bc_->groups.FindOrCreate("G", true).ok());
  auto a =
      Call([this](const auto& ctx) { send_->ConsumerSendMsgBack(ctx); }, SendBack(999999, "G"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSystemError);
  EXPECT_NE(a->remark->find("look message by offset failed, 999999"), std::string::npos);
}

TEST_F(SendProcessorTest, SendBackForAnUnknownGroupWithoutAutoCreateIsRefused) {
  SetLive([](BrokerConfig* c) { c->auto_create_subscription_group = false; });
  auto a =
      Call([this](const auto& ctx) { send_->ConsumerSendMsgBack(ctx); }, SendBack(0, "NoGroup"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, rc::kSubscriptionGroupNotExist);
}

TEST_F(SendProcessorTest, SendBackRetriesWithDelayAndANegativeLevelGoesToTheDlq) {
  ASSERT_TRUE(bc_->groups.FindOrCreate("G", true).ok());
  CreateTopic("T", 1);
  const int64_t off = Store("T", 0, "failed once");
  auto handler = [this](const auto& ctx) { send_->ConsumerSendMsgBack(ctx); };
  ASSERT_EQ(CodeOf(handler, SendBack(off, "G")), rc::kSuccess);
  // Level 3 + reconsumeTimes 0: schedule queue 2, with %RETRY%G as the real topic.
  EXPECT_EQ(MaxOffset(kScheduleTopic, 2, 1), 1);
  EXPECT_TRUE(bc_->topics.Find("%RETRY%G"));
  ASSERT_EQ(CodeOf(handler, SendBack(off, "G", -1)), rc::kSuccess);
  EXPECT_EQ(MaxOffset("%DLQ%G", 0, 1), 1);
}

}  // namespace
}  // namespace ramjet::broker
