package slacktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SignedForm returns a signed, form-encoded POST of form to url, as Slack
// sends slash commands and interactivity.
func SignedForm(url, secret string, ts time.Time, form url.Values) *http.Request {
	req := NewRequest(url, secret, ts, []byte(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// SlashCommand returns the fields Slack posts when userID of teamID runs
// /teams-status with text (https://docs.slack.dev/interactivity/implementing-slash-commands/).
// enterpriseID is set on Enterprise Grid.
func SlashCommand(teamID, enterpriseID, userID, text string) url.Values {
	f := url.Values{}
	f.Set("token", "gIkuvaNzQIHg97ATvDxqgjtO")
	f.Set("team_id", teamID)
	f.Set("team_domain", "example")
	if enterpriseID != "" {
		f.Set("enterprise_id", enterpriseID)
		f.Set("enterprise_name", "Example Org")
	}
	f.Set("channel_id", "C2147483705")
	f.Set("channel_name", "general")
	f.Set("user_id", userID)
	f.Set("user_name", strings.ToLower(userID))
	f.Set("command", "/teams-status")
	f.Set("text", text)
	f.Set("api_app_id", AppID)
	f.Set("is_enterprise_install", "false")
	f.Set("response_url", "https://hooks.slack.com/commands/"+teamID+"/1234567890/abcdefABCDEF")
	f.Set("trigger_id", "13345224609.738474920.8088930838d88f008e0")
	return f
}

// SlashCommandPayload is SlashCommand as the JSON object a Socket Mode
// slash_commands envelope carries.
func SlashCommandPayload(teamID, enterpriseID, userID, text string) []byte {
	m := map[string]string{}
	for k, v := range SlashCommand(teamID, enterpriseID, userID, text) {
		m[k] = v[0]
	}
	return mustJSON(m)
}

// BlockActions returns the block_actions payload Slack sends when userID of
// teamID clicks the App Home button actionID
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
// On Enterprise Grid (enterpriseID set), user.team_id is the org id, as Slack documents.
func BlockActions(teamID, enterpriseID, userID, actionID string) []byte {
	userTeam := teamID
	var enterprise any
	team := map[string]any{"id": teamID, "domain": "example"}
	if enterpriseID != "" {
		userTeam = enterpriseID
		enterprise = map[string]any{"id": enterpriseID, "name": "Example Org"}
		team["enterprise_id"] = enterpriseID
		team["enterprise_name"] = "Example Org"
	}
	return mustJSON(map[string]any{
		"type": "block_actions",
		"user": map[string]any{
			"id": userID, "username": strings.ToLower(userID), "name": strings.ToLower(userID), "team_id": userTeam,
		},
		"api_app_id":            AppID,
		"token":                 "9s8d9as89d8as9d8as989",
		"container":             map[string]any{"type": "view", "view_id": "V0HOME0001"},
		"trigger_id":            "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
		"team":                  team,
		"enterprise":            enterprise,
		"is_enterprise_install": false,
		"view": map[string]any{
			"id": "V0HOME0001", "team_id": teamID, "type": "home", "blocks": []any{},
			"private_metadata": "", "callback_id": "", "hash": "1605664484.dd7d4a9b",
			"app_id": AppID, "bot_id": "B0BRIDGEBOT",
		},
		"actions": []map[string]any{{
			"action_id": actionID,
			"block_id":  "statusbridge_controls",
			"text":      map[string]any{"type": "plain_text", "text": "Pause", "emoji": true},
			"value":     strings.TrimPrefix(actionID, "statusbridge_"),
			"type":      "button",
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), 123456),
		}},
	})
}

// InteractionForm wraps an interactivity payload the way Slack posts it over
// HTTP: one form field, payload.
func InteractionForm(payload []byte) url.Values {
	return url.Values{"payload": {string(payload)}}
}
