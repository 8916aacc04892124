package slackhandler_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// people is a Controls that keeps each user's choice in memory.
type people struct {
	mu     sync.Mutex
	paused map[string]bool
	calls  []string
	err    error
}

func newPeople() *people { return &people{paused: map[string]bool{}} }

func (p *people) view(id string) bridge.UserView {
	v := bridge.UserView{UserID: id, State: bridge.StateMirrored, EntraID: "0b7f3c2e-51a4-4d0e-9c3b-2a1f6e8d9c10",
		Showing: "🌴 Vacationing <until Friday>", LastSync: time.Date(2025, 3, 14, 9, 20, 0, 0, time.UTC)}
	if p.paused[id] {
		v.State, v.Showing = bridge.StatePaused, ""
	}
	return v
}

func (p *people) do(verb, id string, pause *bool) (bridge.UserView, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, verb+" "+id)
	if p.err != nil {
		return bridge.UserView{}, p.err
	}
	if pause != nil {
		p.paused[id] = *pause
	}
	return p.view(id), nil
}

func (p *people) View(_ context.Context, id string) (bridge.UserView, error) {
	return p.do("view", id, nil)
}

func (p *people) Pause(_ context.Context, id string) (bridge.UserView, error) {
	t := true
	return p.do("pause", id, &t)
}

func (p *people) Resume(_ context.Context, id string) (bridge.UserView, error) {
	f := false
	return p.do("resume", id, &f)
}

func (p *people) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

var _ slackhandler.Controls = (*people)(nil)

const (
	ourTeam   = "T0EXAMPLE1"
	ourOrg    = "E0EXAMPLE1"
	employee  = "U0123ABCD"
	homeToken = "xoxb-test-token-123"
)

type ctlFixture struct {
	*fixture
	people *people
	api    *slacktest.API
}

func newCtlFixture(t *testing.T, opts ...slackhandler.Option) *ctlFixture {
	t.Helper()
	f := newFixture(t)
	c := &ctlFixture{fixture: f, people: newPeople(), api: slacktest.StartAPI(t, homeToken)}
	all := append([]slackhandler.Option{
		slackhandler.WithClock(func() time.Time { return now }),
		slackhandler.WithObserver(f.obs),
		slackhandler.WithLogger(slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		slackhandler.WithControls(c.people),
		slackhandler.WithOrg(slackhandler.OrgAllows([]string{ourTeam})),
		slackhandler.WithHome(homeToken, c.api.URL),
	}, opts...)
	f.h = slackhandler.NewHandler(secret, f.sub, all...)
	t.Cleanup(f.h.Wait)
	return c
}

type reply struct {
	ResponseType string            `json:"response_type"`
	Text         string            `json:"text"`
	Blocks       []json.RawMessage `json:"blocks"`
}

func (c *ctlFixture) command(t *testing.T, team, enterprise, user, text string) reply {
	t.Helper()
	rec := c.do(slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now, slacktest.SlashCommand(team, enterprise, user, text)))
	if rec.Code != http.StatusOK {
		t.Fatalf("command %q: status %d, body %q", text, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("command %q: Content-Type %q", text, ct)
	}
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("command %q: body %q: %v", text, rec.Body, err)
	}
	if r.ResponseType != "ephemeral" || r.Text == "" || len(r.Blocks) == 0 {
		t.Errorf("command %q: reply %+v, want ephemeral text and blocks", text, r)
	}
	return r
}

func TestCommandShowsTheView(t *testing.T) {
	for _, text := range []string{"", "show", "  SHOW  "} {
		c := newCtlFixture(t)
		r := c.command(t, ourTeam, "", employee, text)
		for _, want := range []string{
			"🌴 Vacationing &lt;until Friday&gt;", "0b7f3c2e-51a4-4d0e-9c3b-2a1f6e8d9c10",
			"2025-03-14 09:20:00 UTC", "*State:* mirrored",
		} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("text %q: reply %q lacks %q", text, r.Text, want)
			}
		}
		if got := c.people.got(); len(got) != 1 || got[0] != "view "+employee {
			t.Errorf("text %q: controls got %v", text, got)
		}
	}
}

