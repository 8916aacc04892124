package fakegraph

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// maxPresenceIDs is the most ids getPresencesByUserId takes.
// See https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid.
const maxPresenceIDs = 650

// presence is one user's presence as the stand-in keeps it.
type presence struct {
	availability, activity string
	msg                    *statusMessage
}

// statusMessage is a status message as set through setStatusMessage or by hand.
type statusMessage struct {
	content, contentType     string
	expiry                   time.Time // zero: never
	expiryDateTime, timeZone string
	published                time.Time
}

// TeamsMessage is a status message as a person sets it in Teams.
type TeamsMessage struct {
	// Content is the message as Graph returns it, such as "Out sick" or,
	// with ContentType "html", "<p>Out sick &amp; offline</p>".
	Content string
	// ContentType is "text" (the default) or "html".
	ContentType string
	// Expiry is when the message lapses; zero means never.
	Expiry time.Time
}

// PresenceReadCounts counts the presence reads the stand-in answered
// (GET /users/{id}/presence, GET /communications/presences/{id} and
// POST /communications/getPresencesByUserId).
type PresenceReadCounts struct {
	// Calls is every read request that reached the stand-in.
	Calls int
	// IDs is the number of user ids asked for in the reads answered 200.
	IDs int
	// Throttled is the reads answered 429.
	Throttled int
	// Failed is the reads answered with any other failure.
	Failed int
	// Gzipped is the reads answered 200 with a gzip body (the client
	// accepted gzip, and Graph compresses its answers then).
	Gzipped int
}

// SetNow sets the stand-in's clock, used for expiry, published times and
// the throttling window; nil restores time.Now.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// SetMessageByHand sets a user's status message as a person typing in
// Teams would; an empty Content clears it.
func (s *Server) SetMessageByHand(userID string, m TeamsMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.presenceLocked(userID)
	if m.Content == "" {
		p.msg = nil
		return
	}
	ct := m.ContentType
	if ct == "" {
		ct = "text"
	}
	sm := &statusMessage{content: m.Content, contentType: ct, published: s.now().UTC()}
	if !m.Expiry.IsZero() {
		sm.expiry = m.Expiry.UTC()
		sm.expiryDateTime, sm.timeZone = sm.expiry.Format("2006-01-02T15:04:05.0000000"), "UTC"
	}
	p.msg = sm
}

// SetAvailability sets a user's availability and activity, such as "Busy", "InAMeeting".
func (s *Server) SetAvailability(userID, availability, activity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.presenceLocked(userID)
	p.availability, p.activity = availability, activity
}

// StatusMessage returns the message a read would show now: its content and
// contentType; ok is false when none is set or it has expired.
func (s *Server) StatusMessage(userID string) (content, contentType string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.presences[strings.ToLower(userID)]
	if p == nil {
		return "", "", false
	}
	m := s.liveLocked(p)
	if m == nil {
		return "", "", false
	}
	return m.content, m.contentType, true
}

// PresenceReads returns the presence read counters.
func (s *Server) PresenceReads() PresenceReadCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// FailNextReads answers the next n presence reads with status, adding
// Retry-After when retryAfter is not empty.
func (s *Server) FailNextReads(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failReads, s.failReadStatus, s.failReadRetry = n, status, retryAfter
}

// GarbleNextReads makes the next n presence reads answer 200 with a body cut
// off in the middle of its JSON, as a connection dropped mid-answer leaves it.
func (s *Server) GarbleNextReads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.garbleReads = n
}

// SetUnknownIDsAsPresenceUnknown makes getPresencesByUserId answer ids it
// does not know with availability and activity "PresenceUnknown" instead of
// leaving them out; Graph's docs do not say which it does.
func (s *Server) SetUnknownIDsAsPresenceUnknown(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unknownAsPresenceUnknown = on
}

// presenceLocked returns the user's presence record, creating it; s.mu is held.
func (s *Server) presenceLocked(userID string) *presence {
	key := strings.ToLower(userID)
	if u, ok := s.users[key]; ok {
		key = strings.ToLower(u.ID)
	}
	p := s.presences[key]
	if p == nil {
		p = &presence{availability: "Offline", activity: "Offline"}
		s.presences[key] = p
	}
	return p
}

// liveLocked returns the presence's message unless none is set or it has
// expired by the stand-in's clock; s.mu is held.
func (s *Server) liveLocked(p *presence) *statusMessage {
	if p.msg == nil || (!p.msg.expiry.IsZero() && !s.now().Before(p.msg.expiry)) {
		return nil
	}
	return p.msg
}

// applyStatusLocked records a successful setStatusMessage call; s.mu is held.
func (s *Server) applyStatusLocked(userID string, c StatusCall) {
	p := s.presenceLocked(userID)
	if c.Content == "" {
		p.msg = nil
		return
	}
	sm := &statusMessage{content: c.Content, contentType: c.ContentType, published: c.At.UTC()}
	if c.HasExpiry {
		sm.expiryDateTime, sm.timeZone = c.ExpiryDateTime, c.TimeZone
		sm.expiry = parseExpiry(c.ExpiryDateTime, c.TimeZone)
	}
	p.msg = sm
}

