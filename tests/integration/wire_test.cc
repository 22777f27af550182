// Integration tests over the wire: the real ramjet-namesrv and ramjet-broker programs on
// loopback, driven over the remoting protocol (send, pull, query, long polling, heartbeats,
// auto-creation, hostile input, batches, name-server expiry, configuration errors).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cluster_fixture.h"
#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {
namespace {

constexpr int kSubFlag = 0x4;
constexpr int kSuspendFlag = 0x2;

TEST_F(Cluster, SendPullQueryAndOffsetsOverTheWire) {
  StartNamesrv();
  StartBroker();
  // The broker registers TBW102 (auto-create template) at start.
  auto tbw = WaitRoute("TBW102", 10000);
  ASSERT_TRUE(tbw) << ReadAll(Log("broker.log"));
  EXPECT_EQ(tbw->broker_datas.at(0).broker_addrs.at(0), BrokerAddr());
  EXPECT_EQ(tbw->queue_datas.at(0).perm & protocol::kPermInherit, protocol::kPermInherit);

  CreateTopic("ItTopic", 4);
  auto route = WaitRoute("ItTopic", 10000);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->queue_datas.at(0).write_queue_nums, 4);

  int64_t before = NowMillis();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    std::string props = message::BuildProperties({{"TAGS", i % 2 ? "TagB" : "TagA"},
                                                  {"KEYS", "key-" + std::to_string(i)},
                                                  {"UNIQ_KEY", "UNIQ" + std::to_string(i)},
                                                  {"WAIT", "true"},
                                                  {"color", "red"}});
    auto r = SendV2("ItTopic", 1, "body-" + std::to_string(i), props);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    EXPECT_EQ(*r->GetInt32("queueId"), 1);
    EXPECT_EQ(*r->GetInt64("queueOffset"), i);
    EXPECT_EQ(r->GetString("MSG_REGION").value_or(""), "DefaultRegion");
    EXPECT_EQ(r->version, 409);
    ids.push_back(*r->GetString("msgId"));
  }
  // Pull everything back: bodies, tags, keys, user properties and ids as sent (once the
  // dispatcher has indexed the last one).
  for (int i = 0; i < 200; ++i) {
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "ItTopic"}, {"queueId", "1"}});
    if (mx->GetInt64Or("offset", 0) == 20) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto p = Pull("ItTopic", 1, 0, kSubFlag, 0);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->code, rc::kSuccess) << p->remark.value_or("");
  EXPECT_EQ(*p->GetInt64("nextBeginOffset"), 20);
  EXPECT_EQ(*p->GetInt64("maxOffset"), 20);
  auto recs = Records(p->body);
  ASSERT_EQ(recs.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    const auto& m = recs[i];
    EXPECT_EQ(m.topic, "ItTopic");
    EXPECT_EQ(m.body, "body-" + std::to_string(i));
    EXPECT_EQ(m.queue_offset, i);
    EXPECT_EQ(message::FindProperty(m.properties, "KEYS"), "key-" + std::to_string(i));
    EXPECT_EQ(message::FindProperty(m.properties, "color"), "red");
    EXPECT_EQ(message::FindProperty(m.properties, "CLUSTER"), "DefaultCluster");
    EXPECT_EQ(message::FindProperty(m.properties, "WAIT"), "") << "WAIT is not stored";
    EXPECT_EQ(m.store_host.ToString(), BrokerAddr());
    EXPECT_EQ(message::CreateOffsetMessageId(m.store_host, m.physical_offset), ids[i]);
  }
  // Tag filter on the broker: only TagB.
  auto pb = Pull("ItTopic", 1, 0, kSubFlag, 0, 5000, "TagB");
  ASSERT_TRUE(pb.ok());
  ASSERT_EQ(pb->code, rc::kSuccess);
  for (const auto& m : Records(pb->body))
    EXPECT_EQ(message::FindProperty(m.properties, "TAGS"), "TagB");
  EXPECT_EQ(Records(pb->body).size(), 10u);
  // Offsets out of range.
  auto moved = Pull("ItTopic", 1, 500, kSubFlag, 0);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->code, rc::kPullOffsetMoved);
  // As Apache RocketMQ 4.9.7 answers (tests/diff): an overflowing offset is corrected to the
  // max offset.
  EXPECT_EQ(*moved->GetInt64("nextBeginOffset"), *moved->GetInt64("maxOffset"));
  // Queue offset queries.
  auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "ItTopic"}, {"queueId", "1"}});
  EXPECT_EQ(*mx->GetInt64("offset"), 20);
  auto mn = Call(BrokerAddr(), req::kGetMinOffset, {{"topic", "ItTopic"}, {"queueId", "1"}});
  EXPECT_EQ(*mn->GetInt64("offset"), 0);
  auto so = Call(BrokerAddr(), req::kSearchOffsetByTimestamp,
                 {{"topic", "ItTopic"}, {"queueId", "1"}, {"timestamp", std::to_string(before)}});
  EXPECT_EQ(*so->GetInt64("offset"), 0);
  auto et =
      Call(BrokerAddr(), req::kGetEarliestMsgStoretime, {{"topic", "ItTopic"}, {"queueId", "1"}});
  EXPECT_GE(*et->GetInt64("timestamp"), before);
  // Query by key and view by id.
  auto q = Call(BrokerAddr(), req::kQueryMessage,
                {{"topic", "ItTopic"},
                 {"key", "key-7"},
                 {"maxNum", "32"},
                 {"beginTimestamp", "0"},
                 {"endTimestamp", std::to_string(NowMillis() + 1000)}});
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->code, rc::kSuccess) << q->remark.value_or("");
  auto qr = Records(q->body);
  ASSERT_EQ(qr.size(), 1u);
  EXPECT_EQ(qr[0].body, "body-7");
  auto decoded = message::DecodeOffsetMessageId(ids[3]);
  ASSERT_TRUE(decoded.ok());
  auto v = Call(BrokerAddr(), req::kViewMessageById, {{"offset", std::to_string(decoded->second)}});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->code, rc::kSuccess);
  EXPECT_EQ(Records(v->body).at(0).body, "body-3");
  // Consumer offsets: a young queue reads from 0; commits are kept.
  auto qo = Call(BrokerAddr(), req::kQueryConsumerOffset,
                 {{"consumerGroup", "G1"}, {"topic", "ItTopic"}, {"queueId", "1"}});
  EXPECT_EQ(*qo->GetInt64("offset"), 0);
  RemotingCommand upd = RemotingCommand::Request(req::kUpdateConsumerOffset);
  upd.Set("consumerGroup", "G1");
  upd.Set("topic", "ItTopic");
  upd.Set("queueId", "1");
  upd.Set("commitOffset", "17");
  ASSERT_TRUE(client_->InvokeOneway(BrokerAddr(), upd).ok());
  for (int i = 0; i < 100; ++i) {
    qo = Call(BrokerAddr(), req::kQueryConsumerOffset,
              {{"consumerGroup", "G1"}, {"topic", "ItTopic"}, {"queueId", "1"}});
    if (qo->GetInt64Or("offset", -1) == 17) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*qo->GetInt64("offset"), 17);

  // Clean restart: offsets and messages survive, no abort file is left.
  EXPECT_EQ(broker_.Stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(StoreDir() + "/abort"));
  StartBroker();
  qo = Call(BrokerAddr(), req::kQueryConsumerOffset,
            {{"consumerGroup", "G1"}, {"topic", "ItTopic"}, {"queueId", "1"}});
  ASSERT_TRUE(qo.ok());
  EXPECT_EQ(*qo->GetInt64("offset"), 17);
  p = Pull("ItTopic", 1, 17, kSubFlag, 0);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->code, rc::kSuccess);
  EXPECT_EQ(Records(p->body).size(), 3u);
  EXPECT_EQ(broker_.Stop(), 0);
  EXPECT_EQ(ns_.Stop(), 0);
}

