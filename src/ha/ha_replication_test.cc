// Master and slave stores replicating over loopback through HaMaster and HaClient, plus raw
// sockets playing one side of the stream to check what the other side does with its bytes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "../store/test_util.h"
#include "ramjet/base/coding.h"
#include "ramjet/ha/ha_client.h"
#include "ramjet/ha/ha_codec.h"
#include "ramjet/ha/ha_master.h"
#include "ramjet/ha/socket_util.h"

namespace ramjet::ha {
namespace {

using store::testing::Msg;
using store::testing::OpenStore;
using store::testing::SmallConfig;
using store::testing::TempDir;

bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

HaMasterOptions LocalMaster(int64_t segment_size) {
  HaMasterOptions o;
  o.listen_ip = "127.0.0.1";
  o.port = 0;
  o.segment_size = segment_size;
  return o;
}

HaClientOptions SlaveOf(const HaMaster& m) {
  HaClientOptions o;
  o.master_address = "127.0.0.1:" + std::to_string(m.port());
  o.reconnect_interval_ms = 100;
  return o;
}

void Put(store::MessageStore* s, int n, int from = 0) {
  for (int i = from; i < from + n; ++i) {
    auto m = Msg("TopicHA", i % 4, std::string(500, static_cast<char>('a' + i % 26)), "TagA",
                 "key" + std::to_string(i));
    auto r = s->PutMessage(m.Input());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

std::string Bytes(store::MessageStore* s, int64_t from, int64_t to) {
  std::string out;
  while (from < to) {
    auto r = s->ReadCommitLog(PhysicalOffset(from), 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->data.empty()) break;
    const auto n = std::min<int64_t>(static_cast<int64_t>(r->data.size()), to - from);
    out.append(r->data.data(), static_cast<size_t>(n));
    from += n;
  }
  return out;
}

TEST(HaReplicationTest, SlaveCopiesEveryByteAndBuildsItsQueues) {
  TempDir md, sd;
  auto master = OpenStore(SmallConfig(md.path()));
  auto slave = OpenStore(SmallConfig(sd.path()));
  ASSERT_TRUE(master && slave);
  HaMaster ha(LocalMaster(64 * 1024), master.get());
  master->SetAppendListener([&ha](int64_t end) { ha.NotifyData(end); });
  ASSERT_TRUE(ha.Start().ok());
  HaClient client(SlaveOf(ha), slave.get());
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return ha.Slaves().size() == 1 && ha.acked_offset() == 0; }));

  Put(master.get(), 400);  // ~250 KiB: four 64 KiB segments, with blank ends
  const int64_t end = master->MaxPhysicalOffset().value();
  ASSERT_TRUE(WaitFor([&] { return slave->MaxPhysicalOffset().value() == end; }))
      << slave->MaxPhysicalOffset().value() << " of " << end;
  EXPECT_TRUE(WaitFor([&] { return ha.acked_offset() == end; }));
  EXPECT_EQ(Bytes(slave.get(), 0, end), Bytes(master.get(), 0, end));

  ASSERT_TRUE(slave->WaitDispatched(5000));
  for (int q = 0; q < 4; ++q) {
    EXPECT_EQ(slave->GetMaxOffsetInQueue("TopicHA", q).value(), 100);
    auto got = slave->GetMessages("TopicHA", q, QueueOffset(95), 10, 1 << 20, nullptr);
    ASSERT_EQ(got.status, store::GetStatus::kFound);
    ASSERT_EQ(got.messages.size(), 5u);
    auto v = message::DecodeRecord(got.messages[4].data, true);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(message::FindProperty(v->properties, "KEYS"), "key" + std::to_string(99 * 4 + q));
  }
  auto found = slave->QueryMessages("TopicHA", "key7", 10, 0, INT64_MAX);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1u);
  EXPECT_EQ(ha.Slaves()[0].acked_offset, end);
}

