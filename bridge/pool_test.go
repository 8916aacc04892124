package bridge

import (
	"testing"
	"time"
)

// TestWantWorkers: the pool is the budget's calls a second times Graph's
// answer time, a quarter more, within the floor and the ceiling.
func TestWantWorkers(t *testing.T) {
	for _, tc := range []struct {
		perSec float64
		answer time.Duration
		want   int
	}{
		{10000.0 / 30, 200 * time.Millisecond, 84}, // 333/s × 0.2 s × 1.25
		{1500.0 / 30, 200 * time.Millisecond, 13},  // 50/s × 0.2 s × 1.25 = 12.5
		{1500.0 / 30, 20 * time.Millisecond, 8},    // fast answers: the floor
		{10000.0 / 30, 2 * time.Second, 128},       // the ceiling
		{0, 200 * time.Millisecond, 8},             // no budget known
		{333, 0, 8},                                // no answer timed yet
	} {
		if got := wantWorkers(tc.perSec, tc.answer, 8, 128); got != tc.want {
			t.Errorf("%.0f calls/s, answers in %s: %d workers, want %d", tc.perSec, tc.answer, got, tc.want)
		}
	}
}

// TestPoolAnswerTime: the answer time is the fastest recent answer; slower
// ones move it up by 1/64 of the gap each.
func TestPoolAnswerTime(t *testing.T) {
	var p pool
	p.answered(200 * time.Millisecond)
	p.answered(100 * time.Millisecond)
	if got := time.Duration(p.answer.Load()); got != 100*time.Millisecond {
		t.Fatalf("answer time %s after 200 ms and 100 ms, want the faster", got)
	}
	p.answered(740 * time.Millisecond)
	if got := time.Duration(p.answer.Load()); got != 110*time.Millisecond {
		t.Fatalf("answer time %s after a 740 ms answer, want 110ms (1/64 of the 640 ms gap)", got)
	}
	for range 1000 {
		p.answered(400 * time.Millisecond)
	}
	if got := time.Duration(p.answer.Load()); got < 399*time.Millisecond || got > 400*time.Millisecond {
		t.Fatalf("answer time %s after Graph answered in 400 ms for good, want about 400ms", got)
	}
}
