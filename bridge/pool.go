package bridge

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool grows with the Graph budget. A worker spends most of a
// change waiting for Graph's answer, so keeping a budget of r calls a second
// busy takes about r × (answer time) workers (Little's law): 8 workers and
// Graph answering in 0.2 s make at most 40 calls a second, below even the
// 1,500 / 30 s of older tenants (50 a second), while 10,000 / 30 s needs
// about 67 calls in flight. So while every worker is busy, the pool grows
// towards what the limiter's rate and the answer time call for, with a
// quarter more (so that the budget, not the pool, binds and the rate can
// rise), up to MaxWorkers; the extra workers leave once they find nothing
// due. Workers is the floor that always runs.
//
// The answer time is Graph's, not the machine's: the fastest recent answer,
// moving up slowly (1/64 of the gap per slower answer) when Graph slows for
// good. An average would also count the time calls wait for a busy CPU, and
// more workers on a saturated machine only wait longer.

// scaleEvery is how often the pool looks at its size.
const scaleEvery = 250 * time.Millisecond

// answerDrift is how far a slower answer moves the answer time towards
// itself, of the gap.
const answerDrift = 1.0 / 64

// wantWorkers is how many workers keep a budget of perSec calls a second
// busy when Graph answers in answer, with a quarter more, within [least,
// most]. With no budget or no answer known yet it is least.
func wantWorkers(perSec float64, answer time.Duration, least, most int) int {
	if perSec <= 0 || answer <= 0 {
		return least
	}
	n := math.Ceil(perSec * answer.Seconds() * 1.25)
	if n >= float64(most) {
		return most
	}
	return max(least, int(n))
}

// rater is a Limiter that reports its rate (both stores' limiters do).
type rater interface {
	Rate(ctx context.Context) (float64, error)
	Period() time.Duration
}

// pool counts the workers and keeps Graph's answer time.
type pool struct {
	running atomic.Int32 // workers running
	busy    atomic.Int32 // workers with a job in hand
	want    atomic.Int32 // the size the budget called for at the last look
	answer  atomic.Int64 // Graph's answer time, ns; 0 until one was timed
}

// answered takes one status write's answer time into account.
func (p *pool) answered(d time.Duration) {
	for {
		old := p.answer.Load()
		next := int64(d)
		if old > 0 && next > old {
			next = old + int64(answerDrift*float64(next-old))
		}
		if p.answer.CompareAndSwap(old, next) {
			return
		}
	}
}

// maxWorkers is the most workers the engine runs (never fewer than Workers).
func (e *Engine) maxWorkers() int { return max(e.Workers, e.MaxWorkers) }

// wantWorkers is the pool size the Graph budget calls for now.
func (e *Engine) wantWorkers(ctx context.Context) int {
	r, ok := e.Limiter.(rater)
	if !ok || e.DryRun {
		return e.Workers
	}
	rate, err := r.Rate(ctx)
	if err != nil || r.Period() <= 0 {
		return e.Workers
	}
	return wantWorkers(rate/r.Period().Seconds(), time.Duration(e.pool.answer.Load()), e.Workers, e.maxWorkers())
}

// scale grows the pool while every worker is busy and the budget calls for
// more, until ctx ends; wg counts the workers it starts.
func (e *Engine) scale(ctx, work context.Context, wg *sync.WaitGroup) {
	t := time.NewTicker(scaleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		want := e.wantWorkers(ctx)
		e.pool.want.Store(int32(want))
		running := int(e.pool.running.Load())
		if int(e.pool.busy.Load()) < running {
			continue // a worker is idle: nothing waits for one
		}
		for ; running < want; running++ {
			e.startWorker(ctx, work, wg, true)
		}
	}
}
