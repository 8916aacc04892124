package slackhandler_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

// FuzzParseEvent checks that decoding any payload never panics, that
// ParseEvent answers exactly as the lenient decoder does (and so its
// one-pass decoder wherever that answers), and that a decoded status is
// always valid UTF-8. Run with: go test -fuzz FuzzParseEvent ./slackhandler
func FuzzParseEvent(f *testing.F) {
	t0 := time.Unix(1741944410, 0)
	f.Add(slacktest.StatusEvent("user_status_changed", "Ev0A", "T1", "U0123ABCD", t0, "Vacationing", ":palm_tree:", 1742000000))
	f.Add(slacktest.StatusEvent("user_change", "Ev0B", "T1", "U0123ABCD", t0, "Pairing", ":male-technologist::skin-tone-4:", 0))
	f.Add(slacktest.StatusEvent("user_change", "Ev0C", "T1", "W0123ABCD", t0, "Custom", ":docs-team-in-transit:", 0))
	f.Add(slacktest.StatusEvent("user_change", "Ev0D", "", "U0123ABCD", t0, "", ":flag-us:", 0))
	f.Add(slacktest.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	f.Add(slacktest.AppRateLimited("T1", t0))
	for _, fields := range []string{`[]`, `{}`, `null`} {
		f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":1741944410,"event":{"type":"user_change","user":{"id":"U0123ABCD","profile":{"fields":` +
			fields + `,"status_text":"x","status_emoji":":wave::skin-tone-3:","status_emoji_display_info":[{"emoji_name":"wave::skin-tone-3","unicode":"1f44b-1f3fc"}],"status_expiration":0}}}}`))
	}
	f.Add([]byte(`{"type":"event_callback","event_time":"1741944410","event":{"type":"user_status_changed","user":{"id":"U0123ABCD","profile":{"status_emoji":":x:","status_emoji_display_info":[{"emoji_name":"x","display_url":"https://e/x.png"}],"status_expiration":1.7e9}}}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"user_change","user":{"id":"U1","profile":{"status_emoji_display_info":{"emoji_name":"x"},"status_emoji":[1],"status_expiration":-1}}}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"user_change","user":{"profile":{"status_emoji":":a:","status_emoji_display_info":[{"emoji_name":"a","unicode":"110000-d800-0"}]}}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"event_callback","event":null}`))
	f.Add(slacktest.AppHomeOpened("Ev0H", "T1", "E1", "U0123ABCD", "home", t0))
	f.Add(slacktest.GridStatusEvent("user_change", "Ev0G", "T1", "E1", "", "W0123ABCD", t0, "x", ":wave:", 0))
	f.Add(slacktest.DeactivatedEvent("Ev0X", "T1", "U0123ABCD", t0))
	f.Add([]byte(`{"type":"event_callback","event_time":1,"event":{"type":"user_change","user":{"id":"U0123ABCD","deleted":true,"enterprise_user":"E1","team_id":"E1"}}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"app_home_opened","user":{"id":"U1"},"tab":["home"]}}`))
	f.Add([]byte(`{"type":"event_callback","event_time":1,"event":{"type":"user_change","user":{"id":"U1","id":null,"profile":{"status_text":"caf\u00e9 \ud83c\udf34 \ud800 \/","status_expiration":" 17 "},"profile":{"status_emoji":":x:"}},"user":{"is_bot":true}}}`))
	f.Add([]byte(`{"Type":"event_callback","\u0065vent_time":"1e3","event":{"TYPE":"user_status_changed","user":{"ID":"U1","ſtatus":1,"profile":{"Status_Text":"x"}}}}`))
	f.Add([]byte("{\"type\":\"event_callback\",\"event\":{\"type\":\"user_change\",\"user\":{\"profile\":{\"status_text\":\"a\xffb\",\"status_emoji_display_info\":[{\"emoji_name\":\"x\"},[],{\"unicode\":5}]}}}} "))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := slackhandler.ParseEvent(body)
		lev, lerr := slackhandler.ParseEventLenient(body)
		if (err == nil) != (lerr == nil) || (err != nil && err.Error() != lerr.Error()) || !reflect.DeepEqual(ev, lev) {
			t.Fatalf("ParseEvent(%q) = %#v, %v; the lenient decoder's %#v, %v", body, ev, err, lev, lerr)
		}
		if fev, ok := slackhandler.ParseEventFast(body); ok && (lerr != nil || !reflect.DeepEqual(fev, lev)) {
			t.Fatalf("one-pass decoder on %q: %#v; the lenient decoder's %#v, %v", body, fev, lev, lerr)
		}
		if err != nil {
			return
		}
		if ev.User != nil {
			s := slackhandler.StatusFromProfile(ev.User.Profile)
			if !utf8.ValidString(s.Emoji) || (utf8.ValidString(ev.User.Profile.StatusText) && !utf8.ValidString(s.Text)) {
				t.Fatalf("invalid UTF-8 in %#v", s)
			}
			if s.Expiration < 0 {
				t.Fatalf("negative expiration %d", s.Expiration)
			}
			if c, err := ev.StatusChange("http"); err == nil {
				if c.Validate() != nil || c.EventTime.IsZero() {
					t.Fatalf("invalid change accepted: %#v", c)
				}
				if c.Deactivated != ev.User.Deleted || (c.Deactivated && !c.Status.Empty()) {
					t.Fatalf("deactivation %v of a deleted=%v user with status %#v", c.Deactivated, ev.User.Deleted, c.Status)
				}
			}
			if team, ent := ev.UserOrg(); strings.HasPrefix(team, "E") || (ent != "" && ent == team) {
				t.Fatalf("UserOrg = %q, %q", team, ent)
			}
		}
	})
}

