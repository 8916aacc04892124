package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Workspace is a workspace of an Enterprise Grid org that auth.teams.list reports.
type Workspace struct {
	ID, Name string
}

// SetWorkspaces sets the workspaces an org-wide install was added to, which
// auth.teams.list lists in this order. A workspace install lists its own
// workspace whatever is set here.
func (a *API) SetWorkspaces(ws ...Workspace) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.workspaces = append([]Workspace(nil), ws...)
}

// CallsForTeam counts the calls of method so far whose team_id argument was
// team ("" counts the calls without one), failed ones included.
func (a *API) CallsForTeam(method, team string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.teamCalls[method+"\x00"+team]
}

// memberOf says whether u belongs to workspace team.
func (u User) memberOf(team string) bool {
	return slices.Contains(u.teams(), team)
}

// teams is enterprise_user.teams: Teams, or TeamID alone.
func (u User) teams() []string {
	if len(u.Teams) > 0 {
		return u.Teams
	}
	return []string{u.TeamID}
}

// authTeamsList serves one page of auth.teams.list
// (https://docs.slack.dev/reference/methods/auth.teams.list): the workspaces
// an org-wide install was added to, or the one workspace of a workspace
// install, with cursor pagination (limit default 100, at most 1000).
func (a *API) authTeamsList(r *http.Request) map[string]any {
	limit := 100
	if s := r.Form.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 1000 {
			return map[string]any{"ok": false, "error": "invalid_limit"}
		}
		limit = n
	}
	start := 0
	if c := r.Form.Get("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		n, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "team:"))
		if err != nil || aerr != nil || !strings.HasPrefix(string(b), "team:") || n < 0 {
			return map[string]any{"ok": false, "error": "invalid_cursor"}
		}
		start = n
	}
	a.mu.Lock()
	if a.page > 0 && limit > a.page {
		limit = a.page
	}
	ws := a.workspaces
	if !a.orgInstall {
		ws = []Workspace{{ID: a.installTeam, Name: "Example"}}
	}
	teams := []map[string]any{}
	next := ""
	for i := start; i < len(ws); i++ {
		if len(teams) == limit {
			next = base64.StdEncoding.EncodeToString([]byte("team:" + strconv.Itoa(i)))
			break
		}
		teams = append(teams, map[string]any{"id": ws[i].ID, "name": ws[i].Name})
	}
	a.mu.Unlock()
	return map[string]any{"ok": true, "teams": teams, "response_metadata": map[string]string{"next_cursor": next}}
}

// OrgWideStatusEvent is GridStatusEvent as an org-wide install receives it:
// the authorization is the org's (is_enterprise_install: true, no team_id)
// while the envelope's team_id names the workspace the event comes from
// (https://api.slack.com/enterprise/apps/changes-apis).
func OrgWideStatusEvent(eventType, eventID, envelopeTeam, enterpriseID, userTeam, userID string, eventTime time.Time, text, emoji string, expiration int64) []byte {
	var p map[string]any
	if err := json.Unmarshal(GridStatusEvent(eventType, eventID, envelopeTeam, enterpriseID, userTeam, userID, eventTime, text, emoji, expiration), &p); err != nil {
		panic(err)
	}
	for _, au := range p["authorizations"].([]any) {
		m := au.(map[string]any)
		m["is_enterprise_install"] = true
		m["team_id"] = nil
	}
	return mustJSON(p)
}
