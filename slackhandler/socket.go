package slackhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/statusbridge/statusbridge/bridge"
)

// Socket Mode defaults.
const (
	// DefaultStaleAfter is how long a connection may stay silent (no message,
	// no ping) before the watchdog replaces it.
	DefaultStaleAfter = 2 * time.Minute
	// healthyAfter is how long a connection must have lasted for the next
	// reconnect to start the backoff afresh.
	healthyAfter = 30 * time.Second
	// drainFor bounds how long a connection Slack asked to leave keeps
	// serving while its successor connects.
	drainFor = 10 * time.Second
	// maxEnvelopeBytes caps one WebSocket message.
	maxEnvelopeBytes = 4 << 20
	// maxInFlight bounds the envelopes being stored at once.
	maxInFlight = 16
	writeWait   = 10 * time.Second
)

// SocketObserver receives Socket Mode events, for metrics. Its methods must
// be safe for concurrent use and must not block.
type SocketObserver interface {
	// Envelope counts an envelope by outcome ("accepted", "duplicate", "stale",
	// "unchanged", "error", "invalid", "bad_request", "rate_limited", "ignored",
	// "foreign_team", "command", "unavailable", "interaction", "home")
	// and whether Slack was redelivering it (retry_attempt > 0).
	Envelope(outcome string, redelivery bool)
	// Reconnect counts an ended connection by reason ("disconnect", "stale",
	// "closed").
	Reconnect(reason string)
}

type nopSocketObserver struct{}

func (nopSocketObserver) Envelope(string, bool) {}
func (nopSocketObserver) Reconnect(string)      {}

// SocketOption configures a SocketRunner.
type SocketOption func(*SocketRunner)

// WithSocketLogger sets the runner's logger (default: discard).
func WithSocketLogger(l *slog.Logger) SocketOption { return func(r *SocketRunner) { r.log = l } }

// WithStaleAfter sets the watchdog: a connection on which nothing, not even a
// ping, arrived for d is replaced (default DefaultStaleAfter).
func WithStaleAfter(d time.Duration) SocketOption {
	return func(r *SocketRunner) {
		if d > 0 {
			r.staleAfter = d
		}
	}
}

// WithSocketClock sets the clock the watchdog measures silence with (default time.Now).
func WithSocketClock(now func() time.Time) SocketOption { return func(r *SocketRunner) { r.now = now } }

// WithSocketControls lets employees use the slash command and App Home's
// buttons over Socket Mode; without it they get a polite "not available".
func WithSocketControls(c Controls) SocketOption { return func(r *SocketRunner) { r.ctl.controls = c } }

// WithSocketOrg mirrors, and answers, only users whose org allow accepts, as
// WithOrg does for HTTP.
func WithSocketOrg(allow func(teamID, enterpriseID string) bool) SocketOption {
	return func(r *SocketRunner) { r.ctl.allow = allow }
}

// WithSocketHomeTimeout bounds the work a click or an opened App Home starts
// after the ack (default DefaultHomeTimeout).
func WithSocketHomeTimeout(d time.Duration) SocketOption {
	return func(r *SocketRunner) {
		if d > 0 {
			r.ctl.bgWait = d
		}
	}
}

// WithSocketObserver sets the receiver of envelope outcomes and reconnects.
func WithSocketObserver(o SocketObserver) SocketOption { return func(r *SocketRunner) { r.obs = o } }

// WithReconnectBackoff sets the wait after the first failed connection
// attempt and its cap; the wait doubles per failure, with jitter (default 1 s, 2 min).
func WithReconnectBackoff(initial, max time.Duration) SocketOption {
	return func(r *SocketRunner) {
		if initial > 0 && max >= initial {
			r.backoffMin, r.backoffMax = initial, max
		}
	}
}

