// The fixture of the remoting-level integration tests: a fresh name server and broker (the real
// programs) per test on loopback, with helpers that speak remoting to them.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {

using protocol::RemotingCommand;
using testing::PickPort;
using testing::Process;
using testing::WaitForPort;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ramjet-it-" + std::to_string(::getpid()) + "-" + std::to_string(NowMillis()));
    std::filesystem::create_directories(dir_);
    ns_port_ = PickPort();
    broker_port_ = PickPort();
    ASSERT_GT(ns_port_, 0);
    ASSERT_GT(broker_port_, 0);
    remoting::EndpointOptions o;
    o.name = "it-client";
    o.language = protocol::LanguageCode::kJava;
    client_ = std::make_unique<remoting::RemotingClient>(o);
  }
  void TearDown() override {
    client_->Shutdown();
    broker_.Kill();
    ns_.Kill();
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Log(const char* name) const { return (dir_ / name).string(); }
  std::string NsAddr() const { return "127.0.0.1:" + std::to_string(ns_port_); }
  std::string BrokerAddr() const { return "127.0.0.1:" + std::to_string(broker_port_); }
  std::string StoreDir() const { return (dir_ / "store").string(); }

  void StartNamesrv(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {RAMJET_NAMESRV_BIN, "--listenPort=" + std::to_string(ns_port_),
                                     "--kvConfigPath=" + (dir_ / "kv.json").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ns_ = Process::Start(argv, Log("namesrv.log"));
    ASSERT_TRUE(WaitForPort(ns_port_, 10000)) << ReadAll(Log("namesrv.log"));
  }
  void StartBroker(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {RAMJET_BROKER_BIN,
                                     "--namesrvAddr=" + NsAddr(),
                                     "--listenPort=" + std::to_string(broker_port_),
                                     "--brokerIP1=127.0.0.1",
                                     "--storePathRootDir=" + StoreDir(),
                                     "--brokerName=broker-it"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    broker_ = Process::Start(argv, Log("broker.log"));
    ASSERT_TRUE(WaitForPort(broker_port_, 20000)) << ReadAll(Log("broker.log"));
  }

  Result<RemotingCommand> Call(const std::string& addr, int32_t code,
                               std::vector<std::pair<std::string, std::string>> fields,
                               std::string body = {}, int timeout_ms = 5000) {
    RemotingCommand c = RemotingCommand::Request(code);
    for (auto& [k, v] : fields) c.Set(k, v);
    c.body = std::move(body);
    return client_->InvokeSync(addr, std::move(c), timeout_ms);
  }

  void CreateTopic(const std::string& topic, int queues) {
    auto r = Call(BrokerAddr(), req::kUpdateAndCreateTopic,
                  {{"topic", topic},
                   {"defaultTopic", "TBW102"},
                   {"readQueueNums", std::to_string(queues)},
                   {"writeQueueNums", std::to_string(queues)},
                   {"perm", "6"},
                   {"topicFilterType", "SINGLE_TAG"},
                   {"topicSysFlag", "0"},
                   {"order", "false"}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  }

  // Polls the name server until the topic has a route.
  std::optional<protocol::TopicRouteData> WaitRoute(const std::string& topic, int timeout_ms) {
    auto end = NowMillis() + timeout_ms;
    while (NowMillis() < end) {
      auto r = Call(NsAddr(), req::kGetRouteinfoByTopic, {{"topic", topic}});
      if (r.ok() && r->code == rc::kSuccess) {
        auto route = protocol::TopicRouteData::Parse(r->body);
        if (route.ok()) return *route;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  Result<RemotingCommand> SendV2(const std::string& topic, int queue_id, const std::string& body,
                                 const std::string& props) {
    return Call(BrokerAddr(), req::kSendMessageV2,
                {{"a", "PG"},
                 {"b", topic},
                 {"c", "TBW102"},
                 {"d", "4"},
                 {"e", std::to_string(queue_id)},
                 {"f", "0"},
                 {"g", std::to_string(NowMillis())},
                 {"h", "0"},
                 {"i", props},
                 {"j", "0"},
                 {"k", "false"}},
                body);
  }

  Result<RemotingCommand> Pull(const std::string& topic, int qid, int64_t offset, int sys_flag,
                               int64_t suspend_ms, int timeout_ms = 5000,
                               const std::string& sub = "*", const std::string& group = "CG") {
    return Call(BrokerAddr(), req::kPullMessage,
                {{"consumerGroup", group},
                 {"topic", topic},
                 {"queueId", std::to_string(qid)},
                 {"queueOffset", std::to_string(offset)},
                 {"maxMsgNums", "32"},
                 {"sysFlag", std::to_string(sys_flag)},
                 {"commitOffset", "0"},
                 {"suspendTimeoutMillis", std::to_string(suspend_ms)},
                 {"subscription", sub},
                 {"subVersion", "0"}},
                {}, timeout_ms);
  }

  static std::vector<message::RecordView> Records(const std::string& body) {
    std::vector<message::RecordView> out;
    std::string_view rest = body;
    while (!rest.empty()) {
      auto r = message::DecodeRecord(rest, true);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      out.push_back(*r);
      rest.remove_prefix(static_cast<size_t>(r->total_size));
    }
    return out;
  }

  std::filesystem::path dir_;
  int ns_port_ = 0;
  int broker_port_ = 0;
  Process ns_;
  Process broker_;
  std::unique_ptr<remoting::RemotingClient> client_;
};

// Raw sockets for the tests that send what no client would.
inline int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}
inline bool ClosedByPeer(int fd, int timeout_ms) {
  auto end = NowMillis() + timeout_ms;
  char buf[4096];
  while (NowMillis() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      if (::recv(fd, buf, sizeof(buf), 0) <= 0) return true;
    }
  }
  return false;
}
inline std::string Frame(std::string_view header, std::string_view body = {}) {
  std::string f;
  PutBE32(&f, static_cast<uint32_t>(4 + header.size() + body.size()));
  PutBE32(&f, static_cast<uint32_t>(header.size()));
  f.append(header);
  f.append(body);
  return f;
}

}  // namespace ramjet
