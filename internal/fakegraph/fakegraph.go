// Package fakegraph is a local stand-in for Microsoft Graph and the Entra ID
// token endpoint, for statusbridge's tests. Both servers speak TLS on
// 127.0.0.1 with certificates signed by a CA generated per test.
//
// It implements what statusbridge calls: setStatusMessage (validated strictly
// against the documented request shape), presence reads (one user, or up to
// 650 through getPresencesByUserId) over the presence each user has, user
// lookups by id, UPN, mail and proxy address, the OpenID configuration and
// the client-credentials token endpoint. Writes and reads share one presence
// throttling window. It imports only the standard library.
package fakegraph

import (
	"compress/gzip"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running stand-in for Graph and for the Entra ID authority.
type Server struct {
	// GraphURL is the Graph base URL, such as https://127.0.0.1:PORT/v1.0.
	GraphURL string
	// AuthorityHost is the authority base URL, such as https://127.0.0.1:PORT2/.
	AuthorityHost string
	// CAFile is the path of the PEM file of the CA that signed both servers' certificates.
	CAFile string
	// TenantID, ClientID and ClientSecret are the credentials the token endpoint accepts.
	TenantID, ClientID, ClientSecret string
	// FederatedToken is the client assertion the token endpoint accepts (workload identity).
	FederatedToken string

	graph, authority *httptest.Server
	pool             *x509.CertPool

	mu            sync.Mutex
	now           func() time.Time
	users         map[string]*User // by lower-case id and UPN
	tokens        map[string]string
	tokenRequests int
	calls         []StatusCall
	current       map[string]StatusCall
	failNext      int
	failStatus    int
	failRetry     string
	userReads     int
	p503, p429    float64
	chaosRetry    string
	rng           *mrand.Rand
	limitN        int
	limitPer      time.Duration
	window        []time.Time
	ok, throttled int
	failed        int
	requests      []Request
	unhandled     []string
	hook          func(userID string)
	latency       time.Duration // how long every presence call takes to answer
	roles         []string

	presences                map[string]*presence // by lower-case object id
	reads                    PresenceReadCounts
	failReads                int
	garbleReads              int
	failReadStatus           int
	failReadRetry            string
	unknownAsPresenceUnknown bool
	badUserKeys              map[string]bool
}

// User is a user known to the stand-in.
type User struct {
	ID, UPN, Mail  string
	ProxyAddresses []string
	Disabled       bool
}

// StatusCall is one setStatusMessage call as the stand-in saw it.
type StatusCall struct {
	// UserID is the object id of the addressed user, or the raw path segment when unknown.
	UserID string
	// Body is the raw JSON body, decompressed.
	Body []byte
	// Content, ContentType, ExpiryDateTime and TimeZone are the parsed fields.
	Content, ContentType     string
	ExpiryDateTime, TimeZone string
	// HasExpiry reports whether the body carried expiryDateTime.
	HasExpiry bool
	// Gzip reports whether the body came with Content-Encoding: gzip.
	Gzip bool
	// Token is the bearer token the call carried.
	Token string
	// Status is the HTTP status the stand-in answered.
	Status int
	// At is when the call arrived.
	At time.Time
	// Answered is when the stand-in decided its answer, on the clock its
	// throttling window uses.
	Answered time.Time
}

// Request is any request that reached the Graph stand-in.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Status                 int
}

