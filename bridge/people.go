package bridge

import (
	"context"
	"time"
)

// UserState is how the bridge stands with one employee. `statusbridge users
// show`, /teams-status and App Home print the same words.
type UserState string

const (
	// StateMirrored: the bridge carries the employee's Slack status to Teams.
	StateMirrored UserState = "mirrored"
	// StatePaused: the employee paused the mirror (or never opted in, where
	// mirroring is off by default).
	StatePaused UserState = "paused"
	// StateHeld: Teams shows a message that a person set; the bridge leaves it alone.
	StateHeld UserState = "held: set in Teams"
	// StateUnmapped: no Entra account is known for the employee.
	StateUnmapped UserState = "not mapped"
	// StateParked: Graph refused for good; an admin or a new change retries.
	StateParked UserState = "parked"
)

// MirrorChoice is an employee's own choice about the mirror.
type MirrorChoice string

const (
	// ChoiceDefault: the employee never chose; the installation's default applies.
	ChoiceDefault MirrorChoice = ""
	// ChoiceOn: the employee chose resume.
	ChoiceOn MirrorChoice = "on"
	// ChoiceOff: the employee chose pause.
	ChoiceOff MirrorChoice = "off"
)

// Owned is what the bridge may have written to one Entra account's Teams
// status message. It is kept apart from Applied: Applied is what the bridge
// knows it set (and is forgotten after a failed call), Owned answers "may the
// bridge clear or replace what Teams shows?" and survives failed calls,
// retries, crashes and lease loss.
type Owned struct {
	// EntraID is the account; the record's key.
	EntraID string `json:"entra_id"`
	// SlackUserID is the employee whose status was written there.
	SlackUserID string `json:"slack_user_id"`
	// Content is the message Graph confirmed last (""; none confirmed).
	Content string `json:"content,omitempty"`
	// WrittenAt is when Graph confirmed Content.
	WrittenAt time.Time `json:"written_at,omitempty"`
	// Pending holds the contents of calls that may have reached Teams without
	// an answer (timeouts, crashes, failed attempts), newest last.
	Pending []string `json:"pending,omitempty"`
	// Touched is when a call to this account was last about to be made or
	// confirmed: a read of Teams older than it is out of date.
	Touched time.Time `json:"touched,omitempty"`
}

// OwnershipStore keeps one Owned record per Entra account, and finds the
// records of one Slack user (a mapping that moved leaves one behind).
type OwnershipStore interface {
	// PutOwned stores o under o.EntraID, replacing any record there.
	PutOwned(ctx context.Context, o Owned) error
	// GetOwned returns the record of an Entra account.
	GetOwned(ctx context.Context, entraID string) (Owned, bool, error)
	// OwnedBy lists the records whose SlackUserID is slackUserID.
	OwnedBy(ctx context.Context, slackUserID string) ([]Owned, error)
	// DeleteOwned forgets the record of an Entra account; no error when there is none.
	DeleteOwned(ctx context.Context, entraID string) error
}

// OwnedReader is an OwnershipStore that reads what OwnedBy(slackUserID)
// and GetOwned(entraID) return in one round trip; own is the zero record
// when the account has none.
type OwnedReader interface {
	OwnedFor(ctx context.Context, slackUserID, entraID string) (records []Owned, own Owned, err error)
}

// OwnedCompleter is a store that is both an engine's Queue and its
// OwnershipStore and ends a write that Graph accepted in one step:
// PutOwned(o), then Complete(j, applied, now). The record is stored even
// when the lease was lost (ErrLeaseLost), as PutOwned alone would have.
type OwnedCompleter interface {
	CompleteOwned(ctx context.Context, o Owned, j Job, applied *Applied, now time.Time) error
}

// ChoiceStore keeps each employee's own choice (pause / resume).
type ChoiceStore interface {
	// SetChoice records the choice and, when the user has a stored change,
	// makes the user due at now so that workers act on it (clear on pause,
	// apply on resume). A parked user stays parked.
	SetChoice(ctx context.Context, slackUserID string, c MirrorChoice, now time.Time) error
	// Choice returns the employee's choice; ChoiceDefault when none was made.
	Choice(ctx context.Context, slackUserID string) (MirrorChoice, error)
}

// UserRecord is everything a store knows of one Slack user, for `users show`
// and the employee's own view.
type UserRecord struct {
	UserID string
	// Desired is the latest accepted change; nil when none was stored.
	Desired *Change
	// Applied is what was last applied for certain; nil when unknown.
	Applied *Applied
	Choice  MirrorChoice
	// Held is the content of a message a person set in Teams that the bridge
	// is leaving alone; "" when not held.
	Held string
	// ParkedReason is set while the user is parked.
	ParkedReason string
	Attempts     int
	LastError    string
	// Due is when workers next look at the user; zero when not due.
	Due time.Time
}

// UserView is what one employee sees about themselves.
type UserView struct {
	UserID string    `json:"user"`
	State  UserState `json:"state"`
	// EntraID is the Teams account the status goes to; "" when none is known.
	EntraID string `json:"entra_id,omitempty"`
	// Showing is what Teams shows from the bridge now (the owned message); "" for nothing.
	Showing string `json:"showing,omitempty"`
	// LastSync is when the bridge last wrote to Teams for this user; zero for never.
	LastSync time.Time `json:"last_sync,omitempty"`
	// Reason explains a held, parked or unmapped state.
	Reason string `json:"reason,omitempty"`
}

// PresenceReader reads what Teams shows now.
type PresenceReader interface {
	// StatusMessages returns, for each Entra id Graph knows, the status
	// message content Teams shows now as plain text ("" for none). It spends
	// one call per 650 ids.
	StatusMessages(ctx context.Context, entraIDs []string) (map[string]string, error)
}