TEST(HaReplicationTest, EmptySlaveStartsAtTheMastersLastSegment) {
  TempDir md, sd;
  auto master = OpenStore(SmallConfig(md.path()));
  auto slave = OpenStore(SmallConfig(sd.path()));
  ASSERT_TRUE(master && slave);
  Put(master.get(), 300);
  const int64_t end = master->MaxPhysicalOffset().value();
  const int64_t start = end - end % (64 * 1024);
  ASSERT_GT(start, 0);
  HaMaster ha(LocalMaster(64 * 1024), master.get());
  ASSERT_TRUE(ha.Start().ok());
  HaClient client(SlaveOf(ha), slave.get());
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return slave->MaxPhysicalOffset().value() == end; }));
  EXPECT_EQ(Bytes(slave.get(), start, end), Bytes(master.get(), start, end));
  EXPECT_FALSE(slave->ReadCommitLog(PhysicalOffset(start - 1), 10).ok());
  // Its queues begin where its log begins; the newest messages are readable.
  ASSERT_TRUE(slave->WaitDispatched(5000));
  EXPECT_EQ(slave->GetMaxOffsetInQueue("TopicHA", 0).value(), 75);
  EXPECT_GT(slave->GetMinOffsetInQueue("TopicHA", 0).value(), 0);
  auto got = slave->GetMessages("TopicHA", 0, QueueOffset(74), 1, 1 << 20, nullptr);
  ASSERT_EQ(got.status, store::GetStatus::kFound);

  // More data after the catch-up streams on.
  Put(master.get(), 20, 300);
  const int64_t end2 = master->MaxPhysicalOffset().value();
  ASSERT_TRUE(WaitFor([&] { return slave->MaxPhysicalOffset().value() == end2; }));
  EXPECT_EQ(Bytes(slave.get(), end, end2), Bytes(master.get(), end, end2));
}

TEST(HaReplicationTest, SyncWaitCompletesOnAcknowledgementAndFailsWithoutSlave) {
  TempDir md, sd;
  auto master = OpenStore(SmallConfig(md.path()));
  auto slave = OpenStore(SmallConfig(sd.path()));
  ASSERT_TRUE(master && slave);
  HaMaster ha(LocalMaster(64 * 1024), master.get());
  master->SetAppendListener([&ha](int64_t end) { ha.NotifyData(end); });
  ASSERT_TRUE(ha.Start().ok());

  // No slave: SLAVE_NOT_AVAILABLE at once, not an acknowledgement.
  Put(master.get(), 1);
  std::promise<Status> none;
  ha.WaitReplicated(master->MaxPhysicalOffset().value(), 3000,
                    [&](Status s) { none.set_value(s); });
  EXPECT_EQ(none.get_future().get().code(), StatusCode::kUnavailable);

  auto client = std::make_unique<HaClient>(SlaveOf(ha), slave.get());
  client->Start();
  ASSERT_TRUE(WaitFor([&] { return ha.IsSlaveOk(master->MaxPhysicalOffset().value()); }));
  // Many waiting sends, completed by acknowledgements.
  std::vector<std::future<Status>> waits;
  std::vector<std::shared_ptr<std::promise<Status>>> promises;
  for (int i = 0; i < 50; ++i) {
    Put(master.get(), 1, i);
    auto p = std::make_shared<std::promise<Status>>();
    waits.push_back(p->get_future());
    ha.WaitReplicated(master->MaxPhysicalOffset().value(), 5000,
                      [p](Status s) { p->set_value(s); });
    promises.push_back(p);
  }
  for (auto& w : waits) EXPECT_TRUE(w.get().ok());
  EXPECT_GE(slave->MaxPhysicalOffset().value(), master->MaxPhysicalOffset().value());

  // The slave goes away: no slave in sync.
  client.reset();
  ASSERT_TRUE(WaitFor([&] { return ha.Slaves().empty(); }));
  EXPECT_FALSE(ha.IsSlaveOk(master->MaxPhysicalOffset().value()));
}

