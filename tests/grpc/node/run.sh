#!/usr/bin/env bash
# Runs one gRPC client test: bash tests/grpc/node/run.sh basic.js
# Installs the pinned npm dependencies (package-lock.json) on first use.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
exec node "$1"
