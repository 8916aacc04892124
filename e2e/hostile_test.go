package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// stranger is a user of another workspace, foreignTeam.
const (
	stranger    = "U0STRANGE"
	foreignTeam = "T0PARTNER"
)

// hostileCase is one request that must change nothing: its expected HTTP
// status and, when set, a substring its body must contain.
type hostileCase struct {
	name     string
	req      func(p *bridgeProc) *http.Request
	want     int
	bodyHas  string
	bodyNone string // a substring the body must not contain
}

// signed builds a request of body to /slack/events signed with secret at ts
// and lets edit change it after signing.
func signed(p *bridgeProc, method, secret string, ts time.Time, contentType string, body []byte, edit func(*http.Request)) *http.Request {
	req := slacktest.NewRequest(p.url("/slack/events"), secret, ts, body)
	req.Method = method
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if edit != nil {
		edit(req)
	}
	return req
}

// userSnapshot is what the bridge keeps about a user: users show --json
// without the fields that move on their own.
func userSnapshot(t *testing.T, env []string, user string) string {
	t.Helper()
	out, errOut, code := cli(t, env, "users", "show", user, "--json")
	if code != 0 {
		return "exit " + strconv.Itoa(code) + ": " + errOut
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("users show %s --json is not JSON: %v\n%s", user, err, out)
	}
	return string(v["state"]) + " desired=" + string(v["desired"]) + " applied=" + string(v["applied"])
}

