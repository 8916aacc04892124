package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Identity the stand-in answers auth.test with.
const (
	TeamID    = "T0EXAMPLE1"
	BotUserID = "U0BRIDGEBOT"
)

// DefaultScopes are the scopes the stand-in reports until SetScopes.
var DefaultScopes = []string{"users:read", "users:read.email", "commands"}

// User is a user the stand-in's users.info knows.
type User struct {
	ID, TeamID, Email string
	// EnterpriseID, on Enterprise Grid, fills the user's enterprise_user.
	EnterpriseID string
	// Teams are the workspaces of an Enterprise Grid org the user belongs to
	// (enterprise_user.teams); empty means TeamID alone.
	Teams                                               []string
	Bot, Deleted, Restricted, UltraRestricted, Stranger bool
	// Admin, Owner and PrimaryOwner are the user's role (is_admin, is_owner,
	// is_primary_owner); users.profile.set refuses to change an admin's or
	// owner's profile unless the token's user is the primary owner.
	Admin, Owner, PrimaryOwner bool
	// StatusText, StatusEmoji and StatusExpiration fill the profile's status.
	StatusText, StatusEmoji string
	StatusExpiration        int64
}

type failure struct {
	n          int
	status     int
	retryAfter string
}

// API is a local stand-in for Slack's Web API.
type API struct {
	// URL is the base URL to give the client, ending with "/" like https://slack.com/api/.
	URL string

	token string
	mu    sync.Mutex
	app   string
	users map[string]User
	fail  map[string]*failure
	calls map[string]int
	scope []string
	page  int
	sock  *SocketServer

	installTeam, installEnterprise string
	orgInstall                     bool
	published                      []PublishedView
	// workspaces are the workspaces an org-wide install was added to (auth.teams.list).
	workspaces []Workspace
	// teamCalls counts calls per method and team_id argument.
	teamCalls map[string]int
	// prof is the state of users.profile.set and users.profile.get (profile.go).
	prof profileState
}

// PublishedView is one views.publish call the stand-in accepted.
type PublishedView struct {
	// UserID is the user whose Home was published.
	UserID string
	// Type is the view's type ("home").
	Type string
	// View is the view as sent.
	View json.RawMessage
	// Text is every text of the view's blocks, joined by newlines.
	Text string
	// ActionIDs are the action_ids of the view's interactive elements.
	ActionIDs []string
}

// SetInstall makes auth.test report team, enterprise and whether the token
// is an org-wide install (default: TeamID, no enterprise, false).
func (a *API) SetInstall(team, enterprise string, orgWide bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.installTeam, a.installEnterprise, a.orgInstall = team, enterprise, orgWide
}

// Published returns the views.publish calls accepted so far, in order.
func (a *API) Published() []PublishedView {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]PublishedView(nil), a.published...)
}

// StartAPI starts a stand-in that accepts botToken, on loopback, closed when t ends.
func StartAPI(t testing.TB, botToken string) *API {
	t.Helper()
	a := &API{
		token: botToken,
		users: map[string]User{},
		fail:  map[string]*failure{},
		calls: map[string]int{},
		scope: DefaultScopes,

		teamCalls: map[string]int{},
		sock:      newSocketServer(),

		installTeam: TeamID,
	}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(a.sock.close) // runs first: ends the WebSocket connections
	a.URL = srv.URL + "/api/"
	return a
}

// Socket returns the Socket Mode WebSocket side of the stand-in, whose URLs
// apps.connections.open hands out.
func (a *API) Socket() *SocketServer { return a.sock }

// AddUser makes users.info know u (replacing a user with the same id).
func (a *API) AddUser(u User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[u.ID] = u
}

// FailNext makes the next n calls of method answer HTTP status, with a
// Retry-After header when retryAfter is not empty.
func (a *API) FailNext(method string, n int, status int, retryAfter string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail[method] = &failure{n: n, status: status, retryAfter: retryAfter}
}

// Calls counts the calls of method so far, failed ones included.
func (a *API) Calls(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[method]
}

// SetAppToken sets the app-level token apps.connections.open accepts.
func (a *API) SetAppToken(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.app = tok
}

// SetPageSize caps the page size of users.list (default: the client's limit).
func (a *API) SetPageSize(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.page = n
}

