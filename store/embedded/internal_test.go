package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/statusbridge/statusbridge/bridge"
)

// fakeClock is a clock that moves only when the limiter waits on it.
type fakeClock struct {
	now   time.Time
	waits []time.Duration
	// during, when set, runs inside the next wait (once).
	during func()
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	if f := c.during; f != nil {
		c.during = nil
		f()
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func newTestLimiter(limit int, per time.Duration) (*Limiter, *fakeClock) {
	c := &fakeClock{now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	l := NewLimiter(limit, per)
	l.Now, l.after = c.Now, c.after
	return l, c
}

func waitN(t *testing.T, l *Limiter, n int) {
	t.Helper()
	for range n {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
}

// sum adds up waits.
func sum(ws []time.Duration) time.Duration {
	var d time.Duration
	for _, w := range ws {
		d += w
	}
	return d
}

func TestLimiterWindow(t *testing.T) {
	l, c := newTestLimiter(4, time.Second)
	waitN(t, l, 4)
	if len(c.waits) != 0 {
		t.Fatalf("the window's allowance waited %v, want none", c.waits)
	}
	// The fifth call waits until the first leaves the window (one period
	// and the 2 % guard), asking again every period/30 meanwhile.
	waitN(t, l, 1)
	if got := sum(c.waits); got != 1020*time.Millisecond || len(c.waits) < 30 {
		t.Fatalf("waits = %v (%s), want 1.02s in steps of at most 33ms", c.waits, got)
	}
	// After an idle period, the next calls go at once.
	c.now = c.now.Add(2 * time.Second)
	c.waits = nil
	waitN(t, l, 3)
	if len(c.waits) != 0 {
		t.Fatalf("waits after idling = %v, want none", c.waits)
	}
}

func TestLimiterPenalize(t *testing.T) {
	l, c := newTestLimiter(4, time.Second)
	waitN(t, l, 4)
	if err := l.Penalize(t.Context(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitN(t, l, 1)
	if !slices.Equal(c.waits, []time.Duration{10 * time.Second}) {
		t.Fatalf("waits after Penalize(10s) = %v, want [10s]", c.waits)
	}
	// The rate settled at 0.9 of the 4 calls the window held: 3.6.
	if r, _ := l.Rate(t.Context()); r != 3.6 {
		t.Fatalf("rate after a 429 = %v, want 3.6", r)
	}
	// A shorter penalty than the one running changes nothing.
	c.waits = nil
	c.now = c.now.Add(time.Minute)
	_ = l.Penalize(t.Context(), 10*time.Second)
	_ = l.Penalize(t.Context(), time.Second)
	waitN(t, l, 1)
	if !slices.Equal(c.waits, []time.Duration{10 * time.Second}) {
		t.Fatalf("waits = %v, want [10s]", c.waits)
	}
}

func TestLimiterPenalizeWhileWaiting(t *testing.T) {
	l, c := newTestLimiter(4, time.Second)
	waitN(t, l, 4)
	// Another worker got a 429 while this call waited for room.
	c.during = func() { _ = l.Penalize(context.Background(), 5*time.Second) }
	waitN(t, l, 1)
	want := []time.Duration{time.Second / 30, 5 * time.Second}
	if !slices.Equal(c.waits, want) {
		t.Fatalf("waits = %v, want %v", c.waits, want)
	}
}

func TestLimiterUnlimitedStillHonoursPenalize(t *testing.T) {
	l, c := newTestLimiter(0, time.Second)
	waitN(t, l, 3)
	if len(c.waits) != 0 {
		t.Fatalf("waits without a limit = %v, want none", c.waits)
	}
	_ = l.Penalize(t.Context(), 3*time.Second)
	waitN(t, l, 2)
	if !slices.Equal(c.waits, []time.Duration{3 * time.Second}) {
		t.Fatalf("waits = %v, want [3s]", c.waits)
	}
}

func TestLimiterDeadline(t *testing.T) {
	l, c := newTestLimiter(1, time.Minute)
	c.now = time.Now() // the context's deadline runs on the real clock
	waitN(t, l, 1)
	// Room comes in 61.2 s: a caller with 10 s left fails at once, told so.
	ctx, cancel := context.WithDeadline(t.Context(), c.now.Add(10*time.Second))
	defer cancel()
	err := l.Wait(ctx)
	var thr *bridge.ThrottledError
	if !errors.As(err, &thr) || thr.RetryAfter != 61200*time.Millisecond {
		t.Fatalf("Wait past the deadline = %v, want a ThrottledError of 61.2s", err)
	}
	if len(c.waits) != 0 {
		t.Fatalf("waits = %v, want none", c.waits)
	}
}

func TestLimiterCanceledWaitGivesSlotBack(t *testing.T) {
	l, c := newTestLimiter(1, time.Minute)
	waitN(t, l, 1)
	// One second before room comes, a call reserves the slot, then gives up.
	c.now = c.now.Add(time.Minute + 200*time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	l.after = func(time.Duration) <-chan time.Time { cancel(); return nil }
	if err := l.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	l.after = c.after
	waitN(t, l, 1)
	if !slices.Equal(c.waits, []time.Duration{time.Second}) {
		t.Fatalf("waits = %v, want [1s] (the canceled call's slot given back)", c.waits)
	}
}

func countKeys(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	n := 0
	err := s.view(t.Context(), func(tx txn) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExpiredEventIDsArePruned(t *testing.T) {
	s, err := Open(t.TempDir(), WithDedupeTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	submit := func(user, event string, now time.Time) {
		t.Helper()
		c := bridge.Change{UserID: user, Status: bridge.Status{Text: event}, EventID: event, EventTime: now}
		if _, err := s.Submit(t.Context(), c, now); err != nil {
			t.Fatal(err)
		}
	}
	const old = 3*prunePerSubmit + 5
	for i := range old {
		submit("U001", fmt.Sprintf("Old%03d", i), t0)
	}
	if n := countKeys(t, s, bEvents); n != old {
		t.Fatalf("event ids = %d, want %d", n, old)
	}
	// Each later Submit prunes a bounded number of expired ids.
	later := t0.Add(2 * time.Hour)
	submit("U002", "New000", later)
	if n := countKeys(t, s, bEvents); n != old-prunePerSubmit+1 {
		t.Fatalf("event ids after one Submit = %d, want %d", n, old-prunePerSubmit+1)
	}
	for i := 1; i < 4; i++ {
		submit("U002", fmt.Sprintf("New%03d", i), later)
	}
	if n, m := countKeys(t, s, bEvents), countKeys(t, s, bEventsByTime); n != 4 || m != 4 {
		t.Fatalf("event ids after pruning = %d (by time %d), want the 4 recent ones", n, m)
	}
}

func TestClaimReadsOnlyDueEntries(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range 50 {
		u := fmt.Sprintf("U%03d", i)
		c := bridge.Change{UserID: u, Status: bridge.Status{Text: "x"}, EventTime: t0}
		if _, err := s.Submit(t.Context(), c, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// The index holds one entry per waiting user, ordered by due time.
	var got []string
	err = s.view(t.Context(), func(tx txn) error {
		return tx.Bucket(bDue).ForEach(func(k, _ []byte) error {
			_, id := splitTimeKey(k)
			got = append(got, id)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 || got[0] != "U000" || got[49] != "U049" {
		t.Fatalf("due index = %v", got)
	}
	jobs, err := s.Claim(t.Context(), t0.Add(2*time.Minute), time.Hour, 10)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("Claim = %d jobs, %v; want the 3 due", len(jobs), err)
	}
}

// TestOldDataFileGainsNewBuckets: a data file written before the ownership
// buckets existed opens, and the new records work.
func TestOldDataFileGainsNewBuckets(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bMeta, bUsers, bDue, bParked, bMappings, bEvents, bEventsByTime} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kVersion, []byte("1"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open of an older data file: %v", err)
	}
	defer s.Close()
	o := bridge.Owned{EntraID: "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60", SlackUserID: "U001", Content: "x"}
	if err := s.PutOwned(t.Context(), o); err != nil {
		t.Fatalf("PutOwned: %v", err)
	}
	if got, err := s.OwnedBy(t.Context(), "U001"); err != nil || len(got) != 1 {
		t.Fatalf("OwnedBy = %+v, %v", got, err)
	}
}
