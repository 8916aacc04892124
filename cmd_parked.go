package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
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
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(env.stdout, parkedUsage)
		return nil
	}
	var asJSON, all bool
	pos, _ := splitPositional(rest)
	var extra func(fs flagSet)
	switch sub {
	case "ls":
		if len(pos) != 0 {
			return usageError{"parked ls takes no arguments\n" + parkedUsage}
		}
		extra = func(fs flagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	case "retry":
		extra = func(fs flagSet) { fs.BoolVar(&all, "all", false, "retry every parked user") }
	default:
		return usageError{fmt.Sprintf("unknown parked subcommand %q\n%s", sub, parkedUsage)}
	}
	st, _, err := openAdminStore(ctx, env, "parked "+sub, flagsOnly(rest), extra)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "ls":
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
	case "retry":
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
	}
	return nil
}

// runHealthcheck asks the local bridge's /healthz, for container health checks.
func runHealthcheck(ctx context.Context, env *runEnv, args []string) error {
	cfg, err := loadConfig(env, "healthcheck", "[flags]", args, nil)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.get("STATUSBRIDGE_LISTEN"))
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: /healthz answered %s", resp.Status)
	}
	fmt.Fprintln(env.stdout, "healthy")
	return nil
}
