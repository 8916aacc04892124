package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// publisher records calls and answers with the errors it is given, in turn.
type publisher struct {
	delay time.Duration
	mu    sync.Mutex
	calls []bridge.Message
	errs  []error
}

func (p *publisher) SetStatusMessage(_ context.Context, _ string, m bridge.Message) error {
	time.Sleep(p.delay)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, m)
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		return err
	}
	return nil
}

type resolver struct{ err error }

func (r resolver) Resolve(context.Context, string) (string, error) {
	if r.err != nil {
		return "", r.err
	}
	return "fa8bf3dc-eca7-46b7-bad1-db199b62afc3", nil
}

type limiter struct{ penalties []time.Duration }

func (l *limiter) Wait(context.Context) error { return nil }
func (l *limiter) Penalize(_ context.Context, d time.Duration) error {
	l.penalties = append(l.penalties, d)
	return nil
}

type fixture struct {
	st  *embedded.Store
	pub *publisher
	lim *limiter
	now time.Time
	e   *bridge.Engine
}

func newFixture(t *testing.T, res bridge.Resolver) *fixture {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, pub: &publisher{}, lim: &limiter{}, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	f.e = &bridge.Engine{Queue: st, Resolver: res, Publisher: f.pub, Limiter: f.lim,
		Now: func() time.Time { return f.now }, Jitter: func() float64 { return 0 }, Lease: 30 * time.Second}
	return f
}

