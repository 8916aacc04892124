package graphsync

import (
	"context"
	"errors"
	"html"
	"regexp"
	"strings"

	graphcommunications "github.com/microsoftgraph/msgraph-sdk-go/communications"
	graphmodels "github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/statusbridge/statusbridge/bridge"
)

const opGetPresences = "getPresencesByUserId"

// MaxPresenceIDs is the most user ids one getPresencesByUserId call takes.
// See https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid.
const MaxPresenceIDs = 650

// presenceUnknown is the availability Graph reports for an account without presence.
const presenceUnknown = "PresenceUnknown"

var _ bridge.PresenceReader = (*Client)(nil)

// StatusMessages reads what Teams shows as the status message of each Entra
// id, as plain text ("" for none), through POST
// /communications/getPresencesByUserId, one call per MaxPresenceIDs ids.
// Needs the application permission Presence.Read.All (or Presence.ReadWrite.All).
//
// Graph answers with one presence object per user it knows:
// {"value":[{"id":…,"availability":…,"activity":…,"statusMessage":{"message":{"content":…,"contentType":…}}}]}.
// statusMessage is null or absent when the user set none, and for another
// user's presence it never carries expiryDateTime or publishedDateTime
// (https://learn.microsoft.com/graph/api/resources/presencestatusmessage).
// The docs say nothing of ids Graph does not know; they may be left out of
// the answer or come back with availability "PresenceUnknown". Both read as
// unknown here: such an id is missing from the map, as is any id that is not
// an object id (a GUID), which is never sent, so that it cannot fail the
// other ids of its call.
//
// Failures are classified like every other call (429 → *bridge.ThrottledError,
// 5xx and network → *bridge.TransientError, 400/403 → *bridge.PermanentError).
// On a failure the map holds what the calls before it read.
func (c *Client) StatusMessages(ctx context.Context, entraIDs []string) (map[string]string, error) {
	out := map[string]string{}
	asked := map[string]string{} // lower-case id → the caller's spelling
	var ids []string
	for _, id := range entraIDs {
		id = strings.TrimSpace(id)
		key := strings.ToLower(id)
		if !isGUID(id) || asked[key] != "" {
			continue
		}
		asked[key] = id
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		n := min(len(ids), MaxPresenceIDs)
		chunk := ids[:n]
		ids = ids[n:]
		if err := ctx.Err(); err != nil {
			return out, &bridge.TransientError{Reason: "graph " + opGetPresences + ": " + err.Error(), Err: err}
		}
		presences, err := c.getPresences(ctx, chunk)
		if err != nil {
			return out, err
		}
		for _, p := range presences {
			if p == nil || p.GetId() == nil {
				continue
			}
			id, ok := asked[strings.ToLower(*p.GetId())]
			if !ok {
				continue
			}
			content, set := statusContent(p.GetStatusMessage())
			if !set && deref(p.GetAvailability()) == presenceUnknown {
				continue
			}
			out[id] = content
		}
	}
	return out, nil
}

// getPresences makes one getPresencesByUserId call.
func (c *Client) getPresences(ctx context.Context, ids []string) ([]graphmodels.Presenceable, error) {
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	body := graphcommunications.NewGetPresencesByUserIdPostRequestBody()
	body.SetIds(ids)
	resp, err := c.graph.Communications().GetPresencesByUserId().PostAsGetPresencesByUserIdPostResponse(ctx, body, nil)
	if err := c.classify(opGetPresences, err, ci); err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, &bridge.TransientError{Reason: "graph " + opGetPresences + ": answer without a body", Err: errors.New("no body")}
	}
	return resp.GetValue(), nil
}

// statusContent returns a presence's status message as plain text, and
// whether the presence carried a message at all.
func statusContent(sm graphmodels.PresenceStatusMessageable) (string, bool) {
	if sm == nil || sm.GetMessage() == nil {
		return "", false
	}
	m := sm.GetMessage()
	contentType := ""
	if t := m.GetContentType(); t != nil {
		contentType = t.String()
	}
	return PlainText(deref(m.GetContent()), contentType), true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tagRE    = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>`)
	entityRE = regexp.MustCompile(`&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});`)
)

// isGUID reports whether s looks like an Entra object id.
func isGUID(s string) bool { return guidRE.MatchString(s) }

// breakTags become a space when a message is turned into plain text.
var breakTags = map[string]bool{"br": true, "p": true, "div": true, "li": true, "tr": true, "td": true}

// PlainText turns a status message's content into the plain text Teams
// shows. Content of type html, or any content holding tags or character
// references (a message a person typed in Teams can come back as HTML, for
// example "<p>Out sick &amp; offline</p>"), loses its tags (<br>, <p> and
// other block tags become spaces), has its references decoded (&amp;,
// &nbsp;, &#39;, …) and its white space collapsed and trimmed. Plain text
// without tags or references comes back unchanged.
func PlainText(content, contentType string) string {
	if !strings.EqualFold(contentType, "html") && !tagRE.MatchString(content) && !entityRE.MatchString(content) {
		return content
	}
	s := tagRE.ReplaceAllStringFunc(content, func(tag string) string {
		if breakTags[strings.ToLower(tagRE.FindStringSubmatch(tag)[2])] {
			return " "
		}
		return ""
	})
	s = html.UnescapeString(s)
	// strings.Fields splits at U+00A0 (from &nbsp;) as well.
	return strings.Join(strings.Fields(s), " ")
}

// CanReadPresence reports whether an app-only token's roles allow reading
// presence (Presence.Read.All or Presence.ReadWrite.All), as Roles returns them.
func CanReadPresence(roles []string) bool {
	return hasRole(roles, "Presence.Read.All") || hasRole(roles, "Presence.ReadWrite.All")
}

// CanWritePresence reports whether an app-only token's roles allow setting
// status messages (Presence.ReadWrite.All).
func CanWritePresence(roles []string) bool { return hasRole(roles, "Presence.ReadWrite.All") }

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if strings.EqualFold(strings.TrimSpace(r), want) {
			return true
		}
	}
	return false
}
