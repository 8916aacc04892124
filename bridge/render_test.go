package bridge

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRender(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	friday := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	long := strings.Repeat("a", 300)
	tests := []struct {
		name string
		in   Status
		want Message
	}{
		{"emoji before text, expiry in UTC", Status{Text: "Vacationing", Emoji: "🌴", Expiration: friday.Unix()},
			Message{Content: "🌴 Vacationing", Expiry: friday}},
		{"no expiry", Status{Text: "Hey I am available now"}, Message{Content: "Hey I am available now"}},
		{"emoji only", Status{Emoji: "🤒"}, Message{Content: "🤒"}},
		{"text trimmed", Status{Text: "  In a meeting \n"}, Message{Content: "In a meeting"}},
		{"custom emoji dropped upstream leaves text", Status{Text: "Shipping", EmojiName: ":shipit:"}, Message{Content: "Shipping"}},
		{"empty clears", Status{}, Message{}},
		{"whitespace only clears", Status{Text: "   "}, Message{}},
		{"expired clears", Status{Text: "Lunch", Emoji: "🍔", Expiration: now.Add(-time.Minute).Unix()}, Message{}},
		{"expiring exactly now clears", Status{Text: "Lunch", Expiration: now.Unix()}, Message{}},
		{"expiry one second ahead kept", Status{Text: "Lunch", Expiration: now.Add(time.Second).Unix()},
			Message{Content: "Lunch", Expiry: now.Add(time.Second)}},
		{"too long cut with ellipsis", Status{Text: long}, Message{Content: strings.Repeat("a", MaxMessageRunes-1) + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.in, now)
			if !got.Equal(tt.want) {
				t.Fatalf("Render(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !got.Expiry.IsZero() && got.Expiry.Location() != time.UTC {
				t.Fatalf("expiry %v is not in UTC", got.Expiry)
			}
		})
	}
}

func TestRenderExpiryIsUTCWhateverTheLocalZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no tzdata:", err) // the assertion below needs a non-UTC zone
	}
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, la)
	exp := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	got := Render(Status{Text: "x", Expiration: exp.Unix()}, now)
	if got.Expiry.Location() != time.UTC || got.Expiry.Hour() != 17 {
		t.Fatalf("expiry = %v, want 17:00 UTC", got.Expiry)
	}
}

func TestTruncate(t *testing.T) {
	family := "👨\u200d👩\u200d👧" // one grapheme of five runes
	flag := "🇺🇸"
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "hello", 5, "hello"},
		{"cut ascii", "hello world", 6, "hello…"},
		{"cut trims trailing space", "hello world", 7, "hello…"},
		{"multibyte never split", "ééééé", 3, "éé…"},
		{"zwj sequence not split", "ab" + family, 5, "ab…"},
		{"skin tone not separated", "ab👋🏽cd", 4, "ab…"},
		{"variation selector kept with base", "ab❤️cd", 4, "ab…"},
		{"flag pair not halved", "a" + flag + flag, 3, "a…"},
		{"whole flag kept", "a" + flag + "bc", 4, "a" + flag + "…"},
		{"combining accent kept with base", "abe\u0301cd", 4, "ab…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tt.max {
				t.Fatalf("Truncate(%q, %d) = %q: invalid or too long", tt.in, tt.max, got)
			}
		})
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("🌴 Vacationing until Friday", 10)
	f.Add("👨\u200d👩\u200d👧🇺🇸e\u0301", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1000 || !utf8.ValidString(s) {
			return
		}
		got := Truncate(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if utf8.RuneCountInString(got) > max {
			t.Fatalf("%q longer than %d", got, max)
		}
	})
}
