// SQL92 filters, queue locks, transactions with check-back across a restart, and offset resets:
// the real programs over the wire.
#include "delay_fixture.h"

namespace ramjet {
namespace {

using namespace itest;  // NOLINT(google-build-using-namespace): the shared fixtures

TEST_F(Cluster, Sql92FiltersOnTheBrokerAndRejectsBadExpressions) {
  StartNamesrv();
  StartBroker({"--enablePropertyFilter=true"});
  CreateTopic("SqlTopic", 1);
  for (int i = 0; i < 20; ++i) {
    auto r =
        SendV2("SqlTopic", 0, "m" + std::to_string(i),
               message::BuildProperties(
                   {{"a", std::to_string(i)}, {"region", i % 2 ? "eu" : "us"}, {"TAGS", "T"}}));
    ASSERT_EQ(r->code, rc::kSuccess);
  }
  int64_t dispatched = 0;  // up to 10 s: a loaded CI machine may dispatch late
  for (int i = 0; i < 1000 && dispatched < 20; ++i) {
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "SqlTopic"}, {"queueId", "0"}});
    dispatched = mx.ok() ? mx->GetInt64Or("offset", 0) : 0;
    if (dispatched < 20) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(dispatched, 20);
  auto pull = [&](const std::string& expr) {
    return Call(BrokerAddr(), req::kPullMessage,
                {{"consumerGroup", "SqlG"},
                 {"topic", "SqlTopic"},
                 {"queueId", "0"},
                 {"queueOffset", "0"},
                 {"maxMsgNums", "32"},
                 {"sysFlag", "4"},
                 {"commitOffset", "0"},
                 {"suspendTimeoutMillis", "0"},
                 {"subscription", expr},
                 {"subVersion", "1"},
                 {"expressionType", "SQL92"}});
  };
  auto p = pull("a > 5 AND region = 'eu' AND a NOT BETWEEN 9 AND 11");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->code, rc::kSuccess) << p->remark.value_or("");
  std::vector<std::string> bodies;
  for (const auto& r : Records(p->body)) bodies.emplace_back(r.body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"m7", "m13", "m15", "m17", "m19"}));
  p = pull("region IN ('nowhere')");
  EXPECT_EQ(p->code, rc::kPullRetryImmediately);
  p = pull("a >");
  EXPECT_EQ(p->code, rc::kSubscriptionParseFailed);
  EXPECT_NE(p->remark.value_or("").find("SQL92 syntax error"), std::string::npos);
  // A heartbeat with a bad expression is refused with the reason.
  std::string hb =
      R"({"clientID":"c1","consumerDataSet":[{"groupName":"SqlG","consumeType":1,"messageModel":1,)"
      R"("consumeFromWhere":4,"subscriptionDataSet":[{"topic":"SqlTopic","subString":"a >> 1",)"
      R"("expressionType":"SQL92","subVersion":1}]}]})";
  auto h = Call(BrokerAddr(), req::kHeartBeat, {}, hb);
  EXPECT_EQ(h->code, rc::kSubscriptionParseFailed);
  EXPECT_NE(h->remark.value_or("").find("SqlG"), std::string::npos);
  EXPECT_EQ(broker_.Stop(), 0);
  // With property filtering switched off, SQL92 is refused clearly.
  StartBroker();
  p = pull("a > 5");
  EXPECT_EQ(p->code, rc::kSystemError);
  EXPECT_NE(p->remark.value_or("").find("enablePropertyFilter"), std::string::npos);
}

