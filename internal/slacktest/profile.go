package slacktest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The stand-in's users.profile.set and users.profile.get, after
// https://docs.slack.dev/reference/methods/users.profile.set and
// https://docs.slack.dev/reference/methods/users.profile.get:
//
//   - Writing another user's profile takes a user token (xoxp) with
//     users.profile:write of an admin or owner; a bot token gets
//     not_allowed_token_type.
//   - Only the primary owner may change an admin's or owner's profile
//     (cannot_update_admin_user); a member may change only their own
//     (not_admin).
//   - status_text longer than 100 characters is refused with too_long.
//   - A token may update one profile at most 10 times a minute and at most
//     30 profiles a minute; over that Slack answers HTTP 429 with
//     Retry-After and {"ok":false,"error":"ratelimited"}.
//   - Every successful write emits user_change and user_status_changed.

// AdminUserID is the user the admin token (SetAdminToken) belongs to.
const AdminUserID = "U0SLACKADM"

// DefaultAdminScopes are the admin token's scopes unless SetAdminToken names others.
var DefaultAdminScopes = []string{"users.profile:write", "users.profile:read", "users:read"}

// Slack's documented profile write limits.
const (
	DefaultProfilesPerToken = 30
	DefaultWritesPerUser    = 10
	DefaultProfileWindow    = time.Minute
	// MaxStatusText is the longest status_text users.profile.set accepts, in characters.
	MaxStatusText = 100
)

// ProfileWrite is one users.profile.set call the stand-in accepted.
type ProfileWrite struct {
	// User is the user whose status was set.
	User string
	// Text, Emoji and Expiration are the user's status after the write.
	Text, Emoji string
	Expiration  int64
	// At is when the stand-in accepted the write.
	At time.Time
}

type profileState struct {
	admin       string
	adminScopes []string

	perToken, perUser int
	window            time.Duration
	now               func() time.Time
	tokenHits         map[string][]time.Time
	userHits          map[string][]time.Time
	throttled         int
	writes            []ProfileWrite

	sink       func([]byte)
	queue      [][]byte
	delivering bool
	seq        int
}

// SetAdminToken makes the stand-in accept tok as the user token of
// AdminUserID with scopes (DefaultAdminScopes when none are given). Unless
// a user AdminUserID was added, it adds one who is a workspace admin; add
// your own to give the token's owner another role.
func (a *API) SetAdminToken(tok string, scopes ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(scopes) == 0 {
		scopes = DefaultAdminScopes
	}
	a.prof.admin, a.prof.adminScopes = tok, append([]string(nil), scopes...)
	if _, ok := a.users[AdminUserID]; !ok {
		a.users[AdminUserID] = User{ID: AdminUserID, TeamID: a.installTeam, Email: "admin@example.com", Admin: true}
	}
}

// SetProfileLimits sets how many profiles one token may write and how many
// writes one profile may take within window (default 30, 10 and a minute).
func (a *API) SetProfileLimits(perToken, perUser int, window time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prof.perToken, a.prof.perUser, a.prof.window = perToken, perUser, window
}

// SetClock sets the clock of the profile write limits and of the echoed
// events (default time.Now).
func (a *API) SetClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prof.now = now
}

// SetEventSink makes every successful users.profile.set echo its
// user_change and user_status_changed event payloads to sink, in order, on a
// goroutine of the stand-in (as Slack delivers them after the call answered).
func (a *API) SetEventSink(sink func(body []byte)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prof.sink = sink
}

// ProfileWrites returns the users.profile.set calls accepted so far, in order.
func (a *API) ProfileWrites() []ProfileWrite {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ProfileWrite(nil), a.prof.writes...)
}

// ProfileThrottled counts the users.profile.set calls the write limits answered with 429.
func (a *API) ProfileThrottled() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.prof.throttled
}

// UserByID returns the stand-in's record of user id, with its current status.
func (a *API) UserByID(id string) (User, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[id]
	return u, ok
}

