package embedded

import (
	"math"
	"slices"
	"sort"
	"time"
)

// The adaptive Graph rate. Both stores run this algorithm: the embedded
// store here in process, the Redis store as one Lua script per call
// (store/redisstore/adaptive.go) so that every replica shares one state.
//
// Graph throttles presence calls with a sliding window: at most the
// tenant's limit in any 30 s (https://learn.microsoft.com/graph/throttling-limits).
// The limiter keeps the same kind of window over its own calls, so sending a
// whole window's allowance at once is allowed, and a call waits only until
// an earlier one has left the window.
//
//   - The window is one period plus a guard of 2 % (clock differences
//     between the limiter and Graph). Every call, and every slot reserved
//     for a call a little ahead, is logged; no window holds more calls than
//     the rate in force. A call that was answered is logged from its answer
//     (Graph counted it from its arrival, in between), so however long the
//     first calls of a burst took on their way, the next window opens no
//     earlier than Graph's.
//   - The rate starts at the configured rate (STATUSBRIDGE_GRAPH_RATE) and
//     stays between a floor of a quarter of it and the ceiling
//     (STATUSBRIDGE_GRAPH_RATE_MAX).
//   - Slow start: until a 429 has been seen, the rate grows while the
//     window is full (callers wait): it doubles every 25 answer times (the
//     average time from a call's slot to its answer), within 1/20 and 1/4 of
//     the period, and every quarter period until a call was answered.
//     Growth is continuous, so the calls past the limit come one at a time;
//     those the rate grows by while the first 429 is on its way back, about
//     rate × ln 2 / 25, stay under 3 % of the limit. With Graph answering in
//     0.2 s a 30 s window doubles every 5 s; a fast answer doubles it every
//     1.5 s and finds a large tenant's limit within about half a period.
//   - However the answers slow down, a limit costs no more 429s than that:
//     a call that finds the window at or past the level Graph is known to
//     take (the start, then the most calls a window held when one of them
//     was answered) is a probe, and no more than 2.8 % of the rate of probes
//     may be unanswered at once. The first 429 is then among them, and the
//     others in flight with it are all a limit can cost. A caller over that
//     waits about one answer time and asks again. A probe unanswered after a
//     tenth of a period no longer counts (its caller gave up or crashed).
//     Only calls whose answers are reported (Acquire, not Wait) are probes;
//     the bridge reports a 429 only after the Penalize it causes, so a
//     refused probe frees no room and teaches no level.
//   - A 429 (Penalize with Retry-After d) stops every call for d, voids the
//     slots reserved ahead, and settles the rate at 0.9 of the calls the
//     window held (what Graph took before it refused); 429s that arrive
//     while that penalty runs are the same event. The window's log is kept,
//     so calls resume only as far as the window has room.
//   - After a 429 the rate probes upwards slowly: by 3 % of that level per
//     busy period. Once it passes 1.1 times the level of the last 429 with
//     no new one, the tenant's limit was raised: slow start resumes.
//   - Idle time raises nothing, so a quiet night does not unlearn the limit.
const (
	guardShare    = 0.02  // the window is period × (1 + guardShare)
	doublingPart  = 20    // slow start doubles at most every period/doublingPart,
	slowPart      = 4     // at least every period/slowPart,
	answerTimes   = 25    // and otherwise every answerTimes answer times
	latWeight     = 0.2   // the answer time is an average with this weight on the newest
	probeShare    = 0.03  // additive growth per busy period, of the last 429's level
	settleShare   = 0.9   // the rate after a 429, of the calls the window held
	forgetKnown   = 1.1   // past this multiple of the last 429's level, forget it
	floorShare    = 0.25  // the rate never falls below this share of the start
	horizonPart   = 30    // slots are reserved at most period/horizonPart ahead
	growCapPart   = 20    // one evaluation credits at most period/growCapPart of growth
	probeCapShare = 0.028 // unanswered probes at most, of the rate
	probeAgePart  = 10    // a probe older than period/probeAgePart no longer counts
	probeWaitMin  = 300   // a caller over the probes waits at least period/probeWaitMin
)

// grant is what acquire decides for one call.
type grant int

const (
	goNow     grant = iota // make the call now
	reserved               // a slot is reserved: wait, then confirm with the epoch
	penalized              // a Retry-After runs: wait it out, then ask again
	full                   // the window is full for this long: ask again within pollEvery
)

