// ramjet-broker: a broker (default port 10911, VIP port 10909).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "app_main.h"
#include "dashboard_launch.h"
#include "ramjet/base/logging.h"
#include "ramjet/broker/broker.h"

int main(int argc, char** argv) {
  using namespace ramjet;
  apps::BlockShutdownSignals();
  apps::TuneMalloc();
  broker::BrokerConfig config;
  ConfigBinder binder;
  config.Bind(&binder);
  if (int rc = apps::ParseArgs("ramjet-broker", &binder, argc, argv,
                               "[-c broker.conf] [-n namesrvAddr] [--key=value ...]");
      rc >= 0) {
    return rc;
  }
  config.config_file = binder.config_file();
  if (Status s = config.Finish(); !s.ok()) {
    std::fprintf(stderr, "ramjet-broker: configuration error: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  // Controller mode: a role change restarts this process (same pid), handing over the lease.
  auto restart = [](int64_t lease, const std::string& reason) {
    setenv(broker::kInheritedLeaseEnvName, std::to_string(lease).c_str(), 1);
    RJ_LOG(kWarn, "broker", "restarting: %s", reason.c_str());
    kill(getpid(), apps::kRestartSignal);
  };
  auto b = broker::BrokerController::Start(config, restart);
  if (!b.ok()) {
    std::fprintf(stderr, "ramjet-broker: cannot start: %s\n", b.status().ToString().c_str());
    return 1;
  }
  auto dashboard = apps::StartDashboard(config);
  std::printf("The broker[%s, %s] boot success. serializeType=JSON and name server is %s\n",
              config.broker_name.c_str(), config.BrokerAddr().c_str(), config.namesrv_addr.c_str());
  std::fflush(stdout);
  const char* sig = apps::WaitForShutdownSignal(/*restart=*/true);
  RJ_LOG(kInfo, "broker", "%s received, shutting down", sig);
  dashboard.reset();
  (*b)->Shutdown();
  if (std::string_view(sig) == "restart") {
    b->reset();
    std::printf("The broker[%s] restarts in its new role.\n", config.broker_name.c_str());
    std::fflush(stdout);
    apps::RestartSelf(argv);
    return 1;
  }
  std::printf("The broker[%s] shut down cleanly.\n", config.broker_name.c_str());
  return 0;
}
