// Package slacktest stands in for Slack in statusbridge's tests: it signs
// Events API, slash command and interactivity requests (with
// slackhandler.Sign, the one signing function), builds realistic payloads,
// and serves a local Web API (users.info, users.list, auth.test,
// views.publish, apps.connections.open, users.profile.set and
// users.profile.get with an admin's user token) with the Socket Mode
// WebSocket behind it. Besides the standard library and slackhandler it uses only
// gorilla/websocket.
package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/slackhandler"
)

// Sign returns the X-Slack-Request-Timestamp and X-Slack-Signature headers
// Slack would send for body at ts.
func Sign(secret string, ts time.Time, body []byte) (tsHeader, sigHeader string) {
	return strconv.FormatInt(ts.Unix(), 10), slackhandler.Sign(secret, ts.Unix(), body)
}

// NewRequest returns a signed Events API POST of body to url.
func NewRequest(url, secret string, ts time.Time, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("slacktest: bad url %q: %v", url, err))
	}
	tsh, sig := Sign(secret, ts, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", tsh)
	req.Header.Set("X-Slack-Signature", sig)
	return req
}

// URLVerification returns the url_verification payload Slack sends when the
// request URL is configured.
func URLVerification(challenge string) []byte {
	return mustJSON(map[string]any{
		"token":     "Jhj5dZrVaK7ZwHHjRyZWjbDl",
		"challenge": challenge,
		"type":      "url_verification",
	})
}

// AppRateLimited returns the payload Slack sends when it drops an app's events.
func AppRateLimited(teamID string, minute time.Time) []byte {
	return mustJSON(map[string]any{
		"token":               "Jhj5dZrVaK7ZwHHjRyZWjbDl",
		"type":                "app_rate_limited",
		"team_id":             teamID,
		"minute_rate_limited": minute.Truncate(time.Minute).Unix(),
		"api_app_id":          AppID,
	})
}

// AppID is the app id in generated payloads.
const AppID = "A0STATUSBR1"

// standard maps the shortcodes generated payloads know to Slack's unicode
// form; anything else is rendered as a custom emoji (an image only).
var standard = map[string]string{
	"palm_tree":             "1f334",
	"spiral_calendar_pad":   "1f5d3-fe0f",
	"calendar":              "1f4c6",
	"face_with_thermometer": "1f912",
	"house_with_garden":     "1f3e1",
	"car":                   "1f697",
	"train2":                "1f686",
	"mountain_railway":      "1f69e",
	"headphones":            "1f3a7",
	"coffee":                "2615",
	"hamburger":             "1f354",
	"airplane":              "2708-fe0f",
	"sunny":                 "2600-fe0f",
	"no_entry":              "26d4",
	"zzz":                   "1f4a4",
	"tada":                  "1f389",
	"+1":                    "1f44d",
	"heart":                 "2764-fe0f",
	"construction":          "1f6a7",
	"computer":              "1f4bb",
	"wave":                  "1f44b",
	"v":                     "270c-fe0f",
	"male-technologist":     "1f468-200d-1f4bb",
	"flag-us":               "1f1fa-1f1f8",
	"flag-de":               "1f1e9-1f1ea",
}

var toned = regexp.MustCompile(`^:([^:\s]+):(?::skin-tone-([2-6]):)?$`)

// displayInfo builds status_emoji_display_info the way Slack does for emoji.
func displayInfo(teamID, emoji string) []map[string]string {
	m := toned.FindStringSubmatch(emoji)
	if m == nil {
		return []map[string]string{}
	}
	name, tone := m[1], m[2]
	uni, ok := standard[name]
	if !ok {
		h := fnv.New64a()
		h.Write([]byte(name))
		return []map[string]string{{
			"emoji_name":  name,
			"display_url": fmt.Sprintf("https://emoji.slack-edge.com/%s/%s/%016x.png", teamID, name, h.Sum64()),
		}}
	}
	if tone != "" {
		n, _ := strconv.Atoi(tone)
		cps := strings.Split(uni, "-")
		if len(cps) > 1 && cps[1] == "fe0f" {
			cps = append(cps[:1], cps[2:]...)
		}
		uni = strings.Join(append([]string{cps[0], strconv.FormatInt(int64(0x1f3fb+n-2), 16)}, cps[1:]...), "-")
		name += "::skin-tone-" + tone
	}
	return []map[string]string{{
		"emoji_name":  name,
		"display_url": "https://a.slack-edge.com/production-standard-emoji-assets/14.0/apple-large/" + uni + ".png",
		"unicode":     uni,
	}}
}

// StatusEvent returns a signed-ready event_callback payload of type eventType
// ("user_status_changed" or "user_change") for a user whose status is now
// text/emoji until expiration (Unix seconds, 0 = never). Like Slack, it sends
// "fields" sometimes as [], sometimes as an object (chosen by eventID).
func StatusEvent(eventType, eventID, teamID, userID string, eventTime time.Time, text, emoji string, expiration int64) []byte {
	return mustJSON(statusEvent(eventType, eventID, teamID, userID, eventTime, text, emoji, expiration))
}