TEST_F(Cluster, QueueLocksGiveEachQueueToOneClientAtATime) {
  StartNamesrv();
  StartBroker({"--rebalanceLockMaxLiveTime=1500"});
  auto body = [](const std::string& client, std::vector<int> qids) {
    std::string mqs;
    for (int q : qids) {
      if (!mqs.empty()) mqs += ",";
      mqs += R"({"brokerName":"broker-it","queueId":)" + std::to_string(q) + R"(,"topic":"OT"})";
    }
    return R"({"consumerGroup":"OG","clientId":")" + client + R"(","mqSet":[)" + mqs + "]}";
  };
  auto locked = [&](const std::string& client, std::vector<int> qids) {
    auto r = Call(BrokerAddr(), req::kLockBatchMq, {}, body(client, qids));
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSuccess);
    std::set<int> out;
    auto j = protocol::QuoteNumericKeys(r->body);
    // {"lockOKMQSet":[{"brokerName":..,"queueId":N,"topic":..},...]}
    size_t pos = 0;
    while ((pos = j.find("\"queueId\":", pos)) != std::string::npos) {
      pos += 10;
      out.insert(std::atoi(j.c_str() + pos));
    }
    return out;
  };
  EXPECT_EQ(locked("A", {0, 1}), (std::set<int>{0, 1}));
  EXPECT_EQ(locked("B", {0, 1, 2}), (std::set<int>{2})) << "held queues are not handed over";
  EXPECT_EQ(locked("A", {0, 1}), (std::set<int>{0, 1})) << "the holder renews";
  auto un = Call(BrokerAddr(), req::kUnlockBatchMq, {}, body("A", {0}));
  ASSERT_EQ(un->code, rc::kSuccess);
  EXPECT_EQ(locked("B", {0, 1}), (std::set<int>{0}));
  EXPECT_EQ(locked("A", {0}), (std::set<int>{})) << "B holds it now";
  // A stops renewing queue 1: it expires after rebalanceLockMaxLiveTime.
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  EXPECT_EQ(locked("B", {1}), (std::set<int>{1}));
  auto bad = Call(BrokerAddr(), req::kLockBatchMq, {}, "{\"mqSet\":1}");
  EXPECT_EQ(bad->code, rc::kSystemError);
}