TEST_F(Cluster, LongPollingHoldsWakesAndTimesOut) {
  StartNamesrv();
  StartBroker();
  CreateTopic("LpTopic", 2);
  // Nothing there: the pull is held until its suspend timeout, then PULL_NOT_FOUND.
  int64_t t0 = NowMillis();
  auto r = Pull("LpTopic", 0, 0, kSubFlag | kSuspendFlag, 700);
  int64_t waited = NowMillis() - t0;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, rc::kPullNotFound);
  EXPECT_GE(waited, 600);
  EXPECT_LT(waited, 3000);
  // A held pull is answered as soon as a message arrives.
  std::atomic<int64_t> answered_at{0};
  std::atomic<int> code{-1};
  std::string body;
  std::thread puller([&] {
    auto pr = Pull("LpTopic", 0, 0, kSubFlag | kSuspendFlag, 15000, 20000);
    if (pr.ok()) {
      code = pr->code;
      body = pr->body;
    }
    answered_at = NowMillis();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(answered_at.load(), 0) << "pull answered before any message was sent";
  int64_t sent_at = NowMillis();
  auto s = SendV2("LpTopic", 0, "wake-up", message::BuildProperties({{"TAGS", "T"}}));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->code, rc::kSuccess);
  puller.join();
  EXPECT_EQ(code.load(), rc::kSuccess);
  EXPECT_LT(answered_at.load() - sent_at, 1000) << "the held pull was not woken by the arrival";
  auto recs = Records(body);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "wake-up");
  // A held pull whose tag does not match stays held until its timeout.
  t0 = NowMillis();
  std::thread other([&] {
    auto pr = Pull("LpTopic", 0, 1, kSubFlag | kSuspendFlag, 1500, 5000, "OnlyThis");
    code = pr.ok() ? pr->code : -2;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(SendV2("LpTopic", 0, "other-tag", message::BuildProperties({{"TAGS", "T"}}))->code,
            rc::kSuccess);
  other.join();
  EXPECT_TRUE(code.load() == rc::kPullRetryImmediately || code.load() == rc::kPullNotFound)
      << code.load();
  EXPECT_EQ(broker_.Stop(), 0);
}

TEST_F(Cluster, HeartbeatsConsumerListsAndRebalanceNotifications) {
  StartNamesrv();
  StartBroker();
  CreateTopic("HbTopic", 4);
  // Second client that receives NOTIFY_CONSUMER_IDS_CHANGED.
  remoting::EndpointOptions o;
  o.name = "it-client2";
  remoting::RemotingClient c2(o);
  std::atomic<int> notified{0};
  c2.RegisterProcessor(
      req::kNotifyConsumerIdsChanged,
      [&](const remoting::RequestContextPtr& ctx) {
        if (ctx->request().GetString("consumerGroup").value_or("") == "HG") notified.fetch_add(1);
      },
      nullptr);
  // ali-ons style heartbeat (enum names) from client 2.
  std::string hb2 =
      R"({"clientID":"127.0.0.1@2","producerDataSet":[],"consumerDataSet":[{"groupName":"HG",)"
      R"("consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":)"
      R"("CONSUME_FROM_FIRST_OFFSET","unitMode":false,"subscriptionDataSet":[{"topic":"HbTopic",)"
      R"("subString":"*","classFilterMode":false,"tagsSet":[],"codeSet":[],"subVersion":1}]}]})";
  RemotingCommand h = RemotingCommand::Request(req::kHeartBeat);
  h.body = hb2;
  auto r2 = c2.InvokeSync(BrokerAddr(), h, 5000);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->code, rc::kSuccess) << r2->remark.value_or("");
  EXPECT_EQ(r2->version, 409);
  // rocketmq-client-cpp style heartbeat (ordinals) from client 1 joins the group.
  std::string hb1 =
      R"({"clientID":"127.0.0.1@1","producerDataSet":[{"groupName":"PG"}],"consumerDataSet":[)"
      R"({"groupName":"HG","consumeType":1,"messageModel":1,"consumeFromWhere":0,)"
      R"("subscriptionDataSet":[{"topic":"HbTopic","subString":"*","subVersion":"1",)"
      R"("tagsSet":[],"codeSet":[]}]}]})";
  auto r1 = Call(BrokerAddr(), req::kHeartBeat, {}, hb1);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->code, rc::kSuccess);
  for (int i = 0; i < 200 && notified.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(notified.load(), 1) << "group members were not told about the new consumer";
  auto list = Call(BrokerAddr(), req::kGetConsumerListByGroup, {{"consumerGroup", "HG"}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->code, rc::kSuccess);
  auto ids = protocol::ConsumerListBody::Parse(list->body);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->consumer_id_list, (std::vector<std::string>{"127.0.0.1@1", "127.0.0.1@2"}));
  // The retry topic of the group was created and registered.
  EXPECT_TRUE(WaitRoute("%RETRY%HG", 10000));
  // A pull without the subscription flag uses the heartbeat's subscription.
  auto p = Pull("HbTopic", 0, 0, 0, 0, 5000, "*", "HG");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->code, rc::kPullNotFound);
  // Client 1 leaves: client 2 is notified again and the list shrinks.
  int before = notified.load();
  auto un = Call(BrokerAddr(), req::kUnregisterClient,
                 {{"clientID", "127.0.0.1@1"}, {"consumerGroup", "HG"}, {"producerGroup", "PG"}});
  ASSERT_EQ(un->code, rc::kSuccess);
  for (int i = 0; i < 200 && notified.load() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(notified.load(), before);
  list = Call(BrokerAddr(), req::kGetConsumerListByGroup, {{"consumerGroup", "HG"}});
  ids = protocol::ConsumerListBody::Parse(list->body);
  EXPECT_EQ(ids->consumer_id_list, (std::vector<std::string>{"127.0.0.1@2"}));
  // Client 2 disconnects: the group is gone.
  c2.Shutdown();
  for (int i = 0; i < 200; ++i) {
    list = Call(BrokerAddr(), req::kGetConsumerListByGroup, {{"consumerGroup", "HG"}});
    if (list->code != rc::kSuccess) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(list->code, rc::kSystemError);
  EXPECT_NE(list->remark.value_or("").find("no consumer for this group"), std::string::npos);
}

TEST_F(Cluster, AutoCreateThroughTBW102AndItsSwitch) {
  StartNamesrv();
  StartBroker();
  ASSERT_TRUE(WaitRoute("TBW102", 10000));
  auto r = SendV2("AutoTopic", -1, "x", message::BuildProperties({{"TAGS", "A"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  auto route = WaitRoute("AutoTopic", 10000);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->queue_datas.at(0).write_queue_nums, 4);  // min(d=4, TBW102's 8)
  EXPECT_EQ(broker_.Stop(), 0);
  StartBroker({"--autoCreateTopicEnable=false"});
  r = SendV2("AutoTopic2", -1, "x", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kTopicNotExist);
  // Sending to a system topic is refused.
  r = SendV2("SCHEDULE_TOPIC_XXXX", 0, "x", "");
  EXPECT_EQ(r->code, rc::kNoPermission);
  // Illegal queue id.
  r = SendV2("AutoTopic", 99, "x", "");
  EXPECT_EQ(r->code, rc::kSystemError);
}

// Raw socket helpers for malformed input.
TEST_F(Cluster, GarbageTruncatedOversizedAndUnknownInputLeavesServersServing) {
  StartNamesrv();
  StartBroker({"--maxFrameBytes=1048576"});
  CreateTopic("GbTopic", 1);
  ASSERT_TRUE(WaitRoute("GbTopic", 10000));
  for (int port : {ns_port_, broker_port_, broker_port_ - 2}) {
    SCOPED_TRACE("port " + std::to_string(port));
    // Random bytes that make an absurd length field.
    int fd = Connect(port);
    std::string junk = "\xff\xfe\xfd\xfc garbage garbage garbage";
    ::send(fd, junk.data(), junk.size(), 0);
    EXPECT_TRUE(ClosedByPeer(fd, 3000));
    ::close(fd);
    // Oversized length (just above the configured maximum on the broker, 16 MiB+ elsewhere).
    fd = Connect(port);
    std::string f;
    PutBE32(&f, 0x7fffffff);
    ::send(fd, f.data(), f.size(), 0);
    EXPECT_TRUE(ClosedByPeer(fd, 3000));
    ::close(fd);
    // Header length beyond the frame.
    fd = Connect(port);
    f.clear();
    PutBE32(&f, 8);
    PutBE32(&f, 1000);
    f += "abcd";
    ::send(fd, f.data(), f.size(), 0);
    EXPECT_TRUE(ClosedByPeer(fd, 3000));
    ::close(fd);
    // Invalid JSON.
    fd = Connect(port);
    f = Frame("{\"code\":34, oops");
    ::send(fd, f.data(), f.size(), 0);
    EXPECT_TRUE(ClosedByPeer(fd, 3000));
    ::close(fd);
    // Truncated frame, then the client goes away.
    fd = Connect(port);
    f = Frame(R"({"code":105,"opaque":1,"flag":0})").substr(0, 10);
    ::send(fd, f.data(), f.size(), 0);
    ::close(fd);
    // Unknown request code: REQUEST_CODE_NOT_SUPPORTED, connection kept.
    auto r = Call("127.0.0.1:" + std::to_string(port), 9999, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kRequestCodeNotSupported);
  }
  // Missing or malformed header fields are a clear SYSTEM_ERROR naming the field.
  auto r = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "GbTopic"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSystemError);
  EXPECT_NE(r->remark.value_or("").find("queueId"), std::string::npos);
  r = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "GbTopic"}, {"queueId", "zero"}});
  EXPECT_EQ(r->code, rc::kSystemError);
  r = Call(BrokerAddr(), req::kHeartBeat, {}, "{not json");
  EXPECT_EQ(r->code, rc::kSystemError);
  r = Call(
      NsAddr(), req::kRegisterBroker,
      {{"brokerName", "x"}, {"brokerAddr", "1.2.3.4:1"}, {"clusterName", "c"}, {"brokerId", "0"}},
      "[1,2,3]");
  EXPECT_EQ(r->code, rc::kSystemError);
  r = Call(NsAddr(), req::kGetRouteinfoByTopic, {});
  EXPECT_EQ(r->code, rc::kSystemError);
  // Batch body garbage.
  RemotingCommand b = RemotingCommand::Request(req::kSendBatchMessage);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"a", "PG"},
                                                                      {"b", "GbTopic"},
                                                                      {"c", "TBW102"},
                                                                      {"d", "4"},
                                                                      {"e", "0"},
                                                                      {"f", "0"},
                                                                      {"g", "1"},
                                                                      {"h", "0"},
                                                                      {"m", "true"}}) {
    b.Set(k, v);
  }
  b.body = std::string("\x00\x00\x00\x20\0\0\0\0garbage", 15);
  r = client_->InvokeSync(BrokerAddr(), b, 5000);
  EXPECT_EQ(r->code, rc::kMessageIllegal);
  // Both servers still serve normal requests, and nothing acknowledged is lost.
  auto s = SendV2("GbTopic", 0, "after-garbage", "");
  ASSERT_EQ(s->code, rc::kSuccess);
  for (int i = 0; i < 200; ++i) {  // the dispatcher indexes the message right after the write
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "GbTopic"}, {"queueId", "0"}});
    if (mx->GetInt64Or("offset", 0) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto p = Pull("GbTopic", 0, 0, kSubFlag, 0);
  ASSERT_EQ(p->code, rc::kSuccess);
  EXPECT_EQ(Records(p->body).back().body, "after-garbage");
  EXPECT_TRUE(WaitRoute("GbTopic", 1000));
  EXPECT_TRUE(ns_.Alive());
  EXPECT_TRUE(broker_.Alive());
  EXPECT_NE(ReadAll(Log("broker.log")).find("bad frame"), std::string::npos)
      << "malformed frames must be logged";
}

