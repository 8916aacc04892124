package graphsync

import (
	"context"
	"errors"
	"time"

	graphmodels "github.com/microsoftgraph/msgraph-sdk-go/models"
	graphusers "github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/statusbridge/statusbridge/bridge"
)

const opSetStatus = "setStatusMessage"

// expiryLayout formats an expiry for Graph's dateTimeTimeZone: no offset, the
// zone goes in timeZone. See https://learn.microsoft.com/graph/api/presence-setstatusmessage.
const expiryLayout = "2006-01-02T15:04:05"

// SetStatusMessage sets the Teams status message of the Entra user entraID.
// An empty m.Content clears the message; a zero m.Expiry means it never expires.
func (c *Client) SetStatusMessage(ctx context.Context, entraID string, m bridge.Message) error {
	if entraID == "" {
		return &bridge.PermanentError{Reason: "graph setStatusMessage: empty user id", Err: errors.New("empty user id")}
	}
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	err := c.graph.Users().ByUserId(entraID).Presence().SetStatusMessage().Post(ctx, statusBody(m), nil)
	return c.classify(opSetStatus, err, ci)
}

// statusBody builds the request body:
// {"statusMessage":{"message":{"content":…,"contentType":"text"},"expiryDateTime":{"dateTime":…,"timeZone":"UTC"}}}.
func statusBody(m bridge.Message) *graphusers.ItemPresenceSetStatusMessagePostRequestBody {
	content := m.Content
	contentType := graphmodels.TEXT_BODYTYPE
	msg := graphmodels.NewItemBody()
	msg.SetContent(&content)
	msg.SetContentType(&contentType)

	sm := graphmodels.NewPresenceStatusMessage()
	sm.SetMessage(msg)
	if !m.Expiry.IsZero() {
		dateTime := m.Expiry.UTC().Format(expiryLayout)
		zone := "UTC"
		exp := graphmodels.NewDateTimeTimeZone()
		exp.SetDateTime(&dateTime)
		exp.SetTimeZone(&zone)
		sm.SetExpiryDateTime(exp)
	}
	body := graphusers.NewItemPresenceSetStatusMessagePostRequestBody()
	body.SetStatusMessage(sm)
	return body
}

// expiryString is the dateTime Graph receives for t (exposed to tests).
func expiryString(t time.Time) string { return t.UTC().Format(expiryLayout) }
