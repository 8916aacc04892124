package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

const parkedUsage = `Usage:
  statusbridge parked ls [--json] [--direction teams|slack]
  statusbridge parked retry <slack-user-id> [--direction teams|slack]
  statusbridge parked retry --all [--direction teams|slack]

A user is parked on one side when that side refused for good: Graph for
Slack → Teams ("to Teams"), Slack's users.profile.set for Teams → Slack
("to Slack", such as cannot_update_admin_user). Without --direction both
sides are listed and retried.`

// Directions of the two flows, as parked prints them and --direction takes them.
const (
	dirTeams = "teams" // Slack → Teams
	dirSlack = "slack" // Teams → Slack
)

// parkedEntry is one parked user on one side.
type parkedEntry struct {
	bridge.Parked
	// Direction is the flow the user is parked in: "teams" (Slack → Teams)
	// or "slack" (Teams → Slack).
	Direction string `json:"direction"`
}

// directionLabel is how the table names a direction.
func directionLabel(dir string) string {
	if dir == dirSlack {
		return "to Slack"
	}
	return "to Teams"
}

// parkedSide is one flow's queue, as parked reads and retries it.
type parkedSide struct {
	dir string
	q   bridge.Admin
}

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
	var direction string
	dirFlag := func(fs *flag.FlagSet) {
		fs.StringVar(&direction, "direction", "", "only this flow: teams (Slack → Teams) or slack (Teams → Slack); default both")
	}
	l := cmdLine{name: "parked " + sub, settings: storeSettings}
	switch sub {
	case "ls":
		l.usage = "[--json] [--direction teams|slack]"
		l.flags = func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON"); dirFlag(fs) }
	case "retry":
		l.usage = "<slack-user-id> | --all [--direction teams|slack]"
		l.flags = func(fs *flag.FlagSet) { fs.BoolVar(&all, "all", false, "retry every parked user"); dirFlag(fs) }
	default:
		return usageError{fmt.Sprintf("unknown parked subcommand %q\n%s", sub, parkedUsage)}
	}
	cfg, pos, err := l.parse(env, rest)
	if err != nil {
		return err
	}
	switch direction {
	case "", dirTeams, dirSlack:
	default:
		return usageError{fmt.Sprintf("--direction %q: want teams (Slack → Teams) or slack (Teams → Slack)\n%s", direction, parkedUsage)}
	}
	if sub == "ls" && len(pos) != 0 {
		return usageError{"parked ls takes no arguments\n" + parkedUsage}
	}
	if sub == "retry" {
		// Check the arguments before opening the store.
		switch {
		case all && len(pos) > 0:
			return usageError{"parked retry takes a Slack user id or --all, not both\n" + parkedUsage}
		case !all && len(pos) != 1:
			return usageError{"parked retry needs a Slack user id or --all\n" + parkedUsage}
		case !all && !bridge.ValidSlackUserID(pos[0]):
			return usageError{fmt.Sprintf("%q is not a Slack user id: want U or W followed by letters and digits", pos[0])}
		}
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	sides, err := parkedSides(st, direction)
	if err != nil {
		return err
	}
	if sub == "ls" {
		return listParked(ctx, env, sides, asJSON)
	}
	user := ""
	if !all {
		user = pos[0]
	}
	return retryParked(ctx, env, sides, user, time.Now())
}

// parkedSides returns the queues of the chosen direction ("" for both):
// the Slack → Teams queue is st's own, the Teams → Slack queue lives in
// st's slack namespace.
func parkedSides(st store.Backend, direction string) ([]parkedSide, error) {
	var sides []parkedSide
	if direction != dirSlack {
		sides = append(sides, parkedSide{dirTeams, st})
	}
	if direction != dirTeams {
		ns, err := store.Namespace(st, slackNamespace)
		if err != nil {
			return nil, err
		}
		sides = append(sides, parkedSide{dirSlack, ns})
	}
	return sides, nil
}

// parkedOn lists the parked users of every side, side by side in order.
func parkedOn(ctx context.Context, sides []parkedSide) ([]parkedEntry, error) {
	out := []parkedEntry{}
	for _, s := range sides {
		ps, err := s.q.ListParked(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing users parked %s: %w", directionLabel(s.dir), err)
		}
		for _, p := range ps {
			out = append(out, parkedEntry{Parked: p, Direction: s.dir})
		}
	}
	return out, nil
}

// listParked prints the parked users of both flows.
func listParked(ctx context.Context, env *runEnv, sides []parkedSide, asJSON bool) error {
	ps, err := parkedOn(ctx, sides)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLACK USER\tDIRECTION\tSINCE\tREASON")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.UserID, directionLabel(p.Direction), p.Since.UTC().Format(time.RFC3339), p.Reason)
	}
	return tw.Flush()
}

// retryParked un-parks user ("" for every parked user) on each side.
func retryParked(ctx context.Context, env *runEnv, sides []parkedSide, user string, now time.Time) error {
	if user == "" {
		ps, err := parkedOn(ctx, sides)
		if err != nil {
			return err
		}
		n := 0
		for _, p := range ps {
			for _, s := range sides {
				if s.dir != p.Direction {
					continue
				}
				ok, err := s.q.Unpark(ctx, p.UserID, now)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
		}
		fmt.Fprintf(env.stdout, "%d parked user(s) will be retried\n", n)
		return nil
	}
	var retried []string
	for _, s := range sides {
		ok, err := s.q.Unpark(ctx, user, now)
		if err != nil {
			return err
		}
		if ok {
			retried = append(retried, directionLabel(s.dir))
		}
	}
	if len(retried) == 0 {
		return fmt.Errorf("%s is not parked", user)
	}
	fmt.Fprintf(env.stdout, "%s will be retried (%s)\n", user, strings.Join(retried, ", "))
	return nil
}
