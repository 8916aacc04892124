package redisstore

import (
	"strconv"
	"unicode/utf8"

	"github.com/statusbridge/statusbridge/bridge"
)

// encodeChange returns json.Marshal(c) and json.Marshal(c.Status), the
// second a part of the first, written in one go for the ack path. ok is
// false when a value needs what only encoding/json does (a string with
// characters it escapes, a time RFC 3339 cannot hold); the caller then uses
// encoding/json. A test holds the two to the same bytes.
func encodeChange(c bridge.Change) (change, status []byte, ok bool) {
	// Room for every key, the time and the numbers, and the strings.
	n := 288 + len(c.UserID) + len(c.TeamID) + len(c.EnterpriseID) + len(c.Status.Text) + len(c.Status.Emoji) +
		len(c.Status.EmojiName) + len(c.EventID) + len(c.Source) + len(c.EventType) + len(c.Observation) + len(c.Trace)
	b := make([]byte, 0, n)
	b = append(b, `{"user":`...)
	b, ok = appendPlain(b, c.UserID)
	b, ok = appendField(b, ok, `,"team":`, c.TeamID)
	b, ok = appendField(b, ok, `,"enterprise":`, c.EnterpriseID)
	b = append(b, `,"status":`...)
	start := len(b)
	b = append(b, '{')
	b, ok = appendField(b, ok, `,"text":`, c.Status.Text)
	b, ok = appendField(b, ok, `,"emoji":`, c.Status.Emoji)
	b, ok = appendField(b, ok, `,"emoji_name":`, c.Status.EmojiName)
	if c.Status.Expiration != 0 {
		b = append(b, `,"expiration":`...)
		b = strconv.AppendInt(b, c.Status.Expiration, 10)
	}
	if len(b) > start+1 && b[start+1] == ',' { // the first field's comma goes
		b = append(b[:start+1], b[start+2:]...)
	}
	b = append(b, '}')
	end := len(b)
	b, ok = appendField(b, ok, `,"event_id":`, c.EventID)
	b = append(b, `,"event_time":"`...)
	b, err := c.EventTime.AppendText(b)
	if err != nil {
		return nil, nil, false
	}
	b = append(b, '"')
	b, ok = appendField(b, ok, `,"source":`, string(c.Source))
	if c.Deactivated {
		b = append(b, `,"deactivated":true`...)
	}
	b, ok = appendField(b, ok, `,"event_type":`, c.EventType)
	b, ok = appendField(b, ok, `,"observation":`, c.Observation)
	b, ok = appendField(b, ok, `,"trace":`, c.Trace)
	b = append(b, '}')
	if !ok {
		return nil, nil, false
	}
	// The status is capped at its end, so that appending to it copies.
	return b, b[start:end:end], true
}

// appendField appends an omitempty string field (key holds its comma and
// colon) when s is not empty; ok carries whether everything so far was plain.
func appendField(b []byte, ok bool, key, s string) ([]byte, bool) {
	if !ok || s == "" {
		return b, ok
	}
	return appendPlain(append(b, key...), s)
}

// appendPlain appends s quoted when encoding/json would write it as it is:
// valid UTF-8 without control characters, '"', '\\', '<', '>', '&', U+2028
// or U+2029. ok is false for any other string.
func appendPlain(b []byte, s string) ([]byte, bool) {
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return b, false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	if high {
		if !utf8.ValidString(s) {
			return b, false
		}
		for i := 0; i+2 < len(s); i++ {
			// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
			if s[i] == 0xE2 && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				return b, false
			}
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
