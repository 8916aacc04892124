package slackhandler

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kyokomi/emoji/v2"

	"github.com/statusbridge/statusbridge/bridge"
)

// StatusFromTeams turns a Teams status message, as Graph reads it for
// another user, into a Slack status. A leading emoji with a Slack shortcode
// becomes the status emoji (":palm_tree:") and the rest, after spaces, the
// text; an emoji without one stays in the text. Line breaks and other
// control characters become spaces, and the text is cut to Slack's
// MaxStatusText characters without splitting an emoji. Teams gives no
// expiry when reading another user, so Expiration is 0.
func StatusFromTeams(content string) bridge.SlackStatus {
	content = strings.TrimSpace(oneLine(content))
	var s bridge.SlackStatus
	if cluster, rest := leadingCluster(content); cluster != "" {
		if code := ShortcodeFor(cluster); code != "" {
			s.Emoji = code
			content = strings.TrimLeftFunc(rest, unicode.IsSpace)
		}
	}
	s.Text = bridge.Truncate(content, MaxStatusText)
	return s
}

// oneLine makes s valid UTF-8 on one line: control characters (line
// breaks, tabs) become spaces, and runs of spaces one space.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// leadingCluster splits s after its first grapheme cluster, as far as
// emoji need: a flag (two regional indicators), or a rune with its
// variation selectors, skin tones, tags, keycap and combining marks, and
// further runes joined by zero-width joiners.
func leadingCluster(s string) (cluster, rest string) {
	if s == "" {
		return "", ""
	}
	r, i := utf8.DecodeRuneInString(s)
	if isRegionalIndicator(r) {
		if r2, n := utf8.DecodeRuneInString(s[i:]); isRegionalIndicator(r2) {
			i += n
		}
		return s[:i], s[i:]
	}
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\u200d':
			i += n
			if i < len(s) {
				_, n2 := utf8.DecodeRuneInString(s[i:])
				i += n2
			}
		case extendsEmoji(r):
			i += n
		default:
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// extendsEmoji reports whether r attaches to the rune before it.
func extendsEmoji(r rune) bool {
	switch {
	case r >= 0xFE00 && r <= 0xFE0F, // variation selectors
		isSkinTone(r),
		r >= 0xE0020 && r <= 0xE007F, // tags (subdivision flags)
		r == 0x20E3:                  // combining enclosing keycap
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool          { return r >= 0x1F3FB && r <= 0x1F3FF }

// looksLikeEmoji reports whether a cluster is shown as an emoji rather than
// as a plain character (so "©" or "1" at the start of a text stay text).
func looksLikeEmoji(cluster string) bool {
	base, _ := utf8.DecodeRuneInString(cluster)
	switch {
	case strings.ContainsAny(cluster, "\ufe0f\u20e3\u200d"),
		base >= 0x1F000,
		base >= 0x2300 && base <= 0x23FF,
		base >= 0x2600 && base <= 0x27BF,
		base >= 0x2B00 && base <= 0x2BFF:
		return true
	}
	return false
}

// ShortcodeFor returns the Slack shortcode of one emoji (":palm_tree:",
// ":wave::skin-tone-3:", ":flag-de:"), or "" when the table of standard
// emoji has none. The shortcode always turns back into the same emoji
// (EmojiUnicode), variation selectors aside.
func ShortcodeFor(e string) string {
	if e == "" || !looksLikeEmoji(e) {
		return ""
	}
	runes := []rune(e)
	if len(runes) == 2 && isRegionalIndicator(runes[0]) && isRegionalIndicator(runes[1]) {
		code := ":flag-" + string([]rune{'a' + runes[0] - 0x1F1E6, 'a' + runes[1] - 0x1F1E6}) + ":"
		if EmojiUnicode(code, nil) == e {
			return code
		}
		return ""
	}
	// Slack writes a skin tone as a suffix of the plain emoji's name.
	tone := rune(0)
	plain := make([]rune, 0, len(runes))
	for _, r := range runes {
		if isSkinTone(r) {
			if tone != 0 && tone != r {
				return "" // several different tones: Slack has no shortcode for that
			}
			tone = r
			continue
		}
		plain = append(plain, r)
	}
	name := reverseTable()[withoutVS16(string(plain))]
	if name == "" {
		return ""
	}
	code := ":" + name + ":"
	if tone != 0 {
		code += ":skin-tone-" + strconv.Itoa(int(tone-0x1F3FB)+2) + ":"
	}
	if withoutVS16(EmojiUnicode(code, nil)) != withoutVS16(e) {
		return ""
	}
	return code
}

// withoutVS16 drops emoji variation selectors, which Slack and Teams add
// or leave out inconsistently.
func withoutVS16(s string) string { return strings.ReplaceAll(s, "\ufe0f", "") }

// slackNames are Slack's own names for emoji that the standard table
// knows under several names, where the usual rule (below) would choose
// another. Each must be a name of the table for the same emoji (tested).
var slackNames = map[string]string{
	"\U0001f912":                 "face_with_thermometer",
	"\U0001f914":                 "thinking_face",
	"\U0001f5d3\ufe0f":           "spiral_calendar_pad",
	"\U0001f3d6\ufe0f":           "beach_with_umbrella",
	"\U0001f468\u200d\U0001f4bb": "male-technologist",
	"\U0001f469\u200d\U0001f4bb": "female-technologist",
	"\U0001f9d1\u200d\U0001f4bb": "technologist",
	"\U0001f44d":                 "+1",
	"\U0001f44e":                 "-1",
	"\u2615":                     "coffee",
	"\U0001f44b":                 "wave",
	"\u2764\ufe0f":               "heart",
	"\u2600\ufe0f":               "sunny",
	"\U0001f697":                 "car",
	"\U0001f3e1":                 "house_with_garden",
	"\U0001f3e0":                 "house",
	"\U0001f4c5":                 "date",
	"\U0001f4c6":                 "calendar",
	"\U0001f37d\ufe0f":           "knife_fork_plate",
	"\U0001f3dd\ufe0f":           "desert_island",
	"\U0001f927":                 "sneezing_face",
	"\U0001f637":                 "mask",
	"\U0001f642":                 "slightly_smiling_face",
	"\U0001f389":                 "tada",
	"\u2708\ufe0f":               "airplane",
	"\U0001f6a7":                 "construction",
	"\U0001f4bb":                 "computer",
	"\U0001f3a7":                 "headphones",
	"\U0001f4de":                 "telephone_receiver",
	"\u2705":                     "white_check_mark",
	"\u274c":                     "x",
	"\u26a0\ufe0f":               "warning",
	"\U0001f534":                 "red_circle",
	"\U0001f4a4":                 "zzz",
	"\u26d4":                     "no_entry",
	"\U0001f354":                 "hamburger",
	"\U0001f686":                 "train2",
	"\U0001f69e":                 "mountain_railway",
}

// toneName matches the table's own names for toned emoji, which Slack
// writes as "name::skin-tone-N" instead, and names Slack does not use.
var toneName = regexp.MustCompile(`_tone[1-5]$|[A-Z]`)

var reverseTable = sync.OnceValue(func() map[string]string {
	best := map[string]string{}
	for code, u := range emoji.CodeMap() {
		name := strings.Trim(code, ":")
		u = withoutVS16(strings.TrimSpace(u))
		if name == "" || u == "" || toneName.MatchString(name) {
			continue
		}
		if cur, ok := best[u]; !ok || preferName(name, cur) {
			best[u] = name
		}
	}
	for u, name := range slackNames {
		if withoutVS16(standardEmoji(name)) == withoutVS16(u) {
			best[withoutVS16(u)] = name
		}
	}
	return best
})

// preferName chooses between two names of one emoji deterministically:
// Slack's hyphenated names ("male-technologist") first, then the shorter,
// then the first in byte order.
func preferName(a, b string) bool {
	ha, hb := strings.Contains(a[1:], "-"), strings.Contains(b[1:], "-")
	if ha != hb {
		return ha
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
