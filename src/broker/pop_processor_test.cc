// The remoting POP family (PopProcessor) and the server-side assignment (AssignmentProcessor)
// through RequestContext's Responder seam: a pop answers records with offset-info strings from
// which a client rebuilds each POP_CK, acks and invisible-time changes by POP_CK, a retried
// message keeps its topic and carries POP_CK, long polling ends in POLLING_TIMEOUT or on arrival,
// bad headers and handles get clear codes; request modes persist and assignments follow them.
#include "pop_processor.h"

#include "assignment_processor.h"
#include "processor_test_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/protocol/pop_headers.h"

namespace ramjet::broker {
namespace {

using protocol::RemotingCommand;
using testing::Answer;
using testing::BrokerFixture;
namespace req = protocol::request_code;
namespace rc = protocol::response_code;

class PopProcessorTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    CreateTopic("T", 2);
    pop_ = std::make_unique<PopService>(bc_.get());
    ASSERT_TRUE(pop_->Start().ok());
    proc_ = std::make_unique<PopProcessor>(bc_.get(), pop_.get());
    proc_->Start();
  }
  void TearDown() override {
    proc_.reset();
    pop_.reset();
    BrokerFixture::TearDown();
  }
  RemotingCommand PopReq(int64_t poll_ms, int32_t max = 32, int64_t invisible = 60000) {
    protocol::PopMessageRequestHeader h;
    h.consumer_group = "G";
    h.topic = "T";
    h.max_msg_nums = max;
    h.invisible_time = invisible;
    h.poll_time = poll_ms;
    h.born_time = NowMillis();
    RemotingCommand r = RemotingCommand::Request(req::kPopMessage);
    h.Encode(&r);
    return r;
  }
  auto PopFn() {
    return [this](const remoting::RequestContextPtr& c) { proc_->PopMessage(c); };
  }
  // The POP_CK a 5.x client builds for each record of a pop answer (MQClientAPIImpl's rules).
  std::vector<std::pair<message::RecordView, std::string>> Handles(const RemotingCommand& r) {
    auto h = protocol::PopMessageResponseHeader::Decode(r);
    EXPECT_TRUE(h.ok());
    std::map<std::string, int64_t> start;
    std::map<std::string, std::vector<std::string>> offsets;
    auto split = [](const std::string& s, char c) {
      std::vector<std::string> out;
      size_t b = 0;
      for (size_t e; (e = s.find(c, b)) != std::string::npos; b = e + 1)
        out.push_back(s.substr(b, e - b));
      out.push_back(s.substr(b));
      return out;
    };
    for (const auto& e : split(h->start_offset_info, ';')) {
      auto p = split(e, ' ');
      EXPECT_EQ(p.size(), 3u) << e;
      if (p.size() == 3) start[p[0] + "@" + p[1]] = std::stoll(p[2]);
    }
    for (const auto& e : split(h->msg_offset_info, ';')) {
      auto p = split(e, ' ');
      EXPECT_EQ(p.size(), 3u) << e;
      if (p.size() == 3) offsets[p[0] + "@" + p[1]] = split(p[2], ',');
    }
    std::vector<std::pair<message::RecordView, std::string>> out;
    std::map<std::string, size_t> index;
    std::string_view body = r.body;
    while (!body.empty()) {
      auto rec = message::DecodeRecord(body, true);
      EXPECT_TRUE(rec.ok());
      if (!rec.ok()) break;
      body.remove_prefix(static_cast<size_t>(rec->total_size));
      std::string ck(message::FindProperty(rec->properties, "POP_CK"));
      if (ck.empty()) {
        const std::string key = "0@" + std::to_string(rec->queue_id);
        EXPECT_TRUE(start.count(key) && offsets.count(key)) << key;
        ck = std::to_string(start[key]) + " " + std::to_string(h->pop_time) + " " +
             std::to_string(h->invisible_time) + " " + std::to_string(h->revive_qid) + " 0 " +
             "broker-t " + std::to_string(rec->queue_id) + " " + offsets[key][index[key]++];
      }
      out.emplace_back(*rec, ck);
    }
    return out;
  }
  RemotingCommand AckReq(int32_t code, const std::string& topic, const message::RecordView& r,
                         const std::string& ck) {
    protocol::AckMessageRequestHeader h;
    h.consumer_group = "G";
    h.topic = topic;
    auto handle = ReceiptHandle::Decode(ck);
    EXPECT_TRUE(handle.ok()) << ck;
    h.queue_id = handle.ok() ? handle->queue_id : r.queue_id;
    h.offset = handle.ok() ? handle->offset : r.queue_offset;
    h.extra_info = ck;
    if (code == req::kChangeMessageInvisibleTime) h.invisible_time = 1000;
    RemotingCommand c = RemotingCommand::Request(code);
    h.Encode(&c);
    return c;
  }
  std::unique_ptr<PopService> pop_;
  std::unique_ptr<PopProcessor> proc_;
};