// parseExpiry reads a dateTimeTimeZone: UTC, an IANA zone name, or (for
// zones the stand-in cannot load, such as Windows names) UTC.
func parseExpiry(dateTime, zone string) time.Time {
	loc := time.UTC
	if l, err := time.LoadLocation(zone); err == nil && zone != "" {
		loc = l
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", dateTime, loc)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// presenceJSON renders a presence as Graph does for another user: the
// status message without expiryDateTime or publishedDateTime, as
// https://learn.microsoft.com/graph/api/resources/presencestatusmessage says.
func (s *Server) presenceJSON(id string, p *presence) map[string]any {
	out := map[string]any{
		"id":                  id,
		"availability":        "Offline",
		"activity":            "Offline",
		"statusMessage":       nil,
		"outOfOfficeSettings": map[string]any{"message": nil, "isOutOfOffice": false},
	}
	if p == nil {
		return out
	}
	out["availability"], out["activity"] = p.availability, p.activity
	if m := s.liveLocked(p); m != nil {
		out["statusMessage"] = map[string]any{"message": map[string]any{"content": m.content, "contentType": m.contentType}}
	}
	return out
}

// readGate checks the token, injected failures and the shared presence
// throttling window for one read, writing the failure when there is one.
func (s *Server) readGate(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.reads.Calls++
	s.mu.Unlock()
	if _, ok := s.authorize(w, r); !ok {
		s.countRead(http.StatusUnauthorized, 0)
		return false
	}
	s.mu.Lock()
	status, retryAfter := 0, ""
	if s.failReads > 0 {
		s.failReads--
		status, retryAfter = s.failReadStatus, s.failReadRetry
	}
	if status == 0 {
		status, retryAfter = s.admitLocked(s.now())
	}
	latency := s.latency
	s.mu.Unlock()
	time.Sleep(latency)
	if status == 0 {
		return true
	}
	writeFailure(w, status, retryAfter)
	s.countRead(status, 0)
	return false
}

// countRead counts the answer to one read.
func (s *Server) countRead(status, ids int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case status == http.StatusOK:
		s.reads.IDs += ids
	case status == http.StatusTooManyRequests:
		s.reads.Throttled++
	default:
		s.reads.Failed++
	}
}

// getPresence answers GET /users/{id}/presence and GET /communications/presences/{id}.
func (s *Server) getPresence(w http.ResponseWriter, r *http.Request, id string) {
	if !s.readGate(w, r) {
		return
	}
	u, ok := s.lookup(id)
	if !ok || !strings.EqualFold(u.ID, id) {
		// Presence is addressed by object id; a UPN or an unknown id is not found.
		notFound(w, id)
		s.countRead(http.StatusNotFound, 0)
		return
	}
	s.mu.Lock()
	body := s.presenceJSON(u.ID, s.presences[strings.ToLower(u.ID)])
	s.mu.Unlock()
	body["@odata.context"] = "https://" + r.Host + "/v1.0/$metadata#users('" + u.ID + "')/presence/$entity"
	writeJSON(w, body)
	s.countRead(http.StatusOK, 1)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// getPresencesByUserID answers POST /communications/getPresencesByUserId.
func (s *Server) getPresencesByUserID(w http.ResponseWriter, r *http.Request) {
	if !s.readGate(w, r) {
		return
	}
	fail := func(status int, code, msg string) {
		writeError(w, status, code, msg)
		s.countRead(status, 0)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json.")
		return
	}
	body, _, err := readBody(r)
	if err != nil {
		fail(http.StatusBadRequest, "BadRequest", "Unreadable body.")
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := strictObject(body, &req, "ids"); err != nil {
		fail(http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
		return
	}
	switch {
	case len(req.IDs) == 0:
		fail(http.StatusBadRequest, "BadRequest", "The ids parameter is required.")
		return
	case len(req.IDs) > maxPresenceIDs:
		fail(http.StatusBadRequest, "BadRequest", "The number of ids exceeds the maximum of 650.")
		return
	}
	for _, id := range req.IDs {
		if !guidRE.MatchString(id) {
			fail(http.StatusBadRequest, "BadRequest", "Invalid user id '"+id+"'.")
			return
		}
	}
	vals := make([]map[string]any, 0, len(req.IDs))
	s.mu.Lock()
	for _, id := range req.IDs {
		u, ok := s.users[strings.ToLower(id)]
		switch {
		case ok && strings.EqualFold(u.ID, id):
			vals = append(vals, s.presenceJSON(u.ID, s.presences[strings.ToLower(u.ID)]))
		case s.unknownAsPresenceUnknown:
			vals = append(vals, map[string]any{"id": id, "availability": "PresenceUnknown", "activity": "PresenceUnknown",
				"statusMessage": nil, "outOfOfficeSettings": map[string]any{"message": nil, "isOutOfOffice": false}})
		}
	}
	garble := s.garbleReads > 0
	if garble {
		s.garbleReads--
	}
	s.mu.Unlock()
	answer := map[string]any{
		"@odata.context": "https://" + r.Host + "/v1.0/$metadata#Collection(microsoft.graph.presence)",
		"value":          vals,
	}
	w.Header().Set("Content-Type", "application/json")
	var out io.Writer = w
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		out = zw
		s.mu.Lock()
		s.reads.Gzipped++
		s.mu.Unlock()
	}
	b, _ := json.Marshal(answer)
	if garble {
		b = b[:len(b)/2]
	}
	_, _ = out.Write(b)
	s.countRead(http.StatusOK, len(req.IDs))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// writeFailure writes an injected or throttling failure.
func writeFailure(w http.ResponseWriter, status int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	switch status {
	case http.StatusTooManyRequests:
		writeError(w, status, "TooManyRequests", "Too many requests.")
	case http.StatusServiceUnavailable:
		writeError(w, status, "ServiceUnavailable", "The service is temporarily unavailable.")
	default:
		writeError(w, status, http.StatusText(status), "Injected failure.")
	}
}
