#!/usr/bin/env bash
# bench/compare: Ramjet and Apache RocketMQ side by side on this machine, in one run.
#
#   bash bench/compare/run.sh [--runs 3] [--duration 10] [--systems "ramjet apache4 apache5"]
#                             [--scenarios "u64 rate b32 b128 k64 pc sync t1000 atool"]
#                             [--no-restart] [--append] [--out bench/results/<date>]
#
# Each broker runs in turn with the same broker.conf (broker.conf.in), from a fresh store, its
# name server beside it; Apache's with the G1 flags of its runbroker.sh. Every scenario runs
# --runs times, the systems interleaved within a run (machine drift hits all alike). Per run it
# records throughput, send latency percentiles (ramjet-load's HDR histogram), end-to-end p99 (pc),
# broker CPU seconds (utime+stime from /proc) per million messages, broker RssAnon at idle and
# the peak under load, and the start-up time (exec to the listen port accepting). The restart
# phase fills a 4 GiB store and times clean restarts until a send succeeds. Before each
# measurement the machine settles (dirty pages written back, CPUs idle; settle_ms in the runs).
# Raw runs: <out>/runs.jsonl; the table (medians, spread, Ramjet/Apache ratios): <out>/table.md.
#
# Needs: build/bench/ramjet-load and build/apps (RAMJET_BIN_DIR), a JDK and Maven for Apache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="$(cd "${RAMJET_BIN_DIR:-$root/build/apps}" && pwd)"
load="${RAMJET_LOAD:-$root/build/bench/ramjet-load}"
runs=3
duration=10
systems="ramjet apache4 apache5"
scenarios="u64 rate b32 b128 k64 pc sync t1000 atool"
restart=1
append=0
out="$root/bench/results/$(date -u +%Y-%m-%d)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --no-restart) restart=0; shift ;;
    --append) append=1; shift ;;   # add runs to <out>/runs.jsonl instead of starting it anew
    --out) out="$2"; shift 2 ;;
    *) echo "usage: see the head of $0" >&2; exit 2 ;;
  esac
done
[[ -x "$load" && -x "$bin_dir/ramjet-broker" ]] || { echo "build first: $load, $bin_dir" >&2; exit 2; }
mkdir -p "$out"
work="$(mktemp -d /tmp/ramjet-compare-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [[ -n ${COMPARE_KEEP:-} ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
log() { echo "compare: $*" >&2; }

# ------------------------------------------------------------------ Apache class paths (pinned)
declare -A cp
need_java=0
for s in $systems; do [[ $s == apache* ]] && need_java=1; done
[[ " $scenarios " == *" atool "* ]] && need_java=1
if [[ $need_java == 1 ]]; then
  for m in apache-4 apache-5 tool; do
    (cd "$here/$m" && timeout 900 mvn -q -B dependency:build-classpath \
      "-Dmdep.outputFile=$work/$m.cp" >"$work/mvn-$m.log" 2>&1) ||
      { cat "$work/mvn-$m.log" >&2; exit 1; }
    cp[$m]="$(cat "$work/$m.cp")"
  done
fi
jdk17_opens=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED)
# runbroker.sh's flags (heap 8g as there; AlwaysPreTouch left out so RssAnon shows what is used).
broker_jvm=(-server -Xms8g -Xmx8g -XX:+UseG1GC -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25
  -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0 -XX:-OmitStackTraceInFastThrow
  -XX:MaxDirectMemorySize=15g -XX:-UseLargePages "${jdk17_opens[@]}")
namesrv_jvm=(-server -Xms1g -Xmx1g -XX:+UseG1GC "${jdk17_opens[@]}")

