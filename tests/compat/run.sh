#!/usr/bin/env bash
# Runs one compatibility test: bash tests/compat/run.sh produce_consume_cluster.js
# Installs the pinned npm dependencies (package-lock.json) on first use and after they change.
set -euo pipefail
cd "$(dirname "$0")"
# (again when package-lock.json is newer than the installed tree, e.g. after a dependency was added)
[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
exec node "$1"
