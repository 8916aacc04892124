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
	if post(t, s, tok, "u1", ok, false) != 429 || post(t, s, tok, "u1", ok, false) != 429 || post(t, s, tok, "u1", ok, false) != 200 {
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
}
