#!/usr/bin/env bash
# Differential run: the same scenarios (raw remoting requests, the 4.9.8 Java client, mqadmin 4.9.8)
# against Apache RocketMQ's own name server + broker (fetched from Maven Central) and against
# ramjet-namesrv + ramjet-broker from $RAMJET_BIN_DIR (default: build/apps of this checkout).
#
#   bash tests/diff/run.sh                 full differential: apache.json, ramjet.json, report.md
#                                          in $DIFF_OUT_DIR (default tests/diff/target/diff);
#                                          exit 1 when a difference is not in allowlist.txt
#   bash tests/diff/run.sh --ramjet-only   the scenarios against Ramjet only (CI): exit 1 when the
#                                          runner fails or a request times out / cannot connect
#   bash tests/diff/run.sh --apache-only   the scenarios against Apache only (refreshes apache.json)
#
# Maven runs offline first; only when the local repository lacks an artifact does it go online.
# Every wait is bounded; every process started here is stopped here (also on error / Ctrl-C).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

mode=full
case "${1:-}" in
  "") ;;
  --ramjet-only) mode=ramjet ;;
  --apache-only) mode=apache ;;
  *) echo "usage: run.sh [--ramjet-only|--apache-only]" >&2; exit 2 ;;
esac

bin_dir="${RAMJET_BIN_DIR:-../../build/apps}"
out_dir="${DIFF_OUT_DIR:-$here/target/diff}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

work="$(mktemp -d -t ramjet-diff.XXXXXX)"
keep_work=1 # cleared once the servers and the runner succeeded
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]:-}"; do
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]:-}"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $keep_work -eq 0 ]]; then rm -rf "$work"; else echo "run.sh: kept $work (server and runner logs)" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- Maven (offline first)
mvn_q() { # <pom dir> <args...>
  local dir="$1"; shift
  local log="$work/mvn.log"
  if (cd "$dir" && mvn -o -q -B -ntp -Dstyle.color=never "$@") >"$log" 2>&1; then return 0; fi
  if grep -qE "offline mode|has not been downloaded from it before|Could not resolve dependencies|could not be resolved|Cannot access .* in offline|Failed to read artifact descriptor" "$log"; then
    echo "run.sh: the local Maven repository lacks artifacts; running Maven online (Maven Central)" >&2
    (cd "$dir" && mvn -q -B -ntp -Dstyle.color=never "$@") >"$log" 2>&1 && return 0
  fi
  sed 's/\x1b\[[0-9;]*m//g' "$log" >&2
  return 1
}

echo "run.sh: building the scenario runner" >&2
mvn_q "$here" compile dependency:build-classpath "-Dmdep.outputFile=$work/runner.cp"
runner_cp="$here/target/classes:$(cat "$work/runner.cp")"
if [[ $mode != ramjet ]]; then
  mvn_q "$here/apache-server" dependency:build-classpath "-Dmdep.outputFile=$work/server.cp"
  server_cp="$(cat "$work/server.cp")"
fi

# ---------------------------------------------------------------- helpers
# A loopback port p such that p-2 .. p+1 are free (a broker also listens on p-2 (VIP) and p+1 (HA)).
free_port() {
  local p q ok
  for _ in $(seq 1 200); do
    p=$(( 10100 + RANDOM % 21800 ))  # below the ephemeral range (32768-)
    ok=1
    for q in $((p - 2)) $((p - 1)) $p $((p + 1)); do
      # Something answers a connect: taken. (Loopback only; bounded to 200 tries.)
      if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null; then ok=0; break; fi
    done
    if [[ $ok -eq 1 ]]; then echo "$p"; return 0; fi
  done
  echo "run.sh: no free port found" >&2
  return 1
}

wait_port() { # <name> <pid> <port> <log>  -- bounded: 60 s
  local name="$1" pid="$2" port="$3" log="$4"
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $name exited early; its log:" >&2; tail -n 40 "$log" >&2; return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: $name did not listen on $port within 60 s" >&2; tail -n 40 "$log" >&2
  return 1
}

stop_pid() { # <pid>: TERM, bounded wait of 20 s, KILL; then forgotten by the exit trap
  local pid="$1" i
  for i in "${!pids[@]}"; do [[ "${pids[$i]}" == "$pid" ]] && unset 'pids[i]'; done
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

jvm_opts=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k)
# What Apache's runserver.sh / runbroker.sh add on JDK 9+: the store unmaps files through
# DirectByteBuffer internals (deleteTopic, file cleaning fail without these).
server_opts=("${jvm_opts[@]}" --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED)

run_scenarios() { # <side> <namesrv addr> <broker addr>
  local side="$1" ns="$2" br="$3"
  local dir="$work/$side-runner"
  mkdir -p "$dir/home/conf"
  cp "$here/logback-quiet.xml" "$dir/home/conf/logback_tools.xml"
  echo "run.sh: scenarios against $side (namesrv $ns, broker $br)" >&2
  timeout 600 java "${jvm_opts[@]}" -Drocketmq.home.dir="$dir/home" -DLOGFILE="$dir/runner.log" \
    -Dlogback.configurationFile="$here/logback-quiet.xml" \
    -Drocketmq.client.logRoot="$dir/clientlogs" -Drocketmq.client.logLevel=WARN \
    -Duser.home="$dir" -Djava.io.tmpdir="$dir" \
    -cp "$runner_cp" io.ramjet.diff.Scenarios "$ns" "$br" "$out_dir/$side.json" "$work/$side" \
    >"$dir/stdout.log" 2>&1 || { local rc=$?; cat "$dir/stdout.log" >&2; return $rc; }
  grep -E '^(scenarios:|  harness error)' "$dir/stdout.log" >&2 || true
}

