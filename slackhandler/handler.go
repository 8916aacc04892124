// Package slackhandler is statusbridge's Slack side: the Events API
// http.Handler that verifies Slack's signature and turns user status events
// into bridge changes, the Socket Mode runner that does the same over a
// WebSocket, the tolerant decoder of those events, the conversion of
// a Slack status (emoji included) into a bridge.Status, and the Web API
// directory used to identify users. It is the only package that imports slack-go.
package slackhandler

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
// "url_verification", "rate_limited" and "ignored". It must not block.
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

// WithSubmitTimeout bounds each Submit call (default DefaultSubmitTimeout).
func WithSubmitTimeout(d time.Duration) Option { return func(h *Handler) { h.submitTimeout = d } }

// Handler serves Slack's Events API (POST /slack/events).
type Handler struct {
	secret        []byte
	sub           Submitter
	log           *slog.Logger
	now           func() time.Time
	obs           Observer
	submitTimeout time.Duration
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler that verifies requests with signingSecret and
// submits status changes to sub. An empty secret rejects every request.
func NewHandler(signingSecret string, sub Submitter, opts ...Option) *Handler {
	h := &Handler{
		secret:        []byte(signingSecret),
		sub:           sub,
		log:           slog.New(slog.DiscardHandler),
		now:           time.Now,
		obs:           nopObserver{},
		submitTimeout: DefaultSubmitTimeout,
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
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
	ev, err := ParseEvent(body)
	if err != nil {
		h.log.Warn("slack request rejected: malformed payload", "err", err)
		w.Header().Set("X-Slack-No-Retry", "1")
		h.answer(w, http.StatusBadRequest, "bad_request", "malformed payload")
		return
	}
	log := h.log.With("event_id", ev.EventID, "team", ev.TeamID)
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		log.Debug("slack retry", "retry_num", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
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
		log.Warn("slack is dropping events: app rate limited", "minute", ev.MinuteRateLimited, "app", ev.APIAppID)
		h.answer(w, http.StatusOK, "rate_limited", "")
		return
	case TypeEventCallback:
		if ev.IsStatusEvent() {
			h.submit(w, r.Context(), log, ev)
			return
		}
	}
	log.Debug("slack event ignored", "type", ev.Type, "event_type", ev.InnerType)
	h.answer(w, http.StatusOK, "ignored", "")
}

func (h *Handler) submit(w http.ResponseWriter, ctx context.Context, log *slog.Logger, ev Event) {
	c, err := ev.StatusChange("http")
	if err != nil {
		// Retrying the same payload cannot help.
		log.Warn("slack status event rejected", "event_type", ev.InnerType, "err", err)
		w.Header().Set("X-Slack-No-Retry", "1")
		h.answer(w, http.StatusBadRequest, "invalid", "invalid event")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.submitTimeout)
	defer cancel()
	out, err := h.sub.Submit(ctx, c)
	if err != nil {
		log.Error("could not store status change; Slack will retry", "user", c.UserID, "err", err)
		h.answer(w, http.StatusServiceUnavailable, "error", "temporarily unavailable")
		return
	}
	log.Debug("slack status change submitted", "user", c.UserID, "event_type", ev.InnerType,
		"outcome", out.String(), "emoji", c.Status.EmojiName, "expiration", c.Status.Expiration)
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

// verify checks Slack's v0 signature and the timestamp window; it returns a
// secret-free reason when the request is not Slack's, "" when it is.
//
// The scheme is slack-go's SecretsVerifier (HMAC-SHA256 over "v0:ts:body",
// compared in constant time), computed here because SecretsVerifier checks the
// window against the wall clock and the handler's clock must be injectable.
// A test holds the two to the same answers.
func (h *Handler) verify(header http.Header, body []byte) string {
	if len(h.secret) == 0 {
		return "no signing secret configured"
	}
	ts, sig := header.Get("X-Slack-Request-Timestamp"), header.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return "missing signature headers"
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "malformed timestamp"
	}
	if skew := h.now().Sub(time.Unix(secs, 0)).Abs(); skew > MaxClockSkew {
		return "timestamp outside the 5 minute window"
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return "unknown signature version"
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return "malformed signature"
	}
	mac := hmac.New(sha256.New, h.secret)
	_, _ = io.WriteString(mac, "v0:"+ts+":")
	_, _ = mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return "signature mismatch"
	}
	return ""
}
