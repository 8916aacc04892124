package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

var prefixes atomic.Int64

// open opens a store with a prefix of its own on srv.
func open(t *testing.T, url string, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithPrefix(fmt.Sprintf("t%d", prefixes.Add(1)))}, opts...)
	s, err := Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func change(user, event string, sec int, text string) bridge.Change {
	return bridge.Change{
		UserID:    user,
		Status:    bridge.Status{Text: text, Emoji: "🌴"},
		EventID:   event,
		EventTime: t0.Add(time.Duration(sec) * time.Second),
		Source:    "http",
	}
}

// basicFlow submits, claims, completes and maps, checking each step.
func basicFlow(t *testing.T, s *Store) {
	ctx := t.Context()
	for i := 0; i < 20; i++ {
		u := fmt.Sprintf("U%03d", i)
		out, err := s.Submit(ctx, change(u, "Ev"+u, 0, "Lunch"), t0)
		if err != nil || out != bridge.Accepted {
			t.Fatalf("Submit(%s) = %v, %v; want accepted", u, out, err)
		}
	}
	if out, err := s.Submit(ctx, change("U000", "EvU000", 0, "Lunch"), t0); err != nil || out != bridge.Duplicate {
		t.Fatalf("Submit again = %v, %v; want duplicate", out, err)
	}
	jobs, err := s.Claim(ctx, t0, time.Minute, 50)
	if err != nil || len(jobs) != 20 {
		t.Fatalf("Claim = %d jobs, %v; want 20", len(jobs), err)
	}
	applied := &bridge.Applied{Message: bridge.Message{Content: "🌴 Lunch"}, EntraID: "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60", AppliedAt: t0}
	for _, j := range jobs {
		if err := s.Complete(ctx, j, applied, t0); err != nil {
			t.Fatalf("Complete(%s): %v", j.UserID, err)
		}
	}
	if err := s.Complete(ctx, jobs[0], nil, t0); !errors.Is(err, bridge.ErrLeaseLost) {
		t.Fatalf("second Complete = %v, want ErrLeaseLost", err)
	}
	if out, err := s.Submit(ctx, change("U001", "Ev2", 5, "Out"), t0.Add(5*time.Second)); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v; want accepted", out, err)
	}
	jobs, err = s.Claim(ctx, t0.Add(5*time.Second), time.Minute, 50)
	if err != nil || len(jobs) != 1 || jobs[0].Applied == nil || jobs[0].Applied.Message.Content != "🌴 Lunch" {
		t.Fatalf("Claim = %+v, %v; want U001 with its applied state", jobs, err)
	}
	if err := s.Park(ctx, jobs[0], "graph 404", t0.Add(6*time.Second)); err != nil {
		t.Fatalf("Park: %v", err)
	}
	m := bridge.Mapping{SlackUserID: "U001", EntraID: applied.EntraID, Source: bridge.SourceAdmin, FoundAt: t0}
	if err := s.SetMapping(ctx, m, t0.Add(7*time.Second)); err != nil {
		t.Fatalf("SetMapping: %v", err)
	}
	if got, ok, err := s.GetMapping(ctx, "U001"); err != nil || !ok || got.EntraID != m.EntraID {
		t.Fatalf("GetMapping = %+v, %v, %v", got, ok, err)
	}
	jobs, err = s.Claim(ctx, t0.Add(7*time.Second), time.Minute, 50)
	if err != nil || len(jobs) != 1 || jobs[0].UserID != "U001" {
		t.Fatalf("Claim after SetMapping = %+v, %v; want U001 un-parked", jobs, err)
	}
	ms, err := s.ListMappings(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("ListMappings = %+v, %v", ms, err)
	}
	// The people-first records: each a script on the same slot.
	if err := s.Hold(ctx, jobs[0], "Busy (set in Teams)", time.Now()); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := s.SetChoice(ctx, "U001", bridge.ChoiceOff, t0); err != nil {
		t.Fatalf("SetChoice: %v", err)
	}
	if r, ok, err := s.User(ctx, "U001"); err != nil || !ok || r.Choice != bridge.ChoiceOff || r.Held != "Busy (set in Teams)" {
		t.Fatalf("User = %+v, %v, %v", r, ok, err)
	}
	o := bridge.Owned{EntraID: m.EntraID, SlackUserID: "U001", Content: "🌴 Lunch", WrittenAt: t0}
	if err := s.PutOwned(ctx, o); err != nil {
		t.Fatalf("PutOwned: %v", err)
	}
	if os, err := s.OwnedBy(ctx, "U001"); err != nil || len(os) != 1 || os[0].Content != o.Content {
		t.Fatalf("OwnedBy = %+v, %v", os, err)
	}
	if err := s.DeleteOwned(ctx, m.EntraID); err != nil {
		t.Fatalf("DeleteOwned: %v", err)
	}
	jobs, err = s.Claim(ctx, t0.Add(7*time.Second), time.Minute, 50)
	if err != nil || len(jobs) != 1 || jobs[0].UserID != "U001" || jobs[0].Choice != bridge.ChoiceOff {
		t.Fatalf("Claim after SetChoice = %+v, %v; want U001, due at once", jobs, err)
	}
	st, err := s.Stats(ctx, t0.Add(7*time.Second))
	if err != nil || st.Due != 1 || st.Parked != 0 {
		t.Fatalf("Stats = %+v, %v; want Due 1 (leased), Parked 0", st, err)
	}
	ownedSteps(t, s)
	aheadSteps(t, s)
}

