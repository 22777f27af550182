// RJ_CHECK: an invariant that must hold in every build (redpanda's vassert). When it does not,
// the process logs the condition, the place and a message, and aborts: continuing would corrupt
// state (a store offset, a lock table). Not for input validation — bad input is a Status.
//
//   RJ_CHECK(wrote <= size, "short segment write: %zu of %zu", wrote, size);
#pragma once

#include <cstdio>
#include <cstdlib>

#define RJ_CHECK(cond, ...)                                                               \
  do {                                                                                    \
    if (__builtin_expect(!(cond), 0)) {                                                   \
      std::fprintf(stderr, "FATAL %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                  \
      std::fputc('\n', stderr);                                                           \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
