// Package graphsync is statusbridge's Microsoft Graph adapter: it sets Teams
// status messages (bridge.Publisher), looks up Entra ID users, and turns every
// Graph failure into one of bridge's typed errors. It is the only package that
// imports msgraph-sdk-go, kiota and azidentity.
//
// The client has no retry layer of its own: the kiota retry handler is left
// out of the middleware, because bridge's workers decide when to retry.
package graphsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/statusbridge/statusbridge/bridge"
)

// DefaultGraphURL is the Graph base URL of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// Environment variables read by New and Configured, besides azidentity's standard ones.
const (
	// EnvManagedIdentity opts in to managed identity ("true").
	EnvManagedIdentity = "STATUSBRIDGE_MANAGED_IDENTITY"
	// EnvGraphScope names the setting that supplies Config.Scope.
	EnvGraphScope = "STATUSBRIDGE_GRAPH_SCOPE"
	// EnvGraphURL names the setting that supplies Config.GraphURL.
	EnvGraphURL = "STATUSBRIDGE_GRAPH_URL"
)

// azidentity's standard environment variables.
const (
	envTenantID     = "AZURE_TENANT_ID"
	envClientID     = "AZURE_CLIENT_ID"
	envSecret       = "AZURE_CLIENT_SECRET"
	envCertPath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	envCertPassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	envSendChain    = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	envAuthority    = "AZURE_AUTHORITY_HOST"
	envTokenFile    = "AZURE_FEDERATED_TOKEN_FILE"
	envTenants      = "AZURE_ADDITIONALLY_ALLOWED_TENANTS"
)

// ErrNotConfigured is returned by New when no Azure credential settings are present.
var ErrNotConfigured = errors.New("graph credentials not configured: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH, or AZURE_FEDERATED_TOKEN_FILE), or " + EnvManagedIdentity + "=true")

// Config configures a Client.
type Config struct {
	// GraphURL is the Graph base URL; empty means DefaultGraphURL. National
	// clouds use https://graph.microsoft.us/v1.0, https://dod-graph.microsoft.us/v1.0
	// or https://microsoftgraph.chinacloudapi.cn/v1.0.
	GraphURL string
	// Scope overrides the token scope (a private cloud's Graph resource, such
	// as https://graph.example.internal/.default). Empty means the Graph
	// host's own for the public and national clouds, and the global
	// https://graph.microsoft.com/.default for a loopback host (a local
	// stand-in); New refuses any other host without a Scope, so that a
	// mistyped host never receives a token.
	Scope string
	// AuthorityHost overrides AZURE_AUTHORITY_HOST; when both are empty the
	// authority follows the Graph host's cloud.
	AuthorityHost string
	// DisableInstanceDiscovery skips Entra instance discovery, for private
	// clouds and local stand-ins whose authority MSAL does not know.
	DisableInstanceDiscovery bool
	// ManagedIdentity selects managed identity (as does STATUSBRIDGE_MANAGED_IDENTITY=true)
	// when no secret, certificate or federated token file is configured.
	ManagedIdentity bool
	// HTTPClient, when set, supplies the transport for both Graph and Entra
	// (for example one trusting a private CA); its own middleware is not used.
	HTTPClient *http.Client
	// Timeout bounds each call, token acquisition included; zero means 30s.
	Timeout time.Duration
	// DefaultRetryAfter is the wait reported for a 429 without a usable
	// Retry-After header; zero means 10s.
	DefaultRetryAfter time.Duration
	// Now is the clock used to read Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Credential, when set, is used instead of the one chosen from the environment.
	Credential azcore.TokenCredential
}

// Client talks to Microsoft Graph. It is safe for concurrent use.
type Client struct {
	graph             *msgraphsdk.GraphServiceClient
	cred              azcore.TokenCredential
	baseURL           string
	scope             string
	timeout           time.Duration
	defaultRetryAfter time.Duration
	now               func() time.Time
}

var _ bridge.Publisher = (*Client)(nil)

