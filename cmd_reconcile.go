package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/mapping"
	"github.com/statusbridge/statusbridge/slackhandler"
)

var reconcileLine = cmdLine{name: "reconcile", settings: group(storeSettings, slackAPISettings)}

// runReconcile runs one reconcile pass from the command line.
func runReconcile(ctx context.Context, env *runEnv, args []string) error {
	st, cfg, pos, err := openAdminStore(ctx, env, reconcileLine, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := wantArgs("reconcile", pos, 0, "Usage: statusbridge reconcile [flags]"); err != nil {
		return err
	}
	if cfg.SlackBotToken == "" {
		return errors.New("SLACK_BOT_TOKEN is not set: reconcile reads Slack's directory (users.list) with the bot token")
	}
	allow, err := allowedOrg(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	r := newReconciler(cfg, &bridge.Engine{Queue: st}, allow)
	bar := newProgress(env.stderr, "users read", 0, 500)
	r.Progress = bar.Set
	counts, err := r.Pass(ctx)
	bar.Done(counts.Read())
	fmt.Fprintf(env.stdout, "reconciled: %d changed, %d unchanged, %d newer already, %d not mirrored\n",
		counts.Changed, counts.Unchanged, counts.Newer, counts.NotMirrored)
	return err
}

// newReconciler reads Slack's directory with the bot token into engine;
// only the users of the allowed org (nil: any) are mirrored.
func newReconciler(cfg *Config, engine *bridge.Engine, allow func(team, enterprise string) bool) *bridge.Reconciler {
	return &bridge.Reconciler{
		Directory: slackhandler.NewDirectory(cfg.SlackBotToken, cfg.SlackAPIURL),
		Submitter: engine,
		Mirrored: func(u bridge.SlackUser) bool {
			// Email is not needed to mirror an admin-mapped user.
			u.Email = "-"
			ok, _ := mapping.Mirrored(u, allow)
			return ok
		},
	}
}