// TestSentinel reaches the master through a real Redis Sentinel, as a
// redis+sentinel:// URL names it.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "statusbridge-master")
	s := open(t, "redis+sentinel://"+sentinel.Addr+"/statusbridge-master")
	basicFlow(t, s)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping through Sentinel: %v", err)
	}
	if reply, err := master.Do("DBSIZE"); err != nil || reply == "0" {
		t.Fatalf("the master holds no keys after the flow: %q, %v", reply, err)
	}
}

func TestCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	url := "redis+cluster://" + nodes[0].Addr + "," + nodes[1].Addr
	basicFlow(t, open(t, url))

	// A second deployment on the same cluster lands on its own slot and
	// sees none of the first one's users.
	s2 := open(t, url, WithPrefix("other"))
	jobs, err := s2.Claim(t.Context(), t0.Add(time.Hour), time.Minute, 50)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("Claim on another prefix = %d jobs, %v; want none", len(jobs), err)
	}
	l := s2.NewLimiter(LimiterConfig{Rate: 100, Period: time.Second})
	if err := l.Penalize(t.Context(), time.Millisecond*50); err != nil {
		t.Fatalf("Penalize on cluster: %v", err)
	}
	if err := l.Wait(t.Context()); err != nil {
		t.Fatalf("Wait on cluster: %v", err)
	}
	if ws, err := s2.CheckConfig(t.Context()); err != nil || len(ws) != 3 {
		// Cluster nodes run with appendonly no: one warning per master.
		t.Fatalf("CheckConfig = %q, %v; want 3 appendonly warnings", ws, err)
	}
}

func TestRedisDownAndRestart(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	ctx := t.Context()
	if out, err := s.Submit(ctx, change("U001", "Ev1", 0, "Lunch"), t0); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	m := bridge.Mapping{SlackUserID: "U001", EntraID: "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60", Source: bridge.SourceEmail, FoundAt: t0}
	if err := s.SetMapping(ctx, m, t0); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	if _, err := s.Submit(ctx, change("U002", "Ev2", 1, "Out"), t0); err == nil {
		t.Fatal("Submit while Redis is down succeeded")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping while Redis is down succeeded")
	}
	if _, err := s.Claim(ctx, t0, time.Minute, 10); err == nil {
		t.Fatal("Claim while Redis is down succeeded")
	}

	srv.Restart(t)
	if out, err := s.Submit(ctx, change("U002", "Ev2", 1, "Out"), t0.Add(time.Second)); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit after restart = %v, %v", out, err)
	}
	// The event id stored before the crash still dedupes.
	if out, err := s.Submit(ctx, change("U001", "Ev1", 0, "Lunch"), t0); err != nil || out != bridge.Duplicate {
		t.Fatalf("Submit of a pre-crash event = %v, %v; want duplicate", out, err)
	}
	jobs, err := s.Claim(ctx, t0.Add(time.Second), time.Minute, 10)
	if err != nil || len(jobs) != 2 || jobs[0].UserID != "U001" || jobs[0].Desired.Status.Text != "Lunch" {
		t.Fatalf("Claim after restart = %+v, %v; want U001 (from before the crash) and U002", jobs, err)
	}
	if got, ok, err := s.GetMapping(ctx, "U001"); err != nil || !ok || got.EntraID != m.EntraID {
		t.Fatalf("GetMapping after restart = %+v, %v, %v", got, ok, err)
	}
}

