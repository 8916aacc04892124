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
echo "test.sh: Graph burst smoke (scripts/bench.sh --smoke: the burst lands, nothing lost)"
scripts/bench.sh --smoke
echo "test.sh: Kubernetes manifests"
(cd deploy/validate && go test -count=1 ./...)

# staticcheck, pinned; the first run compiles it and type-checks the module.
STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2" # 2026.2.2, built for Go 1.26
echo "test.sh: staticcheck ($STATICCHECK)"
go run "$STATICCHECK" ./...
(cd deploy/validate && go run "$STATICCHECK" ./...)

# Every fuzz target briefly (Go fuzzes one target per invocation); the seed
# corpora under testdata/fuzz already ran as tests above.
FUZZTIME="${FUZZTIME:-10s}"
grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=deploy . | sort | while read -r file; do
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    pkg="./$(dirname "${file#./}")"; pkg="${pkg%/.}"
    start=$(date +%s)
    ok=""
    for try in 1 2; do
      if log=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then
        ok=yes
        break
      fi
      if grep -q "Failing input written to" <<<"$log"; then
        break # a real failure: the input is saved under testdata/fuzz
      fi
      # No failing input: the fuzz engine itself gave up (for example its
      # coordinator timing out on a loaded machine). Try once more.
      echo "test.sh: fuzz $pkg $target: the fuzz engine stopped without a failing input (try $try)"
    done
    if [ -n "$ok" ]; then
      echo "test.sh: fuzz $pkg $target: ok ($(( $(date +%s) - start ))s)"
    elif grep -q "Failing input written to" <<<"$log"; then
      echo "test.sh: fuzz $pkg $target: FAILED"
      echo "$log"
      exit 1
    else
      echo "test.sh: fuzz $pkg $target: no failing input found, but the fuzz engine did not finish cleanly twice:"
      echo "$log" | tail -n 5
    fi
  done
done
