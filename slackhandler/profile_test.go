package slackhandler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

const adminToken = "xoxp-1234-5678-9012-FAKEadminSECRETvalue"

func newWriterAPI(t *testing.T) *slacktest.API {
	t.Helper()
	api := slacktest.StartAPI(t, botToken)
	api.SetAdminToken(adminToken)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: slacktest.TeamID, Email: "alice@example.com"})
	api.AddUser(slacktest.User{ID: "U0BOSS", TeamID: slacktest.TeamID, Admin: true})
	return api
}

func newWriter(t *testing.T, token string, api *slacktest.API, opts ...slackhandler.AdminOption) *slackhandler.StatusWriter {
	t.Helper()
	w, err := slackhandler.NewStatusWriter(token, append([]slackhandler.AdminOption{slackhandler.WithAdminAPIURL(api.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestStatusWriterSetsAndClears(t *testing.T) {
	api := newWriterAPI(t)
	w := newWriter(t, adminToken, api)
	ctx := context.Background()

	if err := w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: "Vacationing", Emoji: ":palm_tree:", Expiration: 1750003600}); err != nil {
		t.Fatal(err)
	}
	u, _ := api.UserByID("U0ALICE")
	if u.StatusText != "Vacationing" || u.StatusEmoji != ":palm_tree:" || u.StatusExpiration != 1750003600 {
		t.Errorf("after set: %+v", u)
	}
	// A clear sends both strings empty and no expiration.
	if err := w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Expiration: 1750003600}); err != nil {
		t.Fatal(err)
	}
	u, _ = api.UserByID("U0ALICE")
	if u.StatusText != "" || u.StatusEmoji != "" || u.StatusExpiration != 0 {
		t.Errorf("after clear: %+v", u)
	}
	// Text longer than Slack takes is cut, not refused.
	long := strings.Repeat("ab ", 40) + "🏳️‍🌈🏳️‍🌈🏳️‍🌈🏳️‍🌈🏳️‍🌈🏳️‍🌈"
	if err := w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: long}); err != nil {
		t.Fatal(err)
	}
	u, _ = api.UserByID("U0ALICE")
	if n := utf8.RuneCountInString(u.StatusText); n > slackhandler.MaxStatusText || !strings.HasSuffix(u.StatusText, "…") {
		t.Errorf("long text stored as %q (%d runes)", u.StatusText, n)
	}
	if n := len(api.ProfileWrites()); n != 3 {
		t.Errorf("%d writes, want 3", n)
	}
}

func TestStatusWriterRefusesBadInputWithoutCalling(t *testing.T) {
	api := newWriterAPI(t)
	w := newWriter(t, adminToken, api)
	for _, c := range []struct {
		user string
		s    bridge.SlackStatus
	}{
		{"", bridge.SlackStatus{Text: "x"}}, // would set the admin's own status
		{"alice", bridge.SlackStatus{Text: "x"}},
		{"U0ALICE", bridge.SlackStatus{Text: "x", Emoji: "🌴"}},
		{"U0ALICE", bridge.SlackStatus{Text: "x", Emoji: "palm_tree"}},
	} {
		err := w.SetUserStatus(context.Background(), c.user, c.s)
		var perm *bridge.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("%q %+v: %v, want a permanent error", c.user, c.s, err)
		}
	}
	if n := api.Calls("users.profile.set"); n != 0 {
		t.Errorf("users.profile.set called %d times", n)
	}
}

func TestNewStatusWriterRefusesOtherTokens(t *testing.T) {
	for _, tok := range []string{"", botToken, "xapp-1-A0-123-FAKEappSECRET", "xoxe.xoxp-1-FAKErefresh", "xoxp-1-2 FAKEwith space", "hunter2secret"} {
		w, err := slackhandler.NewStatusWriter(tok)
		if err == nil || w != nil {
			t.Errorf("%q: accepted", tok)
			continue
		}
		if !strings.Contains(err.Error(), "SLACK_ADMIN_USER_TOKEN") || !strings.Contains(err.Error(), "xoxp-") {
			t.Errorf("%q: unclear error %q", tok, err)
		}
		if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("error shows the token: %q", err)
		}
	}
}

