#!/usr/bin/env bash
# Installs dependencies, builds Ramjet and runs it standalone: a name server on 127.0.0.1:9876
# and a broker on 10911 (VIP 10909) in one process, data under ./ramjet-data.
# Extra arguments go to ramjet-standalone (e.g. --listenPort=20911 or -c broker.conf).
# Ctrl-C shuts down cleanly (flush, checkpoint, no abort file).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$JOBS" ramjet-standalone ramjet-namesrv ramjet-broker
exec build/apps/ramjet-standalone "$@"