// Start starts both servers; they are closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ca, err := newCA()
	if err != nil {
		t.Fatalf("fakegraph: %v", err)
	}
	leaf, err := ca.leaf()
	if err != nil {
		t.Fatalf("fakegraph: %v", err)
	}
	caFile := filepath.Join(t.TempDir(), "fakegraph-ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatalf("fakegraph: %v", err)
	}
	s := &Server{
		CAFile:         caFile,
		TenantID:       "7e1c0a5e-0000-4000-8000-00000000cafe",
		ClientID:       "5b0c1d2e-0000-4000-8000-00000000beef",
		ClientSecret:   "fake-secret-" + randHex(12),
		FederatedToken: "fake-federated-" + randHex(12),
		pool:           ca.pool,
		now:            time.Now,
		users:          map[string]*User{},
		tokens:         map[string]string{},
		roles:          []string{"Presence.ReadWrite.All", "User.Read.All"},
		current:        map[string]StatusCall{},
		presences:      map[string]*presence{},
		badUserKeys:    map[string]bool{},
		rng:            mrand.New(mrand.NewSource(1)),
	}
	s.graph = httptest.NewUnstartedServer(http.HandlerFunc(s.serveGraph))
	s.graph.TLS = leaf
	s.graph.StartTLS()
	t.Cleanup(s.graph.Close)
	s.authority = httptest.NewUnstartedServer(http.HandlerFunc(s.serveAuthority))
	s.authority.TLS = leaf.Clone()
	s.authority.StartTLS()
	t.Cleanup(s.authority.Close)
	s.GraphURL = s.graph.URL + "/v1.0"
	s.AuthorityHost = s.authority.URL + "/"
	return s
}

// Env returns the environment a statusbridge process needs to use the stand-in.
func (s *Server) Env() []string {
	return []string{
		"AZURE_TENANT_ID=" + s.TenantID,
		"AZURE_CLIENT_ID=" + s.ClientID,
		"AZURE_CLIENT_SECRET=" + s.ClientSecret,
		"AZURE_AUTHORITY_HOST=" + s.AuthorityHost,
		"SSL_CERT_FILE=" + s.CAFile,
		"STATUSBRIDGE_GRAPH_URL=" + s.GraphURL,
		"STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY=true",
	}
}

// CertPool returns a pool trusting the stand-in's CA.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// Client returns an HTTP client that trusts the stand-in's CA (and nothing else).
func (s *Server) Client() *http.Client { return newClient(s.pool) }

// AddUser makes a user known; unknown ids and UPNs are answered with 404.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := u
	c.ProxyAddresses = append([]string(nil), u.ProxyAddresses...)
	s.users[strings.ToLower(u.ID)] = &c
	if u.UPN != "" {
		s.users[strings.ToLower(u.UPN)] = &c
	}
}

// StatusCalls returns every setStatusMessage call, including failed ones.
func (s *Server) StatusCalls() []StatusCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StatusCall(nil), s.calls...)
}

// Current returns the last successfully applied message of a user.
func (s *Server) Current(userID string) (StatusCall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.current[strings.ToLower(userID)]
	return c, ok
}

// Requests returns every request that reached the Graph stand-in.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Unhandled lists requests to paths the stand-ins do not implement.
func (s *Server) Unhandled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unhandled...)
}

// WaitFor polls cond until it holds, failing the test after timeout.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			ok, thr, failed := s.Counts()
			t.Fatalf("fakegraph: condition not met within %s (ok=%d throttled=%d failed=%d)", timeout, ok, thr, failed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FailNext answers the next n setStatusMessage calls with status, adding
// Retry-After when retryAfter is not empty.
func (s *Server) FailNext(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus, s.failRetry = n, status, retryAfter
}

// SetUserReadStatus answers every user read (GET /users and GET /users/{id})
// with status, as Graph does for an app without User.Read.All (403); 0 restores
// normal answers. The token is still checked first.
func (s *Server) SetUserReadStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userReads = status
}

// failUserRead writes the injected answer to a user read, if one is set.
func (s *Server) failUserRead(w http.ResponseWriter) bool {
	s.mu.Lock()
	status := s.userReads
	s.mu.Unlock()
	if status == 0 {
		return false
	}
	if status == http.StatusForbidden {
		writeError(w, status, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	} else {
		writeError(w, status, http.StatusText(status), "Injected failure.")
	}
	return true
}

// SetFailureRates answers setStatusMessage calls at random with 503 or 429
// (with Retry-After retryAfter), with the given probabilities.
func (s *Server) SetFailureRates(p503, p429 float64, retryAfter string, seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p503, s.p429, s.chaosRetry = p503, p429, retryAfter
	s.rng = mrand.New(mrand.NewSource(seed))
}

// SetRateLimit allows n presence calls (setStatusMessage and presence reads
// together) in any sliding window of per and answers 429 with Retry-After
// beyond; n <= 0 removes the limit.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitN, s.limitPer, s.window = n, per, nil
}

