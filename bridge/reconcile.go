package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// UserPager pages Slack's directory: every user with their current status.
type UserPager interface {
	Users(ctx context.Context, fn func(SlackUser, Status) error) error
}

// Submitter stores a change durably (the Engine does).
type Submitter interface {
	Submit(ctx context.Context, c Change) (SubmitOutcome, error)
}

// ReconcileCounts says what one reconcile pass did.
type ReconcileCounts struct {
	// Changed users had a status the store did not have yet.
	Changed int
	// Unchanged users had the status already stored.
	Unchanged int
	// Newer users had a newer change already stored (from an event).
	Newer int
	// NotMirrored users are never mirrored (bots, deleted, external, another org).
	NotMirrored int
}

// Read is how many mirrored users the pass read.
func (c ReconcileCounts) Read() int { return c.Changed + c.Unchanged + c.Newer }

func (c *ReconcileCounts) add(o SubmitOutcome) {
	switch o {
	case Accepted:
		c.Changed++
	case Stale:
		c.Newer++
	default: // Unchanged, Duplicate
		c.Unchanged++
	}
}

// Reconciler submits every Slack user's current status as a change. The
// same path as events dedupes it: users whose status is unchanged cost
// nothing, and a status that Slack events already brought newer is never
// overwritten (the pass counts as of the moment it started).
type Reconciler struct {
	Directory UserPager
	Submitter Submitter
	// Mirrored decides which users are mirrored at all.
	Mirrored func(SlackUser) bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, hears the number of users read every 500 users.
	Progress func(read int)
	// Lock, when set, makes RunEvery's passes take turns across replicas:
	// a pass runs only while this process holds the lock ReconcileLock.
	Lock Locker
	// Holder names this process to Lock (default: host name, process id and
	// a random suffix, fixed on first use).
	Holder string
	// LockTTL is how long the lock lasts unless renewed; it is renewed every
	// third of it while a pass runs (default DefaultReconcileLockTTL).
	LockTTL time.Duration
	// LogEvery is how often RunEvery logs a pass's progress (default 30 s).
	LogEvery time.Duration

	holderOnce sync.Once
}

// ReconcileLock is the name of the lock RunEvery's passes take.
const ReconcileLock = "reconcile"

// DefaultReconcileLockTTL is the reconcile lock's lifetime unless renewed:
// a replica that dies mid-pass holds up the others at most this long.
const DefaultReconcileLockTTL = 2 * time.Minute

// Pass runs one reconcile pass.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileCounts, error) {
	return r.pass(ctx, r.Progress)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// pass runs one reconcile pass; progress, when set, hears the number of
// users read every 500 users.
func (r *Reconciler) pass(ctx context.Context, progress func(read int)) (ReconcileCounts, error) {
	now := r.now
	// The pass counts as a little older than its start, so that an event of
	// about the same moment (Slack's clock against this host's) wins the tie.
	started := now().Truncate(time.Second).Add(-2 * time.Second)
	var counts ReconcileCounts
	err := r.Directory.Users(ctx, func(u SlackUser, s Status) error {
		if r.Mirrored != nil && !r.Mirrored(u) {
			counts.NotMirrored++
			return nil
		}
		out, err := r.Submitter.Submit(ctx, Change{UserID: u.ID, TeamID: u.TeamID, EnterpriseID: u.EnterpriseID,
			Status: s, EventTime: started, Source: SourceReconcile, Deactivated: u.Deleted})
		if err != nil {
			return fmt.Errorf("storing %s: %w", u.ID, err)
		}
		counts.add(out)
		if n := counts.Read(); progress != nil && n%500 == 0 {
			progress(n)
		}
		return nil
	})
	return counts, err
}

// RunEvery runs a pass every interval until ctx ends, logging one line per
// pass and, during a long pass, its progress every LogEvery. With a Lock,
// a pass runs only while this process holds it (see LockedPass); a pass
// another replica runs is skipped, logged at debug.
func (r *Reconciler) RunEvery(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.LockedPass(ctx, log)
	}
}

