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
		g, w, ep := a.acquire(t, -1)
		if g == reserved {
			t = t.Add(w)
			g, w, _ = a.acquire(t, ep)
		}
		if g == penalized {
			t = t.Add(w)
			continue
		}
		out = append(out, t)
	}
	return out, t
}

func TestAdaptiveWindowNeverExceedsTheRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(1200, 10000, 30*time.Second)
	ts, _ := drive(a, t0, 3*time.Minute)
	j := 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < 30*time.Second {
			j++
		}
		if n := j - i; n > 10000 {
			t.Fatalf("a window of 30 s from %s held %d calls, over the ceiling", ts[i].Sub(t0), n)
		}
	}
	if a.rate != 10000 {
		t.Fatalf("rate after 3 busy minutes = %.0f, want the ceiling 10000", a.rate)
	}
}

func TestAdaptiveCutOncePerPenaltyAndFloor(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(100, 1000, 30*time.Second)
	a.penalize(t0, 2*time.Second)
	a.penalize(t0.Add(time.Millisecond), 2*time.Second) // the same 429 event
	if a.rate != 70 || a.known != 100 {
		t.Fatalf("after one 429 event rate = %.1f, known = %.1f; want 70, 100", a.rate, a.known)
	}
	if g, w, _ := a.acquire(t0.Add(time.Second), -1); g != penalized || w != time.Second+time.Millisecond {
		t.Fatalf("acquire during the penalty = %v, %s", g, w)
	}
	for i := range 10 {
		a.penalize(t0.Add(time.Duration(i+1)*time.Minute), time.Second)
	}
	if a.rate != 25 {
		t.Fatalf("rate after many 429s = %.1f, want the floor 25", a.rate)
	}
}

func TestAdaptiveIdleDoesNotRaise(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(120, 1000, 3*time.Second)
	for i := range 100 {
		if g, _, _ := a.acquire(t0.Add(time.Duration(i)*time.Second), -1); g != goNow {
			t.Fatalf("an idle call had to wait")
		}
	}
	if a.rate != 120 {
		t.Fatalf("rate after 100 s of one call a second = %.1f, want 120", a.rate)
	}
}

func TestAdaptiveReservationVoidedByPenalty(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := newAdaptive(20, 20, time.Second)
	a.acquire(t0, -1)
	g, w, ep := a.acquire(t0, -1)
	if g != reserved || w != 50*time.Millisecond {
		t.Fatalf("second call = %v after %s, want reserved after 50ms", g, w)
	}
	a.penalize(t0.Add(10*time.Millisecond), time.Second)
	if g, _, _ := a.acquire(t0.Add(w), ep); g != penalized {
		t.Fatalf("a slot reserved before a 429 = %v, want penalized", g)
	}
	// After the penalty the stale reservation counts as a new call: it takes
	// the first slot, and the next call waits one interval (no burst).
	end := t0.Add(1010 * time.Millisecond)
	if g, _, _ := a.acquire(end, ep); g != goNow {
		t.Fatalf("first call after the penalty = %v, want go", g)
	}
	if g, _, _ := a.acquire(end, -1); g != reserved {
		t.Fatalf("second call at the penalty's end = %v, want a reserved slot", g)
	}
}
