#!/usr/bin/env bash
# bench.sh runs the Graph burst scenario (three replicas, default settings, a
# burst of 1.5x the tenant's limit) at both documented presence limits: at
# Graph's own scale (e2e TestBurstAtFullScale, 30 s windows, about five
# minutes) and scaled down ten times in time and count (TestBurstFindsTheLimit),
# and writes BENCHMARKS.md with the chart of each burst's drain against the
# limit, docs/bench/burst-drain-full.png and docs/bench/burst-drain.png
# (internal/bench TestDrawBurstDrain).
#
#   scripts/bench.sh           both limits, writes BENCHMARKS.md and the chart
#   scripts/bench.sh --smoke   the smaller limit only, prints the table and
#                              draws the chart to a temporary file; fails only
#                              when the burst does not land or loses a change,
#                              or its report cannot be drawn (CI runs it;
#                              about 20 s)
set -euo pipefail
cd "$(dirname "$0")/.."

run='TestBurstFindsTheLimit'
smoke=0
if [[ "${1:-}" == "--smoke" ]]; then
	smoke=1
	run='TestBurstFindsTheLimit/limit150$'
	export STATUSBRIDGE_BENCH_SMOKE=1
fi

out="$(mktemp)"
chart="$PWD/docs/bench/burst-drain.png"
if [[ $smoke == 1 ]]; then
	chart="$(mktemp --suffix .png)"
fi
trap 'rm -f "$out"; [[ $smoke == 0 ]] || rm -f "$chart"' EXIT
STATUSBRIDGE_BENCH_OUT="$out" go test -count=1 -run "$run" -v ./e2e/ >&2
mkdir -p docs/bench
STATUSBRIDGE_BENCH_BURST="$out" STATUSBRIDGE_BENCH_PNG="$chart" go test -count=1 -run '^TestDrawBurstDrain$' ./internal/bench/ >&2

# burst_table prints the table of the bursts in the file $1.
burst_table() {
	python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| limit | stands for | burst | which | time to land | floor | ratio | 429 share | presence reads | first half limit written by | achieved share of the limit |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
which = {"first": "first (rate unknown)", "next": "next (rate learned)"}
for r in rows:
    per, k = r["per_s"], r.get("scale", 10)
    acc = r.get("accepted_at_s") or []
    half = f"{acc[r['limit']//2 - 1]:.2f} s" if len(acc) >= r["limit"] // 2 else "-"
    print(f"| {r['limit']:,} / {per:g} s | {r['limit']*k:,} / {per*k:g} s | {r['burst']:,} | {which.get(r.get('phase', ''), '')} | {r['land_s']:.2f} s | {r['floor_s']:.2f} s "
          f"| {r['ratio']:.2f} | {100*r['share_429']:.2f} % ({r['throttled']} of {r['graph_calls']:,}) | {r.get('reads', 0)} | {half} | {100*r['achieved_share']:.0f} % |")
PY
}
table="$(burst_table "$out")"

if [[ $smoke == 1 ]]; then
	echo "$table"
	exit 0
fi

# The same bursts at Graph's own scale: 30 s windows, bursts of 2,250 and
# 15,000 users, every setting at its default (about five minutes).
full="$(mktemp)"
trap 'rm -f "$out" "$full"' EXIT
STATUSBRIDGE_BENCH_FULL=1 STATUSBRIDGE_BENCH_OUT="$full" go test -count=1 -timeout 30m -run 'TestBurstAtFullScale' -v ./e2e/ >&2
STATUSBRIDGE_BENCH_BURST="$full" STATUSBRIDGE_BENCH_PNG="$PWD/docs/bench/burst-drain-full.png" go test -count=1 -run '^TestDrawBurstDrain$' ./internal/bench/ >&2
fulltable="$(burst_table "$full")"