func TestCommandPausesAndResumes(t *testing.T) {
	c := newCtlFixture(t)
	r := c.command(t, ourTeam, "", employee, "pause")
	if !strings.HasPrefix(r.Text, "Paused.") || !strings.Contains(r.Text, "*State:* paused") {
		t.Errorf("pause reply %q", r.Text)
	}
	r = c.command(t, ourTeam, "", employee, "resume")
	if !strings.HasPrefix(r.Text, "Resumed.") || !strings.Contains(r.Text, "*State:* mirrored") {
		t.Errorf("resume reply %q", r.Text)
	}
	if got := c.people.got(); strings.Join(got, ",") != "pause "+employee+",resume "+employee {
		t.Errorf("controls got %v", got)
	}
	c.h.Wait()
	// Each change re-publishes App Home; an older view never lands after a newer one.
	pub := c.api.Published()
	if len(pub) == 0 || len(pub) > 2 || pub[0].UserID != employee || !contains(pub[len(pub)-1].ActionIDs, slackhandler.ActionPause) {
		t.Errorf("published %+v", pub)
	}
}

func TestCommandHelp(t *testing.T) {
	for _, text := range []string{"help", "frobnicate"} {
		c := newCtlFixture(t)
		r := c.command(t, ourTeam, "", employee, text)
		if !strings.Contains(r.Text, "/teams-status pause") || !strings.Contains(r.Text, "/teams-status resume") {
			t.Errorf("%q: help %q", text, r.Text)
		}
		if got := c.people.got(); len(got) != 0 {
			t.Errorf("%q: controls called: %v", text, got)
		}
	}
}

func TestCommandFromAnotherOrgIsRefused(t *testing.T) {
	c := newCtlFixture(t)
	r := c.command(t, "T0FOREIGN1", "", employee, "pause")
	if !strings.Contains(r.Text, "another") {
		t.Errorf("reply %q, want a refusal", r.Text)
	}
	if got := c.people.got(); len(got) != 0 {
		t.Errorf("controls called: %v", got)
	}
	if !contains(c.obs.all, "foreign_team") {
		t.Errorf("outcomes %v", c.obs.all)
	}
	// On Enterprise Grid the org id decides.
	c2 := newCtlFixture(t, slackhandler.WithOrg(slackhandler.OrgAllows([]string{ourOrg})))
	c2.command(t, "T0OTHERWS1", ourOrg, employee, "pause")
	if got := c2.people.got(); len(got) != 1 {
		t.Errorf("org member refused: %v", got)
	}
}

func TestCommandWithoutControls(t *testing.T) {
	f := newFixture(t)
	rec := f.do(slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now, slacktest.SlashCommand(ourTeam, "", employee, "pause")))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "not available") || !strings.Contains(rec.Body.String(), `"ephemeral"`) {
		t.Errorf("status %d body %q", rec.Code, rec.Body)
	}
}

func TestCommandErrorIsPolite(t *testing.T) {
	c := newCtlFixture(t)
	c.people.err = errors.New("redis: connection refused to 10.0.0.5:6379")
	r := c.command(t, ourTeam, "", employee, "pause")
	if !strings.Contains(r.Text, "did not work") || strings.Contains(r.Text, "redis") {
		t.Errorf("reply %q", r.Text)
	}
}

func TestFormsAreVerified(t *testing.T) {
	c := newCtlFixture(t)
	for name, req := range map[string]*http.Request{
		"forged command": slacktest.SignedForm("http://127.0.0.1/slack/events", "not-the-secret", now, slacktest.SlashCommand(ourTeam, "", employee, "pause")),
		"stale command":  slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now.Add(-6*time.Minute), slacktest.SlashCommand(ourTeam, "", employee, "pause")),
		"forged click": slacktest.SignedForm("http://127.0.0.1/slack/events", "not-the-secret", now,
			slacktest.InteractionForm(slacktest.BlockActions(ourTeam, "", employee, slackhandler.ActionPause))),
	} {
		if rec := c.do(req); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, rec.Code)
		}
	}
	c.h.Wait()
	if got := c.people.got(); len(got) != 0 {
		t.Errorf("controls called: %v", got)
	}
	if n := len(c.api.Published()); n != 0 {
		t.Errorf("%d views published", n)
	}
}

