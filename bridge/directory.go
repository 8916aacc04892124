package bridge

import (
	"errors"
)

// ErrNotFound is returned by directory and user lookups when the user does not exist.
var ErrNotFound = errors.New("not found")

// SlackUser is what Slack's directory (users.info) says about a user.
type SlackUser struct {
	ID     string
	TeamID string
	// EnterpriseID is the Enterprise Grid org the user belongs to, when any.
	EnterpriseID string
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