# ------------------------------------------------------------------ helpers
now_ms() { date +%s%3N; }
free_port() { # p with p-2 .. p+1 free (VIP and HA ports)
  local p q ok
  for _ in $(seq 1 200); do
    p=$(( 10100 + RANDOM % 21800 )); ok=1  # below the ephemeral range (32768-)
    for q in $((p - 2)) $((p - 1)) $p $((p + 1)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null; then ok=0; break; fi
    done
    [[ $ok == 1 ]] && { echo "$p"; return 0; }
  done
  return 1
}
wait_port() { # <pid> <port>: bounded 120 s
  for _ in $(seq 1 12000); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.01
  done
  return 1
}
stop_pid() { # TERM, 30 s, KILL
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
}
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_system <system> <flush> <dir>: sets NS_PID BR_PID NS_ADDR, START_MS (broker exec to its
# port accepting) and READY_MS (broker exec to the first acknowledged send through the name server)
start_system() {
  local sys="$1" flush="$2" dir="$3" np bp t0
  mkdir -p "$dir/store" "$dir/home/conf"
  # Apache 4.9 reads its logback configuration from ROCKETMQ_HOME/conf: INFO to one file (-DLOGFILE)
  # instead of the distribution's dozen rolling files.
  for f in namesrv broker tools; do cp "$here/logback-quiet.xml" "$dir/home/conf/logback_$f.xml"; done
  np="$(free_port)"; bp="$(free_port)"
  sed -e "s|@NAMESRV@|127.0.0.1:$np|" -e "s|@PORT@|$bp|" -e "s|@STORE@|$dir/store|g" \
    -e "s|@FLUSH@|$flush|" "$here/broker.conf.in" >"$dir/broker.conf"
  printf 'listenPort=%s\n' "$np" >"$dir/namesrv.conf"
  if [[ $sys == ramjet ]]; then
    "$bin_dir/ramjet-namesrv" --listenPort="$np" --kvConfigPath="$dir/kv.json" >"$dir/namesrv.log" 2>&1 &
    NS_PID=$!; pids+=("$NS_PID")
    wait_port "$NS_PID" "$np" || { tail "$dir/namesrv.log" >&2; return 1; }
    t0=$(now_ms)
    "$bin_dir/ramjet-broker" -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
    BR_PID=$!
  else
    local m; m="apache-${sys#apache}"
    ROCKETMQ_HOME="$dir/home" java "${namesrv_jvm[@]}" -Duser.home="$dir" -DLOGFILE="$dir/namesrv-app.log" -cp "${cp[$m]}" \
      org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" >"$dir/namesrv.log" 2>&1 &
    NS_PID=$!; pids+=("$NS_PID")
    wait_port "$NS_PID" "$np" || { tail "$dir/namesrv.log" >&2; return 1; }
    t0=$(now_ms)
    ROCKETMQ_HOME="$dir/home" java "${broker_jvm[@]}" -Duser.home="$dir" -DLOGFILE="$dir/broker-app.log" -cp "${cp[$m]}" \
      org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
    BR_PID=$!
  fi
  pids+=("$BR_PID")
  wait_port "$BR_PID" "$bp" || { tail "$dir/broker.log" >&2; return 1; }
  START_MS=$(( $(now_ms) - t0 ))
  NS_ADDR="127.0.0.1:$np"
  # Registered with the name server (a route for TBW102): ready for clients.
  for _ in $(seq 1 300); do
    if "$load" producer -n "$NS_ADDR" -t ReadyProbe --messages 1 --interval 1000 >/dev/null 2>&1; then
      READY_MS=$(( $(now_ms) - t0 )); return 0
    fi
    sleep 0.1
  done
  log "$sys never accepted a send"; return 1
}
stop_system() { stop_pid "$BR_PID"; stop_pid "$NS_PID"; }

# settle: before each measurement, waits (at most 30 s) until what the previous one left behind is
# gone: the page cache it dirtied written back and the CPUs idle (below 5 % over half a second).
# A JVM just stopped or a deleted 1 GiB store otherwise keeps kernel threads (writeback, reclaim)
# busy into the next system's run, whichever system that is. Sets SETTLE_MS.
cpu_busy_pct() {
  local a b
  a=$(head -1 /proc/stat); sleep 0.5; b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); t = 0
    for (i = 2; i <= 9; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6]); print (t > 0 ? int(100 * (t - idle) / t) : 0) }'
}
settle() {
  local t0 busy dirty
  t0=$(now_ms)
  sync
  for _ in $(seq 1 60); do
    busy=$(cpu_busy_pct)
    dirty=$(awk '/^(Dirty|Writeback):/ {s += $2} END {print s + 0}' /proc/meminfo)
    (( busy < 5 && dirty < 16384 )) && break
  done
  SETTLE_MS=$(( $(now_ms) - t0 ))
}

