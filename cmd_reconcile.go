package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// runReconcile runs one reconcile pass from the command line.
func runReconcile(ctx context.Context, env *runEnv, args []string) error {
	st, cfg, err := openAdminStore(ctx, env, "reconcile", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	tok := cfg.get("SLACK_BOT_TOKEN")
	if tok == "" {
		return errors.New("SLACK_BOT_TOKEN is not set: reconcile reads Slack's directory (users.list) with the bot token")
	}
	dir := slackhandler.NewDirectory(tok, cfg.get("SLACK_API_URL"))
	counts, err := reconcile(ctx, dir, &bridge.Engine{Queue: st}, env.stderr)
	fmt.Fprintf(env.stdout, "reconciled: %d changed, %d unchanged, %d newer already, %d not mirrored\n",
		counts["accepted"], counts["unchanged"], counts["stale"], counts["not mirrored"])
	return err
}

// reconcile pages Slack's directory and submits every user's current status
// as a change. The same path as events dedupes it: users whose status is
// unchanged cost nothing, and a status that Slack events already brought
// newer is never overwritten (the pass counts as of the moment it started).
// progress, when set, hears a line every 500 users.
func reconcile(ctx context.Context, dir *slackhandler.Directory, engine *bridge.Engine, progress io.Writer) (map[string]int, error) {
	// The pass counts as a little older than its start, so that an event of
	// about the same moment (Slack's clock against this host's) wins the tie.
	started := time.Now().Truncate(time.Second).Add(-2 * time.Second)
	counts := map[string]int{}
	err := dir.Users(ctx, func(u bridge.SlackUser, s bridge.Status) error {
		if u.Bot || u.Deleted || u.External || u.ID == "USLACKBOT" {
			counts["not mirrored"]++
			return nil
		}
		out, err := engine.Submit(ctx, bridge.Change{UserID: u.ID, TeamID: u.TeamID, Status: s, EventTime: started, Source: bridge.SourceReconcile})
		if err != nil {
			return fmt.Errorf("storing %s: %w", u.ID, err)
		}
		counts[out.String()]++
		if n := counts["accepted"] + counts["unchanged"] + counts["stale"]; progress != nil && n%500 == 0 {
			fmt.Fprintf(progress, "… %d users read\n", n)
		}
		return nil
	})
	return counts, err
}

// reconcileEvery runs a reconcile pass every interval until ctx ends, logging
// one line per pass.
func reconcileEvery(ctx context.Context, interval time.Duration, dir *slackhandler.Directory, engine *bridge.Engine, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		counts, err := reconcile(ctx, dir, engine, nil)
		if err != nil && ctx.Err() == nil {
			log.Warn("reconcile pass failed; the next one tries again", "err", err, "changed", counts["accepted"])
			continue
		}
		log.Info("reconcile pass done", "changed", counts["accepted"], "unchanged", counts["unchanged"],
			"newer_already", counts["stale"], "not_mirrored", counts["not mirrored"])
	}
}