// adaptive is the state of one adaptive Graph rate; its methods are pure
// functions of the state and the time they are given.
type adaptive struct {
	start, ceiling float64 // calls per period; start <= 0 means no limit
	period         time.Duration

	rate  float64       // current calls per period
	log   []time.Time   // calls and reserved slots in the window, ascending
	busy  bool          // the window was full at the last decision
	grew  time.Time     // when growth was last credited
	known float64       // calls the window held at the last 429, 0 when none
	until time.Time     // no call before this (a Retry-After)
	epoch int64         // bumped by every penalty; voids reservations
	lat   time.Duration // average time from a call's slot to its answer; 0 until one landed
	// sure is the most calls a window is known to take: the start, then
	// the most a window held when a call of it was answered.
	sure float64
	// probes are the calls made in slow start with the window at or past
	// sure that are not answered yet, by slot, ascending.
	probes []probe
}

// probe is an unanswered call past the level Graph is known to take: its
// slot, and the calls its window held with it.
type probe struct {
	x     time.Time
	level int
}

func newAdaptive(start, ceiling int, per time.Duration) *adaptive {
	a := &adaptive{start: float64(start), ceiling: float64(max(start, ceiling)), period: per}
	if start <= 0 || per <= 0 {
		a.start = 0
	}
	a.rate, a.sure = a.start, a.start
	return a
}

func (a *adaptive) floor() float64 { return math.Max(1, a.start*floorShare) }

// window is the span a call counts in: the period and its guard.
func (a *adaptive) window() time.Duration {
	return a.period + time.Duration(float64(a.period)*guardShare)
}

// prune drops the calls that have left the window at now.
func (a *adaptive) prune(now time.Time) {
	cut := now.Add(-a.window())
	i := 0
	for i < len(a.log) && !a.log[i].After(cut) {
		i++
	}
	if i > 0 {
		a.log = append(a.log[:0], a.log[i:]...)
	}
}

// grow credits the rate with the growth of the time since it was last
// credited, when the window was full then and still is.
func (a *adaptive) grow(now time.Time) {
	if a.busy && len(a.log) >= int(a.rate) && !a.grew.IsZero() && now.After(a.grew) {
		dt := min(now.Sub(a.grew), a.period/growCapPart)
		if a.known == 0 {
			a.rate *= math.Exp2(float64(dt) / float64(a.doubling()))
		} else {
			a.rate += a.probeStep() * float64(dt) / float64(a.period)
		}
		a.rate = math.Min(a.ceiling, a.rate)
		if a.known > 0 && a.rate > forgetKnown*a.known {
			a.known, a.sure = 0, a.rate
		}
	}
	a.grew = now
}

// doubling is how long slow start takes to double the rate. The calls past
// Graph's limit are those the rate grew by while the first 429 was on its
// way back, about rate × ln 2 × answer time / doubling: doubling every 25
// answer times keeps them under 3 % of the limit. Until a call was
// answered, and never slower than that, it doubles every quarter period;
// never faster than every 1/20 period.
func (a *adaptive) doubling() time.Duration {
	if a.lat <= 0 {
		return a.period / slowPart
	}
	return min(a.period/slowPart, max(a.period/doublingPart, answerTimes*a.lat))
}

func (a *adaptive) probeStep() float64 { return probeShare * math.Max(a.known, a.start) }

// growthTime is how long the rate needs, while busy, to allow n calls; ok
// is false when it never will (the ceiling).
func (a *adaptive) growthTime(n float64) (time.Duration, bool) {
	if n > a.ceiling {
		return 0, false
	}
	if n <= a.rate {
		return 0, true
	}
	if a.known == 0 {
		return time.Duration(math.Log2(n/a.rate) * float64(a.doubling())), true
	}
	return time.Duration((n - a.rate) / a.probeStep() * float64(a.period)), true
}

// probeCap is how many probes may be unanswered at once.
func (a *adaptive) probeCap() int { return max(1, int(probeCapShare*a.rate)) }

// probeWait is how long a caller over the probes waits before asking again:
// about one answer time.
func (a *adaptive) probeWait() time.Duration {
	return min(a.pollEvery(), max(a.period/probeWaitMin, a.lat))
}

// dropProbe forgets the probe of slot x that made its window hold level
// calls (several calls may share a slot); it reports whether there was one.
func (a *adaptive) dropProbe(x time.Time, level int) bool {
	if level <= 0 {
		return false
	}
	j, _ := slices.BinarySearchFunc(a.probes, x, func(p probe, x time.Time) int { return p.x.Compare(x) })
	for ; j < len(a.probes) && a.probes[j].x.Equal(x); j++ {
		if a.probes[j].level == level {
			a.probes = slices.Delete(a.probes, j, j+1)
			return true
		}
	}
	return false
}

// acquire is acquireLevel without the probe's level.
func (a *adaptive) acquire(now time.Time, epoch int64, lands bool) (grant, time.Duration, int64, time.Time) {
	g, d, ep, x, _ := a.acquireLevel(now, epoch, lands)
	return g, d, ep, x
}

