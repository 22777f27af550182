// PopService over a real store (processor_test_util.h) and the gRPC translations
// (grpc_convert.h): pops commit offsets and hide messages, acks settle them, unacked messages
// come back through the pop retry topic with their attempt raised, a replay after a reopen
// restores what is in flight, handles are validated; the Code mapping.
#include "grpc_convert.h"
#include "pop_service.h"
#include "processor_test_util.h"
#include "ramjet/base/clock.h"

namespace ramjet::broker {
namespace {

using testing::BrokerFixture;
namespace v2 = apache::rocketmq::v2;

class PopServiceTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    CreateTopic("T", 2);
    pop_ = std::make_unique<PopService>(bc_.get());
    ASSERT_TRUE(pop_->Start().ok());
  }
  void TearDown() override {
    pop_.reset();
    BrokerFixture::TearDown();
  }
  PopRequest Req(int32_t max = 32, int64_t invisible = 5000) {
    PopRequest r;
    r.group = "G";
    r.topic = "T";
    r.max_messages = max;
    r.invisible_ms = invisible;
    r.subscription = protocol::SubscriptionData::ForTags("T", "*", 0);
    return r;
  }
  std::vector<PoppedMessage> PopAll(const PopRequest& r) {
    auto got = pop_->Pop(r);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::vector<PoppedMessage>{};
  }
  void Reopen() {
    pop_.reset();
    ASSERT_TRUE(bc_->store->Shutdown().ok());
    bc_->store.reset();
    auto store = store::MessageStore::Open(bc_->config().store);
    ASSERT_TRUE(store.ok());
    bc_->store = std::move(store).value();
    pop_ = std::make_unique<PopService>(bc_.get());
    ASSERT_TRUE(pop_->Start().ok());
  }
  std::unique_ptr<PopService> pop_;
};

TEST_F(PopServiceTest, PopCommitsTheOffsetAndHidesMessagesUntilAcked) {
  for (int i = 0; i < 6; ++i) Store("T", i % 2, "m" + std::to_string(i));
  auto first = PopAll(Req());
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 0), 3);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 1), 3);
  EXPECT_TRUE(PopAll(Req()).empty()) << "invisible while in flight";
  EXPECT_EQ(pop_->InFlight(), 6);
  for (const auto& m : first) {
    EXPECT_EQ(m.delivery_attempt, 1);
    EXPECT_TRUE(pop_->Ack("G", "T", m.receipt_handle).ok());
  }
  EXPECT_EQ(pop_->InFlight(), 0);
  Status again = pop_->Ack("G", "T", first[0].receipt_handle);
  EXPECT_EQ(again.code(), StatusCode::kNotFound) << "a handle is used once";
}

TEST_F(PopServiceTest, UnackedMessagesComeBackThroughTheRetryTopic) {
  Store("T", 0, "a");
  Store("T", 0, "b");
  auto first = PopAll(Req(32, 1000));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_TRUE(pop_->Ack("G", "T", first[0].receipt_handle).ok());
  pop_->ReviveNow(NowMillis() + 2000);  // past the invisible time
  MaxOffset(PopRetryTopic("G", "T"), 0, 1);
  auto again = PopAll(Req());
  ASSERT_EQ(again.size(), 1u);
  auto r = message::DecodeRecord(again[0].record, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "b");
  EXPECT_EQ(again[0].topic, "T");
  EXPECT_EQ(again[0].delivery_attempt, 2);
  EXPECT_TRUE(pop_->Ack("G", "T", again[0].receipt_handle).ok()) << "retry-topic handle";
}

TEST_F(PopServiceTest, ChangeInvisibleGivesANewHandleAndVoidsTheOld) {
  Store("T", 1, "x");
  auto first = PopAll(Req());
  ASSERT_EQ(first.size(), 1u);
  auto next = pop_->ChangeInvisible("G", "T", first[0].receipt_handle, 60000);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(*next, first[0].receipt_handle);
  EXPECT_FALSE(pop_->Ack("G", "T", first[0].receipt_handle).ok());
  pop_->ReviveNow(NowMillis() + 10000);  // the old 5 s no longer applies
  EXPECT_EQ(pop_->InFlight(), 1);
  EXPECT_TRUE(pop_->Ack("G", "T", *next).ok());
}