// SocketRunner receives events over Slack's Socket Mode
// (https://api.slack.com/apis/socket-mode) and submits status changes, like
// Handler does for HTTP. Each envelope is acked only after Submit stored its
// change; otherwise Slack delivers it again.
//
// It uses slack-go for apps.connections.open and runs its own WebSocket loop
// (gorilla/websocket) rather than slack-go's socketmode.Client, which acks
// through a queue shared by all connections (an ack can leave on a later
// connection than the envelope came on, and a failed write is only reported
// as an event), decodes payloads with strict types before handing them over,
// watches only pings on a ticker (a silent connection can live twice the
// interval) and redials a connection that drops at once without backoff.
type SocketRunner struct {
	appToken   string
	apiURL     string
	sub        Submitter
	log        *slog.Logger
	now        func() time.Time
	obs        SocketObserver
	staleAfter time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	dialer     *websocket.Dialer
	jitter     func() float64

	live     atomic.Int32 // open connections on which Slack sent something
	seq      atomic.Int64
	sem      chan struct{}
	handling sync.WaitGroup // envelopes being handled, on any connection
	mu       sync.Mutex
	liveSig  chan struct{} // closed and replaced whenever a connection becomes live
	ctl      controller
	tracer   bridge.Tracer
}

// NewSocketRunner returns a runner that opens connections with appToken
// (xapp-…, scope connections:write) at apiURL (DefaultAPIURL when empty) and
// submits status changes to sub. botToken is the app's Web API token, with
// which App Home is published; Socket Mode itself needs only appToken.
func NewSocketRunner(appToken, botToken, apiURL string, sub Submitter, opts ...SocketOption) *SocketRunner {
	r := &SocketRunner{
		appToken:   appToken,
		apiURL:     apiURL,
		sub:        sub,
		log:        slog.New(slog.DiscardHandler),
		now:        time.Now,
		obs:        nopSocketObserver{},
		staleAfter: DefaultStaleAfter,
		backoffMin: time.Second,
		backoffMax: 2 * time.Minute,
		dialer: &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: 10 * time.Second,
			// Slack does not reassemble fragmented frames; keep writes in one frame.
			WriteBufferSize: 32 << 10,
		},
		jitter:  rand.Float64,
		sem:     make(chan struct{}, maxInFlight),
		liveSig: make(chan struct{}),
	}
	r.ctl.bgWait = DefaultHomeTimeout
	r.ctl.home = newHomePublisher(botToken, apiURL)
	for _, o := range opts {
		o(r)
	}
	r.ctl.log, r.ctl.timeout = r.log, DefaultSubmitTimeout
	return r
}

// Connected reports whether a WebSocket connection is up and Slack sent
// something on it (normally hello).
func (r *SocketRunner) Connected() bool { return r.live.Load() > 0 }

