#!/usr/bin/env bash
# Compares our apache.rocketmq.v2 definitions (proto/) with the ones real clients ship: every
# message, field (name, number, label, type, oneof, proto3 optional), enum value and RPC (with
# its streaming) of the clients' descriptors must be in ours, identical. Ours may have more
# (newer API additions). Clients: the npm package rocketmq-client-nodejs@1.0.8 (its .proto files)
# and the Maven artifact org.apache.rocketmq:rocketmq-proto 2.1.2 (the descriptors compiled into
# its classes; rocketmq-client-java depends on it).
# Needs protoc (Debian protobuf-compiler), a JDK, Maven and npm.
#   bash tests/grpc/compare_descriptors.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d -t ramjet-desc.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
protoc -I "$root/proto" --descriptor_set_out=ours.desc apache/rocketmq/v2/definition.proto \
  apache/rocketmq/v2/service.proto apache/rocketmq/v2/admin.proto
# The npm tarball, checked against the integrity the registry published for 1.0.8 (the lock).
npm pack rocketmq-client-nodejs@1.0.8 --silent >/dev/null
# (the registry's sha512-qSzgN9/oFy+iqGIbXoAdY4L/hcAGDq1PqOk4/zXs3Jz6bxsGRL3GA5QSOFS1nVUtFzGTiPyHEz4f/ITloCWEJg==, in hex)
want="a92ce037dfe8172fa2a8621b5e801d6382ff85c0060ead4fa8e938ff35ecdc9cfa6f1b0644bdc60394123854b59d552d17319388fc87133e1ffc84e5a0258426"
got="$(sha512sum rocketmq-client-nodejs-1.0.8.tgz | cut -d' ' -f1)"
if [[ "$got" != "$want" ]]; then
  echo "compare_descriptors.sh: rocketmq-client-nodejs-1.0.8.tgz has sha512 $got, want $want" >&2
  exit 1
fi
tar xzf rocketmq-client-nodejs-1.0.8.tgz
protoc -I package/proto --descriptor_set_out=node.desc apache/rocketmq/v2/definition.proto \
  apache/rocketmq/v2/service.proto apache/rocketmq/v2/admin.proto
# Offline first (the local repository usually has it), then Maven Central.
mvn -o -q -B -f "$root/tests/grpc/pom.xml" dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" \
  >/dev/null 2>&1 ||
  mvn -q -B -ntp -f "$root/tests/grpc/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$work/cp.txt" >/dev/null
cp="$(cat cp.txt)"
javac -d . -cp "$cp" "$root/tests/grpc/DescDump.java"
java -cp "$cp:." DescDump ours.desc | sort >ours.txt
java -cp "$cp:." DescDump node.desc | sort >node.txt
java -cp "$cp:." DescDump jar | sort >java.txt
rc=0
for c in node java; do
  if [[ $(wc -l <"$c.txt") -lt 100 ]]; then echo "$c: descriptors not read" >&2; rc=1; continue; fi
  missing=$(comm -23 "$c.txt" ours.txt | wc -l)
  echo "$c: $(wc -l <"$c.txt") elements, $missing not in ours identically"
  if [[ $missing -gt 0 ]]; then comm -23 "$c.txt" ours.txt | head -50; rc=1; fi
done
echo "ours: $(wc -l <ours.txt) elements"
exit $rc