TEST_F(PopServiceTest, AReplayRestoresInFlightMessagesAndAcks) {
  for (int i = 0; i < 4; ++i) Store("T", 0, "r" + std::to_string(i));
  auto first = PopAll(Req(32, 1000));
  ASSERT_EQ(first.size(), 4u);
  ASSERT_TRUE(pop_->Ack("G", "T", first[0].receipt_handle).ok());
  ASSERT_TRUE(pop_->Ack("G", "T", first[1].receipt_handle).ok());
  bc_->offsets.Commit("G", "T", 0, 0);  // as a stale offsets file would have it
  Reopen();
  EXPECT_EQ(pop_->InFlight(), 2);
  EXPECT_EQ(bc_->offsets.Query("G", "T", 0), 4) << "nothing popped is handed out again";
  EXPECT_TRUE(pop_->Ack("G", "T", first[2].receipt_handle).ok()) << "handles survive";
  pop_->ReviveNow(NowMillis() + 2000);
  MaxOffset(PopRetryTopic("G", "T"), 0, 1);
  auto again = PopAll(Req());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(message::DecodeRecord(again[0].record, false)->body, "r3");
}

TEST_F(PopServiceTest, FifoHandsOutAQueueOnlyWhenNothingOfItIsInFlight) {
  Store("T", 0, "f0");
  Store("T", 0, "f1");
  PopRequest r = Req(1);
  r.fifo = true;
  r.queue_id = 0;
  auto first = PopAll(r);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(PopAll(r).empty()) << "f1 waits for f0";
  pop_->ReviveNow(NowMillis() + 10000);  // f0 not acked: the queue is rewound to it
  auto again = PopAll(r);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(message::DecodeRecord(again[0].record, false)->body, "f0");
  EXPECT_EQ(again[0].delivery_attempt, 2);
  ASSERT_TRUE(pop_->Ack("G", "T", again[0].receipt_handle).ok());
  auto next = PopAll(r);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(message::DecodeRecord(next[0].record, false)->body, "f1");
}

TEST_F(PopServiceTest, BadRequestsAreRefused) {
  EXPECT_EQ(pop_->Ack("G", "T", "garbage").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pop_->Ack("G", "T", "1 2 3 4 5 broker-t 0 7 8").code(), StatusCode::kInvalidArgument)
      << "topic type 5";
  EXPECT_EQ(pop_->Ack("G", "T", "1 2 3 0 0 broker-t 0 7 8").code(), StatusCode::kNotFound);
  PopRequest unknown = Req();
  unknown.topic = "Nope";
  EXPECT_EQ(pop_->Pop(unknown).status().code(), StatusCode::kNotFound);
  PopRequest short_time = Req(32, 10);
  EXPECT_EQ(pop_->Pop(short_time).status().code(), StatusCode::kInvalidArgument);
  PopRequest bad_sql = Req();
  bad_sql.subscription.expression_type = "SQL92";
  bad_sql.subscription.sub_string = "a >";
  EXPECT_FALSE(pop_->Pop(bad_sql).ok());
}

TEST(ReceiptHandleTest, RoundTrips) {
  ReceiptHandle h{10, 1700000000000, 30000, 0, 1, "broker-a", 3, 12, 4096};
  auto back = ReceiptHandle::Decode(h.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Encode(), h.Encode());
  EXPECT_EQ(h.Encode(), "10 1700000000000 30000 0 1 broker-a 3 12 4096");
  // The remoting extra info (POP_CK) is the first eight fields.
  EXPECT_EQ(h.EncodeExtraInfo(), "10 1700000000000 30000 0 1 broker-a 3 12");
  auto ck = ReceiptHandle::Decode(h.EncodeExtraInfo());
  ASSERT_TRUE(ck.ok());
  EXPECT_EQ(ck->offset, 12);
  EXPECT_EQ(ck->commit_log_offset, 0);
  EXPECT_FALSE(ReceiptHandle::Decode("10 1 2 0 0 b 3").ok()) << "7 fields";
  EXPECT_FALSE(ReceiptHandle::Decode("10 1 2 0 0 b 3 12 9 9").ok()) << "10 fields";
  EXPECT_FALSE(ReceiptHandle::Decode("10 1 -2 0 0 b 3 12 9").ok()) << "negative";
}

