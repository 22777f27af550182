// Typed headers: each Encode is read back by its Decode; the V2 send header uses RocketMQ's
// one-letter names; missing required fields are refused naming the field.
#include "ramjet/protocol/headers.h"

#include <gtest/gtest.h>

#include "ramjet/protocol/codes.h"

namespace ramjet::protocol {
namespace {

namespace req = request_code;

TEST(Headers, SendV2UsesTheLetterNamesAndRoundTrips) {
  SendMessageRequestHeader h;
  h.producer_group = "PG";
  h.topic = "T";
  h.queue_id = 3;
  h.sys_flag = 4;
  h.born_timestamp = 123;
  h.properties =
      "a\x01"
      "b\x02";
  h.max_reconsume_times = 5;
  h.broker_name = "broker-a";
  RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
  h.Encode(&r);
  EXPECT_EQ(r.Find("a").value_or(""), "PG");
  EXPECT_EQ(r.Find("b").value_or(""), "T");
  EXPECT_EQ(r.Find("e").value_or(""), "3");
  EXPECT_EQ(r.Find("n").value_or(""), "broker-a");
  EXPECT_FALSE(r.Find("topic"));
  auto d = SendMessageRequestHeader::Decode(r);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->topic, "T");
  EXPECT_EQ(d->queue_id, 3);
  EXPECT_EQ(d->born_timestamp, 123);
  EXPECT_EQ(d->properties, h.properties);
  EXPECT_EQ(d->max_reconsume_times, 5);
  EXPECT_EQ(d->broker_name, "broker-a");
  EXPECT_FALSE(d->batch);
}

TEST(Headers, SendV1UsesLongNamesAndABatchCodeIsABatch) {
  SendMessageRequestHeader h;
  h.producer_group = "PG";
  h.topic = "T";
  h.queue_id = 0;
  RemotingCommand v1 = RemotingCommand::Request(req::kSendMessage);
  h.Encode(&v1);
  EXPECT_EQ(v1.Find("producerGroup").value_or(""), "PG");
  EXPECT_TRUE(SendMessageRequestHeader::Decode(v1).ok());
  RemotingCommand batch = RemotingCommand::Request(req::kSendBatchMessage);
  h.Encode(&batch);
  auto d = SendMessageRequestHeader::Decode(batch);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->batch);
}

TEST(Headers, ASendWithoutQueueOrWithABadTopicIsRefused) {
  RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
  r.Set("a", std::string("PG"));
  r.Set("b", std::string("T"));
  auto d = SendMessageRequestHeader::Decode(r);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find('e'), std::string::npos);
  r.Set("e", int64_t{0});
  r.Set("b", std::string("bad/topic"));
  EXPECT_FALSE(SendMessageRequestHeader::Decode(r).ok());
}

TEST(Headers, PullRequestAndResponseRoundTrip) {
  PullMessageRequestHeader h;
  h.consumer_group = "G";
  h.topic = "T";
  h.queue_id = 1;
  h.queue_offset = 42;
  h.max_msg_nums = 16;
  h.sys_flag = PullMessageRequestHeader::kFlagSuspend | PullMessageRequestHeader::kFlagSubscription;
  h.subscription = "a || b";
  h.expression_type = "TAG";
  RemotingCommand r = RemotingCommand::Request(req::kPullMessage);
  h.Encode(&r);
  auto d = PullMessageRequestHeader::Decode(r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->queue_offset, 42);
  EXPECT_EQ(d->sys_flag, h.sys_flag);
  EXPECT_EQ(d->subscription, "a || b");
  PullMessageResponseHeader out{10, 0, 12, 0};
  RemotingCommand resp;
  out.Encode(&resp);
  auto back = PullMessageResponseHeader::Decode(resp);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->next_begin_offset, 10);
  EXPECT_EQ(back->max_offset, 12);
  r.ext_fields.erase("maxMsgNums");
  EXPECT_FALSE(PullMessageRequestHeader::Decode(r).ok());
}

TEST(Headers, SendBackReadsMaxReconsumeTimesOnlyFromNewerClients) {
  ConsumerSendMsgBackRequestHeader h;
  h.offset = 7;
  h.group = "G";
  h.max_reconsume_times = 3;
  RemotingCommand r = RemotingCommand::Request(req::kConsumerSendMsgBack);
  h.Encode(&r);
  r.version = 409;
  auto d = ConsumerSendMsgBackRequestHeader::Decode(r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_reconsume_times, 3);
  r.version = 100;  // before V3_4_9
  d = ConsumerSendMsgBackRequestHeader::Decode(r);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->max_reconsume_times);
}

TEST(Headers, EndTransactionAndOffsetHeadersRoundTrip) {
  EndTransactionRequestHeader e;
  e.producer_group = "PG";
  e.tran_state_table_offset = 1;
  e.commit_log_offset = 2;
  e.commit_or_rollback = 8;
  RemotingCommand r = RemotingCommand::Request(req::kEndTransaction);
  e.Encode(&r);
  auto d = EndTransactionRequestHeader::Decode(r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->commit_log_offset, 2);
  EXPECT_EQ(d->commit_or_rollback, 8);

  QueryConsumerOffsetRequestHeader q{"G", "T", 2, false};
  RemotingCommand qr = RemotingCommand::Request(req::kQueryConsumerOffset);
  q.Encode(&qr);
  auto qd = QueryConsumerOffsetRequestHeader::Decode(qr);
  ASSERT_TRUE(qd.ok());
  EXPECT_EQ(qd->set_zero_if_not_found, false);

  UpdateConsumerOffsetRequestHeader u{"G", "T", 2, 99};
  RemotingCommand ur = RemotingCommand::Request(req::kUpdateConsumerOffset);
  u.Encode(&ur);
  auto ud = UpdateConsumerOffsetRequestHeader::Decode(ur);
  ASSERT_TRUE(ud.ok());
  EXPECT_EQ(ud->commit_offset, 99);

  RemotingCommand search = RemotingCommand::Request(req::kSearchOffsetByTimestamp);
  QueueRequestHeader{"T", 0, std::nullopt}.Encode(&search);
  EXPECT_FALSE(QueueRequestHeader::Decode(search).ok()) << "the timestamp is required there";
}

TEST(Headers, LockBodiesRoundTripAndNeedGroupAndClient) {
  LockBatchRequestBody b;
  b.consumer_group = "G";
  b.client_id = "c1";
  b.mq_set = {{"T", "broker-a", 0}, {"T", "broker-a", 1}};
  auto d = LockBatchRequestBody::Decode(b.Encode());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mq_set, b.mq_set);
  EXPECT_FALSE(LockBatchRequestBody::Decode(R"({"clientId":"c1"})").ok());
  EXPECT_FALSE(
      LockBatchRequestBody::Decode(R"({"consumerGroup":"G","clientId":"c","mqSet":[1]})").ok());
  LockBatchResponseBody out;
  out.lock_ok_mq_set = b.mq_set;
  auto back = LockBatchResponseBody::Decode(out.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->lock_ok_mq_set.size(), 2u);
}

}  // namespace
}  // namespace ramjet::protocol