# Peak RssAnon of <pid> while <watched pid> runs (sampled every 0.2 s).
peak_rss() {
  local pid="$1" watched="$2" peak=0 v
  while kill -0 "$watched" 2>/dev/null; do
    v=$(rss_anon_kb "$pid"); (( v > peak )) && peak=$v
    sleep 0.2
  done
  echo "$peak"
}


rate_for_half=""
# run_one <run> <scenario> <system>: one measurement, one line of runs.jsonl
run_one() {
  local run="$1" sc="$2" sys="$3" flush=ASYNC_FLUSH dir="$work/$sys-$sc-$run" args=()
  local topic="Bench-$sc-$run"
  case "$sc" in
    u64|pc) args=(--size 1024 --async --inflight 64) ;;
    sync) args=(--size 1024 --async --inflight 64); flush=SYNC_FLUSH ;;
    rate) args=(--size 1024 --async --inflight 1024 --rate "$rate_for_half") ;;
    b32) args=(--size 1024 --async --inflight 16 --batch 32) ;;
    b128) args=(--size 1024 --async --inflight 8 --batch 128) ;;
    k64) args=(--size 65536 --async --inflight 16) ;;
    t1000) args=(--size 1024 --async --inflight 64 --topics 1000) ;;
    atool) ;;
    *) log "unknown scenario $sc"; return 1 ;;
  esac
  settle
  local settle_ms=$SETTLE_MS
  start_system "$sys" "$flush" "$dir" || return 1
  local start_ms=$START_MS ready_ms=$READY_MS
  if [[ $sc == t1000 ]]; then
    # The 1,000 topics and their 8,000 queues exist before the measurement: eight sends to each
    # topic create it (the broker then registers its topics with the name server) and, as each
    # topic's sends go round its queues, one message in each queue; creating topics and
    # consume-queue files is not what is measured.
    "$load" producer -n "$NS_ADDR" -t "$topic" --topics 1000 --messages 8000 --async --inflight 16 \
      --interval 1000 >"$dir/create.out" 2>&1 || true
    # Ramjet keeps a queue's newest entries in memory and creates its consume-queue file when
    # they are written out (at 64 entries, or 10 s old: flushConsumeQueueThoroughInterval);
    # Apache creates the file with the first entry. Waiting past that age puts the creation of
    # all 8,000 files into the warm-up for both.
    sleep 12
  fi
  sleep 2
  local idle_kb; idle_kb=$(rss_anon_kb "$BR_PID")
  local cpu0; cpu0=$(cpu_s "$BR_PID")
  local cons_pid="" lp msgs=0 res="{}" cres="{}" cpu_watch=""
  if [[ $sc == pc ]]; then
    # The topic exists before the consumer subscribes (auto-created by one send).
    "$load" producer -n "$NS_ADDR" -t "$topic" --messages 1 --interval 1000 >/dev/null 2>&1 || true
    "$load" consumer -n "$NS_ADDR" -t "$topic" -g "BenchConsumer" --duration $((duration + 4)) \
      --interval 1000 --json "$dir/consumer.json" >"$dir/consumer.out" 2>&1 &
    cons_pid=$!
    sleep 2
  fi
  if [[ $sc == atool ]]; then
    # Apache's benchmark Producer: 64 threads of synchronous 1 KiB sends, a report a second; its
    # first report comes about 10 s after its start (JVM start, routes, its own warm-up window).
    # Each report's TPS is over the tool's last 10 s (a window of 10 one-second snapshots), so the
    # first 11 reports still cover its JIT warm-up (and the broker's): only later ones are kept,
    # and the broker's CPU is read when the 11th appears.
    timeout -s INT $((duration + 22)) java -Xms1g -Xmx1g -Duser.home="$dir" -Drocketmq.client.logLevel=WARN \
      -cp "${cp[tool]}" org.apache.rocketmq.example.benchmark.Producer -n "$NS_ADDR" -t "$topic" \
      -w 64 -s 1024 -ri 1000 >"$dir/atool.out" 2>&1 &
    lp=$!
    (for _ in $(seq 1 600); do
      n=$(grep -c 'Send TPS' "$dir/atool.out" 2>/dev/null) || n=0
      ((n >= 11)) && break
      sleep 0.1
    done
    cpu_s "$BR_PID" >"$dir/cpu0") &
    cpu_watch=$!
  else
    timeout $((duration + 60)) "$load" producer -n "$NS_ADDR" -t "$topic" "${args[@]}" \
      --duration "$duration" --interval 1000 --json "$dir/producer.json" >"$dir/producer.out" 2>&1 &
    lp=$!
  fi
  local peak_kb; peak_kb=$(peak_rss "$BR_PID" "$lp")
  wait "$lp" 2>/dev/null || true
  [[ -n $cons_pid ]] && { wait "$cons_pid" 2>/dev/null || true; }
  local cpu1; cpu1=$(cpu_s "$BR_PID")
  stop_system
  if [[ $sc == atool ]]; then
    # Steady state: the reports after the 11th; TPS median, mean of the average RT (Max RT is
    # cumulative since the tool's start, so it includes the first send's route look-up).
    wait "$cpu_watch" 2>/dev/null || true
    [[ -s $dir/cpu0 ]] && cpu0=$(cat "$dir/cpu0")
    res=$(grep -o 'Send TPS: [0-9]* | Max RT(ms): [0-9]* | Average RT(ms): *[0-9.]*' "$dir/atool.out" |
      tail -n +12 | awk -F'[:|]' '{print $2, $4, $6}' | python3 -c '
import sys, json, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
if not rows: print("{}"); sys.exit()
tps = statistics.median(r[0] for r in rows)
print(json.dumps({"msg_per_s": tps, "mb_per_s": tps * 1024 / 1e6, "messages": int(sum(r[0] for r in rows)),
  "latency_ms": {"avg": statistics.mean(r[2] for r in rows), "max": max(r[1] for r in rows)}}))')
    msgs=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('messages', 0))" "$res")
  else
    res=$(cat "$dir/producer.json" 2>/dev/null || echo '{}')
    msgs=$(python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('messages', 0))" "$res")
  fi
  [[ -f $dir/consumer.json ]] && cres=$(cat "$dir/consumer.json")
  python3 - "$run" "$sc" "$sys" "$flush" "$start_ms" "$ready_ms" "$idle_kb" "$peak_kb" "$cpu0" "$cpu1" "$msgs" \
    "$res" "$cres" "$settle_ms" >>"$out/runs.jsonl" <<'EOF'
