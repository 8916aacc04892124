package slackhandler

import (
	"context"

	"github.com/statusbridge/statusbridge/bridge"
)

// Intake span names, one per transport.
const (
	SpanHTTPIntake   = "slack.events.http"
	SpanSocketIntake = "slack.events.socket"
)

// WithTracer traces each status event from intake through Submit.
func WithTracer(t bridge.Tracer) Option { return func(h *Handler) { h.tracer = t } }

// WithSocketTracer traces each status event from its envelope through Submit.
func WithSocketTracer(t bridge.Tracer) SocketOption { return func(r *SocketRunner) { r.tracer = t } }

// intakeSpan starts the span of a status event's intake, when tracing is on.
func intakeSpan(ctx context.Context, t bridge.Tracer, name string, ev Event) (context.Context, func(error)) {
	if t == nil {
		return ctx, func(error) {}
	}
	return t.Start(ctx, name, "event_id", ev.EventID, "event_type", ev.InnerType, "team", ev.TeamID)
}
