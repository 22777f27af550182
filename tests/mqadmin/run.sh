#!/usr/bin/env bash
# Runs Apache's mqadmin tests (rocketmq-tools 4.9.8, JUnit 5) against the ramjet-namesrv and
# ramjet-broker binaries in $RAMJET_BIN_DIR (default: build/apps of this checkout), the way
# tests/java/run.sh runs its module: Maven offline first, online only for missing artifacts.
# Extra arguments go to Maven.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RAMJET_MAVEN_MODULE="$here" exec bash "$here/../java/run.sh" "$@"
