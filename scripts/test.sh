#!/usr/bin/env bash
# Installs dependencies, builds Ramjet and runs every test: the release build's test suite, the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer, clang-tidy with clang's
# thread-safety analysis as errors, the C++ suites under ThreadSanitizer, and each
# libFuzzer target for a bounded time. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export RAMJET_LOG_LEVEL=${RAMJET_LOG_LEVEL:-warn}
START=$(date +%s)
# Each stage header carries the seconds since the start, so a run's log shows where time goes.
stage() { echo "== [$(($(date +%s) - START))s] $*"; }

bash scripts/install-deps.sh

stage "npm packages for the compatibility tests (pinned by tests/compat/package-lock.json)"
(cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
stage "npm packages for the 5.x gRPC client tests (pinned by tests/grpc/node/package-lock.json)"
(cd tests/grpc/node && npm ci --no-audit --no-fund --loglevel=error)

stage "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$JOBS"
stage "release tests"
ctest --test-dir build --output-on-failure -j"$JOBS"

stage "ASan + UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAMJET_SANITIZE=ON \
  -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$JOBS"
stage "ASan + UBSan tests"
# The Java, Go and mqadmin client suites run in the release stage: they prove protocol
# compatibility (the same code paths as under ASan, which the Node.js and Python clients,
# the integration tests and the fuzzers still drive here) and take a third of this stage.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
  ctest --test-dir build-asan --output-on-failure -j"$JOBS" -LE '^(java|go|mqadmin)$'

stage "clang-tidy and the thread-safety analysis (-Wthread-safety: RJ_GUARDED_BY / RJ_REQUIRES)"
# One clang front-end pass per source file of src/ and apps/ (the annotations live there; the
# test binaries are compiled by the other three builds): clang-tidy's checks (.clang-tidy) and
# the compiler's -Wthread-safety warnings, all as errors. Only the generated gRPC sources are
# built first; compiling everything with clang as well added about three minutes.
CC=clang CXX=clang++ cmake -S . -B build-tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DRAMJET_THREAD_SAFETY=ON -DRAMJET_BUILD_BENCH=OFF -DRAMJET_BUILD_TESTS=OFF \
  -DRAMJET_DASHBOARD_UI=OFF >/dev/null
ninja -C build-tsa -j"$JOBS" ramjet_apis_gen
JOBS="$JOBS" bash scripts/tidy.sh build-tsa

stage "ThreadSanitizer build"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAMJET_TSAN=ON \
  -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-tsan -j"$JOBS"
stage "ThreadSanitizer tests (unit, processor and process-level; not the third-party clients)"
# The third-party client suites test compatibility, not our threads, and run above; the
# million-message accumulation test is a memory bound that TSan's shadow memory distorts.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$JOBS" \
  -LE 'compat|java|go|diff|mqadmin' -E 'AccumulationTest'

stage "libFuzzer targets (${FUZZ_SECONDS}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRAMJET_FUZZ=ON -DRAMJET_SANITIZE=ON -DRAMJET_BUILD_TESTS=OFF -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz -j"$JOBS" record_fuzz recovery_fuzz frame_fuzz names_fuzz ha_fuzz etcd_fuzz
# One target per core at a time.
fuzz_one() {
  local f=$1 corpus=record work
  work=$(mktemp -d)
  [ "$f" = frame_fuzz ] && corpus=frame
  [ "$f" = names_fuzz ] && corpus=names
  [ "$f" = ha_fuzz ] && corpus=ha
  [ "$f" = etcd_fuzz ] && corpus=etcd
  cp "$ROOT"/fuzz/corpus/$corpus/* "$work"/
  if ! RAMJET_LOG_LEVEL=error "build-fuzz/fuzz/$f" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
      -print_final_stats=1 "$work" 2>"$work.log"; then
    tail -50 "$work.log"
    echo "$f FAILED"
    return 1
  fi
  grep -E "stat::number_of_executed_units" "$work.log" | sed "s/^/$f: /"
  rm -rf "$work" "$work.log"
}
set -- record_fuzz recovery_fuzz frame_fuzz names_fuzz ha_fuzz etcd_fuzz
while [ $# -gt 0 ]; do
  pids=()
  for _ in $(seq "$JOBS"); do
    [ $# -gt 0 ] || break
    fuzz_one "$1" & pids+=($!)
    shift
  done
  for p in "${pids[@]}"; do wait "$p"; done
done
stage "all test stages passed"
