#!/usr/bin/env bash
# Builds the dashboard pages (web/dashboard) into OUT_DIR: installs the pinned npm packages
# (package-lock.json) when they are missing or older than the lock, then bundles with esbuild.
# Called by the build (src/dashboard/CMakeLists.txt).  bash scripts/build-dashboard.sh OUT_DIR
set -euo pipefail
out="$1"
cd "$(dirname "$0")/../web/dashboard"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p "$out"
node build.mjs "$out"
