package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/graphsync"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store"
)

// slackNamespace holds the Teams → Slack queue and the record of what the
// bridge wrote to each Slack status, apart from the Teams side's records.
const slackNamespace = "slack"

// twoWay is the Teams → Slack flow serve runs beside the Teams one.
type twoWay struct {
	poller *bridge.TeamsPoller
	engine *bridge.SlackEngine
}

// checkTwoWay says what STATUSBRIDGE_TEAMS_TO_SLACK needs that is missing.
func checkTwoWay(cfg *Config) error {
	if !cfg.TeamsToSlack {
		return nil
	}
	if cfg.SlackAdminUserToken == "" {
		return errors.New("STATUSBRIDGE_TEAMS_TO_SLACK=true needs SLACK_ADMIN_USER_TOKEN: a Slack admin's user token " +
			"(xoxp-…, User Token Scopes: users.profile:write; writing other people's status needs a paid plan)")
	}
	return nil
}

// wireTwoWay builds the Teams → Slack flow when it is on. It needs Graph
// (to read Teams); in a dry run without Azure settings it stays off.
func (a *app) wireTwoWay(client *graphsync.Client) error {
	cfg, log := a.cfg, a.log
	if !cfg.TeamsToSlack {
		return nil
	}
	if client == nil {
		log.Warn("STATUSBRIDGE_TEAMS_TO_SLACK is set but Teams cannot be read in a dry run: Teams → Slack is off until Graph is configured")
		return nil
	}
	side, err := store.Namespace(a.st, slackNamespace)
	if err != nil {
		return err
	}
	writer, err := slackhandler.NewStatusWriter(cfg.SlackAdminUserToken, slackhandler.WithAdminAPIURL(cfg.SlackAPIURL), slackhandler.WithAdminLogger(log))
	if err != nil {
		return fmt.Errorf("SLACK_ADMIN_USER_TOKEN: %w", err)
	}
	// The Teams side recognises Slack's echo of the bridge's writes, and
	// lets a newer Slack change replace an older Teams message.
	a.engine.SlackOwners, a.engine.Seen = side, a.st
	obs := newTwoWayMetrics(a.reg, side)
	perUser := cfg.SlackProfileUserRate.Per / time.Duration(cfg.SlackProfileUserRate.N)
	a.twoWay = &twoWay{
		engine: &bridge.SlackEngine{
			Queue: side, Owners: side, Choices: a.st, Changes: a.st, OptIn: a.engine.OptIn,
			Writer: writer, Reader: writer, ToSlack: slackhandler.StatusFromTeams,
			Limiter: a.st.FixedLimiter("slack-profile", cfg.SlackProfileRate.N, cfg.SlackProfileRate.Per),
			PerUser: perUser, Log: log.With("flow", "teams_to_slack"), Observer: obs, Lease: cfg.Lease,
		},
		poller: &bridge.TeamsPoller{
			Mappings: a.st, Presence: client, Limiter: a.st.Limiter(), Seen: a.st, Owners: a.st,
			Choices: a.st, OptIn: a.engine.OptIn, Queue: side, Lock: a.st, Holder: bridge.ProcessID(),
			Interval: cfg.TeamsPollInterval, Log: log.With("flow", "teams_to_slack"), Observer: obs,
		},
	}
	log.Info("Teams → Slack is on", "poll_interval", cfg.TeamsPollInterval, "slack_profile_rate", cfg.SlackProfileRate.String())
	return nil
}

// start runs the poller until ctx ends and the Slack workers until work
// ends; done closes when both stopped.
func (t *twoWay) start(ctx, work context.Context) (done chan struct{}) {
	done = make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		t.poller.Run(ctx)
	}()
	go func() {
		defer close(done)
		t.engine.Run(work)
		<-pollDone
	}()
	return done
}
