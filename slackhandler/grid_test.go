package slackhandler_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

const (
	gridOrg = "E0ORG0001"
	gridWS1 = "T0GRIDWS01"
	gridWS2 = "T0GRIDWS02"
	gridWS3 = "T0GRIDWS03" // in the org, but the app was not added to it
)

// gridAPI is a stand-in for an org-wide install added to two workspaces:
// W0ONE in the first, W0TWO in the second, W0BOTH in both, W0THREE in a
// workspace the app was not added to.
func gridAPI(t *testing.T) *slacktest.API {
	t.Helper()
	api := slacktest.StartAPI(t, botToken)
	api.SetInstall("", gridOrg, true)
	api.SetWorkspaces(slacktest.Workspace{ID: gridWS1, Name: "Sales"}, slacktest.Workspace{ID: gridWS2, Name: "Engineering"})
	for _, u := range []slacktest.User{
		{ID: "W0ONE", TeamID: gridWS1, EnterpriseID: gridOrg, Email: "one@example.com", StatusText: "In Berlin"},
		{ID: "W0TWO", TeamID: gridWS2, EnterpriseID: gridOrg, Email: "two@example.com"},
		{ID: "W0BOTH", TeamID: gridWS1, EnterpriseID: gridOrg, Teams: []string{gridWS1, gridWS2}, Email: "both@example.com", StatusText: "Travelling", StatusEmoji: ":airplane:"},
		{ID: "W0THREE", TeamID: gridWS3, EnterpriseID: gridOrg, Email: "three@example.com"},
	} {
		api.AddUser(u)
	}
	return api
}

// collect lists d's users into ids (in order) and users by id.
func collect(t *testing.T, d *slackhandler.Directory) ([]string, map[string]bridge.SlackUser, map[string]bridge.Status, error) {
	t.Helper()
	var ids []string
	users, statuses := map[string]bridge.SlackUser{}, map[string]bridge.Status{}
	err := d.Users(context.Background(), func(u bridge.SlackUser, s bridge.Status) error {
		ids = append(ids, u.ID)
		users[u.ID], statuses[u.ID] = u, s
		return nil
	})
	return ids, users, statuses, err
}

func TestOrgWideUsersWalksEveryWorkspaceOnce(t *testing.T) {
	api := gridAPI(t)
	api.SetPageSize(1) // several pages of auth.teams.list and of users.list
	api.FailNext("auth.teams.list", 1, http.StatusTooManyRequests, "1")
	d := slackhandler.NewDirectory(botToken, api.URL)

	start := time.Now()
	ids, users, statuses, err := collect(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("auth.teams.list's Retry-After of 1 s was not waited out (%v)", waited)
	}
	if !slices.Equal(ids, []string{"W0BOTH", "W0ONE", "W0TWO"}) {
		t.Fatalf("listed %v, want each user of the two workspaces once", ids)
	}
	if n := api.Calls("auth.teams.list"); n != 3 {
		t.Errorf("auth.teams.list called %d times, want 3 (1 throttled + 2 pages)", n)
	}
	for team, want := range map[string]int{gridWS1: 2, gridWS2: 2, gridWS3: 0, "": 0} {
		if n := api.CallsForTeam("users.list", team); n != want {
			t.Errorf("users.list with team_id %q called %d times, want %d", team, n, want)
		}
	}
	if u := users["W0BOTH"]; u.TeamID != gridWS1 || u.EnterpriseID != gridOrg || u.Email != "both@example.com" {
		t.Errorf("W0BOTH = %#v", u)
	}
	if u := users["W0TWO"]; u.TeamID != gridWS2 || u.EnterpriseID != gridOrg {
		t.Errorf("W0TWO = %#v", u)
	}
	if s := statuses["W0BOTH"]; s.Text != "Travelling" || s.Emoji != "✈️" {
		t.Errorf("W0BOTH status %#v", s)
	}

	// The install is learnt once: a second pass asks auth.test no more.
	authTests := api.Calls("auth.test")
	if _, _, _, err := collect(t, d); err != nil {
		t.Fatal(err)
	}
	if n := api.Calls("auth.test"); n != authTests || authTests != 1 {
		t.Errorf("auth.test called %d then %d times, want once", authTests, n)
	}
}