// serveProfile answers users.profile.set and users.profile.get, and any
// call made with the admin token; it reports false for calls it leaves to
// the rest of the stand-in.
func (a *API) serveProfile(w http.ResponseWriter, r *http.Request, method, tok string, jsonBody []byte) bool {
	a.mu.Lock()
	admin, adminScopes, botScopes := a.prof.admin, a.prof.adminScopes, a.scope
	a.mu.Unlock()
	isAdmin := admin != "" && tok == admin
	isProfile := method == "users.profile.set" || method == "users.profile.get"
	if !isAdmin && !isProfile {
		return false
	}
	switch {
	case isAdmin:
		w.Header().Set("X-OAuth-Scopes", strings.Join(adminScopes, ","))
	case tok == a.token:
		w.Header().Set("X-OAuth-Scopes", strings.Join(botScopes, ","))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return true
	}
	scopes := botScopes
	self := BotUserID
	if isAdmin {
		scopes, self = adminScopes, AdminUserID
	}
	need := map[string]string{"users.profile.set": "users.profile:write", "users.profile.get": "users.profile:read",
		"users.info": "users:read", "auth.test": ""}
	needed, known := need[method]
	if !known {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
		return true
	}
	w.Header().Set("X-Accepted-OAuth-Scopes", needed)
	if method == "users.profile.set" && !isAdmin {
		// Bot tokens cannot write profiles at all.
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_allowed_token_type"})
		return true
	}
	if needed != "" && !hasScope(scopes, needed) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "missing_scope",
			"needed": needed, "provided": strings.Join(scopes, ",")})
		return true
	}
	switch method {
	case "auth.test":
		a.mu.Lock()
		team := a.installTeam
		a.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "Example",
			"user": "admin", "team_id": team, "user_id": AdminUserID, "is_enterprise_install": false})
	case "users.info":
		a.mu.Lock()
		u, ok := a.users[r.Form.Get("user")]
		a.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"})
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": userJSON(u, hasScope(scopes, "users:read.email"))})
	case "users.profile.get":
		id := r.Form.Get("user")
		if id == "" {
			id = self
		}
		a.mu.Lock()
		u, ok := a.users[id]
		a.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"})
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "profile": userJSON(u, hasScope(scopes, "users:read.email"))["profile"]})
	case "users.profile.set":
		a.profileSet(w, r, tok, jsonBody)
	}
	return true
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}

// profileSet serves users.profile.set for the admin token.
func (a *API) profileSet(w http.ResponseWriter, r *http.Request, tok string, jsonBody []byte) {
	fail := func(code string) { writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code}) }
	// Arguments come as a form (profile a JSON string) or as a JSON body
	// (profile an object, or a JSON string too).
	var user string
	var rawProfile json.RawMessage
	if jsonBody != nil {
		var body struct {
			User    string          `json:"user"`
			Profile json.RawMessage `json:"profile"`
			Name    string          `json:"name"`
			Value   json.RawMessage `json:"value"`
		}
		if json.Unmarshal(jsonBody, &body) != nil {
			fail("invalid_json")
			return
		}
		user, rawProfile = body.User, body.Profile
		var s string
		if json.Unmarshal(rawProfile, &s) == nil {
			rawProfile = json.RawMessage(s)
		}
		if len(rawProfile) == 0 && body.Name != "" {
			rawProfile, _ = json.Marshal(map[string]json.RawMessage{body.Name: body.Value})
		}
	} else {
		user = r.Form.Get("user")
		rawProfile = json.RawMessage(r.Form.Get("profile"))
		if len(rawProfile) == 0 && r.Form.Get("name") != "" {
			rawProfile, _ = json.Marshal(map[string]string{r.Form.Get("name"): r.Form.Get("value")})
		}
	}
	var fields map[string]json.RawMessage
	if len(rawProfile) == 0 || json.Unmarshal(rawProfile, &fields) != nil || fields == nil {
		fail("invalid_profile")
		return
	}
	if user == "" {
		user = AdminUserID
	}

	a.mu.Lock()
	now := a.clock()
	if wait := a.limit(tok, user, now); wait > 0 {
		a.prof.throttled++
		a.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	code, u := a.applyProfile(user, fields, now)
	a.mu.Unlock()
	if code != "" {
		fail(code)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "profile": userJSON(u, true)["profile"]})
	a.deliver()
}

func (a *API) clock() time.Time {
	if a.prof.now != nil {
		return a.prof.now()
	}
	return time.Now()
}