# The burst once more with Graph answering in 0.2 s and the rate set to the
# tenant's limit: what the worker pool reaches (about 20 s more).
slow="$(mktemp)"
trap 'rm -f "$out" "$full" "$slow"' EXIT
STATUSBRIDGE_BENCH_OUT="$slow" go test -count=1 -run 'TestBurstWithSlowGraph' -v ./e2e/ >&2
slowtable="$(python3 - "$slow" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| limit (scaled) | stands for | burst | Graph's answer time | time to land | floor | ratio | 429 share |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    per = r["per_s"]
    print(f"| {r['limit']} / {per:g} s | {r['limit']*10:,} / {per*10:g} s | {r['burst']} | 0.2 s | {r['land_s']:.2f} s | {r['floor_s']:.2f} s "
          f"| {r['ratio']:.2f} | {100*r['share_429']:.2f} % ({r['throttled']} of {r['graph_calls']}) |")
PY
)"

# serve's memory with 100,000 mappings and a 10,000-user backlog (about a minute more).
memory="$(STATUSBRIDGE_SCALE_TEST=1 go test -count=1 -run 'TestServeMemoryAt100kUsers' -v ./e2e/ 2>&1 | tee -a /dev/stderr | grep -o 'serve (.*' | sed 's/^/- /')"

# Keep the intake section that scripts/bench-intake.sh writes.
intake="$(sed -n '/^<!-- intake -->$/,/^<!-- \/intake -->$/p' BENCHMARKS.md 2>/dev/null || true)"
cat > BENCHMARKS.md <<MD
# Benchmarks: the adaptive Graph rate under a burst

Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(go env GOOS)/$(go env GOARCH)).

