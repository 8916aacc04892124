package slackhandler

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kyokomi/emoji/v2"

	"github.com/statusbridge/statusbridge/bridge"
)

// StatusFromProfile turns the status fields of a Slack profile into a
// bridge.Status. The emoji becomes Unicode; a custom emoji, which has no
// Unicode form, is dropped (Emoji "") while EmojiName keeps the shortcode.
// Standard emoji shortcodes inside the text are turned into Unicode too.
func StatusFromProfile(p Profile) bridge.Status {
	exp := p.StatusExpiration
	if exp < 0 {
		exp = 0
	}
	return bridge.Status{
		Text:       emojizeText(p.StatusText, p.StatusEmojiDisplayInfo),
		Emoji:      EmojiUnicode(p.StatusEmoji, p.StatusEmojiDisplayInfo),
		EmojiName:  strings.TrimSpace(p.StatusEmoji),
		Expiration: exp,
	}
}

// shortcode matches ":name:" with an optional Slack skin tone, as in ":wave::skin-tone-3:".
var shortcode = regexp.MustCompile(`^:([^:\s]+):(?::skin-tone-([2-6]):)?$`)

// EmojiUnicode turns a Slack emoji shortcode (":palm_tree:", ":wave::skin-tone-3:")
// into Unicode, preferring Slack's own display info and falling back to a
// table of standard emoji. It returns "" for custom and unknown emoji.
func EmojiUnicode(code string, info []EmojiDisplayInfo) string {
	m := shortcode.FindStringSubmatch(strings.TrimSpace(code))
	if m == nil {
		return ""
	}
	name, tone := m[1], 0
	if m[2] != "" {
		tone, _ = strconv.Atoi(m[2])
	}
	full := name
	if tone != 0 {
		full = name + "::skin-tone-" + m[2]
	}
	// Slack's display info, by exact name first (it may carry the tone already).
	for _, want := range []string{full, name} {
		for _, d := range info {
			if strings.Trim(d.EmojiName, ":") != want {
				continue
			}
			if u, ok := parseCodePoints(d.Unicode); ok {
				return withSkinTone(u, tone)
			}
			if alias := strings.Trim(d.DisplayAlias, ":"); alias != "" {
				if u := standardEmoji(alias); u != "" {
					return withSkinTone(u, tone)
				}
			}
			// No Unicode: a custom emoji (an image only), unless the name is
			// a standard one (Slack does not let custom emoji take those).
		}
	}
	if u := standardEmoji(name); u != "" {
		return withSkinTone(u, tone)
	}
	return ""
}

// standardEmoji looks a shortcode name (without colons) up in the table of
// standard emoji; Slack writes some names with "-" where the table has "_".
func standardEmoji(name string) string {
	table := emoji.CodeMap()
	for _, n := range []string{name, strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "_", "-")} {
		if u, ok := table[":"+n+":"]; ok {
			// The table's values are plain, but trim in case a version pads them.
			if u = strings.TrimSpace(u); u != "" {
				return u
			}
		}
	}
	// Slack's ":flag-xx:" for every ISO country code: two regional indicators.
	if len(name) == 7 && strings.HasPrefix(name, "flag-") {
		a, b := name[5], name[6]
		if a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z' {
			return string([]rune{0x1F1E6 + rune(a-'a'), 0x1F1E6 + rune(b-'a')})
		}
	}
	return ""
}

// parseCodePoints parses Slack's "1f468-200d-1f4bb" form into a string.
func parseCodePoints(hex string) (string, bool) {
	hex = strings.TrimSpace(hex)
	if hex == "" {
		return "", false
	}
	parts := strings.Split(hex, "-")
	if len(parts) > 16 {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 16, 32)
		if err != nil {
			return "", false
		}
		r := rune(n)
		if !utf8.ValidRune(r) || r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// withSkinTone adds Slack skin tone 2–6 (U+1F3FB–U+1F3FF) after the first
// code point of e, replacing a variation selector there; tone 0 leaves e as is,
// and so does an emoji that already carries a tone.
func withSkinTone(e string, tone int) string {
	if tone < 2 || tone > 6 || e == "" {
		return e
	}
	runes := []rune(e)
	for _, r := range runes {
		if r >= 0x1F3FB && r <= 0x1F3FF {
			return e
		}
	}
	out := []rune{runes[0], rune(0x1F3FB + tone - 2)}
	rest := runes[1:]
	if len(rest) > 0 && rest[0] == 0xFE0F {
		rest = rest[1:]
	}
	return string(append(out, rest...))
}

// textShortcode matches emoji shortcodes inside status text.
var textShortcode = regexp.MustCompile(`:[a-z0-9_+\-']+:(?::skin-tone-[2-6]:)?`)

// emojizeText replaces standard emoji shortcodes in text with Unicode and
// leaves custom or unknown ones as written.
func emojizeText(text string, info []EmojiDisplayInfo) string {
	if !strings.Contains(text, ":") {
		return text
	}
	return textShortcode.ReplaceAllStringFunc(text, func(code string) string {
		if u := EmojiUnicode(code, info); u != "" {
			return u
		}
		return code
	})
}
