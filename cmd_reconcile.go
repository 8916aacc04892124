package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// runReconcile pages Slack's directory and submits every user's current
// status as a change. The same path as events dedupes it: users whose status
// is unchanged cost nothing, and a status that Slack events already brought
// newer is never overwritten (the pass counts as of the moment it started).
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
	engine := &bridge.Engine{Queue: st}
	// The pass counts as a little older than its start, so that an event of
	// about the same moment (Slack's clock against this host's) wins the tie.
	started := time.Now().Truncate(time.Second).Add(-2 * time.Second)
	counts := map[string]int{}
	err = dir.Users(ctx, func(u bridge.SlackUser, s bridge.Status) error {
		if u.Bot || u.Deleted || u.External || u.ID == "USLACKBOT" {
			counts["not mirrored"]++
			return nil
		}
		out, err := engine.Submit(ctx, bridge.Change{UserID: u.ID, TeamID: u.TeamID, Status: s, EventTime: started, Source: bridge.SourceReconcile})
		if err != nil {
			return fmt.Errorf("storing %s: %w", u.ID, err)
		}
		counts[out.String()]++
		if n := counts["accepted"] + counts["unchanged"] + counts["stale"]; n%500 == 0 {
			fmt.Fprintf(env.stderr, "… %d users read\n", n)
		}
		return nil
	})
	fmt.Fprintf(env.stdout, "reconciled: %d changed, %d unchanged, %d newer already, %d not mirrored\n",
		counts["accepted"], counts["unchanged"], counts["stale"], counts["not mirrored"])
	return err
}