TEST_F(PopProcessorTest, PopAnswersRecordsWhoseHandlesAckAndChangeInvisibleTime) {
  for (int i = 0; i < 4; ++i) Store("T", i % 2, "m" + std::to_string(i));
  auto r = Call(PopFn(), PopReq(0));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  auto got = Handles(*r);
  ASSERT_EQ(got.size(), 4u);
  auto ack = [this](const RemotingCommand& c) {
    return CodeOf([this](const remoting::RequestContextPtr& x) { proc_->AckMessage(x); }, c);
  };
  EXPECT_EQ(ack(AckReq(req::kAckMessage, "T", got[0].first, got[0].second)), rc::kSuccess);
  EXPECT_EQ(ack(AckReq(req::kAckMessage, "T", got[0].first, got[0].second)), rc::kNoMessage)
      << "acked already";
  auto change =
      Call([this](const remoting::RequestContextPtr& x) { proc_->ChangeInvisibleTime(x); },
           AckReq(req::kChangeMessageInvisibleTime, "T", got[1].first, got[1].second));
  ASSERT_TRUE(change);
  ASSERT_EQ(change->code, rc::kSuccess);
  auto ch = protocol::ChangeInvisibleTimeResponseHeader::Decode(*change);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->invisible_time, 1000);
  EXPECT_EQ(ack(AckReq(req::kAckMessage, "T", got[1].first, got[1].second)), rc::kNoMessage)
      << "the old handle is void after a change";
  EXPECT_EQ(pop_->InFlight(), 3);
  // Garbage handles, a handle of another broker, a foreign retry topic.
  auto bad = AckReq(req::kAckMessage, "T", got[2].first, got[2].second);
  bad.Set("extraInfo", "1 2 3");
  EXPECT_EQ(ack(bad), rc::kInvalidParameter);
  std::string other = got[2].second;
  other.replace(other.find("broker-t"), 8, "broker-x");
  EXPECT_EQ(ack(AckReq(req::kAckMessage, "T", got[2].first, other)), rc::kInvalidParameter);
  std::string retry = got[2].second;
  retry[retry.find(" 0 broker-t") + 1] = '1';
  EXPECT_EQ(ack(AckReq(req::kAckMessage, "%RETRY%H_T", got[2].first, retry)),
            rc::kInvalidParameter);
  RemotingCommand missing = RemotingCommand::Request(req::kAckMessage);
  missing.Set("consumerGroup", "G");
  EXPECT_EQ(ack(missing), rc::kSystemError) << "a header without topic is refused";
}

