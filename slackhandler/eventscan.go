package slackhandler

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// parseEventFast decodes an Events API payload in one pass over its bytes,
// with the lenient decoder's results: a field of an unexpected JSON type
// reads as its zero value, a repeated key's last value wins (merged, for the
// nested objects the lenient decoder merges), and keys match as in
// encoding/json. ok is false when it cannot vouch for the answer, and
// ParseEvent then takes the lenient path: malformed JSON, a payload the
// lenient path refuses, a key of a decoded object that is escaped, not
// ASCII or has upper-case letters (encoding/json matches keys
// case-insensitively), or nesting deeper than maxScanDepth.
func parseEventFast(body []byte) (ev Event, ok bool) {
	s := scanner{b: body}
	if s.peek() != '{' {
		return Event{}, false
	}
	s.i++
	var in scannedInner
	eventObject := false
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return Event{}, false
		}
		if end {
			break
		}
		switch string(key) {
		case "type":
			ev.Type, ok = s.lstring()
		case "challenge":
			ev.Challenge, ok = s.lstring()
		case "team_id":
			ev.TeamID, ok = s.lstring()
		case "enterprise_id":
			ev.EnterpriseID, ok = s.lstring()
		case "api_app_id":
			ev.APIAppID, ok = s.lstring()
		case "event_id":
			ev.EventID, ok = s.lstring()
		case "event_time":
			ev.EventTime, ok = s.lint()
		case "minute_rate_limited":
			ev.MinuteRateLimited, ok = s.lint()
		case "event":
			// The last "event" wins whole, as a json.RawMessage would.
			in = scannedInner{}
			if eventObject = s.peek() == '{'; eventObject {
				ok = s.inner(&in)
			} else {
				ok = s.skip(0)
			}
		default:
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return Event{}, false
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return Event{}, false
	}
	if ev.Type != TypeEventCallback {
		return ev, true
	}
	if !eventObject {
		return Event{}, false
	}
	ev.InnerType, ev.EventTS = in.typ, in.eventTS
	switch ev.InnerType {
	case TypeUserChange, TypeUserStatusChanged:
		var u User
		if in.user == userObject {
			u = in.u
		}
		u.Profile.StatusExpiration = max(u.Profile.StatusExpiration, 0)
		ev.User = &u
	case TypeAppHomeOpened:
		if in.user == userString {
			ev.HomeUser = in.userID
		}
		ev.Tab = in.tab
	}
	return ev, true
}

// scannedInner is an event_callback's inner event as the scanner read it.
type scannedInner struct {
	typ, eventTS, tab string
	// user says what the last "user" value was: an object (u) or a string (userID).
	user   byte
	u      User
	userID string
}

const (
	userOther byte = iota
	userObject
	userString
)

// maxScanDepth bounds the nesting the scanner follows; deeper payloads take
// the lenient path.
const maxScanDepth = 200

// scanner reads JSON from b, strictly: whatever encoding/json would refuse
// it refuses too.
type scanner struct {
	b []byte
	i int
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// member reads the key of an object's next member and its colon, the
// object's '{' having been read (first) or a member's value. end reports
// that the object's '}' was read instead. An escaped key is refused.
func (s *scanner) member(first bool) (key []byte, end, ok bool) {
	c := s.peek()
	if c == '}' {
		s.i++
		return nil, true, true
	}
	if !first {
		if c != ',' {
			return nil, false, false
		}
		s.i++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, false
	}
	key, flags, ok := s.str()
	if !ok || flags&strEscaped != 0 || s.peek() != ':' {
		return nil, false, false
	}
	s.i++
	return key, false, true
}

// plainKey reports whether a key no decoded field's name can match
// case-insensitively unless it matches exactly: every name is lower-case
// ASCII, so a key without upper-case letters or other bytes than ASCII is
// one.
func plainKey(key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Flags of a scanned string.
const (
	strEscaped = 1 << iota // holds a backslash escape
	strHigh                // holds a byte ≥ 0x80
)

// strPlain marks the bytes a string may hold as they are: not '"', '\\',
// a control character or a byte ≥ 0x80.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string (s.b[s.i] is its '"') and returns its raw contents.
func (s *scanner) str() (raw []byte, flags int, ok bool) {
	b := s.b
	start := s.i + 1
	i := start
	for {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, 0, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], flags, true
		case c == '\\':
			flags |= strEscaped
			if i+1 >= len(b) {
				return nil, 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return nil, 0, false
				}
				i += 6
			default:
				return nil, 0, false
			}
		case c < 0x20:
			return nil, 0, false
		default:
			flags |= strHigh
			i++
		}
	}
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// num reads a number and returns its text.
func (s *scanner) num() ([]byte, bool) {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	raw := b[s.i:i]
	s.i = i
	return raw, true
}

