#!/usr/bin/env bash
# Runs the Java-client compatibility tests (Apache rocketmq-client 4.9.8, JUnit 5) against the
# ramjet-namesrv and ramjet-broker binaries in $RAMJET_BIN_DIR (default: ../../build/apps, i.e.
# build/apps of this checkout). Maven runs offline first (everything already in the local
# repository); only if that fails for a missing artifact does it run again online.
# Extra arguments go to Maven, e.g.  bash tests/java/run.sh -Dtest=LargeMessageTest
set -euo pipefail
# RAMJET_MAVEN_MODULE names another Maven module run the same way (tests/mqadmin uses this).
cd "${RAMJET_MAVEN_MODULE:-$(dirname "${BASH_SOURCE[0]}")}"

bin_dir="${RAMJET_BIN_DIR:-../../build/apps}"
if [[ ! -d "$bin_dir" ]]; then
  echo "run.sh: RAMJET_BIN_DIR=$bin_dir is not a directory" >&2
  exit 2
fi
RAMJET_BIN_DIR="$(cd "$bin_dir" && pwd)"
export RAMJET_BIN_DIR

# -q hides Maven's INFO lines and with them Surefire's "Tests run:" summary on success, so the
# module's SummaryListener prints the same line to stdout (ramjet.printSummary=true).
args=(-q -B -ntp -Dstyle.color=never "-Dramjet.bin.dir=$RAMJET_BIN_DIR" -Dramjet.printSummary=true "$@" test)

log="$(mktemp -t ramjet-java-mvn.XXXXXX)"
trap 'rm -f "$log"' EXIT

set +e
# (Debian's Maven writes ANSI resets even with -B; sed drops them.)
mvn -o "${args[@]}" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -ne 0 ]] && grep -qE "offline mode|has not been downloaded from it before|Could not resolve dependencies|could not be resolved|Cannot access .* in offline|Failed to read artifact descriptor|Unresolveable build extension" "$log"; then
  echo "run.sh: the local Maven repository lacks artifacts; running again online (Maven Central)" >&2
  set +e
  mvn "${args[@]}" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
  rc=${PIPESTATUS[0]}
fi
exit "$rc"
