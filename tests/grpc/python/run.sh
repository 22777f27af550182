#!/usr/bin/env bash
# Runs the Python 5.x client test (basic_test.py) and raw gRPC calls (raw_api_test.py: offset RPCs, bad input) against ramjet-standalone started here on free
# ports (store in a temporary directory, removed when the test passes). The client and its
# dependencies come from PyPI at the versions pinned in requirements.txt, into .venv here.
#   RAMJET_BIN_DIR=build/apps bash tests/grpc/python/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$(cd "${RAMJET_BIN_DIR:-$here/../../../build/apps}" && pwd)"
if [[ ! -x "$here/.venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$here/.venv/requirements.txt"; then
  rm -rf "$here/.venv"
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$here/.venv/requirements.txt"
fi
work="$(mktemp -d -t ramjet-py.XXXXXX)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
}
trap cleanup EXIT
for attempt in 1 2 3 4 5; do
  read -r ns broker grpc < <(python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    b = random.randrange(20000, 40000)
    ns, g = b + 100, b + 200
    if all(free(p) for p in (b - 2, b - 1, b, b + 1, ns, g)):
        print(ns, b, g); break
PY
)
  "$bin_dir/ramjet-standalone" --storePathRootDir="$work/store" --namesrvPort="$ns" \
    --listenPort="$broker" --grpcServerPort="$grpc" --transactionTimeOut=1000 \
    --transactionCheckInterval=1000 >"$work/standalone.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$grpc") 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$grpc") 2>/dev/null; then break; fi
  kill -9 "$pid" 2>/dev/null || true
  pid=""
done
[[ -n "$pid" ]] || { echo "run.sh: ramjet-standalone did not start"; cat "$work/standalone.log"; exit 1; }
set +e
rc=0
for t in basic_test.py raw_api_test.py; do
  HOME="$work" RAMJET_GRPC="127.0.0.1:$grpc" timeout 300 "$here/.venv/bin/python" "$here/$t" || rc=$?
  [[ $rc -ne 0 ]] && break
done
set -e
if [[ $rc -ne 0 ]]; then
  echo "run.sh: failed; standalone log and store in $work"
  tail -20 "$work/standalone.log"
  exit $rc
fi
kill -INT "$pid"; wait "$pid" 2>/dev/null || true
pid=""
rm -rf "$work"
