package slackhandler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// Envelope and inner event types the bridge acts on.
const (
	// TypeURLVerification is the envelope Slack sends to check the request URL.
	TypeURLVerification = "url_verification"
	// TypeEventCallback is the envelope that wraps an event.
	TypeEventCallback = "event_callback"
	// TypeAppRateLimited is the envelope Slack sends when it drops the app's events.
	TypeAppRateLimited = "app_rate_limited"
	// TypeUserChange is the event sent when any part of a user changes.
	TypeUserChange = "user_change"
	// TypeUserStatusChanged is the event sent when a user's status changes.
	TypeUserStatusChanged = "user_status_changed"
	// TypeAppHomeOpened is the event sent when a user opens the app's Home
	// (https://docs.slack.dev/reference/events/app_home_opened).
	TypeAppHomeOpened = "app_home_opened"
)

// ErrInvalidEvent is wrapped by every error about a payload that is well-formed
// JSON but cannot become a change (no user id, no event time).
var ErrInvalidEvent = errors.New("invalid event")

// Event is an Events API payload, decoded tolerantly: fields of an unexpected
// type read as their zero value instead of failing the whole payload.
type Event struct {
	// Type is the envelope type: "event_callback", "url_verification", "app_rate_limited", ….
	Type string
	// Challenge is the value to echo for url_verification.
	Challenge string
	// TeamID is the workspace the event was delivered for; empty on some Enterprise Grid deliveries.
	TeamID string
	// EnterpriseID is the Enterprise Grid org the event was delivered for, when any.
	EnterpriseID string
	// APIAppID is the receiving app.
	APIAppID string
	// EventID is Slack's id of the event, the same on retries.
	EventID string
	// EventTime is when the event happened, in Unix seconds.
	EventTime int64
	// MinuteRateLimited is the minute (Unix seconds) an app_rate_limited payload refers to.
	MinuteRateLimited int64
	// InnerType is the type of the wrapped event ("user_change", …).
	InnerType string
	// EventTS is the wrapped event's own timestamp ("1361482916.000004"),
	// finer than EventTime's whole seconds.
	EventTS string
	// User is the user of a user_change or user_status_changed event; nil otherwise.
	User *User
	// HomeUser is the user who opened the app's Home (app_home_opened).
	HomeUser string
	// Tab is the Home tab opened ("home", "messages", "about").
	Tab string
}

// User is the part of a Slack user object the bridge uses.
type User struct {
	ID     string
	TeamID string
	// EnterpriseID is the Enterprise Grid org of the user (enterprise_user.enterprise_id).
	EnterpriseID      string
	IsBot             bool
	Deleted           bool
	IsRestricted      bool
	IsUltraRestricted bool
	IsStranger        bool
	Profile           Profile
}

// Profile is the part of a Slack user profile the bridge uses.
type Profile struct {
	StatusText             string
	StatusEmoji            string
	StatusEmojiDisplayInfo []EmojiDisplayInfo
	// StatusExpiration is in Unix seconds; 0 means never.
	StatusExpiration int64
	// Email is present only in users.info answers with the users:read.email scope.
	Email string
}

// EmojiDisplayInfo describes one emoji of a status, as Slack renders it.
type EmojiDisplayInfo struct {
	// EmojiName is the shortcode without colons ("palm_tree").
	EmojiName string
	// DisplayAlias names the standard emoji a custom alias stands for.
	DisplayAlias string
	// Unicode is the code points in hex joined by "-" ("1f334", "1f1fa-1f1f8"); empty for custom emoji.
	Unicode string
	// DisplayURL is the emoji's image.
	DisplayURL string
}

// ParseEvent decodes an Events API payload. It fails only when the body is
// not a JSON object or an event_callback's event is not an object.
//
// Payloads as Slack sends them are read in one pass (parseEventFast); the
// rest go through encoding/json with the lenient wire types below, which
// define the result either way.
func ParseEvent(body []byte) (Event, error) {
	if ev, ok := parseEventFast(body); ok {
		return ev, nil
	}
	return parseEventLenient(body)
}

