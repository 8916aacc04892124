package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/statusbridge/statusbridge/bridge"
)

var _ bridge.Limiter = (*Limiter)(nil)

// LimiterConfig sets the shared Graph rate limit.
type LimiterConfig struct {
	// Rate is how many calls may be made per Period (default 1,200, safely
	// below Graph's documented 1,500 presence calls / 30 s / app / tenant:
	// https://learn.microsoft.com/graph/throttling-limits).
	Rate int
	// Period is the window of Rate (default 30 s).
	Period time.Duration
	// Burst is how many calls may be made at once after a quiet spell
	// (default Rate/10). In any window of one Period at most Rate+Burst calls
	// are made, so keep Rate+Burst below Graph's limit.
	Burst int
}

// ErrPenalized is wrapped in the *bridge.ThrottledError that Wait returns
// when the wait for the shared limiter would outlast the caller's deadline.
var ErrPenalized = errors.New("graph rate limit: waiting would outlast the deadline")

// Limiter is a GCRA rate limiter for Graph calls shared, through Redis, by
// every worker of every replica.
type Limiter struct {
	s     *Store
	gcra  *redis_rate.Limiter
	limit redis_rate.Limit
}

// NewLimiter returns a limiter that keeps its state in s's Redis, under s's prefix.
func (s *Store) NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Rate <= 0 {
		cfg.Rate = 1200
	}
	if cfg.Period <= 0 {
		cfg.Period = 30 * time.Second
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, cfg.Rate/10)
	}
	return &Limiter{
		s:     s,
		gcra:  redis_rate.NewLimiter(s.rdb),
		limit: redis_rate.Limit{Rate: cfg.Rate, Period: cfg.Period, Burst: cfg.Burst},
	}
}

// Limit describes the limit in force, for logs.
func (l *Limiter) Limit() string { return l.limit.String() }

// Wait blocks until a Graph call may be made: until any penalty set by
// Penalize (on any replica) has run out and the rate allows one more call.
// When ctx's deadline comes before that, Wait returns at once with a
// *bridge.ThrottledError that says how long to wait.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		pttl, err := l.s.rdb.PTTL(ctx, l.s.penaltyKey()).Result()
		if err != nil {
			return fmt.Errorf("redis rate limiter: %w", err)
		}
		if pttl > 0 {
			if err := sleep(ctx, pttl); err != nil {
				return err
			}
			continue
		}
		res, err := l.gcra.Allow(ctx, l.s.rateKey(), l.limit)
		if err != nil {
			return fmt.Errorf("redis rate limiter: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		if err := sleep(ctx, max(res.RetryAfter, time.Millisecond)); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends; it returns a *bridge.ThrottledError at
// once when ctx's deadline comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return &bridge.ThrottledError{RetryAfter: d, Err: ErrPenalized}
	}
	return bridge.Sleep(ctx, d)
}

// Penalize makes every replica's Wait hold off for d (Graph's Retry-After);
// it never shortens a longer penalty already in force.
func (l *Limiter) Penalize(ctx context.Context, d time.Duration) error {
	msd := d.Milliseconds()
	if msd <= 0 {
		return nil
	}
	if err := penalizeScript.Run(ctx, l.s.rdb, []string{l.s.penaltyKey()}, msd).Err(); err != nil {
		return fmt.Errorf("redis rate limiter: %w", err)
	}
	return nil
}