func TestClickActsAndRepublishes(t *testing.T) {
	c := newCtlFixture(t)
	rec := c.do(slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now,
		slacktest.InteractionForm(slacktest.BlockActions(ourTeam, "", employee, slackhandler.ActionPause))))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("status %d body %q, want 200 and no body", rec.Code, rec.Body)
	}
	c.h.Wait()
	if got := c.people.got(); len(got) != 1 || got[0] != "pause "+employee {
		t.Errorf("controls got %v", got)
	}
	pub := c.api.Published()
	if len(pub) != 1 || pub[0].Type != "home" || !contains(pub[0].ActionIDs, slackhandler.ActionResume) ||
		!strings.Contains(pub[0].Text, "paused") {
		t.Errorf("published %+v", pub)
	}
	// Enterprise Grid: user.team_id is the org id.
	c2 := newCtlFixture(t, slackhandler.WithOrg(slackhandler.OrgAllows([]string{ourOrg})))
	c2.do(slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now,
		slacktest.InteractionForm(slacktest.BlockActions("T0OTHERWS1", ourOrg, employee, slackhandler.ActionResume))))
	c2.h.Wait()
	if got := c2.people.got(); len(got) != 1 || got[0] != "resume "+employee {
		t.Errorf("grid click: controls got %v", got)
	}
}

func TestClickFromAnotherOrgIsIgnored(t *testing.T) {
	c := newCtlFixture(t)
	rec := c.do(slacktest.SignedForm("http://127.0.0.1/slack/events", secret, now,
		slacktest.InteractionForm(slacktest.BlockActions("T0FOREIGN1", "", employee, slackhandler.ActionPause))))
	c.h.Wait()
	if rec.Code != http.StatusOK || len(c.people.got()) != 0 || len(c.api.Published()) != 0 {
		t.Errorf("status %d, controls %v, published %d", rec.Code, c.people.got(), len(c.api.Published()))
	}
	if !contains(c.obs.all, "foreign_team") {
		t.Errorf("outcomes %v", c.obs.all)
	}
}

func TestAppHomeOpenedPublishesTheView(t *testing.T) {
	c := newCtlFixture(t)
	rec := c.post(now, slacktest.AppHomeOpened("Ev0HOME01", ourTeam, "", employee, "home", now))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	c.h.Wait()
	pub := c.api.Published()
	if len(pub) != 1 || pub[0].UserID != employee || pub[0].Type != "home" {
		t.Fatalf("published %+v", pub)
	}
	for _, want := range []string{"0b7f3c2e-51a4-4d0e-9c3b-2a1f6e8d9c10", "mirrored", "2025-03-14 09:20:00 UTC"} {
		if !strings.Contains(pub[0].Text, want) {
			t.Errorf("home view lacks %q: %s", want, pub[0].Text)
		}
	}
	if !contains(pub[0].ActionIDs, slackhandler.ActionPause) || contains(pub[0].ActionIDs, slackhandler.ActionResume) {
		t.Errorf("buttons %v, want Pause only", pub[0].ActionIDs)
	}
	// The messages tab and other orgs publish nothing.
	c.post(now, slacktest.AppHomeOpened("Ev0HOME02", ourTeam, "", employee, "messages", now))
	c.post(now, slacktest.AppHomeOpened("Ev0HOME03", "T0FOREIGN1", "", employee, "home", now))
	c.h.Wait()
	if n := len(c.api.Published()); n != 1 {
		t.Errorf("%d views published, want 1", n)
	}
	if len(c.sub.got()) != 0 {
		t.Error("App Home submitted a change")
	}
}

