package embedded

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// ErrPenalized is wrapped in the *bridge.ThrottledError that Wait returns
// when the wait for the limiter would outlast the caller's deadline.
var ErrPenalized = errors.New("graph rate limit: waiting would outlast the deadline")

// Limiter is the embedded store's adaptive Graph rate (see adaptive.go):
// it spaces calls within one process, raises the rate while Graph accepts,
// cuts it on a 429 and makes no call at all while a Retry-After runs. The
// embedded store has a single serve process, so the rate need not be shared.
type Limiter struct {
	// Now is the clock; it defaults to time.Now. Set it before first use.
	Now func() time.Time
	// after waits for d; it defaults to time.After (tests replace it).
	after func(d time.Duration) <-chan time.Time

	mu sync.Mutex
	a  *adaptive
}

var _ bridge.Limiter = (*Limiter)(nil)

// NewLimiter returns a limiter of a fixed limit calls per period; limit <= 0
// means no limit (a Penalize still holds calls back).
func NewLimiter(limit int, per time.Duration) *Limiter {
	return NewAdaptiveLimiter(limit, limit, per)
}

// NewAdaptiveLimiter returns a limiter that starts at start calls per period
// and finds Graph's limit between start/4 and ceiling.
func NewAdaptiveLimiter(start, ceiling int, per time.Duration) *Limiter {
	return &Limiter{Now: time.Now, after: time.After, a: newAdaptive(start, ceiling, per)}
}

// Limiter returns the store's one in-process Graph rate limiter (see
// WithRate); every caller shares its budget.
func (s *Store) Limiter() bridge.Limiter { return s.limiter }

// Rate reports the current rate in calls per period (0 when unlimited).
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.a.rate
}

// Wait blocks until a call may be made: until any penalty has run out and
// the rate allows one more call. When ctx's deadline comes before that, Wait
// returns at once with a *bridge.ThrottledError that says how long to wait.
func (l *Limiter) Wait(ctx context.Context) error {
	epoch := int64(-1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		prev := l.a.tat
		g, d, ep := l.a.acquire(l.Now(), epoch)
		next := l.a.tat
		l.mu.Unlock()
		switch g {
		case goNow:
			return nil
		case reserved:
			epoch = ep
		default:
			epoch = -1
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(l.Now()) < d {
			l.giveBack(g, ep, prev, next)
			return &bridge.ThrottledError{RetryAfter: d, Err: ErrPenalized}
		}
		select {
		case <-l.after(d):
		case <-ctx.Done():
			l.giveBack(g, ep, prev, next)
			return ctx.Err()
		}
	}
}

// giveBack returns a slot reserved by a Wait that fails, unless a later
// call reserved after it or a penalty moved every slot.
func (l *Limiter) giveBack(g grant, ep int64, prev, next time.Time) {
	if g != reserved {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.a.epoch == ep && l.a.tat.Equal(next) {
		l.a.tat = prev
		l.a.used--
	}
}

// Penalize stops all calls for d (Graph's Retry-After) and cuts the rate; it
// never shortens a longer penalty already in force.
func (l *Limiter) Penalize(_ context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.penalize(l.Now(), d)
	return nil
}
