package slackhandler

import (
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

func TestStatusFromProfile(t *testing.T) {
	std := func(name, uni string) []EmojiDisplayInfo {
		return []EmojiDisplayInfo{{EmojiName: name, Unicode: uni,
			DisplayURL: "https://a.slack-edge.com/production-standard-emoji-assets/14.0/apple-large/" + uni + ".png"}}
	}
	custom := func(name string) []EmojiDisplayInfo {
		return []EmojiDisplayInfo{{EmojiName: name, DisplayURL: "https://emoji.slack-edge.com/T1/" + name + "/abc.png"}}
	}
	tests := []struct {
		name string
		in   Profile
		want bridge.Status
	}{
		{"display info wins",
			Profile{StatusText: "Vacationing", StatusEmoji: ":palm_tree:", StatusEmojiDisplayInfo: std("palm_tree", "1f334"), StatusExpiration: 1700000000},
			bridge.Status{Text: "Vacationing", Emoji: "🌴", EmojiName: ":palm_tree:", Expiration: 1700000000}},
		{"display info with colons in the name",
			Profile{StatusEmoji: ":palm_tree:", StatusEmojiDisplayInfo: std(":palm_tree:", "1f334")},
			bridge.Status{Emoji: "🌴", EmojiName: ":palm_tree:"}},
		{"no display info: table",
			Profile{StatusText: "Out sick", StatusEmoji: ":face_with_thermometer:"},
			bridge.Status{Text: "Out sick", Emoji: "🤒", EmojiName: ":face_with_thermometer:"}},
		{"table value with variation selector",
			Profile{StatusEmoji: ":spiral_calendar_pad:"},
			bridge.Status{Emoji: "🗓\ufe0f", EmojiName: ":spiral_calendar_pad:"}},
		{"flag, multi code point",
			Profile{StatusEmoji: ":flag-us:", StatusEmojiDisplayInfo: std("flag-us", "1f1fa-1f1f8")},
			bridge.Status{Emoji: "🇺🇸", EmojiName: ":flag-us:"}},
		{"flag not in the table",
			Profile{StatusEmoji: ":flag-gb:"},
			bridge.Status{Emoji: "🇬🇧", EmojiName: ":flag-gb:"}},
		{"ZWJ sequence from display info",
			Profile{StatusEmoji: ":male-technologist:", StatusEmojiDisplayInfo: std("male-technologist", "1f468-200d-1f4bb")},
			bridge.Status{Emoji: "👨\u200d💻", EmojiName: ":male-technologist:"}},
		{"ZWJ sequence from the table, dash name",
			Profile{StatusEmoji: ":male-technologist:"},
			bridge.Status{Emoji: "👨\u200d💻", EmojiName: ":male-technologist:"}},
		{"skin tone from the table",
			Profile{StatusEmoji: ":wave::skin-tone-3:"},
			bridge.Status{Emoji: "👋🏼", EmojiName: ":wave::skin-tone-3:"}},
		{"skin tone 6 on base display info",
			Profile{StatusEmoji: ":wave::skin-tone-6:", StatusEmojiDisplayInfo: std("wave", "1f44b")},
			bridge.Status{Emoji: "👋🏿", EmojiName: ":wave::skin-tone-6:"}},
		{"skin tone already in display info",
			Profile{StatusEmoji: ":wave::skin-tone-2:", StatusEmojiDisplayInfo: std("wave::skin-tone-2", "1f44b-1f3fb")},
			bridge.Status{Emoji: "👋🏻", EmojiName: ":wave::skin-tone-2:"}},
		{"skin tone replaces variation selector",
			Profile{StatusEmoji: ":v::skin-tone-4:"},
			bridge.Status{Emoji: "✌🏽", EmojiName: ":v::skin-tone-4:"}},
		{"skin tone inside ZWJ sequence",
			Profile{StatusEmoji: ":male-technologist::skin-tone-5:"},
			bridge.Status{Emoji: "👨🏾\u200d💻", EmojiName: ":male-technologist::skin-tone-5:"}},
		{"custom emoji dropped",
			Profile{StatusText: "Commuting", StatusEmoji: ":docs-team-in-transit:", StatusEmojiDisplayInfo: custom("docs-team-in-transit")},
			bridge.Status{Text: "Commuting", EmojiName: ":docs-team-in-transit:"}},
		// Slack refuses custom emoji names that a standard emoji has, so a
		// standard name without Unicode in the display info is still standard.
		{"standard name without unicode in display info",
			Profile{StatusEmoji: ":car:", StatusEmojiDisplayInfo: custom("car")},
			bridge.Status{Emoji: "🚗", EmojiName: ":car:"}},
		{"custom emoji dropped",
			Profile{StatusEmoji: ":partyparrot:", StatusEmojiDisplayInfo: custom("partyparrot")},
			bridge.Status{EmojiName: ":partyparrot:"}},
		{"custom alias of a standard emoji",
			Profile{StatusEmoji: ":thumbs:", StatusEmojiDisplayInfo: []EmojiDisplayInfo{{EmojiName: "thumbs", DisplayAlias: "+1", DisplayURL: "https://x/y.png"}}},
			bridge.Status{Emoji: "👍", EmojiName: ":thumbs:"}},
		{"unknown shortcode dropped",
			Profile{StatusEmoji: ":no-such-emoji-here:"},
			bridge.Status{EmojiName: ":no-such-emoji-here:"}},
		{"bad unicode falls back to the table",
			Profile{StatusEmoji: ":palm_tree:", StatusEmojiDisplayInfo: std("palm_tree", "zz-top")},
			bridge.Status{Emoji: "🌴", EmojiName: ":palm_tree:"}},
		{"display info for another emoji is not used",
			Profile{StatusEmoji: ":car:", StatusEmojiDisplayInfo: std("palm_tree", "1f334")},
			bridge.Status{Emoji: "🚗", EmojiName: ":car:"}},
		{"keycap",
			Profile{StatusEmoji: ":hash:", StatusEmojiDisplayInfo: std("hash", "0023-fe0f-20e3")},
			bridge.Status{Emoji: "#\ufe0f\u20e3", EmojiName: ":hash:"}},
		{"control characters rejected",
			Profile{StatusEmoji: ":weird:", StatusEmojiDisplayInfo: std("weird", "0a")},
			bridge.Status{EmojiName: ":weird:"}},
		{"not a shortcode",
			Profile{StatusEmoji: "🌴"},
			bridge.Status{EmojiName: "🌴"}},
		{"text only",
			Profile{StatusText: "In a meeting"},
			bridge.Status{Text: "In a meeting"}},
		{"emoji shortcodes in text",
			Profile{StatusText: "Back at 10:30 :coffee: :my-custom:"},
			bridge.Status{Text: "Back at 10:30 ☕ :my-custom:"}},
		{"empty", Profile{}, bridge.Status{}},
		{"negative expiration is never",
			Profile{StatusText: "x", StatusExpiration: -5},
			bridge.Status{Text: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusFromProfile(tt.in); got != tt.want {
				t.Errorf("StatusFromProfile()\n got  %#v\n want %#v", got, tt.want)
			}
		})
	}
}

func TestWithSkinTone(t *testing.T) {
	if got := withSkinTone("👋", 0); got != "👋" {
		t.Errorf("tone 0 changed the emoji: %q", got)
	}
	if got := withSkinTone("👋🏼", 5); got != "👋🏼" {
		t.Errorf("second tone added: %q", got)
	}
	for tone, mod := range map[int]rune{2: 0x1F3FB, 3: 0x1F3FC, 4: 0x1F3FD, 5: 0x1F3FE, 6: 0x1F3FF} {
		if got, want := withSkinTone("👍", tone), "👍"+string(mod); got != want {
			t.Errorf("tone %d: got %q, want %q", tone, got, want)
		}
	}
}

func TestEventTimeUsesEventTS(t *testing.T) {
	a := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":1741944410,"event":{"type":"user_status_changed","event_ts":"1741944410.000200","user":{"id":"U0123ABCD","profile":{"status_text":"A"}}}}`)
	b := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev2","event_time":1741944410,"event":{"type":"user_status_changed","event_ts":"1741944410.700001","user":{"id":"U0123ABCD","profile":{"status_text":"B"}}}}`)
	far := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev3","event_time":1741944410,"event":{"type":"user_status_changed","event_ts":"99.5","user":{"id":"U0123ABCD","profile":{"status_text":"C"}}}}`)
	var got []time.Time
	for _, body := range [][]byte{a, b, far} {
		ev, err := ParseEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ev.StatusChange("http")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.EventTime)
	}
	if !got[0].Equal(time.Unix(1741944410, 200000)) || !got[1].Equal(time.Unix(1741944410, 700001000)) {
		t.Fatalf("event times %v", got)
	}
	if !got[0].Before(got[1]) {
		t.Fatal("two changes within one second lost their order")
	}
	if !got[2].Equal(time.Unix(1741944410, 0)) {
		t.Fatalf("an event_ts far from event_time was trusted: %v", got[2])
	}
}