TEST(GrpcCodeMappingTest, RemotingCodesAndStatuses) {
  namespace rc = protocol::response_code;
  using grpc_api::CodeOfResponse;
  using grpc_api::CodeOfStatus;
  EXPECT_EQ(CodeOfResponse(rc::kSuccess), v2::OK);
  EXPECT_EQ(CodeOfResponse(rc::kTopicNotExist), v2::TOPIC_NOT_FOUND);
  EXPECT_EQ(CodeOfResponse(rc::kNoPermission), v2::FORBIDDEN);
  EXPECT_EQ(CodeOfResponse(rc::kSystemBusy), v2::TOO_MANY_REQUESTS);
  EXPECT_EQ(CodeOfResponse(rc::kFlushDiskTimeout), v2::MASTER_PERSISTENCE_TIMEOUT);
  EXPECT_EQ(CodeOfResponse(rc::kFlushSlaveTimeout), v2::SLAVE_PERSISTENCE_TIMEOUT);
  EXPECT_EQ(CodeOfResponse(rc::kSlaveNotAvailable), v2::HA_NOT_AVAILABLE);
  EXPECT_EQ(CodeOfResponse(rc::kSubscriptionGroupNotExist), v2::CONSUMER_GROUP_NOT_FOUND);
  EXPECT_EQ(CodeOfResponse(rc::kSubscriptionParseFailed), v2::ILLEGAL_FILTER_EXPRESSION);
  EXPECT_EQ(CodeOfResponse(rc::kServiceNotAvailable), v2::INTERNAL_SERVER_ERROR);
  EXPECT_EQ(CodeOfResponse(12345), v2::INTERNAL_ERROR);
  EXPECT_EQ(CodeOfStatus(Status::OK()), v2::OK);
  EXPECT_EQ(CodeOfStatus(Status::PermissionDenied("x")), v2::FORBIDDEN);
  EXPECT_EQ(CodeOfStatus(Status::Busy("x")), v2::TOO_MANY_REQUESTS);
  EXPECT_EQ(CodeOfStatus(Status::InvalidArgument("x")), v2::BAD_REQUEST);
  EXPECT_EQ(CodeOfStatus(Status::NotFound("x")), v2::NOT_FOUND);
  EXPECT_EQ(CodeOfStatus(Status::IOError("x")), v2::INTERNAL_SERVER_ERROR);
}

TEST(GrpcConvertTest, SendRequestAndRefusals) {
  v2::Message m;
  m.mutable_topic()->set_resource_namespace("ns1");
  m.mutable_topic()->set_name("T");
  m.set_body("hello");
  auto* sp = m.mutable_system_properties();
  sp->set_message_id("ID1");
  sp->set_tag("TagA");
  sp->add_keys("k1");
  sp->add_keys("k2");
  sp->set_message_group("g");
  (*m.mutable_user_properties())["color"] = "red";
  grpc_api::Refusal refusal;
  auto conv = grpc_api::ToSendRequest(m, "PG", 1024, &refusal);
  ASSERT_TRUE(conv.ok()) << refusal.message;
  auto h = protocol::SendMessageRequestHeader::Decode(conv->request);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->topic, "ns1%T");
  EXPECT_EQ(conv->request.body, "hello");
  EXPECT_EQ(message::FindProperty(h->properties, "TAGS"), "TagA");
  EXPECT_EQ(message::FindProperty(h->properties, "KEYS"), "k1 k2");
  EXPECT_EQ(message::FindProperty(h->properties, "UNIQ_KEY"), "ID1");
  EXPECT_EQ(message::FindProperty(h->properties, "__SHARDINGKEY"), "g");
  EXPECT_EQ(message::FindProperty(h->properties, "color"), "red");

  v2::Message big = m;
  big.set_body(std::string(2000, 'x'));
  EXPECT_FALSE(grpc_api::ToSendRequest(big, "PG", 1024, &refusal).ok());
  EXPECT_EQ(refusal.code, v2::MESSAGE_BODY_TOO_LARGE);
  v2::Message bad_topic = m;
  bad_topic.mutable_topic()->set_name("../etc");
  EXPECT_FALSE(grpc_api::ToSendRequest(bad_topic, "PG", 1024, &refusal).ok());
  EXPECT_EQ(refusal.code, v2::ILLEGAL_TOPIC);
  v2::Message reserved = m;
  (*reserved.mutable_user_properties())["UNIQ_KEY"] = "forged";
  EXPECT_FALSE(grpc_api::ToSendRequest(reserved, "PG", 1024, &refusal).ok());
  EXPECT_EQ(refusal.code, v2::ILLEGAL_MESSAGE_PROPERTY_KEY);
  v2::Message gz = m;
  gz.mutable_system_properties()->set_body_encoding(v2::GZIP);
  EXPECT_FALSE(grpc_api::ToSendRequest(gz, "PG", 1024, &refusal).ok());
  EXPECT_EQ(refusal.code, v2::MESSAGE_CORRUPTED) << "not a gzip stream";
}

}  // namespace
}  // namespace ramjet::broker
