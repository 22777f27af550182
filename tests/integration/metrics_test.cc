// The Prometheus endpoint of a real broker under a small real load: /metrics shows what the load
// did (messages and bytes in, message sizes, messages out, a group's lag, RPC latencies per
// request and response code, process figures); Debian's promtool accepts the text; a real
// Prometheus server scrapes the broker and answers a PromQL query with the same count.
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "cluster_fixture.h"

namespace ramjet::itest {
namespace {

// The value of the first sample of name whose labels include every pair of want; -1 if none.
double Value(const std::string& text, const std::string& name,
             const std::map<std::string, std::string>& want) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    bool all = true;
    for (const auto& [k, v] : want) {
      if (line.find(k + "=\"" + v + "\"") == std::string::npos) all = false;
    }
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

class MetricsTest : public Cluster {};

TEST_F(MetricsTest, ScrapeShowsTheLoadAndPrometheusReadsIt) {
  const int metrics_port = PickPort();
  const int ns_metrics_port = PickPort();
  StartNamesrv({"--metricsPromExporterPort=" + std::to_string(ns_metrics_port)});
  const int grpc_port = PickPort();
  StartBroker({"--metricsPromExporterPort=" + std::to_string(metrics_port),
               "--grpcServerPort=" + std::to_string(grpc_port)});
  ASSERT_TRUE(WaitForPort(metrics_port, 10000));
  ASSERT_TRUE(WaitForPort(ns_metrics_port, 10000));
  ASSERT_TRUE(WaitForPort(grpc_port, 10000));
  CreateTopic("MetricsTopic", 2);
  // 30 sends of 100-byte bodies, 15 per queue.
  for (int i = 0; i < 30; ++i) {
    auto r = SendV2("MetricsTopic", i % 2, std::string(100, 'x'), "");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess);
  }
  // Group MG pulls queue 0 (dispatch is asynchronous: until all 15 came) and commits it all,
  // and commits 5 of queue 1: lag 10.
  size_t pulled = 0;
  int64_t next = 0;
  for (int i = 0; i < 100 && pulled < 15; ++i) {
    auto p =
        Pull("MetricsTopic", 0, next, 0x4 /* subscription in the request */, 0, 5000, "*", "MG");
    ASSERT_TRUE(p.ok());
    if (p->code == rc::kSuccess) {
      pulled += Records(p->body).size();
      next = p->GetInt64Or("nextBeginOffset", next);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ(pulled, 15u);
  for (int i = 0; i < 100; ++i) {  // queue 1 dispatched too, so the lag is exact
    auto mx = Call(BrokerAddr(), req::kGetMaxOffset, {{"topic", "MetricsTopic"}, {"queueId", "1"}});
    if (mx.ok() && mx->GetInt64Or("offset", 0) == 15) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto [q, off] : {std::pair<int, int>{0, 15}, {1, 5}}) {
    auto u = Call(BrokerAddr(), req::kUpdateConsumerOffset,
                  {{"consumerGroup", "MG"},
                   {"topic", "MetricsTopic"},
                   {"queueId", std::to_string(q)},
                   {"commitOffset", std::to_string(off)}});
    ASSERT_TRUE(u.ok());
    ASSERT_EQ(u->code, rc::kSuccess);
  }
  // 20 sends over the 5.x gRPC API (a real gRPC client: the load tool) to another topic.
  CreateTopic("MetricsGrpcTopic", 1);
  int grpc_status = -1;
  const std::string grpc_out =
      RunCommand(std::string(RAMJET_GRPC_LOAD_BIN) + " -e 127.0.0.1:" + std::to_string(grpc_port) +
                     " -t MetricsGrpcTopic --messages 20 2>&1",
                 &grpc_status);
  ASSERT_EQ(grpc_status, 0) << grpc_out;
  httplib::Client http("127.0.0.1", metrics_port);
  auto scrape = http.Get("/metrics");
  ASSERT_TRUE(scrape);
  ASSERT_EQ(scrape->status, 200);
  const std::string text = scrape->body;
  const std::map<std::string, std::string> topic = {
      {"topic", "MetricsTopic"}, {"cluster", "DefaultCluster"}, {"node_type", "broker"}};
  EXPECT_EQ(Value(text, "rocketmq_messages_in_total", topic), 30) << text;
  EXPECT_EQ(Value(text, "rocketmq_throughput_in_total", topic), 3000);
  EXPECT_EQ(Value(text, "rocketmq_message_size_count", topic), 30);
  EXPECT_EQ(
      Value(text, "rocketmq_message_size_bucket", {{"topic", "MetricsTopic"}, {"le", "1024"}}), 30);
  const std::map<std::string, std::string> group = {{"topic", "MetricsTopic"},
                                                    {"consumer_group", "MG"}};
  EXPECT_EQ(Value(text, "rocketmq_messages_out_total", group), static_cast<double>(pulled));
  EXPECT_EQ(Value(text, "rocketmq_consumer_lag_messages", group), 10);
  EXPECT_GE(Value(text, "rocketmq_consumer_lag_latency", group), 0);
  EXPECT_GE(
      Value(text, "rocketmq_rpc_latency_count", {{"request_code", "310"}, {"response_code", "0"}}),
      30)
      << "the sends, by request and response code";
  EXPECT_EQ(
      Value(text, "rocketmq_rpc_latency_count",
            {{"protocol_type", "grpc"}, {"request_code", "SendMessage"}, {"response_code", "OK"}}),
      20)
      << "gRPC calls, by method and status";
  EXPECT_GE(Value(text, "rocketmq_topic_number", {}), 1);
  EXPECT_GT(Value(text, "rocketmq_storage_size", {}), 3000);
  EXPECT_GT(Value(text, "process_resident_memory_bytes", {}), 0);
  EXPECT_GT(Value(text, "process_open_fds", {}), 0);
  // The store's own figures: recovery time of this start, fsync rounds (at least the one a
  // consume-queue flush or the group's offsets need is not guaranteed: the family is).
  EXPECT_GE(Value(text, "ramjet_store_recovery_seconds", {}), 0);
  EXPECT_GE(Value(text, "ramjet_store_fsync_latency_seconds_count", {}), 0);
  EXPECT_GE(Value(text, "ramjet_store_group_commit_requests_count", {}), 0);

  // The name server's own endpoint: its RPCs (the broker's registration, REGISTER_BROKER 103),
  // the broker it routes, the topic.
  httplib::Client ns_http("127.0.0.1", ns_metrics_port);
  auto ns_scrape = ns_http.Get("/metrics");
  ASSERT_TRUE(ns_scrape);
  ASSERT_EQ(ns_scrape->status, 200);
  const std::string ns_text = ns_scrape->body;
  EXPECT_GE(Value(ns_text, "rocketmq_rpc_latency_count",
                  {{"node_type", "namesrv"}, {"request_code", "103"}, {"response_code", "0"}}),
            1)
      << ns_text;
  EXPECT_EQ(Value(ns_text, "ramjet_namesrv_brokers", {{"cluster", "DefaultCluster"}}), 1);
  EXPECT_GE(Value(ns_text, "ramjet_namesrv_topics", {}), 1);
  EXPECT_GT(Value(ns_text, "process_resident_memory_bytes", {}), 0);
  const std::string ns_file = (dir_ / "namesrv-metrics.txt").string();
  std::ofstream(ns_file) << ns_text;
  int ns_status = -1;
  std::string ns_out = RunCommand("promtool check metrics < '" + ns_file + "' 2>&1", &ns_status);
  EXPECT_EQ(ns_status, 0) << ns_out;

  // promtool accepts the exposition.
  const std::string file = (dir_ / "metrics.txt").string();
  std::ofstream(file) << text;
  int status = -1;
  std::string out = RunCommand("promtool check metrics < '" + file + "' 2>&1", &status);
  EXPECT_EQ(status, 0) << out;

  // A real Prometheus scrapes it and answers PromQL.
  const int prom_port = PickPort();
  const std::string cfg = (dir_ / "prometheus.yml").string();
  std::ofstream(cfg) << "global:\n  scrape_interval: 1s\n"
                     << "scrape_configs:\n  - job_name: ramjet\n    static_configs:\n"
                     << "      - targets: ['127.0.0.1:" << metrics_port << "']\n";
  Process prom = Process::Start({"/usr/bin/prometheus", "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + (dir_ / "prom").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                                Log("prometheus.log"));
  ASSERT_TRUE(WaitForPort(prom_port, 20000)) << ReadAll(Log("prometheus.log"));
  httplib::Client api("127.0.0.1", prom_port);
  std::string answer;
  bool found = false;
  for (int i = 0; i < 60 && !found; ++i) {
    auto r = api.Get(
        "/api/v1/query?query=sum(rocketmq_messages_in_total%7Btopic%3D%22MetricsTopic%22%7D)");
    if (r && r->status == 200) {
      answer = r->body;
      found = answer.find("\"30\"") != std::string::npos;
    }
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  prom.Kill();
  EXPECT_TRUE(found) << answer << ReadAll(Log("prometheus.log"));
}

TEST_F(MetricsTest, ATakenPortLeavesTheBrokerServing) {
  // The kernel picks the squatter's port: a port chosen first and bound after could be taken
  // in between by another test's connection.
  httplib::Server squatter;
  const int metrics_port = squatter.bind_to_any_port("0.0.0.0");
  ASSERT_GT(metrics_port, 0);
  StartNamesrv();
  StartBroker({"--metricsPromExporterPort=" + std::to_string(metrics_port)});
  CreateTopic("StillServing", 1);
  auto r = SendV2("StillServing", 0, "x", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSuccess);
  // The endpoint starts after the remoting port is open: the log line may come a little later.
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    logged = ReadAll(Log("broker.log")).find("no Prometheus endpoint") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(logged) << ReadAll(Log("broker.log"));
}

}  // namespace
}  // namespace ramjet::itest