func (f *fixture) submit(t *testing.T, id, text string, at time.Time) {
	t.Helper()
	c := bridge.Change{UserID: "U024BE7LH", Status: bridge.Status{Text: text}, EventID: id, EventTime: at}
	if _, err := f.e.Submit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// step claims what is due now and processes it; it returns how many jobs ran.
func (f *fixture) step(t *testing.T) int {
	t.Helper()
	jobs, err := f.st.Claim(context.Background(), f.now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		f.e.Process(context.Background(), j)
	}
	return len(jobs)
}

func TestEngineAppliesOnceAndSkipsSame(t *testing.T) {
	f := newFixture(t, resolver{})
	f.submit(t, "Ev1", "Lunch", f.now)
	if f.step(t) != 1 || len(f.pub.calls) != 1 || f.pub.calls[0].Content != "Lunch" {
		t.Fatalf("calls %+v", f.pub.calls)
	}
	// A reconcile-style change with the same content but a new id and time costs no call.
	f.submit(t, "", "Lunch", f.now.Add(time.Second))
	f.step(t)
	if len(f.pub.calls) != 1 {
		t.Fatalf("same status cost a call: %+v", f.pub.calls)
	}
}

func TestEngineThrottleSnoozesAndTightensLimiter(t *testing.T) {
	f := newFixture(t, resolver{})
	f.pub.errs = []error{&bridge.ThrottledError{RetryAfter: 7 * time.Second}}
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if len(f.lim.penalties) != 1 || f.lim.penalties[0] != 7*time.Second {
		t.Fatalf("penalties %v", f.lim.penalties)
	}
	f.now = f.now.Add(6 * time.Second)
	if f.step(t) != 0 {
		t.Fatal("claimed before Retry-After passed")
	}
	f.now = f.now.Add(time.Second)
	if f.step(t) != 1 || len(f.pub.calls) != 2 {
		t.Fatalf("not retried after Retry-After: %d calls", len(f.pub.calls))
	}
}

func TestEngineBacksOffTransientAndParksPermanent(t *testing.T) {
	f := newFixture(t, resolver{})
	f.pub.errs = []error{&bridge.TransientError{Reason: "graph 503"}, &bridge.PermanentError{Reason: "graph 404: user not found"}}
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	f.now = f.now.Add(time.Second) // first backoff is 0.5 s with no jitter
	f.step(t)
	ps, err := f.st.ListParked(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Reason != "graph 404: user not found" {
		t.Fatalf("parked %+v %v", ps, err)
	}
	f.now = f.now.Add(time.Hour)
	if f.step(t) != 0 {
		t.Fatal("a parked user was claimed")
	}
	// A new change un-parks.
	f.submit(t, "Ev2", "Back", f.now)
	if f.step(t) != 1 || f.pub.calls[len(f.pub.calls)-1].Content != "Back" {
		t.Fatalf("new change not applied: %+v", f.pub.calls)
	}
}

func TestEngineResolverThrottleLeavesGraphLimiterAlone(t *testing.T) {
	f := newFixture(t, resolver{err: &bridge.ThrottledError{RetryAfter: 30 * time.Second}})
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if len(f.lim.penalties) != 0 || len(f.pub.calls) != 0 {
		t.Fatalf("penalties %v calls %d", f.lim.penalties, len(f.pub.calls))
	}
	f.now = f.now.Add(29 * time.Second)
	if f.step(t) != 0 {
		t.Fatal("retried before the directory's Retry-After")
	}
}

func TestDryRunRecordsNothing(t *testing.T) {
	f := newFixture(t, resolver{})
	var logs strings.Builder
	f.e.DryRun, f.e.Log = true, slog.New(slog.NewTextHandler(&logs, nil))
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if !strings.Contains(logs.String(), "would set Teams status message") || !strings.Contains(logs.String(), "content=Lunch") {
		t.Fatalf("dry run log: %s", logs.String())
	}
	// A live run started later sends the status that was only logged, even
	// when Slack repeats the same status meanwhile.
	f.e = &bridge.Engine{Queue: f.st, Resolver: resolver{}, Publisher: f.pub, Now: f.e.Now, Lease: 30 * time.Second}
	f.submit(t, "", "Lunch", f.now.Add(time.Second))
	if n, err := bridge.ResumeAfterDryRun(context.Background(), f.st, f.now); err != nil || n != 1 {
		t.Fatalf("ResumeAfterDryRun = %d, %v", n, err)
	}
	if f.step(t) != 1 || len(f.pub.calls) != 1 || f.pub.calls[0].Content != "Lunch" {
		t.Fatalf("live run after a dry run sent %+v", f.pub.calls)
	}
}

func TestDryRunShowsUnmappedUpdates(t *testing.T) {
	f := newFixture(t, resolver{err: bridge.ErrUnmapped})
	var logs strings.Builder
	f.e.DryRun, f.e.Log = true, slog.New(slog.NewTextHandler(&logs, nil))
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if !strings.Contains(logs.String(), "no mapping yet") {
		t.Fatalf("dry run log: %s", logs.String())
	}
	if ps, _ := f.st.ListParked(context.Background()); len(ps) != 1 {
		t.Fatal("unmapped user not parked")
	}
}

func TestSubmitRejectsInvalid(t *testing.T) {
	f := newFixture(t, resolver{})
	_, err := f.e.Submit(context.Background(), bridge.Change{UserID: "nope", EventTime: f.now})
	if err == nil {
		t.Fatal("invalid change accepted")
	}
	if _, err := f.e.Submit(context.Background(), bridge.Change{UserID: "U024BE7LH"}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatal("change without event time accepted")
	}
}

func TestReconcileNeverClearsWhatTheBridgeDidNotSet(t *testing.T) {
	f := newFixture(t, resolver{})
	c := bridge.Change{UserID: "U024BE7LH", EventTime: f.now, Source: bridge.SourceReconcile}
	if out, err := f.e.Submit(context.Background(), c); err != nil || out != bridge.Accepted {
		t.Fatalf("submit: %v %v", out, err)
	}
	f.step(t)
	if len(f.pub.calls) != 0 {
		t.Fatalf("reconcile of an empty status cost %d call(s)", len(f.pub.calls))
	}
	// Once the bridge set something, a reconcile that finds it gone clears it.
	f.submit(t, "Ev1", "Lunch", f.now.Add(time.Second))
	f.step(t)
	c.EventTime = f.now.Add(2 * time.Second)
	f.e.Submit(context.Background(), c)
	f.step(t)
	if len(f.pub.calls) != 2 || !f.pub.calls[1].Clear() {
		t.Fatalf("calls %+v, want a set then a clear", f.pub.calls)
	}
}

func TestSlowCallIsStillRecorded(t *testing.T) {
	f := newFixture(t, resolver{})
	f.e.RecordTimeout = 100 * time.Millisecond
	f.pub.delay = 300 * time.Millisecond // longer than the record timeout
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	f.pub.delay = 0
	// Recorded: the same status again costs no call, and nothing is due.
	f.now = f.now.Add(time.Hour)
	if n := f.step(t); n != 0 {
		t.Fatalf("%d job(s) due after a slow but successful call; its outcome was not recorded", n)
	}
}

func TestFutureEventDoesNotFreezeTheUser(t *testing.T) {
	f := newFixture(t, resolver{})
	f.submit(t, "EvFuture", "From the future", f.now.AddDate(10, 0, 0))
	f.step(t)
	f.now = f.now.Add(time.Minute)
	f.submit(t, "EvReal", "Real change", f.now)
	f.step(t)
	if n := len(f.pub.calls); n == 0 || f.pub.calls[n-1].Content != "Real change" {
		t.Fatalf("calls %+v: the real change after a future-dated one never reached Teams", f.pub.calls)
	}
}

// TestUnansweredCallHoldsTheUserASettle: a Teams call that got no answer
// may still land; a newer change waits Settle after it before it is sent,
// so that the late call cannot overwrite it. A call Graph answered with a
// failure is not waited for.
func TestUnansweredCallHoldsTheUserASettle(t *testing.T) {
	const settle = 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		err  error
		wait bool
	}{
		{"timed out", &bridge.TransientError{Reason: "graph setStatusMessage: timed out", Err: errors.Join(context.DeadlineExceeded, bridge.ErrUnanswered)}, true},
		{"no connection", &bridge.TransientError{Reason: "graph setStatusMessage: network error: dial tcp: connection refused"}, false},
		{"connection broke", &bridge.TransientError{Reason: "graph setStatusMessage: network error", Err: bridge.ErrUnanswered}, true},
		{"503", &bridge.TransientError{Reason: "graph 503"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, resolver{})
			f.e.Settle = settle
			if !tc.wait {
				f.e.Settle = time.Hour // capped at a sixth of the lease: 5 s
			}
			f.pub.errs = []error{tc.err}
			f.submit(t, "Ev1", "In a meeting", f.now)
			jobs, err := f.st.Claim(context.Background(), f.now, 30*time.Second, 1)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim: %v %v", jobs, err)
			}
			// The person goes back to lunch while the call is out.
			f.submit(t, "Ev2", "Lunch", f.now.Add(time.Second))
			done := make(chan time.Duration, 1)
			go func() {
				start := time.Now()
				f.e.Process(context.Background(), jobs[0])
				done <- time.Since(start)
			}()
			var took time.Duration
			select {
			case took = <-done:
			case <-time.After(4 * time.Second):
				t.Fatal("Process still holds the user after 4 s")
			}
			if tc.wait && took < settle {
				t.Fatalf("the user was let go %s after an unanswered call, want at least %s", took, settle)
			}
			// The newer change is due at once either way.
			if n := f.step(t); n != 1 || f.pub.calls[len(f.pub.calls)-1].Content != "Lunch" {
				t.Fatalf("after the failed call: %d claimed, calls %+v", n, f.pub.calls)
			}
		})
	}
}
