package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/statusbridge/statusbridge/slackhandler"
)

// allowedOrg returns the rule for whose users are mirrored: the workspace or
// Enterprise Grid org (on an org-wide install) the bot token is installed in
// (auth.test), plus
// SLACK_ALLOWED_TEAMS. It returns nil (every org) only when neither is known,
// with a warning.
func allowedOrg(ctx context.Context, cfg *Config, log *slog.Logger) (func(team, enterprise string) bool, error) {
	ids := append([]string(nil), cfg.SlackAllowedTeams...)
	if cfg.SlackBotToken != "" {
		org, err := installedOrg(ctx, slackhandler.NewDirectory(cfg.SlackBotToken, cfg.SlackAPIURL))
		switch {
		case err == nil:
			ids = append(ids, org)
			log.Info("mirroring the users of the installed workspace or org", "installed", org, "also_allowed", cfg.SlackAllowedTeams)
		case len(ids) > 0:
			log.Warn("could not learn the installed workspace from auth.test; mirroring SLACK_ALLOWED_TEAMS only", "err", err)
		default:
			return nil, fmt.Errorf("could not learn the installed Slack workspace from auth.test (%v): check SLACK_BOT_TOKEN and that Slack is reachable, or set SLACK_ALLOWED_TEAMS", err)
		}
	}
	if len(ids) == 0 {
		log.Warn("SLACK_ALLOWED_TEAMS is not set and there is no SLACK_BOT_TOKEN to learn the installed workspace: users of every workspace that sends events are mirrored")
		return nil, nil
	}
	return slackhandler.OrgAllows(ids), nil
}

// installedOrg asks auth.test, trying again for a while when Slack is
// unreachable or throttles; a refused token fails at once.
func installedOrg(ctx context.Context, dir *slackhandler.Directory) (org string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for wait := 500 * time.Millisecond; ; wait *= 2 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		org, err = dir.InstalledOrg(cctx)
		cancel()
		var auth *slackhandler.AuthError
		if err == nil || errors.As(err, &auth) || time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return org, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}
