package slackhandler

import "strings"

// OrgFilter decides whether a Slack workspace (teamID, T…) or Enterprise Grid
// org (enterpriseID, E…) is one the bridge serves; either may be empty.
type OrgFilter func(teamID, enterpriseID string) bool

// OrgAllows returns a filter that allows the listed ids: an id starting with
// T matches the workspace, one starting with E matches the Enterprise Grid
// org. An empty list allows nothing.
func OrgAllows(ids []string) func(teamID, enterpriseID string) bool {
	teams, orgs := map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case strings.HasPrefix(id, "T"):
			teams[id] = true
		case strings.HasPrefix(id, "E"):
			orgs[id] = true
		}
	}
	return func(team, enterprise string) bool {
		return (team != "" && teams[team]) || (enterprise != "" && orgs[enterprise])
	}
}

// UserOrg is the org of the user a user event is about: the user object's
// team_id and enterprise_user.enterprise_id; when the user object names no
// team, the envelope's team_id and enterprise_id. A team_id that is an
// Enterprise Grid org id (E…) counts as the enterprise.
func (e Event) UserOrg() (teamID, enterpriseID string) {
	if e.User == nil {
		return e.TeamID, e.EnterpriseID
	}
	team, enterprise := e.User.TeamID, e.User.EnterpriseID
	if team == "" {
		team = e.TeamID
		if enterprise == "" {
			enterprise = e.EnterpriseID
		}
	}
	return splitOrg(team, enterprise)
}

// splitOrg moves an Enterprise Grid org id given as a team id to the enterprise.
func splitOrg(team, enterprise string) (string, string) {
	if strings.HasPrefix(team, "E") {
		if enterprise == "" {
			enterprise = team
		}
		team = ""
	}
	return team, enterprise
}

// allowed applies filter (nil allows every org) to a user's org; a Slack
// Connect stranger is never allowed when a filter is set.
func allowed(filter OrgFilter, team, enterprise string, stranger bool) bool {
	if filter == nil {
		return true
	}
	return !stranger && filter(team, enterprise)
}