// parseEventLenient is ParseEvent through encoding/json.
func parseEventLenient(body []byte) (Event, error) {
	if !isObject(body) {
		return Event{}, errors.New("payload is not a JSON object")
	}
	var w wireEnvelope
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("decode payload: %w", err)
	}
	ev := Event{
		Type:              string(w.Type),
		Challenge:         string(w.Challenge),
		TeamID:            string(w.TeamID),
		EnterpriseID:      string(w.EnterpriseID),
		APIAppID:          string(w.APIAppID),
		EventID:           string(w.EventID),
		EventTime:         int64(w.EventTime),
		MinuteRateLimited: int64(w.MinuteRateLimited),
	}
	if ev.Type != TypeEventCallback {
		return ev, nil
	}
	if !isObject(w.Event) {
		return Event{}, errors.New("event_callback without an event object")
	}
	var inner wireInner
	if err := json.Unmarshal(w.Event, &inner); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	ev.InnerType = string(inner.Type)
	ev.EventTS = string(inner.EventTS)
	switch ev.InnerType {
	case TypeUserChange, TypeUserStatusChanged:
		var wu wireUser
		_ = wu.UnmarshalJSON(inner.User)
		u := wu.user()
		ev.User = &u
	case TypeAppHomeOpened:
		var id lstring
		_ = id.UnmarshalJSON(inner.User)
		ev.HomeUser = string(id)
		ev.Tab = string(inner.Tab)
	}
	return ev, nil
}

// IsStatusEvent reports whether the event carries a user's status.
func (e Event) IsStatusEvent() bool { return e.User != nil }

// StatusChange builds the change a user event stands for. source says where
// it came from ("http", "socket"). The error wraps ErrInvalidEvent.
func (e Event) StatusChange(source bridge.ChangeSource) (bridge.Change, error) {
	if e.User == nil {
		return bridge.Change{}, fmt.Errorf("%w: %q carries no user", ErrInvalidEvent, e.InnerType)
	}
	if e.EventTime <= 0 {
		return bridge.Change{}, fmt.Errorf("%w: no event_time", ErrInvalidEvent)
	}
	team, enterprise := e.UserOrg()
	c := bridge.Change{
		UserID:       e.User.ID,
		TeamID:       team,
		EnterpriseID: enterprise,
		Status:       StatusFromProfile(e.User.Profile),
		EventID:      e.EventID,
		EventTime:    eventTime(e.EventTime, e.EventTS),
		Source:       source,
		EventType:    e.InnerType,
	}
	if e.User.Deleted {
		// A deactivated user has no status to mirror; the bridge stops mirroring them.
		c.Deactivated = true
		c.Status = bridge.Status{}
	}
	if err := c.Validate(); err != nil {
		return bridge.Change{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return c, nil
}

// eventTime orders a user's changes: Slack's event_time in whole seconds,
// refined by the event's own event_ts (microseconds) when that agrees with it,
// so two changes within one second keep their order.
func eventTime(sec int64, ts string) time.Time {
	whole, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || s < sec-60 || s > sec+60 {
		return time.Unix(sec, 0)
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns := 0
	if frac != "" {
		if n, err := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac))); err == nil {
			ns = n
		}
	}
	return time.Unix(s, int64(ns))
}

// The wire types below decode leniently: a value of the wrong JSON type reads
// as zero instead of failing, because Slack's payloads vary (for example
// "fields": [] where an object is documented).

type wireEnvelope struct {
	Type              lstring         `json:"type"`
	Challenge         lstring         `json:"challenge"`
	TeamID            lstring         `json:"team_id"`
	EnterpriseID      lstring         `json:"enterprise_id"`
	APIAppID          lstring         `json:"api_app_id"`
	EventID           lstring         `json:"event_id"`
	EventTime         lint            `json:"event_time"`
	MinuteRateLimited lint            `json:"minute_rate_limited"`
	Event             json.RawMessage `json:"event"`
}

type wireInner struct {
	Type    lstring         `json:"type"`
	User    json.RawMessage `json:"user"`
	EventTS lstring         `json:"event_ts"`
	Tab     lstring         `json:"tab"`
}

type wireUser struct {
	ID                lstring            `json:"id"`
	TeamID            lstring            `json:"team_id"`
	IsBot             lbool              `json:"is_bot"`
	Deleted           lbool              `json:"deleted"`
	IsRestricted      lbool              `json:"is_restricted"`
	IsUltraRestricted lbool              `json:"is_ultra_restricted"`
	IsStranger        lbool              `json:"is_stranger"`
	Profile           wireProfile        `json:"profile"`
	EnterpriseUser    wireEnterpriseUser `json:"enterprise_user"`
}

