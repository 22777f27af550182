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
npm pack rocketmq-client-nodejs@1.0.8 --silent >/dev/null
tar xzf rocketmq-client-nodejs-1.0.8.tgz
protoc -I package/proto --descriptor_set_out=node.desc apache/rocketmq/v2/definition.proto \
  apache/rocketmq/v2/service.proto apache/rocketmq/v2/admin.proto
cat > pom.xml <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>io.ramjet</groupId><artifactId>desc</artifactId><version>1</version>
<dependencies><dependency><groupId>org.apache.rocketmq</groupId><artifactId>rocketmq-proto</artifactId>
<version>2.1.2</version></dependency></dependencies></project>
POM
mvn -q -B dependency:build-classpath -Dmdep.outputFile=cp.txt >/dev/null
cp="$(cat cp.txt)"
javac -d . -cp "$cp" "$root/tests/grpc/DescDump.java"
java -cp "$cp:." DescDump ours.desc | sort >ours.txt
java -cp "$cp:." DescDump node.desc | sort >node.txt
java -cp "$cp:." DescDump jar | sort >java.txt
rc=0
for c in node java; do
  missing=$(comm -23 "$c.txt" ours.txt | wc -l)
  echo "$c: $(wc -l <"$c.txt") elements, $missing not in ours identically"
  if [[ $missing -gt 0 ]]; then comm -23 "$c.txt" ours.txt | head -50; rc=1; fi
done
echo "ours: $(wc -l <ours.txt) elements"
exit $rc
