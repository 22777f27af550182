#!/usr/bin/env bash
# Where the broker's CPU goes on the send and the pull path: perf samples of ramjet-broker under
# ramjet-load, with the broker's CPU seconds per million messages: "send" (1 KiB, 64 in flight),
# "rate" (30,000 msg/s, no consumer) and "pull" (the same rate with a consumer; per message
# consumed). pull minus rate is the pull path's cost.
#   bash bench/profile.sh [send|pull|both] [seconds]      (default: both, 10 s each)
# Prints the top symbols (self time) and writes <out>/{send,pull}.perf.txt; OUT= moves <out>
# (default /tmp/ramjet-profile). Needs perf (Debian linux-perf) and a RelWithDebInfo build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${RAMJET_BIN_DIR:-$root/build/apps}"
load="${RAMJET_LOAD:-$root/build/bench/ramjet-load}"
what="${1:-both}"
secs="${2:-10}"
out="${OUT:-/tmp/ramjet-profile}"
mkdir -p "$out"
dir="$(mktemp -d /tmp/ramjet-prof-XXXXXX)"
ns_port=$(( 10100 + RANDOM % 21800 )); br_port=$(( ns_port + 10 ))
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin/ramjet-namesrv" --listenPort=$ns_port --kvConfigPath="$dir/kv.json" >"$dir/ns.log" 2>&1 &
"$bin/ramjet-broker" --namesrvAddr=127.0.0.1:$ns_port --listenPort=$br_port --brokerIP1=127.0.0.1 \
  --storePathRootDir="$dir/store" --dashboardPort=-1 >"$dir/broker.log" 2>&1 &
broker=$!
for _ in $(seq 1 500); do (exec 3<>/dev/tcp/127.0.0.1/$br_port) 2>/dev/null && break; sleep 0.02; done
for _ in $(seq 1 100); do
  "$load" producer -n 127.0.0.1:$ns_port -t ProfTopic --messages 1 --interval 1000 >/dev/null 2>&1 && break
  sleep 0.1
done
cpu() { awk '{print $14 + $15}' "/proc/$broker/stat"; }

profile() { # <name> <load command...>
  local name="$1"; shift
  local c0; c0=$(cpu)
  "$@" --json "$dir/$name.json" >"$dir/$name.out" 2>&1 &
  local lp=$!
  sleep 1
  perf record -F 499 -g -p "$broker" -o "$dir/$name.data" -- sleep $(( secs - 2 )) >/dev/null 2>&1 || true
  wait $lp || true
  local c1; c1=$(cpu)
  local msgs; msgs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['messages'])" "$dir/$name.json")
  perf report -i "$dir/$name.data" --no-children -g none --sort dso,symbol --percent-limit 0.7 \
    --stdio 2>/dev/null | grep '%' | grep -v '^#' | sed -e 's/  *$//' -e 's/std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >/std::string/g' |
    cut -c1-160 | head -40 >"$out/$name.perf.txt"
  echo "== $name: $msgs messages; broker CPU $(( c1 - c0 )) ticks = $(python3 -c "print(round(($c1-$c0)/100/$msgs*1e6, 2))") s per million"
  grep -E "^SUMMARY" "$dir/$name.out" || true
  head -30 "$out/$name.perf.txt"
}

if [[ $what == send || $what == both ]]; then
  profile send "$load" producer -n 127.0.0.1:$ns_port -t ProfTopic --size 1024 --async --inflight 64 \
    --duration "$secs" --interval 1000
fi
if [[ $what == pull || $what == both ]]; then
  # The pull path: the same fixed send rate without and with a consumer draining the topic; the
  # difference of the two CPU figures is what pulling costs per message.
  profile rate "$load" producer -n 127.0.0.1:$ns_port -t RateTopic --size 1024 --async --inflight 256 \
    --rate 30000 --duration "$secs" --interval 1000
  "$load" producer -n 127.0.0.1:$ns_port -t PullTopic --size 1024 --async --inflight 256 \
    --rate 30000 --duration $(( secs + 3 )) --interval 1000 >/dev/null 2>&1 &
  producer=$!
  sleep 1
  profile pull "$load" consumer -n 127.0.0.1:$ns_port -t PullTopic -g ProfGroup --duration "$secs" \
    --interval 1000
  wait "$producer" || true  # not a bare wait: the broker and name server are jobs too
fi
