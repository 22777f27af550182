// Connection and memory limits of the servers (issue 10, item 8): idle timeout, connection cap,
// unsent-bytes cap, partial-frame budget and the inflated size of compressed registrations. Each
// test ends by showing that the server still serves.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <thread>

#include "cluster_fixture.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/compression.h"

namespace ramjet {
namespace {

// Peak resident memory of a process (VmHWM) in KiB.
int64_t PeakRssKib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

class Limits : public Cluster {
 protected:
  bool BrokerAnswers() {
    auto r = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "TBW102"}, {"queueId", "0"}});
    return r.ok() && r->code == rc::kSuccess;
  }
};

TEST_F(Limits, IdleConnectionsAreClosedAfterServerChannelMaxIdleTimeSeconds) {
  StartNamesrv({"--serverChannelMaxIdleTimeSeconds=2"});
  StartBroker({"--serverChannelMaxIdleTimeSeconds=2"});
  int idle_b = Connect(broker_port_);
  int idle_n = Connect(ns_port_);
  ASSERT_GE(idle_b, 0);
  ASSERT_GE(idle_n, 0);
  // A slowloris peer: half a frame, then nothing.
  int slow = Connect(broker_port_);
  std::string half = Frame(R"({"code":105,"opaque":1,"flag":0})").substr(0, 12);
  ::send(slow, half.data(), half.size(), 0);
  EXPECT_TRUE(ClosedByPeer(idle_b, 6000)) << "idle broker connection kept";
  EXPECT_TRUE(ClosedByPeer(idle_n, 6000)) << "idle name-server connection kept";
  EXPECT_TRUE(ClosedByPeer(slow, 6000)) << "slowloris connection kept";
  for (int fd : {idle_b, idle_n, slow}) ::close(fd);
  EXPECT_TRUE(BrokerAnswers());
}

// Exhausting descriptors used to lock out new clients and stall the dispatcher; beyond the
// limit connections are refused with a clear log line, and the store keeps working.
TEST_F(Limits, ConnectionsBeyondTheLimitAreRefusedAndTheStoreKeepsWorking) {
  StartNamesrv();
  StartBroker({"--serverMaxConnections=20"});
  CreateTopic("LimTopic", 1);
  std::vector<int> fds;
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    int fd = Connect(broker_port_);
    if (fd < 0) {
      ++refused;
      continue;
    }
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    char c;
    if (::poll(&p, 1, 0) > 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++refused;
  }
  EXPECT_GE(refused, 35) << "about 40 of 60 connections are over a limit of 20 (with the client)";
  EXPECT_NE(ReadAll(Log("broker.log")).find("connection limit of 20 reached"), std::string::npos);
  for (int fd : fds) ::close(fd);
  fds.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The store still dispatches: a message sent now is visible to a pull.
  auto s = SendV2("LimTopic", 0, "after the flood", "");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->code, rc::kSuccess) << s->remark.value_or("");
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    auto p = Pull("LimTopic", 0, 0, 0x4, 0);
    seen = p.ok() && p->code == rc::kSuccess && Records(p->body).size() == 1;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(seen);
}

// A client that sends pulls and never reads the answers is closed once its unsent responses
// pass serverMaxPendingWriteBytes, instead of growing the broker's memory without bound.
TEST_F(Limits, APeerThatNeverReadsIsClosedAtThePendingWriteCap) {
  StartNamesrv();
  StartBroker({"--serverMaxPendingWriteBytes=2097152"});
  CreateTopic("NoReadTopic", 1);
  auto s = SendV2("NoReadTopic", 0, std::string(1 << 20, 'x'), "");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->code, rc::kSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int fd = Connect(broker_port_);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string pulls;
  for (int i = 0; i < 64; ++i) {
    pulls += Frame(
        R"({"code":11,"opaque":)" + std::to_string(i + 1) +
        R"(,"flag":0,"language":"JAVA","version":409,"serializeTypeCurrentRPC":"JSON",)"
        R"("extFields":{"consumerGroup":"G","topic":"NoReadTopic","queueId":"0","queueOffset":"0",)"
        R"("maxMsgNums":"32","sysFlag":"4","commitOffset":"0","suspendTimeoutMillis":"0",)"
        R"("subscription":"*","subVersion":"0"}})");
  }
  ::send(fd, pulls.data(), pulls.size(), MSG_NOSIGNAL);
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    closed = ReadAll(Log("broker.log")).find("serverMaxPendingWriteBytes") != std::string::npos;
  }
  EXPECT_TRUE(closed) << ReadAll(Log("broker.log"));
  ::close(fd);
  EXPECT_TRUE(BrokerAnswers());
}

// Many connections each holding a large partial frame: past serverMaxBufferedReadBytes the
// connections adding to it are closed, and the broker's memory stays bounded.
TEST_F(Limits, PartialFramesOfAllConnectionsStayWithinTheirBudget) {
  StartNamesrv();
  StartBroker({"--serverMaxBufferedReadBytes=4194304"});
  std::vector<int> fds;
  std::string chunk(512 * 1024, 'p');
  std::string head;
  PutBE32(&head, 8u << 20);  // an 8 MiB frame that never completes
  PutBE32(&head, 100);
  for (int i = 0; i < 32; ++i) {
    int fd = Connect(broker_port_);
    ASSERT_GE(fd, 0);
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  int closed = 0;
  for (int fd : fds) closed += ClosedByPeer(fd, 200) ? 1 : 0;
  EXPECT_GE(closed, 16) << "32 x 512 KiB against a 4 MiB budget";
  EXPECT_NE(ReadAll(Log("broker.log")).find("serverMaxBufferedReadBytes"), std::string::npos);
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(BrokerAnswers());
}

// A 64 KB REGISTER_BROKER "zip bomb" took the name server to 800 MB: the inflated size is capped,
// the registration refused with a clear error, and the name server keeps serving.
TEST_F(Limits, ACompressedRegistrationCannotInflateWithoutBound) {
  StartNamesrv();
  const int64_t before = PeakRssKib(ns_.pid());
  std::string bomb = ZlibDeflate(std::string(200u << 20, '\0'), 9);  // 200 MiB of zeros
  ASSERT_LT(bomb.size(), 512u * 1024);
  auto r = Call(NsAddr(), req::kRegisterBroker,
                {{"brokerName", "bomb"}, {"brokerAddr", "127.0.0.1:1"}, {"clusterName", "C"},
                 {"haServerAddr", "127.0.0.1:2"}, {"brokerId", "0"}, {"compressed", "true"},
                 {"bodyCrc32", "0"}},
                bomb, 10000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, rc::kSystemError);
  const int64_t after = PeakRssKib(ns_.pid());
  RecordProperty("namesrv_peak_rss_kib_before", std::to_string(before));
  RecordProperty("namesrv_peak_rss_kib_after_bomb", std::to_string(after));
  std::printf("name server peak RSS: %lld KiB before, %lld KiB after a %zu-byte bomb\n",
              static_cast<long long>(before), static_cast<long long>(after), bomb.size());
#if !defined(__SANITIZE_THREAD__)
  // (ThreadSanitizer's shadow memory grows with every allocation: no RSS bound there.)
  EXPECT_LT(after - before, 64 * 1024) << "peak RSS grew by more than 64 MiB";
#endif
  auto ok = Call(NsAddr(), req::kGetBrokerClusterInfo, {});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, rc::kSuccess);
}

}  // namespace
}  // namespace ramjet
