// Package groupcommit coalesces concurrent calls into groups (group commit):
// a call that finds no commit in flight is committed at once, alone, so an
// idle store adds no latency; calls that arrive while a commit is in flight
// wait and then go together in the next group, in arrival order. Both
// stores use it on the ack path, each with its own commit (one Redis round
// trip; one bbolt transaction and fsync).
package groupcommit

import (
	"context"
	"sync"
)

// Group coalesces calls of type C. Commit must give every call of a group
// its result and then signal it (the done channel that Do waits on).
type Group[C any] struct {
	// Commit handles one group of calls, at most Max of them.
	Commit func(calls []C)
	// Max is the most calls one Commit carries.
	Max int

	mu      sync.Mutex
	pending []C
	busy    bool
}

// Do commits c, alone or with others. It returns once done is closed (c's
// commit finished) or ctx ended, whichever comes first; in the second case
// it returns ctx's error and c may still be committed.
func (g *Group[C]) Do(ctx context.Context, c C, done <-chan struct{}) error {
	g.mu.Lock()
	if g.busy {
		g.pending = append(g.pending, c)
		g.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.busy = true
	g.mu.Unlock()
	g.Commit([]C{c})
	g.next()
	return nil
}

// next hands the waiting calls, if any, to a goroutine that commits them a
// group at a time until none wait.
func (g *Group[C]) next() {
	g.mu.Lock()
	if len(g.pending) == 0 {
		g.busy = false
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go g.drain()
}

func (g *Group[C]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.pending), max(g.Max, 1))
		if n == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		group := make([]C, n)
		copy(group, g.pending)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		g.mu.Unlock()
		g.Commit(group)
	}
}