Scenario: three \`statusbridge serve\` replicas share one Redis, with the default rate settings; the Graph
stand-in enforces the tenant's presence limit as a sliding window and answers 429 with Retry-After in whole
seconds beyond it. A burst of 1.5 times the limit of distinct users (admin mappings) changes status at once
through signed Slack events. Each fleet meets two bursts: the first, when the limiter knows nothing of the
tenant and starts at \`STATUSBRIDGE_GRAPH_RATE\`, and the next, once the window is empty again (the next top of
the hour), starting from the rate the fleet learned. Everything (three replicas, Redis, both stand-ins and the
load) runs on this one machine.

- time to land: first Slack event sent until every user's Teams message is right (intake included).
- floor: the best any schedule can do under the window: the limit at once, the rest one window later.
- 429 share: throttled Graph calls (writes and presence reads) of all Graph calls.
- presence reads: getPresencesByUserId calls (650 accounts each) of the whole fleet. The replicas share their
  reads ahead through Redis, each account due next read by one replica, so about N/650, plus a few for the
  changes that arrive after the reads ahead that would have covered them.
- first half limit written by: when the burst's first limit/2 writes were accepted. The second window's calls
  go as the first window's leave it, so this is about what the burst takes past 30.6 s (the window and its
  guard).
- achieved share: accepted Graph calls per second over the time to land, against the limit's rate.

## At Graph's own scale

e2e \`TestBurstAtFullScale\`: 30 s windows, 1,500 and 10,000 calls per window, bursts of 2,250 and 15,000 users,
and every setting at its default (rate, ceiling, lease, workers, log level).

$fulltable

![Burst drain against the limit, at Graph's own scale](docs/bench/burst-drain-full.png)

Reading the numbers. The second window's calls go as the first window's leave it, 30 s and a guard of 2 % (0.6 s)
later, so a burst of 1.5 limits lands at 30.6 s plus the time the first window took for its first half limit.
At 1,500 / 30 s that is the limiter finding the limit (a fraction of a second) and the probes that cost a few 429s.
At 10,000 / 30 s the ceiling is the limit and the rate reaches it in about 4.5 s (slow start doubles every 1.5 s
when Graph answers fast); the rest is this machine, where the intake takes in the 15,000 signed events (about 5 s
at 32 in flight) while the fleet writes: the first half limit column is that time. Against Graph, which answers
in 0.1 to 0.3 s, slow start is what takes longer (see the README's Sizing): set \`STATUSBRIDGE_GRAPH_RATE\` to
the tenant's limit when it is known.

## Scaled ten times

e2e \`TestBurstFindsTheLimit\` (the CI smoke runs its smaller limit). Periods and counts are divided by 10, so
calls per second are Graph's own: 1,500 / 30 s (older docs) is 150 / 3 s, 10,000 / 30 s (current throttling page)
is 1,000 / 3 s, and the defaults \`STATUSBRIDGE_GRAPH_RATE=1200/30s\`, \`STATUSBRIDGE_GRAPH_RATE_MAX=10000/30s\` are
120/3s and 1000/3s. A whole-second Retry-After therefore costs ten times more here than against Graph, and the
machine's own pace (a second for 1,500 changes) counts ten times more against a 3 s window than against 30 s.

$table

![Burst drain against the limit](docs/bench/burst-drain.png)

How to read the chart: time runs in windows (3 s) since the first Slack event and counts in limits, so both
limits share it. Each solid line is a burst's accepted writes (presence reads share the limit, so the writes stop
a little under it), the dashed green step is the floor and the dashed grey line the limit; the horizontal gap
between a line and the floor is the time lost, and crosses are the writes answered 429.

Reading the numbers. The limiter keeps a sliding window of its own calls, as Graph does, and counts
each call from when it was answered (Graph counted it from its arrival, in between). The starting rate
(120/3s here) goes at once; slow start then doubles it while callers wait, every 25 answer times (within
1/20 and 1/4 of the period). Past the level Graph is known to take (the start, then the most calls a window
held when one of them was answered) at most 2.8 % of the rate may be unanswered at once, so the calls a 429
catches, those in flight when it comes back, are at most that many however slow the answers are; after the
first 429 the rate settles at 0.9 of what the window held.

- The smaller limit, first burst: the limit is found in the first quarter of the window; the rest
  waits for the window, and goes as the first calls leave it. The 429s are the probes in flight when the
  first 429 comes back: at most 4 at this limit (2.8 % of about 150), under 2 % of the burst's calls in
  every run. The next burst starts at the settled rate (0.9 of the limit) and is not throttled.
- The larger limit, first burst: the ceiling (the default \`STATUSBRIDGE_GRAPH_RATE_MAX\`, 1,000/3s here)
  is the tenant's limit, so no 429 is needed. The time goes into slow start: the second window frees
  its slots at the pace the first one used them, and the first window climbs from 120 to 1,000 over
  about half a second, paced by the answer times of a machine that runs three replicas, Redis, both
  stand-ins and the load at once. Against Graph (0.1 to 0.3 s an answer, 30 s windows) slow start
  doubles every 2.5 to 7.5 s, and a first burst of 1.5 times a 10,000 / 30 s limit lands in about 1.4
  times the floor.
- The larger limit, next burst: the rate starts at the ceiling it reached, and what is left is this
  machine: 1,500 changes through the intake and three replicas on 2 cores take about a second even with
  no limit (about 1,400 writes a second once the intake is done), and the second window frees its slots
  at that pace.

## The worker pool when Graph takes its time

e2e \`TestBurstWithSlowGraph\`: the same fleet and burst at the larger limit, with the Graph stand-in answering
every call in 0.2 s, as Graph does, and \`STATUSBRIDGE_GRAPH_RATE\` set to the tenant's limit (so that slow start,
scaled in time while the answer time is not, does not count). 333 calls a second at 0.2 s an answer need about
67 calls in flight; 3 replicas of 8 workers make at most 120 a second. While every worker is busy, each
replica's pool grows to the rate times the answer time, a quarter more (up to \`STATUSBRIDGE_WORKERS_MAX\`).
With the pool held at 8 workers (\`STATUSBRIDGE_WORKERS_MAX=8\`) the same burst took 4.7 times the floor.

$slowtable

## serve's memory at 100,000 users

e2e \`TestServeMemoryAt100kUsers\`: 100,000 admin mappings and 10,000 due users loaded into Redis through the
store, then one \`serve\` drains the backlog (dry run; then against the Graph stand-in). Resident memory
from /proc/<pid>/status; the limit is 64 MB.

$memory

Run \`scripts/bench.sh\` to measure again (about ten minutes); \`scripts/bench.sh --smoke\` runs the small
limit only, prints the table and fails only when the burst does not land or loses a change (CI runs it).
MD
if [[ -n "$intake" ]]; then
	printf '\n%s\n' "$intake" >> BENCHMARKS.md
fi
echo "wrote BENCHMARKS.md" >&2