// acquireLevel decides one call at now. epoch >= 0 confirms a slot reserved
// earlier with that epoch; lands says the caller reports the answer
// (landed), so that a probe it makes can be counted until then. It returns
// the decision, how long to wait, the epoch to confirm a reservation with,
// the reserved slot, and for a probe the calls its window holds with it (0
// for a call that is none), for landed and giveBack.
func (a *adaptive) acquireLevel(now time.Time, epoch int64, lands bool) (grant, time.Duration, int64, time.Time, int) {
	if now.Before(a.until) {
		return penalized, a.until.Sub(now), a.epoch, time.Time{}, 0
	}
	if epoch >= 0 && epoch == a.epoch {
		return goNow, 0, a.epoch, time.Time{}, 0
	}
	if a.start <= 0 {
		return goNow, 0, a.epoch, time.Time{}, 0
	}
	a.rate = math.Min(a.ceiling, math.Max(a.floor(), a.rate))
	a.prune(now)
	a.grow(now)
	cut0 := now.Add(-a.period / probeAgePart)
	k := 0
	for k < len(a.probes) && !a.probes[k].x.After(cut0) {
		k++
	}
	a.probes = a.probes[k:]

	// The earliest slot: after every logged call, where the window has
	// room, either because old calls left it or because the rate grew.
	x0 := now
	if n := len(a.log); n > 0 && a.log[n-1].After(x0) {
		x0 = a.log[n-1]
	}
	cut := x0.Add(-a.window())
	i := 0
	for i < len(a.log) && !a.log[i].After(cut) {
		i++
	}
	n := len(a.log) - i
	limit := max(1, int(a.rate))
	x := x0
	level := n + 1 // the calls the window holds at x with this one
	if n >= limit {
		// Where an old call leaves the window, it holds limit calls.
		x, level = a.log[i+n-limit].Add(a.window()), limit
		if g, ok := a.growthTime(float64(n + 1)); ok {
			if at := now.Add(g); at.Before(x) {
				x, level = at, n+1
				if x.Before(x0) {
					x = x0
				}
			}
		}
	}
	a.busy = n+1 >= limit
	isProbe := lands && a.known == 0 && float64(level) > a.sure
	if isProbe && len(a.probes) >= a.probeCap() {
		a.busy = true
		return full, a.probeWait(), a.epoch, time.Time{}, 0
	}
	if x.Sub(now) > a.pollEvery() {
		a.busy = true
		return full, x.Sub(now), a.epoch, time.Time{}, 0
	}
	a.log = append(a.log, x)
	if !isProbe {
		level = 0
	} else {
		a.probes = append(a.probes, probe{x: x, level: level}) // x is after every slot logged before
	}
	if !x.After(now) {
		return goNow, 0, a.epoch, x, level
	}
	return reserved, x.Sub(now), a.epoch, x, level
}

// landed records that the call allowed at slot x was answered at now: it
// counts in the window from now on (never back). A slot that left the
// window, or that a penalty voided, stays gone.
func (a *adaptive) landed(x time.Time, level int, now time.Time) {
	probe := a.dropProbe(x, level)
	j, found := slices.BinarySearchFunc(a.log, x, time.Time.Compare)
	if found && probe {
		// Graph took the probe with level calls in its window.
		a.sure = math.Max(a.sure, float64(level))
	}
	if !found || !now.After(x) {
		return
	}
	if took := now.Sub(x); a.lat <= 0 {
		a.lat = took
	} else {
		a.lat = time.Duration(latWeight*float64(took) + (1-latWeight)*float64(a.lat))
	}
	a.log = slices.Delete(a.log, j, j+1)
	k := sort.Search(len(a.log), func(i int) bool { return a.log[i].After(now) })
	a.log = slices.Insert(a.log, k, now)
}

// pollEvery is how far ahead a slot is reserved, and how often a caller
// with none asks again (the rate may have grown meanwhile).
func (a *adaptive) pollEvery() time.Duration { return a.period / horizonPart }

// giveBack returns a slot reserved at x with epoch ep (and level, for a
// probe) whose caller gave up.
func (a *adaptive) giveBack(x time.Time, level int, ep int64) {
	if ep != a.epoch {
		return
	}
	a.dropProbe(x, level)
	for j := len(a.log) - 1; j >= 0; j-- {
		if a.log[j].Equal(x) {
			a.log = append(a.log[:j], a.log[j+1:]...)
			return
		}
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
	if a.start <= 0 {
		return
	}
	// Slots reserved ahead are void: their callers ask again.
	j := len(a.log)
	for j > 0 && a.log[j-1].After(now) {
		j--
	}
	a.log = a.log[:j]
	a.probes = a.probes[:0]
	a.busy, a.grew = false, time.Time{}
	if same {
		return
	}
	a.prune(now)
	held := float64(len(a.log))
	a.known = math.Max(held, a.floor())
	a.rate = math.Min(a.ceiling, math.Max(a.floor(), settleShare*held))
	a.sure = math.Min(a.sure, a.rate)
}
