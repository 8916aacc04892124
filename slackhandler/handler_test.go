package slackhandler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
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

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// now is the handler's clock in these tests, far from the wall clock on purpose.
var now = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// recorder is a Submitter that records what it was given.
type recorder struct {
	mu      sync.Mutex
	changes []bridge.Change
	out     bridge.SubmitOutcome
	err     error
}

func (r *recorder) Submit(ctx context.Context, c bridge.Change) (bridge.SubmitOutcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return 0, errors.New("submit without a deadline")
	}
	r.changes = append(r.changes, c)
	if r.err != nil {
		return 0, r.err
	}
	if r.out == 0 {
		return bridge.Accepted, nil
	}
	return r.out, nil
}

func (r *recorder) got() []bridge.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bridge.Change(nil), r.changes...)
}

type outcomes struct {
	mu  sync.Mutex
	all []string
}

func (o *outcomes) Request(s string) { o.mu.Lock(); o.all = append(o.all, s); o.mu.Unlock() }

type fixture struct {
	h    *slackhandler.Handler
	sub  *recorder
	logs *bytes.Buffer
	obs  *outcomes
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{sub: &recorder{}, logs: &bytes.Buffer{}, obs: &outcomes{}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.h = slackhandler.NewHandler(secret, f.sub,
		slackhandler.WithClock(func() time.Time { return now }),
		slackhandler.WithLogger(log),
		slackhandler.WithObserver(f.obs))
	return f
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) post(ts time.Time, body []byte) *httptest.ResponseRecorder {
	return f.do(slacktest.NewRequest("http://127.0.0.1/slack/events", secret, ts, body))
}

func statusEvent(eventID string) []byte {
	return slacktest.StatusEvent("user_status_changed", eventID, "T0EXAMPLE1", "U0123ABCD",
		now.Add(-2*time.Second), "Vacationing", ":palm_tree:", 1742000000)
}

func TestStatusEventSubmitsExactChange(t *testing.T) {
	for _, typ := range []string{"user_status_changed", "user_change"} {
		t.Run(typ, func(t *testing.T) {
			f := newFixture(t)
			body := slacktest.StatusEvent(typ, "Ev0PV52K21", "T0EXAMPLE1", "U0123ABCD",
				time.Unix(1741944410, 0), "Vacationing", ":palm_tree:", 1742000000)
			rec := f.post(now, body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %q", rec.Code, rec.Body)
			}
			want := bridge.Change{
				UserID: "U0123ABCD", TeamID: "T0EXAMPLE1",
				Status:  bridge.Status{Text: "Vacationing", Emoji: "🌴", EmojiName: ":palm_tree:", Expiration: 1742000000},
				EventID: "Ev0PV52K21", EventTime: time.Unix(1741944410, 0), Source: "http", EventType: typ,
			}
			got := f.sub.got()
			if len(got) != 1 {
				t.Fatalf("Submit called %d times, want 1", len(got))
			}
			if got[0] != want {
				t.Errorf("Submit got\n %#v\nwant\n %#v", got[0], want)
			}
		})
	}
}

func TestOutcomesOtherThanAcceptedAre200(t *testing.T) {
	for _, out := range []bridge.SubmitOutcome{bridge.Duplicate, bridge.Stale, bridge.Unchanged} {
		f := newFixture(t)
		f.sub.out = out
		if rec := f.post(now, statusEvent("Ev1")); rec.Code != http.StatusOK {
			t.Errorf("%v: status %d", out, rec.Code)
		}
		if len(f.obs.all) != 1 || f.obs.all[0] != out.String() {
			t.Errorf("%v: observed %v", out, f.obs.all)
		}
	}
}

func TestEnterpriseGridTeamFromUser(t *testing.T) {
	f := newFixture(t)
	body := slacktest.StatusEvent("user_change", "Ev2", "T0OTHER", "W0123ABCD", now, "Lunch", ":hamburger:", 0)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["team_id"] = ""
	body, _ = json.Marshal(m)
	if rec := f.post(now, body); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	got := f.sub.got()
	if len(got) != 1 || got[0].TeamID != "T0OTHER" || got[0].UserID != "W0123ABCD" || got[0].Status.Emoji != "🍔" {
		t.Fatalf("got %#v", got)
	}
}

func TestSignatureWindow(t *testing.T) {
	tests := []struct {
		name string
		ts   time.Time
		want int
	}{
		{"now", now, http.StatusOK},
		{"exactly 5 min old", now.Add(-5 * time.Minute), http.StatusOK},
		{"exactly 5 min ahead", now.Add(5 * time.Minute), http.StatusOK},
		{"5 min 1 s old", now.Add(-5*time.Minute - time.Second), http.StatusUnauthorized},
		{"5 min 1 s ahead", now.Add(5*time.Minute + time.Second), http.StatusUnauthorized},
		{"a day old", now.Add(-24 * time.Hour), http.StatusUnauthorized},
		{"epoch", time.Unix(0, 0), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.post(tt.ts, statusEvent("Ev3"))
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if n := len(f.sub.got()); (tt.want == http.StatusOK) != (n == 1) {
				t.Fatalf("Submit called %d times", n)
			}
		})
	}
}

