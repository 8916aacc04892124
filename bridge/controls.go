package bridge

import (
	"context"
	"fmt"
	"time"
)

// PeopleStore is what an employee's own controls read and write.
type PeopleStore interface {
	User(ctx context.Context, slackUserID string) (UserRecord, bool, error)
	GetMapping(ctx context.Context, slackUserID string) (Mapping, bool, error)
	ChoiceStore
	OwnershipStore
}

// Controls are an employee's own commands (/teams-status, App Home) and the
// admin's `users` commands: see how the bridge stands with one employee,
// pause and resume the mirror.
type Controls struct {
	Store     PeopleStore
	Submitter Submitter
	// Current, when set, reads the employee's Slack status now, so that a
	// resume mirrors it at once.
	Current func(ctx context.Context, slackUserID string) (Change, error)
	// OptIn mirrors only employees who chose resume (STATUSBRIDGE_MIRROR_DEFAULT=off).
	OptIn bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Controls) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// View says how the bridge stands with one employee.
func (c *Controls) View(ctx context.Context, userID string) (UserView, error) {
	if !ValidSlackUserID(userID) {
		return UserView{}, fmt.Errorf("invalid Slack user id %q", userID)
	}
	rec, _, err := c.Store.User(ctx, userID)
	if err != nil {
		return UserView{}, err
	}
	if rec.Choice == ChoiceDefault {
		// The record may predate any queued change: ask the choice itself.
		if rec.Choice, err = c.Store.Choice(ctx, userID); err != nil {
			return UserView{}, err
		}
	}
	m, mapped, err := c.Store.GetMapping(ctx, userID)
	if err != nil {
		return UserView{}, err
	}
	var owned *Owned
	if mapped && m.EntraID != "" {
		if o, ok, err := c.Store.GetOwned(ctx, m.EntraID); err != nil {
			return UserView{}, err
		} else if ok {
			owned = &o
		}
	}
	v := ViewOf(rec, m, mapped, owned, c.OptIn)
	v.UserID = userID
	return v, nil
}

// Pause stops mirroring the employee; workers clear what the bridge set in Teams.
func (c *Controls) Pause(ctx context.Context, userID string) (UserView, error) {
	if !ValidSlackUserID(userID) {
		return UserView{}, fmt.Errorf("invalid Slack user id %q", userID)
	}
	if err := c.Store.SetChoice(ctx, userID, ChoiceOff, c.now()); err != nil {
		return UserView{}, err
	}
	return c.View(ctx, userID)
}

// Resume mirrors the employee again, starting with their current Slack status.
func (c *Controls) Resume(ctx context.Context, userID string) (UserView, error) {
	if !ValidSlackUserID(userID) {
		return UserView{}, fmt.Errorf("invalid Slack user id %q", userID)
	}
	if err := c.Store.SetChoice(ctx, userID, ChoiceOn, c.now()); err != nil {
		return UserView{}, err
	}
	if c.Current != nil && c.Submitter != nil {
		// Best effort: the stored change (made due by SetChoice) is applied anyway.
		if ch, err := c.Current(ctx, userID); err == nil {
			ch.Source = SourceControl
			_, _ = c.Submitter.Submit(ctx, ch)
		}
	}
	return c.View(ctx, userID)
}

// ViewOf derives an employee's view from what the store knows: the record,
// the mapping (mapped false when none) and the ownership record of the
// mapped account (nil when none).
func ViewOf(rec UserRecord, m Mapping, mapped bool, owned *Owned, optIn bool) UserView {
	v := UserView{UserID: rec.UserID}
	if mapped {
		v.EntraID = m.EntraID
	}
	if owned != nil {
		v.Showing, v.LastSync = owned.Content, owned.WrittenAt
	}
	if v.LastSync.IsZero() && rec.Applied != nil && rec.Applied.EntraID != "" {
		v.LastSync = rec.Applied.AppliedAt
	}
	switch {
	case rec.Choice == ChoiceOff:
		v.State, v.Reason = StatePaused, "paused by the employee"
	case optIn && rec.Choice != ChoiceOn:
		v.State, v.Reason = StatePaused, "not opted in: mirroring is off until the employee resumes it"
	case rec.Desired != nil && rec.Desired.Deactivated:
		v.State, v.Reason = StatePaused, "deactivated in Slack"
	case !mapped || m.EntraID == "":
		v.State = StateUnmapped
		if mapped && m.Detail != "" {
			v.Reason = m.Detail
		} else {
			v.Reason = "no Teams account is known for this Slack user"
		}
	case rec.ParkedReason != "":
		v.State, v.Reason = StateParked, rec.ParkedReason
	case rec.Held != "":
		v.State, v.Reason = StateHeld, fmt.Sprintf("Teams shows %q, set by a person; the bridge mirrors again once it is gone", rec.Held)
	default:
		v.State = StateMirrored
	}
	return v
}