// wireEnterpriseUser is a user's enterprise_user object on Enterprise Grid.
type wireEnterpriseUser struct {
	EnterpriseID lstring `json:"enterprise_id"`
}

func (u *wireEnterpriseUser) UnmarshalJSON(b []byte) error {
	type plain wireEnterpriseUser
	return lenientObject(b, (*plain)(u))
}

func (u *wireUser) UnmarshalJSON(b []byte) error {
	type plain wireUser
	return lenientObject(b, (*plain)(u))
}

func (u wireUser) user() User {
	return User{
		ID:                string(u.ID),
		TeamID:            string(u.TeamID),
		EnterpriseID:      string(u.EnterpriseUser.EnterpriseID),
		IsBot:             bool(u.IsBot),
		Deleted:           bool(u.Deleted),
		IsRestricted:      bool(u.IsRestricted),
		IsUltraRestricted: bool(u.IsUltraRestricted),
		IsStranger:        bool(u.IsStranger),
		Profile:           u.Profile.profile(),
	}
}

type wireProfile struct {
	StatusText       lstring      `json:"status_text"`
	StatusEmoji      lstring      `json:"status_emoji"`
	DisplayInfo      wireInfoList `json:"status_emoji_display_info"`
	StatusExpiration lint         `json:"status_expiration"`
	Email            lstring      `json:"email"`
}

func (p *wireProfile) UnmarshalJSON(b []byte) error {
	type plain wireProfile
	return lenientObject(b, (*plain)(p))
}

func (p wireProfile) profile() Profile {
	exp := int64(p.StatusExpiration)
	if exp < 0 {
		exp = 0
	}
	return Profile{
		StatusText:             string(p.StatusText),
		StatusEmoji:            string(p.StatusEmoji),
		StatusEmojiDisplayInfo: []EmojiDisplayInfo(p.DisplayInfo),
		StatusExpiration:       exp,
		Email:                  string(p.Email),
	}
}

type wireInfo struct {
	EmojiName    lstring `json:"emoji_name"`
	DisplayAlias lstring `json:"display_alias"`
	Unicode      lstring `json:"unicode"`
	DisplayURL   lstring `json:"display_url"`
}

// wireInfoList keeps the object elements of an array and ignores anything else.
type wireInfoList []EmojiDisplayInfo

func (l *wireInfoList) UnmarshalJSON(b []byte) error {
	*l = nil
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	for _, r := range raw {
		if !isObject(r) {
			continue
		}
		var w wireInfo
		if json.Unmarshal(r, &w) != nil {
			continue
		}
		*l = append(*l, EmojiDisplayInfo{
			EmojiName:    string(w.EmojiName),
			DisplayAlias: string(w.DisplayAlias),
			Unicode:      string(w.Unicode),
			DisplayURL:   string(w.DisplayURL),
		})
	}
	return nil
}

// lenientObject decodes b into v when b is a JSON object and leaves v zero otherwise.
func lenientObject(b []byte, v any) error {
	if !isObject(b) {
		return nil
	}
	if json.Unmarshal(b, v) != nil {
		return nil
	}
	return nil
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// lstring is a string that reads any non-string JSON value as "".
type lstring string

func (s *lstring) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = lstring(v)
	} else {
		*s = ""
	}
	return nil
}

// lint is an integer that accepts JSON numbers (also fractional or
// exponent-form) and numeric strings, and reads anything else as 0.
type lint int64

func (n *lint) UnmarshalJSON(b []byte) error {
	*n = 0
	var num json.Number
	if json.Unmarshal(b, &num) != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		num = json.Number(strings.TrimSpace(s))
	}
	*n = lint(lenientInt(string(num)))
	return nil
}

// lenientInt is the integer num stands for, truncated if fractional, and 0
// when it is no number or out of range.
func lenientInt(num string) int64 {
	if i, err := strconv.ParseInt(num, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(num, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) &&
		f > math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return 0
}

// lbool is a bool that reads any non-boolean JSON value as false.
type lbool bool

func (v *lbool) UnmarshalJSON(b []byte) error {
	var x bool
	*v = lbool(json.Unmarshal(b, &x) == nil && x)
	return nil
}
