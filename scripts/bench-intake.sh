#!/usr/bin/env bash
# bench-intake.sh measures the ack path against its floor, side by side in one
# run (internal/bench TestIntakeAgainstFloor): signed Slack events over
# loopback HTTP to the bridge's intake (Redis store, embedded store) and to
# the floors (signature check and one Redis SET; one bbolt Put with fsync;
# bbolt's DB.Batch), and to a reference that appends each change to a Redis
# list without the bridge's per-user decision; open loop at fixed rates and
# saturated with 32 (the targets) and 64 requests in flight, five rounds of
# every server in turn. It draws docs/bench/intake-latency.png and writes its
# section of BENCHMARKS.md between the <!-- intake --> markers (about seven
# minutes on 2 cores).
#
#   scripts/bench-intake.sh
#
# STATUSBRIDGE_BENCH_RATES (default 500,1000,2000,4000), STATUSBRIDGE_BENCH_SECONDS
# (per phase, default 3), STATUSBRIDGE_BENCH_INFLIGHT (default 32,64) and
# STATUSBRIDGE_BENCH_ROUNDS (saturation rounds, default 5) change the run.
set -euo pipefail
cd "$(dirname "$0")/.."

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
mkdir -p docs/bench
STATUSBRIDGE_BENCH_INTAKE=1 STATUSBRIDGE_BENCH_OUT="$out" STATUSBRIDGE_BENCH_PNG="$PWD/docs/bench/intake-latency.png" \
	go test -count=1 -timeout 20m -run '^TestIntakeAgainstFloor$' -v ./internal/bench/ >&2

section="$(python3 - "$out" "$(date -u +%Y-%m-%d)" "$(nproc)" "$(go env GOOS)/$(go env GOARCH)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
date, cores, plat = sys.argv[2:5]
sat = [r.get("in_flight", 32) for r in rows if r["offered"] == 0]
judged = sat[0] if sat else 32
def get(target, offered):
    for r in rows:
        if r["target"] == target and r["offered"] == offered and offered > 0:
            return r
    return None
