package embedded

import (
	"math"
	"time"
)

// The adaptive Graph rate. Both stores run this algorithm: the embedded
// store here in process, the Redis store as one Lua script per call
// (store/redisstore/adaptive.go) so that every replica shares one state.
//
//   - The rate starts at the configured rate (STATUSBRIDGE_GRAPH_RATE) and
//     stays between a floor of a quarter of it and the ceiling
//     (STATUSBRIDGE_GRAPH_RATE_MAX).
//   - Calls are spaced by GCRA with a burst of rate/20 (at least 1), and the
//     spacing is chosen so that no window of one period holds more calls than
//     the current rate, burst included.
//   - Time is cut into ticks of a quarter period. A tick that used at least
//     half its share of the rate, with no 429, raises the rate: by 2^(1/4)
//     (doubling per busy period) until a 429 has been seen, then the same up
//     to 0.9 of the rate at the last 429, and by 2.5 % per tick (about 10 %
//     per period) above that. Idle ticks raise nothing, so a quiet night does
//     not unlearn the limit.
//   - A 429 (Penalize with Retry-After d) stops every call for d and cuts the
//     rate to 0.7 of what it was; 429s that arrive while that penalty runs are
//     the same event and cut nothing more. When the penalty ends calls resume
//     one interval apart, without a burst. Once the rate climbs past 1.5
//     times the rate of the last 429, that 429 is forgotten and doubling
//     resumes (the tenant's limit was raised).
const (
	ticksPerPeriod = 4
	growFast       = 1.189207115002721 // 2^(1/4): doubles per busy period
	growSlow       = 1.025
	nearKnown      = 0.9
	forgetKnown    = 1.5
	cutFactor      = 0.7
	floorShare     = 0.25
	burstShare     = 20
)

// grant is what acquire decides for one call.
type grant int

const (
	goNow     grant = iota // make the call now
	reserved               // a slot is reserved: wait, then confirm with the epoch
	penalized              // Graph asked every caller to hold off: wait, then ask again
)

// adaptive is the state of one adaptive Graph rate; its methods are pure
// functions of the state and the time they are given.
type adaptive struct {
	start, ceiling float64 // calls per period; start <= 0 means no limit
	period         time.Duration

	rate  float64   // current calls per period
	tat   time.Time // GCRA theoretical arrival time
	tick  time.Time // start of the current tick
	used  float64   // calls granted in the current tick
	known float64   // rate in force at the last 429, 0 when none
	until time.Time // no call before this (a Retry-After)
	epoch int64     // bumped by every penalty; invalidates reservations
}

func newAdaptive(start, ceiling int, per time.Duration) *adaptive {
	a := &adaptive{start: float64(start), ceiling: float64(max(start, ceiling)), period: per}
	if start <= 0 || per <= 0 {
		a.start = 0
	}
	a.rate = a.start
	return a
}

func (a *adaptive) floor() float64 { return math.Max(1, a.start*floorShare) }

// spacing returns the emission interval and the burst at the current rate:
// burst calls at once, then one per interval, never more than rate calls in
// any window of one period.
func (a *adaptive) spacing() (time.Duration, int) {
	b := max(1, int(a.rate/burstShare))
	n := a.rate
	if b > 1 {
		n -= float64(b)
	}
	return time.Duration(float64(a.period) / n), b
}

// acquire decides one call at now. epoch >= 0 confirms a slot reserved
// earlier with that epoch. It returns the decision, how long to wait, and
// the epoch to confirm a reservation with.
func (a *adaptive) acquire(now time.Time, epoch int64) (grant, time.Duration, int64) {
	if now.Before(a.until) {
		return penalized, a.until.Sub(now), a.epoch
	}
	if epoch >= 0 && epoch == a.epoch {
		return goNow, 0, a.epoch
	}
	if a.start <= 0 {
		return goNow, 0, a.epoch
	}
	a.rate = math.Min(a.ceiling, math.Max(a.floor(), a.rate))
	if a.tick.IsZero() {
		a.tick = now
	}
	if tl := a.period / ticksPerPeriod; now.Sub(a.tick) >= tl {
		if a.used >= a.rate/ticksPerPeriod/2 {
			a.raise()
		}
		a.tick, a.used = now, 0
	}
	t, b := a.spacing()
	t0 := a.tat
	if t0.Before(now) {
		t0 = now
	}
	at := t0.Add(-time.Duration(b-1) * t)
	a.tat = t0.Add(t)
	a.used++
	if !at.After(now) {
		return goNow, 0, a.epoch
	}
	return reserved, at.Sub(now), a.epoch
}

func (a *adaptive) raise() {
	g := growFast
	if a.known > 0 && a.rate >= nearKnown*a.known {
		g = growSlow
	}
	a.rate = math.Min(a.ceiling, a.rate*g)
	if a.known > 0 && a.rate > forgetKnown*a.known {
		a.known = 0
	}
}

// penalize records a 429 with Retry-After d at now.
func (a *adaptive) penalize(now time.Time, d time.Duration) {
	if d <= 0 {
		return
	}
	end := now.Add(d)
	same := now.Before(a.until)
	if end.After(a.until) {
		a.until = end
	}
	a.epoch++
	if a.start > 0 && !same {
		a.known = a.rate
		a.rate = math.Max(a.floor(), a.rate*cutFactor)
	}
	if a.start <= 0 {
		return
	}
	// Resume one interval apart after the penalty, without a burst.
	t, b := a.spacing()
	if resume := a.until.Add(time.Duration(b-1) * t); a.tat.Before(resume) {
		a.tat = resume
	}
	a.tick, a.used = a.until, 0
}
