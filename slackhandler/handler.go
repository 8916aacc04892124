// Package slackhandler is statusbridge's Slack side: the Events API
// http.Handler that verifies Slack's signature and turns user status events
// into bridge changes and answers employees' slash commands, App Home and
// its buttons, the Socket Mode runner that does the same over a WebSocket, the tolerant decoder of those events, the conversion of
// a Slack status (emoji included) into a bridge.Status, and the Web API
// directory used to identify users. It is the only package that imports slack-go.
package slackhandler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// MaxBodyBytes caps the size of an Events API request body.
const MaxBodyBytes = 1 << 20

// MaxClockSkew is how far a request's timestamp may be from the clock; Slack
// asks receivers to reject anything older than five minutes
// (https://docs.slack.dev/authentication/verifying-requests-from-slack/).
const MaxClockSkew = 5 * time.Minute

// DefaultSubmitTimeout bounds Submit so that Slack, which gives up after 3 s,
// gets an answer (503, so it retries) even when the store hangs.
const DefaultSubmitTimeout = 2500 * time.Millisecond

// Submitter stores a change durably; bridge.Engine implements it.
type Submitter interface {
	Submit(ctx context.Context, c bridge.Change) (bridge.SubmitOutcome, error)
}

var _ Submitter = (*bridge.Engine)(nil)

// Observer receives the outcome of every request, for metrics. Outcomes are
// "accepted", "duplicate", "stale", "unchanged", "error", "invalid",
// "unauthorized", "too_large", "bad_request", "method_not_allowed",
// "url_verification", "rate_limited", "ignored", "foreign_team" (a user of
// another org: acked, never submitted), "command" (a slash command
// answered), "unavailable" (a command or click without controls
// configured), "interaction" (a button click taken) and "home" (App Home
// opened). It must not block.
type Observer interface {
	Request(outcome string)
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock sets the clock that the timestamp window is checked against (default time.Now).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithObserver sets the receiver of request outcomes.
func WithObserver(o Observer) Option { return func(h *Handler) { h.obs = o } }

// WithSubmitTimeout bounds each Submit call and each command's action (default DefaultSubmitTimeout).
func WithSubmitTimeout(d time.Duration) Option { return func(h *Handler) { h.submitTimeout = d } }

// WithControls lets employees use the slash command and App Home's buttons;
// without it they get a polite "not available".
func WithControls(c Controls) Option { return func(h *Handler) { h.ctl.controls = c } }

// WithOrg mirrors, and answers, only users whose org allow accepts: a
// workspace id (T…) and, on Enterprise Grid, an org id (E…), either possibly
// empty. Without it every org is served. OrgAllows builds one.
func WithOrg(allow func(teamID, enterpriseID string) bool) Option {
	return func(h *Handler) { h.ctl.allow = allow }
}

// WithHome publishes App Home (views.publish) with botToken at the Web API
// apiURL (DefaultAPIURL when empty) when a user opens it or clicks its button.
func WithHome(botToken, apiURL string) Option {
	return func(h *Handler) { h.ctl.home = newHomePublisher(botToken, apiURL) }
}

// WithHomeTimeout bounds the work a click or an opened App Home starts after
// Slack got its answer (default DefaultHomeTimeout).
func WithHomeTimeout(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.ctl.bgWait = d
		}
	}
}

// Handler serves Slack's Events API (POST /slack/events).
type Handler struct {
	signatures    *verifier
	sub           Submitter
	log           *slog.Logger
	now           func() time.Time
	obs           Observer
	submitTimeout time.Duration
	ctl           controller
	tracer        bridge.Tracer
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler that verifies requests with signingSecret and
// submits status changes to sub. An empty secret rejects every request.
func NewHandler(signingSecret string, sub Submitter, opts ...Option) *Handler {
	h := &Handler{
		signatures:    newVerifier([]byte(signingSecret)),
		sub:           sub,
		log:           slog.New(slog.DiscardHandler),
		now:           time.Now,
		obs:           nopObserver{},
		submitTimeout: DefaultSubmitTimeout,
	}
	h.ctl.bgWait = DefaultHomeTimeout
	for _, o := range opts {
		o(h)
	}
	h.ctl.log, h.ctl.timeout = h.log, h.submitTimeout
	return h
}

// Wait waits for the work that clicks and opened App Homes started in the
// background (each bounded by the home timeout); call it at shutdown.
func (h *Handler) Wait() { h.ctl.bg.Wait() }

type nopObserver struct{}

func (nopObserver) Request(string) {}

// ServeHTTP answers one Events API request. A change is acknowledged (200)
// only after Submit returned nil; a store failure answers 503 so Slack retries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.log.Warn("slack request rejected: body too large", "limit", MaxBodyBytes)
			h.answer(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
			return
		}
		h.log.Debug("slack request: could not read body", "err", err)
		h.answer(w, http.StatusBadRequest, "bad_request", "could not read body")
		return
	}
	if reason := h.verify(r.Header, body); reason != "" {
		h.log.Warn("slack request rejected: not signed by Slack", "reason", reason, "remote", r.RemoteAddr)
		h.answer(w, http.StatusUnauthorized, "unauthorized", "invalid signature")
		return
	}
	if isForm(r.Header.Get("Content-Type"), body) {
		h.serveForm(w, r.Context(), body)
		return
	}
	ev, err := ParseEvent(body)
	if err != nil {
		h.log.Warn("slack request rejected: malformed payload", "err", err)
		w.Header().Set("X-Slack-No-Retry", "1")
		h.answer(w, http.StatusBadRequest, "bad_request", "malformed payload")
		return
	}
	// The event's logger is made only when something is logged: most
	// events log nothing at the handler's level.
	log := func() *slog.Logger { return h.log.With("event_id", ev.EventID, "team", ev.TeamID) }
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" && h.log.Enabled(context.Background(), slog.LevelDebug) {
		log().Debug("slack retry", "retry_num", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
	}

	switch ev.Type {
	case TypeURLVerification:
		// Slack's docs: respond in plain text with the challenge value
		// (https://api.slack.com/events/url_verification).
		w.Header().Set("Content-Type", "text/plain")
		h.obs.Request("url_verification")
		_, _ = io.WriteString(w, ev.Challenge)
		return
	case TypeAppRateLimited:
		log().Warn("slack is dropping events: app rate limited", "minute", ev.MinuteRateLimited, "app", ev.APIAppID)
		h.answer(w, http.StatusOK, "rate_limited", "")
		return
	case TypeEventCallback:
		if ev.IsStatusEvent() {
			team, enterprise := ev.UserOrg()
			if !allowed(h.ctl.allow, team, enterprise, ev.User.IsStranger) {
				log().Info("slack event of a user of another org ignored", "user", ev.User.ID,
					"user_team", team, "user_enterprise", enterprise)
				h.answer(w, http.StatusOK, "foreign_team", "")
				return
			}
			h.submit(w, r.Context(), log, ev)
			return
		}
		if ev.InnerType == TypeAppHomeOpened {
			// Slack gets its answer first; the view is published in the background.
			h.answer(w, http.StatusOK, h.ctl.homeOpened(ev), "")
			return
		}
	}
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		log().Debug("slack event ignored", "type", ev.Type, "event_type", ev.InnerType)
	}
	h.answer(w, http.StatusOK, "ignored", "")
}

