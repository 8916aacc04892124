package bridge

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Change is one observed Slack status of one user.
type Change struct {
	// UserID is the Slack user id (U… or W…), unique across an org.
	UserID string `json:"user"`
	// TeamID is the Slack workspace, when Slack said; may be empty on Enterprise Grid.
	TeamID string `json:"team,omitempty"`
	// EnterpriseID is the Enterprise Grid org, when Slack said.
	EnterpriseID string `json:"enterprise,omitempty"`
	// Status is the user's status at EventTime.
	Status Status `json:"status"`
	// EventID is Slack's event id, the same on Slack's retries; empty for
	// changes that did not come from an event (reconcile).
	EventID string `json:"event_id,omitempty"`
	// EventTime orders changes of one user: an older one never overwrites a newer one.
	EventTime time.Time `json:"event_time"`
	// Source says where the change came from.
	Source ChangeSource `json:"source,omitempty"`
	// Deactivated is true when Slack says the user was deactivated
	// (user_change with deleted: true); the bridge then stops mirroring them.
	Deactivated bool `json:"deactivated,omitempty"`
	// EventType is Slack's event type (user_status_changed, user_change), for metrics.
	EventType string `json:"event_type,omitempty"`
	// Observation tells apart changes read from Teams: each new message a
	// poll sees is a new change to carry to Slack, even when its text equals
	// an earlier one's (the person may have changed Slack meanwhile). Empty
	// for changes from Slack.
	Observation string `json:"observation,omitempty"`
	// Trace is the W3C traceparent of the span that submitted the change,
	// so that the worker's spans continue its trace across the queue.
	Trace string `json:"trace,omitempty"`
}

// ChangeSource says where a change came from; metrics label by it.
type ChangeSource string

const (
	// SourceHTTP marks changes from the signed HTTP Events API.
	SourceHTTP ChangeSource = "http"
	// SourceSocket marks changes from Socket Mode.
	SourceSocket ChangeSource = "socket"
	// SourceReconcile marks changes that a reconcile pass read from Slack's directory.
	SourceReconcile ChangeSource = "reconcile"
	// SourceControl marks changes an employee's own command (resume) submitted.
	SourceControl ChangeSource = "control"
)

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

// MaxClockSkew is how far ahead of the bridge's clock a change may be dated.
const MaxClockSkew = 5 * time.Minute

// SaneEventTime returns the time a change received at now is ordered by: its
// own, or now when it is dated more than MaxClockSkew ahead (ok is then
// false). A wrong or hostile clock must never store a future time that makes
// every later change look stale.
func SaneEventTime(t, now time.Time) (sane time.Time, ok bool) {
	if t.After(now.Add(MaxClockSkew)) {
		return now, false
	}
	return t, true
}
