#!/usr/bin/env bash
# Runs one compatibility test: bash tests/compat/run.sh produce_consume_cluster.js
# Installs the pinned npm dependencies (package-lock.json) on first use.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
exec node "$1"
