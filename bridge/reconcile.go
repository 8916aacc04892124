package bridge

import (
	"context"
	"fmt"
	"log/slog"
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
}

// Pass runs one reconcile pass.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileCounts, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
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
		if n := counts.Read(); r.Progress != nil && n%500 == 0 {
			r.Progress(n)
		}
		return nil
	})
	return counts, err
}

// RunEvery runs a pass every interval until ctx ends, logging one line per pass.
func (r *Reconciler) RunEvery(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		counts, err := r.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("reconcile pass failed; the next one tries again", "err", err, "changed", counts.Changed)
			continue
		}
		log.Info("reconcile pass done", "changed", counts.Changed, "unchanged", counts.Unchanged,
			"newer_already", counts.Newer, "not_mirrored", counts.NotMirrored)
	}
}
