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

const botToken = "xoxb-1234-5678-FAKEFAKEFAKEtokenValue"

func TestDirectorySlackUser(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	users := []slacktest.User{
		{ID: "U0ALICE", TeamID: "T0EXAMPLE1", Email: "alice@example.com"},
		{ID: "U0BOT", TeamID: "T0EXAMPLE1", Bot: true},
		{ID: "USLACKBOT", TeamID: "T0EXAMPLE1"},
		{ID: "U0GONE", TeamID: "T0EXAMPLE1", Email: "gone@example.com", Deleted: true},
		{ID: "U0MULTI", TeamID: "T0EXAMPLE1", Email: "mcg@example.com", Restricted: true},
		{ID: "U0SINGLE", TeamID: "T0EXAMPLE1", Email: "scg@example.com", UltraRestricted: true},
		{ID: "W0EXTERN", TeamID: "T0ELSEWHERE", Stranger: true},
	}
	for _, u := range users {
		api.AddUser(u)
	}
	d := slackhandler.NewDirectory(botToken, api.URL)
	want := map[string]bridge.SlackUser{
		"U0ALICE":   {ID: "U0ALICE", TeamID: "T0EXAMPLE1", Email: "alice@example.com"},
		"U0BOT":     {ID: "U0BOT", TeamID: "T0EXAMPLE1", Bot: true},
		"USLACKBOT": {ID: "USLACKBOT", TeamID: "T0EXAMPLE1", Bot: true},
		"U0GONE":    {ID: "U0GONE", TeamID: "T0EXAMPLE1", Email: "gone@example.com", Deleted: true},
		"U0MULTI":   {ID: "U0MULTI", TeamID: "T0EXAMPLE1", Email: "mcg@example.com", Guest: true},
		"U0SINGLE":  {ID: "U0SINGLE", TeamID: "T0EXAMPLE1", Email: "scg@example.com", Guest: true},
		"W0EXTERN":  {ID: "W0EXTERN", TeamID: "T0ELSEWHERE", External: true},
	}
	for id, w := range want {
		got, err := d.SlackUser(context.Background(), id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if got != w {
			t.Errorf("%s:\n got  %#v\n want %#v", id, got, w)
		}
	}
	if n := api.Calls("users.info"); n != len(want) {
		t.Errorf("users.info called %d times, want %d", n, len(want))
	}
}

func TestDirectoryEmailNeedsScope(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: "T0EXAMPLE1", Email: "alice@example.com"})
	api.SetScopes("users:read")
	got, err := slackhandler.NewDirectory(botToken, api.URL).SlackUser(context.Background(), "U0ALICE")
	if err != nil || got.Email != "" {
		t.Fatalf("got %#v, %v; want no email without users:read.email", got, err)
	}
}

