package slacktest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Slack's worked example from https://docs.slack.dev/authentication/verifying-requests-from-slack/.
const (
	docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docTS     = 1531420618
	docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignMatchesSlackDocs(t *testing.T) {
	ts, sig := Sign(docSecret, time.Unix(docTS, 0), []byte(docBody))
	if ts != "1531420618" || sig != docSig {
		t.Fatalf("Sign = %q, %q", ts, sig)
	}
}

func TestStatusEventShape(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range []string{"Ev01", "Ev02", "Ev03", "Ev04", "Ev05", "Ev06", "Ev07", "Ev08"} {
		var p struct {
			Type      string `json:"type"`
			TeamID    string `json:"team_id"`
			EventID   string `json:"event_id"`
			EventTime int64  `json:"event_time"`
			Event     struct {
				Type string `json:"type"`
				User struct {
					ID      string `json:"id"`
					Profile struct {
						Fields      json.RawMessage `json:"fields"`
						StatusEmoji string          `json:"status_emoji"`
						Info        []struct {
							EmojiName, Unicode, DisplayURL string
						} `json:"status_emoji_display_info"`
					} `json:"profile"`
				} `json:"user"`
			} `json:"event"`
		}
		b := StatusEvent("user_change", id, "T1", "U0ABC", time.Unix(1741944410, 0), "Hi", ":wave::skin-tone-3:", 0)
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "event_callback" || p.EventID != id || p.EventTime != 1741944410 || p.Event.Type != "user_change" || p.Event.User.ID != "U0ABC" {
			t.Fatalf("payload %s", b)
		}
		if len(p.Event.User.Profile.Info) != 1 || p.Event.User.Profile.Info[0].Unicode != "1f44b-1f3fc" {
			t.Fatalf("display info %s", b)
		}
		seen[string(p.Event.User.Profile.Fields)[:1]] = true
	}
	if !seen["["] || !seen["{"] {
		t.Errorf("fields variants seen: %v; want both [] and {}", seen)
	}
	custom := string(StatusEvent("user_change", "Ev9", "T1", "U0ABC", time.Unix(1, 0), "", ":party-parrot:", 0))
	if !strings.Contains(custom, "emoji.slack-edge.com") || strings.Contains(custom, `"unicode"`) {
		t.Errorf("custom emoji payload %s", custom)
	}
}