TEST_F(Delay, TransactionsCommitRollbackAndCheckBackAcrossARestart) {
  StartNamesrv();
  std::vector<std::string> opts = {"--transactionCheckInterval=300", "--transactionTimeOut=500",
                                   "--transactionCheckMax=3"};
  StartBroker(opts);
  CreateTopic("TxTopic", 1);
  // The producer's own connection: it heartbeats as group TG and answers checks.
  remoting::EndpointOptions o;
  o.name = "tx-producer";
  auto producer = std::make_unique<remoting::RemotingClient>(o);
  std::mutex mu;
  std::map<std::string, int> checks;      // uniq -> checks received
  std::set<std::string> commit_on_check;  // answer these with COMMIT
  auto install = [&](remoting::RemotingClient& c) {
    c.RegisterProcessor(
        req::kCheckTransactionState,
        [&, client = &c](const remoting::RequestContextPtr& ctx) {
          const auto& q = ctx->request();
          std::string uniq(q.Find("msgId").value_or(""));
          bool commit;
          {
            std::lock_guard<std::mutex> l(mu);
            checks[uniq]++;
            commit = commit_on_check.count(uniq) > 0;
          }
          // The body is the half re-encoded with its real topic.
          auto rec = message::DecodeRecord(ctx->request().body, false);
          EXPECT_TRUE(rec.ok());
          if (rec.ok()) {
            EXPECT_EQ(rec->topic, "TxTopic");
          }
          if (!commit) return;
          RemotingCommand end = RemotingCommand::Request(req::kEndTransaction);
          end.Set("producerGroup", "TG");
          end.Set("tranStateTableOffset", std::string(q.Find("tranStateTableOffset").value_or("")));
          end.Set("commitLogOffset", std::string(q.Find("commitLogOffset").value_or("")));
          end.Set("commitOrRollback", "8");
          end.Set("fromTransactionCheck", "true");
          end.Set("msgId", uniq);
          (void)client->InvokeOneway(BrokerAddr(), end);
        },
        nullptr);
  };
  install(*producer);
  auto heartbeat = [&](remoting::RemotingClient& c) {
    RemotingCommand hb = RemotingCommand::Request(req::kHeartBeat);
    hb.body =
        R"({"clientID":"127.0.0.1@tx","producerDataSet":[{"groupName":"TG"}],"consumerDataSet":[]})";
    auto r = c.InvokeSync(BrokerAddr(), hb, 5000);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess);
  };
  heartbeat(*producer);
  auto send_half = [&](const std::string& uniq) -> std::pair<int64_t, int64_t> {
    RemotingCommand c = RemotingCommand::Request(req::kSendMessageV2);
    for (auto [k, v] :
         std::vector<std::pair<std::string, std::string>>{{"a", "TG"},
                                                          {"b", "TxTopic"},
                                                          {"c", "TBW102"},
                                                          {"d", "4"},
                                                          {"e", "0"},
                                                          {"f", "4"},
                                                          {"g", std::to_string(NowMillis())},
                                                          {"h", "0"}}) {
      c.Set(k, v);
    }
    c.Set("i",
          message::BuildProperties({{"TRAN_MSG", "true"}, {"PGROUP", "TG"}, {"UNIQ_KEY", uniq}}));
    c.body = "tx-" + uniq;
    auto r = producer->InvokeSync(BrokerAddr(), c, 5000);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    auto id = message::DecodeOffsetMessageId(*r->GetString("msgId"));
    return {*r->GetInt64("queueOffset"), id->second};
  };
  auto end = [&](const std::pair<int64_t, int64_t>& half, const std::string& uniq, int type) {
    RemotingCommand e = RemotingCommand::Request(req::kEndTransaction);
    e.Set("producerGroup", "TG");
    e.Set("tranStateTableOffset", half.first);
    e.Set("commitLogOffset", half.second);
    e.Set("commitOrRollback", static_cast<int64_t>(type));
    e.Set("msgId", uniq);
    return producer->InvokeSync(BrokerAddr(), e, 5000);
  };
  auto visible = [&](int timeout_ms, size_t want) {
    std::map<std::string, int> seen;
    int64_t off = 0;
    auto got = Drain("TxTopic", 0, want, timeout_ms, &off);
    for (const auto& [rec, body] : got) {
      seen[body]++;
      EXPECT_EQ(rec.transaction_type(), message::kTransactionCommitType);
    }
    return seen;
  };

  auto h1 = send_half("U1");
  auto h2 = send_half("U2");
  EXPECT_EQ(Pull("TxTopic", 0, 0, kSubFlag, 0)->code, rc::kPullNotFound) << "halves are invisible";
  auto e1 = end(h1, "U1", 8);
  ASSERT_EQ(e1->code, rc::kSuccess) << e1->remark.value_or("");
  ASSERT_EQ(end(h2, "U2", 12)->code, rc::kSuccess);
  ASSERT_EQ(end(h1, "U1", 8)->code, rc::kSuccess) << "a repeated commit is accepted";
  auto wrong = end(h2, "U2", 8);
  auto bad_group = [&] {
    RemotingCommand e = RemotingCommand::Request(req::kEndTransaction);
    e.Set("producerGroup", "OTHER");
    e.Set("tranStateTableOffset", h1.first);
    e.Set("commitLogOffset", h1.second);
    e.Set("commitOrRollback", "8");
    e.Set("msgId", "U1");
    return producer->InvokeSync(BrokerAddr(), e, 5000);
  }();
  EXPECT_EQ(bad_group->code, rc::kSystemError);
  // U3 is left undecided: the broker checks back and the producer commits it then.
  {
    std::lock_guard<std::mutex> l(mu);
    commit_on_check.insert("U3");
  }
  send_half("U3");
  // U4 is never answered: checked transactionCheckMax times, then discarded.
  send_half("U4");
  auto seen = visible(10000, 2);
  EXPECT_EQ(seen["tx-U1"], 1);
  EXPECT_EQ(seen["tx-U2"], 0) << "rolled back";
  EXPECT_EQ(seen["tx-U3"], 1) << "committed after a check-back";
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_GE(checks["U3"], 1);
    EXPECT_EQ(checks.count("U1"), 0u) << "decided transactions are not checked";
  }
  // Restart in the middle of U5's life: its check comes after the restart, from the new broker.
  send_half("U5");
  {
    std::lock_guard<std::mutex> l(mu);
    commit_on_check.insert("U5");
  }
  ASSERT_EQ(broker_.Stop(), 0);
  producer->Shutdown();
  StartBroker(opts);
  producer = std::make_unique<remoting::RemotingClient>(o);
  install(*producer);
  heartbeat(*producer);
  seen = visible(10000, 3);
  EXPECT_EQ(seen["tx-U1"], 1) << "no duplicate after the restart";
  EXPECT_EQ(seen["tx-U3"], 1);
  EXPECT_EQ(seen["tx-U5"], 1);
  // U4: give it time to exhaust its checks.
  for (int i = 0; i < 100; ++i) {
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset,
                   {{"topic", "TRANS_CHECK_MAX_TIME_TOPIC"}, {"queueId", "0"}});
    if (mx->GetInt64Or("offset", 0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto mx = Call(BrokerAddr(), req::kGetMaxOffset,
                 {{"topic", "TRANS_CHECK_MAX_TIME_TOPIC"}, {"queueId", "0"}});
  EXPECT_EQ(*mx->GetInt64("offset"), 1);
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(checks["U4"], 3);
  }
  seen = visible(1000, 100);
  EXPECT_EQ(seen["tx-U4"], 0);
  (void)wrong;
}