// TestOrgTokenNeedsTeamID: the stand-in refuses users.list without team_id
// from an org token, as Slack does, so the walk above did send it.
func TestOrgTokenNeedsTeamID(t *testing.T) {
	api := gridAPI(t)
	api.SetInstall(slacktest.TeamID, "", false)
	d := slackhandler.NewDirectory(botToken, api.URL)
	if _, _, err := d.Installed(context.Background()); err != nil { // learnt: a workspace install
		t.Fatal(err)
	}
	api.SetInstall("", gridOrg, true) // the token is now the org's
	_, _, _, err := collect(t, d)
	if err == nil || !strings.Contains(err.Error(), "missing_argument") {
		t.Fatalf("users.list without team_id from an org token: %v, want missing_argument", err)
	}
	if n := api.CallsForTeam("users.list", ""); n != 1 {
		t.Errorf("users.list without team_id called %d times, want 1", n)
	}

	fresh := slackhandler.NewDirectory(botToken, api.URL)
	if _, _, _, err := collect(t, fresh); err != nil {
		t.Fatalf("a directory that learns the org-wide install: %v", err)
	}
}

func TestWorkspaceInstallListsWithoutTeams(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: slacktest.TeamID, Email: "alice@example.com"})
	d := slackhandler.NewDirectory(botToken, api.URL)
	ids, _, _, err := collect(t, d)
	if err != nil || !slices.Equal(ids, []string{"U0ALICE"}) {
		t.Fatalf("listed %v, %v", ids, err)
	}
	if n := api.Calls("auth.teams.list"); n != 0 {
		t.Errorf("a workspace install called auth.teams.list %d times", n)
	}
	ws, err := d.Workspaces(context.Background())
	if err != nil || len(ws) != 1 || ws[0].ID != slacktest.TeamID {
		t.Errorf("Workspaces = %v, %v; want the install's own workspace", ws, err)
	}
}

func TestOrgWideWorkspaceFailureSparesTheOthers(t *testing.T) {
	api := gridAPI(t)
	d := slackhandler.NewDirectory(botToken, api.URL)
	api.FailNext("users.list", 1, http.StatusInternalServerError, "") // the first workspace's listing
	ids, _, _, err := collect(t, d)
	if err == nil || !strings.Contains(err.Error(), gridWS1) {
		t.Fatalf("err = %v, want the first workspace's failure", err)
	}
	var te *bridge.TransientError
	if !errors.As(err, &te) {
		t.Errorf("err = %T %v, want a TransientError inside", err, err)
	}
	if !slices.Equal(ids, []string{"W0BOTH", "W0TWO"}) {
		t.Errorf("listed %v, want the second workspace's users", ids)
	}

	// fn's error stops the walk at once.
	stop := errors.New("stop")
	before := api.CallsForTeam("users.list", gridWS2)
	err = d.Users(context.Background(), func(bridge.SlackUser, bridge.Status) error { return stop })
	if !errors.Is(err, stop) || api.CallsForTeam("users.list", gridWS2) != before {
		t.Errorf("callback error: %v; second workspace listed anyway: %v", err, api.CallsForTeam("users.list", gridWS2) != before)
	}

	// A refused token stops it too, and never shows the token.
	bad := slackhandler.NewDirectory("xoxb-wrong", api.URL)
	if err := bad.Users(context.Background(), func(bridge.SlackUser, bridge.Status) error { return nil }); !errors.Is(err, slackhandler.ErrAuth) || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestOrgWideAuthTeamsListEndlessThrottle(t *testing.T) {
	api := gridAPI(t)
	api.FailNext("auth.teams.list", 100, http.StatusTooManyRequests, "0")
	d := slackhandler.NewDirectory(botToken, api.URL)
	var thr *bridge.ThrottledError
	if _, _, _, err := collect(t, d); !errors.As(err, &thr) {
		t.Fatalf("endless 429: %v, want ThrottledError", err)
	}
	if n := api.Calls("auth.teams.list"); n != 6 {
		t.Errorf("auth.teams.list called %d times, want 6 (1 + 5 waited out)", n)
	}
}