func TestOpenUnreachableFailsFast(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Kill()
	start := time.Now()
	_, err := Open(t.Context(), strings.Replace(url, "redis://", "redis://:hunter2secret@", 1))
	if err == nil {
		t.Fatal("Open of a stopped Redis succeeded")
	}
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Fatalf("error shows the password: %v", err)
	}
	// Generous bound: the dial timeout is 1 s; only a hang fails this.
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("Open took %s", d)
	}
}

func TestCheckConfig(t *testing.T) {
	ctx := t.Context()
	good := redistest.Start(t, "--maxmemory-policy", "noeviction")
	ws, err := open(t, good.URL()).CheckConfig(ctx)
	if err != nil || len(ws) != 0 {
		t.Fatalf("CheckConfig(good) = %q, %v; want no warnings", ws, err)
	}

	bad := redistest.Start(t, "--maxmemory-policy", "allkeys-lru", "--appendonly", "no")
	ws, err = open(t, bad.URL()).CheckConfig(ctx)
	if err != nil || len(ws) != 2 || !strings.Contains(ws[0], "noeviction") || !strings.Contains(ws[1], "appendonly") {
		t.Fatalf("CheckConfig(bad) = %q, %v; want maxmemory-policy and appendonly warnings", ws, err)
	}

	locked := redistest.Start(t, "--rename-command", "CONFIG", "")
	ws, err = open(t, locked.URL()).CheckConfig(ctx)
	if err != nil || len(ws) != 1 || !strings.Contains(ws[0], "could not check") {
		t.Fatalf("CheckConfig(CONFIG disabled) = %q, %v; want a could-not-check warning", ws, err)
	}
}