def sat_rounds(target):
    # The saturation rounds at the judged number in flight, by round.
    return {r.get("round", 1): r for r in rows
            if r["target"] == target and r["offered"] == 0 and r.get("in_flight", 32) == judged}
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
rounds = max([r.get("round", 1) for r in rows if r["offered"] == 0] or [1])
rates = sorted({r["offered"] for r in rows if r["offered"] > 0})
p99_at = 2000 if 2000 in rates else rates[len(rates) // 2]
def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"
print("<!-- intake -->")
print("## Intake: the ack path against its floor")
print()
print(f"Written by `scripts/bench-intake.sh` on {date}, {cores} cores ({plat}); every number below comes from one run.")
print()
print("Signed `user_status_changed` events (distinct changes of 20,000 users) go over loopback HTTP to each server,")
print("a process of its own, one phase at a time and every server in turn: open loop at fixed offered rates (latency")
print("counted from each request's scheduled time), then saturation with " + " and ".join(str(n) for n in dict.fromkeys(sat))
      + f" requests in flight (the targets are judged at {judged}). CPU per event is the")
print("server's and, for Redis, redis-server's user + system time from /proc, per acknowledged event. Redis runs with")
print("`appendonly yes`, `appendfsync everysec`, shared by the Redis servers, its automatic AOF rewrite off: a rewrite")
print("forks and copies the dataset, and would fall into one server's phase and not the other's. What each Redis server")
print("costs the AOF is measured instead, in bytes appended per acknowledged event.")
print()
print("- bridge-redis / bridge-embedded: statusbridge's HTTP intake (`slackhandler` → `bridge.Engine.Submit` → store), group commit on.")
print("- floor-redis: Go net/http, the HMAC check, one Redis `SET` per event.")
print("- floor-bolt: the HMAC check, one bbolt `Put` committed and fsynced per event, the file kept open.")
print("- floor-bolt-batch: the same through bbolt's `DB.Batch` (commits coalesced, up to 10 ms wait).")
if any(r["target"] == "bridge-append" for r in rows):
    print("- bridge-append (a reference, not a product): the bridge's intake whose queue only appends each change to one")
    print("  Redis list, one `RPUSH` per group of concurrent submits. It skips the per-user decision that bridge-redis makes")
    print("  before the ack (a replayed event id, an older change, an unchanged status, the due schedule), so the gap between")
    print("  the two is what that decision costs.")
print()
print(f"Saturation runs {rounds} rounds of every server in turn at each number in flight; a saturation ratio is the median")
print("of the rounds' ratios (each round's two phases run a few seconds apart), with the medians of each server's")
print("figures beside it and the rounds' lowest and highest ratio.")
print()
print(f"| store | floor | saturation throughput ({judged} in flight), bridge / floor | CPU per event at saturation, bridge / floor | "
      f"p99 ack latency at {p99_at:g} ev/s, bridge / floor |")
print("|---|---|---|---|---|")
for store, bridge, floors in (("redis", "bridge-redis", ["floor-redis"]), ("embedded", "bridge-embedded", ["floor-bolt", "floor-bolt-batch"]),
                              ("redis, reference: bridge-append (no decision)", "bridge-append", ["floor-redis"])):
    bs, bl = sat_rounds(bridge), get(bridge, p99_at)
    for f in floors:
        fs, fl = sat_rounds(f), get(f, p99_at)
        both = sorted(set(bs) & set(fs))
        if not (both and bl and fl):
            continue
        def summary(key, fmt):
            rs = [bs[k][key] / fs[k][key] for k in both if fs[k][key]]
            if not rs:
                return "n/a"
            b, fl_ = median([bs[k][key] for k in both]), median([fs[k][key] for k in both])
            spread = f", rounds {min(rs):.2f}–{max(rs):.2f}" if len(rs) > 1 else ""
            return f"**{median(rs):.2f}×** ({fmt(b)} / {fmt(fl_)}{spread})"
        print(f"| {store} | {f} | {summary('throughput', lambda v: f'{v:,.0f} ev/s')} "
              f"| {summary('cpu_per_event_ms', lambda v: f'{v:.3f} ms')} "
              f"| **{ratio(bl['p99_ms'], fl['p99_ms'])}×** ({bl['p99_ms']:.2f} / {fl['p99_ms']:.2f} ms) |")
print()
print("Targets: saturation throughput ≥ 1.0× the floor, CPU per event ≤ 1.5× the floor's, p99 at 2,000 ev/s ≤ 2× the floor's.")
ref, real = sat_rounds("bridge-append"), sat_rounds("bridge-redis")
both = sorted(set(ref) & set(real))
if both:
    proc = median([(real[k]["cpu_per_event_ms"] - real[k].get("redis_cpu_per_event_ms", 0))
                   - (ref[k]["cpu_per_event_ms"] - ref[k].get("redis_cpu_per_event_ms", 0)) for k in both])
    red = median([real[k].get("redis_cpu_per_event_ms", 0) - ref[k].get("redis_cpu_per_event_ms", 0) for k in both])
    print()
    print(f"The per-user decision at the ack (bridge-redis less bridge-append, medians of the rounds at {judged} in flight) costs "
          f"{red:.3f} ms of redis-server CPU and {proc:.3f} ms of the server's per event.")
print()
print("Every phase:")
print()
print("| server | offered (ev/s) | acked (ev/s) | p50 (ms) | p99 (ms) | max (ms) | CPU per event (ms) | of which redis-server (ms) | AOF per event (bytes) | failed |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    off = f"{r['offered']:,.0f}" if r["offered"] > 0 else f"saturation ({r.get('in_flight', 32)} in flight), round {r.get('round', 1)}"
    redis = r["store"] == "redis"
    aof = f"{r.get('aof_bytes_per_event', 0):,.0f}" if redis else "–"
    rcpu = f"{r.get('redis_cpu_per_event_ms', 0):.3f}" if redis else "–"
    print(f"| {r['target']} | {off} | {r['throughput']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} "
          f"| {r['cpu_per_event_ms']:.3f} | {rcpu} | {aof} | {r['failed']} |")
print()
print("![p99 ack latency against offered load](docs/bench/intake-latency.png)")
print()
print("Run `scripts/bench-intake.sh` to measure again (about seven minutes).")
print("<!-- /intake -->")
PY
)"

python3 - "$section" <<'PY'
import re, sys
section = sys.argv[1]
try:
    md = open("BENCHMARKS.md").read()
except FileNotFoundError:
    md = ""
if "<!-- intake -->" in md and "<!-- /intake -->" in md:
    md = re.sub(r"<!-- intake -->.*?<!-- /intake -->", lambda m: section, md, flags=re.S)
else:
    md = md.rstrip("\n") + ("\n\n" if md else "") + section + "\n"
open("BENCHMARKS.md", "w").write(md)
PY
echo "$section"
