// Package bridge holds statusbridge's domain: what a Slack status change is,
// the rules for accepting it, how it is rendered as a Teams status message,
// and the workers that carry each user's latest change to Teams.
//
// It imports only the standard library. The adapters around it (Slack intake,
// Graph publisher, identity mapping, stores) implement the small interfaces
// declared here, and main wires them together.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Status is a Slack status as the bridge sees it, already decoded from
// Slack's representation.
type Status struct {
	// Text is the status text, for example "Vacationing".
	Text string `json:"text,omitempty"`
	// Emoji is the status emoji as Unicode ("🌴"), or empty when the status has
	// no emoji or a custom one that has no Unicode form.
	Emoji string `json:"emoji,omitempty"`
	// EmojiName is Slack's shortcode (":palm_tree:"), kept for logs only.
	EmojiName string `json:"emoji_name,omitempty"`
	// Expiration is when the status ends, in Unix seconds; 0 means never.
	Expiration int64 `json:"expiration,omitempty"`
}

// Empty reports whether the status has neither text nor emoji.
func (s Status) Empty() bool { return s.Text == "" && s.Emoji == "" }

// Change is one observed Slack status of one user.
type Change struct {
	// UserID is the Slack user id (U… or W…), unique across an org.
	UserID string `json:"user"`
	// TeamID is the Slack workspace, when Slack said; may be empty on Enterprise Grid.
	TeamID string `json:"team,omitempty"`
	// Status is the user's status at EventTime.
	Status Status `json:"status"`
	// EventID is Slack's event id, the same on Slack's retries; empty for
	// changes that did not come from an event (reconcile).
	EventID string `json:"event_id,omitempty"`
	// EventTime orders changes of one user: an older one never overwrites a newer one.
	EventTime time.Time `json:"event_time"`
	// Source says where the change came from ("http", "socket", "reconcile").
	Source string `json:"source,omitempty"`
	// EventType is Slack's event type (user_status_changed, user_change), for metrics.
	EventType string `json:"event_type,omitempty"`
}

// SourceReconcile marks changes that a reconcile pass read from Slack's directory.
const SourceReconcile = "reconcile"

// slackUserID matches Slack user ids: U or W followed by upper-case letters and digits.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,31}$`)

// ValidSlackUserID reports whether id looks like a Slack user id (U… or W…).
func ValidSlackUserID(id string) bool { return slackUserID.MatchString(id) }

// entraObjectID matches a GUID, the form of every Entra ID object id.
var entraObjectID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidEntraObjectID reports whether id is a GUID, the form of an Entra ID object id.
func ValidEntraObjectID(id string) bool { return entraObjectID.MatchString(id) }

// Validate checks the fields every change must carry.
func (c Change) Validate() error {
	if !ValidSlackUserID(c.UserID) {
		return fmt.Errorf("invalid Slack user id %q", c.UserID)
	}
	if c.EventTime.IsZero() {
		return errors.New("change has no event time")
	}
	return nil
}

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

// MappingSource says how a mapping was found.
type MappingSource string

const (
	// SourceAdmin is a mapping an admin set; it always wins.
	SourceAdmin MappingSource = "admin"
	// SourceEmail is a mapping discovered by email.
	SourceEmail MappingSource = "email"
	// SourceNone is a cached negative result: no Entra user for this Slack user.
	SourceNone MappingSource = "none"
	// SourceSkipped is a cached decision never to mirror this user (bot,
	// deleted, external, no email, disabled account).
	SourceSkipped MappingSource = "skipped"
)

// Mapping ties a Slack user to an Entra ID object id.
type Mapping struct {
	SlackUserID string        `json:"slack_user_id"`
	EntraID     string        `json:"entra_id,omitempty"`
	Source      MappingSource `json:"source"`
	// Detail says how the entry was found, or why there is none (negative entries).
	Detail  string    `json:"detail,omitempty"`
	FoundAt time.Time `json:"found_at"`
}

