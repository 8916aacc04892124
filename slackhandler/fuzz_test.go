package slackhandler_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/statusbridge/statusbridge/internal/slacktest"
	. "github.com/statusbridge/statusbridge/slackhandler"
)

// FuzzParseEvent checks that decoding any payload never panics and that a
// decoded status is always valid UTF-8. Run with: go test -fuzz FuzzParseEvent ./slackhandler
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
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseEvent(body)
		if err != nil {
			return
		}
		if ev.User != nil {
			s := StatusFromProfile(ev.User.Profile)
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
		got := EmojiUnicode(code, []EmojiDisplayInfo{{EmojiName: name, Unicode: uni}})
		if !utf8.ValidString(got) {
			t.Fatalf("EmojiUnicode(%q, %q, %q) = %q", code, name, uni, got)
		}
	})
}