// Configured reports whether any Azure credential setting is present, so
// that main can tell "not configured" from "configured badly".
func Configured(getenv func(string) string) bool {
	for _, k := range []string{envTenantID, envClientID, envSecret, envCertPath, envTokenFile} {
		if getenv(k) != "" {
			return true
		}
	}
	return isTrue(getenv(EnvManagedIdentity))
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// New builds a Client from cfg and the Azure settings read through getenv.
func New(cfg Config, getenv func(string) string) (*Client, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	graphURL := strings.TrimRight(cfg.GraphURL, "/")
	if graphURL == "" {
		graphURL = DefaultGraphURL
	}
	u, err := parseGraphURL(graphURL)
	if err != nil {
		return nil, err
	}
	scope := cfg.Scope
	if scope == "" {
		if _, known := cloudOfHost(u.Hostname()); !known && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("graph URL %q: %s is not a Microsoft Graph host (%s); fix %s, or set %s to the token scope of a private cloud's Graph",
				graphURL, u.Hostname(), strings.Join(graphHosts(), ", "), EnvGraphURL, EnvGraphScope)
		}
		scope = scopeFor(u)
	}
	authority := cfg.AuthorityHost
	if authority == "" {
		authority = getenv(envAuthority)
	}
	if authority == "" {
		authority = authorityFor(u.Hostname())
	}
	if !strings.HasSuffix(authority, "/") {
		authority += "/"
	}

	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Transport: defaultTransport()}
	}
	baseTransport := base.Transport
	if baseTransport == nil {
		baseTransport = http.DefaultTransport
	}

	cred := cfg.Credential
	if cred == nil {
		opts := azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
			Transport: &http.Client{Transport: baseTransport},
		}
		cred, err = newCredential(cfg, getenv, opts)
		if err != nil {
			return nil, err
		}
	}

	inner, err := kauth.NewAzureIdentityAccessTokenProviderWithScopesAndValidHosts(cred, []string{scope}, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph auth provider: %w", err)
	}
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(&hostTokens{inner: inner, scheme: u.Scheme, host: canonicalHost(u)})

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(baseTransport, middlewares()...),
		// Redirects are the redirect middleware's business, as in kiota's default client.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	adapter.SetBaseUrl(graphURL)

	c := &Client{
		graph:             msgraphsdk.NewGraphServiceClient(adapter),
		cred:              cred,
		baseURL:           graphURL,
		scope:             scope,
		timeout:           timeout,
		defaultRetryAfter: cfg.DefaultRetryAfter,
		now:               cfg.Now,
	}
	if c.defaultRetryAfter <= 0 {
		c.defaultRetryAfter = 10 * time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Scope returns the token scope the client requests, such as https://graph.microsoft.com/.default.
func (c *Client) Scope() string { return c.scope }

// middlewares is the Graph SDK's default pipeline without the retry handler,
// in a fixed order, plus the recorder that classification reads.
func middlewares() []khttp.Middleware {
	opts := msgraphsdk.GetDefaultClientOptions()
	return []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		khttp.NewRedirectHandler(),
		// A status message body is a few hundred bytes: gzip makes it no
		// smaller, and a new compressor per call cost more CPU than the
		// rest of the call. Bodies go as plain JSON, as Graph's docs show.
		khttp.NewCompressionHandlerWithOptions(*khttp.NewCompressionOptionsReference(false)),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
		recorder{},
	}
}

// idleConnsPerHost keeps a connection per call in flight open between
// calls: every worker of a replica may be calling Graph at once, and over
// HTTP/1.1 each needs a connection of its own (net/http keeps 2 by default,
// so a burst would pay a TLS handshake for most calls).
const idleConnsPerHost = 256

// defaultTransport is kiota's default transport (HTTP/2 when the server
// offers it) with an idle pool sized for the workers.
func defaultTransport() http.RoundTripper {
	t, ok := khttp.GetDefaultTransport().(*http.Transport)
	if !ok {
		return khttp.GetDefaultTransport()
	}
	t.MaxIdleConns = max(t.MaxIdleConns, 2*idleConnsPerHost)
	t.MaxIdleConnsPerHost = idleConnsPerHost
	return t
}

// parseGraphURL checks that the Graph URL is absolute and uses https (plain
// http only for loopback hosts, as kiota's token provider requires).
func parseGraphURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph URL %q is not an absolute URL", s)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("graph URL %q must use https", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("graph URL %q must not carry a query, fragment or user info", s)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// canonicalHost returns the URL's host in lower case without the scheme's default port.
func canonicalHost(u *url.URL) string {
	h := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && strings.HasSuffix(h, ":443"):
		h = strings.TrimSuffix(h, ":443")
	case u.Scheme == "http" && strings.HasSuffix(h, ":80"):
		h = strings.TrimSuffix(h, ":80")
	}
	return h
}

// scopeFor returns the app-only token scope for a Graph URL: the cloud's
// own for the public and national Graph hosts, else the global one, as the
// Graph SDKs default to (a private cloud sets Config.Scope).
func scopeFor(u *url.URL) string {
	if c, ok := cloudOfHost(u.Hostname()); ok {
		return c.Scope
	}
	return clouds[0].Scope
}

// authorityFor returns the Entra authority of the cloud a Graph host
// belongs to, and the global one for any other host.
func authorityFor(graphHost string) string {
	if c, ok := cloudOfHost(graphHost); ok {
		return c.AuthorityHost
	}
	return clouds[0].AuthorityHost
}