func TestStatusWriterThrottled(t *testing.T) {
	api := newWriterAPI(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	api.SetClock(func() time.Time { return now })
	w := newWriter(t, adminToken, api, slackhandler.WithAdminClock(func() time.Time { return now }))
	ctx := context.Background()
	retryAfter := func(err error) time.Duration {
		t.Helper()
		var thr *bridge.ThrottledError
		if !errors.As(err, &thr) {
			t.Fatalf("%v: not throttled", err)
		}
		return thr.RetryAfter
	}

	// Slack's own limit: 10 writes a minute to one profile.
	for i := 0; i < slacktest.DefaultWritesPerUser; i++ {
		if err := w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: "x"}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if d := retryAfter(w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: "x"})); d != time.Minute {
		t.Errorf("Retry-After %s, want 1m", d)
	}
	if api.ProfileThrottled() != 1 {
		t.Errorf("stand-in counted %d 429s", api.ProfileThrottled())
	}

	api.FailNext("users.profile.set", 1, http.StatusTooManyRequests, "7")
	if d := retryAfter(w.SetUserStatus(ctx, "U0BOB", bridge.SlackStatus{Text: "x"})); d != 7*time.Second {
		t.Errorf("Retry-After 7: %s", d)
	}
	api.FailNext("users.profile.set", 1, http.StatusTooManyRequests, now.Add(42*time.Second).Format(http.TimeFormat))
	if d := retryAfter(w.SetUserStatus(ctx, "U0BOB", bridge.SlackStatus{Text: "x"})); d != 42*time.Second {
		t.Errorf("Retry-After as a date: %s", d)
	}
	api.FailNext("users.profile.set", 1, http.StatusTooManyRequests, "")
	if d := retryAfter(w.SetUserStatus(ctx, "U0BOB", bridge.SlackStatus{Text: "x"})); d != time.Minute {
		t.Errorf("no Retry-After: %s, want a minute", d)
	}
}

func TestStatusWriterPermanentErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(api *slacktest.API) (token, user string)
		code  string
		token bool // a problem of the token, not of the user
	}{
		{"admin user", func(api *slacktest.API) (string, string) { return adminToken, "U0BOSS" }, "cannot_update_admin_user", false},
		{"unknown user", func(api *slacktest.API) (string, string) { return adminToken, "U0NOBODY" }, "user_not_found", false},
		{"member's token", func(api *slacktest.API) (string, string) {
			api.AddUser(slacktest.User{ID: slacktest.AdminUserID, TeamID: slacktest.TeamID})
			return adminToken, "U0ALICE"
		}, "not_admin", true},
		{"missing scope", func(api *slacktest.API) (string, string) {
			api.SetAdminToken(adminToken, "users:read")
			return adminToken, "U0ALICE"
		}, "missing_scope", true},
		{"revoked token", func(api *slacktest.API) (string, string) { return "xoxp-9-9-FAKErevokedSECRET", "U0ALICE" }, "invalid_auth", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := newWriterAPI(t)
			var logs bytes.Buffer
			tok, user := c.setup(api)
			w := newWriter(t, tok, api, slackhandler.WithAdminLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			err := w.SetUserStatus(ctx, user, bridge.SlackStatus{Text: "x"})
			var perm *bridge.PermanentError
			if !errors.As(err, &perm) {
				t.Fatalf("%v: not permanent", err)
			}
			if !strings.HasPrefix(perm.Reason, "slack users.profile.set: "+c.code) {
				t.Errorf("reason %q does not name %s", perm.Reason, c.code)
			}
			if got := errors.Is(err, slackhandler.ErrAuth); got != c.token {
				t.Errorf("errors.Is(ErrAuth) = %v, want %v", got, c.token)
			}
			if c.code == "user_not_found" && !errors.Is(err, bridge.ErrNotFound) {
				t.Errorf("%v is not bridge.ErrNotFound", err)
			}
			if logs.Len() == 0 {
				t.Error("nothing logged")
			}
			for _, s := range []string{err.Error(), logs.String()} {
				if strings.Contains(s, tok) || strings.Contains(s, "SECRET") {
					t.Errorf("token shows: %s", s)
				}
			}
		})
	}

	// The bot token is no user token: Slack refuses it for profile writes. The
	// stand-in's bot token is given an xoxp- form here to get past the check.
	const botLike = "xoxp-1-2-FAKEbotlikeSECRET"
	api := slacktest.StartAPI(t, botLike)
	api.AddUser(slacktest.User{ID: "U0ALICE", TeamID: slacktest.TeamID})
	err := newWriter(t, botLike, api).SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: "x"})
	var perm *bridge.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(perm.Reason, "not_allowed_token_type") || !errors.Is(err, slackhandler.ErrAuth) {
		t.Errorf("bot token: %v", err)
	}
}

func TestStatusWriterTransient(t *testing.T) {
	api := newWriterAPI(t)
	var logs bytes.Buffer
	w := newWriter(t, adminToken, api, slackhandler.WithAdminLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	api.FailNext("users.profile.set", 1, http.StatusServiceUnavailable, "")
	err := w.SetUserStatus(context.Background(), "U0ALICE", bridge.SlackStatus{Text: "x"})
	var tr *bridge.TransientError
	if !errors.As(err, &tr) || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v", err)
	}
	// Nothing listens here any more: a network error.
	dead := newWriter(t, adminToken, api, slackhandler.WithAdminAPIURL("http://127.0.0.1:1/api/"),
		slackhandler.WithAdminLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	err = dead.SetUserStatus(context.Background(), "U0ALICE", bridge.SlackStatus{Text: "x"})
	if !errors.As(err, &tr) {
		t.Errorf("network: %v", err)
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, adminToken) || strings.Contains(s, "SECRET") {
			t.Errorf("token shows: %s", s)
		}
	}
	// A cancelled context is neither: the caller stopped.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.SetUserStatus(ctx, "U0ALICE", bridge.SlackStatus{Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
