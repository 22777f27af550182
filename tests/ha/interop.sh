#!/usr/bin/env bash
# Replication across implementations: Apache RocketMQ's broker (4.9.7, the newest 4.9 server on
# Maven Central, fetched through tests/diff/apache-server/pom.xml) and ramjet-broker in one broker
# group, both ways:
#   1. a Ramjet SYNC_MASTER with an Apache SLAVE,
#   2. an Apache SYNC_MASTER with a Ramjet SLAVE.
# In each, ramjet-load sends 2,000 1 KiB messages; every send must be SEND_OK, which a SYNC_MASTER
# answers only after the slave acknowledged it over the HA stream. Then the two CommitLog files
# must be byte-identical (the slave appends the master's bytes unchanged at the same offsets).
# Prints what it measured. Every wait is bounded; every process is stopped (also on error).
#   bash tests/ha/interop.sh   (RAMJET_BIN_DIR: ramjet-namesrv/-broker; RAMJET_LOAD_BIN: ramjet-load)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(cd "${RAMJET_BIN_DIR:-$root/build/apps}" && pwd)"
load="${RAMJET_LOAD_BIN:-$root/build/bench/ramjet-load}"
work="$(mktemp -d -t ramjet-ha-interop.XXXXXX)"
pids=()
last_pid=
last_port=
ok=0
cleanup() {
  local rc=$?
  for pid in "${pids[@]:-}"; do [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $ok -eq 1 ]]; then rm -rf "$work"; else echo "interop.sh: kept $work" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Apache's broker classpath (Maven offline first, then Maven Central).
cp_file="$work/server.cp"
if ! (cd "$root/tests/diff/apache-server" && mvn -o -q -B -ntp dependency:build-classpath \
      "-Dmdep.outputFile=$cp_file") >"$work/mvn.log" 2>&1; then
  (cd "$root/tests/diff/apache-server" && mvn -q -B -ntp dependency:build-classpath \
      "-Dmdep.outputFile=$cp_file") >"$work/mvn.log" 2>&1 || { cat "$work/mvn.log" >&2; exit 1; }
fi
server_cp="$(cat "$cp_file")"
java_opts=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED)

