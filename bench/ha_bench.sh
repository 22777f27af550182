#!/usr/bin/env bash
# Replication throughput and send latency: a master and a slave on loopback, ramjet-load sending
# 1 KiB messages with 64 in flight, for each mode: ASYNC_MASTER, SYNC_MASTER, and SYNC_MASTER in
# controller mode (etcd; the master waits for every slave of its sync-state set). Prints each
# run's line and the median of RUNS runs per mode.
#   bash bench/ha_bench.sh [build-dir] [runs] [seconds]
set -euo pipefail
export RAMJET_LOG_LEVEL=info  # the readiness check reads the sync-state set line
BUILD="${1:-build}"; RUNS="${2:-3}"; SECS="${3:-10}"
APPS="$BUILD/apps"; LOAD="$BUILD/bench/ramjet-load"
work=$(mktemp -d -t ramjet-ha-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

run_mode() {  # mode run
  local mode=$1 run=$2 d="$work/$1-$2"; mkdir -p "$d"
  local ns; ns=$(port); "$APPS/ramjet-namesrv" --listenPort="$ns" --kvConfigPath="$d/kv.json" >"$d/ns.log" 2>&1 & pids+=($!)
  wait_port "$ns"
  local extra=() role=SYNC_MASTER
  if [[ $mode == async ]]; then role=ASYNC_MASTER; fi
  if [[ $mode == controller ]]; then
    local ep; ep=$(port); local pp; pp=$(port)
    etcd --data-dir "$d/etcd" --listen-client-urls "http://127.0.0.1:$ep" --advertise-client-urls "http://127.0.0.1:$ep" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "default=http://127.0.0.1:$pp" >"$d/etcd.log" 2>&1 & pids+=($!)
    wait_port "$ep"
    extra=(--enableControllerMode=true --controllerAddr=127.0.0.1:$ep --controllerLeaseTtl=5)
  fi
  local p1 p2; p1=$(port); p2=$((p1 + 10))
  local common=(--namesrvAddr=127.0.0.1:$ns --brokerIP1=127.0.0.1 --brokerName=bench-ha)
  if [[ $mode == controller ]]; then
    "$APPS/ramjet-broker" "${common[@]}" --listenPort=$p1 --storePathRootDir="$d/s1" --brokerRole=SYNC_MASTER --brokerId=1 "${extra[@]}" >"$d/b1.log" 2>&1 & pids+=($!)
    "$APPS/ramjet-broker" "${common[@]}" --listenPort=$p2 --storePathRootDir="$d/s2" --brokerRole=SYNC_MASTER --brokerId=2 "${extra[@]}" >"$d/b2.log" 2>&1 & pids+=($!)
    for _ in $(seq 300); do grep -qh "of term 1: {1,2}" "$d"/b1.log "$d"/b2.log 2>/dev/null && break; sleep 0.1; done
  else
    "$APPS/ramjet-broker" "${common[@]}" --listenPort=$p1 --storePathRootDir="$d/s1" --brokerRole=$role --brokerId=0 >"$d/b1.log" 2>&1 & pids+=($!)
    "$APPS/ramjet-broker" "${common[@]}" --listenPort=$p2 --storePathRootDir="$d/s2" --brokerRole=SLAVE --brokerId=1 >"$d/b2.log" 2>&1 & pids+=($!)
    wait_port "$p1"; wait_port "$p2"; sleep 3
  fi
  "$LOAD" producer -n 127.0.0.1:$ns -t HaBench --size 1024 --async --inflight 64 --duration "$SECS" --json "$d/r.json" >"$d/load.log" 2>&1 || true
  python3 - "$mode" "$run" "$d/r.json" <<'PY'
import json, sys
mode, run, path = sys.argv[1:]
try:
    r = json.loads(open(path).read().strip().splitlines()[-1])
except Exception as e:
    print(f"{mode} run {run}: no result ({e})"); sys.exit(0)
lat = r.get("latency_ms", {})
print(f"{mode} run {run}: {r['msg_per_s']:.0f} msg/s, p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms, "
      f"{r['messages']} sent, {r['errors']} errors")
PY
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=()
  sleep 1
}

for mode in async sync controller; do
  for run in $(seq "$RUNS"); do run_mode "$mode" "$run"; done
done