TEST_F(Cluster, ResetOffsetByTimeMovesTheGroupAndTellsItsConsumers) {
  StartNamesrv();
  StartBroker();
  CreateTopic("RsTopic", 1);
  // Declared before the client: the client (and its I/O thread, which runs the handler) goes
  // first when the test ends.
  std::mutex mu;
  std::vector<std::string> resets;
  remoting::EndpointOptions o;
  o.name = "rs-consumer";
  remoting::RemotingClient consumer(o);
  consumer.RegisterProcessor(
      220,
      [&](const remoting::RequestContextPtr& ctx) {
        std::lock_guard<std::mutex> l(mu);
        resets.push_back(ctx->request().body);
        ctx->RespondCode(rc::kSuccess);
      },
      nullptr);
  RemotingCommand hb = RemotingCommand::Request(req::kHeartBeat);
  hb.body =
      R"({"clientID":"127.0.0.1@rs","consumerDataSet":[{"groupName":"RG","consumeType":)"
      R"("CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":)"
      R"("CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"RsTopic","subString":"*",)"
      R"("subVersion":1}]}]})";
  ASSERT_EQ(consumer.InvokeSync(BrokerAddr(), hb, 5000)->code, rc::kSuccess);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(SendV2("RsTopic", 0, "old", "")->code, rc::kSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t middle = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(SendV2("RsTopic", 0, "new", "")->code, rc::kSuccess);
  for (int i = 0; i < 100; ++i) {
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "RsTopic"}, {"queueId", "0"}});
    if (mx->GetInt64Or("offset", 0) == 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto commit = Call(
      BrokerAddr(), req::kUpdateConsumerOffset,
      {{"consumerGroup", "RG"}, {"topic", "RsTopic"}, {"queueId", "0"}, {"commitOffset", "10"}});
  ASSERT_EQ(commit->code, rc::kSuccess);
  // Back in time to `middle`: the group restarts at offset 5.
  auto r = Call(BrokerAddr(), 222,
                {{"topic", "RsTopic"},
                 {"group", "RG"},
                 {"timestamp", std::to_string(middle)},
                 {"isForce", "true"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  EXPECT_NE(r->body.find(R"("queueId":0,"topic":"RsTopic"}:5)"), std::string::npos) << r->body;
  auto q = Call(BrokerAddr(), req::kQueryConsumerOffset,
                {{"consumerGroup", "RG"}, {"topic", "RsTopic"}, {"queueId", "0"}});
  EXPECT_EQ(*q->GetInt64("offset"), 5);
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (!resets.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(resets.size(), 1u) << "the live consumer is told";
    // This consumer connected as language CPP: it gets ResetOffsetBodyForC (a list).
    EXPECT_NE(resets[0].find(R"("offset":5,"queueId":0)"), std::string::npos) << resets[0];
  }
  // Timestamp -1: to the end.
  r = Call(BrokerAddr(), 222,
           {{"topic", "RsTopic"}, {"group", "RG"}, {"timestamp", "-1"}, {"isForce", "true"}});
  ASSERT_EQ(r->code, rc::kSuccess);
  q = Call(BrokerAddr(), req::kQueryConsumerOffset,
           {{"consumerGroup", "RG"}, {"topic", "RsTopic"}, {"queueId", "0"}});
  EXPECT_EQ(*q->GetInt64("offset"), 10);
  // Unknown topic: a clear error.
  r = Call(BrokerAddr(), 222, {{"topic", "Nope"}, {"group", "RG"}, {"timestamp", "-1"}});
  EXPECT_EQ(r->code, rc::kTopicNotExist);
}

}  // namespace
}  // namespace ramjet
