package fakegraph

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func token(t *testing.T, s *Server, secret string) (string, int) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {secret},
		"scope": {strings.TrimSuffix(s.GraphURL, "/v1.0") + "/.default openid offline_access profile"}}
	resp, err := s.Client().PostForm(s.AuthorityHost+s.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.AccessToken, resp.StatusCode
}

func post(t *testing.T, s *Server, tok, user, body string, gz bool) int {
	t.Helper()
	var b bytes.Buffer
	if gz {
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(body))
		zw.Close()
	} else {
		b.WriteString(body)
	}
	req, _ := http.NewRequest(http.MethodPost, s.GraphURL+"/users/"+user+"/presence/setStatusMessage", &b)
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStandIn(t *testing.T) {
	s := Start(t)
	s.AddUser(User{ID: "u1", UPN: "u1@x.example"})
	if _, code := token(t, s, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", code)
	}
	tok, code := token(t, s, s.ClientSecret)
	if code != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %q", code, tok)
	}
	ok := `{"statusMessage":{"message":{"content":"hi","contentType":"text"},"expiryDateTime":{"dateTime":"2026-12-04T17:00:00.1234567","timeZone":"UTC"}}}`
	tests := []struct {
		name, tok, user, body string
		gz                    bool
		want                  int
	}{
		{"ok gzip", tok, "u1", ok, true, 200},
		{"ok plain", tok, "u1", ok, false, 200},
		{"no token", "", "u1", ok, false, 401},
		{"foreign token", "fake-token-00", "u1", ok, false, 401},
		{"unknown user", tok, "u2", ok, false, 404},
		{"unknown top-level", tok, "u1", `{"statusMessage":{"message":{"content":"hi","contentType":"text"}},"x":1}`, false, 400},
		{"html", tok, "u1", `{"statusMessage":{"message":{"content":"hi","contentType":"html"}}}`, false, 400},
		{"null content", tok, "u1", `{"statusMessage":{"message":{"content":null,"contentType":"text"}}}`, false, 400},
		{"Z suffix", tok, "u1", strings.Replace(ok, `.1234567"`, `Z"`, 1), false, 400},
		{"offset", tok, "u1", strings.Replace(ok, `.1234567"`, `+00:00"`, 1), false, 400},
		{"no zone", tok, "u1", strings.Replace(ok, `"UTC"`, `""`, 1), false, 400},
		{"clear", tok, "u1", `{"statusMessage":{"message":{"content":"","contentType":"text"}}}`, false, 200},
	}
	for _, tt := range tests {
		if got := post(t, s, tt.tok, tt.user, tt.body, tt.gz); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if cur, ok := s.Current("u1"); !ok || cur.Content != "" || cur.HasExpiry {
		t.Errorf("current = %+v, %v", cur, ok)
	}
	s.FailNext(2, 429, "3")
	first, second, third := post(t, s, tok, "u1", ok, false), post(t, s, tok, "u1", ok, false), post(t, s, tok, "u1", ok, false)
	if first != 429 || second != 429 || third != 200 {
		t.Error("FailNext not honoured")
	}
	okN, thr, failed := s.Counts()
	if okN != 4 || thr != 2 || failed != 9 {
		t.Errorf("counts = %d %d %d", okN, thr, failed)
	}
	if len(s.StatusCalls()) != len(tests)+3 {
		t.Errorf("calls = %d", len(s.StatusCalls()))
	}
}

func TestRateLimit(t *testing.T) {
	s := Start(t)
	s.AddUser(User{ID: "u1"})
	tok, _ := token(t, s, s.ClientSecret)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.SetRateLimit(2, 10*time.Second)
	body := `{"statusMessage":{"message":{"content":"x","contentType":"text"}}}`
	got := []int{post(t, s, tok, "u1", body, false), post(t, s, tok, "u1", body, false), post(t, s, tok, "u1", body, false)}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("statuses = %v", got)
	}
	now = now.Add(11 * time.Second)
	if post(t, s, tok, "u1", body, false) != 200 {
		t.Error("window did not slide")
	}
	// Every answer, accepted or throttled, carries the time it was decided.
	calls := s.StatusCalls()
	if len(calls) != 4 {
		t.Fatalf("%d calls recorded, want 4", len(calls))
	}
	for i, c := range calls {
		want := now
		if i < 3 {
			want = now.Add(-11 * time.Second)
		}
		if !c.Answered.Equal(want) {
			t.Errorf("call %d (status %d) answered at %v, want %v", i, c.Status, c.Answered, want)
		}
	}
}

