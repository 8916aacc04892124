package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
)

var _ bridge.Limiter = (*Limiter)(nil)

// LimiterConfig sets the shared, adaptive Graph rate.
type LimiterConfig struct {
	// Rate is how many calls per Period the rate starts at (default 1,200,
	// below the 1,500 presence calls / 30 s / app / tenant of Graph's older
	// docs); it never falls below Rate/4.
	Rate int
	// Max is the ceiling the rate may rise to while Graph accepts (default
	// Rate, a fixed rate). Graph's throttling page gives 10,000 / 30 s:
	// https://learn.microsoft.com/graph/throttling-limits
	Max int
	// Period is the window of Rate and Max (default 30 s).
	Period time.Duration
}

// ErrPenalized is wrapped in the *bridge.ThrottledError that Wait returns
// when the wait for the shared limiter would outlast the caller's deadline.
var ErrPenalized = errors.New("graph rate limit: waiting would outlast the deadline")

// Limiter is the adaptive Graph rate shared, through Redis, by every worker
// of every replica: one Lua script per call attempt decides it atomically on
// Redis's clock (the algorithm is described in adaptive.go and
// store/embedded/adaptive.go).
type Limiter struct {
	s   *Store
	cfg LimiterConfig
	// key holds the shared state; acquire and penalize decide on it (the
	// adaptive scripts, or the fixed ones of FixedLimiter).
	key               string
	acquire, penalize *redis.Script
	// err, when set, is returned by every Wait (a limiter built from bad settings).
	err error
}

// NewLimiter returns a limiter that keeps its state in s's Redis, under s's prefix.
func (s *Store) NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Rate <= 0 {
		cfg.Rate = 1200
	}
	if cfg.Period <= 0 {
		cfg.Period = 30 * time.Second
	}
	cfg.Max = max(cfg.Max, cfg.Rate)
	return &Limiter{s: s, cfg: cfg, key: s.limitKey(), acquire: acquireScript, penalize: penalizeScript}
}

// Limit describes the limit in force, for logs.
func (l *Limiter) Limit() string {
	if l.acquire == fixedAcquireScript {
		return fmt.Sprintf("fixed %d/%s", l.cfg.Rate, l.cfg.Period)
	}
	return fmt.Sprintf("adaptive %d..%d/%s", l.cfg.Rate, l.cfg.Max, l.cfg.Period)
}

func (l *Limiter) args(extra ...any) []any {
	return append([]any{l.cfg.Rate, l.cfg.Max, l.cfg.Period.Milliseconds()}, extra...)
}

// keys are the scripts' keys: the state, and for the adaptive Graph rate
// the log of the window's calls (both shared by every namespace).
func (l *Limiter) keys() []string {
	if l.acquire == acquireScript {
		return []string{l.key, l.s.sharedKey("graph", "log"), l.s.sharedKey("graph", "probe")}
	}
	return []string{l.key}
}

// Rate reports the shared rate now in force, in calls per Period.
func (l *Limiter) Rate(ctx context.Context) (float64, error) {
	v, err := l.s.rdb.HGet(ctx, l.key, "rate").Result()
	if errors.Is(err, redis.Nil) {
		return float64(l.cfg.Rate), nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis rate limiter: %w", err)
	}
	return strconv.ParseFloat(v, 64)
}

// Period is the window that Rate counts calls in.
func (l *Limiter) Period() time.Duration { return l.cfg.Period }

// Wait blocks until a Graph call may be made: until any penalty set by
// Penalize (on any replica) has run out and the shared window allows one
// more call. When ctx's deadline comes before that, Wait returns at once
// with a *bridge.ThrottledError that says how long to wait.
func (l *Limiter) Wait(ctx context.Context) error {
	_, _, err := l.wait(ctx, false)
	return err
}

