package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store/embedded"
	"github.com/statusbridge/statusbridge/tracing"
)

const (
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
	entra  = "0f2c2c5e-8b6b-4bf1-9a43-2b9a4a3d1c11"
	user   = "U0123ABCD"
)

type resolver struct{}

func (resolver) Resolve(context.Context, string) (string, error) { return entra, nil }

type publisher struct {
	mu    sync.Mutex
	calls int
}

func (p *publisher) SetStatusMessage(context.Context, string, bridge.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return nil
}

// presence answers that Teams shows no message.
type presence struct{}

func (presence) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = ""
	}
	return out, nil
}

func newTracer(t *testing.T) (*tracing.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr, exp
}

// One status change, from the signed HTTP request through a real embedded
// store to the Graph write, is one trace, and its log lines carry the trace id.
func TestOneTracePerChange(t *testing.T) {
	tr, exp := newTracer(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	pub := &publisher{}
	e := &bridge.Engine{Queue: st, Resolver: resolver{}, Publisher: pub, Owners: st, Presence: presence{},
		Tracer: tr, Log: slog.New(tracing.LogHandler(slog.NewJSONHandler(&logs, nil)))}
	h := slackhandler.NewHandler(secret, e, slackhandler.WithTracer(tr))

	now := time.Now()
	body := slacktest.StatusEvent("user_status_changed", "Ev1TRACE", "T0EXAMPLE1", user, now.Add(-time.Second), "Lunch", ":taco:", 0)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, slacktest.NewRequest("http://127.0.0.1/slack/events", secret, now, body))
	if rec.Code != http.StatusOK {
		t.Fatalf("intake answered %d %s", rec.Code, rec.Body)
	}
	jobs, err := st.Claim(context.Background(), time.Now(), 30*time.Second, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %d jobs, %v", len(jobs), err)
	}
	if jobs[0].Desired.Trace == "" {
		t.Fatal("the stored change carries no traceparent")
	}
	e.Process(context.Background(), jobs[0])
	if pub.calls != 1 {
		t.Fatalf("Graph calls = %d, want 1", pub.calls)
	}

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	intake, ok := byName[slackhandler.SpanHTTPIntake]
	if !ok {
		t.Fatalf("no intake span among %d spans", len(spans))
	}
	traceID := intake.SpanContext.TraceID()
	parentOf := map[string]string{
		bridge.SpanSubmit:   slackhandler.SpanHTTPIntake,
		bridge.SpanProcess:  bridge.SpanSubmit,
		bridge.SpanPresence: bridge.SpanProcess,
		bridge.SpanWrite:    bridge.SpanProcess,
	}
	for name, parent := range parentOf {
		s, ok := byName[name]
		if !ok {
			t.Errorf("no %s span", name)
			continue
		}
		if s.SpanContext.TraceID() != traceID {
			t.Errorf("%s is in trace %s, want %s", name, s.SpanContext.TraceID(), traceID)
		}
		if s.Parent.SpanID() != byName[parent].SpanContext.SpanID() {
			t.Errorf("%s's parent is %s, want the %s span", name, s.Parent.SpanID(), parent)
		}
	}
	if !byName[bridge.SpanProcess].Parent.IsRemote() {
		t.Error("the process span does not continue the trace across the queue")
	}

	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var r struct {
			Msg     string `json:"msg"`
			TraceID string `json:"trace_id"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r.Msg == "status set in Teams" {
			found = true
			if r.TraceID != traceID.String() {
				t.Errorf("log line trace_id = %q, want %s", r.TraceID, traceID)
			}
		}
	}
	if !found {
		t.Fatalf("no \"status set in Teams\" line in %s", logs.String())
	}
}

// A failed step's span records the error.
func TestEndRecordsError(t *testing.T) {
	tr, exp := newTracer(t)
	_, end := tr.Start(context.Background(), "step", "user", user, "attempt", 2, "clear", true)
	end(context.DeadlineExceeded)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Status.Description != context.DeadlineExceeded.Error() || len(spans[0].Attributes) != 3 {
		t.Fatalf("spans = %+v", spans)
	}
}

// Inject and Extract carry a trace through a W3C traceparent string.
func TestTraceparentRoundTrip(t *testing.T) {
	tr, exp := newTracer(t)
	ctx, end := tr.Start(context.Background(), "first")
	tp := tr.Inject(ctx)
	end(nil)
	if !strings.HasPrefix(tp, "00-") || len(tp) != 55 {
		t.Fatalf("traceparent = %q", tp)
	}
	_, end = tr.Start(tr.Extract(context.Background(), tp), "second")
	end(nil)
	s := exp.GetSpans()
	if len(s) != 2 || s[0].SpanContext.TraceID() != s[1].SpanContext.TraceID() || s[1].Parent.SpanID() != s[0].SpanContext.SpanID() {
		t.Fatalf("spans = %+v", s)
	}
	if tr.Inject(context.Background()) != "" {
		t.Fatal("a context without a span injected a traceparent")
	}
}

// Without an endpoint tracing is off; an unsupported protocol is refused.
func TestNewFromEnvironment(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tr, err := tracing.New(context.Background(), env(nil))
	if tr != nil || err != nil {
		t.Fatalf("New without endpoint = %v, %v; want nil, nil", tr, err)
	}
	_, err = tracing.New(context.Background(), env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}))
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Fatalf("New with grpc = %v; want an error naming the setting", err)
	}
	tr, err = tracing.New(context.Background(), env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}))
	if tr == nil || err != nil {
		t.Fatalf("New with a traces endpoint = %v, %v", tr, err)
	}
	tr.Shutdown(context.Background())
}
