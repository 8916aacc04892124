package graphsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
)

const (
	alice = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
	bob   = "0b6a3c1d-2e4f-4a5b-8c7d-9e0f1a2b3c4d"
)

// envOf turns KEY=VALUE pairs into a getenv function; later pairs win.
func envOf(pairs ...[]string) func(string) string {
	m := map[string]string{}
	for _, ps := range pairs {
		for _, p := range ps {
			k, v, _ := strings.Cut(p, "=")
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// loopbackClient trusts the stand-in's CA and refuses to dial anything but loopback.
func loopbackClient(t *testing.T, fg *fakegraph.Server) *http.Client {
	c := fg.Client()
	tr := c.Transport.(*http.Transport)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("attempt to dial non-loopback address %s", addr)
			return nil, fmt.Errorf("non-loopback address %s refused", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return c
}

func start(t *testing.T) *fakegraph.Server {
	t.Helper()
	fg := fakegraph.Start(t)
	fg.AddUser(fakegraph.User{ID: alice, UPN: "alice@contoso.example", Mail: "alice@contoso.example",
		ProxyAddresses: []string{"SMTP:alice@contoso.example", "smtp:ally@fabrikam.example"}})
	fg.AddUser(fakegraph.User{ID: bob, UPN: "bob@contoso.example", Mail: "o'brien@contoso.example", Disabled: true,
		ProxyAddresses: []string{"SMTP:o'brien@contoso.example"}})
	return fg
}

func newClient(t *testing.T, fg *fakegraph.Server, cfg Config, extraEnv ...string) *Client {
	t.Helper()
	cfg.GraphURL = fg.GraphURL
	cfg.DisableInstanceDiscovery = true
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = loopbackClient(t, fg)
	}
	c, err := New(cfg, envOf(fg.Env(), extraEnv))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func setup(t *testing.T) (*fakegraph.Server, *Client) {
	fg := start(t)
	return fg, newClient(t, fg, Config{})
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestSetStatusMessageBodies(t *testing.T) {
	fg, c := setup(t)
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		la = time.FixedZone("PST", -8*3600)
	}
	tests := []struct {
		name string
		msg  bridge.Message
		want string
	}{
		{"text with expiry", bridge.Message{Content: "Hey I'm currently in a meeting.", Expiry: time.Date(2026, 12, 4, 9, 0, 0, 0, la)},
			`{"statusMessage":{"message":{"content":"Hey I'm currently in a meeting.","contentType":"text"},"expiryDateTime":{"dateTime":"2026-12-04T17:00:00","timeZone":"UTC"}}}`},
		{"no expiry", bridge.Message{Content: "Hey I am available now"},
			`{"statusMessage":{"message":{"content":"Hey I am available now","contentType":"text"}}}`},
		{"clear", bridge.Message{},
			`{"statusMessage":{"message":{"content":"","contentType":"text"}}}`},
		{"emoji and markup", bridge.Message{Content: "🌴 Vacationing <b>&\"fun\"</b> ☕️", Expiry: time.Unix(1796403600, 999).UTC()},
			`{"statusMessage":{"message":{"content":"🌴 Vacationing <b>&\"fun\"</b> ☕️","contentType":"text"},"expiryDateTime":{"dateTime":"2026-12-04T17:00:00","timeZone":"UTC"}}}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.SetStatusMessage(context.Background(), alice, tt.msg); err != nil {
				t.Fatalf("SetStatusMessage: %v", err)
			}
			calls := fg.StatusCalls()
			if len(calls) != i+1 {
				t.Fatalf("calls = %d, want %d", len(calls), i+1)
			}
			call := calls[i]
			jsonEqual(t, call.Body, tt.want)
			if call.Status != http.StatusOK || call.UserID != alice {
				t.Errorf("status %d user %s", call.Status, call.UserID)
			}
			if call.Gzip {
				t.Error("body was gzip-compressed; a status message goes as plain JSON")
			}
			if !fg.IssuedToken(call.Token) {
				t.Errorf("bearer token %q was not issued by the authority", call.Token)
			}
			if tt.msg.Clear() && !strings.Contains(string(call.Body), `"content":""`) {
				t.Errorf("clear body lacks empty content: %s", call.Body)
			}
			cur, ok := fg.Current(alice)
			if !ok || cur.Content != tt.msg.Content || cur.HasExpiry != !tt.msg.Expiry.IsZero() {
				t.Errorf("current = %+v, %v", cur, ok)
			}
		})
	}
	if n := fg.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1 (cached)", n)
	}
	if u := fg.Unhandled(); len(u) != 0 {
		t.Errorf("unhandled requests: %v", u)
	}
}

func TestExpiryString(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	if got := expiryString(time.Date(2026, 12, 5, 2, 0, 0, 0, tokyo)); got != "2026-12-04T17:00:00" {
		t.Errorf("expiryString = %q", got)
	}
}

func TestUnknownUserIsPermanent(t *testing.T) {
	fg, c := setup(t)
	err := c.SetStatusMessage(context.Background(), "00000000-0000-0000-0000-000000000000", bridge.Message{Content: "x"})
	var pe *bridge.PermanentError
	if !errors.As(err, &pe) || !errors.Is(err, bridge.ErrNotFound) {
		t.Fatalf("err = %v, want PermanentError matching ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "Request_ResourceNotFound") {
		t.Errorf("error text %q lacks status or Graph code", err)
	}
	if n := len(fg.StatusCalls()); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestFailureClassification(t *testing.T) {
	fg := start(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := newClient(t, fg, Config{Now: func() time.Time { return now }})
	tests := []struct {
		name       string
		status     int
		retryAfter string
		check      func(t *testing.T, err error)
	}{
		{"429 seconds", 429, "7", throttled(7 * time.Second)},
		{"429 http date", 429, now.Add(30 * time.Second).Format(http.TimeFormat), throttled(30 * time.Second)},
		{"429 date in the past", 429, now.Add(-time.Minute).Format(http.TimeFormat), throttled(time.Second)},
		{"429 without Retry-After", 429, "", throttled(10 * time.Second)},
		{"429 garbage Retry-After", 429, "soon", throttled(10 * time.Second)},
		{"503", 503, "", transient},
		{"504", 504, "", unanswered}, // the gateway gave up; Graph may still apply it
		{"500", 500, "", transient},
		{"408", 408, "", transient},
		{"400", 400, "", permanent("400")},
		{"403", 403, "", permanent("Presence.ReadWrite.All")},
		{"409", 409, "", permanent("409")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fg.Reset()
			fg.FailNext(1, tt.status, tt.retryAfter)
			err := c.SetStatusMessage(context.Background(), alice, bridge.Message{Content: "In a meeting"})
			tt.check(t, err)
			if calls := fg.StatusCalls(); len(calls) != 1 {
				t.Errorf("%d calls reached Graph, want exactly 1 (no SDK retry)", len(calls))
			}
		})
	}
}

func throttled(want time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var te *bridge.ThrottledError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v, want ThrottledError", err)
		}
		if te.RetryAfter != want {
			t.Errorf("RetryAfter = %s, want %s", te.RetryAfter, want)
		}
	}
}

// transient: Graph answered with a failure, so the call was not applied.
func transient(t *testing.T, err error) {
	t.Helper()
	var te *bridge.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TransientError", err)
	}
	if errors.Is(err, bridge.ErrUnanswered) {
		t.Errorf("%v matches ErrUnanswered, but Graph answered", err)
	}
}

// unanswered: no answer came, so Graph may still apply the call.
func unanswered(t *testing.T, err error) {
	t.Helper()
	var te *bridge.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TransientError", err)
	}
	if !errors.Is(err, bridge.ErrUnanswered) {
		t.Errorf("%v does not match ErrUnanswered", err)
	}
}

func permanent(mention string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pe *bridge.PermanentError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want PermanentError", err)
		}
		if !strings.Contains(pe.Reason, mention) {
			t.Errorf("reason %q does not mention %q", pe.Reason, mention)
		}
		if errors.Is(err, bridge.ErrNotFound) {
			t.Errorf("%v matches ErrNotFound", err)
		}
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	fg := start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(Config{GraphURL: "https://" + addr + "/v1.0", DisableInstanceDiscovery: true, HTTPClient: loopbackClient(t, fg)}, envOf(fg.Env()))
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetStatusMessage(context.Background(), alice, bridge.Message{Content: "x"})
	transient(t, err) // no connection: the call never went out
}

// TestTimeoutIsUnanswered: a call that outlasts its deadline may still be
// applied by Graph, and says so.
func TestTimeoutIsUnanswered(t *testing.T) {
	fg := start(t)
	c := newClient(t, fg, Config{})
	release := make(chan struct{})
	defer close(release)
	fg.SetStatusHook(func(string) { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.SetStatusMessage(ctx, alice, bridge.Message{Content: "In a meeting"})
	unanswered(t, err)
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want it to say the call timed out", err)
	}
}

func TestTokenOnlyForGraphHost(t *testing.T) {
	fg, c := setup(t)
	var mu sync.Mutex
	var seen []string
	other := fg.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[]}`))
	}))
	port := other.URL[strings.LastIndex(other.URL, ":")+1:]
	// First a Graph call, so that a token is cached and would be at hand.
	if err := c.SetStatusMessage(context.Background(), alice, bridge.Message{Content: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"https://localhost:" + port, "https://127.0.0.1:" + port} {
		if _, err := c.graph.Users().WithUrl(base+"/v1.0/users").Get(context.Background(), nil); err != nil {
			t.Fatalf("request to %s: %v", base, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("other server saw %d requests, want 2", len(seen))
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, "auth=") {
			t.Errorf("other host received an Authorization header: %s", s)
		}
	}
}

func TestWrongSecret(t *testing.T) {
	fg := start(t)
	secret := "not-the-secret-" + strings.Repeat("z", 20)
	c := newClient(t, fg, Config{}, "AZURE_CLIENT_SECRET="+secret)
	err := c.SetStatusMessage(context.Background(), alice, bridge.Message{Content: "x"})
	var te *bridge.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TransientError", err)
	}
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Code != "invalid_client" || !strings.Contains(ae.Description, "AADSTS7000215") {
		t.Fatalf("err = %v, want AuthError invalid_client AADSTS7000215", err)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), ae.Error()} {
		if strings.Contains(s, secret) || strings.Contains(s, fg.ClientSecret) {
			t.Errorf("error text leaks the secret: %s", s)
		}
		if strings.Contains(s, "\n") || len(s) > 400 {
			t.Errorf("error text is not short: %q", s)
		}
	}
	if n := len(fg.StatusCalls()); n != 0 {
		t.Errorf("%d calls reached Graph without a token", n)
	}
	if err := c.Probe(context.Background()); !errors.As(err, &ae) {
		t.Errorf("Probe = %v, want AuthError", err)
	}
}

func TestWorkloadIdentity(t *testing.T) {
	fg := start(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(fg.FederatedToken), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, fg, Config{}, "AZURE_CLIENT_SECRET=", "AZURE_FEDERATED_TOKEN_FILE="+file)
	if err := c.SetStatusMessage(context.Background(), alice, bridge.Message{Content: "x"}); err != nil {
		t.Fatalf("SetStatusMessage: %v", err)
	}
	if n := fg.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d", n)
	}
}

