package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// fixedState is the shared state of one fixed rate: every FixedLimiter of
// one name (of the store and its namespaces) spaces calls through it.
type fixedState struct {
	mu    sync.Mutex
	tat   time.Time // GCRA theoretical arrival time: the next free slot
	until time.Time // no call before this (a Retry-After)
	epoch int64     // bumped by every penalty; invalidates reserved slots
}

// fixedLimiter is one client of a fixed rate.
type fixedLimiter struct {
	st       *fixedState
	interval time.Duration
	// err, when set, is returned by every Wait (bad settings).
	err error
}

// FixedLimiter returns a client of the fixed rate name: n calls per per,
// spread evenly (no burst beyond one call), shared in process by every
// client of that name, the store's namespaces included. A Penalize holds
// back every client of name; the rate never changes, and the Graph limiter
// (Limiter) is apart. With n or per not positive, or no name, every Wait
// fails with an error that says so.
func (s *Store) FixedLimiter(name string, n int, per time.Duration) bridge.Limiter {
	if name == "" || n <= 0 || per <= 0 {
		return &fixedLimiter{err: fmt.Errorf("fixed rate limit %q: want a name and a positive rate per positive period, got %d per %s", name, n, per)}
	}
	root := s
	if s.parent != nil {
		root = s.parent
	}
	root.fixedMu.Lock()
	defer root.fixedMu.Unlock()
	st := root.fixed[name]
	if st == nil {
		if root.fixed == nil {
			root.fixed = make(map[string]*fixedState)
		}
		st = &fixedState{}
		root.fixed[name] = st
	}
	return &fixedLimiter{st: st, interval: per / time.Duration(n)}
}

// acquire decides one call at now; epoch >= 0 confirms a slot reserved
// earlier with that epoch. It returns how long to wait (0: call now) and the
// epoch to confirm a reservation with (-1: ask again).
func (l *fixedLimiter) acquire(now time.Time, epoch int64) (time.Duration, int64) {
	st := l.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Before(st.until) {
		return st.until.Sub(now), -1
	}
	if epoch >= 0 && epoch == st.epoch {
		return 0, st.epoch
	}
	at := st.tat
	if at.Before(now) {
		at = now
	}
	st.tat = at.Add(l.interval)
	return at.Sub(now), st.epoch
}

// Wait blocks until a call may be made: until any penalty has run out and
// the rate allows one more call. When ctx's deadline comes before that, Wait
// returns at once with a *bridge.ThrottledError that says how long to wait.
func (l *fixedLimiter) Wait(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	epoch := int64(-1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		d, ep := l.acquire(now, epoch)
		if d <= 0 {
			return nil
		}
		epoch = ep
		if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < d {
			return &bridge.ThrottledError{RetryAfter: d, Err: ErrPenalized}
		}
		if err := bridge.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Penalize holds back every client of the rate for d (Retry-After); it
// never shortens a longer penalty already in force, and calls then resume
// one at a time.
func (l *fixedLimiter) Penalize(_ context.Context, d time.Duration) error {
	if l.err != nil {
		return l.err
	}
	if d <= 0 {
		return nil
	}
	st := l.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if end := time.Now().Add(d); end.After(st.until) {
		st.until = end
	}
	st.epoch++
	if st.tat.Before(st.until) {
		st.tat = st.until
	}
	return nil
}