// lit reads the literal word (true, false, null).
func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// skip reads any value, depth levels deep.
func (s *scanner) skip(depth int) bool {
	switch s.peek() {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			c := s.peek()
			if c == '}' {
				s.i++
				return true
			}
			if !first {
				if c != ',' {
					return false
				}
				s.i++
				c = s.peek()
			}
			if c != '"' {
				return false
			}
			if _, _, ok := s.str(); !ok || s.peek() != ':' {
				return false
			}
			s.i++
			if !s.skip(depth + 1) {
				return false
			}
		}
	case '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		for first := true; ; first = false {
			c := s.peek()
			if c == ']' {
				s.i++
				return true
			}
			if !first {
				if c != ',' {
					return false
				}
				s.i++
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	_, ok := s.num()
	return ok
}

// lstring reads a value as lstring does: a string's contents, "" for any
// other value.
func (s *scanner) lstring() (string, bool) {
	if s.peek() != '"' {
		return "", s.skip(0)
	}
	raw, flags, ok := s.str()
	if !ok {
		return "", false
	}
	return unquoteRaw(raw, flags), true
}

// lbool reads a value as lbool does: true only for true.
func (s *scanner) lbool() (bool, bool) {
	if s.peek() == 't' {
		return true, s.lit("true")
	}
	return false, s.skip(0)
}

// lint reads a value as lint does: a number, or a string holding one, and
// 0 for anything else.
func (s *scanner) lint() (int64, bool) {
	switch c := s.peek(); {
	case c == '"':
		v, ok := s.lstring()
		return lenientInt(strings.TrimSpace(v)), ok
	case c == '-' || isDigit(c):
		raw, ok := s.num()
		if !ok {
			return 0, false
		}
		if n, ok := smallInt(raw); ok {
			return n, true
		}
		return lenientInt(string(raw)), true
	}
	return 0, s.skip(0)
}

// smallInt parses an optionally negative run of at most 18 digits.
func smallInt(raw []byte) (int64, bool) {
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) == 0 || len(raw) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// inner reads an event_callback's event object into in.
func (s *scanner) inner(in *scannedInner) bool {
	s.i++
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		switch string(key) {
		case "type":
			in.typ, ok = s.lstring()
		case "event_ts":
			in.eventTS, ok = s.lstring()
		case "tab":
			in.tab, ok = s.lstring()
		case "user":
			// The last "user" wins whole, as a json.RawMessage would.
			in.user, in.u, in.userID = userOther, User{}, ""
			switch s.peek() {
			case '{':
				in.user, ok = userObject, s.user(&in.u)
			case '"':
				in.user = userString
				in.userID, ok = s.lstring()
			default:
				ok = s.skip(0)
			}
		default:
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return false
		}
	}
}

