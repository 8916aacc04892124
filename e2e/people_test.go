package e2e

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// pworld is a bridge with a bot token: App Home, resume and the org rule work.
type pworld struct{ *dworld }

func newPeopleWorld(t *testing.T, extra ...string) *pworld {
	t.Helper()
	d := newDiscoveryWorld(t, extra...)
	d.slackUser(alice, "alice@corp.example")
	d.slackUser(bob, "bob@corp.example")
	mustCLI(t, d.env, "mapping", "set", alice, aliceID)
	return &pworld{d}
}

// command runs /teams-status as Slack posts it: form-encoded and signed, to
// the one request URL.
func command(t *testing.T, p *bridgeProc, secret, user, text string) (int, string) {
	t.Helper()
	req := slacktest.SignedForm(p.url("/slack/events"), secret, time.Now(), slacktest.SlashCommand(team, "", user, text))
	return do(t, req)
}

// teamsShows is what a presence read of the Graph stand-in returns now.
func (w *world) teamsShows(id string) string {
	c, _, _ := w.graph.StatusMessage(id)
	return c
}

func (w *world) contents(id string) []string {
	var out []string
	for _, c := range w.okCalls(id) {
		out = append(out, c.Content)
	}
	return out
}

// TestHandSetTeamsMessageIsRespected: a message a person typed in Teams is
// neither overwritten by a Slack change nor wiped by a Slack clear; once it
// is gone, the next Slack change is mirrored again.
func TestHandSetTeamsMessageIsRespected(t *testing.T) {
	w := newPeopleWorld(t)
	w.graph.SetMessageByHand(aliceID, fakegraph.TeamsMessage{Content: "<p>Out sick &amp; offline,<br>call my mobile</p>", ContentType: "html"})
	p := startServe(t, w.env)

	w.change(t, p, alice, "Lunch")
	eventually(t, 30*time.Second, "the bridge to hold", func() bool {
		return strings.Contains(p.out.String(), "Teams shows a message a person set")
	})
	out := mustCLI(t, w.env, "users", "show", alice)
	if !strings.Contains(out, "held: set in Teams") || !strings.Contains(out, "Out sick & offline, call my mobile") {
		t.Fatalf("users show:\n%s", out)
	}
	w.change(t, p, alice, "") // a Slack clear
	eventually(t, 30*time.Second, "the clear to be held too", func() bool {
		return strings.Count(p.out.String(), "Teams shows a message a person set") >= 1 &&
			strings.Contains(mustCLI(t, w.env, "users", "show", alice, "--json"), `"desired"`)
	})
	time.Sleep(time.Second) // let the worker take the clear
	if n := len(w.okCalls(aliceID)); n != 0 {
		t.Fatalf("the bridge wrote %d time(s) over a message a person set: %v", n, w.contents(aliceID))
	}
	if got := w.teamsShows(aliceID); !strings.Contains(got, "Out sick") {
		t.Fatalf("Teams shows %q", got)
	}

	// The person clears Teams; the next Slack change is mirrored.
	w.graph.SetMessageByHand(aliceID, fakegraph.TeamsMessage{})
	w.change(t, p, alice, "Back at my desk")
	calls := w.waitCalls(t, aliceID, 1)
	if calls[0].Content != "Back at my desk" {
		t.Fatalf("Graph got %q", calls[0].Content)
	}
	if out := mustCLI(t, w.env, "users", "show", alice); !strings.Contains(out, "state:        mirrored") {
		t.Fatalf("users show after mirroring again:\n%s", out)
	}
	// What the bridge wrote is its own: a Slack clear clears it.
	w.change(t, p, alice, "")
	eventually(t, 30*time.Second, "the bridge's own message cleared", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == ""
	})
}

// TestOverwriteSetting: with STATUSBRIDGE_TEAMS_CONFLICT=overwrite the Slack
// status replaces a message a person set.
func TestOverwriteSetting(t *testing.T) {
	w := newPeopleWorld(t, "STATUSBRIDGE_TEAMS_CONFLICT=overwrite")
	w.graph.SetMessageByHand(aliceID, fakegraph.TeamsMessage{Content: "Out sick"})
	p := startServe(t, w.env)
	w.change(t, p, alice, "Lunch")
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "Lunch" {
		t.Fatalf("Graph got %q", c.Content)
	}
}