// readBody reads r to its end into a buffer sized for size bytes (the
// request's Content-Length, when known and within MaxBodyBytes), so that a
// body of the announced size is read without growing the buffer.
func readBody(r io.Reader, size int64) ([]byte, error) {
	n := 512
	if size > 0 && size <= MaxBodyBytes {
		n = int(size) + 1 // room for the read that finds the end
	}
	b := make([]byte, 0, n)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// isForm reports whether a request body is form-encoded (slash commands and
// interactivity) rather than an Events API JSON payload.
func isForm(contentType string, body []byte) bool {
	if contentType == "application/json" {
		return false // what Slack sends events as, without parsing it
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch mt {
		case "application/x-www-form-urlencoded":
			return true
		case "application/json":
			return false
		}
	}
	return len(body) > 0 && !isObject(body)
}

// serveForm answers a slash command (a command field) or an interactivity
// payload (a payload field).
func (h *Handler) serveForm(w http.ResponseWriter, ctx context.Context, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.log.Warn("slack request rejected: malformed form", "err", err)
		h.answer(w, http.StatusBadRequest, "bad_request", "malformed form")
		return
	}
	switch {
	case form.Has("ssl_check"):
		// Slack checks the certificate of a slash command's URL this way
		// (https://docs.slack.dev/interactivity/implementing-slash-commands/).
		h.answer(w, http.StatusOK, "ignored", "")
	case form.Has("payload"):
		in, err := ParseInteraction([]byte(form.Get("payload")))
		if err != nil {
			h.log.Warn("slack interaction rejected: malformed payload", "err", err)
			h.answer(w, http.StatusBadRequest, "bad_request", "malformed payload")
			return
		}
		// Slack wants 200 with an empty body at once; the work goes on in the background.
		h.answer(w, http.StatusOK, h.ctl.click(in), "")
	case form.Has("command"):
		sc, err := ParseSlashCommand(form)
		if err != nil {
			h.answer(w, http.StatusBadRequest, "bad_request", "malformed slash command")
			return
		}
		reply, outcome := h.ctl.command(ctx, sc)
		b, err := json.Marshal(reply)
		if err != nil {
			h.log.Error("slash command reply could not be encoded", "err", err)
			h.answer(w, http.StatusInternalServerError, "error", "internal error")
			return
		}
		h.obs.Request(outcome)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	default:
		h.log.Warn("slack request rejected: a form with neither command nor payload")
		h.answer(w, http.StatusBadRequest, "bad_request", "unknown form")
	}
}

func (h *Handler) submit(w http.ResponseWriter, ctx context.Context, log func() *slog.Logger, ev Event) {
	ctx, end := intakeSpan(ctx, h.tracer, SpanHTTPIntake, ev)
	c, err := ev.StatusChange("http")
	defer func() { end(err) }()
	if err != nil {
		// Retrying the same payload cannot help.
		log().Warn("slack status event rejected", "event_type", ev.InnerType, "err", err)
		w.Header().Set("X-Slack-No-Retry", "1")
		h.answer(w, http.StatusBadRequest, "invalid", "invalid event")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.submitTimeout)
	defer cancel()
	out, err := h.sub.Submit(ctx, c)
	if err != nil {
		log().Error("could not store status change; Slack will retry", "user", c.UserID, "err", err)
		h.answer(w, http.StatusServiceUnavailable, "error", "temporarily unavailable")
		return
	}
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		log().Debug("slack status change submitted", "user", c.UserID, "event_type", ev.InnerType,
			"outcome", out.String(), "emoji", c.Status.EmojiName, "expiration", c.Status.Expiration)
	}
	h.answer(w, http.StatusOK, out.String(), "")
}

func (h *Handler) answer(w http.ResponseWriter, code int, outcome, text string) {
	h.obs.Request(outcome)
	if text == "" {
		w.WriteHeader(code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text+"\n")
}

// verify checks the request's signature; see verifySignature.
func (h *Handler) verify(header http.Header, body []byte) string {
	return h.signatures.verify(header, body, h.now())
}