// SetLatency makes Graph take d to answer every presence call (status
// writes and presence reads, throttled or not) after counting it in the
// throttling window, as Graph answers in 0.1 to 0.3 s; 0 answers at once.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetStatusHook makes every setStatusMessage call run f (with the addressed
// user id) before it is answered, for example to hold the call open; nil
// removes the hook.
func (s *Server) SetStatusHook(f func(userID string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Counts reports setStatusMessage calls answered 200, 429 and any other failure.
func (s *Server) Counts() (ok, throttled, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok, s.throttled, s.failed
}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// IssuedToken reports whether token was issued by the token endpoint.
func (s *Server) IssuedToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.tokens[token]
	return ok
}

// writeError writes a Graph OData error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"request-id": randHex(8), "date": time.Now().UTC().Format("2006-01-02T15:04:05")},
	}})
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	s.route(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Status: rec.status})
	s.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// route dispatches Graph requests.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1.0/")
	if !ok {
		s.unknown(w, r)
		return
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "users" && parts[2] == "presence" && parts[3] == "setStatusMessage":
		s.setStatusMessage(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "users" && parts[2] == "presence":
		s.getPresence(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "communications" && parts[1] == "presences":
		s.getPresence(w, r, parts[2])
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "communications" && parts[1] == "getPresencesByUserId":
		s.getPresencesByUserID(w, r)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "users":
		if _, ok := s.authorize(w, r); ok && !s.failUserRead(w) {
			s.getUser(w, r, parts[1])
		}
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "users":
		if _, ok := s.authorize(w, r); ok && !s.failUserRead(w) {
			s.listUsers(w, r)
		}
	default:
		s.unknown(w, r)
	}
}

func (s *Server) unknown(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unhandled = append(s.unhandled, r.Method+" "+r.URL.String())
	s.mu.Unlock()
	writeError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
}

// authorize checks the bearer token and the scope it was issued for.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return "", false
	}
	s.mu.Lock()
	scope, issued := s.tokens[tok]
	s.mu.Unlock()
	if !issued {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return tok, false
	}
	// It stands in for the global cloud's Graph, whose tokens are issued for
	// https://graph.microsoft.com; one issued for its own address is taken too.
	if own := "https://" + r.Host + "/.default"; !strings.EqualFold(scope, "https://graph.microsoft.com/.default") && !strings.EqualFold(scope, own) {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return tok, false
	}
	return tok, true
}

// lookup returns a known user by id or UPN.
func (s *Server) lookup(idOrUPN string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(idOrUPN)]
	if !ok {
		return User{}, false
	}
	return *u, true
}

func notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

var dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$`)

// parseStatusBody validates a setStatusMessage body against the documented shape.
func parseStatusBody(body []byte, c *StatusCall) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return fmt.Errorf("body is not a JSON object: %v", err)
	}
	for k := range top {
		if k != "statusMessage" {
			return fmt.Errorf("unknown property %q", k)
		}
	}
	raw, ok := top["statusMessage"]
	if !ok {
		return fmt.Errorf("statusMessage is required")
	}
	var sm map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sm); err != nil || sm == nil {
		return fmt.Errorf("statusMessage must be an object")
	}
	for k := range sm {
		if k != "message" && k != "expiryDateTime" && k != "@odata.type" {
			return fmt.Errorf("unknown property statusMessage.%s", k)
		}
	}
	var msg struct {
		Content     *string `json:"content"`
		ContentType *string `json:"contentType"`
	}
	if err := strictObject(sm["message"], &msg, "content", "contentType"); err != nil {
		return fmt.Errorf("statusMessage.message: %v", err)
	}
	if msg.Content == nil {
		return fmt.Errorf("statusMessage.message.content is required")
	}
	if msg.ContentType == nil || *msg.ContentType != "text" {
		return fmt.Errorf("statusMessage.message.contentType must be text")
	}
	c.Content, c.ContentType = *msg.Content, *msg.ContentType
	if exp, ok := sm["expiryDateTime"]; ok {
		var e struct {
			DateTime *string `json:"dateTime"`
			TimeZone *string `json:"timeZone"`
		}
		if err := strictObject(exp, &e, "dateTime", "timeZone"); err != nil {
			return fmt.Errorf("statusMessage.expiryDateTime: %v", err)
		}
		if e.DateTime == nil || !dateTimeRE.MatchString(*e.DateTime) {
			return fmt.Errorf("statusMessage.expiryDateTime.dateTime is not a date-time without offset")
		}
		if e.TimeZone == nil || *e.TimeZone == "" {
			return fmt.Errorf("statusMessage.expiryDateTime.timeZone is required")
		}
		c.HasExpiry, c.ExpiryDateTime, c.TimeZone = true, *e.DateTime, *e.TimeZone
	}
	return nil
}

// strictObject decodes an object that may carry only the named keys (and @odata.type).
func strictObject(raw json.RawMessage, v any, keys ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return fmt.Errorf("must be an object")
	}
	for k := range m {
		known := k == "@odata.type"
		for _, want := range keys {
			known = known || k == want
		}
		if !known {
			return fmt.Errorf("unknown property %q", k)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("invalid value: %v", err)
	}
	return nil
}

// readBody reads a request body, gunzipping it when Content-Encoding says so.
func readBody(r *http.Request) ([]byte, bool, error) {
	var rd io.Reader = http.MaxBytesReader(nil, r.Body, 1<<20)
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")
	if gz {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, gz, err
		}
		defer zr.Close()
		rd = zr
	}
	b, err := io.ReadAll(rd)
	return b, gz, err
}

func (s *Server) setStatusMessage(w http.ResponseWriter, r *http.Request, id string) {
	call := StatusCall{UserID: id, At: s.now()}
	body, gz, bodyErr := readBody(r)
	call.Body, call.Gzip = body, gz
	call.Token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var parseErr error
	if bodyErr == nil {
		parseErr = parseStatusBody(body, &call)
	}
	u, known := s.lookup(id)
	if known {
		call.UserID = u.ID
	}
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(call.UserID)
	}
	status := s.decide(w, r, bodyErr, parseErr, known, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	call.Status, call.Answered = status, s.now()
	s.calls = append(s.calls, call)
	switch {
	case status == http.StatusOK:
		s.ok++
		s.current[strings.ToLower(u.ID)] = call
		s.applyStatusLocked(u.ID, call)
	case status == http.StatusTooManyRequests:
		s.throttled++
	default:
		s.failed++
	}
}

// decide writes the answer to a setStatusMessage call and returns its status.
func (s *Server) decide(w http.ResponseWriter, r *http.Request, bodyErr, parseErr error, known bool, id string) int {
	if _, ok := s.authorize(w, r); !ok {
		return http.StatusUnauthorized
	}
	s.mu.Lock()
	status, retryAfter := 0, ""
	now := s.now()
	switch {
	case s.failNext > 0:
		s.failNext--
		status, retryAfter = s.failStatus, s.failRetry
	case s.p503 > 0 || s.p429 > 0:
		x := s.rng.Float64()
		if x < s.p503 {
			status = http.StatusServiceUnavailable
		} else if x < s.p503+s.p429 {
			status, retryAfter = http.StatusTooManyRequests, s.chaosRetry
		}
	}
	if status == 0 {
		status, retryAfter = s.admitLocked(now)
	}
	latency := s.latency
	s.mu.Unlock()
	time.Sleep(latency)
	if status != 0 {
		writeFailure(w, status, retryAfter)
		return status
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json.")
		return http.StatusUnsupportedMediaType
	}
	if bodyErr != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Unreadable body.")
		return http.StatusBadRequest
	}
	if parseErr != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", parseErr.Error())
		return http.StatusBadRequest
	}
	if !known {
		notFound(w, id)
		return http.StatusNotFound
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// admitLocked applies the presence throttling window that writes and reads
// share, as Graph's one presence budget per app and tenant: it returns 0, or
// 429 with the Retry-After to send. s.mu is held.
func (s *Server) admitLocked(now time.Time) (int, string) {
	if s.limitN <= 0 {
		return 0, ""
	}
	cut := now.Add(-s.limitPer)
	i := 0
	for i < len(s.window) && !s.window[i].After(cut) {
		i++
	}
	s.window = s.window[i:]
	if len(s.window) >= s.limitN {
		wait := s.window[0].Add(s.limitPer).Sub(now)
		return http.StatusTooManyRequests, strconv.Itoa(int((wait + time.Second - 1) / time.Second))
	}
	s.window = append(s.window, now)
	return 0, ""
}

// userJSON renders a user with the selected properties.
func userJSON(u User, sel string) map[string]any {
	all := map[string]any{
		"id":                u.ID,
		"userPrincipalName": u.UPN,
		"mail":              nilIfEmpty(u.Mail),
		"accountEnabled":    !u.Disabled,
		"proxyAddresses":    append([]string{}, u.ProxyAddresses...),
	}
	fields := []string{"id", "userPrincipalName", "mail"}
	if sel != "" {
		fields = strings.Split(sel, ",")
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := all[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	bad := s.badUserKeys[strings.ToLower(id)]
	s.mu.Unlock()
	if bad || strings.HasPrefix(id, "$") {
		// Graph's docs: a key starting with $ breaks the OData URL convention
		// and fails with 400 (https://learn.microsoft.com/graph/api/user-get).
		writeError(w, http.StatusBadRequest, "BadRequest", "Bad Request - Invalid URL")
		return
	}
	u, ok := s.lookup(id)
	if !ok {
		notFound(w, id)
		return
	}
	writeJSON(w, userJSON(u, r.URL.Query().Get("$select")))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var (
	mailFilterRE  = regexp.MustCompile(`^mail eq '((?:[^']|'')*)'$`)
	proxyFilterRE = regexp.MustCompile(`^proxyAddresses/any\((\w+):(\w+) eq '((?:[^']|'')*)'\)$`)
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, sel := q.Get("$filter"), q.Get("$select")
	var match func(User) bool
	switch {
	case filter == "":
		match = func(User) bool { return true }
	case mailFilterRE.MatchString(filter):
		want := strings.ReplaceAll(mailFilterRE.FindStringSubmatch(filter)[1], "''", "'")
		match = func(u User) bool { return u.Mail != "" && strings.EqualFold(u.Mail, want) }
	case proxyFilterRE.MatchString(filter):
		m := proxyFilterRE.FindStringSubmatch(filter)
		if m[1] != m[2] {
			writeError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: unknown range variable "+m[2]+".")
			return
		}
		if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") || q.Get("$count") != "true" {
			writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'.")
			return
		}
		want := strings.ReplaceAll(m[3], "''", "'")
		match = func(u User) bool {
			for _, a := range u.ProxyAddresses {
				if strings.EqualFold(a, want) {
					return true
				}
			}
			return false
		}
	default:
		writeError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		return
	}
	top := -1
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "BadRequest", "Invalid $top.")
			return
		}
		top = n
	}
	s.mu.Lock()
	seen := map[*User]bool{}
	var found []User
	for _, u := range s.users {
		if !seen[u] && match(*u) {
			found = append(found, *u)
		}
		seen[u] = true
	}
	s.mu.Unlock()
	sortUsers(found)
	count := len(found)
	if top >= 0 && len(found) > top {
		found = found[:top]
	}
	vals := make([]map[string]any, 0, len(found))
	for _, u := range found {
		vals = append(vals, userJSON(u, sel))
	}
	out := map[string]any{"@odata.context": "https://" + r.Host + "/v1.0/$metadata#users", "value": vals}
	if q.Get("$count") == "true" {
		out["@odata.count"] = count
	}
	writeJSON(w, out)
}

