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
// it keeps every window of one period within the rate, raises the rate
// while Graph accepts, settles it on a 429 and makes no call at all while a
// Retry-After runs. The
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

// Rate reports the rate now in force, in calls per Period (0 when
// unlimited); it never fails, and has the Redis store's signature.
func (l *Limiter) Rate(context.Context) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.a.rate, nil
}

// Period is the window that Rate counts calls in.
func (l *Limiter) Period() time.Duration { return l.a.period }

// Wait blocks until a call may be made: until any penalty has run out and
// the window allows one more call. When ctx's deadline comes before that,
// Wait returns at once with a *bridge.ThrottledError that says how long to
// wait.
func (l *Limiter) Wait(ctx context.Context) error {
	_, _, err := l.wait(ctx, false)
	return err
}

// Acquire is Wait that also returns landed, to call once the call was
// answered: from then on the call counts in the window from the answer
// (bridge.Lander).
func (l *Limiter) Acquire(ctx context.Context) (func(), error) {
	slot, level, err := l.wait(ctx, true)
	if err != nil {
		return nil, err
	}
	if slot.IsZero() {
		return func() {}, nil
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.a.landed(slot, level, l.Now())
	}, nil
}

// wait is Wait; it returns the call's slot in the window's log (zero when
// it has none: no limit) and, for a probe, the calls its window holds with
// it (0 for none). lands says the caller reports the answer.
func (l *Limiter) wait(ctx context.Context, lands bool) (time.Time, int, error) {
	epoch := int64(-1)
	var mine time.Time
	var level int
	for {
		if err := ctx.Err(); err != nil {
			if epoch >= 0 {
				l.giveBack(reserved, mine, level, epoch) // not confirmed: give it back
			}
			return time.Time{}, 0, err
		}
		l.mu.Lock()
		g, d, ep, slot, lvl := l.a.acquireLevel(l.Now(), epoch, lands)
		l.mu.Unlock()
		switch g {
		case goNow:
			if !slot.IsZero() {
				mine, level = slot, lvl
			}
			return mine, level, nil
		case reserved:
			epoch, mine, level = ep, slot, lvl
		default:
			epoch, mine, level = -1, time.Time{}, 0
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(l.Now()) < d {
			l.giveBack(g, slot, lvl, ep)
			return time.Time{}, 0, &bridge.ThrottledError{RetryAfter: d, Err: ErrPenalized}
		}
		if g == full {
			d = min(d, l.a.pollEvery())
		}
		select {
		case <-l.after(d):
		case <-ctx.Done():
			l.giveBack(g, slot, lvl, ep)
			return time.Time{}, 0, ctx.Err()
		}
	}
}

// giveBack returns a slot reserved by a Wait that fails, unless a penalty
// voided it already.
func (l *Limiter) giveBack(g grant, slot time.Time, level int, ep int64) {
	if g != reserved {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.giveBack(slot, level, ep)
}

// Penalize stops all calls for d (Graph's Retry-After) and cuts the rate; it
// never shortens a longer penalty already in force.
func (l *Limiter) Penalize(_ context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.a.penalize(l.Now(), d)
	return nil
}