TEST_F(Cluster, BatchSendStoresEachMessage) {
  StartNamesrv();
  StartBroker();
  CreateTopic("BatchTopic", 1);
  std::string body;
  for (int i = 0; i < 5; ++i) {
    std::string props = message::BuildProperties(
        {{"UNIQ_KEY", "U" + std::to_string(i)}, {"KEYS", "bk" + std::to_string(i)}});
    std::string payload = "batch-" + std::to_string(i);
    std::string e;
    PutBE32(&e, static_cast<uint32_t>(20 + payload.size() + 2 + props.size()));
    PutBE32(&e, 0);
    PutBE32(&e, 0);
    PutBE32(&e, static_cast<uint32_t>(i));
    PutBE32(&e, static_cast<uint32_t>(payload.size()));
    e += payload;
    PutBE16(&e, static_cast<uint16_t>(props.size()));
    e += props;
    body += e;
  }
  auto r = Call(BrokerAddr(), req::kSendMessageV2,
                {{"a", "PG"},
                 {"b", "BatchTopic"},
                 {"c", "TBW102"},
                 {"d", "4"},
                 {"e", "0"},
                 {"f", "0"},
                 {"g", "1"},
                 {"h", "0"},
                 {"i", message::BuildProperties({{"WAIT", "true"}})},
                 {"m", "true"}},
                body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  std::string ids = *r->GetString("msgId");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ','), 4);
  // Consume-queue entries are built by the dispatcher right after the write: wait for all 5.
  for (int i = 0; i < 200; ++i) {
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "BatchTopic"}, {"queueId", "0"}});
    if (mx->GetInt64Or("offset", 0) == 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto p = Pull("BatchTopic", 0, 0, kSubFlag, 0);
  ASSERT_EQ(p->code, rc::kSuccess);
  EXPECT_EQ(*p->GetInt64("maxOffset"), 5);
  auto recs = Records(p->body);
  ASSERT_EQ(recs.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(recs[i].body, "batch-" + std::to_string(i));
    EXPECT_EQ(recs[i].flag, i);
    EXPECT_EQ(recs[i].queue_offset, i);
    EXPECT_EQ(message::FindProperty(recs[i].properties, "CLUSTER"), "DefaultCluster");
    EXPECT_EQ(ids.substr(i * 33, 32),
              message::CreateOffsetMessageId(recs[i].store_host, recs[i].physical_offset));
  }
  // Each inner message is indexed on its own: by key and by unique key.
  auto by_key = Call(BrokerAddr(), req::kQueryMessage,
                     {{"topic", "BatchTopic"},
                      {"key", "bk3"},
                      {"maxNum", "32"},
                      {"beginTimestamp", "0"},
                      {"endTimestamp", std::to_string(NowMillis() + 1000)}});
  ASSERT_EQ(by_key->code, rc::kSuccess) << by_key->remark.value_or("");
  ASSERT_EQ(Records(by_key->body).size(), 1u);
  EXPECT_EQ(Records(by_key->body)[0].body, "batch-3");
  auto by_uniq = Call(BrokerAddr(), req::kQueryMessage,
                      {{"topic", "BatchTopic"},
                       {"key", "U2"},
                       {"maxNum", "32"},
                       {"beginTimestamp", "0"},
                       {"endTimestamp", std::to_string(NowMillis() + 1000)},
                       {"_UNIQUE_KEY_QUERY", "true"}});
  ASSERT_EQ(by_uniq->code, rc::kSuccess);
  ASSERT_EQ(Records(by_uniq->body).size(), 1u);
  EXPECT_EQ(Records(by_uniq->body)[0].body, "batch-2");
  auto none = Call(BrokerAddr(), req::kQueryMessage,
                   {{"topic", "BatchTopic"},
                    {"key", "bk3"},
                    {"maxNum", "32"},
                    {"beginTimestamp", "0"},
                    {"endTimestamp", "1"}});
  EXPECT_EQ(none->code, rc::kQueryNotFound) << "outside the time range";
}

