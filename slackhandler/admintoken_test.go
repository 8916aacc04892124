package slackhandler_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

func TestCheckAdminToken(t *testing.T) {
	ctx := context.Background()
	api := newWriterAPI(t)
	api.AddUser(slacktest.User{ID: "U0BOB", TeamID: slacktest.TeamID, StatusText: "Lunch", StatusEmoji: ":hamburger:", StatusExpiration: 1750000000})
	url := slackhandler.WithAdminAPIURL(api.URL)

	rep, err := slackhandler.CheckAdminToken(ctx, adminToken, "U0BOB", url)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind == "" || rep.UserID != slacktest.AdminUserID || rep.TeamID != slacktest.TeamID || !rep.CanWriteProfiles ||
		!slices.Contains(rep.Scopes, "users.profile:write") || rep.Role != "admin" || rep.TestUser != "U0BOB" ||
		rep.TestStatus != (bridge.SlackStatus{Text: "Lunch", Emoji: ":hamburger:", Expiration: 1750000000}) {
		t.Errorf("report: %+v", rep)
	}
	// The token's own profile when no test user is named.
	if rep, err := slackhandler.CheckAdminToken(ctx, adminToken, "", url); err != nil || rep.TestUser != slacktest.AdminUserID {
		t.Errorf("own profile: %+v %v", rep, err)
	}
	// A primary owner.
	api.AddUser(slacktest.User{ID: slacktest.AdminUserID, TeamID: slacktest.TeamID, PrimaryOwner: true})
	if rep, err := slackhandler.CheckAdminToken(ctx, adminToken, "", url); err != nil || rep.Role != "primary owner" {
		t.Errorf("primary owner: %+v %v", rep, err)
	}
	if n := api.Calls("users.profile.set"); n != 0 {
		t.Errorf("the check wrote %d profiles", n)
	}
}

func TestCheckAdminTokenProblems(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(api *slacktest.API) (token, testUser string)
		want  []string // each must be in the error
	}{
		{"member", func(api *slacktest.API) (string, string) {
			api.AddUser(slacktest.User{ID: slacktest.AdminUserID, TeamID: slacktest.TeamID})
			return adminToken, ""
		}, []string{"member", "admin or owner", "SLACK_ADMIN_USER_TOKEN"}},
		{"no write scope", func(api *slacktest.API) (string, string) {
			api.SetAdminToken(adminToken, "users:read", "users.profile:read")
			return adminToken, ""
		}, []string{"users.profile:write", "SLACK_ADMIN_USER_TOKEN"}},
		{"no read scope", func(api *slacktest.API) (string, string) {
			api.SetAdminToken(adminToken, "users:read", "users.profile:write")
			return adminToken, "U0ALICE"
		}, []string{"missing_scope", "users.profile:read", "SLACK_ADMIN_USER_TOKEN"}},
		{"unknown test user", func(api *slacktest.API) (string, string) { return adminToken, "U0NOBODY" },
			[]string{"U0NOBODY", "no such user"}},
		{"refused token", func(api *slacktest.API) (string, string) { return "xoxp-7-7-FAKEunknownSECRET", "" },
			[]string{"invalid_auth", "SLACK_ADMIN_USER_TOKEN"}},
		{"bot token", func(api *slacktest.API) (string, string) { return botToken, "" },
			[]string{"bot token", "xoxp-", "SLACK_ADMIN_USER_TOKEN"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := newWriterAPI(t)
			tok, user := c.setup(api)
			rep, err := slackhandler.CheckAdminToken(ctx, tok, user, slackhandler.WithAdminAPIURL(api.URL))
			if err == nil {
				t.Fatalf("no error; report %+v", rep)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the token: %q", err)
			}
			if n := api.Calls("users.profile.set"); n != 0 {
				t.Errorf("the check wrote %d profiles", n)
			}
		})
	}
}
