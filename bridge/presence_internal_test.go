package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// readerLog is a PresenceReader that answers what each account shows and
// keeps every call's ids; while gate is set, each call waits for a value
// on it.
type readerLog struct {
	mu    sync.Mutex
	shows map[string]string
	calls [][]string
	gate  chan struct{}
	begun chan struct{}
}

func (r *readerLog) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	r.mu.Lock()
	r.calls = append(r.calls, slices.Clone(ids))
	gate, begun := r.gate, r.begun
	r.mu.Unlock()
	if begun != nil {
		begun <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		if m, ok := r.shows[id]; ok {
			out[id] = m
		}
	}
	return out, nil
}

func (r *readerLog) log() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

type upcomingList []string

func (u upcomingList) UpcomingAccounts(_ context.Context, _ time.Time, max int) ([]string, error) {
	return u[:min(max, len(u))], nil
}

type sleepLog struct {
	mu sync.Mutex
	n  int
}

func (s *sleepLog) sleep(time.Duration) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

func (s *sleepLog) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// TestPresenceBatcherCoalesces: reads asked for while a call is in flight
// share the next call, which goes as soon as the first returns, without
// waiting the batching window again.
func TestPresenceBatcherCoalesces(t *testing.T) {
	r := &readerLog{shows: map[string]string{"a": "A", "b": "B", "c": "C"}, gate: make(chan struct{}), begun: make(chan struct{}, 10)}
	sl := &sleepLog{}
	b := &presenceBatcher{reader: r, window: time.Hour, timeout: time.Minute, now: time.Now, sleep: sl.sleep}
	ctx := context.Background()

	type answer struct {
		id, content string
		known       bool
		err         error
	}
	answers := make(chan answer, 10)
	read := func(id string) {
		go func() {
			c, k, err := b.read(ctx, id, time.Time{}, nil)
			answers <- answer{id, c, k, err}
		}()
	}
	read("a")
	<-r.begun // the first call is in flight, holding "a"
	read("b")
	read("c")
	read("zz") // unknown to Teams
	waitFor(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.order) == 3
	})
	r.gate <- struct{}{} // the first call returns
	<-r.begun            // the second starts
	r.gate <- struct{}{}

	got := map[string]answer{}
	for range 4 {
		a := <-answers
		got[a.id] = a
	}
	for id, want := range map[string]string{"a": "A", "b": "B", "c": "C"} {
		if a := got[id]; a.err != nil || !a.known || a.content != want {
			t.Errorf("read %s = %+v, want %q", id, a, want)
		}
	}
	if a := got["zz"]; a.err != nil || a.known {
		t.Errorf("an account Teams does not know read as %+v", a)
	}
	calls := r.log()
	if len(calls) != 2 || !slices.Equal(calls[0], []string{"a"}) || len(calls[1]) != 3 {
		t.Errorf("calls = %v, want [a] then the three asked for during it", calls)
	}
	if n := sl.count(); n != 1 {
		t.Errorf("the batching window was waited %d times for one run of calls, want once", n)
	}
}