TEST_F(Cluster, NameServerExpiresSilentBrokersAndDropsClosedOnes) {
  StartNamesrv({"--brokerChannelExpiredMillis=1500", "--scanNotActiveBrokerInterval=300"});
  protocol::RegisterBrokerBody body;
  protocol::TopicConfig t;
  t.topic_name = "FakeTopic";
  t.read_queue_nums = t.write_queue_nums = 2;
  body.topic_config_wrapper.topic_config_table["FakeTopic"] = t;
  body.topic_config_wrapper.data_version = {1, 1};
  auto reg = [&](remoting::RemotingClient& c, const std::string& addr) {
    RemotingCommand cmd = RemotingCommand::Request(req::kRegisterBroker);
    cmd.Set("brokerName", "fake-" + addr);
    cmd.Set("brokerAddr", addr);
    cmd.Set("clusterName", "FakeCluster");
    cmd.Set("haServerAddr", addr);
    cmd.Set("brokerId", "0");
    cmd.body = body.ToJson();
    auto r = c.InvokeSync(NsAddr(), cmd, 5000);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess);
  };
  reg(*client_, "10.9.9.9:10911");
  ASSERT_TRUE(WaitRoute("FakeTopic", 1000));
  auto ci = Call(NsAddr(), req::kGetBrokerClusterInfo, {});
  auto info = protocol::ClusterInfo::Parse(ci->body);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->cluster_addr_table.at("FakeCluster").count("fake-10.9.9.9:10911"), 1u);
  auto topics = Call(NsAddr(), req::kGetAllTopicListFromNameserver, {});
  EXPECT_EQ(protocol::TopicList::Parse(topics->body)->topic_list.count("FakeTopic"), 1u);
  // No re-registration: gone after the expiry.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto r = Call(NsAddr(), req::kGetRouteinfoByTopic, {{"topic", "FakeTopic"}});
  EXPECT_EQ(r->code, rc::kTopicNotExist);
  // A broker whose connection closes is removed at once.
  {
    remoting::RemotingClient c2(remoting::EndpointOptions{});
    reg(c2, "10.9.9.8:10911");
    ASSERT_TRUE(WaitRoute("FakeTopic", 1000));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  r = Call(NsAddr(), req::kGetRouteinfoByTopic, {{"topic", "FakeTopic"}});
  EXPECT_EQ(r->code, rc::kTopicNotExist);
  // KV config survives a restart.
  auto put = Call(NsAddr(), req::kPutKvConfig,
                  {{"namespace", "ORDER_TOPIC_CONFIG"}, {"key", "T"}, {"value", "b:4"}});
  ASSERT_EQ(put->code, rc::kSuccess);
  EXPECT_EQ(ns_.Stop(), 0);
  StartNamesrv();
  auto get = Call(NsAddr(), req::kGetKvConfig, {{"namespace", "ORDER_TOPIC_CONFIG"}, {"key", "T"}});
  ASSERT_EQ(get->code, rc::kSuccess);
  EXPECT_EQ(*get->GetString("value"), "b:4");
  auto miss = Call(NsAddr(), req::kGetKvConfig, {{"namespace", "X"}, {"key", "T"}});
  EXPECT_EQ(miss->code, rc::kQueryNotFound);
}

