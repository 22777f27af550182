// ramjet-standalone (name server and broker in one process) as a user starts it, here with
// tlsMode=enforcing: its broker must register with its own name server over TLS, TLS clients
// must find the route and send, and a plaintext client must be refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "process_util.h"

namespace ramjet {
namespace {

using Out = testing::CommandOutput;
using testing::RunCommand;

TEST(StandaloneTest, EnforcingTlsRegistersItsBrokerAndServesTlsClientsOnly) {
  auto dir =
      std::filesystem::temp_directory_path() / ("ramjet-standalone-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int ns_port = testing::PickPort();
  int broker_port = testing::PickPort();
  auto server = testing::Process::Start(
      {RAMJET_STANDALONE_BIN, "--namesrvPort=" + std::to_string(ns_port),
       "--listenPort=" + std::to_string(broker_port), "--tlsMode=enforcing",
       "--storePathRootDir=" + (dir / "store").string(), "--grpcServerPort=-1",
       "--metricsPromExporterPort=-1", "--namesrvMetricsPort=-1", "--dashboardPort=-1"},
      (dir / "standalone.log").string());
  ASSERT_TRUE(testing::WaitForPort(broker_port, 20000));
  const std::string ns = " -n 127.0.0.1:" + std::to_string(ns_port);
  const std::string tls_admin = "RAMJET_TLS_ENABLE=true " + std::string(RAMJET_ADMIN_BIN);
  Out list;
  for (int i = 0; i < 100; ++i) {
    list = RunCommand(tls_admin + " clusterList" + ns);
    if (list.text.find("broker-a") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(list.text.find("broker-a"), std::string::npos) << list.text;

  Out create = RunCommand(tls_admin + " updateTopic -c DefaultCluster -t TlsTopic -r 2 -w 2" + ns);
  ASSERT_EQ(create.code, 0) << create.text;
  Out send = RunCommand(std::string(RAMJET_LOAD_BIN) + " producer" + ns +
                        " -t TlsTopic --size 100 --messages 20 --tls");
  EXPECT_NE(send.text.find("messages 20 in"), std::string::npos) << send.text;
  EXPECT_NE(send.text.find("errors 0"), std::string::npos) << send.text;

  Out plain = RunCommand(std::string(RAMJET_ADMIN_BIN) + " clusterList" + ns);
  EXPECT_NE(plain.code, 0) << plain.text;
  EXPECT_EQ(plain.text.find("broker-a"), std::string::npos) << plain.text;

  EXPECT_EQ(server.Stop(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ramjet
