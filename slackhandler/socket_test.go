package slackhandler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/slackhandler"
)

const appToken = "xapp-1-A0STATUSBR1-1234-0a1b2c3d4e5f60718293a4b5c6d7e8f9"

// memStore is an in-memory Submitter: it dedupes by event id like the real
// stores, can be told to fail, and can hold Submit at a gate.
type memStore struct {
	mu      sync.Mutex
	seen    map[string]bool
	stored  []bridge.Change
	calls   int
	fail    error
	gate    chan struct{} // when set, Submit waits for it to close
	entered chan string   // receives the event id of each Submit, when set
}

func newMemStore() *memStore { return &memStore{seen: map[string]bool{}} }

func (s *memStore) Submit(ctx context.Context, c bridge.Change) (bridge.SubmitOutcome, error) {
	if _, ok := ctx.Deadline(); !ok {
		return 0, errors.New("submit without a deadline")
	}
	s.mu.Lock()
	s.calls++
	gate, entered := s.gate, s.entered
	s.mu.Unlock()
	if entered != nil {
		entered <- c.EventID
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	if s.seen[c.EventID] {
		return bridge.Duplicate, nil
	}
	s.seen[c.EventID] = true
	s.stored = append(s.stored, c)
	return bridge.Accepted, nil
}

func (s *memStore) set(f func(s *memStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *memStore) changes() []bridge.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stored)
}

func (s *memStore) submits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// sockObs records what a SocketObserver is told.
type sockObs struct {
	mu         sync.Mutex
	envelopes  []string
	reconnects []string
}

func (o *sockObs) Envelope(outcome string, redelivery bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if redelivery {
		outcome += "(redelivery)"
	}
	o.envelopes = append(o.envelopes, outcome)
}

func (o *sockObs) Reconnect(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reconnects = append(o.reconnects, reason)
}

func (o *sockObs) got() ([]string, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.envelopes), slices.Clone(o.reconnects)
}

// syncBuffer is a log sink safe to read while the runner writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(now.UnixNano())
	return c
}
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

type socketFixture struct {
	api    *slacktest.API
	sock   *slacktest.SocketServer
	store  *memStore
	obs    *sockObs
	logs   *syncBuffer
	runner *slackhandler.SocketRunner
	cancel context.CancelFunc
	done   chan error
}

// startSocket runs a SocketRunner against a fresh stand-in and waits until it is connected.
func startSocket(t *testing.T, opts ...slackhandler.SocketOption) *socketFixture {
	t.Helper()
	api := slacktest.StartAPI(t, botToken)
	api.SetAppToken(appToken)
	f := &socketFixture{api: api, sock: api.Socket(), store: newMemStore(), obs: &sockObs{}, logs: &syncBuffer{}}
	f.start(t, opts...)
	waitFor(t, "the runner to connect", f.runner.Connected)
	return f
}

func (f *socketFixture) start(t *testing.T, opts ...slackhandler.SocketOption) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]slackhandler.SocketOption{
		slackhandler.WithSocketLogger(log),
		slackhandler.WithSocketObserver(f.obs),
		slackhandler.WithReconnectBackoff(10*time.Millisecond, 100*time.Millisecond),
	}, opts...)
	f.runner = slackhandler.NewSocketRunner(appToken, botToken, f.api.URL, f.store, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.runner.Run(ctx) }()
	t.Cleanup(func() {
		f.stop(t)
		for _, secret := range []string{appToken, botToken, "ticket="} {
			if strings.Contains(f.logs.String(), secret) {
				t.Errorf("log shows %q:\n%s", secret, f.logs.String())
			}
		}
		if t.Failed() {
			t.Logf("runner log:\n%s", f.logs.String())
		}
	})
}