TEST_F(PopProcessorTest, LongPollingEndsWithPollingTimeoutOrWithAnArrival) {
  auto empty = Call(PopFn(), PopReq(300), 5000);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code, rc::kPollingTimeout);
  // A parked pop is answered when a message arrives.
  Answer a;
  auto ctx = std::make_shared<remoting::RequestContext>(a.Responder(), PopReq(10000),
                                                        protocol::kVersionV4_9_8);
  proc_->PopMessage(ctx);
  EXPECT_EQ(proc_->parked(), 1u);
  Store("T", 1, "late");
  proc_->OnArrival("T");
  auto got = a.Get(5000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->code, rc::kSuccess);
  EXPECT_EQ(Handles(*got).size(), 1u);
  EXPECT_EQ(CodeOf(PopFn(), PopReq(0, 33)), rc::kInvalidParameter) << "maxMsgNums over 32";
  auto unknown = PopReq(0);
  unknown.Set("topic", "Nope");
  EXPECT_EQ(CodeOf(PopFn(), unknown), rc::kTopicNotExist);
}

TEST_F(PopProcessorTest, AnUnackedMessageComesBackUnderItsTopicWithPopCk) {
  Store("T", 0, "again");
  auto first = Call(PopFn(), PopReq(0, 32, 1000));
  ASSERT_TRUE(first && first->code == rc::kSuccess);
  pop_->ReviveNow(NowMillis() + 2000);  // not acked in time: into %RETRY%G_T
  ASSERT_EQ(MaxOffset("%RETRY%G_T", 0, 1), 1);
  std::optional<RemotingCommand> again;
  for (int i = 0; i < 20 && !(again && again->code == rc::kSuccess); ++i) {
    again = Call(PopFn(), PopReq(0));
  }
  ASSERT_TRUE(again && again->code == rc::kSuccess);
  auto got = Handles(*again);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first.topic, "T");
  EXPECT_EQ(got[0].first.reconsume_times, 1);
  auto h = ReceiptHandle::Decode(got[0].second);
  ASSERT_TRUE(h.ok()) << got[0].second;
  EXPECT_EQ(h->topic_type, 1);
  EXPECT_EQ(CodeOf([this](const remoting::RequestContextPtr& x) { proc_->AckMessage(x); },
                   AckReq(req::kAckMessage, "%RETRY%G_T", got[0].first, got[0].second)),
            rc::kSuccess);
  EXPECT_EQ(pop_->InFlight(), 0);
}

TEST_F(PopProcessorTest, BatchAckSettlesTheBitsItNames) {
  for (int i = 0; i < 3; ++i) Store("T", 0, "b" + std::to_string(i));
  auto r = Call(PopFn(), PopReq(0));
  ASSERT_TRUE(r && r->code == rc::kSuccess);
  auto got = Handles(*r);
  ASSERT_EQ(got.size(), 3u);
  auto h = ReceiptHandle::Decode(got[0].second);
  ASSERT_TRUE(h.ok());
  protocol::BatchAckMessageRequestBody b;
  b.broker_name = "broker-t";
  protocol::BatchAck a;
  a.consumer_group = "G";
  a.topic = "T";
  a.start_offset = h->start_offset;
  a.queue_id = 0;
  a.pop_time = h->pop_time;
  a.invisible_time = h->invisible_ms;
  a.offsets = {h->start_offset, h->start_offset + 2};
  b.acks.push_back(a);
  auto back = protocol::BatchAckMessageRequestBody::Decode(b.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->acks.at(0).offsets, a.offsets);
  RemotingCommand c = RemotingCommand::Request(req::kBatchAckMessage);
  c.body = b.Encode();
  auto batch = [this](const remoting::RequestContextPtr& x) { proc_->BatchAckMessage(x); };
  EXPECT_EQ(CodeOf(batch, c), rc::kSuccess);
  EXPECT_EQ(pop_->InFlight(), 1);
  c.body = "{\"acks\":[{\"c\":\"G\"}]}";
  EXPECT_EQ(CodeOf(batch, c), rc::kInvalidParameter);
  c.body = "not json";
  EXPECT_EQ(CodeOf(batch, c), rc::kInvalidParameter);
}

class AssignmentTest : public BrokerFixture {};

