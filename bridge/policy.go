package bridge

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Action is what a worker does with a user after one attempt.
type Action int

const (
	// Done: the attempt succeeded, or there is nothing to send.
	Done Action = iota + 1
	// Backoff: a transient failure; try again after a growing delay.
	Backoff
	// Snooze: throttled; wait the Retry-After without counting an attempt.
	Snooze
	// Park: a permanent failure; set the user aside until something changes.
	Park
)

func (a Action) String() string {
	switch a {
	case Done:
		return "done"
	case Backoff:
		return "backoff"
	case Snooze:
		return "snooze"
	case Park:
		return "park"
	}
	return "unknown"
}

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// After is the wait before the next attempt (Backoff and Snooze).
	After time.Duration
	// Attempts is the failed-attempt count to record.
	Attempts int
	// Reason is a short, secret-free description for logs and the admin CLI.
	Reason string
}

// RetryPolicy shapes the backoff of transient failures.
type RetryPolicy struct {
	// Base is the first delay; it doubles with each attempt.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
	// MinSnooze is the least wait after a 429 that named none.
	MinSnooze time.Duration
}

// DefaultRetryPolicy starts at 1 s and caps at 1 minute, so that a change
// lands within about a minute of Graph coming back from an outage.
var DefaultRetryPolicy = RetryPolicy{Base: time.Second, Max: time.Minute, MinSnooze: time.Second}

// Decide turns the error of one attempt into what happens next. attempts is
// the number of failed attempts before this one; jitter in [0,1) spreads
// retries of many users apart. A transient failure never gives up: only a
// newer change (or the status's own expiry, which renders as a clear) ends it.
func Decide(err error, attempts int, p RetryPolicy, jitter float64) Decision {
	if err == nil {
		return Decision{Action: Done, Reason: "applied"}
	}
	var thr *ThrottledError
	var perm *PermanentError
	var later *RetryLaterError
	switch {
	case errors.As(err, &later):
		d := later.After
		if d < p.MinSnooze {
			d = p.MinSnooze
		}
		return Decision{Action: Snooze, After: d, Attempts: attempts, Reason: later.Reason}
	case errors.Is(err, ErrUnmapped):
		return Decision{Action: Park, Attempts: attempts, Reason: "unmapped: no Entra user is mapped to this Slack user"}
	case errors.As(err, &thr):
		d := thr.RetryAfter
		if d < p.MinSnooze {
			d = p.MinSnooze
		}
		return Decision{Action: Snooze, After: d, Attempts: attempts, Reason: "throttled by Graph"}
	case errors.As(err, &perm):
		return Decision{Action: Park, Attempts: attempts + 1, Reason: perm.Reason}
	}
	n := attempts + 1
	return Decision{Action: Backoff, After: backoff(n, p, jitter), Attempts: n, Reason: err.Error()}
}

// backoff is the delay before attempt n+1: Base·2^(n-1), capped at Max, with
// "equal jitter" (half fixed, half random) so it never collapses to zero.
func backoff(n int, p RetryPolicy, jitter float64) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	half := d / 2
	return half + time.Duration(float64(half)*jitter)
}

// Reason says why NeedsUpdate decided as it did.
type Reason string

const (
	ReasonNeverApplied Reason = "nothing applied yet"
	ReasonChanged      Reason = "message changed"
	ReasonOtherUser    Reason = "mapped to another Entra user"
	ReasonSame         Reason = "same as applied"
	ReasonExpired      Reason = "applied message already expired in Teams"
)

// NeedsUpdate decides whether Teams must be called to show msg for entraID,
// given what was last applied (nil when nothing was).
func NeedsUpdate(applied *Applied, entraID string, msg Message, now time.Time) (bool, Reason) {
	if applied == nil {
		return true, ReasonNeverApplied
	}
	if applied.EntraID != entraID {
		return true, ReasonOtherUser
	}
	if applied.Message.Equal(msg) {
		return false, ReasonSame
	}
	if msg.Clear() && !applied.Message.Expiry.IsZero() && !applied.Message.Expiry.After(now) {
		return false, ReasonExpired
	}
	return true, ReasonChanged
}

func randJitter() float64 { return rand.Float64() }