func TestForgedRequestsNeverReachSubmit(t *testing.T) {
	body := statusEvent("Ev4")
	signed := func() *http.Request {
		return slacktest.NewRequest("http://127.0.0.1/slack/events", secret, now, body)
	}
	tests := map[string]func() *http.Request{
		"wrong secret": func() *http.Request {
			return slacktest.NewRequest("http://127.0.0.1/slack/events", "not-the-secret", now, body)
		},
		"tampered body": func() *http.Request {
			r := signed()
			tampered := bytes.Replace(body, []byte("Vacationing"), []byte("Hacked!!!!!"), 1)
			r.Body = io.NopCloser(bytes.NewReader(tampered))
			return r
		},
		"timestamp changed after signing": func() *http.Request {
			r := signed()
			r.Header.Set("X-Slack-Request-Timestamp", "1741944414")
			return r
		},
		"no signature": func() *http.Request { r := signed(); r.Header.Del("X-Slack-Signature"); return r },
		"no timestamp": func() *http.Request { r := signed(); r.Header.Del("X-Slack-Request-Timestamp"); return r },
		"no headers":   func() *http.Request { r := signed(); r.Header = http.Header{}; return r },
		"v1 signature": func() *http.Request {
			r := signed()
			r.Header.Set("X-Slack-Signature", strings.Replace(r.Header.Get("X-Slack-Signature"), "v0=", "v1=", 1))
			return r
		},
		"short sig": func() *http.Request { r := signed(); r.Header.Set("X-Slack-Signature", "v0=abcd"); return r },
		"non-hex sig": func() *http.Request {
			r := signed()
			r.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("zz", 32))
			return r
		},
		"bad timestamp": func() *http.Request { r := signed(); r.Header.Set("X-Slack-Request-Timestamp", "yesterday"); return r },
	}
	for name, mk := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			if rec := f.do(mk()); rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			if n := len(f.sub.got()); n != 0 {
				t.Fatalf("Submit called %d times for a forged request", n)
			}
			if f.obs.all[0] != "unauthorized" {
				t.Errorf("observed %v", f.obs.all)
			}
		})
	}
}

