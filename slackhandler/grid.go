package slackhandler

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

// Enterprise Grid org-wide installs
// (https://api.slack.com/enterprise/apps/changes-apis): the token belongs
// to the org, auth.test says is_enterprise_install, users.list needs the
// team_id of one workspace, and auth.teams.list lists the workspaces the
// app was added to. User ids (W…) are unique across the org.

// installInfo is what auth.test says about the bot token.
type installInfo struct {
	team, enterprise string
	orgWide          bool
}

// install returns auth.test's answer, asking Slack only the first time
// (Installed records it too); 429s are waited out like users.list's.
func (d *Directory) install(ctx context.Context) (installInfo, error) {
	throttles := 0
	for {
		d.mu.Lock()
		inst := d.inst
		d.mu.Unlock()
		if inst != nil {
			return *inst, nil
		}
		if _, _, err := d.Installed(ctx); err != nil {
			if werr := d.waitThrottle(ctx, "auth.test", err, &throttles); werr != nil {
				return installInfo{}, werr
			}
		}
	}
}

// Workspace is a Slack workspace that an org-wide install was added to.
type Workspace struct {
	// ID is the workspace id (T…).
	ID string
	// Name is the workspace's name.
	Name string
}

// Workspaces lists the workspaces the token can reach with auth.teams.list
// (https://docs.slack.dev/reference/methods/auth.teams.list), following its
// cursor and waiting out 429s (Retry-After, at most maxThrottles in a row).
// For an org-wide install these are the workspaces an admin added the app
// to; a workspace install reaches its own workspace only.
func (d *Directory) Workspaces(ctx context.Context) ([]Workspace, error) {
	var out []Workspace
	cursor, throttles := "", 0
	for {
		teams, next, err := d.api.ListTeamsContext(ctx, slack.ListTeamsParameters{Limit: 200, Cursor: cursor})
		if err != nil {
			if werr := d.waitThrottle(ctx, "auth.teams.list", classify("auth.teams.list", err), &throttles); werr != nil {
				return nil, werr
			}
			continue
		}
		throttles = 0
		for _, t := range teams {
			out = append(out, Workspace{ID: t.ID, Name: t.Name})
		}
		if next == "" || next == cursor {
			return out, nil
		}
		cursor = next
	}
}

// orgUsers lists the users of every workspace an org-wide install was added
// to: users.list with each workspace's team_id, which Slack requires of an
// org token (https://docs.slack.dev/reference/methods/users.list). A user
// of several workspaces is passed to fn once, with the workspace that
// listed them first when the user object names none. A workspace whose
// listing fails does not stop the others: its error is returned at the
// end; fn's error, a refused token or a cancelled ctx stop at once.
func (d *Directory) orgUsers(ctx context.Context, fn func(u bridge.SlackUser, s bridge.Status) error) error {
	workspaces, err := d.Workspaces(ctx)
	if err != nil {
		return err
	}
	if len(workspaces) == 0 {
		d.log.Warn("the org-wide install was added to no workspace yet: there are no users to list")
		return nil
	}
	seen := map[string]struct{}{}
	var errs []error
	for _, w := range workspaces {
		var stopped error
		err := d.listUsers(ctx, w.ID, func(u bridge.SlackUser, s bridge.Status) error {
			if _, dup := seen[u.ID]; dup {
				return nil
			}
			seen[u.ID] = struct{}{}
			if u.TeamID == "" {
				u.TeamID = w.ID
			}
			if err := fn(u, s); err != nil {
				stopped = err
				return err
			}
			return nil
		})
		switch {
		case err == nil:
		case stopped != nil, ctx.Err() != nil, errors.Is(err, ErrAuth):
			return err
		default:
			d.log.Warn("slack users.list failed for one workspace; listing the others", "team", w.ID, "err", err)
			errs = append(errs, fmt.Errorf("workspace %s: %w", w.ID, err))
		}
	}
	return errors.Join(errs...)
}
