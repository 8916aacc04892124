package slackhandler

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/statusbridge/statusbridge/bridge"
)

type nopSubmitter struct{}

func (nopSubmitter) Submit(context.Context, bridge.Change) (bridge.SubmitOutcome, error) {
	return bridge.Accepted, nil
}

// TestVerifyAgreesWithSlackGo holds the handler's verification to slack-go's
// SecretsVerifier on the wall clock (timestamps are kept far from the window's
// edge, so the two clocks cannot disagree).
func TestVerifyAgreesWithSlackGo(t *testing.T) {
	const secret = "e6b19c573432dcc6b075501d51b51bb8"
	h := NewHandler(secret, nopSubmitter{})
	wall := time.Now()
	body := []byte(`{"type":"event_callback","event_id":"Ev1"}`)
	type req struct {
		name   string
		header http.Header
		body   []byte
	}
	mk := func(name, sec string, ts time.Time, b []byte, edit func(http.Header)) req {
		tsh, sig := strconv.FormatInt(ts.Unix(), 10), Sign(sec, ts.Unix(), b)
		hd := http.Header{}
		hd.Set("X-Slack-Request-Timestamp", tsh)
		hd.Set("X-Slack-Signature", sig)
		if edit != nil {
			edit(hd)
		}
		return req{name, hd, body}
	}
	cases := []req{
		mk("valid", secret, wall, body, nil),
		mk("valid 4 min old", secret, wall.Add(-4*time.Minute), body, nil),
		mk("valid 4 min ahead", secret, wall.Add(4*time.Minute), body, nil),
		mk("stale", secret, wall.Add(-6*time.Minute), body, nil),
		mk("future", secret, wall.Add(6*time.Minute), body, nil),
		mk("wrong secret", "other", wall, body, nil),
		mk("other body", secret, wall, []byte(`{}`), nil),
		mk("no sig", secret, wall, body, func(h http.Header) { h.Del("X-Slack-Signature") }),
		mk("no ts", secret, wall, body, func(h http.Header) { h.Del("X-Slack-Request-Timestamp") }),
		mk("garbage ts", secret, wall, body, func(h http.Header) { h.Set("X-Slack-Request-Timestamp", "12a") }),
		mk("shifted ts", secret, wall, body, func(h http.Header) {
			h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(wall.Unix()+1, 10))
		}),
		mk("upper-case hex", secret, wall, body, func(h http.Header) {
			s := h.Get("X-Slack-Signature")
			h.Set("X-Slack-Signature", "v0="+upper(s[3:]))
		}),
	}
	for _, c := range cases {
		ours := h.verify(c.header, c.body) == ""
		sv, err := slack.NewSecretsVerifier(c.header, secret)
		if err == nil {
			_, _ = sv.Write(c.body)
			err = sv.Ensure()
		}
		if theirs := err == nil; ours != theirs {
			t.Errorf("%s: handler accepts=%v, slack-go accepts=%v (%v)", c.name, ours, theirs, err)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
