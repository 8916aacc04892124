package bridge

import (
	"errors"
	"fmt"
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

// ValidSlackUserID reports whether id looks like a Slack user id: U or W
// followed by 2 to 31 upper-case letters and digits (every event on the ack
// path is checked, so this is a loop, not a regular expression).
func ValidSlackUserID(id string) bool {
	if len(id) < 3 || len(id) > 32 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ValidEntraObjectID reports whether id is a GUID, the form of an Entra ID
// object id: hex digits in groups of 8-4-4-4-12.
func ValidEntraObjectID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

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
