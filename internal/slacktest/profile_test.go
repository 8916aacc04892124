package slacktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testBot   = "xoxb-1-2-FAKEbot"
	testAdmin = "xoxp-1-2-FAKEadmin"
)

// post calls method on the stand-in with a form and decodes the answer.
func post(t *testing.T, a *API, token, method string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("token", token)
	resp, err := http.PostForm(a.URL+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: undecodable answer: %v", method, err)
	}
	return resp.StatusCode, resp.Header, m
}

func setForm(user, text, emoji string, exp int64) url.Values {
	p, _ := json.Marshal(map[string]any{"status_text": text, "status_emoji": emoji, "status_expiration": exp})
	return url.Values{"user": {user}, "profile": {string(p)}}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newProfileAPI(t *testing.T) *API {
	a := StartAPI(t, testBot)
	a.SetAdminToken(testAdmin)
	a.AddUser(User{ID: "U0ALICE", TeamID: TeamID, Email: "alice@example.com"})
	a.AddUser(User{ID: "U0BOSS", TeamID: TeamID, Email: "boss@example.com", Admin: true})
	a.AddUser(User{ID: "U0OWNER", TeamID: TeamID, Email: "owner@example.com", Owner: true})
	return a
}

func TestProfileSetWritesAndEchoes(t *testing.T) {
	a := newProfileAPI(t)
	clk := &fakeClock{t: time.Unix(1750000000, 0)}
	a.SetClock(clk.now)
	got := make(chan []byte, 10)
	a.SetEventSink(func(b []byte) { got <- b })

	code, _, m := post(t, a, testAdmin, "users.profile.set", setForm("U0ALICE", "In a meeting", ":spiral_calendar_pad:", 1750003600))
	if code != 200 || m["ok"] != true {
		t.Fatalf("set: %d %v", code, m)
	}
	if p := m["profile"].(map[string]any); p["status_text"] != "In a meeting" || p["status_emoji"] != ":spiral_calendar_pad:" {
		t.Errorf("answer's profile = %v", p)
	}
	clk.add(time.Second)
	// A JSON body with the profile as an object, clearing the status.
	body := `{"user":"U0ALICE","profile":{"status_text":"","status_emoji":"","status_expiration":1750003600}}`
	req, _ := http.NewRequest(http.MethodPost, a.URL+"users.profile.set", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var cm map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&cm)
	resp.Body.Close()
	if cm["ok"] != true {
		t.Fatalf("JSON clear: %v", cm)
	}

	u, _ := a.UserByID("U0ALICE")
	if u.StatusText != "" || u.StatusEmoji != "" || u.StatusExpiration != 0 {
		t.Errorf("after clear the user is %+v", u)
	}
	writes := a.ProfileWrites()
	want := []ProfileWrite{
		{User: "U0ALICE", Text: "In a meeting", Emoji: ":spiral_calendar_pad:", Expiration: 1750003600, At: time.Unix(1750000000, 0)},
		{User: "U0ALICE", At: time.Unix(1750000001, 0)},
	}
	if len(writes) != 2 || writes[0] != want[0] || writes[1] != want[1] {
		t.Errorf("writes = %+v\nwant %+v", writes, want)
	}

	type ev struct {
		Type      string `json:"type"`
		EventID   string `json:"event_id"`
		EventTime int64  `json:"event_time"`
		Event     struct {
			Type string `json:"type"`
			User struct {
				ID      string `json:"id"`
				Profile struct {
					Text  string `json:"status_text"`
					Emoji string `json:"status_emoji"`
					Exp   int64  `json:"status_expiration"`
				} `json:"profile"`
			} `json:"user"`
		} `json:"event"`
	}
	ids := map[string]bool{}
	var seq []string
	for i := 0; i < 4; i++ {
		select {
		case b := <-got:
			var e ev
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if e.Type != "event_callback" || e.Event.User.ID != "U0ALICE" || ids[e.EventID] {
				t.Errorf("event %d: %+v", i, e)
			}
			ids[e.EventID] = true
			seq = append(seq, e.Event.Type+"|"+e.Event.User.Profile.Text+"|"+e.Event.User.Profile.Emoji)
			if i < 2 && (e.EventTime != 1750000000 || e.Event.User.Profile.Exp != 1750003600) {
				t.Errorf("event %d: time %d exp %d", i, e.EventTime, e.Event.User.Profile.Exp)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d events echoed: %v", i, seq)
		}
	}
	wantSeq := []string{
		"user_change|In a meeting|:spiral_calendar_pad:", "user_status_changed|In a meeting|:spiral_calendar_pad:",
		"user_change||", "user_status_changed||",
	}
	if strings.Join(seq, ",") != strings.Join(wantSeq, ",") {
		t.Errorf("events:\n got  %v\n want %v", seq, wantSeq)
	}

	// users.profile.get reads the status back.
	a.AddUser(User{ID: "U0BOB", TeamID: TeamID, StatusText: "Lunch", StatusEmoji: ":hamburger:", StatusExpiration: 5})
	_, _, g := post(t, a, testAdmin, "users.profile.get", url.Values{"user": {"U0BOB"}})
	if p, _ := g["profile"].(map[string]any); g["ok"] != true || p["status_text"] != "Lunch" || p["status_emoji"] != ":hamburger:" {
		t.Errorf("users.profile.get = %v", g)
	}
}

func TestProfileSetErrors(t *testing.T) {
	a := newProfileAPI(t)
	long := strings.Repeat("é", MaxStatusText+1)
	cases := []struct {
		name, token string
		form        url.Values
		want        string
	}{
		{"bot token", testBot, setForm("U0ALICE", "x", "", 0), "not_allowed_token_type"},
		{"unknown token", "xoxp-nope", setForm("U0ALICE", "x", "", 0), "invalid_auth"},
		{"unknown user", testAdmin, setForm("U0NOBODY", "x", "", 0), "user_not_found"},
		{"admin user", testAdmin, setForm("U0BOSS", "x", "", 0), "cannot_update_admin_user"},
		{"owner", testAdmin, setForm("U0OWNER", "x", "", 0), "cannot_update_admin_user"},
		{"too long", testAdmin, setForm("U0ALICE", long, "", 0), "too_long"},
		{"bad profile", testAdmin, url.Values{"user": {"U0ALICE"}, "profile": {"{not json"}}, "invalid_profile"},
		{"no profile", testAdmin, url.Values{"user": {"U0ALICE"}}, "invalid_profile"},
	}
	for _, c := range cases {
		_, _, m := post(t, a, c.token, "users.profile.set", c.form)
		if m["ok"] != false || m["error"] != c.want {
			t.Errorf("%s: %v, want error %s", c.name, m, c.want)
		}
	}
	// Exactly 100 characters is fine.
	if _, _, m := post(t, a, testAdmin, "users.profile.set", setForm("U0ALICE", long[2:], "", 0)); m["ok"] != true {
		t.Errorf("100 characters: %v", m)
	}
	if n := len(a.ProfileWrites()); n != 1 {
		t.Errorf("%d writes recorded, want 1", n)
	}

	// A primary owner may change an admin's status; a member nobody's but their own.
	a.AddUser(User{ID: AdminUserID, TeamID: TeamID, PrimaryOwner: true})
	if _, _, m := post(t, a, testAdmin, "users.profile.set", setForm("U0BOSS", "x", "", 0)); m["ok"] != true {
		t.Errorf("primary owner on an admin: %v", m)
	}
	a.AddUser(User{ID: AdminUserID, TeamID: TeamID})
	if _, _, m := post(t, a, testAdmin, "users.profile.set", setForm("U0ALICE", "x", "", 0)); m["error"] != "not_admin" {
		t.Errorf("member on another user: %v", m)
	}
	if _, _, m := post(t, a, testAdmin, "users.profile.set", setForm("", "mine", "", 0)); m["ok"] != true {
		t.Errorf("member on themselves: %v", m)
	}

	// A token without users.profile:write.
	a.SetAdminToken(testAdmin, "users:read")
	_, h, m := post(t, a, testAdmin, "users.profile.set", setForm("U0ALICE", "x", "", 0))
	if m["error"] != "missing_scope" || m["needed"] != "users.profile:write" || h.Get("X-OAuth-Scopes") != "users:read" {
		t.Errorf("missing scope: %v %v", m, h)
	}
}

func TestProfileSetLimits(t *testing.T) {
	a := newProfileAPI(t)
	for _, id := range []string{"U0A", "U0B", "U0C", "U0D"} {
		a.AddUser(User{ID: id, TeamID: TeamID})
	}
	clk := &fakeClock{t: time.Unix(1750000000, 0)}
	a.SetClock(clk.now)
	a.SetProfileLimits(3, 2, 10*time.Second)

	ok := func(user string) {
		t.Helper()
		if code, _, m := post(t, a, testAdmin, "users.profile.set", setForm(user, "x", "", 0)); code != 200 || m["ok"] != true {
			t.Fatalf("%s: %d %v", user, code, m)
		}
	}
	limited := func(user, retryAfter string) {
		t.Helper()
		code, h, m := post(t, a, testAdmin, "users.profile.set", setForm(user, "x", "", 0))
		if code != http.StatusTooManyRequests || m["error"] != "ratelimited" || h.Get("Retry-After") != retryAfter {
			t.Fatalf("%s: %d %v Retry-After %q, want 429 ratelimited %s", user, code, m, h.Get("Retry-After"), retryAfter)
		}
	}
	// Per user: 2 in 10 s.
	ok("U0A")
	clk.add(1500 * time.Millisecond)
	ok("U0A")
	limited("U0A", "9") // 8.5 s rounded up
	// Per token: 3 in 10 s.
	ok("U0B")
	limited("U0C", "9")
	if n := a.ProfileThrottled(); n != 2 {
		t.Errorf("%d throttled, want 2", n)
	}
	// The window slides: the first write leaves it after 10 s.
	clk.add(8500 * time.Millisecond)
	ok("U0C")
	limited("U0D", "2") // the second write leaves at 11.5 s, now is 10 s
	clk.add(1500 * time.Millisecond)
	ok("U0A")
	if n := len(a.ProfileWrites()); n != 5 {
		t.Errorf("%d writes, want 5 (throttled calls write nothing)", n)
	}
}

func TestAdminTokenIdentity(t *testing.T) {
	a := newProfileAPI(t)
	_, h, m := post(t, a, testAdmin, "auth.test", nil)
	if m["user_id"] != AdminUserID || m["team_id"] != TeamID || !strings.Contains(h.Get("X-OAuth-Scopes"), "users.profile:write") {
		t.Errorf("auth.test with the admin token: %v %v", m, h)
	}
	_, _, m = post(t, a, testAdmin, "users.info", url.Values{"user": {AdminUserID}})
	if u, _ := m["user"].(map[string]any); u["is_admin"] != true || u["is_owner"] != false {
		t.Errorf("users.info of the admin: %v", m)
	}
	// The bot token still answers as the bot, and cannot read profiles without users.profile:read.
	if _, _, m = post(t, a, testBot, "auth.test", nil); m["user_id"] != BotUserID {
		t.Errorf("auth.test with the bot token: %v", m)
	}
	if _, _, m = post(t, a, testBot, "users.profile.get", url.Values{"user": {"U0ALICE"}}); m["error"] != "missing_scope" {
		t.Errorf("users.profile.get with the bot token: %v", m)
	}
}
