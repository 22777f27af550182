// ramjet-standalone: a name server and a broker in one process, on local defaults: name server
// 127.0.0.1:9876, broker 10911 (VIP 10909) advertising 127.0.0.1, data under ./ramjet-data.
// Every broker key can be overridden (-c broker.conf, --key=value); --namesrvPort picks the
// name server port. Every port binds 127.0.0.1 unless told otherwise (--listenAddress,
// --namesrvListenAddress, and brokerIP1 for the address clients are given); the name server takes
// the broker's TLS keys (with tlsMode=enforcing the broker also talks TLS to it). Ctrl-C shuts both
// down cleanly.
#include <cstdio>

#include "app_main.h"
#include "dashboard_launch.h"
#include "ramjet/base/logging.h"
#include "ramjet/broker/broker.h"
#include "ramjet/namesrv/namesrv.h"

int main(int argc, char** argv) {
  using namespace ramjet;
  apps::BlockShutdownSignals();
  apps::TuneMalloc();
  broker::BrokerConfig config;
  config.broker_ip1 = "127.0.0.1";
  config.listen_address = "127.0.0.1";  // local defaults: nothing reachable from elsewhere
  config.store.root_dir = "ramjet-data/store";
  namesrv::NamesrvConfig ns_config;
  ns_config.kv_config_path = "ramjet-data/namesrv/kvConfig.json";
  ns_config.listen_address = "127.0.0.1";
  ConfigBinder binder;
  config.Bind(&binder);
  binder.Bind("namesrvPort", &ns_config.listen_port, "port of the embedded name server");
  binder.Bind("namesrvListenAddress", &ns_config.listen_address,
              "address the embedded name server binds (0.0.0.0 = all)");
  binder.Bind("namesrvMetricsPort", &ns_config.metrics_prom_exporter_port,
              "Prometheus port of the embedded name server (-1 = off)");
  if (int rc = apps::ParseArgs("ramjet-standalone", &binder, argc, argv,
                               "[-c broker.conf] [--namesrvPort=9876] [--key=value ...]");
      rc >= 0) {
    return rc;
  }
  if (config.namesrv_addr.empty()) {
    config.namesrv_addr = "127.0.0.1:" + std::to_string(ns_config.listen_port);
    // The broker registers with its own name server, which refuses plaintext when enforcing.
    if (config.tls.mode == "enforcing") config.tls.enable = true;
  }
  config.config_file = binder.config_file();
  ns_config.tls = config.tls;
  if (Status s = config.Finish(); !s.ok()) {
    std::fprintf(stderr, "ramjet-standalone: configuration error: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  auto ns = namesrv::NamesrvController::Start(ns_config);
  if (!ns.ok()) {
    std::fprintf(stderr, "ramjet-standalone: name server cannot start: %s\n",
                 ns.status().ToString().c_str());
    return 1;
  }
  auto b = broker::BrokerController::Start(config);
  if (!b.ok()) {
    std::fprintf(stderr, "ramjet-standalone: broker cannot start: %s\n",
                 b.status().ToString().c_str());
    (*ns)->Shutdown();
    return 1;
  }
  auto dashboard = apps::StartDashboard(config);
  std::printf("Ramjet standalone is up: name server %s:%d, broker[%s, %s], data in %s\n",
              ns_config.listen_address.c_str(), (*ns)->port(), config.broker_name.c_str(),
              config.BrokerAddr().c_str(), config.store.root_dir.c_str());
  if (dashboard) std::printf("Dashboard: http://127.0.0.1:%d/\n", dashboard->port());
  std::printf("Press Ctrl-C to stop.\n");
  std::fflush(stdout);
  const char* sig = apps::WaitForShutdownSignal();
  RJ_LOG(kInfo, "standalone", "%s received, shutting down", sig);
  dashboard.reset();
  (*b)->Shutdown();
  (*ns)->Shutdown();
  std::printf("Ramjet stopped cleanly.\n");
  return 0;
}
