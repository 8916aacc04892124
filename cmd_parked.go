package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

const parkedUsage = `Usage:
  statusbridge parked ls [--json]
  statusbridge parked retry <slack-user-id>
  statusbridge parked retry --all`

func runParked(ctx context.Context, env *runEnv, args []string) error {
	if len(args) == 0 {
		return usageError{"parked needs a subcommand\n" + parkedUsage}
	}
	sub, rest := args[0], args[1:]
	if isHelp(sub) {
		fmt.Fprintln(env.stdout, parkedUsage)
		return nil
	}
	var asJSON, all bool
	l := cmdLine{name: "parked " + sub, settings: storeSettings}
	switch sub {
	case "ls":
		l.usage = "[--json]"
		l.flags = func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	case "retry":
		l.usage = "<slack-user-id> | --all"
		l.flags = func(fs *flag.FlagSet) { fs.BoolVar(&all, "all", false, "retry every parked user") }
	default:
		return usageError{fmt.Sprintf("unknown parked subcommand %q\n%s", sub, parkedUsage)}
	}
	cfg, pos, err := l.parse(env, rest)
	if err != nil {
		return err
	}
	if sub == "ls" && len(pos) != 0 {
		return usageError{"parked ls takes no arguments\n" + parkedUsage}
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "ls" {
		return listParked(ctx, env, st, asJSON)
	}
	return retryParked(ctx, env, st, pos, all)
}

// listParked prints the parked users.
func listParked(ctx context.Context, env *runEnv, st store.Backend, asJSON bool) error {
	ps, err := st.ListParked(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if ps == nil {
			ps = []bridge.Parked{}
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLACK USER\tSINCE\tREASON")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.UserID, p.Since.UTC().Format(time.RFC3339), p.Reason)
	}
	return tw.Flush()
}

// retryParked un-parks one user, or all.
func retryParked(ctx context.Context, env *runEnv, st store.Backend, pos []string, all bool) error {
	switch {
	case all && len(pos) > 0:
		return usageError{"parked retry takes a Slack user id or --all, not both\n" + parkedUsage}
	case all:
		ps, err := st.ListParked(ctx)
		if err != nil {
			return err
		}
		n := 0
		for _, p := range ps {
			ok, err := st.Unpark(ctx, p.UserID, time.Now())
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		fmt.Fprintf(env.stdout, "%d parked user(s) will be retried\n", n)
	case len(pos) == 1:
		if !bridge.ValidSlackUserID(pos[0]) {
			return usageError{fmt.Sprintf("%q is not a Slack user id: want U or W followed by letters and digits", pos[0])}
		}
		ok, err := st.Unpark(ctx, pos[0], time.Now())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is not parked", pos[0])
		}
		fmt.Fprintf(env.stdout, "%s will be retried\n", pos[0])
	default:
		return usageError{"parked retry needs a Slack user id or --all\n" + parkedUsage}
	}
	return nil
}
