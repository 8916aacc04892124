package bridge

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzRender holds Render to its promises for any text, emoji and expiry: it
// never panics; the message is at most MaxMessageRunes runes of valid UTF-8
// (for valid input, which is all Slack's JSON can carry); an expired status
// clears; and a cut message is a prefix of the whole one that ends on a
// whole emoji or grapheme, followed by "…".
func FuzzRender(f *testing.F) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f.Add("Vacationing", "🌴", now.Add(time.Hour).Unix())
	f.Add("Hey I'm currently in a meeting.", "", int64(0))
	f.Add(strings.Repeat("a", 278)+"👨\u200d👩\u200d👧", "🤒", int64(0))
	f.Add(strings.Repeat("b", 277)+"🇺🇸🇩🇪", "", int64(0))
	f.Add(strings.Repeat("c", 278)+"👋🏽 hi", "", int64(0))
	f.Add(strings.Repeat("d", 279)+"e\u0301", "", int64(0))
	f.Add(strings.Repeat("e", 278)+"1\ufe0f\u20e3", "", int64(0))
	f.Add(strings.Repeat("f", 277)+"🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "", int64(0))
	f.Add("Lunch", "🍔", now.Add(-time.Minute).Unix())
	f.Add("   ", "", int64(-1))
	f.Fuzz(func(t *testing.T, text, emoji string, exp int64) {
		m := Render(Status{Text: text, Emoji: emoji, Expiration: exp}, now)
		valid := utf8.ValidString(text) && utf8.ValidString(emoji)
		if valid && !utf8.ValidString(m.Content) {
			t.Fatalf("Render(%q, %q) = %q: invalid UTF-8", text, emoji, m.Content)
		}
		if n := utf8.RuneCountInString(m.Content); n > MaxMessageRunes {
			t.Fatalf("Render(%q, %q) = %d runes, more than %d", text, emoji, n, MaxMessageRunes)
		}
		if exp > 0 && !time.Unix(exp, 0).After(now) && !m.Equal(Message{}) {
			t.Fatalf("expired status rendered as %+v", m)
		}
		if m.Content == "" {
			if !m.Expiry.IsZero() {
				t.Fatalf("a cleared message with an expiry: %+v", m)
			}
			return
		}
		if exp > 0 && (!m.Expiry.Equal(time.Unix(exp, 0)) || m.Expiry.Location() != time.UTC) {
			t.Fatalf("expiry %v, want %v in UTC", m.Expiry, time.Unix(exp, 0).UTC())
		}
		whole := strings.TrimSpace(text)
		if emoji != "" && whole != "" {
			whole = emoji + " " + whole
		} else if emoji != "" {
			whole = emoji
		}
		if !valid || m.Content == whole {
			return
		}
		body, cut := strings.CutSuffix(m.Content, "…")
		if !cut || !strings.HasPrefix(whole, body) {
			t.Fatalf("Render cut %q to %q: not a prefix of it with …", whole, m.Content)
		}
		next, size := utf8.DecodeRuneInString(whole[len(body):])
		after, _ := utf8.DecodeRuneInString(whole[len(body)+size:])
		last, _ := utf8.DecodeLastRuneInString(body)
		switch {
		case last == '\u200d':
			t.Fatalf("Render cut %q to %q: a dangling joiner", whole, m.Content)
		case next == '\u200d' && unicode.IsSpace(after):
			// A joiner that joins nothing but a space may go.
		case attaches(next):
			t.Fatalf("Render cut %q to %q: %U is split from its base", whole, m.Content, next)
		case isRegional(next) && trailingRegional(body)%2 == 1:
			t.Fatalf("Render cut %q to %q: half a flag", whole, m.Content)
		}
	})
}

// attaches reports whether r belongs to the character before it: a joiner,
// variation selector, skin tone, tag, keycap or combining mark.
func attaches(r rune) bool {
	switch {
	case r == '\u200d', r >= 0xFE00 && r <= 0xFE0F, r >= 0x1F3FB && r <= 0x1F3FF,
		r >= 0xE0020 && r <= 0xE007F, r == 0x20E3:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

// trailingRegional counts the regional indicators s ends with.
func trailingRegional(s string) int {
	n := 0
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n
}