import json, sys
run, sc, sys_, flush, start, ready, idle, peak, c0, c1, msgs, res, cres, settle = sys.argv[1:]
cpu = float(c1) - float(c0); msgs = int(msgs)
print(json.dumps({"run": int(run), "scenario": sc, "system": sys_, "flush": flush,
  "settle_ms": int(settle), "start_ms": int(start), "ready_ms": int(ready), "rss_anon_idle_kb": int(idle), "rss_anon_peak_kb": int(peak),
  "cpu_s": round(cpu, 2), "cpu_s_per_million": round(cpu / msgs * 1e6, 2) if msgs else None,
  "producer": json.loads(res), "consumer": json.loads(cres)}))
EOF
  log "run $run $sc $sys: $(tail -1 "$out/runs.jsonl" | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["producer"]; print(round(p.get("msg_per_s",0)), "msg/s, p99", p.get("latency_ms",{}).get("p99"), "ms, cpu/M", d["cpu_s_per_million"], "s, start", d["start_ms"], "ms")')"
  rm -rf "$dir/store"
}

# ------------------------------------------------------------------ the run
[[ $append == 1 ]] || : >"$out/runs.jsonl"
[[ $append == 1 ]] && echo "appended $(date -u +%FT%TZ): runs $runs, duration $duration s, systems: $systems, scenarios: $scenarios" >>"$out/machine.txt"
[[ $append == 1 ]] || {
  echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "cpus: $(nproc)"; grep -m1 'model name' /proc/cpuinfo || true
  echo "memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  java -version 2>&1 | head -1 || true
  echo "runs: $runs, duration: $duration s, systems: $systems, scenarios: $scenarios"
} >"$out/machine.txt"
if [[ $append == 0 || ! -f $out/tcp-baseline.json ]]; then
  "$load" tcp-baseline --duration 3 --json "$work/tcp.json" >/dev/null
  cp "$work/tcp.json" "$out/tcp-baseline.json"