// Controller mode: with ackers (the sync-state set's slaves, by address) a send is replicated
// once every one of them has it; a slave outside the set does not count.
TEST(HaReplicationTest, OnlyTheSyncStateSetsSlavesAcknowledge) {
  TempDir md, d2, d3;
  auto master = OpenStore(SmallConfig(md.path()));
  auto s2 = OpenStore(SmallConfig(d2.path()));
  auto s3 = OpenStore(SmallConfig(d3.path()));
  ASSERT_TRUE(master && s2 && s3);
  HaMaster ha(LocalMaster(64 * 1024), master.get());
  master->SetAppendListener([&ha](int64_t end) { ha.NotifyData(end); });
  ASSERT_TRUE(ha.Start().ok());
  auto wait = [&](int64_t timeout_ms) {
    std::promise<Status> p;
    ha.WaitReplicated(master->MaxPhysicalOffset().value(), timeout_ms,
                      [&](Status s) { p.set_value(s); });
    return p.get_future().get();
  };
  ha.SetAckers({"127.0.0.3"});
  HaClientOptions o2 = SlaveOf(ha), o3 = SlaveOf(ha);
  o2.bind_ip = "127.0.0.2";
  o3.bind_ip = "127.0.0.3";
  auto c2 = std::make_unique<HaClient>(o2, s2.get());
  c2->Start();
  Put(master.get(), 1);
  ASSERT_TRUE(WaitFor(
      [&] { return s2->MaxPhysicalOffset().value() == master->MaxPhysicalOffset().value(); }));
  EXPECT_EQ(wait(300).code(), StatusCode::kTimeout);  // 127.0.0.2 has it, but is not an acker
  auto c3 = std::make_unique<HaClient>(o3, s3.get());
  c3->Start();
  Put(master.get(), 1, 1);
  EXPECT_TRUE(wait(5000).ok());
  // Both must have it once both are ackers; then the set shrinks to 127.0.0.2 alone.
  ha.SetAckers({"127.0.0.2", "127.0.0.3"});
  c3.reset();
  Put(master.get(), 1, 2);
  EXPECT_EQ(wait(300).code(), StatusCode::kTimeout);
  ha.SetAckers({"127.0.0.2"});
  Put(master.get(), 1, 3);
  EXPECT_TRUE(wait(5000).ok());
}

// A raw "slave" that reports once and never acknowledges: the send times out, and the bytes it
// receives are RocketMQ frames of the master's log.
TEST(HaReplicationTest, UnacknowledgedSendTimesOutAndFramesAreRaw) {
  TempDir md;
  auto master = OpenStore(SmallConfig(md.path()));
  ASSERT_TRUE(master);
  HaMaster ha(LocalMaster(64 * 1024), master.get());
  master->SetAppendListener([&ha](int64_t end) { ha.NotifyData(end); });
  ASSERT_TRUE(ha.Start().ok());
  auto fd = Connect("127.0.0.1:" + std::to_string(ha.port()), 2000);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(WriteAll(*fd, EncodeReport(0)).ok());
  ASSERT_TRUE(WaitFor([&] { return ha.IsSlaveOk(0); }));
  Put(master.get(), 1);
  const int64_t end = master->MaxPhysicalOffset().value();
  std::promise<Status> p;
  const auto t0 = std::chrono::steady_clock::now();
  ha.WaitReplicated(end, 300, [&](Status s) { p.set_value(s); });
  EXPECT_EQ(p.get_future().get().code(), StatusCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(290));

  std::string got;
  char buf[4096];
  while (got.size() < kTransferHeaderSize + static_cast<size_t>(end)) {
    ASSERT_NE(PollRead(*fd, -1, 3000), 0);
    ssize_t n = recv(*fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(static_cast<int64_t>(DecodeBE64(got.data())), 0);
  EXPECT_EQ(static_cast<int64_t>(DecodeBE32(got.data() + 8)), end);
  EXPECT_EQ(got.substr(kTransferHeaderSize, static_cast<size_t>(end)), Bytes(master.get(), 0, end));
  close(*fd);
}

// A raw "master" that sends a frame at an offset the slave does not end at: the slave closes.
TEST(HaReplicationTest, SlaveClosesOnAnOffsetMismatch) {
  TempDir sd;
  auto slave = OpenStore(SmallConfig(sd.path()));
  ASSERT_TRUE(slave);
  Put(slave.get(), 1);  // the slave ends past 0
  int port = 0;
  auto lfd = Listen("127.0.0.1", 0, &port);
  ASSERT_TRUE(lfd.ok());
  HaClientOptions o;
  o.master_address = "127.0.0.1:" + std::to_string(port);
  o.reconnect_interval_ms = 60000;
  HaClient client(o, slave.get());
  client.Start();
  ASSERT_NE(PollRead(*lfd, -1, 5000), 0);
  int fd = accept(*lfd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  char report[8];
  ASSERT_EQ(recv(fd, report, 8, MSG_WAITALL), 8);
  const int64_t slave_end = slave->MaxPhysicalOffset().value();
  EXPECT_EQ(static_cast<int64_t>(DecodeBE64(report)), slave_end);
  ASSERT_TRUE(WriteAll(fd, EncodeTransferHeader(slave_end + 100, 3) + "abc").ok());
  char c;
  ASSERT_NE(PollRead(fd, -1, 5000), 0);
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);  // closed by the slave
  EXPECT_EQ(slave->MaxPhysicalOffset().value(), slave_end);
  close(fd);
  close(*lfd);
}

}  // namespace
}  // namespace ramjet::ha