// TestPauseAndResumeBySlashCommand: /teams-status over HTTP, signed and
// form-encoded at /slack/events. Pause clears what the bridge set and costs
// no call afterwards; resume applies the current status; a forged command
// changes nothing.
func TestPauseAndResumeBySlashCommand(t *testing.T) {
	w := newPeopleWorld(t)
	p := startServe(t, w.env)
	w.change(t, p, alice, "Lunch")
	w.waitCalls(t, aliceID, 1)

	code, body := command(t, p, signingSecret, alice, "")
	if code != http.StatusOK || !strings.Contains(body, "mirrored") || !strings.Contains(body, aliceID) ||
		!strings.Contains(body, "ephemeral") {
		t.Fatalf("show answered %d %s", code, body)
	}
	if code, body := command(t, p, "not-the-signing-secret", alice, "pause"); code != http.StatusUnauthorized {
		t.Fatalf("a forged command answered %d %s", code, body)
	}
	if out := mustCLI(t, w.env, "users", "show", alice); !strings.Contains(out, "state:        mirrored") {
		t.Fatalf("a forged command changed the state:\n%s", out)
	}

	code, body = command(t, p, signingSecret, alice, "pause")
	if code != http.StatusOK || !strings.Contains(body, "paused") {
		t.Fatalf("pause answered %d %s", code, body)
	}
	eventually(t, 30*time.Second, "the bridge's message cleared on pause", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == ""
	})
	before := len(w.graph.StatusCalls())
	reads := w.graph.PresenceReads().Calls
	w.change(t, p, alice, "In a meeting")
	// users.info shows what the events said (resume reads it).
	w.slack.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "In a meeting"})
	eventually(t, 30*time.Second, "the paused change to be taken", func() bool {
		return strings.Contains(scrape(t, p), `statusbridge_updates_skipped_total{reason="not mirrored"}`)
	})
	if n := len(w.graph.StatusCalls()) - before; n != 0 {
		t.Fatalf("a paused employee cost %d Graph call(s)", n)
	}
	if n := w.graph.PresenceReads().Calls - reads; n != 0 {
		t.Fatalf("a paused employee cost %d presence read(s)", n)
	}

	code, body = command(t, p, signingSecret, alice, "resume")
	if code != http.StatusOK || !strings.Contains(body, "mirrored") {
		t.Fatalf("resume answered %d %s", code, body)
	}
	eventually(t, 30*time.Second, "resume to apply the current status", func() bool {
		c := w.contents(aliceID)
		return len(c) == 3 && c[2] == "In a meeting"
	})
	if code, body := command(t, p, signingSecret, alice, "help"); code != http.StatusOK || !strings.Contains(body, "pause") {
		t.Fatalf("help answered %d %s", code, body)
	}
}

// TestAppHomeShowsAndPauses: App Home shows the state with a button, and a
// click acts like the command and refreshes the view.
func TestAppHomeShowsAndPauses(t *testing.T) {
	w := newPeopleWorld(t)
	p := startServe(t, w.env)
	w.change(t, p, alice, "Lunch")
	w.waitCalls(t, aliceID, 1)

	if code, body := p.send(t, slacktest.AppHomeOpened(nextEventID(), team, "", alice, "home", time.Now())); code != http.StatusOK {
		t.Fatalf("app_home_opened answered %d %s", code, body)
	}
	eventually(t, 30*time.Second, "a home view with a Pause button", func() bool {
		v := w.slack.Published()
		return len(v) == 1 && v[0].UserID == alice && v[0].Type == "home" &&
			strings.Contains(v[0].Text, "mirrored") && strings.Contains(v[0].Text, "Lunch") &&
			slices.Contains(v[0].ActionIDs, "statusbridge_pause")
	})
	click := slacktest.SignedForm(p.url("/slack/events"), signingSecret, time.Now(),
		slacktest.InteractionForm(slacktest.BlockActions(team, "", alice, "statusbridge_pause")))
	if code, body := do(t, click); code != http.StatusOK || body != "" {
		t.Fatalf("the click answered %d %q", code, body)
	}
	eventually(t, 30*time.Second, "the view refreshed with a Resume button", func() bool {
		v := w.slack.Published()
		last := v[len(v)-1]
		return len(v) >= 2 && strings.Contains(last.Text, "paused") && slices.Contains(last.ActionIDs, "statusbridge_resume")
	})
	eventually(t, 30*time.Second, "the pause to clear Teams", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == ""
	})
}

// TestMovedOrRemovedMappingClearsTheOldAccount: the bridge's message does not
// stay behind on an account it no longer mirrors.
func TestMovedOrRemovedMappingClearsTheOldAccount(t *testing.T) {
	w := newPeopleWorld(t)
	p := startServe(t, w.env)
	w.change(t, p, alice, "Lunch")
	w.waitCalls(t, aliceID, 1)

	mustCLI(t, w.env, "mapping", "set", alice, bobID)
	eventually(t, 30*time.Second, "the old account cleared and the new one set", func() bool {
		old, moved := w.contents(aliceID), w.contents(bobID)
		return len(old) == 2 && old[1] == "" && len(moved) == 1 && moved[0] == "Lunch"
	})
	// A message a person set on the account meanwhile is not the bridge's.
	w.graph.SetMessageByHand(bobID, fakegraph.TeamsMessage{Content: "Working from the lake"})
	mustCLI(t, w.env, "mapping", "rm", alice)
	// Discovery finds alice's own account by email again, and her status
	// follows it; bob's account, changed by a person, is left alone.
	eventually(t, 30*time.Second, "the status to follow the rediscovered account", func() bool {
		c := w.contents(aliceID)
		return len(c) == 3 && c[2] == "Lunch"
	})
	time.Sleep(time.Second)
	if c := w.contents(bobID); len(c) != 1 {
		t.Fatalf("the bridge wrote to an account a person had changed: %v", c)
	}
	if got := w.teamsShows(bobID); got != "Working from the lake" {
		t.Fatalf("Teams shows %q", got)
	}
}