// Run connects and serves until ctx ends (it returns nil) or Slack refuses
// the app-level token (it returns an error saying what to fix). Connections
// that fail, drop, go silent or are refreshed by Slack are replaced, with
// exponential backoff and jitter while they keep failing.
func (r *SocketRunner) Run(ctx context.Context) error {
	var (
		fails    int
		lastErr  string
		draining sync.WaitGroup
	)
	// Envelopes taken on any connection, also dropped ones, end before Run
	// does, and so does the work clicks and opened App Homes started.
	defer r.ctl.bg.Wait()
	defer r.handling.Wait()
	defer draining.Wait()
	for {
		if ctx.Err() != nil {
			return nil
		}
		c, err := r.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ae *AuthError
			if errors.As(err, &ae) {
				return socketAuthError(ae)
			}
			fails++
			wait := r.backoff(fails)
			var thr *bridge.ThrottledError
			if errors.As(err, &thr) && thr.RetryAfter > wait {
				wait = thr.RetryAfter
			}
			level := slog.LevelDebug
			if err.Error() != lastErr {
				level, lastErr = slog.LevelWarn, err.Error()
			}
			r.log.Log(ctx, level, "Socket Mode: cannot connect to Slack; retrying", "err", err, "attempt", fails, "retry_in", wait.Round(time.Millisecond))
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		lastErr = ""
		start := r.now()
		reason, slackReason := r.serve(ctx, c)
		lived := r.now().Sub(start)
		if ctx.Err() != nil {
			r.shutdown(c)
			return nil
		}
		r.obs.Reconnect(reason)
		if reason == "disconnect" {
			// Keep the old connection serving until its successor is live.
			r.mu.Lock()
			sig := r.liveSig
			r.mu.Unlock()
			draining.Add(1)
			go func() {
				defer draining.Done()
				r.retire(ctx, c, sig)
			}()
		}
		var wait time.Duration
		switch {
		case reason == "disconnect" && slackReason == "link_disabled":
			fails++
			wait = r.backoff(fails)
			r.log.Error("Socket Mode: Slack disabled Socket Mode for the app; turn it on at api.slack.com/apps → your app → Socket Mode, or set SLACK_SIGNING_SECRET instead of SLACK_APP_TOKEN to receive events over HTTP",
				"conn", c.id, "retry_in", wait.Round(time.Millisecond))
		case reason == "disconnect" && slackReason == "too_many_websockets":
			fails++
			wait = r.backoff(fails)
			r.log.Warn("Socket Mode: Slack refused a connection: the app has too many WebSocket connections (at most 10 per app); run fewer replicas",
				"conn", c.id, "retry_in", wait.Round(time.Millisecond))
		case reason == "disconnect":
			// Slack asked for a new connection; that is no failure.
			fails = 0
		case lived < healthyAfter:
			fails++
			wait = r.backoff(fails)
		default:
			fails = 0
			wait = time.Duration(r.jitter() * float64(r.backoffMin))
		}
		r.log.Info("Socket Mode: reconnecting", "conn", c.id, "reason", reason, "slack_reason", slackReason, "retry_in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// socketAuthError turns Slack's refusal of the app-level token into one line
// saying what to fix.
func socketAuthError(ae *AuthError) error {
	const where = "api.slack.com/apps → your app → Basic Information → App-Level Tokens"
	var msg string
	switch ae.Code {
	case "not_allowed_token_type":
		msg = "it is not an app-level token: set SLACK_APP_TOKEN to an app-level token (xapp-…) with the connections:write scope (" + where + ")"
	case "missing_scope", "no_permission":
		msg = "the token lacks the connections:write scope: generate a new app-level token with connections:write (" + where + ") and set SLACK_APP_TOKEN"
	default:
		msg = "generate a new app-level token with the connections:write scope (" + where + ") and set SLACK_APP_TOKEN; check that Socket Mode is enabled for the app"
	}
	return &socketAuthErr{msg: fmt.Sprintf("Socket Mode: Slack rejected SLACK_APP_TOKEN (%s): %s", ae.Code, msg), err: ae}
}

// socketAuthErr is Run's fatal error; errors.Is(err, ErrAuth) holds for it.
type socketAuthErr struct {
	msg string
	err *AuthError
}

func (e *socketAuthErr) Error() string { return e.msg }
func (e *socketAuthErr) Unwrap() error { return e.err }

// backoff is the wait after the n-th failure in a row: initial·2^(n-1),
// capped, with jitter over its upper half.
func (r *SocketRunner) backoff(n int) time.Duration {
	d := r.backoffMin
	for i := 1; i < n && d < r.backoffMax; i++ {
		d *= 2
	}
	d = min(d, r.backoffMax)
	return d/2 + time.Duration(r.jitter()*float64(d/2))
}

// sleep waits d; it reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	return bridge.Sleep(ctx, d) == nil
}

// sconn is one Socket Mode WebSocket connection.
type sconn struct {
	id       int64
	ws       *websocket.Conn
	wmu      sync.Mutex
	lastSeen atomic.Int64 // Unix nanoseconds, by the runner's clock
	live     atomic.Bool  // Slack sent something on it
	inflight sync.WaitGroup
	done     chan struct{} // closed when the reader ended
	leave    chan string   // Slack's disconnect reason
	endOnce  sync.Once
	reason   atomic.Value // string: why the connection ended
	smu      sync.Mutex   // orders take against stop
	stopping bool         // no new envelopes are taken; guarded by smu
}

func (c *sconn) touch(t time.Time) { c.lastSeen.Store(t.UnixNano()) }

// take registers an envelope to handle on c and on r; it reports false once
// c stopped taking envelopes.
func (c *sconn) take(r *SocketRunner) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.stopping {
		return false
	}
	c.inflight.Add(1)
	r.handling.Add(1)
	return true
}

// stop makes c take no more envelopes and waits for those it took.
func (c *sconn) stop() {
	c.smu.Lock()
	c.stopping = true
	c.smu.Unlock()
	c.inflight.Wait()
}

// isStopping reports whether c stopped taking envelopes.
func (c *sconn) isStopping() bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.stopping
}