// read makes a presence read and returns the status and the decoded body.
func read(t *testing.T, s *Server, tok, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.GraphURL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPresenceReads(t *testing.T) {
	const (
		u1      = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
		u2      = "66825e03-7ef5-42da-9069-724602c31f6b"
		unknown = "00000000-0000-4000-8000-000000000404"
	)
	s := Start(t)
	s.AddUser(User{ID: u1, UPN: "u1@x.example"})
	s.AddUser(User{ID: u2, UPN: "u2@x.example"})
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s.SetNow(func() time.Time { return now })
	tok, _ := token(t, s, s.ClientSecret)

	set := `{"statusMessage":{"message":{"content":"In a meeting","contentType":"text"},"expiryDateTime":{"dateTime":"2026-12-04T17:00:00","timeZone":"UTC"}}}`
	if got := post(t, s, tok, u1, set, true); got != 200 {
		t.Fatalf("set: %d", got)
	}
	s.SetMessageByHand(u2, TeamsMessage{Content: "<p>Out sick &amp; offline</p>", ContentType: "html"})
	s.SetAvailability(u2, "Away", "Away")

	for _, path := range []string{"/users/" + u1 + "/presence", "/communications/presences/" + u1} {
		code, body := read(t, s, tok, http.MethodGet, path, "")
		sm, _ := body["statusMessage"].(map[string]any)
		msg, _ := sm["message"].(map[string]any)
		if code != 200 || body["id"] != u1 || msg["content"] != "In a meeting" || msg["contentType"] != "text" {
			t.Errorf("%s: %d %v", path, code, body)
		}
		if _, ok := sm["expiryDateTime"]; ok {
			t.Errorf("%s: expiryDateTime shown for another user: %v", path, sm)
		}
		if _, ok := sm["publishedDateTime"]; ok {
			t.Errorf("%s: publishedDateTime shown for another user: %v", path, sm)
		}
	}
	if code, _ := read(t, s, tok, http.MethodGet, "/users/"+unknown+"/presence", ""); code != 404 {
		t.Errorf("unknown user: %d", code)
	}

	code, body := read(t, s, tok, http.MethodPost, "/communications/getPresencesByUserId", `{"ids":["`+u1+`","`+u2+`","`+unknown+`"]}`)
	vals, _ := body["value"].([]any)
	if code != 200 || len(vals) != 2 {
		t.Fatalf("batch: %d %v", code, body)
	}
	second := vals[1].(map[string]any)
	if second["availability"] != "Away" || second["statusMessage"].(map[string]any)["message"].(map[string]any)["content"] != "<p>Out sick &amp; offline</p>" {
		t.Errorf("hand-set message: %v", second)
	}
	s.SetUnknownIDsAsPresenceUnknown(true)
	_, body = read(t, s, tok, http.MethodPost, "/communications/getPresencesByUserId", `{"ids":["`+unknown+`"]}`)
	if vals, _ := body["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["availability"] != "PresenceUnknown" {
		t.Errorf("unknown as PresenceUnknown: %v", body)
	}

	ids := make([]string, 651)
	for i := range ids {
		ids[i] = `"` + u1 + `"`
	}
	if code, _ := read(t, s, tok, http.MethodPost, "/communications/getPresencesByUserId", `{"ids":[`+strings.Join(ids, ",")+`]}`); code != 400 {
		t.Errorf("651 ids: %d", code)
	}
	if code, _ := read(t, s, tok, http.MethodPost, "/communications/getPresencesByUserId", `{"ids":["u1@x.example"]}`); code != 400 {
		t.Errorf("non-id: %d", code)
	}

	// The expiry passes by the stand-in's clock; a clear removes the hand-set message.
	now = now.Add(5 * time.Hour)
	if _, _, ok := s.StatusMessage(u1); ok {
		t.Error("expired message still shown")
	}
	if got := post(t, s, tok, u2, `{"statusMessage":{"message":{"content":"","contentType":"text"}}}`, false); got != 200 {
		t.Fatalf("clear: %d", got)
	}
	_, body = read(t, s, tok, http.MethodGet, "/users/"+u2+"/presence", "")
	if body["statusMessage"] != nil {
		t.Errorf("cleared message still shown: %v", body)
	}

	// Reads and writes share the throttling window.
	s.SetRateLimit(2, 30*time.Second)
	post(t, s, tok, u1, set, false)
	read(t, s, tok, http.MethodGet, "/users/"+u1+"/presence", "")
	if code, _ := read(t, s, tok, http.MethodGet, "/users/"+u1+"/presence", ""); code != 429 {
		t.Errorf("read over the shared window: %d", code)
	}
	if got := post(t, s, tok, u1, set, false); got != 429 {
		t.Errorf("write over the shared window: %d", got)
	}
	got := s.PresenceReads()
	// The client (net/http) accepts gzip: both batch reads came compressed.
	want := PresenceReadCounts{Calls: 10, IDs: 2 + 3 + 1 + 1 + 1, Throttled: 1, Failed: 3, Gzipped: 2}
	if got != want {
		t.Errorf("read counts = %+v, want %+v", got, want)
	}
}

func TestUserKeyRejected(t *testing.T) {
	s := Start(t)
	s.AddUser(User{ID: "u1", UPN: "$u1@x.example"})
	s.AddUser(User{ID: "u2", UPN: "u2%x@x.example"})
	s.RejectUserKey("u2%x@x.example")
	tok, _ := token(t, s, s.ClientSecret)
	for _, key := range []string{"$u1@x.example", "u2%25x@x.example"} {
		if code, _ := read(t, s, tok, http.MethodGet, "/users/"+key, ""); code != 400 {
			t.Errorf("%s: %d, want 400", key, code)
		}
	}
	if code, _ := read(t, s, tok, http.MethodGet, "/users/u1", ""); code != 200 {
		t.Errorf("by id: %d", code)
	}
}