func TestLookups(t *testing.T) {
	fg, c := setup(t)
	ctx := context.Background()

	u, err := c.UserByID(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != alice || u.UserPrincipalName != "alice@contoso.example" || u.Mail != "alice@contoso.example" ||
		u.AccountEnabled == nil || !*u.AccountEnabled {
		t.Errorf("UserByID(id) = %+v", u)
	}
	u, err = c.UserByID(ctx, "bob@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != bob || u.AccountEnabled == nil || *u.AccountEnabled {
		t.Errorf("UserByID(upn) = %+v", u)
	}
	if _, err := c.UserByID(ctx, "nobody@contoso.example"); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v, want ErrNotFound", err)
	}

	us, err := c.UsersByMail(ctx, "o'brien@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].ID != bob {
		t.Errorf("UsersByMail(o'brien) = %+v", us)
	}
	us, err = c.UsersByMail(ctx, "nobody@contoso.example")
	if err != nil || us == nil || len(us) != 0 {
		t.Errorf("UsersByMail(unknown) = %+v, %v; want empty", us, err)
	}

	us, err = c.UsersByProxyAddress(ctx, "ally@fabrikam.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].ID != alice {
		t.Errorf("UsersByProxyAddress = %+v", us)
	}
	us, err = c.UsersByProxyAddress(ctx, "o'brien@contoso.example")
	if err != nil || len(us) != 1 || us[0].ID != bob {
		t.Errorf("UsersByProxyAddress(o'brien) = %+v, %v", us, err)
	}

	var sawMail, sawProxy bool
	for _, r := range fg.Requests() {
		q, _ := url.ParseQuery(r.RawQuery)
		switch f := q.Get("$filter"); {
		case f == "mail eq 'o''brien@contoso.example'":
			sawMail = true
		case f == "proxyAddresses/any(x:x eq 'smtp:o''brien@contoso.example')":
			sawProxy = r.Header.Get("ConsistencyLevel") == "eventual" && q.Get("$count") == "true"
		}
		if r.Method == http.MethodGet && !strings.Contains(q.Get("$select"), "accountEnabled") {
			t.Errorf("request %s?%s does not select accountEnabled", r.Path, r.RawQuery)
		}
	}
	if !sawMail {
		t.Error("no request with the escaped mail filter")
	}
	if !sawProxy {
		t.Error("no proxyAddresses request with escaped filter, ConsistencyLevel: eventual and $count=true")
	}
}