// end closes the connection at once, recording why.
func (c *sconn) end(reason string) {
	c.endOnce.Do(func() {
		c.reason.Store(reason)
		c.ws.Close()
	})
}

// closeGracefully sends a close frame and closes the connection.
func (c *sconn) closeGracefully() {
	c.endOnce.Do(func() {
		c.reason.Store("closed")
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.wmu.Unlock()
		c.ws.Close()
	})
}

// closed reports whether the connection's reader ended.
func (c *sconn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ack acknowledges an envelope; a non-nil payload (a slash command's reply) goes with it.
func (c *sconn) ack(envelopeID string, payload any) error {
	if c.closed() {
		return errors.New("connection closed")
	}
	b, err := json.Marshal(struct {
		EnvelopeID string `json:"envelope_id"`
		Payload    any    `json:"payload,omitempty"`
	}{envelopeID, payload})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// connect opens one connection: apps.connections.open, then the WebSocket.
func (r *SocketRunner) connect(ctx context.Context) (*sconn, error) {
	wsURL, err := OpenConnection(ctx, r.appToken, r.apiURL)
	if err != nil {
		return nil, err
	}
	host := "Slack"
	if u, perr := url.Parse(wsURL); perr == nil {
		host = u.Host
	}
	// No Origin header: Slack's endpoint needs none, and a server that checks
	// it would refuse a foreign one.
	ws, resp, err := r.dialer.DialContext(ctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		// The URL carries a one-time ticket: never let it into an error.
		msg := strings.ReplaceAll(err.Error(), wsURL, host)
		if resp != nil {
			msg += " (HTTP " + resp.Status + ")"
		}
		return nil, &bridge.TransientError{Reason: "Socket Mode WebSocket at " + host + ": " + msg}
	}
	ws.SetReadLimit(maxEnvelopeBytes)
	c := &sconn{id: r.seq.Add(1), ws: ws, done: make(chan struct{}), leave: make(chan string, 1)}
	c.touch(r.now())
	ws.SetPingHandler(func(data string) error {
		c.touch(r.now())
		r.markLive(c)
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		var ne net.Error
		if err == websocket.ErrCloseSent || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error {
		c.touch(r.now())
		return nil
	})
	r.log.Debug("Socket Mode: WebSocket open", "conn", c.id, "host", host)
	go r.read(ctx, c)
	go r.watch(c)
	return c, nil
}

// serve waits until the connection must be replaced or ctx ends, and says
// why; on "disconnect" it also returns the reason Slack gave.
func (r *SocketRunner) serve(ctx context.Context, c *sconn) (reason, slackReason string) {
	select {
	case <-ctx.Done():
		return "shutdown", ""
	case slackReason := <-c.leave:
		r.log.Info("Socket Mode: Slack asked to reconnect", "conn", c.id, "reason", slackReason)
		return "disconnect", slackReason
	case <-c.done:
		reason, _ := c.reason.Load().(string)
		if reason == "" {
			reason = "closed"
		}
		return reason, ""
	}
}

// retire lets a connection that Slack asked to leave finish its work: it
// takes envelopes until sig says a successor is live (or drainFor passed, or
// Slack closed it), then closes once what it took is acked.
func (r *SocketRunner) retire(ctx context.Context, c *sconn, sig <-chan struct{}) {
	t := time.NewTimer(drainFor)
	defer t.Stop()
	select {
	case <-sig:
	case <-t.C:
	case <-c.done:
	case <-ctx.Done():
	}
	c.stop()
	c.closeGracefully()
	<-c.done
}

// shutdown stops taking envelopes, lets those taken be stored and acked, and closes.
func (r *SocketRunner) shutdown(c *sconn) {
	c.stop()
	c.closeGracefully()
	<-c.done
}

// watch replaces the connection when nothing arrived for staleAfter.
func (r *SocketRunner) watch(c *sconn) {
	poll := min(max(r.staleAfter/10, 5*time.Millisecond), 250*time.Millisecond)
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		idle := r.now().Sub(time.Unix(0, c.lastSeen.Load()))
		if idle >= r.staleAfter {
			r.log.Warn("Socket Mode: nothing from Slack for too long, not even a ping; replacing the connection",
				"conn", c.id, "idle", idle.Round(time.Millisecond), "stale_after", r.staleAfter)
			c.end("stale")
			return
		}
		t.Reset(min(poll, r.staleAfter-idle))
	}
}

// socketMessage is a Socket Mode message from Slack.
type socketMessage struct {
	Type           string
	EnvelopeID     string
	Reason         string
	Payload        json.RawMessage
	RetryAttempt   int64
	RetryReason    string
	NumConnections int64
	Host           string
}

// parseSocketMessage decodes a message leniently: a field of an unexpected
// JSON type reads as zero, so that an envelope whose id is readable is always
// handled (and acked as its content deserves) rather than delivered again
// and again.
func parseSocketMessage(b []byte) (socketMessage, error) {
	if !isObject(b) {
		return socketMessage{}, errors.New("not a JSON object")
	}
	var w struct {
		Type           lstring         `json:"type"`
		EnvelopeID     lstring         `json:"envelope_id"`
		Reason         lstring         `json:"reason"`
		Payload        json.RawMessage `json:"payload"`
		RetryAttempt   lint            `json:"retry_attempt"`
		RetryReason    lstring         `json:"retry_reason"`
		NumConnections lint            `json:"num_connections"`
		DebugInfo      json.RawMessage `json:"debug_info"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return socketMessage{}, err
	}
	var debug struct {
		Host lstring `json:"host"`
	}
	_ = lenientObject(w.DebugInfo, &debug)
	return socketMessage{
		Type:           string(w.Type),
		EnvelopeID:     string(w.EnvelopeID),
		Reason:         string(w.Reason),
		Payload:        w.Payload,
		RetryAttempt:   int64(w.RetryAttempt),
		RetryReason:    string(w.RetryReason),
		NumConnections: int64(w.NumConnections),
		Host:           string(debug.Host),
	}, nil
}

// markLive counts c as live once Slack sent anything on it (normally hello);
// it reports whether this was the first time.
func (r *SocketRunner) markLive(c *sconn) bool {
	if !c.live.CompareAndSwap(false, true) {
		return false
	}
	r.live.Add(1)
	r.mu.Lock()
	close(r.liveSig)
	r.liveSig = make(chan struct{})
	r.mu.Unlock()
	return true
}

// read reads the connection until it fails, and dispatches what arrives.
func (r *SocketRunner) read(ctx context.Context, c *sconn) {
	defer func() {
		if c.live.Load() {
			r.live.Add(-1)
		}
		c.end("closed")
		close(c.done)
	}()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			r.log.Debug("Socket Mode: connection ended", "conn", c.id, "err", err)
			return
		}
		c.touch(r.now())
		first := r.markLive(c)
		m, err := parseSocketMessage(msg)
		if err != nil {
			r.log.Warn("Socket Mode: unreadable message ignored", "conn", c.id, "err", err)
			continue
		}
		if first && m.Type != "hello" {
			r.log.Info("Socket Mode connected; Slack sent no hello first", "conn", c.id, "type", m.Type)
		}
		switch m.Type {
		case "hello":
			r.log.Info("Socket Mode connected", "conn", c.id, "num_connections", m.NumConnections, "host", m.Host)
		case "disconnect":
			select {
			case c.leave <- m.Reason:
			default:
			}
		default:
			if m.EnvelopeID == "" {
				r.log.Debug("Socket Mode: message ignored", "conn", c.id, "type", m.Type)
				continue
			}
			if ctx.Err() != nil || !c.take(r) {
				// Not acked: Slack delivers it again on another connection.
				continue
			}
			go r.handle(ctx, c, m)
		}
	}
}

// handle stores one envelope's change and acks the envelope only after that succeeded.
func (r *SocketRunner) handle(ctx context.Context, c *sconn, m socketMessage) {
	defer r.handling.Done()
	defer c.inflight.Done()
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	if c.isStopping() || ctx.Err() != nil || c.closed() {
		// Waited while the connection was closing or gone: not acked, so
		// Slack delivers it again, and closing does not wait for a backlog.
		return
	}
	log := r.log.With("conn", c.id, "envelope_id", m.EnvelopeID)
	if m.RetryAttempt > 0 {
		log.Debug("Socket Mode redelivery", "retry_attempt", m.RetryAttempt, "retry_reason", m.RetryReason)
	}
	outcome, payload := r.process(ctx, log, m)
	r.obs.Envelope(outcome, m.RetryAttempt > 0)
	if outcome == "error" {
		return
	}
	if err := c.ack(m.EnvelopeID, payload); err != nil {
		log.Debug("Socket Mode: could not ack; Slack will deliver the envelope again", "err", err)
	}
}

// process decides what an envelope means, stores its change or answers it,
// and returns the outcome and the ack's payload (nil for none); every outcome
// but "error" is acked.
func (r *SocketRunner) process(ctx context.Context, log *slog.Logger, m socketMessage) (string, any) {
	switch m.Type {
	case "events_api":
		return r.processEvent(ctx, log, m), nil
	case "slash_commands":
		sc, err := ParseSlashCommandJSON(m.Payload)
		if err != nil {
			log.Warn("Socket Mode: malformed slash command dropped", "err", err)
			return "bad_request", nil
		}
		reply, outcome := r.ctl.command(context.WithoutCancel(ctx), sc)
		return outcome, reply
	case "interactive":
		in, err := ParseInteraction(m.Payload)
		if err != nil {
			log.Warn("Socket Mode: malformed interaction dropped", "err", err)
			return "bad_request", nil
		}
		// Acked at once; the action and the new view follow in the background.
		return r.ctl.click(in), nil
	}
	log.Debug("Socket Mode envelope ignored", "type", m.Type)
	return "ignored", nil
}

// processEvent handles an events_api envelope.
func (r *SocketRunner) processEvent(ctx context.Context, log *slog.Logger, m socketMessage) string {
	ev, err := ParseEvent(m.Payload)
	if err != nil {
		log.Warn("Socket Mode: malformed event payload dropped", "err", err)
		return "bad_request"
	}
	log = log.With("event_id", ev.EventID, "team", ev.TeamID)
	switch {
	case ev.Type == TypeAppRateLimited:
		log.Warn("slack is dropping events: app rate limited", "minute", ev.MinuteRateLimited, "app", ev.APIAppID)
		return "rate_limited"
	case ev.Type == TypeEventCallback && ev.InnerType == TypeAppHomeOpened:
		return r.ctl.homeOpened(ev)
	case ev.Type != TypeEventCallback || !ev.IsStatusEvent():
		log.Debug("slack event ignored", "type", ev.Type, "event_type", ev.InnerType)
		return "ignored"
	}
	if team, enterprise := ev.UserOrg(); !allowed(r.ctl.allow, team, enterprise, ev.User.IsStranger) {
		log.Info("slack event of a user of another org ignored", "user", ev.User.ID,
			"user_team", team, "user_enterprise", enterprise)
		return "foreign_team"
	}
	ctx, end := intakeSpan(ctx, r.tracer, SpanSocketIntake, ev)
	ch, err := ev.StatusChange("socket")
	defer func() { end(err) }()
	if err != nil {
		// Delivering it again cannot help.
		log.Warn("slack status event rejected", "event_type", ev.InnerType, "err", err)
		return "invalid"
	}
	// A change that is being stored when Run ends still gets its chance to be acked.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultSubmitTimeout)
	defer cancel()
	out, err := r.sub.Submit(sctx, ch)
	if err != nil {
		log.Error("could not store status change; Slack will deliver it again", "user", ch.UserID, "err", err)
		return "error"
	}
	log.Debug("slack status change submitted", "user", ch.UserID, "event_type", ev.InnerType,
		"outcome", out.String(), "emoji", ch.Status.EmojiName, "expiration", ch.Status.Expiration)
	return out.String()
}
