package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// TestReconcileRepairsMissedEvents: `statusbridge reconcile` reads Slack's
// directory and brings Teams up to date for a change whose event was never
// delivered; a second pass over unchanged users costs no Graph call.
func TestReconcileRepairsMissedEvents(t *testing.T) {
	const botToken = "xoxb-reconcile-test-token"
	api := slacktest.StartAPI(t, botToken)
	api.SetPageSize(1) // several pages
	api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Vacationing", StatusEmoji: ":palm_tree:"})
	api.AddUser(slacktest.User{ID: bob, TeamID: team, Email: "bob@corp.example"})
	api.AddUser(slacktest.User{ID: "U0BOT0001", TeamID: team, Bot: true, StatusText: "beep"})
	w := newWorld(t, "SLACK_BOT_TOKEN="+botToken, "SLACK_API_URL="+api.URL)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	mustCLI(t, w.env, "mapping", "set", bob, bobID)
	startServe(t, w.env)

	out := mustCLI(t, w.env, "reconcile")
	if !strings.Contains(out, "2 changed") || !strings.Contains(out, "1 not mirrored") {
		t.Fatalf("reconcile said %q", out)
	}
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "🌴 Vacationing" {
		t.Fatalf("content %q", c.Content)
	}
	out = mustCLI(t, w.env, "reconcile")
	if !strings.Contains(out, "0 changed") || !strings.Contains(out, "2 unchanged") {
		t.Fatalf("second reconcile said %q", out)
	}
	time.Sleep(time.Second)
	if n := len(w.okCalls(aliceID)); n != 1 {
		t.Fatalf("%d calls for alice, want 1", n)
	}
	// Bob's status is empty and the bridge never set one: nothing to clear.
	if n := len(w.okCalls(bobID)); n != 0 {
		t.Fatalf("%d calls for bob, want none", n)
	}
}

// TestReconcileInsideServe: with STATUSBRIDGE_RECONCILE_INTERVAL set, serve
// repairs a change whose event never arrived, by itself.
func TestReconcileInsideServe(t *testing.T) {
	const botToken = "xoxb-reconcile-serve-token"
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Lost event", StatusEmoji: ":zzz:"})
	w := newWorld(t, "SLACK_BOT_TOKEN="+botToken, "SLACK_API_URL="+api.URL, "STATUSBRIDGE_RECONCILE_INTERVAL=5s")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "💤 Lost event" {
		t.Fatalf("content %q", c.Content)
	}
	eventually(t, 20*time.Second, "a reconcile pass to be logged", func() bool {
		return strings.Contains(p.out.String(), "reconcile pass done")
	})
}