func sortUsers(us []User) {
	for i := 1; i < len(us); i++ {
		for j := i; j > 0 && us[j].ID < us[j-1].ID; j-- {
			us[j], us[j-1] = us[j-1], us[j]
		}
	}
}

// serveAuthority implements the parts of the Entra ID authority that MSAL uses
// when instance discovery is disabled.
func (s *Server) serveAuthority(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	base := s.authority.URL
	switch {
	case r.Method == http.MethodGet && len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		tenant := parts[0]
		if tenant != s.TenantID {
			writeAADError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
			return
		}
		writeJSON(w, map[string]any{
			"token_endpoint":                        base + "/" + tenant + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/" + tenant + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/" + tenant + "/oauth2/v2.0/devicecode",
			"issuer":                                base + "/" + tenant + "/v2.0",
			"jwks_uri":                              base + "/" + tenant + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"tenant_region_scope":                   "WW",
			"cloud_instance_name":                   "microsoftonline.com",
		})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.token(w, r, parts[0])
	default:
		s.mu.Lock()
		s.unhandled = append(s.unhandled, "authority: "+r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		http.NotFound(w, r)
	}
}

func writeAADError(w http.ResponseWriter, status int, code string, num int, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", num, desc, randHex(8), randHex(8), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{num},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          randHex(8),
		"correlation_id":    randHex(8),
	})
}

