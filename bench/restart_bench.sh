#!/usr/bin/env bash
# Restart time of a broker on a store of STORE_GIB GiB (default 4): median of RUNS (default 5)
# clean restarts (SIGINT, then start) and of RUNS restarts after SIGKILL under load, measured
# from exec to the listen port accepting connections. Prints each run and the medians, and the
# bytes each crash recovery verified (from the broker's log).
#   bash bench/restart_bench.sh [build/apps]
set -euo pipefail
BIN=${1:-build/apps}
LOAD=${LOAD:-build/bench/ramjet-load}
STORE_GIB=${STORE_GIB:-4}
RUNS=${RUNS:-5}
DIR=$(mktemp -d /tmp/ramjet-restart-XXXXXX)
NS_PORT=${NS_PORT:-29876}
PORT=${PORT:-30911}
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT

now_ms() { date +%s%3N; }
wait_port() {  # prints ms until the port accepts (bounded to 120 s)
  local t0=$1
  for _ in $(seq 1 12000); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then echo $(( $(now_ms) - t0 )); return; fi
    sleep 0.01
  done
  echo "port never opened" >&2; exit 1
}
start_broker() {
  "$BIN"/ramjet-broker --namesrvAddr=127.0.0.1:$NS_PORT --listenPort=$PORT --brokerIP1=127.0.0.1 \
    --storePathRootDir="$DIR/store" --brokerName=restart-bench >>"$DIR/broker.log" 2>&1 &
  BROKER=$!
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

"$BIN"/ramjet-namesrv --listenPort=$NS_PORT --kvConfigPath="$DIR/kv.json" >"$DIR/ns.log" 2>&1 &
start_broker; wait_port "$(now_ms)" >/dev/null
MSGS=$(( STORE_GIB * 1024 * 1024 / 4 ))  # 4 KiB messages
echo "filling the store with $MSGS messages of 4 KiB ($STORE_GIB GiB)"
"$LOAD" producer -n 127.0.0.1:$NS_PORT -t RestartBench --size 4096 --batch 64 --threads 2 \
  --messages "$MSGS" --interval 1000 | grep SUMMARY
sleep 1
kill -INT $BROKER; wait $BROKER
du -sh "$DIR/store/commitlog"

clean=()
for r in $(seq 1 "$RUNS"); do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now_ms); start_broker; ms=$(wait_port "$t0"); clean+=("$ms")
  echo "clean restart $r: ${ms} ms"
  kill -INT $BROKER; wait $BROKER
done
crash=()
for r in $(seq 1 "$RUNS"); do
  t0=$(now_ms); start_broker; wait_port "$t0" >/dev/null
  "$LOAD" producer -n 127.0.0.1:$NS_PORT -t RestartBench --size 4096 --batch 64 --threads 2 \
    --duration 3 --interval 1000 >/dev/null 2>&1 &
  LOADER=$!
  sleep 2.5
  kill -9 $BROKER; wait $BROKER 2>/dev/null || true
  wait $LOADER 2>/dev/null || true
  t0=$(now_ms); start_broker; ms=$(wait_port "$t0"); crash+=("$ms")
  verified=$(grep -o "verified [0-9]* bytes" "$DIR/broker.log" | tail -1)
  echo "restart after SIGKILL $r: ${ms} ms ($verified)"
  kill -INT $BROKER; wait $BROKER
done
echo "MEDIAN clean restart: $(printf '%s\n' "${clean[@]}" | median) ms; after SIGKILL: $(printf '%s\n' "${crash[@]}" | median) ms (store $STORE_GIB GiB, $RUNS runs each)"
