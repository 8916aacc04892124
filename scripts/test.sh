#!/usr/bin/env bash
# Runs every statusbridge test. It installs what the tests need on a Debian
# machine (redis-server, from Debian's packages) when it is missing; the tests
# start their own redis-server processes on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "test.sh: installing redis-server and redis-tools from Debian's packages"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
fi

echo "test.sh: go vet"
go vet ./...
echo "test.sh: go test (unit, store conformance, end-to-end through the built binary)"
go test -count=1 -timeout 40m ./...
echo "test.sh: Kubernetes manifests"
(cd deploy/validate && go test -count=1 ./...)
