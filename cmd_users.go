package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

const usersUsage = `Usage:
  statusbridge users show <slack-user-id> [--json]   (mapping, desired and applied status, what the bridge owns in Teams, state; with Teams → Slack, what it wrote to Slack)
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
	ss, err := readSlackSide(ctx, st, pos[0])
	if err != nil {
		return err
	}
	if asJSON {
		return writeUserJSON(env.stdout, v, rec, m, ss)
	}
	writeUser(env.stdout, v, rec, m)
	writeSlackSide(env.stdout, ss)
	return nil
}

func writeUserJSON(w io.Writer, v bridge.UserView, rec bridge.UserRecord, m bridge.Mapping, ss *slackSide) error {
	out := struct {
		bridge.UserView
		Mapping   *bridge.Mapping `json:"mapping,omitempty"`
		Desired   *bridge.Change  `json:"desired,omitempty"`
		Applied   *bridge.Applied `json:"applied,omitempty"`
		Held      string          `json:"held,omitempty"`
		Parked    string          `json:"parked,omitempty"`
		Attempts  int             `json:"attempts,omitempty"`
		LastError string          `json:"last_error,omitempty"`
		Slack     *slackSide      `json:"to_slack,omitempty"`
	}{UserView: v, Desired: rec.Desired, Applied: rec.Applied, Held: rec.Held, Parked: rec.ParkedReason,
		Attempts: rec.Attempts, LastError: rec.LastError, Slack: ss}
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

// slackSide is the Teams → Slack record of one user: what the bridge last
// wrote to their Slack status and the state of their Slack-side queue.
type slackSide struct {
	// Owned is the Slack status the bridge last wrote and Slack confirmed;
	// nil when none (or a person changed their status since).
	Owned *slackStatusView `json:"owned,omitempty"`
	// Pending are writes that may have reached Slack without an answer.
	Pending []slackStatusView `json:"pending,omitempty"`
	// Desired is the Teams message waiting to be, or last, carried to Slack.
	Desired   *string    `json:"desired,omitempty"`
	DesiredAt *time.Time `json:"desired_at,omitempty"`
	// Parked is why Slack refused for good; "" when not parked.
	Parked string `json:"parked,omitempty"`
	// Due is when the Slack-side workers next look at the user.
	Due       *time.Time `json:"due,omitempty"`
	Attempts  int        `json:"attempts,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// slackStatusView is a Slack status the bridge wrote.
type slackStatusView struct {
	// Emoji is a shortcode such as ":palm_tree:", or "".
	Emoji string `json:"emoji"`
	Text  string `json:"text"`
	// Cleared is true for a write that cleared the status.
	Cleared   bool       `json:"cleared,omitempty"`
	WrittenAt *time.Time `json:"written_at,omitempty"`
}

func (s slackStatusView) String() string {
	if s.Cleared {
		return "cleared"
	}
	return fmt.Sprintf("%q", strings.TrimSpace(s.Emoji+" "+s.Text))
}

// slackStatusOf reads a Slack-side ownership record's content (bridge.SlackKey:
// emoji name, a unit separator, text; the separator alone for a clear).
func slackStatusOf(key string) slackStatusView {
	emoji, text, ok := strings.Cut(key, "\x1f")
	if !ok {
		return slackStatusView{Text: key}
	}
	if emoji == "" && text == "" {
		return slackStatusView{Cleared: true}
	}
	if emoji != "" && strings.Trim(emoji, "abcdefghijklmnopqrstuvwxyz0123456789_+-'") == "" {
		emoji = ":" + emoji + ":"
	}
	return slackStatusView{Emoji: emoji, Text: text}
}

// readSlackSide reads user's Teams → Slack records from the slack
// namespace; nil when there are none.
func readSlackSide(ctx context.Context, st store.Backend, user string) (*slackSide, error) {
	ns, err := store.Namespace(st, slackNamespace)
	if err != nil {
		return nil, err
	}
	rec, hasRec, err := ns.User(ctx, user)
	if err != nil {
		return nil, err
	}
	o, hasOwned, err := ns.GetOwned(ctx, user)
	if err != nil {
		return nil, err
	}
	if !hasRec && !hasOwned {
		return nil, nil
	}
	ss := &slackSide{Parked: rec.ParkedReason, Attempts: rec.Attempts, LastError: rec.LastError}
	if o.Content != "" {
		v := slackStatusOf(o.Content)
		if !o.WrittenAt.IsZero() {
			at := o.WrittenAt.UTC()
			v.WrittenAt = &at
		}
		ss.Owned = &v
	}
	for _, p := range o.Pending {
		ss.Pending = append(ss.Pending, slackStatusOf(p))
	}
	if rec.Desired != nil {
		text, at := rec.Desired.Status.Text, rec.Desired.EventTime.UTC()
		ss.Desired, ss.DesiredAt = &text, &at
	}
	if !rec.Due.IsZero() {
		due := rec.Due.UTC()
		ss.Due = &due
	}
	return ss, nil
}

// writeSlackSide prints the Teams → Slack lines of users show, when there are records.
func writeSlackSide(w io.Writer, ss *slackSide) {
	if ss == nil {
		return
	}
	line := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", v) }
	owned := "-"
	if ss.Owned != nil {
		owned = ss.Owned.String()
		if ss.Owned.WrittenAt != nil {
			owned += fmt.Sprintf(" (written %s)", ss.Owned.WrittenAt.Format(time.RFC3339))
		}
	}
	line("slack owned", owned)
	if len(ss.Pending) > 0 {
		ps := make([]string, len(ss.Pending))
		for i, p := range ss.Pending {
			ps[i] = p.String()
		}
		line("slack pending", strings.Join(ps, ", ")+" (sent, not confirmed)")
	}
	if ss.Desired != nil {
		msg := fmt.Sprintf("%q", *ss.Desired)
		if *ss.Desired == "" {
			msg = "cleared"
		}
		line("from teams", fmt.Sprintf("%s at %s", msg, ss.DesiredAt.Format(time.RFC3339)))
	}
	if ss.Parked != "" {
		line("slack parked", ss.Parked)
	}
	if ss.Due != nil {
		line("slack due", ss.Due.Format(time.RFC3339))
	}
	if ss.LastError != "" {
		line("slack error", fmt.Sprintf("%s (%d attempts)", ss.LastError, ss.Attempts))
	}
}