func TestEmptySecretRejectsEverything(t *testing.T) {
	sub := &recorder{}
	h := slackhandler.NewHandler("", sub, slackhandler.WithClock(func() time.Time { return now }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, slacktest.NewRequest("http://127.0.0.1/slack/events", "", now, statusEvent("Ev5")))
	if rec.Code != http.StatusUnauthorized || len(sub.got()) != 0 {
		t.Fatalf("status %d, submits %d", rec.Code, len(sub.got()))
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		rec := f.do(httptest.NewRequest(m, "/slack/events", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: status %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// sized returns a valid url_verification payload of exactly n bytes.
func sized(n int) []byte {
	head := []byte(`{"type":"url_verification","challenge":"c","pad":"`)
	tail := []byte(`"}`)
	return append(append(head, bytes.Repeat([]byte("x"), n-len(head)-len(tail))...), tail...)
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	if rec := f.post(now, sized(slackhandler.MaxBodyBytes)); rec.Code != http.StatusOK {
		t.Errorf("exactly 1 MiB: status %d, want 200", rec.Code)
	}
	if rec := f.post(now, sized(slackhandler.MaxBodyBytes+1)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1: status %d, want 413", rec.Code)
	}
}

func TestMalformed(t *testing.T) {
	for _, body := range []string{`{"type":"event_callback",`, `[]`, `"x"`, ``, `{"type":"event_callback","event":[]}`} {
		f := newFixture(t)
		rec := f.post(now, []byte(body))
		if rec.Code != http.StatusBadRequest || rec.Header().Get("X-Slack-No-Retry") != "1" {
			t.Errorf("%q: status %d, no-retry %q", body, rec.Code, rec.Header().Get("X-Slack-No-Retry"))
		}
		// Unsigned, the same body is 401: the signature is checked first.
		req := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
		if rec := f.do(req); rec.Code != http.StatusUnauthorized {
			t.Errorf("%q unsigned: status %d", body, rec.Code)
		}
		if len(f.sub.got()) != 0 {
			t.Errorf("%q reached Submit", body)
		}
	}
}

func TestInvalidUserIs400WithoutRetry(t *testing.T) {
	for name, userID := range map[string]string{"missing": "", "malformed": "not-a-user"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			body := slacktest.StatusEvent("user_status_changed", "Ev6", "T0EXAMPLE1", userID, now, "x", "", 0)
			rec := f.post(now, body)
			if rec.Code != http.StatusBadRequest || rec.Header().Get("X-Slack-No-Retry") != "1" {
				t.Fatalf("status %d, no-retry %q", rec.Code, rec.Header().Get("X-Slack-No-Retry"))
			}
			if len(f.sub.got()) != 0 {
				t.Fatal("invalid change reached Submit")
			}
		})
	}
	f := newFixture(t)
	body := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev7","event_time":1741944410,"event":{"type":"user_change","user":"U0123ABCD"}}`)
	if rec := f.post(now, body); rec.Code != http.StatusBadRequest {
		t.Errorf("user as string: status %d", rec.Code)
	}
	body = []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev7","event":{"type":"user_change","user":{"id":"U0123ABCD"}}}`)
	if rec := f.post(now, body); rec.Code != http.StatusBadRequest {
		t.Errorf("no event_time: status %d", rec.Code)
	}
}

func TestURLVerification(t *testing.T) {
	f := newFixture(t)
	rec := f.post(now, slacktest.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if got := rec.Body.String(); got != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("body %q, want the challenge alone", got)
	}
	if len(f.sub.got()) != 0 {
		t.Fatal("url_verification reached Submit")
	}
}

func TestIgnoredEvents(t *testing.T) {
	bodies := map[string]string{
		"message":          `{"type":"event_callback","team_id":"T1","event_id":"Ev8","event_time":1741944410,"event":{"type":"message","user":"U0123ABCD","text":"hi"}}`,
		"team_join":        `{"type":"event_callback","team_id":"T1","event_id":"Ev9","event_time":1741944410,"event":{"type":"team_join","user":{"id":"U0123ABCD"}}}`,
		"user_huddle":      `{"type":"event_callback","team_id":"T1","event_id":"Ev10","event_time":1741944410,"event":{"type":"user_huddle_changed","user":{"id":"U0123ABCD"}}}`,
		"unknown envelope": `{"type":"something_new","team_id":"T1"}`,
		"app_rate_limited": string(slacktest.AppRateLimited("T1", now)),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			if rec := f.post(now, []byte(body)); rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if len(f.sub.got()) != 0 {
				t.Fatal("ignored event reached Submit")
			}
			if name == "app_rate_limited" && !strings.Contains(f.logs.String(), `"level":"WARN","msg":"slack is dropping events: app rate limited"`) {
				t.Errorf("app_rate_limited not logged at warn: %s", f.logs)
			}
		})
	}
}

func TestSubmitErrorIs503(t *testing.T) {
	f := newFixture(t)
	f.sub.err = errors.New("redis: connection refused")
	rec := f.post(now, statusEvent("Ev11"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if rec.Body.Len() == 0 || rec.Body.Len() > 100 || strings.Contains(rec.Body.String(), "redis") {
		t.Errorf("body %q: want a short text without internals", rec.Body)
	}
	if !strings.Contains(f.logs.String(), "redis: connection refused") || !strings.Contains(f.logs.String(), `"level":"ERROR"`) {
		t.Errorf("error not logged: %s", f.logs)
	}
}

func TestRetryHeadersLogged(t *testing.T) {
	f := newFixture(t)
	req := slacktest.NewRequest("http://127.0.0.1/slack/events", secret, now, statusEvent("Ev12"))
	req.Header.Set("X-Slack-Retry-Num", "2")
	req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	if rec := f.do(req); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if !strings.Contains(f.logs.String(), `"retry_num":"2","retry_reason":"http_timeout"`) {
		t.Errorf("retry not logged: %s", f.logs)
	}
}

func TestFieldsVariantsParse(t *testing.T) {
	for _, fields := range []string{`[]`, `{}`, `null`, `{"Xf01":{"value":"x","alt":""}}`, `"weird"`, `42`} {
		f := newFixture(t)
		body := `{"type":"event_callback","team_id":"T1","event_id":"Ev13","event_time":1741944410,"event":{"type":"user_change","user":{"id":"U0123ABCD","profile":{"fields":` + fields +
			`,"status_text":"Out","status_emoji":":palm_tree:","status_expiration":"1742000000","status_emoji_display_info":[{"emoji_name":"palm_tree","unicode":"1f334"}, 5, null]}}}}`
		if rec := f.post(now, []byte(body)); rec.Code != http.StatusOK {
			t.Errorf("fields %s: status %d", fields, rec.Code)
			continue
		}
		got := f.sub.got()
		if len(got) != 1 || got[0].Status != (bridge.Status{Text: "Out", Emoji: "🌴", EmojiName: ":palm_tree:", Expiration: 1742000000}) {
			t.Errorf("fields %s: got %#v", fields, got)
		}
	}
}

// TestSlackDocsExample checks the handler against the worked example in
// https://docs.slack.dev/authentication/verifying-requests-from-slack/: the
// body is a slash command, so a verified request gets the ephemeral "not
// available" reply of a handler without controls, a refused one 401.
func TestSlackDocsExample(t *testing.T) {
	const body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	for _, tc := range []struct {
		secret string
		want   int
	}{{"8f742231b10e8888abcd99yyyzzz85a5", http.StatusOK}, {"8f742231b10e8888abcd99yyyzzz85a6", http.StatusUnauthorized}} {
		h := slackhandler.NewHandler(tc.secret, &recorder{}, slackhandler.WithClock(func() time.Time { return time.Unix(1531420618, 0) }))
		req := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
		req.Header.Set("X-Slack-Request-Timestamp", "1531420618")
		req.Header.Set("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("secret %s…: status %d, want %d", tc.secret[:4], rec.Code, tc.want)
		}
		if tc.want == http.StatusOK && (!strings.Contains(rec.Body.String(), `"response_type":"ephemeral"`) ||
			!strings.Contains(rec.Body.String(), "not available")) {
			t.Errorf("verified command answered %q, want the ephemeral not-available reply", rec.Body)
		}
	}
}

// BenchmarkServeStatusEvent is the handler's own work on a signed status
// event: reading, signature check, decoding and the change handed to a
// Submitter that stores nothing.
func BenchmarkServeStatusEvent(b *testing.B) {
	const secret = "bench-signing-secret"
	now := time.Now()
	body := slacktest.StatusEvent("user_status_changed", "Ev0B", "T1", "U0123ABCD", now, "In a meeting", ":calendar:", 0)
	req := slacktest.NewRequest("http://bridge/slack/events", secret, now, body)
	h := slackhandler.NewHandler(secret, nopSub{}, slackhandler.WithClock(func() time.Time { return now }))
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("answered %d", w.code)
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the status code.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