// graphHosts lists the Graph hosts of the public and national clouds.
func graphHosts() []string {
	hosts := make([]string, len(clouds))
	for i, c := range clouds {
		hosts[i] = graphHost(c)
	}
	return hosts
}

// hostTokens hands out tokens only for requests to the Graph URL's exact
// scheme and host (port included); any other request goes out without one.
type hostTokens struct {
	inner        absauth.AccessTokenProvider
	scheme, host string
}

var _ absauth.AccessTokenProvider = (*hostTokens)(nil)

// GetAuthorizationToken returns a token for Graph requests and "" for any other host.
func (p *hostTokens) GetAuthorizationToken(ctx context.Context, u *url.URL, extra map[string]any) (string, error) {
	if u == nil || !strings.EqualFold(u.Scheme, p.scheme) || canonicalHost(u) != p.host {
		return "", nil
	}
	return p.inner.GetAuthorizationToken(ctx, u, extra)
}

// GetAllowedHostsValidator returns the validator holding the Graph host.
func (p *hostTokens) GetAllowedHostsValidator() *absauth.AllowedHostsValidator {
	return p.inner.GetAllowedHostsValidator()
}

// newCredential picks the credential explicitly, so that nothing probes the
// managed identity endpoint unless it was asked for:
// secret, then certificate, then federated token file, then managed identity.
func newCredential(cfg Config, getenv func(string) string, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	tenant, client := getenv(envTenantID), getenv(envClientID)
	secret, certPath, tokenFile := getenv(envSecret), getenv(envCertPath), getenv(envTokenFile)
	var tenants []string
	if v := getenv(envTenants); v != "" {
		tenants = strings.Split(v, ";")
	}
	need := func(kind string) error {
		switch {
		case tenant == "":
			return fmt.Errorf("graph credentials: %s is set but %s is missing", kind, envTenantID)
		case client == "":
			return fmt.Errorf("graph credentials: %s is set but %s is missing", kind, envClientID)
		}
		return nil
	}
	switch {
	case secret != "":
		if err := need(envSecret); err != nil {
			return nil, err
		}
		cred, err := azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:              opts,
			AdditionallyAllowedTenants: tenants,
			DisableInstanceDiscovery:   cfg.DisableInstanceDiscovery,
		})
		if err != nil {
			return nil, fmt.Errorf("graph credentials: client secret: %s", firstLine(err.Error()))
		}
		return cred, nil
	case certPath != "":
		if err := need(envCertPath); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(certPath)
		if err != nil {
			return nil, fmt.Errorf("graph credentials: reading %s: %w", envCertPath, err)
		}
		var password []byte
		if v := getenv(envCertPassword); v != "" {
			password = []byte(v)
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			return nil, fmt.Errorf("graph credentials: parsing the certificate in %s (PEM or PKCS#12; check %s)", envCertPath, envCertPassword)
		}
		cred, err := azidentity.NewClientCertificateCredential(tenant, client, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions:              opts,
			AdditionallyAllowedTenants: tenants,
			DisableInstanceDiscovery:   cfg.DisableInstanceDiscovery,
			SendCertificateChain:       isTrue(getenv(envSendChain)),
		})
		if err != nil {
			return nil, fmt.Errorf("graph credentials: client certificate: %s", firstLine(err.Error()))
		}
		return cred, nil
	case tokenFile != "":
		if err := need(envTokenFile); err != nil {
			return nil, err
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions:              opts,
			AdditionallyAllowedTenants: tenants,
			DisableInstanceDiscovery:   cfg.DisableInstanceDiscovery,
			ClientID:                   client,
			TenantID:                   tenant,
			TokenFilePath:              tokenFile,
		})
		if err != nil {
			return nil, fmt.Errorf("graph credentials: workload identity: %s", firstLine(err.Error()))
		}
		return cred, nil
	case cfg.ManagedIdentity || isTrue(getenv(EnvManagedIdentity)):
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if client != "" {
			o.ID = azidentity.ClientID(client)
		}
		cred, err := azidentity.NewManagedIdentityCredential(o)
		if err != nil {
			return nil, fmt.Errorf("graph credentials: managed identity: %s", firstLine(err.Error()))
		}
		return cred, nil
	case tenant != "" || client != "":
		set := envTenantID
		if tenant == "" {
			set = envClientID
		}
		return nil, fmt.Errorf("graph credentials: %s is set but none of %s, %s or %s is (nor %s=true)",
			set, envSecret, envCertPath, envTokenFile, EnvManagedIdentity)
	}
	return nil, ErrNotConfigured
}

// firstLine returns s on one line, with runs of white space collapsed, at
// most about 300 bytes long.
func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}