// TestHostileRequestsChangeNothing sends requests that are forged, stale,
// malformed, of the wrong shape or from another org to the built binary. Each
// gets its documented answer, costs no Graph call and stores nothing; a
// genuine change afterwards still goes through.
func TestHostileRequestsChangeNothing(t *testing.T) {
	w := newPeopleWorld(t)
	w.slack.AddUser(slacktest.User{ID: stranger, TeamID: foreignTeam, Email: "bob@corp.example"})
	p := startServe(t, w.env)

	// A genuine status first, so that "unchanged" means something.
	w.change(t, p, alice, "Lunch")
	w.waitCalls(t, aliceID, 1)
	genuine := slacktest.StatusEvent("user_status_changed", nextEventID(), team, alice, w.clock.Add(time.Second), "Lunch", "", 0)
	w.clock = w.clock.Add(time.Second)
	if code, body := p.send(t, genuine); code != http.StatusOK {
		t.Fatalf("genuine event answered %d %q", code, body)
	}
	users := []string{alice, bob, stranger}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, u := range users {
			m[u] = userSnapshot(t, w.env, u)
		}
		return m
	}
	time.Sleep(500 * time.Millisecond) // let the worker settle the genuine changes
	before := snapshot()
	if !strings.Contains(before[alice], `"mirrored"`) || !strings.Contains(before[alice], "Lunch") {
		t.Fatalf("alice before the table: %s", before[alice])
	}
	calls, reads := len(w.graph.StatusCalls()), w.graph.PresenceReads().Calls
	published := len(w.slack.Published())

	hostile := func(text string) []byte {
		return event("user_status_changed", nextEventID(), alice, time.Now().Add(time.Minute), text, "", 0)
	}
	// mutate returns a genuine-looking alice event with fn applied to its JSON.
	mutate := func(fn func(ev, user map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(hostile("Mutated"), &m); err != nil {
			t.Fatal(err)
		}
		ev := m["event"].(map[string]any)
		fn(ev, ev["user"].(map[string]any))
		b, _ := json.Marshal(m)
		return b
	}
	now := time.Now
	const formCT = "application/x-www-form-urlencoded"
	form := func(secret string, ts time.Time, f url.Values) func(p *bridgeProc) *http.Request {
		return func(p *bridgeProc) *http.Request { return slacktest.SignedForm(p.url("/slack/events"), secret, ts, f) }
	}
	click := func(teamID, user, action string) url.Values {
		return slacktest.InteractionForm(slacktest.BlockActions(teamID, "", user, action))
	}
	deep := []byte(`{"type":"event_callback","event":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`)
	big := append([]byte(`{"type":"event_callback","pad":"`), bytes.Repeat([]byte("x"), slackhandler.MaxBodyBytes)...)
	big = append(big, `"}`...)
	forgedTS := func(ts string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Slack-Request-Timestamp", ts) }
	}

	cases := []hostileCase{
		// Signature and timestamp (https://docs.slack.dev/authentication/verifying-requests-from-slack/).
		{name: "missing signature", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", hostile("NoSig"), func(r *http.Request) { r.Header.Del("X-Slack-Signature") })
		}},
		{name: "missing timestamp header", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", hostile("NoTS"), func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") })
		}},
		{name: "bad signature", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", hostile("BadSig"), func(r *http.Request) {
				r.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
			})
		}},
		{name: "signature made with another secret", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", "not-the-signing-secret", now(), "", hostile("OtherSecret"), nil)
		}},
		{name: "signature of another body", want: 401, req: func(p *bridgeProc) *http.Request {
			_, sig := slacktest.Sign(signingSecret, now(), hostile("Innocent"))
			return signed(p, "POST", signingSecret, now(), "", hostile("Swapped"), func(r *http.Request) { r.Header.Set("X-Slack-Signature", sig) })
		}},
		{name: "signature of another timestamp", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now().Add(-time.Minute), "", hostile("OtherTS"), forgedTS(strconv.FormatInt(now().Unix(), 10)))
		}},
		{name: "stale timestamp (6 min old)", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now().Add(-6*time.Minute), "", hostile("Stale"), nil)
		}},
		{name: "future timestamp (6 min ahead)", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now().Add(6*time.Minute), "", hostile("Future"), nil)
		}},
		{name: "non-numeric timestamp", want: 401, req: func(p *bridgeProc) *http.Request {
			body := hostile("NaN")
			sig := slackhandler.Sign(signingSecret, now().Unix(), body) // right for the real time, which the header hides
			return signed(p, "POST", signingSecret, now(), "", body, func(r *http.Request) {
				r.Header.Set("X-Slack-Request-Timestamp", "now")
				r.Header.Set("X-Slack-Signature", sig)
			})
		}},
		{name: "timestamp with a sign and leading zeros", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", hostile("Padded"), forgedTS("+0"+strconv.FormatInt(now().Unix(), 10)))
		}},
		{name: "replayed old request (signed 10 min ago)", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now().Add(-10*time.Minute), "", event("user_status_changed", nextEventID(), alice, now().Add(-10*time.Minute), "Replayed", "", 0), nil)
		}},
		{name: "wrong HMAC version v1=", want: 401, req: func(p *bridgeProc) *http.Request {
			body := hostile("V1")
			_, sig := slacktest.Sign(signingSecret, now(), body)
			return signed(p, "POST", signingSecret, now(), "", body, func(r *http.Request) {
				r.Header.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(sig, "v0="))
			})
		}},
		{name: "unsigned url_verification", want: 401, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.URLVerification("attacker"), func(r *http.Request) {
				r.Header.Del("X-Slack-Signature")
			})
		}, bodyNone: "attacker"},
		// Bodies.
		{name: "empty body", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", nil, nil)
		}},
		{name: "oversized body (> 1 MiB)", want: 413, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", big, nil)
		}},
		{name: "deeply nested JSON", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", deep, nil)
		}},
		{name: "truncated JSON", want: 400, req: func(p *bridgeProc) *http.Request {
			b := hostile("Truncated")
			return signed(p, "POST", signingSecret, now(), "", b[:len(b)/2], nil)
		}},
		{name: "JSON array at the top", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", []byte("["+string(hostile("Array"))+"]"), nil)
		}},
		{name: "event that is a string", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", []byte(`{"type":"event_callback","team_id":"`+team+`","event":"user_status_changed","event_time":1}`), nil)
		}},
		{name: "user id of the wrong JSON type", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", mutate(func(_, u map[string]any) { u["id"] = 42 }), nil)
		}},
		{name: "user object of the wrong JSON type", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", mutate(func(ev, _ map[string]any) { ev["user"] = []any{alice} }), nil)
		}},
		{name: "invalid user id", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", mutate(func(_, u map[string]any) { u["id"] = "U024BE7LH/../../admin" }), nil)
		}},
		{name: "empty user id", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", mutate(func(_, u map[string]any) { u["id"] = "" }), nil)
		}},
		// Methods.
		{name: "GET", want: 405, req: func(p *bridgeProc) *http.Request {
			return signed(p, "GET", signingSecret, now(), "", nil, nil)
		}},
		{name: "PUT", want: 405, req: func(p *bridgeProc) *http.Request {
			return signed(p, "PUT", signingSecret, now(), "", hostile("Put"), nil)
		}},
		{name: "DELETE", want: 405, req: func(p *bridgeProc) *http.Request {
			return signed(p, "DELETE", signingSecret, now(), "", nil, nil)
		}},
		// Well-formed and signed, but nothing to store.
		{name: "unknown event type", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", []byte(`{"type":"event_callback","team_id":"`+team+`","event_id":"`+nextEventID()+
				`","event_time":`+strconv.FormatInt(now().Unix(), 10)+`,"event":{"type":"reaction_added","user":"`+alice+`","reaction":"thumbsup"}}`), nil)
		}},
		{name: "unknown envelope type", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", []byte(`{"type":"something_new","team_id":"`+team+`"}`), nil)
		}},
		{name: "url_verification", want: 200, bodyHas: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"), nil)
		}},
		{name: "replay of a genuine event within the window", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", genuine, nil)
		}},
		// Another org.
		{name: "event of another workspace's user", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.StatusEvent("user_status_changed", nextEventID(), foreignTeam, stranger, now(), "Hijacked", "", 0), nil)
		}},
		{name: "event claiming our user from another workspace", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.StatusEvent("user_status_changed", nextEventID(), foreignTeam, alice, now().Add(time.Minute), "Hijacked", "", 0), nil)
		}},
		{name: "Slack Connect stranger", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.StrangerEvent(nextEventID(), team, foreignTeam, stranger, now(), "Stranger", ""), nil)
		}},
		{name: "app_home_opened from another workspace", want: 200, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), "", slacktest.AppHomeOpened(nextEventID(), foreignTeam, "", stranger, "home", now()), nil)
		}},
		// Slash commands (https://docs.slack.dev/interactivity/implementing-slash-commands/).
		{name: "forged slash command", want: 401, req: form("not-the-signing-secret", now(), slacktest.SlashCommand(team, "", alice, "pause"))},
		{name: "slash command with a stale timestamp", want: 401, req: form(signingSecret, now().Add(-6*time.Minute), slacktest.SlashCommand(team, "", alice, "pause"))},
		{name: "slash command from another workspace", want: 200, bodyHas: "another one", req: form(signingSecret, now(), slacktest.SlashCommand(foreignTeam, "", alice, "pause"))},
		{name: "slash command from another Enterprise Grid org", want: 200, bodyHas: "another one", req: form(signingSecret, now(), slacktest.SlashCommand("E0PARTNER", "E0PARTNER", alice, "pause"))},
		{name: "unknown command text", want: 200, bodyHas: "help", req: form(signingSecret, now(), slacktest.SlashCommand(team, "", alice, "rm -rf /"))},
		{name: "slash command with an invalid user id", want: 200, bodyHas: "Nothing was changed", req: form(signingSecret, now(), slacktest.SlashCommand(team, "", "U024BE7LH/../x", "pause"))},
		{name: "form with neither command nor payload", want: 400, req: form(signingSecret, now(), url.Values{"text": {"pause"}, "user_id": {alice}, "team_id": {team}})},
		{name: "form with an empty command", want: 400, req: form(signingSecret, now(), url.Values{"command": {""}, "text": {"pause"}, "user_id": {alice}, "team_id": {team}})},
		{name: "malformed form encoding", want: 400, req: func(p *bridgeProc) *http.Request {
			return signed(p, "POST", signingSecret, now(), formCT, []byte("command=%2&text=pause"), nil)
		}},
		// Interactivity (https://docs.slack.dev/interactivity/handling-user-interaction/).
		{name: "interactivity with a forged signature", want: 401, req: form("not-the-signing-secret", now(), click(team, alice, slackhandler.ActionPause))},
		{name: "interactivity with a stale timestamp", want: 401, req: form(signingSecret, now().Add(-6*time.Minute), click(team, alice, slackhandler.ActionPause))},
		{name: "interactivity payload not JSON", want: 400, req: form(signingSecret, now(), url.Values{"payload": {"action=pause&user=" + alice}})},
		{name: "interactivity payload a JSON array", want: 400, req: form(signingSecret, now(), url.Values{"payload": {`[{"type":"block_actions"}]`}})},
		{name: "block_actions with an unknown action id", want: 200, req: form(signingSecret, now(), click(team, alice, "statusbridge_delete_everything"))},
		{name: "block_actions of another workspace's user", want: 200, req: form(signingSecret, now(), click(foreignTeam, alice, slackhandler.ActionPause))},
		{name: "block_actions with an invalid user id", want: 200, req: form(signingSecret, now(), click(team, "U024BE7LH/../x", slackhandler.ActionPause))},
		{name: "view_submission", want: 200, req: form(signingSecret, now(), url.Values{"payload": {`{"type":"view_submission","user":{"id":"` + alice + `","team_id":"` + team + `"},"team":{"id":"` + team + `"}}`}})},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, tc := range cases {
		code, body := do(t, tc.req(p))
		switch {
		case code != tc.want:
			t.Errorf("%s: answered %d %q, want %d", tc.name, code, body, tc.want)
		case tc.bodyHas != "" && !strings.Contains(body, tc.bodyHas):
			t.Errorf("%s: body %q lacks %q", tc.name, body, tc.bodyHas)
		case tc.bodyNone != "" && strings.Contains(body, tc.bodyNone):
			t.Errorf("%s: body %q has %q", tc.name, body, tc.bodyNone)
		}
		if n := len(w.graph.StatusCalls()); n != calls {
			t.Errorf("%s: %d Graph call(s)", tc.name, n-calls)
			calls = n
		}
		after := snapshot()
		for _, u := range users {
			if after[u] != before[u] {
				t.Errorf("%s: %s changed:\n before %s\n after  %s", tc.name, u, before[u], after[u])
			}
		}
		before = after
		t.Logf("%-50s %d", tc.name, code)
	}

	// Clicks act in the background: give them, and the worker, time to show.
	time.Sleep(1500 * time.Millisecond)
	if n := len(w.graph.StatusCalls()); n != calls {
		t.Errorf("the hostile requests cost %d Graph call(s)", n-calls)
	}
	if n := w.graph.PresenceReads().Calls; n != reads {
		t.Errorf("the hostile requests cost %d presence read(s)", n-reads)
	}
	if n := len(w.slack.Published()); n != published {
		t.Errorf("the hostile requests published App Home %d time(s)", n-published)
	}
	final := snapshot()
	for _, u := range users {
		if final[u] != before[u] {
			t.Errorf("%s changed after the table:\n before %s\n after  %s", u, before[u], final[u])
		}
	}

	// The bridge still takes a genuine change, and the snapshot sees it.
	w.change(t, p, alice, "Back at my desk")
	w.waitCalls(t, aliceID, 2)
	if got := userSnapshot(t, w.env, alice); got == before[alice] || !strings.Contains(got, "Back at my desk") {
		t.Fatalf("a genuine change after the table: %s", got)
	}
}
