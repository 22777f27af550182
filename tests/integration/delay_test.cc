// Delay levels, consumer send-back into retry and DLQ, and timers: the real programs, pulled.
#include "delay_fixture.h"

namespace ramjet {
namespace {

using namespace itest;  // NOLINT(google-build-using-namespace): the shared fixtures

TEST_F(Delay, DelayLevelsDeliverOnTimeAndSurviveRestart) {
  StartNamesrv();
  StartBroker({"--messageDelayLevel=1s 2s 3s"});
  CreateTopic("DelayTopic", 1);
  // 60 messages over levels 1..3, plus one over the maximum level (clamped to 3 s).
  std::map<std::string, int64_t> due;  // body -> earliest delivery (born + delay)
  for (int i = 0; i < 61; ++i) {
    int level = i == 60 ? 7 : 1 + i % 3;
    int64_t born = NowMillis();
    std::string body = "d" + std::to_string(i);
    auto r =
        Call(BrokerAddr(), req::kSendMessageV2,
             {{"a", "PG"},
              {"b", "DelayTopic"},
              {"c", "TBW102"},
              {"d", "4"},
              {"e", "0"},
              {"f", "0"},
              {"g", std::to_string(born)},
              {"h", "0"},
              {"i", message::BuildProperties({{"DELAY", std::to_string(level)}, {"TAGS", "T"}})}},
             body);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    EXPECT_EQ(*r->GetInt32("queueId"), 0) << "the response names the requested queue";
    due[body] = born + std::min(level, 3) * 1000;
  }
  // Nothing is visible in the real topic right away.
  auto early = Pull("DelayTopic", 0, 0, kSubFlag, 0);
  EXPECT_EQ(early->code, rc::kPullNotFound);
  int64_t offset = 0;
  auto got = Drain("DelayTopic", 0, due.size(), 15000, &offset);
  ASSERT_EQ(got.size(), due.size());
  std::vector<int64_t> lateness;
  for (const auto& [rec, body] : got) {
    ASSERT_TRUE(due.count(body)) << body;
    // The store time of the delivered copy is when it became visible.
    int64_t late = rec.store_timestamp - due[body];
    EXPECT_GE(late, -5) << body << " delivered early";
    lateness.push_back(late);
    // Delivered with the properties it was stored with, DELAY included, as Apache RocketMQ 4.9.7
    // stores a delivered message (tests/diff).
    EXPECT_NE(message::FindProperty(rec.properties, "DELAY"), "");
    EXPECT_EQ(message::FindProperty(rec.properties, "REAL_TOPIC"), "DelayTopic");
    EXPECT_EQ(message::FindProperty(rec.properties, "TAGS"), "T");
  }
  std::sort(lateness.begin(), lateness.end());
  int64_t p50 = lateness[lateness.size() / 2];
  int64_t p99 = lateness[lateness.size() * 99 / 100];
  std::printf("LATENESS delay levels: n=%zu p50=%lld ms p99=%lld ms max=%lld ms\n", lateness.size(),
              static_cast<long long>(p50), static_cast<long long>(p99),
              static_cast<long long>(lateness.back()));
  RecordProperty("lateness_p50_ms", static_cast<int>(p50));
  RecordProperty("lateness_p99_ms", static_cast<int>(p99));
  EXPECT_LT(p99, 1000);

  // Restart in the middle: 50 messages of 3 s, clean stop after ~1 s, restart; all arrive once.
  std::set<std::string> pending;
  for (int i = 0; i < 50; ++i) {
    std::string body = "r" + std::to_string(i);
    auto r = Call(BrokerAddr(), req::kSendMessageV2,
                  {{"a", "PG"},
                   {"b", "DelayTopic"},
                   {"c", "TBW102"},
                   {"d", "4"},
                   {"e", "0"},
                   {"f", "0"},
                   {"g", std::to_string(NowMillis())},
                   {"h", "0"},
                   {"i", message::BuildProperties({{"DELAY", "3"}})}},
                  body);
    ASSERT_EQ(r->code, rc::kSuccess);
    pending.insert(body);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(broker_.Stop(), 0);
  StartBroker({"--messageDelayLevel=1s 2s 3s"});
  auto after = Drain("DelayTopic", 0, pending.size(), 15000, &offset);
  std::map<std::string, int> seen;
  for (const auto& [rec, body] : after) seen[body]++;
  for (const auto& b : pending) EXPECT_EQ(seen[b], 1) << b;
  // Killed in the middle (no clean shutdown): nothing is lost (duplicates are allowed).
  pending.clear();
  for (int i = 0; i < 30; ++i) {
    std::string body = "k" + std::to_string(i);
    auto r = Call(BrokerAddr(), req::kSendMessageV2,
                  {{"a", "PG"},
                   {"b", "DelayTopic"},
                   {"c", "TBW102"},
                   {"d", "4"},
                   {"e", "0"},
                   {"f", "0"},
                   {"g", std::to_string(NowMillis())},
                   {"h", "0"},
                   {"i", message::BuildProperties({{"DELAY", "2"}})}},
                  body);
    ASSERT_EQ(r->code, rc::kSuccess);
    pending.insert(body);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  broker_.Kill();
  StartBroker({"--messageDelayLevel=1s 2s 3s"});
  // Deliveries since the last persisted progress are repeated after a kill: drain until every
  // pending body was seen.
  after = Drain("DelayTopic", 0, 0, 20000, &offset, &pending);
  seen.clear();
  for (const auto& [rec, body] : after) seen[body]++;
  for (const auto& b : pending) EXPECT_GE(seen[b], 1) << b << " lost across a kill";
}

TEST_F(Delay, SendBackRetriesThenDeadLetters) {
  StartNamesrv();
  StartBroker({"--messageDelayLevel=1s 1s 1s 1s 1s 1s"});
  CreateTopic("SbTopic", 1);
  auto s = SendV2("SbTopic", 0, "payload",
                  message::BuildProperties({{"TAGS", "A"}, {"KEYS", "k1"}, {"UNIQ_KEY", "U1"}}));
  ASSERT_EQ(s->code, rc::kSuccess);
  auto id = message::DecodeOffsetMessageId(*s->GetString("msgId"));
  ASSERT_TRUE(id.ok());
  // First failure: into %RETRY%SG after level 3 + 0.
  auto back = Call(BrokerAddr(), req::kConsumerSendMsgBack,
                   {{"offset", std::to_string(id->second)},
                    {"group", "SG"},
                    {"delayLevel", "0"},
                    {"originMsgId", "U1"},
                    {"originTopic", "SbTopic"},
                    {"maxReconsumeTimes", "2"}});
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->code, rc::kSuccess) << back->remark.value_or("");
  int64_t off = 0;
  auto retry = Drain("%RETRY%SG", 0, 1, 10000, &off);
  ASSERT_EQ(retry.size(), 1u);
  const auto& rv = retry[0].first;
  EXPECT_EQ(retry[0].second, "payload");
  EXPECT_EQ(rv.reconsume_times, 1);
  EXPECT_EQ(message::FindProperty(rv.properties, "RETRY_TOPIC"), "SbTopic");
  EXPECT_EQ(message::FindProperty(rv.properties, "ORIGIN_MESSAGE_ID"), "U1");
  EXPECT_EQ(message::FindProperty(rv.properties, "KEYS"), "k1");
  // Second failure of the retried copy: reconsumeTimes 1 -> retried again (max 2).
  auto back2 = Call(BrokerAddr(), req::kConsumerSendMsgBack,
                    {{"offset", std::to_string(rv.physical_offset)},
                     {"group", "SG"},
                     {"delayLevel", "0"},
                     {"maxReconsumeTimes", "2"}});
  ASSERT_EQ(back2->code, rc::kSuccess);
  auto retry2 = Drain("%RETRY%SG", 0, 1, 10000, &off);
  ASSERT_EQ(retry2.size(), 1u);
  EXPECT_EQ(retry2[0].first.reconsume_times, 2);
  // Third failure: reconsumeTimes 2 >= max 2 -> dead-letter queue, at once.
  auto back3 = Call(BrokerAddr(), req::kConsumerSendMsgBack,
                    {{"offset", std::to_string(retry2[0].first.physical_offset)},
                     {"group", "SG"},
                     {"delayLevel", "0"},
                     {"maxReconsumeTimes", "2"}});
  ASSERT_EQ(back3->code, rc::kSuccess);
  ASSERT_TRUE(WaitRoute("%DLQ%SG", 10000));
  int64_t doff = 0;
  auto dlq = Drain("%DLQ%SG", 0, 1, 5000, &doff);
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].second, "payload");
  EXPECT_EQ(message::FindProperty(dlq[0].first.properties, "ORIGIN_MESSAGE_ID"), "U1");
  // A negative delay level goes straight to the DLQ.
  auto back4 =
      Call(BrokerAddr(), req::kConsumerSendMsgBack,
           {{"offset", std::to_string(id->second)}, {"group", "SG"}, {"delayLevel", "-1"}});
  ASSERT_EQ(back4->code, rc::kSuccess);
  dlq = Drain("%DLQ%SG", 0, 1, 5000, &doff);
  ASSERT_EQ(dlq.size(), 1u);
  // A bad offset is a clear error.
  auto bad = Call(BrokerAddr(), req::kConsumerSendMsgBack,
                  {{"offset", "999999999"}, {"group", "SG"}, {"delayLevel", "0"}});
  EXPECT_EQ(bad->code, rc::kSystemError);
  // A producer re-send to a retry topic that ran out of retries lands in the DLQ too.
  auto resend = Call(BrokerAddr(), req::kSendMessageV2,
                     {{"a", "PG"},
                      {"b", "%RETRY%SG"},
                      {"c", "TBW102"},
                      {"d", "4"},
                      {"e", "0"},
                      {"f", "0"},
                      {"g", "1"},
                      {"h", "0"},
                      {"j", "5"},
                      {"l", "3"},
                      {"i", message::BuildProperties({{"DELAY", "4"}})}},
                     "resent");
  ASSERT_EQ(resend->code, rc::kSuccess) << resend->remark.value_or("");
  dlq = Drain("%DLQ%SG", 0, 1, 5000, &doff);
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].second, "resent");
}

