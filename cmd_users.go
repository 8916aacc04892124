package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

const usersUsage = `Usage:
  statusbridge users show <slack-user-id> [--json]   (mapping, desired and applied status, what the bridge owns in Teams, state)
  statusbridge users pause <slack-user-id>           (stop mirroring; the bridge clears what it set in Teams)
  statusbridge users resume <slack-user-id>          (mirror again, starting with the current status)`

func runUsers(ctx context.Context, env *runEnv, args []string) error {
	if len(args) == 0 {
		return usageError{"users needs a subcommand\n" + usersUsage}
	}
	sub, rest := args[0], args[1:]
	if isHelp(sub) {
		fmt.Fprintln(env.stdout, usersUsage)
		return nil
	}
	if sub != "show" && sub != "pause" && sub != "resume" {
		return usageError{fmt.Sprintf("unknown users subcommand %q\n%s", sub, usersUsage)}
	}
	var asJSON bool
	l := cmdLine{name: "users " + sub, usage: "<slack-user-id>",
		settings: group(storeSettings, []string{"STATUSBRIDGE_MIRROR_DEFAULT"})}
	if sub == "show" {
		l.usage += " [--json]"
		l.flags = func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") }
	}
	cfg, pos, err := l.parse(env, rest)
	if err != nil {
		return err
	}
	if err := wantArgs("users "+sub, pos, 1, usersUsage); err != nil {
		return err
	}
	if !bridge.ValidSlackUserID(pos[0]) {
		return usageError{fmt.Sprintf("%q is not a Slack user id: want U or W followed by letters and digits, such as U024BE7LH", pos[0])}
	}
	st, err := openAdmin(ctx, cfg, quietLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	c := &bridge.Controls{Store: st, OptIn: cfg.MirrorDefault == "off"}
	var v bridge.UserView
	switch sub {
	case "pause":
		v, err = c.Pause(ctx, pos[0])
	case "resume":
		v, err = c.Resume(ctx, pos[0])
	default:
		v, err = c.View(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	if sub != "show" {
		fmt.Fprintf(env.stdout, "%s: %s\n", pos[0], v.State)
		return nil
	}
	rec, _, err := st.User(ctx, pos[0])
	if err != nil {
		return err
	}
	m, _, err := st.GetMapping(ctx, pos[0])
	if err != nil {
		return err
	}
	if asJSON {
		return writeUserJSON(env.stdout, v, rec, m)
	}
	writeUser(env.stdout, v, rec, m)
	return nil
}

func writeUserJSON(w io.Writer, v bridge.UserView, rec bridge.UserRecord, m bridge.Mapping) error {
	out := struct {
		bridge.UserView
		Mapping   *bridge.Mapping `json:"mapping,omitempty"`
		Desired   *bridge.Change  `json:"desired,omitempty"`
		Applied   *bridge.Applied `json:"applied,omitempty"`
		Held      string          `json:"held,omitempty"`
		Parked    string          `json:"parked,omitempty"`
		Attempts  int             `json:"attempts,omitempty"`
		LastError string          `json:"last_error,omitempty"`
	}{UserView: v, Desired: rec.Desired, Applied: rec.Applied, Held: rec.Held, Parked: rec.ParkedReason,
		Attempts: rec.Attempts, LastError: rec.LastError}
	if m.SlackUserID != "" {
		out.Mapping = &m
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeUser(w io.Writer, v bridge.UserView, rec bridge.UserRecord, m bridge.Mapping) {
	line := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", v) }
	line("user", v.UserID)
	line("state", string(v.State))
	if v.Reason != "" {
		line("why", v.Reason)
	}
	if m.SlackUserID != "" {
		line("mapping", fmt.Sprintf("%s (%s, %s)", orDash(m.EntraID), m.Source, m.Detail))
	} else {
		line("mapping", "-")
	}
	desired := "-"
	if rec.Desired != nil {
		desired = fmt.Sprintf("%q at %s (%s)", bridge.Render(rec.Desired.Status, time.Now()).Content,
			rec.Desired.EventTime.UTC().Format(time.RFC3339), rec.Desired.Source)
	}
	line("desired", desired)
	applied := "-"
	if rec.Applied != nil && rec.Applied.EntraID != "" {
		applied = fmt.Sprintf("%q to %s at %s", rec.Applied.Message.Content, rec.Applied.EntraID, rec.Applied.AppliedAt.UTC().Format(time.RFC3339))
	}
	line("applied", applied)
	owned := "-"
	if v.Showing != "" {
		owned = fmt.Sprintf("%q (written %s)", v.Showing, v.LastSync.UTC().Format(time.RFC3339))
	}
	line("owned", owned)
	if rec.Held != "" {
		line("held", fmt.Sprintf("%q set in Teams by a person", rec.Held))
	}
	if rec.ParkedReason != "" {
		line("parked", rec.ParkedReason)
	}
	if rec.LastError != "" {
		line("last error", fmt.Sprintf("%s (%d attempts)", rec.LastError, rec.Attempts))
	}
}
