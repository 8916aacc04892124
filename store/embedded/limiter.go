package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// Limiter spaces Graph calls within one process: at most limit calls per
// period, evenly spaced (GCRA), and none at all while a Retry-After runs. The
// embedded store has a single serve process, so the limit need not be shared.
type Limiter struct {
	// Now is the clock; it defaults to time.Now. Set it before first use.
	Now func() time.Time
	// after waits for d; it defaults to time.After (tests replace it).
	after func(d time.Duration) <-chan time.Time

	mu       sync.Mutex
	interval time.Duration // between two calls
	tat      time.Time     // theoretical arrival time of the next call
	blocked  time.Time     // no call before this (Penalize)
}

var _ bridge.Limiter = (*Limiter)(nil)

// NewLimiter returns a limiter of limit calls per period; limit <= 0 means no limit.
func NewLimiter(limit int, per time.Duration) *Limiter {
	l := &Limiter{Now: time.Now, after: time.After}
	if limit > 0 && per > 0 {
		l.interval = per / time.Duration(limit)
		if l.interval <= 0 {
			l.interval = time.Nanosecond
		}
	}
	return l
}

// Limiter returns the store's one in-process Graph rate limiter (see
// WithRate); every caller shares its budget.
func (s *Store) Limiter() bridge.Limiter { return s.limiter }

// Wait blocks until a call may be made; it fails at once when the wait would
// outlast ctx's deadline, and gives the reserved slot back when it fails.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.Now()
	at := l.tat
	if at.Before(now) {
		at = now
	}
	next := at.Add(l.interval)
	if d, ok := ctx.Deadline(); ok && at.After(d) {
		l.mu.Unlock()
		return fmt.Errorf("graph rate limit: next call at %s is past the deadline", at.UTC().Format(time.RFC3339))
	}
	l.tat = next
	l.mu.Unlock()

	for wait := at.Sub(now); wait > 0; {
		select {
		case <-l.after(wait):
		case <-ctx.Done():
			l.mu.Lock()
			// Give the slot back unless a later call reserved after it.
			if l.tat.Equal(next) {
				l.tat = at
			}
			l.mu.Unlock()
			return ctx.Err()
		}
		// A Penalize while this call waited holds it back too.
		l.mu.Lock()
		wait = l.blocked.Sub(l.Now())
		l.mu.Unlock()
	}
	return nil
}

// Penalize stops all calls for d (a Retry-After); afterwards calls resume one
// interval apart.
func (l *Limiter) Penalize(_ context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until := l.Now().Add(d)
	if l.blocked.Before(until) {
		l.blocked = until
	}
	if l.tat.Before(until) {
		l.tat = until
	}
	return nil
}
