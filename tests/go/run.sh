#!/usr/bin/env bash
# Runs the Go-client compatibility tests (github.com/apache/rocketmq-client-go/v2, pinned in go.mod
# and go.sum) against the ramjet-namesrv and ramjet-broker binaries in $RAMJET_BIN_DIR (default:
# ../../build/apps, i.e. build/apps of this checkout). The module cache is used offline first; only
# when it lacks a pinned module is it filled from the Go module proxy (checked against go.sum).
# Extra arguments go to `go test`, e.g.  bash tests/go/run.sh -run 'TestTransaction|TestPull'
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

bin_dir="${RAMJET_BIN_DIR:-../../build/apps}"
if [[ ! -d "$bin_dir" ]]; then
  echo "run.sh: RAMJET_BIN_DIR=$bin_dir is not a directory" >&2
  exit 2
fi
RAMJET_BIN_DIR="$(cd "$bin_dir" && pwd)"
export RAMJET_BIN_DIR

GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then
    GO=go
  elif [[ -x /usr/lib/go-1.19/bin/go ]]; then # Debian 12's golang-go
    GO=/usr/lib/go-1.19/bin/go
  else
    echo "run.sh: no Go toolchain (install Debian's golang-go)" >&2
    exit 2
  fi
fi
# Never download a toolchain; never rewrite go.mod / go.sum.
export GOTOOLCHAIN=local
export GOFLAGS=-mod=readonly

# Offline first: if every pinned module is in the module cache, nothing is fetched.
if ! GOPROXY=off "$GO" list -deps -test ./... >/dev/null 2>&1; then
  echo "run.sh: the module cache lacks pinned modules; downloading them (Go module proxy)" >&2
  "$GO" mod download
fi

# Broadcasting consumers keep their offsets in local files: keep them out of $HOME.
offsets="$(mktemp -d -t ramjet-go-offsets.XXXXXX)"
trap 'rm -rf "$offsets"' EXIT

set +e
env "rocketmq.client.localOffsetStoreDir=$offsets" \
  "$GO" test -count=1 -parallel 4 -timeout 300s -v "$@" . 2>&1 | tee "$offsets/test.log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^\s*--- PASS: Test' "$offsets/test.log" || true)
failed=$(grep -cE '^\s*--- FAIL: Test' "$offsets/test.log" || true)
if [[ $failed -gt 0 ]]; then
  grep -E '^\s*--- FAIL: Test' "$offsets/test.log" | sed 's/^ *--- FAIL: /NOT PASSED: /'
fi
echo "go: $passed passed, $failed failed"
exit "$rc"
