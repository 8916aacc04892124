package slackhandler_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/slackhandler"
)

func TestStatusFromTeams(t *testing.T) {
	cases := []struct {
		in   string
		want bridge.SlackStatus
	}{
		{"", bridge.SlackStatus{}},
		{"   ", bridge.SlackStatus{}},
		{"🌴 Vacationing", bridge.SlackStatus{Text: "Vacationing", Emoji: ":palm_tree:"}},
		{"  🌴   Vacationing until Friday ", bridge.SlackStatus{Text: "Vacationing until Friday", Emoji: ":palm_tree:"}},
		{"🌴Vacationing", bridge.SlackStatus{Text: "Vacationing", Emoji: ":palm_tree:"}},
		{"🌴", bridge.SlackStatus{Emoji: ":palm_tree:"}},
		{"Vacationing 🌴", bridge.SlackStatus{Text: "Vacationing 🌴"}},
		{"👍 ok", bridge.SlackStatus{Text: "ok", Emoji: ":+1:"}},
		{"🤒 Out sick", bridge.SlackStatus{Text: "Out sick", Emoji: ":face_with_thermometer:"}},
		{"🗓️ In a meeting", bridge.SlackStatus{Text: "In a meeting", Emoji: ":spiral_calendar_pad:"}},
		{"🗓 In a meeting", bridge.SlackStatus{Text: "In a meeting", Emoji: ":spiral_calendar_pad:"}},
		{"☕ Break", bridge.SlackStatus{Text: "Break", Emoji: ":coffee:"}},
		{"✈️ Travelling", bridge.SlackStatus{Text: "Travelling", Emoji: ":airplane:"}},
		{"👋🏽 Hi", bridge.SlackStatus{Text: "Hi", Emoji: ":wave::skin-tone-4:"}},
		{"👨‍💻 Pairing", bridge.SlackStatus{Text: "Pairing", Emoji: ":male-technologist:"}},
		{"👨🏿‍💻 Pairing", bridge.SlackStatus{Text: "Pairing", Emoji: ":male-technologist::skin-tone-6:"}},
		{"🇩🇪 Berlin", bridge.SlackStatus{Text: "Berlin", Emoji: ":flag-de:"}},
		{"🇺🇸🇩🇪 Both", bridge.SlackStatus{Text: "🇩🇪 Both", Emoji: ":flag-us:"}},
		{"🏳️‍🌈 Pride", bridge.SlackStatus{Text: "Pride", Emoji: ":" + strings.Trim(slackhandler.ShortcodeFor("🏳️‍🌈"), ":") + ":"}},
		// No shortcode: the emoji stays in the text.
		{"\U0001FAFF Unknown", bridge.SlackStatus{Text: "\U0001FAFF Unknown"}},
		{"👩🏻‍🤝‍👨🏿 Together", bridge.SlackStatus{Text: "👩🏻‍🤝‍👨🏿 Together"}},
		// Not emoji: plain characters stay text.
		{"© 2026 Legal", bridge.SlackStatus{Text: "© 2026 Legal"}},
		{"1 on 1", bridge.SlackStatus{Text: "1 on 1"}},
		{":palm_tree: typed as a shortcode", bridge.SlackStatus{Text: ":palm_tree: typed as a shortcode"}},
		{"Line one\nline two\t\ttab", bridge.SlackStatus{Text: "Line one line two tab"}},
		{"bad \xff byte", bridge.SlackStatus{Text: "bad byte"}},
	}
	for _, c := range cases {
		got := slackhandler.StatusFromTeams(c.in)
		if got != c.want {
			t.Errorf("StatusFromTeams(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if code := slackhandler.ShortcodeFor("🏳️‍🌈"); code == "" {
		t.Error("the rainbow flag has no shortcode")
	}
}

func TestStatusFromTeamsCutsLongText(t *testing.T) {
	long := "🌴 " + strings.Repeat("x", 98) + "👨‍👩‍👧‍👦 and more"
	got := slackhandler.StatusFromTeams(long)
	if got.Emoji != ":palm_tree:" || utf8.RuneCountInString(got.Text) > slackhandler.MaxStatusText {
		t.Fatalf("%+v (%d runes)", got, utf8.RuneCountInString(got.Text))
	}
	if strings.ContainsRune(got.Text, '\u200d') || !strings.HasSuffix(got.Text, "…") {
		t.Errorf("cut inside an emoji or without an ellipsis: %q", got.Text)
	}
	exact := strings.Repeat("y", slackhandler.MaxStatusText)
	if got := slackhandler.StatusFromTeams(exact); got.Text != exact {
		t.Errorf("100 characters were cut: %q", got.Text)
	}
}

// TestShortcodesRoundTrip checks that every shortcode chosen turns back into
// its emoji, so the bridge recognises its own writes when Slack echoes them.
func TestShortcodesRoundTrip(t *testing.T) {
	for _, e := range []string{"🌴", "👍", "👎", "🤒", "🤔", "🗓️", "🏖️", "👨‍💻", "👩‍💻", "🧑‍💻", "☕", "👋", "❤️", "☀️", "🚗",
		"🏡", "🏠", "📅", "📆", "🍽️", "🏝️", "🤧", "😷", "🙂", "🎉", "✈️", "🚧", "💻", "🎧", "📞", "✅", "❌", "⚠️", "🔴",
		"💤", "⛔", "🍔", "🚆", "🚞", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👍🏻", "✌🏼"} {
		code := slackhandler.ShortcodeFor(e)
		if code == "" {
			t.Errorf("%q has no shortcode", e)
			continue
		}
		if back := slackhandler.EmojiUnicode(code, nil); strings.ReplaceAll(back, "\ufe0f", "") != strings.ReplaceAll(e, "\ufe0f", "") {
			t.Errorf("%q → %s → %q", e, code, back)
		}
	}
}

var slackShortcode = regexp.MustCompile(`^:[^:\s]+:(?::skin-tone-[2-6]:)?$`)

// FuzzStatusFromTeams checks that any Teams message turns into a status
// Slack takes. Run with: go test -fuzz FuzzStatusFromTeams ./slackhandler
func FuzzStatusFromTeams(f *testing.F) {
	for _, s := range []string{"🌴 Vacationing", "👋🏽 Hi", "👨🏿‍💻", "🇩🇪", "🇺", "\u200d", "🏳️‍🌈 x", "1️⃣", "©", "\xff\xfe",
		"🌴 " + strings.Repeat("🏳️‍🌈", 60), strings.Repeat("a\n", 80), "\ufe0f🌴", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland", "👍🏻🏿"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := slackhandler.StatusFromTeams(in)
		if !utf8.ValidString(s.Text) || !utf8.ValidString(s.Emoji) {
			t.Fatalf("invalid UTF-8: %+v", s)
		}
		if n := utf8.RuneCountInString(s.Text); n > slackhandler.MaxStatusText {
			t.Fatalf("text of %d runes: %q", n, s.Text)
		}
		if s.Emoji != "" && !slackShortcode.MatchString(s.Emoji) {
			t.Fatalf("emoji %q is not a shortcode", s.Emoji)
		}
		if s.Expiration != 0 {
			t.Fatalf("expiration %d", s.Expiration)
		}
		if strings.ContainsAny(s.Text, "\n\r\t") {
			t.Fatalf("text on several lines: %q", s.Text)
		}
	})
}
