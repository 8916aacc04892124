package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

const (
	alice      = "U024BE7LH"
	aliceID    = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
	bob        = "U0BOB0001"
	bobID      = "0c4b2a55-3e63-4b8e-9d3a-2f1d1a3c9e11"
	team       = slacktest.TeamID // the workspace the stand-in says the app is installed in
	wantLayout = "2006-01-02T15:04:05"
)

var eventSeq atomic.Int64

func nextEventID() string { return fmt.Sprintf("Ev%010d", eventSeq.Add(1)) }

// world is one bridge with its Redis, Graph stand-in and environment.
type world struct {
	redis *redistest.Server
	graph *fakegraph.Server
	env   []string
}

func newWorld(t *testing.T, extra ...string) *world {
	t.Helper()
	w := &world{redis: redistest.Start(t), graph: fakegraph.Start(t)}
	w.graph.AddUser(fakegraph.User{ID: aliceID, UPN: "alice@corp.example", Mail: "alice@corp.example"})
	w.graph.AddUser(fakegraph.User{ID: bobID, UPN: "bob@corp.example", Mail: "bob@corp.example"})
	w.env = baseEnv(append(append(w.graph.Env(),
		"REDIS_URL="+w.redis.URL(),
		"SLACK_SIGNING_SECRET="+signingSecret,
		"STATUSBRIDGE_LEASE=10s",
	), extra...)...)
	return w
}

// okCalls returns the successful setStatusMessage calls for a user.
func (w *world) okCalls(user string) []fakegraph.StatusCall {
	var out []fakegraph.StatusCall
	for _, c := range w.graph.StatusCalls() {
		if c.UserID == user && c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) waitCalls(t *testing.T, user string, n int) []fakegraph.StatusCall {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%d successful Graph call(s) for %s", n, user), func() bool {
		return len(w.okCalls(user)) >= n
	})
	return w.okCalls(user)
}

func event(typ, id, user string, at time.Time, text, emoji string, exp int64) []byte {
	return slacktest.StatusEvent(typ, id, team, user, at, text, emoji, exp)
}

// TestStatusReachesTeams follows one employee's statuses through the built
// binary: the seed's examples, emoji, clearing, Slack's retries and the event
// pair, out-of-order delivery and forged requests.
func TestStatusReachesTeams(t *testing.T) {
	w := newWorld(t)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	now := time.Now()

	// Example 1: text with expiry.
	exp := now.Add(4 * 24 * time.Hour).Truncate(time.Second)
	ev1 := nextEventID()
	if code, body := p.send(t, event("user_status_changed", ev1, alice, now, "Hey I'm currently in a meeting.", "", exp.Unix())); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "Hey I'm currently in a meeting." || c.ContentType != "text" || !c.HasExpiry ||
		c.ExpiryDateTime != exp.UTC().Format(wantLayout) || c.TimeZone != "UTC" {
		t.Fatalf("Graph got %+v, body %s", c, c.Body)
	}

	// Slack's retry of the same event and the paired user_change cost nothing.
	if code, _ := p.send(t, event("user_status_changed", ev1, alice, now, "Hey I'm currently in a meeting.", "", exp.Unix()),
		"X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"); code != 200 {
		t.Fatalf("retry answered %d", code)
	}
	if code, _ := p.send(t, event("user_change", nextEventID(), alice, now, "Hey I'm currently in a meeting.", "", exp.Unix())); code != 200 {
		t.Fatalf("pair answered %d", code)
	}

	// Example 2: no expiry, and no expiryDateTime at all.
	now = now.Add(time.Second)
	p.send(t, event("user_status_changed", nextEventID(), alice, now, "Hey I am available now", "", 0))
	c = w.waitCalls(t, aliceID, 2)[1]
	if c.Content != "Hey I am available now" || c.HasExpiry || strings.Contains(string(c.Body), "expiryDateTime") {
		t.Fatalf("Graph got %+v, body %s", c, c.Body)
	}

	// Emoji becomes Unicode before the text.
	now = now.Add(time.Second)
	p.send(t, event("user_status_changed", nextEventID(), alice, now, "Vacationing", ":palm_tree:", 0))
	c = w.waitCalls(t, aliceID, 3)[2]
	if c.Content != "🌴 Vacationing" {
		t.Fatalf("content = %q, want %q", c.Content, "🌴 Vacationing")
	}

	// Out of order: the newer change lands, the older one that arrives later never does.
	newer, older := now.Add(10*time.Second), now.Add(5*time.Second)
	p.send(t, event("user_status_changed", nextEventID(), alice, newer, "Newest", "", 0))
	c = w.waitCalls(t, aliceID, 4)[3]
	if c.Content != "Newest" {
		t.Fatalf("content = %q, want Newest", c.Content)
	}
	if code, _ := p.send(t, event("user_status_changed", nextEventID(), alice, older, "Older", "", 0)); code != 200 {
		t.Fatalf("older event answered %d", code)
	}

	// Forged signature and stale timestamp: 401, nothing reaches Teams.
	forged := event("user_status_changed", nextEventID(), alice, newer.Add(time.Second), "Forged", "", 0)
	req := slacktest.NewRequest(p.url("/slack/events"), "not-the-secret", time.Now(), forged)
	if code, _ := do(t, req); code != 401 {
		t.Fatalf("forged request answered %d, want 401", code)
	}
	req = slacktest.NewRequest(p.url("/slack/events"), signingSecret, time.Now().Add(-6*time.Minute), forged)
	if code, _ := do(t, req); code != 401 {
		t.Fatalf("stale request answered %d, want 401", code)
	}

	// Clearing in Slack clears in Teams.
	p.send(t, event("user_status_changed", nextEventID(), alice, newer.Add(2*time.Second), "", "", 0))
	c = w.waitCalls(t, aliceID, 5)[4]
	if c.Content != "" || c.ContentType != "text" || c.HasExpiry {
		t.Fatalf("clear sent %+v, body %s", c, c.Body)
	}

	// Give a late duplicate, the stale event or a forged one time to show up, then count.
	time.Sleep(time.Second)
	calls := w.okCalls(aliceID)
	if len(calls) != 5 {
		for _, c := range calls {
			t.Logf("call: %q", c.Content)
		}
		t.Fatalf("%d Graph calls, want exactly 5 (retries, pairs, stale and forged events must cost none)", len(calls))
	}
	for _, c := range calls {
		if c.Content == "Older" || c.Content == "Forged" {
			t.Fatalf("%q reached Teams", c.Content)
		}
	}
}

// TestUnmappedUserWaitsForMapping: a change for an unmapped user is kept and
// applied once an admin maps the user, while serve runs.
func TestUnmappedUserWaitsForMapping(t *testing.T) {
	w := newWorld(t)
	p := startServe(t, w.env)
	if code, _ := p.send(t, event("user_status_changed", nextEventID(), bob, time.Now(), "Commuting", ":bus:", 0)); code != 200 {
		t.Fatalf("event answered %d", code)
	}
	eventually(t, 15*time.Second, "the unmapped user to be logged", func() bool {
		return strings.Contains(p.out.String(), "unmapped")
	})
	if n := len(w.graph.StatusCalls()); n != 0 {
		t.Fatalf("%d Graph calls for an unmapped user", n)
	}
	mustCLI(t, w.env, "mapping", "set", bob, bobID)
	c := w.waitCalls(t, bobID, 1)[0]
	if c.Content != "🚌 Commuting" {
		t.Fatalf("content = %q", c.Content)
	}
	if n := strings.Count(p.out.String(), "unmapped"); n != 1 {
		t.Fatalf("unmapped logged %d times, want once", n)
	}
}