// TestPresenceBatcherReadsAhead: a call fills up with the accounts due next;
// their answers serve later reads until the bridge calls the account, or
// until presenceTTL.
func TestPresenceBatcherReadsAhead(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	at := clk.now
	r := &readerLog{shows: map[string]string{}}
	var next upcomingList
	for i := range 2 * MaxPresenceBatch {
		id := fmt.Sprintf("u%04d", i)
		next = append(next, id)
		r.shows[id] = "shown " + id
	}
	b := &presenceBatcher{reader: r, window: 0, timeout: time.Minute, upcoming: next,
		now: at, sleep: func(time.Duration) {}}
	ctx := context.Background()
	read := func(id string, touched time.Time) string {
		t.Helper()
		c, known, err := b.read(ctx, id, touched, nil)
		if err != nil || !known {
			t.Fatalf("read %s: %q, known %v, %v", id, c, known, err)
		}
		// The answers read ahead are kept after the reads waiting on the
		// call are answered: wait until the batcher is done with them.
		waitFor(t, func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return !b.running
		})
		return c
	}

	if got := read("u0000", time.Time{}); got != "shown u0000" {
		t.Fatalf("read u0000 = %q", got)
	}
	calls := r.log()
	if len(calls) != 1 || len(calls[0]) != MaxPresenceBatch {
		t.Fatalf("first call asked for %d ids, want a full call of %d", len(calls[0]), MaxPresenceBatch)
	}
	// Served from the read ahead: a user never called, and one called well
	// before the read (beyond the clock-skew margin).
	read("u0001", time.Time{})
	read("u0002", at().Add(-time.Minute))
	if n := len(r.log()); n != 1 {
		t.Errorf("%d calls; reads ahead should have served", n)
	}
	// The bridge called u0003 after the read: the read ahead may predate
	// what Teams shows now, so Teams is read again.
	r.mu.Lock()
	r.shows["u0003"] = "changed"
	r.mu.Unlock()
	if got := read("u0003", at()); got != "changed" {
		t.Errorf("read u0003 after a call to it = %q, want Teams's newer message", got)
	}
	calls = r.log()
	if len(calls) != 2 || calls[1][0] != "u0003" || slices.Contains(calls[1][1:], "u0001") {
		t.Errorf("second call = %v…, want u0003 first and no account still read ahead", calls[1][:3])
	}
	// presenceTTL later, nothing read ahead serves.
	clk.add(presenceTTL)
	read("u0004", time.Time{})
	if n := len(r.log()); n != 3 {
		t.Errorf("%d calls; a read ahead older than presenceTTL served", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// stepClock is a clock that the test moves.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// upcomingVar is an Upcoming whose queue the test sets between reads.
type upcomingVar struct {
	mu   sync.Mutex
	list []string
}

func (u *upcomingVar) set(ids []string) {
	u.mu.Lock()
	u.list = ids
	u.mu.Unlock()
}

func (u *upcomingVar) UpcomingAccounts(_ context.Context, _ time.Time, max int) ([]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.list[:min(max, len(u.list))]), nil
}

// TestPresenceReadAheadMakesRoom: with several replicas reading ahead of
// one queue, most of what one replica read ahead is claimed by the others
// and never used here. A full cache makes room for the newest reads ahead
// (the oldest go first) instead of refusing them; refusing them left every
// replica reading Teams for every few writes of a large burst.
func TestPresenceReadAheadMakesRoom(t *testing.T) {
	r := &readerLog{shows: map[string]string{}}
	up := &upcomingVar{}
	clk := &stepClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	at := clk.now
	b := &presenceBatcher{reader: r, window: 0, timeout: time.Minute, upcoming: up, now: at, sleep: func(time.Duration) {}}
	read := func(id string) {
		t.Helper()
		if _, known, err := b.read(context.Background(), id, time.Time{}, nil); err != nil || !known {
			t.Fatalf("read %s: known %v, %v", id, known, err)
		}
		waitFor(t, func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return !b.running
		})
	}
	// Six blocks of the queue, each read ahead by one read for another
	// account (claimed here); the others take the rest of each block.
	blocks := make([][]string, 6)
	for k := range blocks {
		for i := range MaxPresenceBatch - 1 {
			id := fmt.Sprintf("b%d-%04d", k, i)
			blocks[k] = append(blocks[k], id)
			r.shows[id] = "shown " + id
		}
		r.shows[fmt.Sprintf("x%d", k)] = "x"
	}
	for k, block := range blocks {
		up.set(block)
		read(fmt.Sprintf("x%d", k))
		clk.add(time.Second)
	}
	if n := len(r.log()); n != len(blocks) {
		t.Fatalf("%d calls for %d reads of accounts not read ahead", n, len(blocks))
	}
	b.mu.Lock()
	size := len(b.ahead)
	b.mu.Unlock()
	if size > maxPresenceCache {
		t.Errorf("%d reads ahead kept, want at most %d", size, maxPresenceCache)
	}
	// The newest block, read ahead while the cache was full, serves.
	up.set(nil)
	read(blocks[5][7])
	read(blocks[4][7])
	if n := len(r.log()); n != len(blocks) {
		t.Errorf("%d calls; the newest reads ahead should serve with the cache full", n)
	}
	// The oldest made room for them.
	read(blocks[0][7])
	if n := len(r.log()); n != len(blocks)+1 {
		t.Errorf("%d calls; the oldest read ahead should have made room", n)
	}
}

// fullWindow is a Limiter whose window is full until a time: Wait refuses
// with how long is left, as the stores' limiters do when a caller's
// deadline comes first.
type fullWindow struct {
	clk   *stepClock
	until time.Time
	mu    sync.Mutex
	waits int
}

