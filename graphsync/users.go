package graphsync

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	abs "github.com/microsoft/kiota-abstractions-go"
	graphmodels "github.com/microsoftgraph/msgraph-sdk-go/models"
	graphusers "github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/statusbridge/statusbridge/bridge"
)

const (
	opGetUser    = "get user"
	opListUsers  = "list users"
	opProbe      = "probe"
	maxLookedUp  = 10
	smtpPrefix   = "smtp:"
	eventualHdr  = "ConsistencyLevel"
	eventualVal  = "eventual"
	selectFields = "id,userPrincipalName,mail,accountEnabled"
)

var userSelect = strings.Split(selectFields, ",")

// UserByID looks up an Entra user by object id or userPrincipalName. An
// unknown user gives a *bridge.PermanentError that matches bridge.ErrNotFound.
// So does a 400 for a userPrincipalName: Graph refuses some keys in the path
// (one starting with $, see https://learn.microsoft.com/graph/api/user-get),
// and such a user can still be found by mail or proxy address.
// Needs the application permission User.Read.All.
func (c *Client) UserByID(ctx context.Context, idOrUPN string) (bridge.EntraUser, error) {
	if strings.TrimSpace(idOrUPN) == "" {
		return bridge.EntraUser{}, &bridge.PermanentError{Reason: "graph get user: empty id", Err: errors.New("empty id")}
	}
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	u, err := c.graph.Users().ByUserId(idOrUPN).Get(ctx, &graphusers.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &graphusers.UserItemRequestBuilderGetQueryParameters{Select: userSelect},
	})
	if err := c.classify(opGetUser, err, ci); err != nil {
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && !isGUID(strings.TrimSpace(idOrUPN)) {
			return bridge.EntraUser{}, &bridge.PermanentError{
				Reason: ge.Error() + " (Graph refused the name as a path key; look it up by mail instead)",
				Err:    errors.Join(ge, bridge.ErrNotFound),
			}
		}
		return bridge.EntraUser{}, err
	}
	if u == nil || u.GetId() == nil {
		return bridge.EntraUser{}, &bridge.TransientError{Reason: "graph get user: answer without an id", Err: errors.New("no id")}
	}
	return entraUser(u), nil
}

// UsersByMail lists the Entra users whose mail property equals mail
// (GET /users?$filter=mail eq '…'); none is an empty slice and a nil error.
func (c *Client) UsersByMail(ctx context.Context, mail string) ([]bridge.EntraUser, error) {
	if strings.TrimSpace(mail) == "" {
		return nil, &bridge.PermanentError{Reason: "graph list users: empty mail", Err: errors.New("empty mail")}
	}
	return c.listUsers(ctx, "mail eq "+odataString(mail), false)
}

// UsersByProxyAddress lists the Entra users holding addr among their
// proxyAddresses ("smtp:" is added unless addr carries a prefix). The filter
// is an advanced query, sent with ConsistencyLevel: eventual and $count=true.
// See https://learn.microsoft.com/graph/aad-advanced-queries.
func (c *Client) UsersByProxyAddress(ctx context.Context, addr string) ([]bridge.EntraUser, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, &bridge.PermanentError{Reason: "graph list users: empty address", Err: errors.New("empty address")}
	}
	if !strings.HasPrefix(strings.ToLower(addr), smtpPrefix) {
		addr = smtpPrefix + addr
	}
	return c.listUsers(ctx, "proxyAddresses/any(x:x eq "+odataString(addr)+")", true)
}

// odataString quotes s as an OData string literal, doubling single quotes.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// listUsers runs GET /users?$filter=… and returns the first page, at most maxLookedUp users.
func (c *Client) listUsers(ctx context.Context, filter string, advanced bool) ([]bridge.EntraUser, error) {
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	top := int32(maxLookedUp)
	q := &graphusers.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userSelect, Top: &top}
	conf := &graphusers.UsersRequestBuilderGetRequestConfiguration{QueryParameters: q}
	if advanced {
		count := true
		q.Count = &count
		h := abs.NewRequestHeaders()
		h.Add(eventualHdr, eventualVal)
		conf.Headers = h
	}
	resp, err := c.graph.Users().Get(ctx, conf)
	if err := c.classify(opListUsers, err, ci); err != nil {
		return nil, err
	}
	out := []bridge.EntraUser{}
	if resp == nil {
		return out, nil
	}
	for _, u := range resp.GetValue() {
		if u != nil && u.GetId() != nil {
			out = append(out, entraUser(u))
		}
	}
	return out, nil
}

// Probe obtains a token and makes a harmless read (GET /users?$top=1&$select=id),
// returning the classified error; a 403 names the missing permission.
func (c *Client) Probe(ctx context.Context) error {
	ctx, ci, cancel := c.begin(ctx)
	defer cancel()
	top := int32(1)
	_, err := c.graph.Users().Get(ctx, &graphusers.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &graphusers.UsersRequestBuilderGetQueryParameters{Top: &top, Select: []string{"id"}},
	})
	return c.classify(opProbe, err, ci)
}

func entraUser(u graphmodels.Userable) bridge.EntraUser {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return bridge.EntraUser{
		ID:                deref(u.GetId()),
		UserPrincipalName: deref(u.GetUserPrincipalName()),
		Mail:              deref(u.GetMail()),
		AccountEnabled:    u.GetAccountEnabled(),
	}
}

// Roles obtains a Graph token and reports the application permissions it
// carries (the "roles" claim of Entra's app-only tokens), so that doctor can
// check Presence.ReadWrite.All without writing anyone's status. known is
// false when the token is not a JWT with a roles claim.
func (c *Client) Roles(ctx context.Context) (roles []string, known bool, err error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return nil, false, c.classify(opProbe, err, &callInfo{})
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return nil, false, nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false, nil
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Roles == nil {
		return nil, false, nil
	}
	return *claims.Roles, true, nil
}