// TestOnlyOurOrgAndSaneTimes: another workspace's user is acknowledged and
// never stored; an event dated years ahead never freezes a user.
func TestOnlyOurOrgAndSaneTimes(t *testing.T) {
	w := newPeopleWorld(t)
	w.slack.AddUser(slacktest.User{ID: "U0STRANGE", TeamID: "T0PARTNER", Email: "bob@corp.example"})
	p := startServe(t, w.env)

	foreign := slacktest.StatusEvent("user_status_changed", nextEventID(), "T0PARTNER", "U0STRANGE", time.Now(), "Hijacked", "", 0)
	if code, body := p.send(t, foreign); code != http.StatusOK {
		t.Fatalf("a foreign event answered %d %s", code, body)
	}
	eventually(t, 10*time.Second, "the foreign event counted", func() bool {
		return strings.Contains(scrape(t, p), `outcome="foreign_team"`)
	})
	if out, _, _ := cli(t, w.env, "users", "show", "U0STRANGE", "--json"); strings.Contains(out, "Hijacked") {
		t.Fatalf("a foreign user's change was stored:\n%s", out)
	}

	future := time.Now().AddDate(10, 0, 0)
	p.send(t, event("user_status_changed", nextEventID(), alice, future, "From the future", "", 0))
	w.waitCalls(t, aliceID, 1)
	p.send(t, event("user_status_changed", nextEventID(), alice, time.Now().Add(time.Second), "Real change", "", 0))
	eventually(t, 30*time.Second, "the real change after a future-dated one", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == "Real change"
	})
	if len(w.okCalls(bobID)) != 0 {
		t.Fatal("a foreign user reached Teams")
	}
}

func scrape(t *testing.T, p *bridgeProc) string {
	t.Helper()
	resp, err := http.Get(p.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRemovedMappingClearsTheAccount: without discovery, `mapping rm` leaves
// the employee unmapped, and the bridge clears its message from the account.
func TestRemovedMappingClearsTheAccount(t *testing.T) {
	w := newWorld(t)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Lunch", "", 0))
	w.waitCalls(t, aliceID, 1)
	mustCLI(t, w.env, "mapping", "rm", alice)
	eventually(t, 30*time.Second, "the old account cleared", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == ""
	})
	if out := mustCLI(t, w.env, "users", "show", alice); !strings.Contains(out, "not mapped") {
		t.Fatalf("users show after mapping rm:\n%s", out)
	}
}

// TestOptInAndDeactivation: with STATUSBRIDGE_MIRROR_DEFAULT=off only an
// employee who chose resume is mirrored; a user deactivated in Slack has the
// bridge's message cleared.
func TestOptInAndDeactivation(t *testing.T) {
	w := newPeopleWorld(t, "STATUSBRIDGE_MIRROR_DEFAULT=off")
	p := startServe(t, w.env)
	w.change(t, p, alice, "Lunch")
	eventually(t, 30*time.Second, "the change of an employee who never opted in to be taken", func() bool {
		return strings.Contains(scrape(t, p), `statusbridge_updates_skipped_total{reason="not mirrored"}`)
	})
	if n := len(w.okCalls(aliceID)); n != 0 {
		t.Fatalf("an employee who never opted in cost %d call(s)", n)
	}
	if out := mustCLI(t, w.env, "users", "show", alice); !strings.Contains(out, "paused") {
		t.Fatalf("users show:\n%s", out)
	}
	w.slack.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Lunch"})
	if code, body := command(t, p, signingSecret, alice, "resume"); code != http.StatusOK || !strings.Contains(body, "mirrored") {
		t.Fatalf("resume answered %d %s", code, body)
	}
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "Lunch" {
		t.Fatalf("Graph got %q", c.Content)
	}
	if code, body := p.send(t, slacktest.DeactivatedEvent(nextEventID(), team, alice, time.Now().Add(time.Minute))); code != http.StatusOK {
		t.Fatalf("deactivation answered %d %s", code, body)
	}
	eventually(t, 30*time.Second, "the deactivated user's message cleared", func() bool {
		c := w.contents(aliceID)
		return len(c) == 2 && c[1] == ""
	})
}