# ---------------------------------------------------------------- Apache RocketMQ
run_apache() {
  local dir="$work/apache"
  mkdir -p "$dir/home/conf" "$dir/store"
  for f in namesrv broker tools; do cp "$here/logback-quiet.xml" "$dir/home/conf/logback_$f.xml"; done
  local np bp
  np="$(free_port)"
  printf 'listenPort=%s\n' "$np" >"$dir/namesrv.conf"
  ROCKETMQ_HOME="$dir/home" java "${server_opts[@]}" -DLOGFILE="$dir/namesrv.log" -Duser.home="$dir" \
    -cp "$server_cp" org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" \
    >"$dir/namesrv.out" 2>&1 &
  local ns_pid=$!; pids+=("$ns_pid")
  wait_port "Apache namesrv" "$ns_pid" "$np" "$dir/namesrv.out"
  bp="$(free_port)"
  sed -e "s|@NAMESRV@|127.0.0.1:$np|" -e "s|@PORT@|$bp|" -e "s|@STORE@|$dir/store|g" \
    "$here/broker.conf.in" >"$dir/broker.conf"
  ROCKETMQ_HOME="$dir/home" java "${server_opts[@]}" -DLOGFILE="$dir/broker.log" -Duser.home="$dir" \
    -cp "$server_cp" org.apache.rocketmq.broker.BrokerStartup -c "$dir/broker.conf" \
    >"$dir/broker.out" 2>&1 &
  local br_pid=$!; pids+=("$br_pid")
  wait_port "Apache broker" "$br_pid" "$bp" "$dir/broker.out"
  local rc=0
  run_scenarios apache "127.0.0.1:$np" "127.0.0.1:$bp" || rc=$?
  stop_pid "$br_pid"; stop_pid "$ns_pid"
  return $rc
}

# ---------------------------------------------------------------- Ramjet
run_ramjet() {
  if [[ ! -x "$bin_dir/ramjet-broker" || ! -x "$bin_dir/ramjet-namesrv" ]]; then
    echo "run.sh: RAMJET_BIN_DIR=$bin_dir lacks ramjet-namesrv / ramjet-broker" >&2
    return 2
  fi
  local bin; bin="$(cd "$bin_dir" && pwd)"
  local dir="$work/ramjet"
  mkdir -p "$dir/store"
  local np bp ns_pid br_pid attempt
  # A test running in parallel can take a port between free_port and the bind: then the server
  # says "Address already in use" and starts again on another port (at most three tries).
  for attempt in 1 2 3; do
    np="$(free_port)"
    "$bin/ramjet-namesrv" --listenPort="$np" --kvConfigPath="$dir/namesrv/kvConfig.json" >"$dir/namesrv.log" 2>&1 &
    ns_pid=$!; pids+=("$ns_pid")
    if wait_port "ramjet-namesrv" "$ns_pid" "$np" "$dir/namesrv.log"; then break; fi
    grep -q "Address already in use" "$dir/namesrv.log" && [[ $attempt -lt 3 ]] || return 1
  done
  for attempt in 1 2 3; do
    bp="$(free_port)"
    # The same settings as broker.conf.in gives Apache's broker.
    sed -e "s|@NAMESRV@|127.0.0.1:$np|" -e "s|@PORT@|$bp|" -e "s|@STORE@|$dir/store|g" \
      "$here/broker.conf.in" >"$dir/broker.conf"
    "$bin/ramjet-broker" -c "$dir/broker.conf" >"$dir/broker.log" 2>&1 &
    br_pid=$!; pids+=("$br_pid")
    if wait_port "ramjet-broker" "$br_pid" "$bp" "$dir/broker.log"; then break; fi
    grep -q "Address already in use" "$dir/broker.log" && [[ $attempt -lt 3 ]] || return 1
  done
  local rc=0
  run_scenarios ramjet "127.0.0.1:$np" "127.0.0.1:$bp" || rc=$?
  if ! kill -0 "$br_pid" 2>/dev/null; then
    echo "run.sh: ramjet-broker died during the scenarios; its log:" >&2; tail -n 40 "$dir/broker.log" >&2
    rc=1
  fi
  stop_pid "$br_pid"; stop_pid "$ns_pid"
  return $rc
}

start=$(date +%s)
case $mode in
  ramjet)
    run_ramjet
    java -cp "$runner_cp" io.ramjet.diff.Compare --check "$out_dir/ramjet.json"
    keep_work=0
    ;;
  apache)
    run_apache
    keep_work=0
    ;;
  full)
    run_apache
    run_ramjet
    keep_work=0
    rc=0
    java -cp "$runner_cp" io.ramjet.diff.Compare "$out_dir/apache.json" "$out_dir/ramjet.json" \
      "$here/allowlist.txt" "$out_dir/report.md" || rc=$?
    echo "run.sh: report: $out_dir/report.md ($(( $(date +%s) - start )) s)" >&2
    exit $rc
    ;;
esac
echo "run.sh: done in $(( $(date +%s) - start )) s" >&2