// limit counts one write by tok to user at now in the sliding windows, or
// returns how long to wait when a window is full (nothing counted then).
// a.mu is held.
func (a *API) limit(tok, user string, now time.Time) time.Duration {
	p := &a.prof
	perToken, perUser, window := p.perToken, p.perUser, p.window
	if perToken <= 0 {
		perToken = DefaultProfilesPerToken
	}
	if perUser <= 0 {
		perUser = DefaultWritesPerUser
	}
	if window <= 0 {
		window = DefaultProfileWindow
	}
	if p.tokenHits == nil {
		p.tokenHits, p.userHits = map[string][]time.Time{}, map[string][]time.Time{}
	}
	prune := func(hits []time.Time) []time.Time {
		i := 0
		for i < len(hits) && !hits[i].After(now.Add(-window)) {
			i++
		}
		return hits[i:]
	}
	th, uh := prune(p.tokenHits[tok]), prune(p.userHits[tok+"\x00"+user])
	p.tokenHits[tok], p.userHits[tok+"\x00"+user] = th, uh
	var wait time.Duration
	if len(th) >= perToken {
		wait = th[len(th)-perToken].Add(window).Sub(now)
	}
	if len(uh) >= perUser {
		if d := uh[len(uh)-perUser].Add(window).Sub(now); d > wait {
			wait = d
		}
	}
	if wait > 0 {
		return wait
	}
	p.tokenHits[tok] = append(th, now)
	p.userHits[tok+"\x00"+user] = append(uh, now)
	return 0
}

// applyProfile checks and applies the status fields of one write by the
// admin token to user, returning Slack's error code or the updated user,
// and queues the events the write emits (in the order of the writes).
// a.mu is held.
func (a *API) applyProfile(user string, fields map[string]json.RawMessage, now time.Time) (string, User) {
	u, ok := a.users[user]
	if !ok {
		return "user_not_found", User{}
	}
	owner, ok := a.users[AdminUserID]
	if !ok {
		owner = User{ID: AdminUserID, Admin: true}
	}
	if user != AdminUserID {
		switch {
		case !owner.Admin && !owner.Owner && !owner.PrimaryOwner:
			return "not_admin", User{}
		case (u.Admin || u.Owner || u.PrimaryOwner) && !owner.PrimaryOwner:
			return "cannot_update_admin_user", User{}
		case u.Bot && !owner.Owner && !owner.PrimaryOwner:
			return "not_app_admin", User{}
		}
	}
	text, emoji, exp := u.StatusText, u.StatusEmoji, u.StatusExpiration
	if raw, ok := fields["status_text"]; ok {
		if json.Unmarshal(raw, &text) != nil {
			return "invalid_profile", User{}
		}
	}
	if raw, ok := fields["status_emoji"]; ok {
		if json.Unmarshal(raw, &emoji) != nil {
			return "invalid_profile", User{}
		}
	}
	if raw, ok := fields["status_expiration"]; ok {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "invalid_profile", User{}
			}
			n = json.Number(s)
		}
		v, err := n.Int64()
		if err != nil && n != "" {
			return "invalid_profile", User{}
		}
		exp = v
	}
	if utf8.RuneCountInString(text) > MaxStatusText {
		return "too_long", User{}
	}
	if text == "" && emoji == "" {
		exp = 0
	}
	u.StatusText, u.StatusEmoji, u.StatusExpiration = text, emoji, exp
	a.users[user] = u
	a.prof.writes = append(a.prof.writes, ProfileWrite{User: user, Text: text, Emoji: emoji, Expiration: exp, At: now})
	if a.prof.sink == nil {
		return "", u
	}
	team := u.TeamID
	if team == "" {
		team = a.installTeam
	}
	for _, typ := range []string{TypeUserChange, TypeUserStatusChanged} {
		a.prof.seq++
		id := fmt.Sprintf("Ev0PROF%06d", a.prof.seq)
		a.prof.queue = append(a.prof.queue, StatusEvent(typ, id, team, user, now, text, emoji, exp))
	}
	return "", u
}

// deliver starts the one goroutine that hands queued events to the sink
// in order, unless it runs already or nothing is queued.
func (a *API) deliver() {
	a.mu.Lock()
	if a.prof.delivering || len(a.prof.queue) == 0 {
		a.mu.Unlock()
		return
	}
	a.prof.delivering = true
	a.mu.Unlock()
	go func() {
		for {
			a.mu.Lock()
			if len(a.prof.queue) == 0 || a.prof.sink == nil {
				a.prof.delivering = false
				a.mu.Unlock()
				return
			}
			body, sink := a.prof.queue[0], a.prof.sink
			a.prof.queue = a.prof.queue[1:]
			a.mu.Unlock()
			sink(body)
		}
	}()
}