// Acquire is Wait that also returns landed, to call once the call was
// answered: from then on the call counts in the shared window from the
// answer (bridge.Lander). A fixed rate counts calls from when they were
// allowed, and its landed does nothing.
func (l *Limiter) Acquire(ctx context.Context) (func(), error) {
	member, level, err := l.wait(ctx, true)
	if err != nil {
		return nil, err
	}
	if member <= 0 || l.acquire != acquireScript {
		return func() {}, nil
	}
	return func() { l.landed(member, level) }, nil
}

// wait is Wait; it returns the call's member in the window's log (0 when it
// has none) and, for a probe, the calls its window holds with it (0 for
// none). lands says the caller reports the answer.
func (l *Limiter) wait(ctx context.Context, lands bool) (member, level int64, err error) {
	if l.err != nil {
		return 0, 0, l.err
	}
	epoch := "" // of the slot reserved, "" for none
	var reservedEp int64
	reports := "0"
	if lands {
		reports = "1"
	}
	for {
		res, err := l.acquire.Run(ctx, l.s.rdb, l.keys(), l.args(epoch, reports)...).Int64Slice()
		if err != nil {
			if epoch != "" {
				l.giveBack(reservedEp, member) // the reserved slot was not confirmed
			}
			return 0, 0, fmt.Errorf("redis rate limiter: %w", err)
		}
		if len(res) < 4 {
			return 0, 0, fmt.Errorf("redis rate limiter: unexpected answer %v", res)
		}
		kind, waitUs := res[0], res[1]
		lvl := int64(0)
		if len(res) > 4 {
			lvl = res[4]
		}
		poll := time.Duration(0)
		if kind == 3 {
			poll = l.cfg.Period / 30
		}
		switch kind {
		case 0:
			if res[3] > 0 {
				member, level = res[3], lvl
			}
			return member, level, nil
		case 1:
			// A slot is reserved: wait for it, then confirm that no
			// penalty came meanwhile.
			reservedEp, epoch = res[2], strconv.FormatInt(res[2], 10)
			member, level = res[3], lvl
		default:
			epoch, member, level = "", 0, 0
		}
		if err := sleep(ctx, time.Duration(waitUs)*time.Microsecond, poll); err != nil {
			if kind == 1 {
				l.giveBack(res[2], res[3])
			}
			return 0, 0, err
		}
	}
}

// landed moves an answered call's entry in the window's log to now; a
// failure only leaves it counted from when it was allowed.
func (l *Limiter) landed(member, level int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = landedScript.Run(ctx, l.s.rdb, l.keys(), member, level).Err()
}

// giveBack returns a reserved slot whose caller gave up; a failure only
// leaves the slot unused until it leaves the window.
func (l *Limiter) giveBack(epoch, member int64) {
	if l.acquire != acquireScript {
		return // a fixed rate reserves no slot in a log
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = giveBackScript.Run(ctx, l.s.rdb, l.keys(), epoch, member).Err()
}

// sleep waits for d (at most poll, when poll > 0) or until ctx ends; it
// returns a *bridge.ThrottledError at once when ctx's deadline comes before d.
func sleep(ctx context.Context, d, poll time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return &bridge.ThrottledError{RetryAfter: d, Err: ErrPenalized}
	}
	if poll > 0 {
		d = min(d, poll)
	}
	return bridge.Sleep(ctx, d)
}

// Penalize makes every replica's Wait hold off for d (Graph's Retry-After)
// and settles the shared rate below what the window held; it never shortens
// a longer penalty already in force, and 429s that arrive while a penalty
// runs settle the rate only once.
func (l *Limiter) Penalize(ctx context.Context, d time.Duration) error {
	msd := d.Milliseconds()
	if l.err != nil {
		return l.err
	}
	if msd <= 0 {
		return nil
	}
	if err := l.penalize.Run(ctx, l.s.rdb, l.keys(), l.args(strconv.FormatInt(msd, 10))...).Err(); err != nil {
		return fmt.Errorf("redis rate limiter: %w", err)
	}
	return nil
}
