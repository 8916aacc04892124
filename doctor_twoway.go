package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// checkTwoWay checks the Teams → Slack set-up: the admin's user token, its
// scope and role, and that it can read a user's profile. Nothing is written.
func (d *doctor) checkTwoWay(ctx context.Context, cfg *Config) {
	tok := cfg.SlackAdminUserToken
	if tok == "" {
		if cfg.TeamsToSlack {
			d.fail("teams→slack", "set SLACK_ADMIN_USER_TOKEN to a Slack admin's User OAuth Token (xoxp-…, user scope users.profile:write)",
				"STATUSBRIDGE_TEAMS_TO_SLACK is on but SLACK_ADMIN_USER_TOKEN is not set")
		}
		return
	}
	if !cfg.TeamsToSlack {
		d.warn("teams→slack", "SLACK_ADMIN_USER_TOKEN is set but STATUSBRIDGE_TEAMS_TO_SLACK is off: the token is not used")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rep, err := slackhandler.CheckAdminToken(ctx, tok, d.testUser(ctx, cfg), slackhandler.WithAdminAPIURL(cfg.SlackAPIURL))
	if err != nil {
		d.fail("teams→slack", "use the User OAuth Token of a workspace admin or owner, with the user scope users.profile:write, on a paid plan",
			"%s", strings.ReplaceAll(err.Error(), "\n", "; ")) // one line, whatever the problems
		return
	}
	d.pass("teams→slack", "admin token of %s (%s) in %s, scopes %s; read %s's profile without writing",
		rep.UserID, rep.Role, rep.TeamID, strings.Join(rep.Scopes, ","), rep.TestUser)
}

// testUser picks a mapped employee whose profile doctor reads; "" (the
// token's own user) when the store has none or cannot be opened.
func (d *doctor) testUser(ctx context.Context, cfg *Config) string {
	st, err := openAdmin(ctx, cfg, discardLogger())
	if err != nil {
		return ""
	}
	defer st.Close()
	user := ""
	errFound := errors.New("found")
	_ = st.EachMapping(ctx, func(m bridge.Mapping) error {
		if m.EntraID == "" {
			return nil
		}
		user = m.SlackUserID
		return errFound
	})
	return user
}