// LockedPass runs one pass if this process can take the lock (or there is
// no Lock), renewing the lock while the pass runs and giving it back at the
// end, and logs the outcome. A pass whose lock another holder took over
// (after a renewal failed for longer than its lifetime) is stopped. It
// reports whether a pass ran.
func (r *Reconciler) LockedPass(ctx context.Context, log *slog.Logger) bool {
	passCtx := ctx
	if r.Lock != nil {
		holder, ttl := r.holder(), r.lockTTL()
		ok, err := r.Lock.TryLock(ctx, ReconcileLock, holder, ttl)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("reconcile pass skipped: could not take its lock; the next one tries again", "err", err)
			}
			return false
		}
		if !ok {
			log.Debug("reconcile pass skipped: another replica is running one")
			return false
		}
		var cancel context.CancelCauseFunc
		passCtx, cancel = context.WithCancelCause(ctx)
		done := make(chan struct{})
		renewed := make(chan struct{})
		go func() {
			defer close(renewed)
			r.renew(passCtx, done, cancel, holder, ttl, log)
		}()
		defer func() {
			close(done)
			<-renewed
			cancel(nil)
			uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer ucancel()
			if err := r.Lock.Unlock(uctx, ReconcileLock, holder); err != nil {
				log.Warn("could not give back the reconcile lock; it runs out by itself", "err", err, "ttl", ttl)
			}
		}()
	}
	counts, err := r.pass(passCtx, r.progressLog(log))
	if err != nil && ctx.Err() == nil {
		if cause := context.Cause(passCtx); cause != nil && passCtx.Err() != nil {
			err = cause
		}
		log.Warn("reconcile pass failed; the next one tries again", "err", err, "changed", counts.Changed, "read", counts.Read())
		return true
	}
	if ctx.Err() == nil {
		log.Info("reconcile pass done", "changed", counts.Changed, "unchanged", counts.Unchanged,
			"newer_already", counts.Newer, "not_mirrored", counts.NotMirrored)
	}
	return true
}

// errLockLost stops a pass whose lock another holder has taken.
var errLockLost = errors.New("another replica took the reconcile lock")

// renew renews the lock every third of ttl until done closes. A renewal the
// store refuses because another holder has the lock stops the pass; one
// that fails is tried again at the next tick (the lock lasts ttl).
func (r *Reconciler) renew(ctx context.Context, done <-chan struct{}, stop context.CancelCauseFunc, holder string, ttl time.Duration, log *slog.Logger) {
	t := time.NewTicker(max(ttl/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := r.Lock.TryLock(ctx, ReconcileLock, holder, ttl)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("could not renew the reconcile lock; trying again", "err", err)
			}
		case !ok:
			log.Warn("reconcile lock lost to another replica; this pass stops")
			stop(errLockLost)
			return
		}
	}
}

// progressLog returns a progress function that logs the users read at most
// every LogEvery.
func (r *Reconciler) progressLog(log *slog.Logger) func(int) {
	every := r.LogEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	last := r.now()
	return func(n int) {
		if r.Progress != nil {
			r.Progress(n)
		}
		if t := r.now(); t.Sub(last) >= every {
			last = t
			log.Info("reconcile pass in progress", "read", n)
		}
	}
}

func (r *Reconciler) lockTTL() time.Duration {
	if r.LockTTL > 0 {
		return r.LockTTL
	}
	return DefaultReconcileLockTTL
}

// holder returns Holder, choosing a per-process id on first use when empty.
func (r *Reconciler) holder() string {
	r.holderOnce.Do(func() {
		if r.Holder == "" {
			r.Holder = ProcessID()
		}
	})
	return r.Holder
}

// ProcessID names this process among replicas: host name, process id and a
// random suffix (so that a restarted process with the same pid differs).
func ProcessID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
