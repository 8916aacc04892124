package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/bench"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
)

// burstCase is one tenant: Graph's presence limit and the settings an
// operator would leave at their defaults, all scaled down in time.
//
// Scaling: every period is divided by 10 and every count too, so the calls
// per second are Graph's own. 1,500 / 30 s (older docs) becomes 150 / 3 s,
// 10,000 / 30 s (the current throttling page) becomes 1,000 / 3 s, and the
// defaults STATUSBRIDGE_GRAPH_RATE=1200/30s and
// STATUSBRIDGE_GRAPH_RATE_MAX=10000/30s become 120/3s and 1000/3s. The
// stand-in answers 429 with Retry-After in whole seconds, as Graph does, so a
// 429 costs relatively ten times more here than against Graph.
type burstCase struct {
	name   string
	limit  int           // calls the stand-in allows in any sliding window
	per    time.Duration // the window
	burst  int           // distinct users changing at once
	maxRat float64       // loose bound on time to land / floor
	// full is Graph's own scale: a 30 s window, the counts unscaled, and
	// the rate settings left unset (the defaults).
	full bool
}

// The bounds are loose on purpose (the 2-core machine is shared): measured
// ratios are about 1.2 and 1.35 (BENCHMARKS.md); a fixed 120/3s rate would
// take about 15 times the floor for the larger tenant.

var burstCases = []burstCase{
	{name: "limit150", limit: 150, per: 3 * time.Second, burst: 225, maxRat: 1.8},
	{name: "limit1000", limit: 1000, per: 3 * time.Second, burst: 1500, maxRat: 2.4},
}

// burstResult is one measured burst, as scripts/bench.sh reads it: the
// drain chart's part (internal/bench reads it back) and the table's figures.
type burstResult struct {
	bench.BurstRun
	FloorSec float64 `json:"floor_s"`
	Ratio    float64 `json:"ratio"`
	Share429 float64 `json:"share_429"`
	Achieved float64 `json:"achieved_share"`
	Calls    int     `json:"graph_calls"`
	// Scale is what periods and counts were divided by: 10, or 1 at
	// Graph's own scale.
	Scale int `json:"scale"`
	// Reads counts the presence reads (getPresencesByUserId calls).
	Reads int `json:"reads"`
}

// drainTimeline returns when the stand-in accepted each status write and
// when it answered one with 429, in seconds since start, in order.
func drainTimeline(calls []fakegraph.StatusCall, start time.Time) (accepted, throttled []float64) {
	slices.SortFunc(calls, func(a, b fakegraph.StatusCall) int { return a.Answered.Compare(b.Answered) })
	accepted, throttled = []float64{}, []float64{}
	for _, c := range calls {
		if c.Answered.Before(start) {
			continue
		}
		at := math.Round(c.Answered.Sub(start).Seconds()*1e4) / 1e4
		switch c.Status {
		case http.StatusOK:
			accepted = append(accepted, at)
		case http.StatusTooManyRequests:
			throttled = append(throttled, at)
		}
	}
	return accepted, throttled
}

// TestBurstFindsTheLimit: three replicas with the default rate settings meet
// a burst of 1.5 times the tenant's limit of distinct users, then a second
// one from the rate they learned. In each, every user's
// Teams message lands, no more Graph calls are throttled than the limiter's
// probes allow (throttleBound), and the burst lands within a loose multiple of the floor (with
// STATUSBRIDGE_BENCH_SMOKE set, only landing and losing nothing count): the best any schedule
// can do under a sliding window (limit calls at once, the rest one window
// later).
func TestBurstFindsTheLimit(t *testing.T) {
	for _, bc := range burstCases {
		t.Run(bc.name, func(t *testing.T) { runBurst(t, bc) })
	}
}

// fullScaleCases are the tenants at Graph's own scale: 30 s windows,
// bursts of 2,250 and 15,000 users, and no rate setting at all. They take
// about two and a half minutes each, so only the benchmark runs them
// (scripts/bench.sh sets STATUSBRIDGE_BENCH_FULL).
var fullScaleCases = []burstCase{
	{name: "limit1500", limit: 1500, per: 30 * time.Second, burst: 2250, maxRat: 1.8, full: true},
	{name: "limit10000", limit: 10000, per: 30 * time.Second, burst: 15000, maxRat: 2.4, full: true},
}