// user reads a user object into u, as wireUser decodes.
func (s *scanner) user(u *User) bool {
	s.i++
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		switch string(key) {
		case "id":
			u.ID, ok = s.lstring()
		case "team_id":
			u.TeamID, ok = s.lstring()
		case "is_bot":
			u.IsBot, ok = s.lbool()
		case "deleted":
			u.Deleted, ok = s.lbool()
		case "is_restricted":
			u.IsRestricted, ok = s.lbool()
		case "is_ultra_restricted":
			u.IsUltraRestricted, ok = s.lbool()
		case "is_stranger":
			u.IsStranger, ok = s.lbool()
		case "profile":
			// Merged into what an earlier "profile" set, as lenientObject does.
			if s.peek() == '{' {
				ok = s.profile(&u.Profile)
			} else {
				ok = s.skip(0)
			}
		case "enterprise_user":
			if s.peek() == '{' {
				ok = s.enterpriseUser(u)
			} else {
				ok = s.skip(0)
			}
		default:
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return false
		}
	}
}

// enterpriseUser reads an enterprise_user object's enterprise_id into u.
func (s *scanner) enterpriseUser(u *User) bool {
	s.i++
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		if string(key) == "enterprise_id" {
			u.EnterpriseID, ok = s.lstring()
		} else {
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return false
		}
	}
}

// profile reads a profile object into p, as wireProfile decodes (a negative
// expiration is left for the caller to clamp).
func (s *scanner) profile(p *Profile) bool {
	s.i++
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		switch string(key) {
		case "status_text":
			p.StatusText, ok = s.lstring()
		case "status_emoji":
			p.StatusEmoji, ok = s.lstring()
		case "status_expiration":
			p.StatusExpiration, ok = s.lint()
		case "email":
			p.Email, ok = s.lstring()
		case "status_emoji_display_info":
			// Each occurrence starts afresh, as wireInfoList does.
			p.StatusEmojiDisplayInfo = nil
			if s.peek() == '[' {
				ok = s.infoList(&p.StatusEmojiDisplayInfo)
			} else {
				ok = s.skip(0)
			}
		default:
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return false
		}
	}
}

// infoList reads an array, keeping its object elements, as wireInfoList does.
func (s *scanner) infoList(l *[]EmojiDisplayInfo) bool {
	s.i++
	for first := true; ; first = false {
		c := s.peek()
		if c == ']' {
			s.i++
			return true
		}
		if !first {
			if c != ',' {
				return false
			}
			s.i++
			c = s.peek()
		}
		if c != '{' {
			if !s.skip(1) {
				return false
			}
			continue
		}
		var e EmojiDisplayInfo
		if !s.info(&e) {
			return false
		}
		*l = append(*l, e)
	}
}

// info reads one status_emoji_display_info element.
func (s *scanner) info(e *EmojiDisplayInfo) bool {
	s.i++
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		switch string(key) {
		case "emoji_name":
			e.EmojiName, ok = s.lstring()
		case "display_alias":
			e.DisplayAlias, ok = s.lstring()
		case "unicode":
			e.Unicode, ok = s.lstring()
		case "display_url":
			e.DisplayURL, ok = s.lstring()
		default:
			ok = plainKey(key) && s.skip(0)
		}
		if !ok {
			return false
		}
	}
}

// unquoteRaw is the string a scanned string's raw contents stand for, as
// encoding/json decodes it: escapes resolved, and invalid UTF-8 and lone
// surrogates each turned into U+FFFD.
func unquoteRaw(raw []byte, flags int) string {
	if flags == 0 || (flags == strHigh && utf8.Valid(raw)) {
		return internString(raw)
	}
	b := make([]byte, 0, len(raw)+utf8.UTFMax)
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			switch raw[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(raw[r+2 : r+6])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(raw) && raw[r] == '\\' && raw[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(raw[r+2:r+6])); dec != unicode.ReplacementChar {
							r += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, raw[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b)
}

// hex4 is the value of four hex digits.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// internString returns the constants of the event types the handler tests
// without allocating, and a copy of any other string.
func internString(raw []byte) string {
	switch string(raw) {
	case TypeEventCallback:
		return TypeEventCallback
	case TypeUserStatusChanged:
		return TypeUserStatusChanged
	case TypeUserChange:
		return TypeUserChange
	case "":
		return ""
	}
	return string(raw)
}
