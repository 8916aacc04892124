package mapping

import (
	"github.com/statusbridge/statusbridge/bridge"
)

// SlackbotID is the user id of Slack's built-in Slackbot, which is never mirrored.
const SlackbotID = "USLACKBOT"

// Mirrored reports whether the bridge mirrors a Slack user's status, and
// why not when it does not. A mirrored user is not a bot or Slackbot, not
// deleted, not a Slack Connect user of another organisation (is_stranger),
// has a profile email, and, when allowOrg is non-nil, belongs to a workspace
// (team) or Enterprise Grid org that allowOrg accepts. Guests are mirrored.
func Mirrored(u bridge.SlackUser, allowOrg func(team, enterprise string) bool) (ok bool, why string) {
	switch {
	case u.ID == SlackbotID:
		return false, "Slackbot"
	case u.Bot:
		return false, "bot user"
	case u.Deleted:
		return false, "deleted in Slack"
	case u.External:
		return false, "Slack Connect user from another organisation"
	case allowOrg != nil && !allowOrg(u.TeamID, u.EnterpriseID):
		return false, "Slack workspace " + orNone(u.TeamID) + " (org " + orNone(u.EnterpriseID) + ") is not an allowed workspace or org"
	case u.Email == "":
		return false, "no email in Slack (the app needs the users:read.email scope)"
	}
	return true, ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