func TestLimiterRate(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	// Two limiters on one Redis share one window of 20 calls/s.
	cfg := LimiterConfig{Rate: 20, Period: time.Second}
	l1, l2 := s.NewLimiter(cfg), s.NewLimiter(cfg)
	const calls = 25
	start := time.Now()
	for i := 0; i < calls; i++ {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		if err := l.Wait(t.Context()); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
	// A lower bound only, so a slow machine cannot fail it: call 21 waits
	// until the first leaves the window (1 s and the 2 % guard).
	if d := time.Since(start); d < time.Second {
		t.Fatalf("%d calls took %s, want at least 1s: the shared window was exceeded", calls, d)
	}
	if r, err := l2.Rate(t.Context()); err != nil || r != 20 {
		t.Fatalf("Rate = %v, %v; want the fixed 20", r, err)
	}
}

func TestLimiterPenalize(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	cfg := LimiterConfig{Rate: 1000, Period: time.Second}
	l1, l2 := s.NewLimiter(cfg), s.NewLimiter(cfg)
	if err := l2.Wait(t.Context()); err != nil {
		t.Fatalf("Wait before any penalty: %v", err)
	}

	if err := l1.Penalize(t.Context(), 30*time.Second); err != nil {
		t.Fatalf("Penalize: %v", err)
	}
	// A shorter penalty does not shorten the one in force.
	if err := l1.Penalize(t.Context(), time.Second); err != nil {
		t.Fatalf("Penalize: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := l2.Wait(ctx)
	var thr *bridge.ThrottledError
	if !errors.As(err, &thr) || thr.RetryAfter < 20*time.Second {
		t.Fatalf("Wait during a 30 s penalty = %v, want a ThrottledError with about 30 s", err)
	}

	// Without a deadline, Wait blocks until the penalty ends.
	s2 := open(t, srv.URL())
	l3, l4 := s2.NewLimiter(cfg), s2.NewLimiter(cfg)
	if err := l3.Penalize(t.Context(), 300*time.Millisecond); err != nil {
		t.Fatalf("Penalize: %v", err)
	}
	start := time.Now()
	if err := l4.Wait(t.Context()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("Wait returned after %s, during a 300 ms penalty", d)
	}

	// Cancelling the context ends the wait.
	if err := l3.Penalize(t.Context(), time.Minute); err != nil {
		t.Fatalf("Penalize: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := l4.Wait(ctx2); err == nil {
		t.Fatal("Wait with a cancelled context succeeded")
	}
}

// TestLeasesIgnoreReplicaClocks: due times and lease deadlines follow
// Redis's clock, so replicas whose clocks are minutes apart never both hold
// one user, and a lease ends after its duration of real time.
func TestLeasesIgnoreReplicaClocks(t *testing.T) {
	srv := redistest.Start(t)
	prefix := WithPrefix(fmt.Sprintf("skew%d", prefixes.Add(1)))
	a, b, c := open(t, srv.URL(), prefix), open(t, srv.URL(), prefix), open(t, srv.URL(), prefix)
	ctx := t.Context()
	// Replica a's clock is right, b's is 10 minutes behind, c's 10 minutes ahead.
	nowA := func() time.Time { return time.Now() }
	nowB := func() time.Time { return time.Now().Add(-10 * time.Minute) }
	nowC := func() time.Time { return time.Now().Add(10 * time.Minute) }
	const lease = 700 * time.Millisecond
	// Each store reads absolute times (Retry's) against its replica's clock.
	a.now, b.now, c.now = nowA, nowB, nowC

	// A change submitted by the replica ahead is due at once for the others.
	ch := change("U001", "Ev1", 0, "Lunch")
	if out, err := c.Submit(ctx, ch, nowC()); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	jobs, err := b.Claim(ctx, nowB(), lease, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim by the replica behind = %d jobs, %v; want the user due at once", len(jobs), err)
	}
	held := jobs[0]
	start := time.Now()
	// The lease b holds is not over by a or c's clocks.
	for name, st := range map[string]struct {
		s   *Store
		now func() time.Time
	}{"right": {a, nowA}, "ahead": {c, nowC}} {
		if jobs, err := st.s.Claim(ctx, st.now(), lease, 10); err != nil || len(jobs) != 0 {
			t.Fatalf("Claim by the replica %s while another holds the user = %d jobs, %v; want none", name, len(jobs), err)
		}
	}
	// After the lease duration of real time, the user is free again, even
	// for the replica behind.
	time.Sleep(lease + 100*time.Millisecond)
	jobs, err = b.Claim(ctx, nowB(), lease, 10)
	if time.Since(start) < lease {
		t.Fatal("lease ended early")
	}
	if err != nil || len(jobs) != 1 || jobs[0].Token == held.Token {
		t.Fatalf("Claim after the lease ran out = %+v, %v; want the user under a new token", jobs, err)
	}
	if err := b.Complete(ctx, held, nil, nowB()); !errors.Is(err, bridge.ErrLeaseLost) {
		t.Fatalf("Complete with the expired lease = %v, want ErrLeaseLost", err)
	}

	// A retry at the caller's now + 500 ms is due 500 ms later in real time,
	// whatever the caller's clock says.
	if err := c.Retry(ctx, jobs[0], nowC().Add(500*time.Millisecond), 1, "graph 503"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if jobs, err := a.Claim(ctx, nowA(), lease, 10); err != nil || len(jobs) != 0 {
		t.Fatalf("Claim right after Retry = %d jobs, %v; want none", len(jobs), err)
	}
	time.Sleep(600 * time.Millisecond)
	if jobs, err := b.Claim(ctx, nowB(), lease, 10); err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 {
		t.Fatalf("Claim after the retry delay = %+v, %v; want the user with 1 attempt", jobs, err)
	}
}
