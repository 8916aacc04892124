package bridge

import (
	"context"
	"errors"
	"time"
)

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

// MappingRead is a user's mapping as a store read it along with a claim
// (Job.Mapping), so that resolving it needs no read of its own.
type MappingRead struct {
	// From is the store it was read from.
	From MappingStore
	// Found is false when the store held no mapping for the user.
	Found   bool
	Mapping Mapping
}

// ReadResolver is a Resolver that can take a mapping read already instead
// of reading it again. It does so only when read came from the store the
// resolver reads; otherwise it is Resolve.
type ReadResolver interface {
	ResolveRead(ctx context.Context, slackUserID string, read *MappingRead) (entraID string, err error)
}