func TestAppHomePublishFailureIsLoggedWithoutToken(t *testing.T) {
	c := newCtlFixture(t)
	c.api.FailNext("views.publish", 1, http.StatusInternalServerError, "")
	c.post(now, slacktest.AppHomeOpened("Ev0HOME04", ourTeam, "", employee, "home", now))
	c.h.Wait()
	logs := c.logs.String()
	if !strings.Contains(logs, "views.publish failed") || strings.Contains(logs, homeToken) {
		t.Errorf("logs: %s", logs)
	}
}

func TestOnlyOurOrgsUsersAreMirrored(t *testing.T) {
	t0 := now.Add(-time.Second)
	cases := []struct {
		name   string
		allow  []string
		body   []byte
		submit bool
	}{
		{"our workspace", []string{ourTeam}, slacktest.StatusEvent("user_change", "Ev1", ourTeam, employee, t0, "Out", ":palm_tree:", 0), true},
		{"foreign workspace", []string{ourTeam}, slacktest.StatusEvent("user_change", "Ev2", "T0FOREIGN1", employee, t0, "Out", "", 0), false},
		{"stranger in our workspace", []string{ourTeam}, slacktest.StrangerEvent("Ev3", ourTeam, "T0FOREIGN1", employee, t0, "Out", ""), false},
		{"grid user of another workspace", []string{ourOrg}, slacktest.GridStatusEvent("user_change", "Ev4", ourTeam, ourOrg, "T0OTHERWS1", employee, t0, "Out", "", 0), true},
		{"grid user without team_id", []string{ourOrg}, slacktest.GridStatusEvent("user_change", "Ev5", ourTeam, ourOrg, "", employee, t0, "Out", "", 0), true},
		{"grid user of another org", []string{ourOrg}, slacktest.GridStatusEvent("user_change", "Ev6", ourTeam, "E0FOREIGN1", "T0OTHERWS1", employee, t0, "Out", "", 0), false},
		{"user team allowed, envelope foreign", []string{ourTeam}, slacktest.GridStatusEvent("user_change", "Ev7", "T0FOREIGN1", "", ourTeam, employee, t0, "Out", "", 0), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.h = slackhandler.NewHandler(secret, f.sub, slackhandler.WithClock(func() time.Time { return now }),
				slackhandler.WithObserver(f.obs), slackhandler.WithOrg(slackhandler.OrgAllows(tc.allow)))
			rec := f.post(now, tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if got := len(f.sub.got()) == 1; got != tc.submit {
				t.Fatalf("submitted=%v, want %v (outcomes %v)", got, tc.submit, f.obs.all)
			}
			if !tc.submit && !contains(f.obs.all, "foreign_team") {
				t.Errorf("outcomes %v, want foreign_team", f.obs.all)
			}
		})
	}
}

func TestDeactivatedUser(t *testing.T) {
	f := newFixture(t)
	rec := f.post(now, slacktest.DeactivatedEvent("Ev0DEAD1", ourTeam, employee, now.Add(-time.Second)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	got := f.sub.got()
	if len(got) != 1 || !got[0].Deactivated || got[0].Status != (bridge.Status{}) || got[0].UserID != employee {
		t.Errorf("submitted %#v", got)
	}
	// An active user's change is not a deactivation.
	f.post(now, statusEvent("Ev0LIVE1"))
	if got := f.sub.got(); len(got) != 2 || got[1].Deactivated {
		t.Errorf("submitted %#v", got)
	}
}

func TestOrgAllows(t *testing.T) {
	allow := slackhandler.OrgAllows([]string{"T1", "E9"})
	for _, tc := range []struct {
		team, ent string
		want      bool
	}{{"T1", "", true}, {"T2", "", false}, {"T2", "E9", true}, {"", "E9", true}, {"", "", false}, {"E9", "", false}, {"", "T1", false}} {
		if got := allow(tc.team, tc.ent); got != tc.want {
			t.Errorf("allow(%q, %q) = %v, want %v", tc.team, tc.ent, got, tc.want)
		}
	}
	if slackhandler.OrgAllows(nil)("T1", "E1") {
		t.Error("an empty list allowed an org")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

var _ = httptest.NewRecorder
