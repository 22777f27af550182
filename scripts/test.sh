#!/usr/bin/env bash
# Installs dependencies, builds Ramjet and runs every test: the release build's test suite, the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer, a clang build with the
# thread-safety analysis as errors, the C++ suites under ThreadSanitizer, clang-tidy, and each
# libFuzzer target for a bounded time. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export RAMJET_LOG_LEVEL=${RAMJET_LOG_LEVEL:-warn}

bash scripts/install-deps.sh

echo "== npm packages for the compatibility tests (pinned by tests/compat/package-lock.json)"
(cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
echo "== npm packages for the 5.x gRPC client tests (pinned by tests/grpc/node/package-lock.json)"
(cd tests/grpc/node && npm ci --no-audit --no-fund --loglevel=error)

echo "== release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$JOBS"
echo "== release tests"
ctest --test-dir build --output-on-failure -j"$JOBS"

echo "== ASan + UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAMJET_SANITIZE=ON \
  -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$JOBS"
echo "== ASan + UBSan tests"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
  ctest --test-dir build-asan --output-on-failure -j"$JOBS"

echo "== clang build with -Wthread-safety (RJ_GUARDED_BY / RJ_REQUIRES checked as errors)"
CC=clang CXX=clang++ cmake -S . -B build-tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DRAMJET_THREAD_SAFETY=ON -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-tsa -j"$JOBS"
echo "== clang-tidy (.clang-tidy; findings are errors)"
JOBS="$JOBS" bash scripts/tidy.sh build-tsa

echo "== ThreadSanitizer build"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAMJET_TSAN=ON \
  -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-tsan -j"$JOBS"
echo "== ThreadSanitizer tests (unit, processor and process-level; not the third-party clients)"
# The third-party client suites test compatibility, not our threads, and run above; the
# million-message accumulation test is a memory bound that TSan's shadow memory distorts.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$JOBS" \
  -LE 'compat|java|go|diff|mqadmin' -E 'AccumulationTest'

echo "== libFuzzer targets (${FUZZ_SECONDS}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRAMJET_FUZZ=ON -DRAMJET_SANITIZE=ON -DRAMJET_BUILD_TESTS=OFF -DRAMJET_BUILD_BENCH=OFF >/dev/null
ninja -C build-fuzz -j"$JOBS" record_fuzz recovery_fuzz frame_fuzz names_fuzz ha_fuzz etcd_fuzz
for f in record_fuzz recovery_fuzz frame_fuzz names_fuzz ha_fuzz etcd_fuzz; do
  work=$(mktemp -d)
  corpus=record
  [ "$f" = frame_fuzz ] && corpus=frame
  [ "$f" = names_fuzz ] && corpus=names
  [ "$f" = ha_fuzz ] && corpus=ha
  [ "$f" = etcd_fuzz ] && corpus=etcd
  cp "$ROOT"/fuzz/corpus/$corpus/* "$work"/
  RAMJET_LOG_LEVEL=error "build-fuzz/fuzz/$f" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
    -print_final_stats=1 "$work" 2>"$work.log" || { tail -50 "$work.log"; exit 1; }
  grep -E "stat::number_of_executed_units" "$work.log" | sed "s/^/$f: /"
  rm -rf "$work" "$work.log"
done
echo "all test stages passed"
