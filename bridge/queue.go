package bridge

import (
	"context"
	"errors"
	"time"
)

// SubmitOutcome says what the store did with a submitted change.
type SubmitOutcome int

const (
	// Accepted means the change is now the user's desired state and the user is due.
	Accepted SubmitOutcome = iota + 1
	// Duplicate means the event id was seen before (a Slack retry).
	Duplicate
	// Stale means a newer change of the same user is already stored.
	Stale
	// Unchanged means the change equals the stored desired state (the
	// user_change / user_status_changed pair, or a reconcile of an unchanged user).
	Unchanged
	// Echo means the change is Slack's event for the bridge's own write of
	// the user's Slack status (Teams → Slack); it is not carried back to Teams.
	Echo
)

func (o SubmitOutcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	case Unchanged:
		return "unchanged"
	case Echo:
		return "echo"
	}
	return "unknown"
}

// Applied is what the bridge last set in Teams for a user, recorded only after
// Graph answered success.
type Applied struct {
	Message   Message   `json:"message"`
	EntraID   string    `json:"entra_id"`
	AppliedAt time.Time `json:"applied_at"`
}

// Job is a claimed user: its desired state, what was last applied, and the
// lease under which one worker holds it.
type Job struct {
	UserID  string
	Desired Change
	// Rev is the desired state's revision; it grows with every accepted change.
	Rev int64
	// Applied is nil when nothing was ever applied for this user.
	Applied *Applied
	// Attempts counts failed attempts at the current revision.
	Attempts int
	// LastError is the reason of the last failed attempt, if any.
	LastError string
	// Token identifies the lease; a worker whose lease was taken over can no
	// longer complete, retry or park the job.
	Token string
	// Choice is the employee's own choice about the mirror.
	Choice MirrorChoice
	// Held is the content of a message a person set in Teams that the
	// bridge left alone at the last Hold; "" when the user is not held.
	Held string
	// Mapping is the user's mapping as the queue read it with the claim;
	// nil when the queue does not read mappings.
	Mapping *MappingRead
}

// ErrLeaseLost is returned by a Queue when the job's lease is no longer held
// by the caller (it expired and another worker took the user).
var ErrLeaseLost = errors.New("lease lost")

// Queue is the durable keyed queue: one desired state per user, a due time,
// and a lease while a worker holds the user.
type Queue interface {
	// Submit stores the change in one atomic step: it drops an event id that was
	// seen before, keeps the change only if it is not older than the stored
	// desired state, and marks the user due. A nil error means the change is
	// durably stored and Slack may be acknowledged.
	Submit(ctx context.Context, c Change, now time.Time) (SubmitOutcome, error)
	// Claim leases up to max users that are due at now, until now+lease. When
	// the previous lease of a user ended without an outcome (its worker
	// crashed, perhaps after Graph applied a call), the job carries no
	// Applied: Teams may show something other than what was recorded.
	Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Job, error)
	// Complete records what was applied (nil when nothing was sent) and
	// releases the lease; the user stays due if a newer change came in meanwhile.
	Complete(ctx context.Context, j Job, applied *Applied, now time.Time) error
	// Retry releases the lease and makes the user due again at at, recording
	// the attempt count and the last error; a newer change makes it due at once.
	// It forgets what was applied: the failed call may still have reached Teams.
	Retry(ctx context.Context, j Job, at time.Time, attempts int, lastErr string) error
	// Park releases the lease and sets the user aside with a reason until a new
	// change, a mapping change or an admin un-parks it.
	Park(ctx context.Context, j Job, reason string, now time.Time) error
	// Release gives the lease back without recording anything (shutdown).
	Release(ctx context.Context, j Job, now time.Time) error
	// Hold releases the lease because Teams shows a message a person set:
	// it remembers content as the user's held message (Job.Held, until a
	// Complete clears it), forgets what was applied, and makes the user due
	// again at recheck; a newer accepted change makes it due at once.
	Hold(ctx context.Context, j Job, content string, recheck time.Time) error
}

// Parked is a user set aside after a permanent failure.
type Parked struct {
	UserID string    `json:"user"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// Admin is the part of a store used by the admin commands and metrics.
type Admin interface {
	// ListParked lists parked users.
	ListParked(ctx context.Context) ([]Parked, error)
	// Unpark makes a parked user due now; it reports false when the user was not parked.
	Unpark(ctx context.Context, userID string, now time.Time) (bool, error)
	// Stats reports the queue depth and the due time of the oldest due user.
	Stats(ctx context.Context, now time.Time) (QueueStats, error)
	// User returns everything the store knows of one Slack user; false when
	// it knows nothing.
	User(ctx context.Context, slackUserID string) (UserRecord, bool, error)
}

// QueueStats describes the queue for metrics.
type QueueStats struct {
	// Due counts users whose change waits (including leased ones).
	Due int64
	// OldestDue is the due time of the user that has waited longest; zero when none.
	OldestDue time.Time
	// Parked counts parked users.
	Parked int64
}
