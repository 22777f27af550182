// ramjet-namesrv: the name server (default port 9876).
#include <cstdio>

#include "app_main.h"
#include "ramjet/base/logging.h"
#include "ramjet/namesrv/namesrv.h"

int main(int argc, char** argv) {
  using namespace ramjet;
  apps::BlockShutdownSignals();
  namesrv::NamesrvConfig config;
  ConfigBinder binder;
  config.Bind(&binder);
  if (int rc = apps::ParseArgs("ramjet-namesrv", &binder, argc, argv,
                               "[-c namesrv.conf] [--key=value ...]");
      rc >= 0) {
    return rc;
  }
  auto ns = namesrv::NamesrvController::Start(config);
  if (!ns.ok()) {
    std::fprintf(stderr, "ramjet-namesrv: cannot start: %s\n", ns.status().ToString().c_str());
    return 1;
  }
  std::printf("The Name Server boot success. listenPort=%d\n", (*ns)->port());
  std::fflush(stdout);
  const char* sig = apps::WaitForShutdownSignal();
  RJ_LOG(kInfo, "namesrv", "%s received, shutting down", sig);
  (*ns)->Shutdown();
  std::printf("The Name Server shut down.\n");
  return 0;
}
