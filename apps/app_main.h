// Shared start-up code of the thin program mains: configuration from -c FILE / --key=value,
// signal handling (SIGINT/SIGTERM trigger a clean shutdown), and exit codes
// (0 clean exit, 2 configuration error, 1 start-up failure).
#pragma once

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "ramjet/base/config.h"

namespace ramjet::apps {

// Blocks SIGINT/SIGTERM in this thread (and every thread it starts later), so sigwait can take
// them. Call first thing in main.
inline void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

// Request frames (a batch is a few hundred KiB) are allocated and freed at a high rate. glibc
// would serve each with a fresh mmap, or trim the heap top after each free, so every frame
// would page-fault its memory in again; keep such buffers on the heap instead.
inline void TuneMalloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

// Waits for SIGINT or SIGTERM and returns its name.
inline const char* WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

// Parses the command line into binder. Returns -1 to continue, or an exit code.
inline int ParseArgs(const char* program, ConfigBinder* binder, int argc, char** argv,
                     const char* usage) {
  // --help-markdown: the configuration table as Markdown (scripts/gen-config-doc.sh writes
  // docs/config.md from it).
  if (argc == 2 && std::string_view(argv[1]) == "--help-markdown") {
    std::printf("%s", binder->Markdown().c_str());
    return 0;
  }
  bool help = false;
  Status s = binder->ParseCommandLine(argc, argv, &help);
  if (help) {
    std::printf("usage: %s %s\n\nconfiguration keys (file lines key=value, or --key=value):\n%s",
                program, usage, binder->Help().c_str());
    return 0;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s: configuration error: %s\n(see %s --help)\n", program,
                 std::string(s.message()).c_str(), program);
    return 2;
  }
  return -1;
}

}  // namespace ramjet::apps
