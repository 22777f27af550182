// The client instance: producers and consumers that set one instance name share a client id,
// one connection per broker and one heartbeat; brokers' requests reach the member of the group
// they name. With the default instance name every client keeps its own.
#include "client_fixture.h"
#include "ramjet/admin/admin.h"
#include "ramjet/client/lite_pull_consumer.h"

namespace ramjet {
namespace itest {

using client::LocalTransactionState;

// Members of one instance: one client id and one connection to the broker for both producer
// groups and the consumer group; a transaction check-back goes to the producer whose group sent
// the half message; a second member of a group is refused; the instance outlives one member.
TEST_F(ConsumerTest, MembersOfOneInstanceShareItsConnectionAndGetTheirOwnRequests) {
  CreateTopic("InstT", 2);
  client::ClientConfig pc = config_;
  pc.instance_name = "shared";
  pc.heartbeat_interval_ms = 1000;
  Producer a("INST_PA", pc), b("INST_PB", pc), dup("INST_PA", pc);
  std::mutex mu;
  std::map<std::string, std::set<std::string>> checked;  // producer -> bodies it was asked about
  auto listener = [&](const std::string& who) {
    return [&, who](const client::MessageExt& m) {
      std::lock_guard<std::mutex> l(mu);
      checked[who].insert(m.body);
      return LocalTransactionState::kCommit;
    };
  };
  a.SetTransactionCheckListener(listener("a"));
  b.SetTransactionCheckListener(listener("b"));
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  Status again = dup.Start();
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument) << again.ToString();
  EXPECT_EQ(a.client_id(), b.client_id());

  std::atomic<int> consumed{0};
  PushConsumer c("INST_CG", Cc("shared"));
  ASSERT_TRUE(c.Subscribe("InstT", "*").ok());
  c.RegisterListener([&](const client::MessageExt&) {
    consumed.fetch_add(1);
    return client::ConsumeStatus::kSuccess;
  });
  ASSERT_TRUE(c.Start().ok());
  EXPECT_EQ(c.client_id(), a.client_id());

  auto unknown = [](const Message&, const client::SendResult&) {
    return LocalTransactionState::kUnknown;  // the broker will ask
  };
  ASSERT_TRUE(a.SendInTransaction(Message("InstT", "T", "from-a"), unknown).ok());
  ASSERT_TRUE(b.SendInTransaction(Message("InstT", "T", "from-b"), unknown).ok());
  auto end = NowMillis() + 15000;
  while (NowMillis() < end && consumed.load() < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(consumed.load(), 2);  // both committed by their own check listeners
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(checked["a"], std::set<std::string>{"from-a"});
    EXPECT_EQ(checked["b"], std::set<std::string>{"from-b"});
  }

  admin::Admin adm(config_.namesrv_addr);
  std::set<std::string> addrs, ids;
  for (const char* g : {"INST_PA", "INST_PB"}) {
    auto conns = adm.ProducerConnections(BrokerAddr(), g);
    ASSERT_TRUE(conns.ok()) << conns.status().ToString();
    ASSERT_EQ(conns->size(), 1u) << g;
    addrs.insert(conns->front().at("clientAddr"));
    ids.insert(conns->front().at("clientId"));
  }
  auto cc = adm.ConsumerConnection("INST_CG");
  ASSERT_TRUE(cc.ok()) << cc.status().ToString();
  ASSERT_EQ(cc->connections.size(), 1u);
  addrs.insert(cc->connections.front().at("clientAddr"));
  ids.insert(cc->connections.front().at("clientId"));
  EXPECT_EQ(addrs.size(), 1u) << "one connection for every member";
  EXPECT_EQ(ids, std::set<std::string>{a.client_id()});

  // One member leaves: its group is unregistered, the others keep working on the instance.
  a.Shutdown();
  end = NowMillis() + 10000;
  while (NowMillis() < end) {
    auto conns = adm.ProducerConnections(BrokerAddr(), "INST_PA");
    if (!conns.ok() || conns->empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto gone = adm.ProducerConnections(BrokerAddr(), "INST_PA");
  EXPECT_TRUE(!gone.ok() || gone->empty());
  ASSERT_TRUE(b.Send(Message("InstT", "T", "after")).ok());
  end = NowMillis() + 10000;
  while (NowMillis() < end && consumed.load() < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(consumed.load(), 3);
  c.Shutdown();
  b.Shutdown();

  // All members gone: the next member of that instance name starts a fresh instance.
  Producer fresh("INST_PA", pc);
  ASSERT_TRUE(fresh.Start().ok());
  ASSERT_TRUE(fresh.Send(Message("InstT", "T", "fresh")).ok());
  fresh.Shutdown();
}

// Default instance names: every client has its own id and connection, so consumers of one group
// in one process share the queues like consumers in separate processes.
TEST_F(ConsumerTest, DefaultInstanceNamesKeepClientsApart) {
  CreateTopic("InstD", 4);
  client::ConsumerConfig cfg = Cc("DEFAULT");
  client::LitePullConsumer l1("INST_LP", cfg), l2("INST_LP", cfg);
  ASSERT_TRUE(l1.Start().ok());
  ASSERT_TRUE(l2.Start().ok());
  ASSERT_TRUE(l1.Subscribe("InstD", "*").ok());
  ASSERT_TRUE(l2.Subscribe("InstD", "*").ok());
  // Each sees the other after a rebalance: 2 + 2 queues, no overlap.
  auto end = NowMillis() + 10000;
  std::vector<client::MessageQueue> q1, q2;
  while (NowMillis() < end) {
    (void)l1.Poll(50);
    (void)l2.Poll(50);
    q1 = l1.Assignment();
    q2 = l2.Assignment();
    if (q1.size() == 2 && q2.size() == 2) break;
  }
  ASSERT_EQ(q1.size(), 2u);
  ASSERT_EQ(q2.size(), 2u);
  std::set<client::MessageQueue> all(q1.begin(), q1.end());
  all.insert(q2.begin(), q2.end());
  EXPECT_EQ(all.size(), 4u);
  l1.Shutdown();
  l2.Shutdown();
}

}  // namespace itest
}  // namespace ramjet
