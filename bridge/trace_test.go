package bridge_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
)

type traceKey struct{}

// stubTracer records spans; a span's "trace" is the traceparent it was
// started under, or the one it made up.
type stubTracer struct {
	mu        sync.Mutex
	spans     []string
	parents   []string
	extracted []string
}

func (s *stubTracer) Start(ctx context.Context, name string, _ ...any) (context.Context, func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, _ := ctx.Value(traceKey{}).(string)
	s.spans, s.parents = append(s.spans, name), append(s.parents, parent)
	if parent == "" {
		parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	}
	return context.WithValue(ctx, traceKey{}, parent), func(error) {}
}

func (s *stubTracer) Inject(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}

func (s *stubTracer) Extract(ctx context.Context, tp string) context.Context {
	s.mu.Lock()
	s.extracted = append(s.extracted, tp)
	s.mu.Unlock()
	return context.WithValue(ctx, traceKey{}, tp)
}

// A change's traceparent is stored with it and comes back from Claim, so
// the worker's spans continue the trace Submit started.
func TestTraceCrossesTheQueue(t *testing.T) {
	f := newFixture(t, resolver{})
	tr := &stubTracer{}
	f.e.Tracer = tr
	f.submit(t, "Ev1", "Lunch", f.now)
	jobs, err := f.st.Claim(context.Background(), f.now, f.e.Lease, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %d jobs, %v", len(jobs), err)
	}
	const want = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if got := jobs[0].Desired.Trace; got != want {
		t.Fatalf("claimed change's Trace = %q, want %q", got, want)
	}
	f.e.Process(context.Background(), jobs[0])
	if len(f.pub.calls) != 1 {
		t.Fatalf("calls = %+v", f.pub.calls)
	}
	if !slices.Equal(tr.spans, []string{bridge.SpanSubmit, bridge.SpanProcess, bridge.SpanWrite}) {
		t.Fatalf("spans = %q", tr.spans)
	}
	if !slices.Equal(tr.extracted, []string{want}) || tr.parents[1] != want || tr.parents[2] != want {
		t.Fatalf("process did not continue the submitted trace: extracted %q, parents %q", tr.extracted, tr.parents)
	}
}

// Without a tracer nothing is stored for tracing.
func TestNoTracerNoTrace(t *testing.T) {
	f := newFixture(t, resolver{})
	f.submit(t, "Ev1", "Lunch", f.now)
	jobs, err := f.st.Claim(context.Background(), f.now, f.e.Lease, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Desired.Trace != "" {
		t.Fatalf("Claim = %+v, %v", jobs, err)
	}
}