func (l *fullWindow) Wait(context.Context) error {
	l.mu.Lock()
	l.waits++
	l.mu.Unlock()
	if left := l.until.Sub(l.clk.now()); left > 0 {
		return &ThrottledError{RetryAfter: left}
	}
	return nil
}

func (l *fullWindow) Penalize(context.Context, time.Duration) error { return nil }

func (l *fullWindow) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits
}

// countingUpcoming counts the store queries for the accounts due next.
type countingUpcoming struct {
	mu sync.Mutex
	n  int
}

func (u *countingUpcoming) UpcomingAccounts(context.Context, time.Time, int) ([]string, error) {
	u.mu.Lock()
	u.n++
	u.mu.Unlock()
	return []string{"next1", "next2"}, nil
}

func (u *countingUpcoming) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.n
}

// TestPresenceReadsWaitForAClosedBudget: once the shared Graph budget
// refused a read until a time, reads until then are refused at once with
// what is left, without asking the store or the limiter again; after it,
// reads go.
func TestPresenceReadsWaitForAClosedBudget(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	lim := &fullWindow{clk: clk, until: clk.now().Add(12 * time.Second)}
	up := &countingUpcoming{}
	r := &readerLog{shows: map[string]string{"a": "A", "b": "B", "c": "C"}}
	b := &presenceBatcher{reader: r, limiter: lim, window: 0, timeout: time.Minute, upcoming: up, now: clk.now, sleep: func(time.Duration) {}}
	read := func(id string) error {
		t.Helper()
		_, _, err := b.read(context.Background(), id, time.Time{}, nil)
		return err
	}
	var later *RetryLaterError
	if err := read("a"); !errors.As(err, &later) || later.After != 12*time.Second {
		t.Fatalf("first read = %v, want to try again in 12 s", err)
	}
	clk.add(2 * time.Second)
	for _, id := range []string{"b", "c"} {
		if err := read(id); !errors.As(err, &later) || later.After != 10*time.Second || !errors.Is(err, errLimiterWait) {
			t.Fatalf("read %s while the budget is closed = %v, want to try again in 10 s", id, err)
		}
	}
	// The accounts due next are asked for only once the budget lets a call go.
	if n, q := lim.count(), up.count(); n != 1 || q != 0 {
		t.Errorf("%d limiter waits and %d store queries for three reads in a closed budget, want 1 and 0", n, q)
	}
	if n := len(r.log()); n != 0 {
		t.Errorf("%d presence calls while the budget was closed", n)
	}
	clk.add(10 * time.Second)
	if err := read("b"); err != nil {
		t.Fatalf("read after the budget opened: %v", err)
	}
	if n := len(r.log()); n != 1 {
		t.Errorf("%d presence calls after the budget opened, want 1", n)
	}
}

// TestPresenceSharedReadServesOnlyWhenFresh: another replica's read ahead
// stands in for a read only when it is younger than presenceTTL and newer
// than the bridge's last call to the account (with the clock margin);
// otherwise Teams is read.
func TestPresenceSharedReadServesOnlyWhenFresh(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	now := clk.now()
	r := &readerLog{shows: map[string]string{"a": "Read now"}}
	b := &presenceBatcher{reader: r, window: 0, timeout: time.Minute, now: clk.now, sleep: func(time.Duration) {}}
	for _, tc := range []struct {
		name    string
		at      time.Time
		touched time.Time
		serves  bool
	}{
		{"fresh", now.Add(-10 * time.Second), now.Add(-time.Hour), true},
		{"never called", now.Add(-10 * time.Second), time.Time{}, true},
		{"older than presenceTTL", now.Add(-presenceTTL), now.Add(-time.Hour), false},
		{"made before the last call", now.Add(-10 * time.Second), now.Add(-11 * time.Second), false},
		{"within the clock margin of the last call", now.Add(-10 * time.Second), now.Add(-10*time.Second - skewMargin + time.Millisecond), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := len(r.log())
			got, known, err := b.read(context.Background(), "a", tc.touched, &AheadRead{Content: "Shared", Known: true, At: tc.at})
			if err != nil {
				t.Fatal(err)
			}
			want := "Read now"
			if tc.serves {
				want = "Shared"
			}
			if got != want || !known {
				t.Fatalf("read = %q, %v; want %q", got, known, want)
			}
			if read := len(r.log()) - calls; (read == 0) != tc.serves {
				t.Fatalf("%d presence calls, want %d", read, map[bool]int{true: 0, false: 1}[tc.serves])
			}
		})
	}
}