free_port() { # a port p with p-2 .. p+1 free (VIP and HA ports)
  local p q free
  for _ in $(seq 1 200); do
    p=$((10100 + RANDOM % 21800)); free=1  # below the ephemeral range (32768-)
    for q in $((p - 2)) $((p - 1)) $p $((p + 1)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null; then free=0; break; fi
    done
    if [[ $free -eq 1 ]]; then echo "$p"; return 0; fi
  done
  return 1
}
wait_port() { # <pid> <port> <log>: 60 s at most; 3 when the port was taken meanwhile
  for _ in $(seq 1 600); do
    if ! kill -0 "$1" 2>/dev/null; then
      # Another test may take a port between free_port and the bind: the caller picks again.
      if grep -qi "already in use" "$3"; then return 3; fi
      echo "interop.sh: process exited; log:" >&2; tail -n 30 "$3" >&2; return 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "interop.sh: nothing listens on $2" >&2; tail -n 30 "$3" >&2; return 1
}

broker_conf() { # <file> <namesrv port> <port> <store> <role> <id>
  cat >"$1" <<CONF
brokerClusterName=DefaultCluster
brokerName=broker-interop
brokerId=$6
brokerRole=$5
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:$2
listenPort=$3
haListenPort=$(($3 + 1))
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
storePathRootDir=$4
storePathCommitLog=$4/commitlog
autoCreateTopicEnable=true
mappedFileSizeCommitLog=67108864
syncFlushTimeout=5000
CONF
}

start_apache() { # <dir> <conf>
  mkdir -p "$1/home/conf"
  cp "$root/tests/diff/logback-quiet.xml" "$1/home/conf/logback_broker.xml"
  ROCKETMQ_HOME="$1/home" java "${java_opts[@]}" -DLOGFILE="$1/broker.log" -Duser.home="$1" \
    -cp "$server_cp" org.apache.rocketmq.broker.BrokerStartup -c "$2" >"$1/broker.out" 2>&1 &
  last_pid=$!; pids+=("$last_pid")
}
start_ramjet() { # <dir> <conf>
  "$bin/ramjet-broker" -c "$2" >"$1/broker.out" 2>&1 &
  last_pid=$!; pids+=("$last_pid")
}

start_namesrv() { # <port> <case dir>
  "$bin/ramjet-namesrv" --listenPort="$1" --kvConfigPath="$2/ns/kv.json" >"$2/ns/out" 2>&1 &
  last_pid=$!; pids+=("$last_pid")
}
start_member() { # <port> <kind> <dir> <namesrv port> <role> <id>
  broker_conf "$3.conf" "$4" "$1" "$3/store" "$5" "$6"
  "start_$2" "$3" "$3.conf"
}
# start_listening <log> <start function> <args...>: runs <start function> <port> <args...> on a
# free port until it listens (another test may take the port first; 5 tries). Sets last_pid and
# last_port.
start_listening() {
  local log="$1" rc=0; shift
  for _ in 1 2 3 4 5; do
    last_port="$(free_port)"
    "$1" "$last_port" "${@:2}"
    rc=0; wait_port "$last_pid" "$last_port" "$log" || rc=$?
    [[ $rc -eq 3 ]] || break
  done
  [[ $rc -eq 0 ]]
}

run_case() { # <name> <master kind> <slave kind>
  local name="$1" mkind="$2" skind="$3" dir="$work/$1"
  mkdir -p "$dir/m" "$dir/s" "$dir/ns"
  start_listening "$dir/ns/out" start_namesrv "$dir" || return 1
  local ns_pid=$last_pid np=$last_port
  start_listening "$dir/m/broker.out" start_member "$mkind" "$dir/m" "$np" SYNC_MASTER 0 || return 1
  local m_pid=$last_pid
  start_listening "$dir/s/broker.out" start_member "$skind" "$dir/s" "$np" SLAVE 1 || return 1
  local s_pid=$last_pid
  # The slave follows once it knows the master's HA address: wait (30 s at most) for a send
  # that the SYNC_MASTER acknowledges.
  local t0=$SECONDS ready=0
  while (( SECONDS - t0 < 40 )); do
    if "$load" producer -n "127.0.0.1:$np" -t InteropTopic --size 16 --messages 1 --interval 100 \
        2>/dev/null | grep -q "errors 0"; then ready=1; break; fi
    sleep 1
  done
  [[ $ready -eq 1 ]] || { echo "interop.sh: $name: no replicated send within 40 s" >&2; return 1; }
  local out; out="$("$load" producer -n "127.0.0.1:$np" -t InteropTopic --size 1024 --async \
      --inflight 16 --messages 2000 --interval 100 2>/dev/null | grep SUMMARY)"
  echo "interop.sh: $name: $out"
  [[ "$out" == *"messages 2000 "*"errors 0"* ]] || { echo "interop.sh: $name: not every send was SEND_OK" >&2; return 1; }
  # The slave has every byte: compare the first CommitLog file (64 MiB, zero beyond the end).
  local a="$dir/m/store/commitlog/00000000000000000000" b="$dir/s/store/commitlog/00000000000000000000"
  local same=0
  for _ in $(seq 1 100); do
    if cmp -s "$a" "$b"; then same=1; break; fi
    sleep 0.1
  done
  [[ $same -eq 1 ]] || { echo "interop.sh: $name: the CommitLogs differ: $(cmp "$a" "$b" || true)" >&2; return 1; }
  local used; used="$(tr -d '\0' <"$a" | wc -c)"
  echo "interop.sh: $name: CommitLogs identical ($used non-zero bytes on each)"
  kill -KILL "$s_pid" "$m_pid" "$ns_pid" 2>/dev/null || true
  wait "$s_pid" "$m_pid" "$ns_pid" 2>/dev/null || true
}

run_case ramjet-master-apache-slave ramjet apache
run_case apache-master-ramjet-slave apache ramjet
ok=1
echo "interop.sh: both directions replicate byte for byte"