func TestDirectoryErrors(t *testing.T) {
	ctx := context.Background()
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: "T0EXAMPLE1"})
	clock := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	d := slackhandler.NewDirectory(botToken, api.URL, slackhandler.WithDirectoryClock(func() time.Time { return clock }))

	if _, err := d.SlackUser(ctx, "U0NOBODY"); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}

	api.FailNext("users.info", 1, http.StatusTooManyRequests, "30")
	_, err := d.SlackUser(ctx, "U0ALICE")
	var thr *bridge.ThrottledError
	if !errors.As(err, &thr) || thr.RetryAfter != 30*time.Second {
		t.Errorf("429: %v, want ThrottledError{30s}", err)
	}
	// Until Retry-After passes, every lookup (not only that user's) waits
	// without calling Slack.
	before := api.Calls("users.info")
	clock = clock.Add(20 * time.Second)
	if _, err := d.SlackUser(ctx, "U0NOBODY"); !errors.As(err, &thr) || thr.RetryAfter != 10*time.Second || api.Calls("users.info") != before {
		t.Errorf("inside Retry-After: %v, calls %d→%d; want ThrottledError{10s} and no call", err, before, api.Calls("users.info"))
	}
	// The directory does not retry by itself; after the wait the next call succeeds.
	clock = clock.Add(10 * time.Second)
	if _, err := d.SlackUser(ctx, "U0ALICE"); err != nil || api.Calls("users.info") != before+1 {
		t.Errorf("after 429: %v, calls %d→%d", err, before, api.Calls("users.info"))
	}

	api.FailNext("users.info", 1, http.StatusBadGateway, "")
	var tr *bridge.TransientError
	if _, err := d.SlackUser(ctx, "U0ALICE"); !errors.As(err, &tr) {
		t.Errorf("502: %v, want TransientError", err)
	}

	bad := slackhandler.NewDirectory("xoxb-wrong", api.URL)
	_, err = bad.SlackUser(ctx, "U0ALICE")
	var ae *slackhandler.AuthError
	if !errors.Is(err, slackhandler.ErrAuth) || !errors.As(err, &ae) || ae.Code != "invalid_auth" {
		t.Errorf("wrong token: %v, want AuthError invalid_auth", err)
	}
	if _, _, _, err := bad.AuthTest(ctx); !errors.Is(err, slackhandler.ErrAuth) {
		t.Errorf("auth.test with wrong token: %v", err)
	}

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.SlackUser(ctxDone, "U0ALICE"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestDirectoryAuthTest(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.SetScopes("users:read", "users:read.email", "users.profile:read")
	team, user, scopes, err := slackhandler.NewDirectory(botToken, api.URL).AuthTest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if team != slacktest.TeamID || user != slacktest.BotUserID ||
		!slices.Equal(scopes, []string{"users:read", "users:read.email", "users.profile:read"}) {
		t.Errorf("got %q %q %q", team, user, scopes)
	}
	if api.Calls("auth.test") != 1 {
		t.Errorf("auth.test calls %d", api.Calls("auth.test"))
	}
}

func TestDirectoryAPIURLWithoutSlash(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	url := api.URL[:len(api.URL)-1]
	if _, _, _, err := slackhandler.NewDirectory(botToken, url).AuthTest(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDirectoryUsers(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.SetPageSize(3)
	for _, u := range []slacktest.User{
		{ID: "U01", TeamID: "T1", Email: "a@example.com", StatusText: "Vacationing", StatusEmoji: ":palm_tree:", StatusExpiration: 1742000000},
		{ID: "U02", TeamID: "T1", Email: "b@example.com"},
		{ID: "U03", TeamID: "T1", Bot: true},
		{ID: "U04", TeamID: "T1", Email: "d@example.com", StatusEmoji: ":wave::skin-tone-2:"},
		{ID: "U05", TeamID: "T1", Email: "e@example.com", StatusText: "Custom", StatusEmoji: ":party-parrot:"},
		{ID: "U06", TeamID: "T1", Deleted: true},
		{ID: "U07", TeamID: "T1", Email: "g@example.com", UltraRestricted: true},
	} {
		api.AddUser(u)
	}
	d := slackhandler.NewDirectory(botToken, api.URL)
	var ids []string
	statuses := map[string]bridge.Status{}
	users := map[string]bridge.SlackUser{}
	err := d.Users(context.Background(), func(u bridge.SlackUser, s bridge.Status) error {
		ids = append(ids, u.ID)
		statuses[u.ID], users[u.ID] = s, u
		if u.ID == "U03" {
			// Slack throttles the second page once; the listing resumes from its cursor.
			api.FailNext("users.list", 1, http.StatusTooManyRequests, "0")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"U01", "U02", "U03", "U04", "U05", "U06", "U07"}) {
		t.Fatalf("listed %v", ids)
	}
	if n := api.Calls("users.list"); n != 4 {
		t.Errorf("users.list called %d times, want 4 (3 pages + 1 throttled)", n)
	}
	if got := statuses["U01"]; got != (bridge.Status{Text: "Vacationing", Emoji: "🌴", EmojiName: ":palm_tree:", Expiration: 1742000000}) {
		t.Errorf("U01 status %#v", got)
	}
	if got := statuses["U04"].Emoji; got != "👋🏻" {
		t.Errorf("U04 emoji %q", got)
	}
	if got := statuses["U05"]; got.Emoji != "" || got.Text != "Custom" {
		t.Errorf("U05 status %#v", got)
	}
	if !users["U03"].Bot || !users["U06"].Deleted || !users["U07"].Guest || users["U02"].Email != "b@example.com" {
		t.Errorf("flags lost: %#v", users)
	}

	stop := errors.New("stop")
	n := 0
	if err := d.Users(context.Background(), func(bridge.SlackUser, bridge.Status) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d users", err, n)
	}

	api.FailNext("users.list", 100, http.StatusTooManyRequests, "0")
	var thr *bridge.ThrottledError
	if err := d.Users(context.Background(), func(bridge.SlackUser, bridge.Status) error { return nil }); !errors.As(err, &thr) {
		t.Errorf("endless 429: %v, want ThrottledError", err)
	}
}

func TestOpenConnection(t *testing.T) {
	const appToken = "xapp-1-A0STATUSBR1-1234-abcdef"
	api := slacktest.StartAPI(t, botToken)
	api.SetAppToken(appToken)
	ctx := context.Background()
	url, err := slackhandler.OpenConnection(ctx, appToken, api.URL)
	if err != nil || !strings.HasPrefix(url, "ws://127.0.0.1:") {
		t.Fatalf("got %q, %v", url, err)
	}
	if _, err := slackhandler.OpenConnection(ctx, botToken, api.URL); !errors.Is(err, slackhandler.ErrAuth) {
		t.Errorf("bot token: %v, want AuthError", err)
	}
	if _, err := slackhandler.OpenConnection(ctx, "xapp-wrong", api.URL); !errors.Is(err, slackhandler.ErrAuth) {
		t.Errorf("wrong token: %v, want AuthError", err)
	}
}

func TestInstalled(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	d := slackhandler.NewDirectory(botToken, api.URL)
	for _, tc := range []struct {
		team, ent         string
		org               bool
		wantTeam, wantEnt string
	}{
		{"T0EXAMPLE1", "", false, "T0EXAMPLE1", ""},
		{"T0EXAMPLE1", "E0EXAMPLE1", false, "T0EXAMPLE1", "E0EXAMPLE1"},
		{"E0EXAMPLE1", "E0EXAMPLE1", true, "", "E0EXAMPLE1"},
	} {
		api.SetInstall(tc.team, tc.ent, tc.org)
		team, ent, err := d.Installed(context.Background())
		if err != nil || team != tc.wantTeam || ent != tc.wantEnt {
			t.Errorf("install %+v: Installed = %q, %q, %v", tc, team, ent, err)
		}
	}
	bad := slackhandler.NewDirectory("xoxb-wrong", api.URL)
	if _, _, err := bad.Installed(context.Background()); !errors.Is(err, slackhandler.ErrAuth) || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("wrong token: %v", err)
	}
	api.FailNext("auth.test", 1, http.StatusTooManyRequests, "7")
	var thr *bridge.ThrottledError
	if _, _, err := d.Installed(context.Background()); !errors.As(err, &thr) || thr.RetryAfter != 7*time.Second {
		t.Errorf("429: %v", err)
	}
}

func TestSlackUserOrg(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: "W0GRID0001", TeamID: "T0OTHERWS1", EnterpriseID: "E0EXAMPLE1", Email: "a@example.com"})
	api.AddUser(slacktest.User{ID: "U0STRANGE1", TeamID: "T0FOREIGN1", Stranger: true})
	d := slackhandler.NewDirectory(botToken, api.URL)
	u, err := d.SlackUser(context.Background(), "W0GRID0001")
	if err != nil || u.TeamID != "T0OTHERWS1" || u.EnterpriseID != "E0EXAMPLE1" || u.External {
		t.Errorf("grid user %+v, %v", u, err)
	}
	u, err = d.SlackUser(context.Background(), "U0STRANGE1")
	if err != nil || u.TeamID != "T0FOREIGN1" || u.EnterpriseID != "" || !u.External {
		t.Errorf("stranger %+v, %v", u, err)
	}
}