// stop ends Run and checks that it returned nil.
func (f *socketFixture) stop(t *testing.T) {
	t.Helper()
	f.cancel()
	select {
	case err, ok := <-f.done:
		if ok && err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
		if ok {
			close(f.done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func socketEvent(eventID, user, text string) []byte {
	return slacktest.StatusEvent("user_status_changed", eventID, "T061EG9R6", user, now, text, ":palm_tree:", 0)
}

func TestSocketAcksOnlyAfterStore(t *testing.T) {
	f := startSocket(t)
	gate, entered := make(chan struct{}), make(chan string, 1)
	f.store.set(func(s *memStore) { s.gate, s.entered = gate, entered })

	env := f.sock.Push(socketEvent("Ev0SOCK01", "U024BE7LH", "Vacationing"))
	if got := <-entered; got != "Ev0SOCK01" {
		t.Fatalf("Submit got event %q", got)
	}
	time.Sleep(100 * time.Millisecond) // an early ack would arrive meanwhile
	if f.sock.IsAcked(env) {
		t.Fatal("envelope acked before Submit returned")
	}
	close(gate)
	waitFor(t, "the ack", func() bool { return f.sock.IsAcked(env) })

	got := f.store.changes()
	if len(got) != 1 {
		t.Fatalf("stored %d changes, want 1", len(got))
	}
	c := got[0]
	if c.UserID != "U024BE7LH" || c.TeamID != "T061EG9R6" || c.EventID != "Ev0SOCK01" || c.Source != "socket" ||
		c.EventType != "user_status_changed" || c.Status.Text != "Vacationing" || c.Status.Emoji != "🌴" || !c.EventTime.Equal(now) {
		t.Errorf("change = %+v", c)
	}
	if acks := f.sock.Acks(); len(acks) != 1 || acks[0].Conn != 1 {
		t.Errorf("acks = %+v, want one on connection 1", acks)
	}
	f.stop(t)
	if f.runner.Connected() {
		t.Error("Connected() after Run returned")
	}
	waitFor(t, "the connection to close", func() bool { return len(f.sock.Live()) == 0 })
}

func TestSocketStoreFailureIsNotAcked(t *testing.T) {
	f := startSocket(t)
	f.store.set(func(s *memStore) { s.fail = errors.New("redis: connection refused") })

	env := f.sock.Push(socketEvent("Ev0SOCK02", "U024BE7LH", "In a meeting"))
	waitFor(t, "a Submit", func() bool { return f.store.submits() >= 1 })
	waitFor(t, "the failure to be logged", func() bool { return strings.Contains(f.logs.String(), "could not store") })
	if f.sock.IsAcked(env) {
		t.Fatal("envelope acked although Submit failed")
	}

	f.store.set(func(s *memStore) { s.fail = nil })
	f.sock.Redeliver()
	waitFor(t, "the ack of the redelivery", func() bool { return f.sock.IsAcked(env) })
	if n := len(f.store.changes()); n != 1 {
		t.Fatalf("stored %d changes, want 1", n)
	}
	d := f.sock.Deliveries()
	if len(d) != 2 || d[1].RetryAttempt != 1 {
		t.Errorf("deliveries = %+v, want the second with retry_attempt 1", d)
	}
	envs, _ := f.obs.got()
	if !slices.Equal(envs, []string{"error", "accepted(redelivery)"}) {
		t.Errorf("observed %v", envs)
	}
	if !strings.Contains(f.logs.String(), "retry_attempt=1") {
		t.Error("redelivery not logged with its retry_attempt")
	}
}

func TestSocketAcksWhatItCannotUse(t *testing.T) {
	f := startSocket(t)
	envs := []string{
		f.sock.Push(socketEvent("Ev0SOCK03", "", "No user")),
		f.sock.Push([]byte(`{"type":"event_callback","event_id":"Ev0SOCK04","event_time":1741944410,"event":{"type":"team_join","user":{"id":"U0NEW"}}}`)),
		f.sock.Push(slacktest.AppRateLimited("T061EG9R6", now)),
		f.sock.PushEnvelope("events_api", []byte(`"not an object"`)),
		f.sock.PushEnvelope("slash_commands", []byte(`{"command":"/status","text":"hi"}`)),
		f.sock.PushEnvelope("interactive", []byte(`{"type":"block_actions"}`)),
	}
	waitFor(t, "every ack", func() bool { return len(f.sock.Acked()) == len(envs) })
	if n := f.store.submits(); n != 0 {
		t.Errorf("%d Submits, want none", n)
	}
	got, _ := f.obs.got()
	slices.Sort(got)
	want := []string{"bad_request", "ignored", "ignored", "invalid", "rate_limited", "unavailable"}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if !strings.Contains(f.logs.String(), "slack status event rejected") {
		t.Error("invalid status event not logged")
	}
}

// TestSocketReconnectsAfterDrop: the stand-in drops the connection while a
// change is being stored; the bridge reconnects, the unacked envelope comes
// again, and every change is stored exactly once and acked.
func TestSocketReconnectsAfterDrop(t *testing.T) {
	f := startSocket(t)
	e1 := f.sock.Push(socketEvent("Ev0SOCK05", "U024BE7LH", "One"))
	waitFor(t, "the first ack", func() bool { return f.sock.IsAcked(e1) })

	gate, entered := make(chan struct{}), make(chan string, 4)
	f.store.set(func(s *memStore) { s.gate, s.entered = gate, entered })
	e2 := f.sock.Push(socketEvent("Ev0SOCK06", "U0BOB0001", "Two"))
	<-entered
	f.sock.Drop()
	waitFor(t, "a second connection", func() bool { return f.sock.Opens() == 2 && f.runner.Connected() })
	f.store.set(func(s *memStore) { s.gate, s.entered = nil, nil })
	close(gate)
	waitFor(t, "the second ack", func() bool { return f.sock.IsAcked(e2) })
	e3 := f.sock.Push(socketEvent("Ev0SOCK07", "U0CAROL01", "Three"))
	waitFor(t, "the third ack", func() bool { return f.sock.IsAcked(e3) })

	var ids []string
	for _, c := range f.store.changes() {
		ids = append(ids, c.EventID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"Ev0SOCK05", "Ev0SOCK06", "Ev0SOCK07"}) {
		t.Errorf("stored %v, want each change once", ids)
	}
	redelivered := false
	for _, d := range f.sock.Deliveries() {
		if d.EnvelopeID == e2 && d.Conn == 2 && d.RetryAttempt == 1 {
			redelivered = true
		}
	}
	if !redelivered {
		t.Errorf("envelope %s not redelivered on connection 2: %+v", e2, f.sock.Deliveries())
	}
	if n := f.api.Calls("apps.connections.open"); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2", n)
	}
	if _, rec := f.obs.got(); !slices.Equal(rec, []string{"closed"}) {
		t.Errorf("reconnects observed: %v", rec)
	}
}

func TestSocketWatchdogReplacesSilentConnection(t *testing.T) {
	clk := newFakeClock()
	f := startSocket(t, slackhandler.WithStaleAfter(time.Minute), slackhandler.WithSocketClock(clk.now))
	f.sock.Silence()
	env := f.sock.Push(socketEvent("Ev0SOCK08", "U024BE7LH", "Quiet"))
	clk.add(59 * time.Second)
	time.Sleep(300 * time.Millisecond) // more than one watchdog poll
	if f.sock.Opens() != 1 {
		t.Fatal("connection replaced before it was stale")
	}
	clk.add(2 * time.Second)
	waitFor(t, "a new connection", func() bool { return f.sock.Opens() == 2 })
	waitFor(t, "the ack on the new connection", func() bool { return f.sock.IsAcked(env) })
	if acks := f.sock.Acks(); acks[0].Conn != 2 {
		t.Errorf("acked on connection %d, want 2", acks[0].Conn)
	}
	if !strings.Contains(f.logs.String(), "not even a ping") {
		t.Error("stale connection not logged")
	}
	if _, rec := f.obs.got(); !slices.Equal(rec, []string{"stale"}) {
		t.Errorf("reconnects observed: %v", rec)
	}
}

func TestSocketPingsKeepConnection(t *testing.T) {
	clk := newFakeClock()
	f := startSocket(t, slackhandler.WithStaleAfter(time.Minute), slackhandler.WithSocketClock(clk.now))
	for i := 1; i <= 3; i++ {
		clk.add(40 * time.Second)
		f.sock.Ping()
		waitFor(t, "a pong", func() bool { return f.sock.Pongs() == i })
	}
	clk.add(40 * time.Second) // 160 s since connecting, 40 s since the last ping
	time.Sleep(300 * time.Millisecond)
	env := f.sock.Push(socketEvent("Ev0SOCK09", "U024BE7LH", "Busy"))
	waitFor(t, "the ack", func() bool { return f.sock.IsAcked(env) })
	if n := f.sock.Opens(); n != 1 {
		t.Errorf("%d connections, want 1: pings must keep the connection", n)
	}
}

func TestSocketInvalidAuthStops(t *testing.T) {
	for _, tc := range []struct {
		name, token, code string
	}{
		{"wrong app token", "xapp-1-A0STATUSBR1-9999-ffffffffffffffff", "invalid_auth"},
		{"bot token", botToken, "not_allowed_token_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := slacktest.StartAPI(t, botToken)
			api.SetAppToken(appToken)
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r := slackhandler.NewSocketRunner(tc.token, botToken, api.URL, newMemStore(), slackhandler.WithSocketLogger(log))
			done := make(chan error, 1)
			go func() { done <- r.Run(context.Background()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not stop on a refused token")
			}
			if err == nil || !errors.Is(err, slackhandler.ErrAuth) {
				t.Fatalf("Run = %v, want an auth error", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "Socket Mode: Slack rejected SLACK_APP_TOKEN ("+tc.code+")") ||
				!strings.Contains(msg, "connections:write") || strings.Contains(msg, "\n") ||
				strings.Contains(msg, "BOT_TOKEN") || strings.Contains(msg, tc.token) {
				t.Errorf("error %q", msg)
			}
			if n := api.Calls("apps.connections.open"); n != 1 {
				t.Errorf("apps.connections.open called %d times, want 1", n)
			}
			if api.Socket().Opens() != 0 || r.Connected() {
				t.Error("connected with a refused token")
			}
			if strings.Contains(logs.String(), tc.token) {
				t.Errorf("token logged:\n%s", logs.String())
			}
		})
	}
}

func TestSocketRetriesFailedConnects(t *testing.T) {
	api := slacktest.StartAPI(t, botToken)
	api.SetAppToken(appToken)
	api.FailNext("apps.connections.open", 3, http.StatusInternalServerError, "")
	f := &socketFixture{api: api, sock: api.Socket(), store: newMemStore(), obs: &sockObs{}, logs: &syncBuffer{}}
	f.start(t)
	waitFor(t, "the runner to connect", f.runner.Connected)
	if n := api.Calls("apps.connections.open"); n != 4 {
		t.Errorf("apps.connections.open called %d times, want 4", n)
	}
	// The same error is logged as a warning once, then at debug level.
	if n := strings.Count(f.logs.String(), "level=WARN msg=\"Socket Mode: cannot connect"); n != 1 {
		t.Errorf("%d warnings for one repeated error, want 1:\n%s", n, f.logs.String())
	}
	if n := strings.Count(f.logs.String(), "cannot connect"); n != 3 {
		t.Errorf("%d failed attempts logged, want 3", n)
	}
}

// TestSocketDisconnectHandsOver: on Slack's disconnect message the runner
// opens the next connection first; the old one finishes and acks what it took,
// then closes.
func TestSocketDisconnectHandsOver(t *testing.T) {
	f := startSocket(t)
	gate, entered := make(chan struct{}), make(chan string, 1)
	f.store.set(func(s *memStore) { s.gate, s.entered = gate, entered })
	e1 := f.sock.Push(socketEvent("Ev0SOCK10", "U024BE7LH", "Old"))
	<-entered

	f.sock.Disconnect("refresh_requested", 0)
	waitFor(t, "the next connection", func() bool { return f.sock.Opens() == 2 })
	if live := f.sock.Live(); !slices.Equal(live, []int{1, 2}) {
		t.Fatalf("live connections %v: the old one must stay while it works", live)
	}
	f.store.set(func(s *memStore) { s.gate, s.entered = nil, nil })
	close(gate)
	waitFor(t, "the old connection to close", func() bool { return slices.Equal(f.sock.Live(), []int{2}) })
	if acks := f.sock.Acks(); len(acks) != 1 || acks[0].EnvelopeID != e1 || acks[0].Conn != 1 {
		t.Errorf("acks %+v, want %s on connection 1", acks, e1)
	}
	if !f.runner.Connected() {
		t.Error("not connected after the hand-over")
	}
	e2 := f.sock.Push(socketEvent("Ev0SOCK11", "U024BE7LH", "New"))
	waitFor(t, "the ack on the new connection", func() bool { return f.sock.IsAcked(e2) })
	if n := len(f.store.changes()); n != 2 {
		t.Errorf("stored %d changes, want 2", n)
	}
	if _, rec := f.obs.got(); !slices.Equal(rec, []string{"disconnect"}) {
		t.Errorf("reconnects observed: %v", rec)
	}
}

// TestSocketTwoRunners: two replicas each hold a connection; envelopes
// alternate between them and all are stored.
func TestSocketTwoRunners(t *testing.T) {
	f := startSocket(t)
	g := &socketFixture{api: f.api, sock: f.sock, store: f.store, obs: &sockObs{}, logs: &syncBuffer{}}
	g.start(t)
	waitFor(t, "the second runner to connect", g.runner.Connected)
	var envs []string
	for _, id := range []string{"Ev0SOCK12", "Ev0SOCK13", "Ev0SOCK14", "Ev0SOCK15"} {
		envs = append(envs, f.sock.Push(socketEvent(id, "U024BE7LH", id)))
	}
	waitFor(t, "every ack", func() bool { return len(f.sock.Acked()) == len(envs) })
	conns := map[int]int{}
	for _, a := range f.sock.Acks() {
		conns[a.Conn]++
	}
	if conns[1] != 2 || conns[2] != 2 {
		t.Errorf("acks per connection %v, want 2 on each", conns)
	}
	if n := len(f.store.changes()); n != 4 {
		t.Errorf("stored %d changes, want 4", n)
	}
}

// rawEnvelope is an events_api envelope whose fields after the payload are
// given as JSON text, so that they can carry unexpected types.
func rawEnvelope(id string, payload []byte, rest string) []byte {
	return []byte(`{"envelope_id":"` + id + `","type":"events_api","payload":` + string(payload) + `,` + rest + `}`)
}

// TestSocketLenientEnvelope: fields of an unexpected JSON type do not make an
// envelope unreadable; it is handled and acked like any other.
func TestSocketLenientEnvelope(t *testing.T) {
	f := startSocket(t)
	f.sock.Send(rawEnvelope("e-lenient-1", socketEvent("Ev0SOCK20", "U024BE7LH", "Strings"),
		`"retry_attempt":"1","retry_reason":7,"accepts_response_payload":"no","debug_info":[]`))
	f.sock.Send(rawEnvelope("e-lenient-2", socketEvent("Ev0SOCK21", "U0BOB0001", "Objects"),
		`"retry_attempt":{},"retry_reason":null,"num_connections":"x"`))
	f.sock.Send([]byte(`{"envelope_id":"e-lenient-3","type":5,"payload":[],"retry_attempt":"0"}`))
	waitFor(t, "every ack", func() bool {
		return f.sock.IsAcked("e-lenient-1") && f.sock.IsAcked("e-lenient-2") && f.sock.IsAcked("e-lenient-3")
	})
	var ids []string
	for _, c := range f.store.changes() {
		ids = append(ids, c.EventID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"Ev0SOCK20", "Ev0SOCK21"}) {
		t.Errorf("stored %v", ids)
	}
	got, _ := f.obs.got()
	slices.Sort(got)
	if want := []string{"accepted", "accepted(redelivery)", "ignored"}; !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if strings.Contains(f.logs.String(), "unreadable") {
		t.Error("an envelope was logged as unreadable")
	}
}

// TestSocketLiveWithoutHello: a connection on which Slack sends no hello
// counts as connected at its first message of any kind.
func TestSocketLiveWithoutHello(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(s *slacktest.SocketServer)
	}{
		{"ping", func(s *slacktest.SocketServer) { s.Ping() }},
		{"envelope", func(s *slacktest.SocketServer) { s.Push(socketEvent("Ev0SOCK22", "U024BE7LH", "Hi")) }},
		{"late hello", func(s *slacktest.SocketServer) {
			s.Send([]byte(`{"type":"hello","num_connections":"1","debug_info":[]}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := slacktest.StartAPI(t, botToken)
			api.SetAppToken(appToken)
			api.Socket().SetHello(false)
			f := &socketFixture{api: api, sock: api.Socket(), store: newMemStore(), obs: &sockObs{}, logs: &syncBuffer{}}
			f.start(t)
			waitFor(t, "the WebSocket", func() bool { return len(f.sock.Live()) == 1 })
			if f.runner.Connected() {
				t.Fatal("connected before Slack sent anything")
			}
			tc.first(f.sock)
			waitFor(t, "the runner to count the connection", f.runner.Connected)
			f.stop(t)
			if f.runner.Connected() {
				t.Error("Connected() after Run returned")
			}
		})
	}
}

// TestSocketShutdownSkipsBacklog: at shutdown, the envelopes that wait for a
// free slot are left unacked for Slack to deliver again, instead of each
// being stored first; those being stored are finished and acked.
func TestSocketShutdownSkipsBacklog(t *testing.T) {
	const inFlight, backlog = 16, 8 // inFlight is the runner's limit
	f := startSocket(t)
	gate, entered := make(chan struct{}), make(chan string, inFlight+backlog)
	f.store.set(func(s *memStore) { s.gate, s.entered = gate, entered })
	for i := range inFlight + backlog {
		f.sock.Push(socketEvent(fmt.Sprintf("Ev0BACK%02d", i), "U024BE7LH", "Busy"))
	}
	for range inFlight {
		<-entered
	}
	// Messages are read in order: once the marker is read, every envelope was taken.
	f.sock.Send([]byte(`{"type":"marker"}`))
	waitFor(t, "the marker to be read", func() bool { return strings.Contains(f.logs.String(), "type=marker") })

	f.cancel()
	close(gate)
	f.stop(t)
	if n := f.store.submits(); n != inFlight {
		t.Errorf("%d Submits, want %d: the backlog must not be stored at shutdown", n, inFlight)
	}
	waitFor(t, "the stand-in to see the connection close", func() bool { return len(f.sock.Live()) == 0 })
	if acked, unacked := len(f.sock.Acked()), len(f.sock.Unacked()); acked != inFlight || unacked != backlog {
		t.Errorf("%d acked, %d unacked; want %d and %d", acked, unacked, inFlight, backlog)
	}
}

// TestSocketRunWaitsForDroppedConnection: an envelope still being stored
// for a connection that dropped ends before Run returns.
func TestSocketRunWaitsForDroppedConnection(t *testing.T) {
	f := startSocket(t)
	gate, entered := make(chan struct{}), make(chan string, 1)
	f.store.set(func(s *memStore) { s.gate, s.entered = gate, entered })
	env := f.sock.Push(socketEvent("Ev0SOCK23", "U024BE7LH", "Dropped"))
	<-entered
	f.store.set(func(s *memStore) { s.gate, s.entered = nil, nil })
	f.sock.Drop()
	// The redelivery on the next connection is stored and acked at once.
	waitFor(t, "the redelivery's ack", func() bool { return f.sock.IsAcked(env) })

	go func() {
		time.Sleep(100 * time.Millisecond) // Run returning meanwhile would be early
		close(gate)
	}()
	f.stop(t)
	// The first Submit, on the dropped connection, found the change stored.
	if got, _ := f.obs.got(); !slices.Contains(got, "duplicate") {
		t.Errorf("outcomes %v when Run returned: the dropped connection's envelope had not ended", got)
	}
}

// TestSocketDisconnectReconnectsAtOnce: a reconnect Slack asks for is no
// failure: it neither backs off nor grows the backoff, however young the
// connection, except when Slack disabled Socket Mode or counts too many
// connections.
func TestSocketDisconnectReconnectsAtOnce(t *testing.T) {
	f := startSocket(t)
	disconnect := func(reason string) {
		t.Helper()
		n := f.sock.Opens()
		f.sock.Disconnect(reason, 0)
		waitFor(t, "the next connection", func() bool {
			return f.sock.Opens() == n+1 && slices.Equal(f.sock.Live(), []int{n + 1}) && f.runner.Connected()
		})
	}
	for range 3 {
		disconnect("refresh_requested")
	}
	disconnect("warning")
	disconnect("link_disabled")
	disconnect("too_many_websockets")
	disconnect("refresh_requested")

	var waits []string
	for _, l := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(l, `msg="Socket Mode: reconnecting"`) {
			_, w, _ := strings.Cut(l, "retry_in=")
			waits = append(waits, w)
		}
	}
	if len(waits) != 7 {
		t.Fatalf("%d reconnects logged, want 7:\n%s", len(waits), f.logs.String())
	}
	for i, w := range waits {
		if backs := i == 4 || i == 5; backs != (w != "0s") {
			t.Errorf("reconnect %d waited %s", i+1, w)
		}
	}
	logs := f.logs.String()
	if !regexp.MustCompile(`level=ERROR msg="Socket Mode: Slack disabled Socket Mode[^"]*api.slack.com/apps`).MatchString(logs) {
		t.Error("link_disabled not logged as an error saying what to fix")
	}
	if !regexp.MustCompile(`level=WARN msg="Socket Mode: [^"]*too many WebSocket connections`).MatchString(logs) {
		t.Error("too_many_websockets not logged as a warning")
	}
}

// TestSocketStopWhileTaking: connections are handed over again and again
// while envelopes stream in; taking an envelope and stopping a connection
// must not race (run with -race).
func TestSocketStopWhileTaking(t *testing.T) {
	f := startSocket(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.sock.PushEnvelope("interactive", []byte(`{"type":"block_actions"}`))
			time.Sleep(50 * time.Microsecond)
		}
	}()
	for range 40 {
		n := f.sock.Opens()
		f.sock.Disconnect("refresh_requested", 0)
		waitFor(t, "the next connection", func() bool { return f.sock.Opens() > n && f.runner.Connected() })
	}
	close(stop)
	wg.Wait()
	f.sock.Redeliver()
	waitFor(t, "every envelope to be acked", func() bool { return len(f.sock.Unacked()) == 0 })
}
