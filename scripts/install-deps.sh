#!/usr/bin/env bash
# Installs everything Ramjet needs to build and test on Debian 12: apt packages, node/npm, a JDK
# with Maven and a Go toolchain for the compatibility tests when the machine has none (the npm packages themselves are
# installed by scripts/test.sh from tests/compat/package-lock.json).
set -euo pipefail
PKGS=(cmake ninja-build g++ clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev
      zlib1g-dev libdeflate-dev ccache nlohmann-json3-dev clang-tidy clang-format
      etcd-server  # etcd: the failover tests start their own (automatic failover keeps its state there)
      protobuf-compiler  # protoc: the apache.rocketmq.v2 definitions (proto/)
      protobuf-compiler-grpc libgrpc++-dev libssl-dev  # the gRPC service for 5.x clients; TLS
      openssl  # the TLS tests make their certificates with the openssl command (tests/tls)
      libcpp-httplib-dev  # the broker's HTTP endpoint (Prometheus /metrics, the dashboard)
      libyaml-cpp-dev  # ACL accounts (plain_acl.yml)
      prometheus  # promtool and a Prometheus server for the metrics test
      python3 python3-venv  # the Python 5.x client test (tests/grpc/python, its own venv)
      chromium)  # the dashboard test drives real headless Chromium (tests/compat/dashboard.js)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
# The Java reference-client tests (tests/java): a JDK (17 on Debian 12) and Maven.
command -v java >/dev/null 2>&1 || PKGS+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || PKGS+=(maven)
# The Go reference-client tests (tests/go): Debian 12's Go toolchain (1.19).
command -v go >/dev/null 2>&1 || [ -x /usr/lib/go-1.19/bin/go ] || PKGS+=(golang-go)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
