package embedded

import (
	"testing"
	"time"
)

// drive grants calls as fast as a adaptive allows from t for d, and returns
// the grant times.
func drive(a *adaptive, t time.Time, d time.Duration) ([]time.Time, time.Time) {
	var out []time.Time
	end := t.Add(d)
	for t.Before(end) {
		g, w, ep, _ := a.acquire(t, -1, false)
		if g == reserved {
			t = t.Add(w)
			g, w, _, _ = a.acquire(t, ep, false)
		}
		if g == penalized || g == full {
			t = t.Add(w)
			continue
		}
		out = append(out, t)
	}
	return out, t
}

// maxWindow is the most times any window of d holds.
func maxWindow(ts []time.Time, d time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < d {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

func TestAdaptiveWindowNeverExceedsTheRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(1200, 10000, 30*time.Second)
	ts, _ := drive(a, t0, 3*time.Minute)
	if n := maxWindow(ts, 30*time.Second); n > 10000 {
		t.Fatalf("a window of 30 s held %d calls, over the ceiling", n)
	}
	if a.rate != 10000 {
		t.Fatalf("rate after 3 busy minutes = %.0f, want the ceiling 10000", a.rate)
	}
}

// TestAdaptiveSlowStartFindsALargeLimitFast: from 1,200/30 s, a busy
// limiter whose calls are answered in 40 ms allows the first 1,200 calls at
// once and reaches the ceiling of 10,000 within 12 s, two fifths of the
// period, growing smoothly (no step of more than a few calls at one instant
// after the first burst).
func TestAdaptiveSlowStartFindsALargeLimitFast(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(1200, 10000, 30*time.Second)
	a.lat = 40 * time.Millisecond
	ts, _ := drive(a, t0, 12*time.Second)
	at0 := 0
	for _, x := range ts {
		if x.Equal(t0) {
			at0++
		}
	}
	if at0 != 1200 {
		t.Fatalf("%d calls at once at the start, want the starting rate 1200", at0)
	}
	if n := len(ts); n < 10000 {
		t.Fatalf("%d calls in the first 12 s, want the ceiling 10000 reached", n)
	}
	most := 0
	for i := 1200; i < len(ts); {
		j := i
		for j < len(ts) && ts[j].Equal(ts[i]) {
			j++
		}
		most = max(most, j-i)
		i = j
	}
	if most > 3 {
		t.Fatalf("%d calls at one instant during slow start, want growth one call at a time", most)
	}
}

// TestAdaptiveSettlesBelowWhatGraphTook: a 429 stops calls for its
// Retry-After and settles the rate at 0.9 of what the window held; then
// the rate probes upwards slowly, and a window never holds more than it.
func TestAdaptiveSettlesBelowWhatGraphTook(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(1200, 10000, 30*time.Second)
	ts, now := drive(a, t0, 100*time.Millisecond)
	ts2, now := drive(a, now, 100*time.Millisecond)
	held := len(ts) + len(ts2)
	a.penalize(now, 3*time.Second)
	a.penalize(now.Add(time.Millisecond), 3*time.Second) // the same 429 event
	if a.rate != 0.9*float64(held) || a.known != float64(held) {
		t.Fatalf("after a 429 with %d calls in the window: rate %.1f, known %.1f; want %.1f, %d", held, a.rate, a.known, 0.9*float64(held), held)
	}
	if g, w, _, _ := a.acquire(now.Add(time.Second), -1, false); g != penalized || w != 2*time.Second+time.Millisecond {
		t.Fatalf("acquire during the penalty = %v, %s; want penalized, 2.001s", g, w)
	}
	after, _ := drive(a, now.Add(3*time.Second), 2*time.Minute)
	all := append(append(ts, ts2...), after...)
	if n := maxWindow(all, 30*time.Second); float64(n) > 1.1*float64(held) {
		t.Fatalf("a window held %d calls after Graph refused at %d", n, held)
	}
	// Four busy periods of additive probing: 3 % of the level per period.
	if h := float64(held); a.rate <= 0.9*h || a.rate > (0.9+4*0.03)*h+1 {
		t.Fatalf("rate after 4 busy periods = %.1f, want a slow climb from %.1f by at most %.1f", a.rate, 0.9*h, 4*0.03*h)
	}
	for i := range 20 {
		a.penalize(now.Add(time.Duration(i+1)*time.Hour), time.Second)
	}
	if a.rate != 300 {
		t.Fatalf("rate after many 429s on an empty window = %.1f, want the floor 300", a.rate)
	}
}

func TestAdaptiveIdleDoesNotRaise(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(120, 1000, 3*time.Second)
	for i := range 100 {
		if g, _, _, _ := a.acquire(t0.Add(time.Duration(i)*time.Second), -1, false); g != goNow {
			t.Fatalf("an idle call had to wait")
		}
	}
	if a.rate != 120 {
		t.Fatalf("rate after 100 s of one call a second = %.1f, want 120", a.rate)
	}
	// A full window, then an hour of quiet: the quiet credits no growth.
	ts, now := drive(a, t0.Add(time.Hour), 0)
	_ = ts
	for range 120 {
		a.acquire(now, -1, false)
	}
	a.acquire(now.Add(time.Hour), -1, false)
	if a.rate > 120*2 {
		t.Fatalf("rate after a full window and an hour of quiet = %.1f, want about 120", a.rate)
	}
}

func TestAdaptiveReservationVoidedByPenalty(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(20, 20, time.Second)
	for range 20 {
		if g, _, _, _ := a.acquire(t0, -1, false); g != goNow {
			t.Fatalf("a call within the first window's allowance = %v, want go", g)
		}
	}
	// The window is full: the next 20 slots are when the first calls leave
	// it, one period and the guard later.
	var ep int64
	for i := range 20 {
		g, w, e, _ := a.acquire(t0.Add(time.Second), -1, false)
		if g != reserved || w != 20*time.Millisecond {
			t.Fatalf("call %d = %v after %s, want reserved after the guard 20ms", 21+i, g, w)
		}
		ep = e
	}
	if g, w, _, _ := a.acquire(t0.Add(time.Second), -1, false); g != full || w != 1040*time.Millisecond {
		t.Fatalf("call 41 = %v after %s, want full for 1.04s (when the reserved slots leave the window)", g, w)
	}
	a.penalize(t0.Add(time.Second+10*time.Millisecond), time.Second)
	if g, _, _, _ := a.acquire(t0.Add(time.Second+20*time.Millisecond), ep, false); g != penalized {
		t.Fatalf("a slot reserved before a 429 = %v, want penalized", g)
	}
}

// TestAdaptiveDoublingFollowsAnswers: slow start doubles every 25 answer
// times, within 1/20 and 1/4 of the period, and every quarter period until
// a call was answered; landed moves a call to its answer and averages the
// time it took.
func TestAdaptiveDoublingFollowsAnswers(t *testing.T) {
	per := 30 * time.Second
	for _, tt := range []struct {
		lat, want time.Duration
	}{
		{0, per / 4},
		{10 * time.Millisecond, per / 20},
		{100 * time.Millisecond, 2500 * time.Millisecond},
		{time.Second, per / 4},
	} {
		a := newAdaptive(1200, 10000, per)
		a.lat = tt.lat
		if got := a.doubling(); got != tt.want {
			t.Errorf("answer time %s: doubling every %s, want %s", tt.lat, got, tt.want)
		}
	}

	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(3, 3, time.Second)
	var slots []time.Time
	for i := range 3 {
		g, _, _, x := a.acquire(t0.Add(time.Duration(i)*time.Millisecond), -1, false)
		if g != goNow || x.IsZero() {
			t.Fatalf("call %d: grant %v slot %v, want a call now with its slot", i, g, x)
		}
		slots = append(slots, x)
	}
	a.landed(slots[0], 0, t0.Add(400*time.Millisecond))
	a.landed(slots[1], 0, t0.Add(201*time.Millisecond))
	if a.lat != 360*time.Millisecond {
		t.Fatalf("average answer time %s after 400 ms and 200 ms, want 360ms", a.lat)
	}
	want := []time.Time{slots[2], t0.Add(201 * time.Millisecond), t0.Add(400 * time.Millisecond)}
	for i := range want {
		if !a.log[i].Equal(want[i]) {
			t.Fatalf("log %v, want %v (sorted, the answered calls at their answers)", a.log, want)
		}
	}
	// A window after the calls' slots only the unanswered one has left it:
	// one call goes, the answered two still count.
	at := t0.Add(time.Second + 30*time.Millisecond)
	if g, _, _, _ := a.acquire(at, -1, false); g != goNow {
		t.Fatalf("grant %v where the unanswered call left the window, want a call now", g)
	}
	if g, _, _, _ := a.acquire(at, -1, false); g == goNow {
		t.Fatal("a second call went while the window still held the 2 answered calls")
	}
}

// TestAdaptiveProbesInFlight: in slow start, the calls past the window's
// level that are not answered yet are capped at 2.8 % of the rate (at least
// one): a caller over the cap waits about one answer time; the cap frees up
// when a probe is answered, when it is older than a tenth of a period, or on
// a 429. Callers that never report answers (Wait) are not capped.
func TestAdaptiveProbesInFlight(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	per := 10 * time.Second
	fill := func(lands bool) *adaptive {
		a := newAdaptive(100, 10000, per)
		for i := range 100 {
			if g, _, _, _ := a.acquire(t0, -1, lands); g != goNow {
				t.Fatalf("call %d of the starting rate: grant %v, want a call now", i, g)
			}
		}
		return a
	}
	// Growth since the window filled allows calls past its level of 100.
	a := fill(true)
	now := t0.Add(time.Second)
	var probes []probe
	for {
		g, w, _, x, level := a.acquireLevel(now, -1, true)
		if g == full {
			if w != per/probeWaitMin {
				t.Fatalf("over the probes with no answer yet: wait %s, want %s", w, per/probeWaitMin)
			}
			break
		}
		if g != goNow {
			t.Fatalf("probe %d: grant %v, want a call now", len(probes), g)
		}
		probes = append(probes, probe{x: x, level: level})
	}
	// 2.8 % of the rate (about 115 after a second's growth at a quarter
	// period a doubling): 3.
	if len(probes) != 3 || a.probeCap() != 3 {
		t.Fatalf("%d probes went unanswered at a rate of %.1f (cap %d), want 3", len(probes), a.rate, a.probeCap())
	}
	// One answer frees one probe, and Graph is known to take its window.
	a.landed(probes[0].x, probes[0].level, now.Add(50*time.Millisecond))
	if a.lat != 50*time.Millisecond || a.sure != 101 {
		t.Fatalf("answer time %s, known level %.0f after the first probe's answer, want 50ms and 101", a.lat, a.sure)
	}
	now = now.Add(60 * time.Millisecond)
	if g, _, _, _ := a.acquire(now, -1, true); g != goNow {
		t.Fatalf("a probe once one of two was answered: grant %v, want a call now", g)
	}
	g, w, _, _ := a.acquire(now, -1, true)
	if g != full || w != a.lat {
		t.Fatalf("over the cap again: grant %v wait %s, want full for the answer time %s", g, w, a.lat)
	}
	// Probes older than a tenth of a period no longer count.
	now = now.Add(per/probeAgePart + time.Millisecond)
	if g, _, _, _ := a.acquire(now, -1, true); g != goNow {
		t.Fatalf("a probe once the others are a tenth of a period old: grant %v, want a call now", g)
	}
	// A 429 forgets the probes.
	a.penalize(now, time.Second)
	if len(a.probes) != 0 {
		t.Fatalf("%d probes after a 429", len(a.probes))
	}

	// Callers that do not report answers are not capped.
	b := fill(false)
	for i := range 5 {
		if g, _, _, _ := b.acquire(t0.Add(time.Second), -1, false); g != goNow {
			t.Fatalf("call %d past the level without answers reported: grant %v, want a call now", i, g)
		}
	}
}

// TestAdaptiveWaitingIsNoProbe: a call that waits for an old call to leave
// the window keeps it at its level: it is no probe, and its answer teaches
// no higher level.
func TestAdaptiveWaitingIsNoProbe(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	per := 10 * time.Second
	a := newAdaptive(10, 10, per)
	for i := range 10 {
		if g, _, _, _, level := a.acquireLevel(t0, -1, true); g != goNow || level != 0 {
			t.Fatalf("call %d of the starting rate: grant %v level %d, want a call now and no probe", i, g, level)
		}
	}
	now := t0.Add(a.window() - a.pollEvery()/2)
	g, _, _, x, level := a.acquireLevel(now, -1, true)
	if g != reserved || level != 0 || len(a.probes) != 0 {
		t.Fatalf("a call waiting for the first to leave the window: grant %v level %d, %d probes; want a slot reserved and no probe", g, level, len(a.probes))
	}
	a.landed(x, level, x.Add(time.Millisecond))
	if a.sure != 10 {
		t.Fatalf("known level %.0f after a call that took an old one's place, want 10", a.sure)
	}
}