TEST_F(Cluster, ConfigurationErrorsAreClear) {
  std::string conf = (dir_ / "broker.conf").string();
  {
    std::ofstream f(conf);
    f << "# a RocketMQ-style broker.conf\nbrokerClusterName = C1\nbrokerName=b1\n"
         "flushDiskType=SYNC_FLUSH\nnoSuchKey=1\n";
  }
  Process p = Process::Start({RAMJET_BROKER_BIN, "-c", conf}, Log("bad1.log"));
  EXPECT_EQ(p.Wait(10000), 2);
  EXPECT_NE(ReadAll(Log("bad1.log")).find("unknown configuration key 'noSuchKey'"),
            std::string::npos)
      << ReadAll(Log("bad1.log"));
  Process q = Process::Start({RAMJET_BROKER_BIN, "--listenPort=abc"}, Log("bad2.log"));
  EXPECT_EQ(q.Wait(10000), 2);
  EXPECT_NE(ReadAll(Log("bad2.log")).find("invalid value for 'listenPort'"), std::string::npos);
  Process r = Process::Start({RAMJET_BROKER_BIN, "--flushDiskType=SOMETIMES"}, Log("bad3.log"));
  EXPECT_EQ(r.Wait(10000), 2);
  EXPECT_NE(ReadAll(Log("bad3.log")).find("flushDiskType"), std::string::npos);
  // A valid file with command-line overrides starts; a busy port is a start-up error.
  StartNamesrv();
  Process busy = Process::Start({RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port_)},
                                Log("bad4.log"));
  EXPECT_EQ(busy.Wait(10000), 1);
  EXPECT_NE(ReadAll(Log("bad4.log")).find("cannot listen on"), std::string::npos);
}

}  // namespace
}  // namespace ramjet