// token implements the client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	switch {
	case tenant != s.TenantID:
		writeAADError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
		return
	case f.Get("grant_type") != "client_credentials":
		writeAADError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	case f.Get("client_id") != s.ClientID:
		writeAADError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
		return
	}
	switch {
	case f.Has("client_secret"):
		if f.Get("client_secret") != s.ClientSecret {
			writeAADError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.ClientID+"'.")
			return
		}
	case f.Has("client_assertion"):
		if f.Get("client_assertion") != s.FederatedToken {
			writeAADError(w, http.StatusUnauthorized, "invalid_client", 700211, "No matching federated identity record found for presented assertion issuer.")
			return
		}
	default:
		writeAADError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	// MSAL adds the OIDC scopes to every request; Entra ignores them here.
	var scope string
	bad := false
	for _, sc := range strings.Fields(f.Get("scope")) {
		switch {
		case sc == "openid" || sc == "offline_access" || sc == "profile":
		case strings.HasSuffix(sc, "/.default") && scope == "":
			scope = sc
		default:
			bad = true
		}
	}
	if bad || scope == "" {
		scope = f.Get("scope")
		writeAADError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	// Shaped like Entra's app-only tokens: a JWT whose payload lists the
	// application permissions granted ("roles"); the signature is not real.
	s.mu.Lock()
	roles := s.roles
	s.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"aud": strings.TrimSuffix(scope, "/.default"), "tid": s.TenantID,
		"appid": s.ClientID, "roles": roles, "uti": randHex(8)})
	tok := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(payload) + "." + randHex(16)
	s.mu.Lock()
	s.tokens[tok] = scope
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     3599,
		"ext_expires_in": 3599,
		"access_token":   tok,
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newClient returns an HTTP client trusting only pool.
func newClient(pool *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = tlsClientConfig(pool)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// NewTLSServer starts another TLS server with the stand-in's certificate
// (valid for 127.0.0.1 and localhost), closed when the test ends.
func (s *Server) NewTLSServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = s.graph.TLS.Clone()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// PlainGraphURL serves the same Graph over plain HTTP on loopback, as a local
// stand-in without TLS would, and returns its base URL (…/v1.0).
func (s *Server) PlainGraphURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(s.serveGraph))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1.0"
}

// RejectUserKey makes GET /users/{key} answer 400 Bad Request for that
// exact path key (compared without case), as Graph does for some characters
// in a UPN. Keys starting with $ are always answered 400, as Graph documents.
func (s *Server) RejectUserKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badUserKeys[strings.ToLower(key)] = true
}

// SetRoles sets the application permissions that tokens issued from now on
// carry (default Presence.ReadWrite.All and User.Read.All).
func (s *Server) SetRoles(roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles = roles
}

// Reset forgets recorded calls, requests and counts, and clears injected failures.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.requests, s.unhandled = nil, nil, nil
	s.ok, s.throttled, s.failed = 0, 0, 0
	s.failNext, s.p503, s.p429, s.limitN, s.window = 0, 0, 0, 0, nil
	s.userReads = 0
	s.reads = PresenceReadCounts{}
	s.failReads, s.garbleReads, s.unknownAsPresenceUnknown = 0, 0, false
}
