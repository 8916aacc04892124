package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

// twoSides opens the embedded store in dir, as serve would, and its Teams →
// Slack namespace.
func twoSides(t *testing.T, dir string) (teams, slack store.Backend) {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := store.Namespace(st, slackNamespace)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, ns
}

// parkOne submits a change for user to q, claims it and parks it with reason.
func parkOne(t *testing.T, q store.Backend, user, text, reason string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	c := bridge.Change{UserID: user, Status: bridge.Status{Text: text}, EventTime: now, Source: bridge.SourceTeams,
		Observation: "e2e@" + now.Format(time.RFC3339Nano)}
	if out, err := q.Submit(ctx, c, now); err != nil || out != bridge.Accepted {
		t.Fatalf("submit %s: %v %v", user, out, err)
	}
	jobs, err := q.Claim(ctx, now, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.UserID == user {
			if err := q.Park(ctx, j, reason, now); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := q.Release(ctx, j, now); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s was not claimed", user)
}

// runCmd runs a statusbridge command against the embedded store in dir.
func runCmd(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "STATUSBRIDGE_DATA_DIR" {
			return dir
		}
		return ""
	}
	err := run(context.Background(), args, getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

type parkedJSON struct {
	User      string    `json:"user"`
	Reason    string    `json:"reason"`
	Since     time.Time `json:"since"`
	Direction string    `json:"direction"`
}

func parkedList(t *testing.T, dir string, args ...string) []parkedJSON {
	t.Helper()
	out, _, err := runCmd(t, dir, append([]string{"parked", "ls", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var ps []parkedJSON
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("parked ls --json is not a JSON list: %v\n%s", err, out)
	}
	return ps
}

func TestParkedListsBothDirections(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	teams, slack := twoSides(t, dir)
	parkOne(t, teams, "U0CAROL01", "Lunch", "graph 404: user not found", now)
	parkOne(t, slack, "U0BOSS001", "🌴 Away", "users.profile.set: cannot_update_admin_user", now.Add(time.Minute))
	parkOne(t, slack, "U0CAROL01", "Focus", "users.profile.set: user_not_found", now.Add(2*time.Minute))
	teams.Close()

	out, _, err := runCmd(t, dir, "parked", "ls")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "DIRECTION") {
		t.Fatalf("parked ls:\n%s", out)
	}
	for _, want := range [][]string{
		{"U0CAROL01", "to Teams", "2026-12-02T09:30:00Z", "graph 404"},
		{"U0BOSS001", "to Slack", "2026-12-02T09:31:00Z", "cannot_update_admin_user"},
		{"U0CAROL01", "to Slack", "user_not_found"},
	} {
		found := false
		for _, l := range lines[1:] {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l, w)
			}
			found = found || ok
		}
		if !found {
			t.Errorf("no line with %q in:\n%s", want, out)
		}
	}

	ps := parkedList(t, dir)
	got := map[string]string{}
	for _, p := range ps {
		got[p.User+"/"+p.Direction] = p.Reason
		if p.Since.IsZero() {
			t.Errorf("%+v has no since", p)
		}
	}
	if len(ps) != 3 || !strings.Contains(got["U0CAROL01/teams"], "404") ||
		!strings.Contains(got["U0BOSS001/slack"], "cannot_update_admin_user") || !strings.Contains(got["U0CAROL01/slack"], "user_not_found") {
		t.Fatalf("parked ls --json: %+v", ps)
	}
	if ps := parkedList(t, dir, "--direction", "slack"); len(ps) != 2 || ps[0].Direction != "slack" || ps[1].Direction != "slack" {
		t.Fatalf("--direction slack: %+v", ps)
	}
	if ps := parkedList(t, dir, "--direction", "teams"); len(ps) != 1 || ps[0].User != "U0CAROL01" {
		t.Fatalf("--direction teams: %+v", ps)
	}
}

func TestParkedListIsEmptyJSONWithNothingParked(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runCmd(t, dir, "parked", "ls", "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("parked ls --json on an empty store: %q, %v", out, err)
	}
}

func TestParkedRetryBothSidesOrOne(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Add(-time.Hour)
	teams, slack := twoSides(t, dir)
	parkOne(t, teams, "U0CAROL01", "Lunch", "graph 404", now)
	parkOne(t, slack, "U0CAROL01", "Focus", "users.profile.set: user_not_found", now)
	parkOne(t, slack, "U0BOSS001", "Away", "users.profile.set: cannot_update_admin_user", now)
	parkOne(t, teams, "U0DAVE001", "Gym", "graph 403", now)
	teams.Close()

	// One side only.
	out, _, err := runCmd(t, dir, "parked", "retry", "U0CAROL01", "--direction", "slack")
	if err != nil || !strings.Contains(out, "U0CAROL01 will be retried (to Slack)") {
		t.Fatalf("retry --direction slack: %q, %v", out, err)
	}
	if ps := parkedList(t, dir); len(ps) != 3 {
		t.Fatalf("after retrying one side: %+v", ps)
	}
	// A user parked on no side of the chosen direction.
	if _, _, err := runCmd(t, dir, "parked", "retry", "U0BOSS001", "--direction", "teams"); err == nil || !strings.Contains(err.Error(), "not parked") {
		t.Fatalf("retry of a user not parked on that side: %v", err)
	}
	// Both sides by default.
	teams, slack = twoSides(t, dir)
	parkOne(t, slack, "U0CAROL01", "Focus again", "users.profile.set: user_not_found", now.Add(time.Minute))
	teams.Close()
	out, _, err = runCmd(t, dir, "parked", "retry", "U0CAROL01")
	if err != nil || !strings.Contains(out, "(to Teams, to Slack)") {
		t.Fatalf("retry of a user parked on both sides: %q, %v", out, err)
	}
	ps := parkedList(t, dir)
	if len(ps) != 2 {
		t.Fatalf("after retrying both sides: %+v", ps)
	}
	// The retried user is due again on each side.
	teams, slack = twoSides(t, dir)
	for _, q := range []store.Backend{teams, slack} {
		rec, ok, err := q.User(t.Context(), "U0CAROL01")
		if err != nil || !ok || rec.ParkedReason != "" || rec.Due.IsZero() {
			t.Fatalf("after retry: %+v ok %v err %v", rec, ok, err)
		}
	}
	teams.Close()

	out, _, err = runCmd(t, dir, "parked", "retry", "--all")
	if err != nil || !strings.Contains(out, "2 parked user(s) will be retried") {
		t.Fatalf("retry --all: %q, %v", out, err)
	}
	if ps := parkedList(t, dir); len(ps) != 0 {
		t.Fatalf("after retry --all: %+v", ps)
	}
}

func TestParkedRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"parked", "ls", "--direction", "sideways"},
		{"parked", "retry"},
		{"parked", "retry", "U0CAROL01", "--all"},
		{"parked", "retry", "carol"},
		{"parked", "ls", "U0CAROL01"},
	} {
		_, _, err := runCmd(t, dir, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