func TestODataString(t *testing.T) {
	for in, want := range map[string]string{
		"a@b.example":     "'a@b.example'",
		"o'brien@x":       "'o''brien@x'",
		"''":              "''''''",
		"x' or 1 eq 1 --": "'x'' or 1 eq 1 --'",
	} {
		if got := odataString(in); got != want {
			t.Errorf("odataString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProbe(t *testing.T) {
	fg, c := setup(t)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	reqs := fg.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1.0/users" {
		t.Fatalf("requests = %+v", reqs)
	}
	if q, _ := url.ParseQuery(reqs[0].RawQuery); q.Get("$top") != "1" || q.Get("$select") != "id" {
		t.Errorf("probe query = %s", reqs[0].RawQuery)
	}
}

func TestRolesFromToken(t *testing.T) {
	_, c := setup(t)
	roles, known, err := c.Roles(context.Background())
	if err != nil || !known || strings.Join(roles, ",") != "Presence.ReadWrite.All,User.Read.All" {
		t.Fatalf("Roles = %v, %v, %v", roles, known, err)
	}
	fg2 := fakegraph.Start(t)
	fg2.SetRoles("User.Read.All")
	c2 := newClient(t, fg2, Config{})
	roles, known, err = c2.Roles(context.Background())
	if err != nil || !known || len(roles) != 1 || roles[0] != "User.Read.All" {
		t.Fatalf("Roles = %v, %v, %v", roles, known, err)
	}
	if n := len(fg2.StatusCalls()); n != 0 {
		t.Fatalf("reading roles wrote %d statuses", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	fg, c := setup(t)
	var ids []string
	for i := range 16 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		fg.AddUser(fakegraph.User{ID: id, UPN: fmt.Sprintf("u%d@contoso.example", i)})
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.SetStatusMessage(context.Background(), id, bridge.Message{Content: fmt.Sprintf("status %d", i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i, id := range ids {
		if cur, ok := fg.Current(id); !ok || cur.Content != fmt.Sprintf("status %d", i) {
			t.Errorf("user %s: current = %+v, %v", id, cur, ok)
		}
	}
}

func TestScopeAndAuthority(t *testing.T) {
	tests := []struct{ url, scope, authority string }{
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default", "https://login.microsoftonline.com/"},
		{"https://graph.microsoft.com:443/beta", "https://graph.microsoft.com/.default", "https://login.microsoftonline.com/"},
		{"https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default", "https://login.microsoftonline.us/"},
		{"https://dod-graph.microsoft.us/v1.0", "https://dod-graph.microsoft.us/.default", "https://login.microsoftonline.us/"},
		{"https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/.default", "https://login.chinacloudapi.cn/"},
		{"https://Graph.Microsoft.US/v1.0", "https://graph.microsoft.us/.default", "https://login.microsoftonline.us/"},
		{"https://127.0.0.1:8443/v1.0", "https://graph.microsoft.com/.default", "https://login.microsoftonline.com/"},
	}
	for _, tt := range tests {
		u, err := parseGraphURL(tt.url)
		if err != nil {
			t.Fatalf("parseGraphURL(%q): %v", tt.url, err)
		}
		if got := scopeFor(u); got != tt.scope {
			t.Errorf("scopeFor(%q) = %q, want %q", tt.url, got, tt.scope)
		}
		if got := authorityFor(u.Hostname()); got != tt.authority {
			t.Errorf("authorityFor(%q) = %q, want %q", tt.url, got, tt.authority)
		}
	}
	for _, bad := range []string{"http://graph.microsoft.com/v1.0", "graph.microsoft.com", "https://graph.microsoft.com/v1.0?x=1", "ftp://x/"} {
		if _, err := parseGraphURL(bad); err == nil {
			t.Errorf("parseGraphURL(%q) accepted", bad)
		}
	}
}

func TestScopeOverride(t *testing.T) {
	fg := fakegraph.Start(t)
	fg.AddUser(fakegraph.User{ID: "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"})
	own := strings.TrimSuffix(fg.GraphURL, "/v1.0") + "/.default"
	c := newClient(t, fg, Config{Scope: own})
	if c.Scope() != own {
		t.Fatalf("Scope() = %q, want %q", c.Scope(), own)
	}
	if err := c.SetStatusMessage(context.Background(), "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", bridge.Message{Content: "x"}); err != nil {
		t.Fatalf("with a scope override: %v", err)
	}
	if d := newClient(t, fg, Config{}); d.Scope() != "https://graph.microsoft.com/.default" {
		t.Fatalf("default scope for a local Graph = %q", d.Scope())
	}
}

// TestPlainHTTPLoopbackGraph: a Graph stand-in on plain HTTP at a loopback
// address gets the token (kiota allows http only there).
func TestPlainHTTPLoopbackGraph(t *testing.T) {
	fg := fakegraph.Start(t)
	fg.AddUser(fakegraph.User{ID: "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"})
	c := newClient(t, fg, Config{GraphURL: fg.PlainGraphURL(t)})
	if err := c.SetStatusMessage(context.Background(), "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", bridge.Message{Content: "Lunch"}); err != nil {
		t.Fatalf("plain HTTP Graph: %v", err)
	}
	calls := fg.StatusCalls()
	if len(calls) != 1 || calls[0].Content != "Lunch" || !fg.IssuedToken(calls[0].Token) {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestCredentialSelection(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		cfg     Config
		wantErr string
	}{
		{"nothing", nil, Config{}, "not configured"},
		{"tenant only", []string{"AZURE_TENANT_ID=t"}, Config{}, "AZURE_TENANT_ID is set but none of AZURE_CLIENT_SECRET"},
		{"secret without client", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_SECRET=s3cr3t"}, Config{}, "AZURE_CLIENT_ID is missing"},
		{"secret without tenant", []string{"AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s3cr3t"}, Config{}, "AZURE_TENANT_ID is missing"},
		{"missing cert file", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_CERTIFICATE_PATH=/nonexistent/cert.pem"}, Config{}, "AZURE_CLIENT_CERTIFICATE_PATH"},
		{"token file without tenant", []string{"AZURE_CLIENT_ID=c", "AZURE_FEDERATED_TOKEN_FILE=/x"}, Config{}, "AZURE_TENANT_ID is missing"},
		{"secret", []string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s3cr3t"}, Config{}, ""},
		// Constructing a managed identity credential makes no request.
		{"managed identity opt-in", []string{"STATUSBRIDGE_MANAGED_IDENTITY=true"}, Config{}, ""},
		{"managed identity by config", nil, Config{ManagedIdentity: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := envOf(tt.env)
			if got, want := Configured(getenv), len(tt.env) > 0; got != want {
				t.Errorf("Configured = %v, want %v", got, want)
			}
			_, err := New(tt.cfg, getenv)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New err = %v, want mention of %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "s3cr3t"):
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
	if _, err := New(Config{}, envOf(nil)); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("New without settings = %v, want ErrNotConfigured", err)
	}
}

// TestUPNRefusedFallsThrough: Graph's 400 for a UPN it will not take as a
// path key reads as "not found", so that discovery goes on to mail and
// proxyAddresses; a 400 for an object id stays a plain permanent error.
func TestUPNRefusedFallsThrough(t *testing.T) {
	fg, c := setup(t)
	ctx := context.Background()
	const dollar, odd = "$adele@contoso.example", "odd%name@contoso.example"
	fg.AddUser(fakegraph.User{ID: "87d349ed-44d7-43e1-9a83-5f2406dee5bd", UPN: dollar, Mail: dollar})
	fg.AddUser(fakegraph.User{ID: "87d349ed-44d7-43e1-9a83-5f2406dee5be", UPN: odd, Mail: odd})
	fg.RejectUserKey(odd)
	for _, upn := range []string{dollar, odd} {
		_, err := c.UserByID(ctx, upn)
		var pe *bridge.PermanentError
		if !errors.Is(err, bridge.ErrNotFound) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "400") {
			t.Errorf("UserByID(%q) = %v, want a 400 matching ErrNotFound", upn, err)
		}
		if us, err := c.UsersByMail(ctx, upn); err != nil || len(us) != 1 {
			t.Errorf("UsersByMail(%q) = %+v, %v", upn, us, err)
		}
	}

	// A B2B guest's UPN carries #, which the SDK encodes as %23, as Graph asks.
	guest := "stranger_partner.example#EXT#@contoso.example"
	fg.AddUser(fakegraph.User{ID: "4c2e8f10-0000-4000-8000-0000000000c2", UPN: guest})
	if u, err := c.UserByID(ctx, guest); err != nil || u.ID != "4c2e8f10-0000-4000-8000-0000000000c2" {
		t.Errorf("UserByID(guest) = %+v, %v", u, err)
	}

	fg.SetUserReadStatus(http.StatusBadRequest)
	_, err := c.UserByID(ctx, alice)
	permanent("400")(t, err)
}