// TestBurstAtFullScale is TestBurstFindsTheLimit unscaled: on a machine
// that takes about a second for a thousand changes, the scaled bursts are
// bound by the machine as much as by the window; unscaled, the window
// binds, as it does against Graph.
func TestBurstAtFullScale(t *testing.T) {
	if os.Getenv("STATUSBRIDGE_BENCH_FULL") == "" {
		t.Skip("benchmark only: set STATUSBRIDGE_BENCH_FULL=1 (scripts/bench.sh does)")
	}
	for _, bc := range fullScaleCases {
		t.Run(bc.name, func(t *testing.T) { runBurst(t, bc) })
	}
}

// burstReplicas is the burst's fleet: 3 replicas with the default settings.
const burstReplicas = 3

// throttleBound is how many 429s finding a limit may cost: the limiter lets
// at most 2.8 % of its rate be unanswered past the level Graph is known to
// take (about 4 calls at 150, the rate being about the limit when the edge is
// found), and the first 429 is among them. The bound is twice that and a
// few more, since a probe unanswered for a tenth of a period (0.3 s here, on
// a busy shared machine) stops counting. A limiter that keeps calling into a
// full window, or finds the edge again and again, costs more.
func throttleBound(limit int) int { return 2*int(0.028*1.1*float64(limit)) + 4 }

func runBurst(t *testing.T, bc burstCase) {
	scale := func(n int) string { return fmt.Sprintf("%d/%s", n/10, 30*time.Second/10) }
	settings := []string{"STATUSBRIDGE_GRAPH_RATE=" + scale(1200), "STATUSBRIDGE_GRAPH_RATE_MAX=" + scale(10000)}
	if bc.full {
		// Default settings throughout: the rate (1200/30s, up to
		// 10000/30s), and the lease and log level, which the suite sets
		// to 10 s and debug.
		settings = []string{"STATUSBRIDGE_LEASE=30s", "STATUSBRIDGE_LOG_LEVEL=info"}
	}
	w := newWorld(t, settings...)
	users := makeUsers(t, w, "BU", bc.burst)
	f := startFleet(t, w.env, burstReplicas)
	w.graph.SetRateLimit(bc.limit, bc.per)

	// The first burst meets a limiter that knows nothing of the tenant: the
	// rate starts at STATUSBRIDGE_GRAPH_RATE. The next one, as at the next
	// top of the hour, starts from the rate the fleet learned; it comes once
	// both windows (Graph's and the limiter's, with its guard) are empty and
	// what each replica read of Teams ahead of the first burst has expired
	// (30 s), as it has an hour later.
	runBurstPhase(t, w, f, bc, users, "first", "Standup %d")
	if os.Getenv("STATUSBRIDGE_BENCH_SMOKE") != "" {
		return // the smoke's one burst is enough to show nothing is lost
	}
	time.Sleep(max(bc.per+bc.per/10, 31*time.Second))
	runBurstPhase(t, w, f, bc, users, "next", "Planning %d")
}

