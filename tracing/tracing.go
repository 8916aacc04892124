// Package tracing implements bridge.Tracer over the OpenTelemetry SDK, with
// the OTLP/HTTP exporter configured by the standard OTEL_* environment
// variables (opentelemetry.io/docs/specs/otel/protocol/exporter/). Without
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT tracing
// is off and New returns nil.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/statusbridge/statusbridge/bridge"
)

// DefaultServiceName is the service.name reported when OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "statusbridge"

// instrumentation names the tracer, as OpenTelemetry asks of instrumented code.
const instrumentation = "github.com/statusbridge/statusbridge"

// Tracer starts OpenTelemetry spans; it implements bridge.Tracer.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

var _ bridge.Tracer = (*Tracer)(nil)

// Enabled reports whether the environment asks for traces to be exported.
func Enabled(getenv func(string) string) bool {
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// New returns a tracer that exports over OTLP/HTTP, or nil when Enabled is
// false. The exporter, the batch processor and the sampler read their own
// OTEL_* variables from the process environment; getenv decides only
// whether tracing is on and which protocol was asked for.
func New(ctx context.Context, getenv func(string) string) (*Tracer, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(k); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("%s=%s is not supported: set it to http/protobuf (or leave it unset)", k, p)
			}
			break
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w (check OTEL_EXPORTER_OTLP_ENDPOINT)", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w (check OTEL_RESOURCE_ATTRIBUTES)", err)
	}
	return NewWithProvider(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))), nil
}

// NewWithProvider returns a tracer over a provider the caller built (tests
// use one with an in-memory exporter). Shutdown shuts the provider down.
func NewWithProvider(p *sdktrace.TracerProvider) *Tracer {
	return &Tracer{provider: p, tracer: p.Tracer(instrumentation)}
}

// Start starts a span named name as a child of the span in ctx.
func (t *Tracer) Start(ctx context.Context, name string, attrs ...any) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, name, trace.WithAttributes(toAttributes(attrs)...))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// Inject returns the W3C traceparent of the span in ctx, or "".
func (t *Tracer) Inject(ctx context.Context) string {
	c := propagation.MapCarrier{}
	t.prop.Inject(ctx, c)
	return c.Get("traceparent")
}

// Extract returns ctx carrying the remote span a W3C traceparent names; an
// invalid traceparent leaves ctx as it is.
func (t *Tracer) Extract(ctx context.Context, traceparent string) context.Context {
	return t.prop.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// toAttributes turns slog-style key/value pairs into span attributes.
func toAttributes(kv []any) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			continue
		}
		switch v := kv[i+1].(type) {
		case string:
			out = append(out, attribute.String(k, v))
		case bool:
			out = append(out, attribute.Bool(k, v))
		case int:
			out = append(out, attribute.Int(k, v))
		case int64:
			out = append(out, attribute.Int64(k, v))
		case float64:
			out = append(out, attribute.Float64(k, v))
		case fmt.Stringer:
			out = append(out, attribute.String(k, v.String()))
		default:
			out = append(out, attribute.String(k, strings.TrimSpace(fmt.Sprint(v))))
		}
	}
	return out
}