// SetScopes sets the scopes reported in the X-OAuth-Scopes header.
func (a *API) SetScopes(scopes ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scope = scopes
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/link/") {
		a.sock.serveWS(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	a.calls[method]++
	a.teamCalls[method+"\x00"+r.FormValue("team_id")]++
	f := a.fail[method]
	var fl failure
	if f != nil && f.n > 0 {
		f.n--
		fl = *f
	}
	scopes := strings.Join(a.scope, ",")
	appToken := a.app
	a.mu.Unlock()

	if fl.status != 0 {
		if fl.retryAfter != "" {
			w.Header().Set("Retry-After", fl.retryAfter)
		}
		if fl.status == http.StatusTooManyRequests {
			writeJSON(w, fl.status, map[string]any{"ok": false, "error": "ratelimited"})
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fl.status)
		_, _ = w.Write([]byte("<html><body>Slack is having trouble</body></html>"))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_supported"})
		return
	}
	// Like Slack, take the token as a bearer header or a form field, and
	// arguments as a form or (for methods that take it) a JSON body.
	var jsonBody []byte
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		jsonBody, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	_ = r.ParseForm()
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !bearer {
		tok = r.Form.Get("token")
	}
	if tok == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	if method == "apps.connections.open" {
		switch {
		case appToken == "" || tok == a.token:
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_allowed_token_type"})
		case tok != appToken:
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"ok": true,
				"url": "ws://" + r.Host + "/link/?ticket=" + a.sock.newTicket() + "&app_id=" + AppID})
		}
		return
	}
	if a.serveProfile(w, r, method, tok, jsonBody) {
		return
	}
	if tok != a.token {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	w.Header().Set("X-OAuth-Scopes", scopes)
	w.Header().Set("X-Accepted-OAuth-Scopes", acceptedScopes[method])

	switch method {
	case "auth.test":
		a.mu.Lock()
		team, enterprise, org := a.installTeam, a.installEnterprise, a.orgInstall
		a.mu.Unlock()
		ans := map[string]any{
			"ok":                    true,
			"url":                   "https://example.slack.com/",
			"team":                  "Example",
			"user":                  "statusbridge",
			"team_id":               team,
			"user_id":               BotUserID,
			"bot_id":                "B0BRIDGEBOT",
			"is_enterprise_install": org,
		}
		if enterprise != "" {
			ans["enterprise_id"] = enterprise
		}
		writeJSON(w, http.StatusOK, ans)
	case "views.publish":
		writeJSON(w, http.StatusOK, a.viewsPublish(r, jsonBody))
	case "users.info":
		id := r.Form.Get("user")
		a.mu.Lock()
		u, ok := a.users[id]
		a.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": userJSON(u, strings.Contains(scopes, "users:read.email"))})
	case "users.list":
		writeJSON(w, http.StatusOK, a.usersList(r, strings.Contains(scopes, "users:read.email")))
	case "auth.teams.list":
		writeJSON(w, http.StatusOK, a.authTeamsList(r))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

var acceptedScopes = map[string]string{"users.info": "users:read", "users.list": "users:read", "auth.test": "", "auth.teams.list": "", "views.publish": ""}

// viewsPublish checks and records a views.publish call
// (https://docs.slack.dev/reference/methods/views.publish): user_id and a
// view of type home, sent as JSON or as form fields.
func (a *API) viewsPublish(r *http.Request, jsonBody []byte) map[string]any {
	var req struct {
		UserID string          `json:"user_id"`
		View   json.RawMessage `json:"view"`
	}
	if jsonBody != nil {
		if json.Unmarshal(jsonBody, &req) != nil {
			return map[string]any{"ok": false, "error": "invalid_json"}
		}
	} else {
		req.UserID, req.View = r.Form.Get("user_id"), json.RawMessage(r.Form.Get("view"))
	}
	if req.UserID == "" || len(req.View) == 0 {
		return map[string]any{"ok": false, "error": "invalid_arguments"}
	}
	var view struct {
		Type   string `json:"type"`
		Blocks []any  `json:"blocks"`
	}
	if json.Unmarshal(req.View, &view) != nil || view.Type != "home" {
		return map[string]any{"ok": false, "error": "invalid_arguments"}
	}
	if len(view.Blocks) > 100 {
		return map[string]any{"ok": false, "error": "invalid_blocks"}
	}
	pv := PublishedView{UserID: req.UserID, Type: view.Type, View: req.View}
	var texts []string
	walk(view.Blocks, func(m map[string]any) {
		if t, ok := m["text"].(string); ok {
			texts = append(texts, t)
		}
		if id, ok := m["action_id"].(string); ok {
			pv.ActionIDs = append(pv.ActionIDs, id)
		}
	})
	pv.Text = strings.Join(texts, "\n")
	a.mu.Lock()
	a.published = append(a.published, pv)
	a.mu.Unlock()
	return map[string]any{"ok": true, "view": map[string]any{"id": "V0HOME0001", "type": "home", "hash": "1605664484.dd7d4a9b"}}
}

// walk calls fn for every JSON object inside v.
func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walk(e, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

// usersList serves one page of users.list, ordered by id, with Slack's
// opaque-cursor pagination. With an org-wide install it needs team_id and
// lists the members of that workspace only; a workspace install ignores
// team_id (https://docs.slack.dev/reference/methods/users.list).
func (a *API) usersList(r *http.Request, withEmail bool) map[string]any {
	a.mu.Lock()
	orgWide := a.orgInstall
	a.mu.Unlock()
	team := r.Form.Get("team_id")
	if orgWide && team == "" {
		return map[string]any{"ok": false, "error": "missing_argument"}
	}
	if !orgWide {
		team = ""
	}
	limit, err := strconv.Atoi(r.Form.Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 1000
	}
	after := ""
	if c := r.Form.Get("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(b), "user:") {
			return map[string]any{"ok": false, "error": "invalid_cursor"}
		}
		after = strings.TrimPrefix(string(b), "user:")
	}
	a.mu.Lock()
	if a.page > 0 && limit > a.page {
		limit = a.page
	}
	ids := make([]string, 0, len(a.users))
	for id, u := range a.users {
		if team == "" || u.memberOf(team) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	start := sort.SearchStrings(ids, after)
	members := []map[string]any{}
	next := ""
	for i := start; i < len(ids); i++ {
		if len(members) == limit {
			next = base64.StdEncoding.EncodeToString([]byte("user:" + ids[i]))
			break
		}
		members = append(members, userJSON(a.users[ids[i]], withEmail))
	}
	a.mu.Unlock()
	return map[string]any{
		"ok":                true,
		"members":           members,
		"cache_ts":          1734567890,
		"response_metadata": map[string]string{"next_cursor": next},
	}
}

func userJSON(u User, withEmail bool) map[string]any {
	name := strings.ToLower(u.ID)
	if at := strings.IndexByte(u.Email, '@'); at > 0 {
		name = u.Email[:at]
	}
	profile := map[string]any{
		"real_name":                 name,
		"display_name":              name,
		"status_text":               u.StatusText,
		"status_emoji":              u.StatusEmoji,
		"status_emoji_display_info": displayInfo(u.TeamID, u.StatusEmoji),
		"status_expiration":         u.StatusExpiration,
		"fields":                    []any{},
		"team":                      u.TeamID,
	}
	if withEmail && u.Email != "" && !u.Bot {
		profile["email"] = u.Email
	}
	if u.Bot {
		profile["bot_id"] = "B" + strings.TrimPrefix(u.ID, "U")
		profile["always_active"] = true
	}
	m := map[string]any{
		"id":                  u.ID,
		"team_id":             u.TeamID,
		"name":                name,
		"deleted":             u.Deleted,
		"real_name":           name,
		"tz":                  "Europe/Berlin",
		"tz_label":            "Central European Time",
		"tz_offset":           3600,
		"profile":             profile,
		"is_admin":            u.Admin || u.Owner || u.PrimaryOwner,
		"is_owner":            u.Owner || u.PrimaryOwner,
		"is_primary_owner":    u.PrimaryOwner,
		"is_restricted":       u.Restricted || u.UltraRestricted,
		"is_ultra_restricted": u.UltraRestricted,
		"is_bot":              u.Bot,
		"is_stranger":         u.Stranger,
		"is_app_user":         false,
		"updated":             1734567890,
		"is_email_confirmed":  u.Email != "",
	}
	if u.EnterpriseID != "" {
		m["enterprise_user"] = map[string]any{
			"id": u.ID, "enterprise_id": u.EnterpriseID, "enterprise_name": "Example Org",
			"is_admin": false, "is_owner": false, "is_primary_owner": false, "teams": u.teams(),
		}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
