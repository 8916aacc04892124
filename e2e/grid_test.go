package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// An Enterprise Grid org-wide install, through the built binary: the bot
// token belongs to the org (auth.test: is_enterprise_install), events come
// from several workspaces of the org, and reconcile walks every workspace
// the app was added to (auth.teams.list, users.list with team_id).

const (
	gridToken   = "xoxb-grid-org-wide-token"
	gridOrg     = "E0ORG0001"
	gridSales   = "T0SALES001"
	gridEng     = "T0ENGIN001"
	gridForeign = "E0OTHER001" // another company's org

	gridSalesUser = "W0SALES001"
	gridEngUser   = "W0ENGIN001"
	gridBothUser  = "W0BOTHWS01" // a member of both workspaces
	gridBot       = "W0GRIDBOT1"
	foreignUser   = "W0OTHER001"

	carolID = "5b1f7c3e-9a2d-4c8e-b6f0-3d2e1a4c5b6d"
	daveID  = "8e2d4f6a-1b3c-4d5e-9f0a-7c6b5a4d3e2f"
)

func TestEnterpriseGridOrgWideInstall(t *testing.T) {
	api := slacktest.StartAPI(t, gridToken)
	api.SetInstall("", gridOrg, true)
	api.SetWorkspaces(slacktest.Workspace{ID: gridSales, Name: "Sales"}, slacktest.Workspace{ID: gridEng, Name: "Engineering"})
	for _, u := range []slacktest.User{
		{ID: gridSalesUser, TeamID: gridSales, EnterpriseID: gridOrg, Email: "alice@corp.example", StatusText: "Visiting clients"},
		{ID: gridEngUser, TeamID: gridEng, EnterpriseID: gridOrg, Email: "bob@corp.example", StatusText: "Shipping"},
		{ID: gridBothUser, TeamID: gridSales, Teams: []string{gridSales, gridEng}, EnterpriseID: gridOrg,
			Email: "carol@corp.example", StatusText: "Travelling", StatusEmoji: ":airplane:"},
		{ID: gridBot, TeamID: gridEng, EnterpriseID: gridOrg, Bot: true, StatusText: "beep"},
	} {
		api.AddUser(u)
	}
	w := newWorld(t, "SLACK_BOT_TOKEN="+gridToken, "SLACK_API_URL="+api.URL)
	w.graph.AddUser(fakegraph.User{ID: carolID, UPN: "carol@corp.example", Mail: "carol@corp.example"})
	w.graph.AddUser(fakegraph.User{ID: daveID, UPN: "dave@corp.example", Mail: "dave@corp.example"})
	mustCLI(t, w.env, "mapping", "set", gridSalesUser, aliceID)
	mustCLI(t, w.env, "mapping", "set", gridEngUser, bobID)
	mustCLI(t, w.env, "mapping", "set", gridBothUser, carolID)
	mustCLI(t, w.env, "mapping", "set", foreignUser, daveID) // mapped, yet never mirrored: another org
	p := startServe(t, w.env)

	// Events from two workspaces of the org both reach Teams.
	now := time.Now()
	for _, ev := range [][]byte{
		slacktest.OrgWideStatusEvent("user_status_changed", nextEventID(), gridSales, gridOrg, gridSales, gridSalesUser, now, "Visiting clients", "", 0),
		slacktest.OrgWideStatusEvent("user_status_changed", nextEventID(), gridEng, gridOrg, gridEng, gridEngUser, now, "Shipping", "", 0),
	} {
		if code, body := p.send(t, ev); code != http.StatusOK {
			t.Fatalf("an org event answered %d %q", code, body)
		}
	}
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "Visiting clients" {
		t.Fatalf("Sales workspace user: Teams got %q", c.Content)
	}
	if c := w.waitCalls(t, bobID, 1)[0]; c.Content != "Shipping" {
		t.Fatalf("Engineering workspace user: Teams got %q", c.Content)
	}

	// An event from another company's org is acknowledged and dropped.
	foreign := slacktest.OrgWideStatusEvent("user_status_changed", nextEventID(), "T0OTHERWS1", gridForeign, "T0OTHERWS1", foreignUser, now, "Hijacked", "", 0)
	if code, body := p.send(t, foreign); code != http.StatusOK {
		t.Fatalf("a foreign org's event answered %d %q", code, body)
	}
	eventually(t, 10*time.Second, "the foreign org's event counted", func() bool {
		return strings.Contains(scrape(t, p), `outcome="foreign_team"`)
	})
	if out, _, _ := cli(t, w.env, "users", "show", foreignUser, "--json"); strings.Contains(out, "Hijacked") {
		t.Fatalf("a foreign org's change was stored:\n%s", out)
	}

	// Reconcile walks both workspaces; the member of both is submitted once.
	out := mustCLI(t, w.env, "reconcile")
	var changed, unchanged, newer, notMirrored int
	if _, err := fmt.Sscanf(strings.TrimSpace(out[strings.Index(out, "reconciled:"):]),
		"reconciled: %d changed, %d unchanged, %d newer already, %d not mirrored",
		&changed, &unchanged, &newer, &notMirrored); err != nil {
		t.Fatalf("reconcile said %q: %v", out, err)
	}
	if changed != 1 || changed+unchanged+newer != 3 || notMirrored != 1 {
		t.Fatalf("reconcile said %q; want 1 changed (the member of both workspaces, once), 3 mirrored users read, the bot not mirrored", out)
	}
	for team, want := range map[string]int{gridSales: 1, gridEng: 1, "": 0} {
		if n := api.CallsForTeam("users.list", team); n != want {
			t.Errorf("users.list with team_id %q called %d times, want %d", team, n, want)
		}
	}
	if n := api.Calls("auth.teams.list"); n != 1 {
		t.Errorf("auth.teams.list called %d times, want 1", n)
	}
	if c := w.waitCalls(t, carolID, 1)[0]; c.Content != "✈️ Travelling" {
		t.Fatalf("member of both workspaces: Teams got %q", c.Content)
	}

	time.Sleep(time.Second) // let any stray work reach the Graph stand-in
	if n := len(w.okCalls(carolID)); n != 1 {
		t.Errorf("%d Graph calls for the member of both workspaces, want 1", n)
	}
	if n := len(w.okCalls(aliceID)) + len(w.okCalls(bobID)); n != 2 {
		t.Errorf("%d Graph calls for the single-workspace users, want 2 (reconcile found them unchanged)", n)
	}
	if n := len(w.okCalls(daveID)); n != 0 {
		t.Fatalf("a foreign org's user reached Teams %d time(s)", n)
	}
}