// MappingStore keeps mappings. Setting or deleting a mapping un-parks the user,
// so a change that waited for a mapping is applied when one appears; a new
// Entra id for a user with a desired state makes the user due (after any
// lease), so the status follows the mapping. An entry an admin set is never
// replaced by a discovered or negative one.
type MappingStore interface {
	GetMapping(ctx context.Context, slackUserID string) (Mapping, bool, error)
	SetMapping(ctx context.Context, m Mapping, now time.Time) error
	DeleteMapping(ctx context.Context, slackUserID string, now time.Time) (bool, error)
	ListMappings(ctx context.Context) ([]Mapping, error)
}

// ErrUnmapped is returned by a Resolver when no Entra user is known for a Slack user.
var ErrUnmapped = errors.New("no Entra user mapped")

// ErrSkipped is returned by a Resolver for users that are never mirrored
// (bots, deleted users, guests, disabled accounts, opted-out users).
var ErrSkipped = errors.New("user is not mirrored")

// Resolver finds the Entra object id of a Slack user.
type Resolver interface {
	Resolve(ctx context.Context, slackUserID string) (entraID string, err error)
}

// Message is a Teams status message as Graph's setStatusMessage takes it.
type Message struct {
	// Content is the text shown in Teams; empty clears the message.
	Content string `json:"content"`
	// Expiry is when Teams drops the message; zero means never.
	Expiry time.Time `json:"expiry,omitempty"`
}

// Clear reports whether the message clears the Teams status message.
func (m Message) Clear() bool { return m.Content == "" }

// Equal reports whether two messages set the same thing in Teams.
func (m Message) Equal(o Message) bool {
	return m.Content == o.Content && m.Expiry.Equal(o.Expiry)
}

// Publisher sets a Teams status message.
type Publisher interface {
	SetStatusMessage(ctx context.Context, entraID string, m Message) error
}

// Limiter spaces calls to Graph; it is shared by every worker (and every
// replica, when it lives in Redis).
type Limiter interface {
	// Wait blocks until a call may be made or ctx ends.
	Wait(ctx context.Context) error
	// Penalize stops all calls for d, after Graph answered 429 with Retry-After d.
	Penalize(ctx context.Context, d time.Duration) error
}

// PermanentError is a failure that retrying will not fix (Graph 400, 403, 404).
type PermanentError struct {
	// Reason is a short, secret-free description, such as "graph 404: user not found".
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Reason }
func (e *PermanentError) Unwrap() error { return e.Err }

// ThrottledError is a 429 with the wait the remote side asked for.
type ThrottledError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled: retry after %s", e.RetryAfter)
}
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryLaterError asks for the user to be tried again after a while without
// counting a failed attempt; for example an Entra account that discovery
// did not find yet, looked for again when the negative cache expires.
type RetryLaterError struct {
	After  time.Duration
	Reason string
	Err    error
}

func (e *RetryLaterError) Error() string {
	return fmt.Sprintf("%s; trying again in %s", e.Reason, e.After)
}
func (e *RetryLaterError) Unwrap() error { return e.Err }

// TransientError is a failure that may pass (5xx, network errors).
type TransientError struct {
	Reason string
	Err    error
}

func (e *TransientError) Error() string { return "transient: " + e.Reason }
func (e *TransientError) Unwrap() error { return e.Err }

// ErrNotFound is returned by directory and user lookups when the user does not exist.
var ErrNotFound = errors.New("not found")

// SlackUser is what Slack's directory (users.info) says about a user.
type SlackUser struct {
	ID     string
	TeamID string
	// Email is the profile email; empty without the users:read.email scope or for bots.
	Email   string
	Deleted bool
	// Bot is true for bot users and Slackbot.
	Bot bool
	// Guest is true for single- and multi-channel guests (is_restricted, is_ultra_restricted).
	Guest bool
	// External is true for Slack Connect users of another organisation (is_stranger, or a
	// team the app was not installed in).
	External bool
}

// EntraUser is an Entra ID user as Graph returns it.
type EntraUser struct {
	ID                string
	UserPrincipalName string
	Mail              string
	// AccountEnabled is false for disabled accounts; nil when Graph did not say.
	AccountEnabled *bool
}

// Sleep waits for d or until ctx ends, whichever comes first; it returns
// ctx's error when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