// runBurstPhase sends every user one new status at once, waits until Teams
// shows them all, and reports and checks this burst's Graph calls alone.
func runBurstPhase(t *testing.T, w *world, f *fleet, bc burstCase, users []*simUser, phase, text string) {
	ok0, thr0, failed0 := w.graph.Counts()
	reads0 := w.graph.PresenceReads()
	now := time.Now()
	for i, u := range users {
		u.changes = append(u.changes, simStatus{text: fmt.Sprintf(text, i), emoji: ":coffee:", at: now})
	}
	sender := newSlackSender(f.addrs, time.Now().Add(time.Minute))
	start := time.Now()
	sendAll(users, 32, func(u *simUser) { sender.deliver(u.newest().event("user_status_changed", nextEventID(), u.slack)) }).Wait()
	if n := sender.gaveUp.Load(); n != 0 {
		t.Fatalf("%s burst: %d events not acknowledged", phase, n)
	}
	waitConverged(t, w.graph, users, max(45*time.Second, 4*bc.per))
	land := time.Since(start)

	ok, thr, failed := w.graph.Counts()
	ok, thr, failed = ok-ok0, thr-thr0, failed-failed0
	reads := w.graph.PresenceReads()
	reads.Calls, reads.Throttled, reads.Failed = reads.Calls-reads0.Calls, reads.Throttled-reads0.Throttled, reads.Failed-reads0.Failed
	calls := ok + thr + failed + reads.Calls
	throttled := thr + reads.Throttled
	windows := math.Max(1, math.Ceil(float64(bc.burst)/float64(bc.limit))-1)
	floor := time.Duration(windows) * bc.per
	r := burstResult{
		BurstRun: bench.BurstRun{Phase: phase, Limit: bc.limit, PerSeconds: bc.per.Seconds(), Burst: bc.burst,
			LandSeconds: land.Seconds(), Throttled: throttled},
		FloorSec: floor.Seconds(), Ratio: land.Seconds() / floor.Seconds(),
		Share429: float64(throttled) / float64(calls),
		Achieved: float64(calls-throttled) / land.Seconds() / (float64(bc.limit) / bc.per.Seconds()),
		Calls:    calls,
		Scale:    10,
		Reads:    reads.Calls,
	}
	if bc.full {
		r.Scale = 1
	}
	r.AcceptedAt, r.ThrottledAt = drainTimeline(w.graph.StatusCalls(), start)
	t.Logf("%s burst, limit %d/%s, burst %d: landed in %.2fs, floor %.2fs, ratio %.2f; Graph calls %d (writes ok %d, 429 %d, failed %d; reads %d, 429 %d): 429 share %.2f%%, achieved %.0f%% of the limit",
		phase, bc.limit, bc.per, bc.burst, r.LandSeconds, r.FloorSec, r.Ratio, calls, ok, thr, failed, reads.Calls, reads.Throttled, 100*r.Share429, 100*r.Achieved)
	if out := os.Getenv("STATUSBRIDGE_BENCH_OUT"); out != "" {
		b, _ := json.Marshal(r)
		fh, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(fh, "%s\n", b)
		fh.Close()
	}

	if failed != 0 || reads.Failed != 0 {
		t.Errorf("%s burst: %d writes and %d reads failed other than with 429", phase, failed, reads.Failed)
	}
	if ok < bc.burst {
		t.Errorf("%s burst: %d successful writes for %d users with one change each", phase, ok, bc.burst)
	}
	if os.Getenv("STATUSBRIDGE_BENCH_SMOKE") != "" {
		// The CI smoke (scripts/bench.sh --smoke) fails only when the burst
		// does not land or loses a change; speed depends on the machine.
		return
	}
	// The 2 % target is BENCHMARKS.md's, measured on a quiet machine; here
	// the bound is the limiter's own (throttleBound).
	if b := throttleBound(bc.limit); throttled > b {
		t.Errorf("%s burst: %d Graph calls (%.2f%%) were throttled, want at most %d (the probes a limit may cost)", phase, throttled, 100*r.Share429, b)
	}
	// The fleet reads what Teams shows ahead of its writes, 650 accounts a
	// call, each account by one replica (the replicas share their reads):
	// N/650 reads, plus a few, and a few more for the changes that arrive
	// after the reads ahead that would have covered them (a burst of 15,000
	// takes the intake about 5 s).
	if limit := bc.burst/650*5/4 + 20; reads.Calls > limit {
		t.Errorf("%s burst: %d presence reads for %d changes, want at most %d", phase, reads.Calls, bc.burst, limit)
	}
	if r.Ratio > bc.maxRat {
		t.Errorf("%s burst: landed in %s, %.2f times the floor %s; want at most %.1f times", phase, land.Round(time.Millisecond), r.Ratio, floor, bc.maxRat)
	}
}

// TestBurstWithSlowGraph: Graph answers each call in 0.2 s, as it does for
// real, and the rate starts at the tenant's limit (10,000 / 30 s scaled to
// 1,000 / 3 s: an operator who knows it sets STATUSBRIDGE_GRAPH_RATE). At
// 333 calls a second, 0.2 s an answer takes about 67 calls in flight; the
// fleet's 3 × 8 workers make at most 120 a second, so the burst would take
// four times the floor (4.7 measured with STATUSBRIDGE_WORKERS_MAX=8). The
// pool grows to what the rate and the answer time call for, and the burst
// lands within twice the floor (about 1.7 measured).
func TestBurstWithSlowGraph(t *testing.T) {
	bc := burstCase{name: "slowgraph", limit: 1000, per: 3 * time.Second, burst: 1500, maxRat: 2}
	scale := func(n int) string { return fmt.Sprintf("%d/%s", n/10, 30*time.Second/10) }
	w := newWorld(t, "STATUSBRIDGE_GRAPH_RATE="+scale(10000), "STATUSBRIDGE_GRAPH_RATE_MAX="+scale(10000))
	users := makeUsers(t, w, "SG", bc.burst)
	f := startFleet(t, w.env, burstReplicas)
	w.graph.SetRateLimit(bc.limit, bc.per)
	w.graph.SetLatency(200 * time.Millisecond)
	runBurstPhase(t, w, f, bc, users, "slow", "Review %d")
}