// FuzzEmojiUnicode checks that any shortcode and display info give valid UTF-8.
func FuzzEmojiUnicode(f *testing.F) {
	f.Add(":palm_tree:", "palm_tree", "1f334")
	f.Add(":wave::skin-tone-3:", "wave", "")
	f.Add(":hash:", "hash", "0023-fe0f-20e3")
	f.Add(":x:", "x", "fffffff")
	f.Fuzz(func(t *testing.T, code, name, uni string) {
		got := slackhandler.EmojiUnicode(code, []slackhandler.EmojiDisplayInfo{{EmojiName: name, Unicode: uni}})
		if !utf8.ValidString(got) {
			t.Fatalf("EmojiUnicode(%q, %q, %q) = %q", code, name, uni, got)
		}
	})
}

// FuzzSlashCommand checks that any form body and any Socket Mode payload
// parse without panicking, and that a signed command through the handler is
// always answered 200 with an ephemeral JSON reply or refused with a 4xx.
func FuzzSlashCommand(f *testing.F) {
	f.Add(slacktest.SlashCommand("T1", "", "U0123ABCD", "pause").Encode())
	f.Add(slacktest.SlashCommand("T2", "E1", "W0123ABCD", "").Encode())
	f.Add(slacktest.SlashCommand("T1", "", "", "resume please").Encode())
	f.Add("command=%2Fteams-status&text=%ZZ")
	f.Add("command=&payload=")
	f.Add("ssl_check=1&token=x")
	f.Add(`{"command":"/teams-status","text":["pause"],"user_id":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		if form, err := url.ParseQuery(body); err == nil {
			if sc, err := slackhandler.ParseSlashCommand(form); err == nil && sc.Command == "" {
				t.Fatalf("command without a name accepted: %+v", sc)
			}
		}
		_, _ = slackhandler.ParseSlashCommandJSON([]byte(body))
		rec := serveSigned(t, body)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "application/json" {
			var r struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.ResponseType != "ephemeral" || r.Text == "" {
				t.Fatalf("reply %q (%v)", rec.Body, err)
			}
		}
	})
}

// FuzzParseInteraction checks that any interactivity payload parses without
// panicking, that a parsed org never names an enterprise as a workspace, and
// that a signed click through the handler is answered 200 with no body or a 4xx.
func FuzzParseInteraction(f *testing.F) {
	f.Add(slacktest.BlockActions("T1", "", "U0123ABCD", slackhandler.ActionPause))
	f.Add(slacktest.BlockActions("T1", "E1", "W0123ABCD", slackhandler.ActionResume))
	f.Add([]byte(`{"type":"block_actions","user":"U1","team":[],"actions":{"action_id":"statusbridge_pause"}}`))
	f.Add([]byte(`{"type":"block_actions","user":{"id":"U0123ABCD","team_id":"E1"},"actions":[null,1,{"action_id":"statusbridge_pause"}]}`))
	f.Add([]byte(`{"type":"view_submission"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		in, err := slackhandler.ParseInteraction(payload)
		if err == nil {
			if team, ent := in.Org(); strings.HasPrefix(team, "E") {
				t.Fatalf("Org = %q, %q", team, ent)
			}
		}
		rec := serveSigned(t, url.Values{"payload": {string(payload)}}.Encode())
		if rec.Code >= 500 || (rec.Code == http.StatusOK && rec.Body.Len() != 0) {
			t.Fatalf("status %d body %q", rec.Code, rec.Body)
		}
	})
}

// serveSigned sends body, signed and form-encoded, to a handler with
// controls that allow the T1 workspace and E1 org, and waits for its background work.
func serveSigned(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	const secret = "fuzz-secret"
	at := time.Unix(1741944410, 0)
	h := slackhandler.NewHandler(secret, nopSub{}, slackhandler.WithClock(func() time.Time { return at }),
		slackhandler.WithControls(fuzzControls{}), slackhandler.WithOrg(slackhandler.OrgAllows([]string{"T1", "E1"})))
	req := slacktest.NewRequest("http://127.0.0.1/slack/events", secret, at, []byte(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	h.Wait()
	return rec
}

type nopSub struct{}

func (nopSub) Submit(context.Context, bridge.Change) (bridge.SubmitOutcome, error) {
	return bridge.Accepted, nil
}

type fuzzControls struct{}

func (fuzzControls) View(_ context.Context, id string) (bridge.UserView, error) {
	return bridge.UserView{UserID: id, State: bridge.StateMirrored, Showing: "<&>"}, nil
}
func (fuzzControls) Pause(_ context.Context, id string) (bridge.UserView, error) {
	return bridge.UserView{UserID: id, State: bridge.StatePaused}, nil
}
func (fuzzControls) Resume(_ context.Context, id string) (bridge.UserView, error) {
	return bridge.UserView{UserID: id, State: bridge.StateMirrored}, nil
}
