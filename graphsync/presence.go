package graphsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	graphcommunications "github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

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
			id, ok := asked[strings.ToLower(p.ID)]
			if !ok {
				continue
			}
			content, set := p.statusContent()
			if !set && p.Availability == presenceUnknown {
				continue
			}
			out[id] = content
		}
	}
	return out, nil
}

// presence is the part of a presence object the bridge reads.
type presence struct {
	ID            string `json:"id"`
	Availability  string `json:"availability"`
	StatusMessage *struct {
		Message *struct {
			Content     string `json:"content"`
			ContentType string `json:"contentType"`
		} `json:"message"`
	} `json:"statusMessage"`
}

// statusContent returns the presence's status message as plain text, and
// whether the presence carried a message at all.
func (p presence) statusContent() (string, bool) {
	if p.StatusMessage == nil || p.StatusMessage.Message == nil {
		return "", false
	}
	m := p.StatusMessage.Message
	return PlainText(m.Content, m.ContentType), true
}

// getPresences makes one getPresencesByUserId call. The request goes through
// the SDK (authentication, its middleware, error mapping); the answer, up to 650
// presence objects, is decoded into the few fields the bridge reads, which
// costs a fraction of the SDK's full model (a read of 650 came to about as
// much CPU as a hundred status writes).
func (c *Client) getPresences(ctx context.Context, ids []string) ([]presence, error) {
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	body := graphcommunications.NewGetPresencesByUserIdPostRequestBody()
	body.SetIds(ids)
	rb := c.graph.Communications().GetPresencesByUserId()
	req, err := rb.ToPostRequestInformation(ctx, body, nil)
	if err != nil {
		return nil, &bridge.PermanentError{Reason: "graph " + opGetPresences + ": " + err.Error(), Err: err}
	}
	errorMapping := abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	raw, err := rb.BaseRequestBuilder.RequestAdapter.SendPrimitive(ctx, req, "[]byte", errorMapping)
	if err := c.classify(opGetPresences, err, ci); err != nil {
		return nil, err
	}
	b, _ := raw.([]byte)
	if len(b) == 0 {
		return nil, &bridge.TransientError{Reason: "graph " + opGetPresences + ": answer without a body", Err: errors.New("no body")}
	}
	var answer struct {
		Value []presence `json:"value"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, &bridge.TransientError{Reason: fmt.Sprintf("graph %s: %d: unreadable answer: %s", opGetPresences, ci.status, firstLine(err.Error())), Err: err}
	}
	return answer.Value, nil
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