#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultTimerCount = 100000;  // ASan build: smaller, same logic
#else
constexpr int kDefaultTimerCount = 1000000;
#endif

TEST_F(Delay, TimersDeliverWithinOneSecondUnderAMillionPendingAndSurviveRestarts) {
  const int far_count = std::getenv("RAMJET_TIMER_TEST_COUNT")
                            ? std::atoi(std::getenv("RAMJET_TIMER_TEST_COUNT"))
                            : kDefaultTimerCount;
  StartNamesrv();
  StartBroker();
  CreateTopic("TmTopic", 2);
  // 1. Far-future timers (due in an hour), sent in batches of 1000.
  const int64_t far_due = NowMillis() + 3600 * 1000;
  int64_t t0 = NowMillis();
  for (int sent = 0; sent < far_count; sent += 1000) {
    std::string body;
    for (int i = 0; i < 1000 && sent + i < far_count; ++i) {
      std::string props = message::BuildProperties(
          {{"TIMER_DELIVER_MS", std::to_string(far_due + (sent + i) % 1000)},
           {"UNIQ_KEY", "F" + std::to_string(sent + i)}});
      std::string payload = "far";
      PutBE32(&body, static_cast<uint32_t>(20 + payload.size() + 2 + props.size()));
      PutBE32(&body, 0);
      PutBE32(&body, 0);
      PutBE32(&body, 0);
      PutBE32(&body, static_cast<uint32_t>(payload.size()));
      body += payload;
      PutBE16(&body, static_cast<uint16_t>(props.size()));
      body += props;
    }
    auto r = Call(BrokerAddr(), req::kSendBatchMessage,
                  {{"a", "PG"},
                   {"b", "TmTopic"},
                   {"c", "TBW102"},
                   {"d", "4"},
                   {"e", "1"},
                   {"f", "0"},
                   {"g", std::to_string(NowMillis())},
                   {"h", "0"},
                   {"m", "true"},
                   {"i", message::BuildProperties({{"WAIT", "false"}})}},
                  body, 30000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  }
  std::printf("TIMERS %d far timers stored in %lld ms\n", far_count,
              static_cast<long long>(NowMillis() - t0));
  auto pending = [&]() -> int64_t {
    auto r = Call(BrokerAddr(), req::kGetBrokerRuntimeInfo, {});
    if (!r.ok() || r->code != rc::kSuccess) return -1;
    auto t = protocol::KVTable::Parse(r->body);
    return t.ok() ? std::atoll(t->table["timerPendingCount"].c_str()) : -1;
  };
  for (int i = 0; i < 600 && pending() < far_count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(pending(), far_count);
  // 2. Probe timers due in 1..3 s (TIMER_DELIVER_MS, TIMER_DELAY_SEC and TIMER_DELAY_MS forms).
  auto send_probe = [&](const std::string& name, int kind, int64_t delay_ms) {
    int64_t due = NowMillis() + delay_ms;
    std::vector<std::pair<std::string, std::string>> p = {{"UNIQ_KEY", name}};
    if (kind == 0) p.emplace_back("TIMER_DELIVER_MS", std::to_string(due));
    if (kind == 1) p.emplace_back("TIMER_DELAY_SEC", std::to_string(delay_ms / 1000));
    if (kind == 2) p.emplace_back("TIMER_DELAY_MS", std::to_string(delay_ms));
    auto r = SendV2("TmTopic", 0, name, message::BuildProperties(p));
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  };
  std::set<std::string> probes;
  for (int i = 0; i < 150; ++i) {
    std::string n = "p" + std::to_string(i);
    send_probe(n, i % 3, 1000 + (i % 3) * 1000);
    probes.insert(n);
  }
  EXPECT_EQ(Pull("TmTopic", 0, 0, kSubFlag, 0)->code, rc::kPullNotFound) << "nothing due yet";
  int64_t off = 0;
  auto got = Drain("TmTopic", 0, 0, 15000, &off, &probes);
  std::vector<int64_t> lateness;
  for (const auto& [rec, body] : got) {
    int64_t due =
        std::atoll(std::string(message::FindProperty(rec.properties, "TIMER_OUT_MS")).c_str());
    lateness.push_back(rec.store_timestamp - due);
    EXPECT_GE(rec.store_timestamp - due, 0) << body << " delivered early";
  }
  ASSERT_EQ(lateness.size(), probes.size());
  std::sort(lateness.begin(), lateness.end());
  int64_t p50 = lateness[lateness.size() / 2], p99 = lateness[lateness.size() * 99 / 100];
  std::printf("LATENESS timers with %d pending: n=%zu p50=%lld ms p99=%lld ms max=%lld ms\n",
              far_count, lateness.size(), static_cast<long long>(p50), static_cast<long long>(p99),
              static_cast<long long>(lateness.back()));
  RecordProperty("timer_lateness_p99_ms", static_cast<int>(p99));
  EXPECT_LT(lateness.back(), 1000) << "a timer was delivered more than 1 s late";
  // 3. Clean restart with probes pending: all delivered, the far ones still pending.
  probes.clear();
  for (int i = 0; i < 50; ++i) {
    std::string n = "q" + std::to_string(i);
    send_probe(n, 0, 3000);
    probes.insert(n);
  }
  ASSERT_EQ(broker_.Stop(30000), 0);
  StartBroker();
  got = Drain("TmTopic", 0, 0, 20000, &off, &probes);
  std::map<std::string, int> seen;
  for (const auto& [rec, body] : got) seen[body]++;
  for (const auto& p : probes) EXPECT_EQ(seen[p], 1) << p;
  EXPECT_EQ(pending(), far_count) << "far timers survive a clean restart";
  // 4. Killed: none lost.
  probes.clear();
  for (int i = 0; i < 30; ++i) {
    std::string n = "k" + std::to_string(i);
    send_probe(n, 2, 2000);
    probes.insert(n);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  broker_.Kill();
  StartBroker();
  got = Drain("TmTopic", 0, 0, 20000, &off, &probes);
  seen.clear();
  for (const auto& [rec, body] : got) seen[body]++;
  for (const auto& p : probes) EXPECT_GE(seen[p], 1) << p << " lost across a kill";
  for (int i = 0; i < 300 && pending() != far_count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(pending(), far_count) << "far timers survive a kill";
  // A malformed timer is refused.
  auto bad = SendV2("TmTopic", 0, "x", message::BuildProperties({{"TIMER_DELAY_SEC", "soon"}}));
  EXPECT_EQ(bad->code, rc::kMessageIllegal);
}

}  // namespace
}  // namespace ramjet
