#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy, warnings as errors) over the library sources in src/
# and the programs in apps/, using the compile commands of a configured build directory
# (default: build-tsa, the clang configuration of scripts/test.sh with -Wthread-safety, whose
# findings clang-tidy reports as clang-diagnostic-thread-safety-* errors). The generated gRPC
# sources must exist (ninja ramjet_apis_gen). Two files at a time; exits non-zero on any finding.
#   bash scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-tsa}"
[ -f "$build/compile_commands.json" ] || { echo "tidy.sh: no $build/compile_commands.json" >&2; exit 2; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if git ls-files 'src/*.cc' 'apps/*.cc' | grep -v '_test\.cc$' |
    xargs -P"${JOBS:-2}" -n4 clang-tidy -p "$build" --quiet >"$log" 2>&1; then
  echo "clang-tidy: no findings"
else
  grep -E "(error|warning):" "$log" | sort -u
  echo "clang-tidy: findings above" >&2
  exit 1
fi
