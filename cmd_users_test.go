package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

func TestUsersShowPrintsTheSlackSide(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	teams, slack := twoSides(t, dir)
	ctx := t.Context()
	// Alice: the bridge wrote her Teams message to Slack, and a newer one waits.
	written := bridge.Owned{EntraID: "U0ALICE01", SlackUserID: "U0ALICE01"}.
		Confirm(bridge.SlackKey(bridge.SlackStatus{Emoji: ":palm_tree:", Text: "On leave until Monday"}), now)
	if err := slack.PutOwned(ctx, written); err != nil {
		t.Fatal(err)
	}
	c := bridge.Change{UserID: "U0ALICE01", Status: bridge.Status{Text: "🍕 Lunch"}, EventTime: now.Add(time.Hour),
		Source: bridge.SourceTeams, Observation: "x@1"}
	if _, err := slack.Submit(ctx, c, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Bob: Slack refused (an admin's profile).
	parkOne(t, slack, "U0BOSS001", "Away", "users.profile.set: cannot_update_admin_user", now)
	// Carol: only the Teams side knows her.
	parkOne(t, teams, "U0CAROL01", "Lunch", "graph 404", now)
	teams.Close()

	out, _, err := runCmd(t, dir, "users", "show", "U0ALICE01")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`slack owned:  ":palm_tree: On leave until Monday" (written 2026-12-02T09:30:00Z)`,
		`from teams:   "🍕 Lunch" at 2026-12-02T10:30:00Z`,
		`slack due:    2026-12-02T10:30:00Z`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("users show U0ALICE01 lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCmd(t, dir, "users", "show", "U0BOSS001")
	if err != nil || !strings.Contains(out, "slack parked: users.profile.set: cannot_update_admin_user\n") ||
		!strings.Contains(out, "slack owned:  -\n") || strings.Contains(out, "slack due") {
		t.Fatalf("users show U0BOSS001 (%v):\n%s", err, out)
	}
	out, _, err = runCmd(t, dir, "users", "show", "U0CAROL01")
	if err != nil || strings.Contains(out, "slack") || !strings.Contains(out, "parked:       graph 404") {
		t.Fatalf("users show of a user without Slack-side records (%v):\n%s", err, out)
	}

	out, _, err = runCmd(t, dir, "users", "show", "U0ALICE01", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		User    string `json:"user"`
		ToSlack *struct {
			Owned *struct {
				Emoji, Text string
				WrittenAt   time.Time `json:"written_at"`
			} `json:"owned"`
			Desired *string    `json:"desired"`
			Due     *time.Time `json:"due"`
			Parked  string     `json:"parked"`
		} `json:"to_slack"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("users show --json: %v\n%s", err, out)
	}
	if v.User != "U0ALICE01" || v.ToSlack == nil || v.ToSlack.Owned == nil || v.ToSlack.Owned.Emoji != ":palm_tree:" ||
		v.ToSlack.Owned.Text != "On leave until Monday" || !v.ToSlack.Owned.WrittenAt.Equal(now) ||
		v.ToSlack.Desired == nil || *v.ToSlack.Desired != "🍕 Lunch" || v.ToSlack.Due == nil {
		t.Fatalf("users show --json:\n%s", out)
	}
	out, _, _ = runCmd(t, dir, "users", "show", "U0CAROL01", "--json")
	if strings.Contains(out, "to_slack") {
		t.Fatalf("users show --json of a user without Slack-side records:\n%s", out)
	}
}

func TestSlackStatusOfReadsOwnedContent(t *testing.T) {
	for _, tc := range []struct {
		in   bridge.SlackStatus
		want string
	}{
		{bridge.SlackStatus{Emoji: ":palm_tree:", Text: "On leave"}, `":palm_tree: On leave"`},
		{bridge.SlackStatus{Text: "No emoji"}, `"No emoji"`},
		{bridge.SlackStatus{Emoji: ":+1:"}, `":+1:"`},
		{bridge.SlackStatus{}, "cleared"},
	} {
		if got := slackStatusOf(bridge.SlackKey(tc.in)).String(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.in, got, tc.want)
		}
	}
}
