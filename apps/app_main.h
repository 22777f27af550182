// Shared start-up code of the thin program mains: configuration from -c FILE / --key=value,
// signal handling (SIGINT/SIGTERM trigger a clean shutdown), and exit codes
// (0 clean exit, 2 configuration error, 1 start-up failure).
#pragma once

#include <linux/close_range.h>
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "ramjet/base/config.h"

namespace ramjet::apps {

// Sent by a broker to itself when its role must change (controller mode): the main thread
// shuts it down and re-executes the program (RestartSelf).
inline constexpr int kRestartSignal = SIGUSR2;

// Blocks SIGINT/SIGTERM (and kRestartSignal) in this thread (and every thread it starts later), so
// sigwait can take them. Call first thing in main.
inline void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, kRestartSignal);
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

// Waits for SIGINT, SIGTERM or (with restart) kRestartSignal and returns its name.
inline const char* WaitForShutdownSignal(bool restart = false) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (restart) sigaddset(&set, kRestartSignal);
  int sig = 0;
  sigwait(&set, &sig);
  if (sig == kRestartSignal) return "restart";
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

// Replaces this process with a fresh run of the same program and arguments (same pid, same
// stdout/stderr). Every other descriptor is closed on exec. Returns only on failure.
inline void RestartSelf(char** argv) {
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  execv("/proc/self/exe", argv);
  std::perror("exec /proc/self/exe");
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