TEST_F(AssignmentTest, RequestModesPersistAndAssignmentsFollowThem) {
  CreateTopic("T", 4);
  NamesrvRegistrar registrar(bc_.get());  // not started: the broker's own queues
  auto proc = std::make_unique<AssignmentProcessor>(bc_.get(), &registrar);
  ASSERT_TRUE(proc->Load().ok());
  auto set = [&](const std::string& body) {
    RemotingCommand c = RemotingCommand::Request(req::kSetMessageRequestMode);
    c.body = body;
    return CodeOf([&](const remoting::RequestContextPtr& x) { proc->SetMessageRequestMode(x); }, c);
  };
  auto query = [&](const std::string& cid) {
    protocol::QueryAssignmentRequestBody b;
    b.topic = "T";
    b.consumer_group = "G";
    b.client_id = cid;
    RemotingCommand c = RemotingCommand::Request(req::kQueryAssignment);
    c.body = b.Encode();
    auto r = Call([&](const remoting::RequestContextPtr& x) { proc->QueryAssignment(x); }, c);
    EXPECT_TRUE(r && r->code == rc::kSuccess);
    auto a = protocol::DecodeQueryAssignmentResponse(r ? r->body : "");
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : std::vector<protocol::MessageQueueAssignment>{};
  };
  EXPECT_EQ(set(R"({"topic":"T","consumerGroup":"G","mode":"POP"})"),
            rc::kSubscriptionGroupNotExist);
  protocol::SubscriptionGroupConfigBody g;
  g.group_name = "G";
  ASSERT_TRUE(bc_->groups.Update(g).ok());
  EXPECT_EQ(set(R"({"topic":"Nope","consumerGroup":"G","mode":"POP"})"), rc::kTopicNotExist);
  EXPECT_EQ(set(R"({"topic":"%RETRY%G","consumerGroup":"G","mode":"POP"})"), rc::kNoPermission);
  EXPECT_EQ(set(R"({"topic":"T","consumerGroup":"G","mode":"PUSH"})"), rc::kInvalidParameter);
  EXPECT_EQ(set("[1]"), rc::kInvalidParameter);
  // No consumer registered: a PULL group gets nothing; a POP group one queue -1 per broker.
  EXPECT_TRUE(query("c1").empty());
  ASSERT_EQ(set(R"({"topic":"T","consumerGroup":"G","mode":"POP","popShareQueueNum":8})"),
            rc::kSuccess);
  auto pop = query("c1");
  ASSERT_EQ(pop.size(), 1u);
  EXPECT_EQ(pop[0].mode, "POP");
  EXPECT_EQ(pop[0].message_queue.queue_id, -1);
  EXPECT_EQ(pop[0].message_queue.broker_name, "broker-t");
  // Persisted: a new processor reads it back.
  proc = std::make_unique<AssignmentProcessor>(bc_.get(), &registrar);
  ASSERT_TRUE(proc->Load().ok());
  EXPECT_EQ(query("c1").at(0).mode, "POP");
  RemotingCommand all = RemotingCommand::Request(req::kGetAllMessageRequestMode);
  auto r =
      Call([&](const remoting::RequestContextPtr& x) { proc->GetAllMessageRequestMode(x); }, all);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"POP\""), std::string::npos) << r->body;
}

TEST(AllocateTest, AveragelyAndByCircleShareEveryQueueOnce) {
  std::vector<protocol::MessageQueue> all;
  for (int i = 0; i < 5; ++i) all.push_back({"T", "b", i});
  std::vector<std::string> cids = {"c2", "c1"};
  auto a1 = protocol::AllocateAveragely(all, cids, "c1");
  auto a2 = protocol::AllocateAveragely(all, cids, "c2");
  EXPECT_EQ(a1.size(), 3u);
  EXPECT_EQ(a2.size(), 2u);
  EXPECT_EQ(a1.front().queue_id, 0);
  auto c1 = protocol::AllocateAveragelyByCircle(all, cids, "c1");
  EXPECT_EQ(c1.size(), 3u);
  EXPECT_EQ(c1[1].queue_id, 2);
  EXPECT_TRUE(protocol::AllocateAveragely(all, cids, "c9").empty());
}

}  // namespace
}  // namespace ramjet::broker
