package bridge

import "context"

// Tracer starts spans for the steps of one status change. The tracing
// package implements it over OpenTelemetry; a nil Tracer traces nothing.
type Tracer interface {
	// Start starts a span named name as a child of the span in ctx; attrs
	// are key/value pairs as in log/slog. Call end exactly once, with the
	// step's error or nil.
	Start(ctx context.Context, name string, attrs ...any) (_ context.Context, end func(err error))
	// Inject returns the W3C traceparent of the span in ctx, or "".
	Inject(ctx context.Context) string
	// Extract returns ctx carrying the remote span named by a W3C
	// traceparent, so that spans started from it continue that trace.
	Extract(ctx context.Context, traceparent string) context.Context
}

// Span names, so that dashboards and tests agree.
const (
	SpanSubmit   = "bridge.submit"
	SpanProcess  = "bridge.process"
	SpanPresence = "teams.presence.read"
	SpanWrite    = "teams.set_status_message"
)

// span starts a span when the engine has a tracer.
func (e *Engine) span(ctx context.Context, name string, attrs ...any) (context.Context, func(error)) {
	if e.Tracer == nil {
		return ctx, func(error) {}
	}
	return e.Tracer.Start(ctx, name, attrs...)
}

// processSpan starts a job's span, continuing the trace its change was
// submitted in (Change.Trace) across the queue.
func (e *Engine) processSpan(ctx context.Context, j Job) (context.Context, func(error)) {
	if e.Tracer == nil {
		return ctx, func(error) {}
	}
	if j.Desired.Trace != "" {
		ctx = e.Tracer.Extract(ctx, j.Desired.Trace)
	}
	return e.Tracer.Start(ctx, SpanProcess, "user", j.UserID, "rev", j.Rev, "attempt", j.Attempts+1)
}