// GridStatusEvent is StatusEvent on Enterprise Grid: the envelope carries
// envelopeTeam and enterpriseID, the user object userTeam as its team_id and
// enterpriseID in enterprise_user. An empty userTeam leaves the user's
// team_id out, as Slack does for some users of other workspaces of the org.
func GridStatusEvent(eventType, eventID, envelopeTeam, enterpriseID, userTeam, userID string, eventTime time.Time, text, emoji string, expiration int64) []byte {
	p := statusEvent(eventType, eventID, envelopeTeam, userID, eventTime, text, emoji, expiration)
	p["enterprise_id"] = enterpriseID
	p["authorizations"].([]map[string]any)[0]["enterprise_id"] = enterpriseID
	user := p["event"].(map[string]any)["user"].(map[string]any)
	if userTeam == "" {
		delete(user, "team_id")
	} else {
		user["team_id"] = userTeam
	}
	if enterpriseID != "" {
		user["enterprise_user"] = map[string]any{
			"id": userID, "enterprise_id": enterpriseID, "enterprise_name": "Example Org",
			"is_admin": false, "is_owner": false, "is_primary_owner": false, "teams": []string{userTeam},
		}
	}
	return mustJSON(p)
}

// DeactivatedEvent returns the user_change Slack sends when userID was
// deactivated: the user object carries deleted: true.
func DeactivatedEvent(eventID, teamID, userID string, eventTime time.Time) []byte {
	p := statusEvent(TypeUserChange, eventID, teamID, userID, eventTime, "", "", 0)
	p["event"].(map[string]any)["user"].(map[string]any)["deleted"] = true
	return mustJSON(p)
}

// StrangerEvent returns a user_change for userID of another organisation
// (Slack Connect): the user's team_id is foreignTeam and is_stranger is true.
func StrangerEvent(eventID, teamID, foreignTeam, userID string, eventTime time.Time, text, emoji string) []byte {
	p := statusEvent(TypeUserChange, eventID, teamID, userID, eventTime, text, emoji, 0)
	user := p["event"].(map[string]any)["user"].(map[string]any)
	user["team_id"] = foreignTeam
	user["is_stranger"] = true
	return mustJSON(p)
}

// Event types the generators use.
const (
	TypeUserChange        = "user_change"
	TypeUserStatusChanged = "user_status_changed"
)

// AppHomeOpened returns the app_home_opened event Slack sends when userID
// opens the app's tab ("home", "messages", "about").
func AppHomeOpened(eventID, teamID, enterpriseID, userID, tab string, eventTime time.Time) []byte {
	ts := eventTime.Unix()
	p := map[string]any{
		"token":      "XXYYZZ",
		"team_id":    teamID,
		"api_app_id": AppID,
		"event": map[string]any{
			"type":     "app_home_opened",
			"user":     userID,
			"channel":  "D0HOME" + strings.TrimPrefix(userID, "U"),
			"tab":      tab,
			"event_ts": fmt.Sprintf("%d.%06d", ts, eventTime.Nanosecond()/1000),
		},
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": ts,
		"authorizations": []map[string]any{{
			"enterprise_id": nilIfEmpty(enterpriseID), "team_id": teamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
	}
	if enterpriseID != "" {
		p["enterprise_id"] = enterpriseID
	}
	return mustJSON(p)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func statusEvent(eventType, eventID, teamID, userID string, eventTime time.Time, text, emoji string, expiration int64) map[string]any {
	h := fnv.New32a()
	h.Write([]byte(eventID))
	var fields any
	switch h.Sum32() % 3 {
	case 0:
		fields = []any{}
	case 1:
		fields = map[string]any{}
	default:
		fields = map[string]any{"Xf01ABCDEF": map[string]string{"value": "Engineering", "alt": ""}}
	}
	name := strings.ToLower(userID)
	profile := map[string]any{
		"title":                     "",
		"phone":                     "",
		"skype":                     "",
		"real_name":                 "Test User " + userID,
		"real_name_normalized":      "Test User " + userID,
		"display_name":              name,
		"display_name_normalized":   name,
		"fields":                    fields,
		"status_text":               text,
		"status_emoji":              emoji,
		"status_emoji_display_info": displayInfo(teamID, emoji),
		"status_expiration":         expiration,
		"status_text_canonical":     "",
		"avatar_hash":               "g12345678910",
		"first_name":                "Test",
		"last_name":                 "User",
		"image_24":                  "https://secure.gravatar.com/avatar/cb0c2b2ca5e8de16be31a55a734d0f31.jpg?s=24",
		"image_72":                  "https://secure.gravatar.com/avatar/cb0c2b2ca5e8de16be31a55a734d0f31.jpg?s=72",
		"team":                      teamID,
	}
	user := map[string]any{
		"id":                         userID,
		"team_id":                    teamID,
		"name":                       name,
		"deleted":                    false,
		"color":                      "4bbe2e",
		"real_name":                  "Test User " + userID,
		"tz":                         "Europe/Berlin",
		"tz_label":                   "Central European Time",
		"tz_offset":                  3600,
		"profile":                    profile,
		"is_admin":                   false,
		"is_owner":                   false,
		"is_primary_owner":           false,
		"is_restricted":              false,
		"is_ultra_restricted":        false,
		"is_bot":                     false,
		"is_app_user":                false,
		"updated":                    eventTime.Unix(),
		"is_email_confirmed":         true,
		"who_can_share_contact_card": "EVERYONE",
		"locale":                     "en-US",
	}
	ts := eventTime.Unix()
	return map[string]any{
		"token":      "XXYYZZ",
		"team_id":    teamID,
		"api_app_id": AppID,
		"event": map[string]any{
			"type":     eventType,
			"user":     user,
			"cache_ts": ts,
			"event_ts": fmt.Sprintf("%d.%06d", ts, eventTime.Nanosecond()/1000),
		},
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": ts,
		"authorizations": []map[string]any{{
			"enterprise_id":         nil,
			"team_id":               teamID,
			"user_id":               BotUserID,
			"is_bot":                true,
			"is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-eyJldCI6InVzZXJfc3RhdHVzX2NoYW5nZWQiLCJ0aWQiOiJUMTIzIn0",
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