fi
log "loopback TCP: $(cat "$out/tcp-baseline.json")"
main_sc=""; for sc in $scenarios; do [[ $sc != rate ]] && main_sc+="$sc "; done
for run in $(seq 1 "$runs"); do
  for sc in $main_sc; do
    for sys in $systems; do
      run_one "$run" "$sc" "$sys" || log "run $run $sc $sys failed"
    done
  done
done
if [[ " $scenarios " == *" rate "* ]]; then
  # Half of Apache 4.9's unbatched maximum (of the first Apache system when 4.9 is not run).
  ref=""; for s in $systems; do [[ $s == apache* && -z $ref ]] && ref=$s; done
  [[ " $systems " == *" apache4 "* ]] && ref=apache4
  [[ -z $ref ]] && ref=ramjet
  rate_for_half=$(python3 - "$out/runs.jsonl" "$ref" <<'EOF'
import json, sys, statistics
v = [json.loads(l)["producer"].get("msg_per_s", 0) for l in open(sys.argv[1])
     if json.loads(l)["scenario"] == "u64" and json.loads(l)["system"] == sys.argv[2]]
print(int(statistics.median(v) / 2) if v else 10000)
EOF
)
  log "fixed rate: $rate_for_half msg/s (half of $ref's unbatched median)"
  echo "fixed rate: $rate_for_half msg/s (half of $ref's unbatched median)" >>"$out/machine.txt"
  for run in $(seq 1 "$runs"); do
    for sys in $systems; do run_one "$run" rate "$sys" || log "run $run rate $sys failed"; done
    # The machine's own floor at that rate: a loopback echo through sleeping threads, no broker.
    settle
    "$load" tcp-echo --rate "$rate_for_half" --size 1024 --duration "$duration" \
      --json "$work/echo.json" >/dev/null && cat "$work/echo.json" >>"$out/tcp-echo.jsonl"
  done
fi

if [[ $restart == 1 ]]; then
  # Restart on a 4 GiB store: fill once (4 KiB messages, batches of 64), then clean restarts
  # (SIGTERM, start) timed from exec until a send succeeds.
  for sys in $systems; do
    dir="$work/$sys-restart"
    start_system "$sys" ASYNC_FLUSH "$dir" || continue
    timeout 900 "$load" producer -n "$NS_ADDR" -t RestartBench --size 4096 --batch 64 --threads 2 \
      --messages $((4 * 1024 * 256)) --interval 1000 --json "$dir/fill.json" >"$dir/fill.out" 2>&1 || true
    stop_system
    for r in $(seq 1 "$runs"); do
      sync
      start_system "$sys" ASYNC_FLUSH "$dir" || break
      ready_ms=$READY_MS
      stop_system
      python3 -c "import json,sys; print(json.dumps({'run': int(sys.argv[1]), 'scenario': 'restart4g', 'system': sys.argv[2], 'start_ms': int(sys.argv[3]), 'ready_ms': int(sys.argv[4]), 'store_bytes': int(sys.argv[5])}))" \
        "$r" "$sys" "$START_MS" "$ready_ms" "$(du -sb "$dir/store/commitlog" | cut -f1)" >>"$out/runs.jsonl"
      log "restart $r $sys: port ${START_MS} ms, first send ${ready_ms} ms"
    done
    rm -rf "$dir"
  done
fi

python3 "$here/table.py" "$out" >"$out/table.md"
cat "$out/table.md"
