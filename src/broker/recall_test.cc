// Recalling timer messages (recall.h, TimerService::Cancel) over a real store: a recalled timer
// is never delivered, also after the timer service is rebuilt from the store (a restart); a
// second recall, a recall after delivery, and malformed or foreign handles are refused.
#include "recall.h"

#include "processor_test_util.h"
#include "ramjet/base/base64.h"
#include "ramjet/base/clock.h"

namespace ramjet::broker {
namespace {

using testing::BrokerFixture;

class RecallTest : public BrokerFixture {
 protected:
  // As the broker: timer-queue entries carry their delivery time as the tags code.
  void Configure(BrokerConfig* c) override {
    c->store.tags_code_override = [](const message::RecordView& r) -> std::optional<int64_t> {
      if (r.topic != kTimerTopic) return std::nullopt;
      return std::stoll(std::string(message::FindProperty(r.properties, "TIMER_OUT_MS")));
    };
  }
  void SetUp() override {
    BrokerFixture::SetUp();
    CreateTopic("T", 1);
    NewTimers();
  }
  void TearDown() override {
    timers_.reset();
    BrokerFixture::TearDown();
  }
  void NewTimers() {
    timers_.reset();
    timers_ = std::make_unique<TimerService>(bc_->store.get(), dir_ + "/config/timerProgress.json",
                                             bc_->config().store.store_host);
    ASSERT_TRUE(timers_->Load().ok());
  }
  // A timer message for `at` as the send path stores it; its recall handle.
  std::string SendTimer(const std::string& uniq, int64_t at) {
    std::string topic = "T";
    int32_t qid = 0;
    std::string props =
        message::BuildProperties({{"UNIQ_KEY", uniq}, {"TIMER_DELIVER_MS", std::to_string(at)}});
    auto t = TimerService::ToTimer(&topic, &qid, &props, NowMillis(), 3600 * 1000);
    EXPECT_TRUE(t.ok() && *t);
    message::MessageInput m;
    m.topic = topic;
    m.queue_id = qid;
    m.body = uniq;
    m.properties = props;
    auto r = bc_->store->PutMessage(m);
    EXPECT_TRUE(r.ok());
    MaxOffset(topic, qid, r->queue_offset.value() + 1);
    return RecallHandle{"T", "broker-t", at, uniq}.Encode();
  }
  std::unique_ptr<TimerService> timers_;
};

TEST_F(RecallTest, RecalledTimersAreNeverDeliveredAlsoAfterARestart) {
  const int64_t at = NowMillis() + 1500;
  std::string recalled = SendTimer("U-recalled", at);
  std::string kept = SendTimer("U-kept", at);
  auto id = RecallTimer(*bc_, timers_.get(), "T", recalled);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "U-recalled");
  EXPECT_EQ(RecallTimer(*bc_, timers_.get(), "T", recalled).status().code(), StatusCode::kNotFound)
      << "recalled already";
  // A restart: the op record keeps it recalled.
  NewTimers();
  EXPECT_EQ(RecallTimer(*bc_, timers_.get(), "T", recalled).status().code(), StatusCode::kNotFound);
  timers_->Start();
  EXPECT_EQ(MaxOffset("T", 0, 1), 1) << "the kept timer is delivered";
  EXPECT_GE(NowMillis(), at) << "not before its time";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(bc_->store->GetMaxOffsetInQueue("T", 0).value(), 1) << "the recalled one is not";
  auto got = bc_->store->GetMessages("T", 0, QueueOffset(0), 10, 1 << 20, nullptr);
  ASSERT_EQ(got.messages.size(), 1u);
  auto rec = message::DecodeRecord(got.messages[0].data, false);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->body, "U-kept");
  EXPECT_EQ(RecallTimer(*bc_, timers_.get(), "T", kept).status().code(), StatusCode::kNotFound)
      << "delivered: too late";
}

TEST_F(RecallTest, MalformedAndForeignHandlesAreRefused) {
  const int64_t at = NowMillis() + 60000;
  std::string h = SendTimer("U1", at);
  auto code = [&](const std::string& topic, const std::string& handle) {
    return RecallTimer(*bc_, timers_.get(), topic, handle).status().code();
  };
  EXPECT_EQ(code("T", "not base64!"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("T", Base64Encode("v2 T broker-t 1 U1", Base64Alphabet::kUrlSafe)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code("T", Base64Encode("v1 T broker-t x U1", Base64Alphabet::kUrlSafe)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code("Other", h), StatusCode::kInvalidArgument) << "another topic";
  EXPECT_EQ(code("T", RecallHandle{"T", "broker-x", at, "U1"}.Encode()),
            StatusCode::kInvalidArgument)
      << "another broker";
  EXPECT_EQ(code("T", RecallHandle{"T", "broker-t", at, "U-none"}.Encode()), StatusCode::kNotFound);
  auto back = RecallHandle::Decode(h);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->deliver_ms, at);
  EXPECT_EQ(back->message_id, "U1");
  EXPECT_TRUE(RecallTimer(*bc_, timers_.get(), "T", h).ok());
}

}  // namespace
}  // namespace ramjet::broker
