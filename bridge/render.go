package bridge

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxMessageRunes is the longest status message Teams shows: the Teams client
// caps a status message at 280 characters.
const MaxMessageRunes = 280

// Render turns a Slack status into the Teams status message that mirrors it at now.
//
//   - The emoji comes first, then the text: "🌴 Vacationing".
//   - A status with neither text nor emoji clears the message.
//   - A status whose expiry has passed clears the message.
//   - The expiry is kept as an instant; the Graph publisher sends it in UTC.
//   - Text longer than Teams takes is cut at a character boundary, with "…".
func Render(s Status, now time.Time) Message {
	if s.Expiration > 0 && !time.Unix(s.Expiration, 0).After(now) {
		return Message{}
	}
	text := strings.TrimSpace(s.Text)
	var content string
	switch {
	case s.Emoji != "" && text != "":
		content = s.Emoji + " " + text
	case s.Emoji != "":
		content = s.Emoji
	default:
		content = text
	}
	if content == "" {
		return Message{}
	}
	m := Message{Content: Truncate(content, MaxMessageRunes)}
	if s.Expiration > 0 {
		m.Expiry = time.Unix(s.Expiration, 0).UTC()
	}
	return m
}

// Truncate cuts s to at most max runes, ending with "…" when it cut. It never
// cuts inside a UTF-8 sequence and never leaves a dangling joiner, variation
// selector or combining mark at the end, so emoji sequences are not broken.
func Truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	cut := max - 1 // room for the ellipsis
	// Step back while the rune at the cut continues the one before it (it
	// would be split from its base) or the rune before the cut is a joiner.
	for cut > 0 && (continues(runes[cut]) || runes[cut-1] == '\u200d') {
		cut--
	}
	// Do not leave a lone half of a regional-indicator pair (a flag).
	if cut > 0 && isRegional(runes[cut-1]) {
		n := 0
		for i := cut - 1; i >= 0 && isRegional(runes[i]); i-- {
			n++
		}
		if n%2 == 1 {
			cut--
		}
	}
	// Trailing spaces go, and with them a joiner they would have left bare.
	return strings.TrimRightFunc(string(runes[:cut]), func(r rune) bool { return unicode.IsSpace(r) || r == '\u200d' }) + "…"
}

// continues reports whether r attaches to the rune before it.
func continues(r rune) bool {
	switch {
	case r == '\u200d': // zero-width joiner
		return true
	case r >= 0xFE00 && r <= 0xFE0F: // variation selectors
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // skin-tone modifiers
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tag characters (subdivision flags)
		return true
	case r == 0x20E3: // combining enclosing keycap
		return true
	}
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Mc, r)
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
