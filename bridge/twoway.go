package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Teams → Slack: the second flow. A poller reads what Teams shows for the
// mapped accounts, tells a person's message from the bridge's own by the
// ownership record, and queues a Slack status write in a queue of its own
// (the same Queue contract, kept apart from the Teams queue). Each side's
// own writes are recognised when they come back, so nothing ping-pongs.

// SourceTeams marks changes read from Teams, to be written to Slack.
const SourceTeams ChangeSource = "teams"

// FirstPoll is the EventType of a change read from Teams on the first poll
// of an account: a message set before the bridge looked, carried to Slack
// only when Slack shows no status.
const FirstPoll = "teams_first_poll"

// Seen is the Teams status message the poller last saw on one account, and
// when it first saw it: the bridge dates a message a person typed in Teams
// by the poll that first sees it (Graph gives no time when reading another
// user's presence).
type Seen struct {
	EntraID string `json:"entra_id"`
	// Content is the message as plain text; "" for none.
	Content string `json:"content,omitempty"`
	// At is when a poll first saw Content.
	At time.Time `json:"at"`
}

// SeenStore keeps one Seen record per Entra account, read and written in
// batches (a poll covers every mapped account).
type SeenStore interface {
	// GetSeen returns the records of the accounts that have one.
	GetSeen(ctx context.Context, entraIDs []string) (map[string]Seen, error)
	// PutSeen stores each record under its EntraID, replacing any there.
	PutSeen(ctx context.Context, seen []Seen) error
}

// Locker is a named lock with a deadline, held by one process at a time
// across replicas (so that one replica polls Teams, or reconciles, at a
// time). Deadlines come from the store's clock.
type Locker interface {
	// TryLock takes the lock name for holder until ttl from now, or renews it
	// when holder has it; it reports false when another holder has it.
	TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Unlock gives the lock back if holder has it; no error otherwise.
	Unlock(ctx context.Context, name, holder string) error
}

// CheckLock checks the arguments of a Locker call: a name, a holder and,
// for TryLock (tryLock true), a positive ttl.
func CheckLock(name, holder string, ttl time.Duration, tryLock bool) error {
	switch {
	case name == "":
		return errors.New("lock has no name")
	case holder == "":
		return fmt.Errorf("lock %s: no holder given", name)
	case tryLock && ttl <= 0:
		return fmt.Errorf("lock %s: ttl must be positive, got %s", name, ttl)
	}
	return nil
}

// SlackStatusWriter sets one Slack user's status with a Slack admin's user
// token (users.profile.set with the user argument).
//
// Errors are classified like Graph's: a 429 is a *ThrottledError with
// Slack's Retry-After, a refusal for good (cannot_update_admin_user,
// user_not_found, not_allowed_token_type, missing_scope, paid_only, …) is a
// *PermanentError whose Reason names Slack's error, anything else a
// *TransientError.
type SlackStatusWriter interface {
	// SetUserStatus sets text, emoji (a shortcode such as ":palm_tree:", or
	// "") and expiration (Unix seconds, 0 for none) as userID's status; an
	// empty text and emoji clear it.
	SetUserStatus(ctx context.Context, userID string, s SlackStatus) error
}

// SlackStatusReader reads one Slack user's current status with the admin's
// token (users.profile.get with the user argument).
type SlackStatusReader interface {
	UserStatus(ctx context.Context, userID string) (SlackStatus, error)
}

// SlackStatus is a status as users.profile.set takes it.
type SlackStatus struct {
	Text string `json:"status_text"`
	// Emoji is a shortcode with colons (":palm_tree:"), or "".
	Emoji string `json:"status_emoji"`
	// Expiration is Unix seconds; 0 means none.
	Expiration int64 `json:"status_expiration"`
}

// Clear reports whether the status clears the user's status.
func (s SlackStatus) Clear() bool { return s.Text == "" && s.Emoji == "" }
