package bridge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/mapping"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// openRedisStore opens a Redis store on srv, closed when the test ends.
func openRedisStore(t *testing.T, srv *redistest.Server) *redisstore.Store {
	t.Helper()
	st, err := redisstore.Open(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestWriteTakesThreeStoreStepsOnRedis: with the Redis store as queue,
// mapping and ownership store, one change that reaches Teams costs three
// round trips to Redis once claimed: the user's records and the account's
// (OwnedFor), the record before the call, and the record and the
// completion after it (CompleteOwned). The mapping came with the claim. It
// used to cost six. What they store is what the separate steps stored.
func TestWriteTakesThreeStoreStepsOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	st := openRedisStore(t, srv)
	pub := &publisher{}
	now := time.Now()
	const entra = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
	for _, u := range []string{"U0WARMUP1", "U024BE7LH"} {
		if err := st.SetMapping(t.Context(), bridge.Mapping{SlackUserID: u, EntraID: entra, Source: bridge.SourceAdmin, FoundAt: now}, now); err != nil {
			t.Fatal(err)
		}
	}
	e := &bridge.Engine{Queue: st, Owners: st, Resolver: mapping.New(st, mapping.Options{}), Publisher: pub,
		Now: func() time.Time { return now }, Jitter: func() float64 { return 0 }, Lease: 30 * time.Second}
	trips := &roundTrips{}
	st.Client().AddHook(trips)
	var c bridge.Change
	// The first change loads the scripts (a NOSCRIPT answer and an EVAL
	// each); the second is measured.
	for i, user := range []string{"U0WARMUP1", "U024BE7LH"} {
		c = bridge.Change{UserID: user, Status: bridge.Status{Text: "Lunch"}, EventID: fmt.Sprint("Ev", i), EventTime: now}
		if _, err := e.Submit(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		jobs, err := st.Claim(context.Background(), now, 30*time.Second, 10)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("Claim = %+v, %v", jobs, err)
		}
		trips.n.Store(0)
		trips.names = nil
		e.Process(context.Background(), jobs[0])
	}
	if len(pub.calls) != 2 || pub.calls[1].Content != "Lunch" {
		t.Fatalf("Graph calls %+v, want Lunch for each", pub.calls)
	}
	if n := trips.n.Load(); n != 3 {
		t.Errorf("%d round trips to Redis for one change, want 3: %v", n, trips.names)
	}
	// Both users map to one account: the second's record took it over.
	o, ok, err := st.GetOwned(context.Background(), entra)
	if err != nil || !ok || o.Content != "Lunch" || o.SlackUserID != c.UserID || o.WrittenAt.IsZero() {
		t.Errorf("owned record = %+v, %v, %v; want the bridge's Lunch, written", o, ok, err)
	}
	u, _, err := st.User(context.Background(), c.UserID)
	if err != nil || u.Applied == nil || u.Applied.Message.Content != "Lunch" {
		t.Errorf("user = %+v, %v; want Lunch applied", u, err)
	}
	if jobs, err := st.Claim(context.Background(), now.Add(time.Second), 30*time.Second, 10); err != nil || len(jobs) != 0 {
		t.Errorf("Claim after the write = %+v, %v; want nothing due", jobs, err)
	}
}

// roundTrips is a go-redis hook that counts the commands and pipelines sent.
type roundTrips struct {
	n     atomic.Int64
	names []string
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		r.names = append(r.names, cmd.Name())
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		r.names = append(r.names, "pipeline")
		return next(ctx, cmds)
	}
}

// countingPresence is a Teams where nobody set a message, counting the
// presence reads and the accounts they asked for.
type countingPresence struct {
	calls, ids atomic.Int64
}

func (p *countingPresence) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	p.calls.Add(1)
	p.ids.Add(int64(len(ids)))
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		out[id] = ""
	}
	return out, nil
}

// TestReplicasShareReadsAhead: three replicas on one Redis work through a
// burst of N changes. Each account due next is read ahead by one replica
// and the others use that read, so the fleet makes about N/650 presence
// reads, not the three times as many of replicas that each read ahead of
// the same queue.
func TestReplicasShareReadsAhead(t *testing.T) {
	const n, replicas = 3000, 3
	srv := redistest.Start(t)
	now := time.Now()
	var stores []*redisstore.Store
	for range replicas {
		stores = append(stores, openRedisStore(t, srv))
	}
	st := stores[0]
	for i := range n {
		u := fmt.Sprintf("U%06d", i)
		m := bridge.Mapping{SlackUserID: u, EntraID: fmt.Sprintf("fa8bf3dc-eca7-46b7-bad1-%012d", i), Source: bridge.SourceAdmin, FoundAt: now}
		if err := st.SetMapping(t.Context(), m, now); err != nil {
			t.Fatal(err)
		}
		c := bridge.Change{UserID: u, Status: bridge.Status{Text: "In a meeting"}, EventID: "Ev" + u, EventTime: now}
		if _, err := st.Submit(t.Context(), c, now); err != nil {
			t.Fatal(err)
		}
	}
	presence := &countingPresence{}
	pub := &publisher{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{}, replicas)
	for _, s := range stores {
		e := &bridge.Engine{Queue: s, Owners: s, Upcoming: s, Presence: presence, Resolver: mapping.New(s, mapping.Options{}),
			Publisher: pub, Workers: 8, Lease: 30 * time.Second}
		go func() { _ = e.Run(ctx); done <- struct{}{} }()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		pub.mu.Lock()
		calls := len(pub.calls)
		pub.mu.Unlock()
		if calls >= n {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%d of %d changes written after a minute", calls, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	for range replicas {
		<-done
	}
	reads, asked := presence.calls.Load(), presence.ids.Load()
	t.Logf("%d presence reads asking for %d accounts, for %d changes on %d replicas", reads, asked, n, replicas)
	// N/650 reads, a quarter more for the reads the workers make while a
	// read ahead of their account is still on its way, and a few.
	if limit := int64(n/bridge.MaxPresenceBatch+1)*5/4 + 3; reads > limit {
		t.Errorf("%d presence reads for %d changes on %d replicas, want at most %d (about N/650)", reads, n, replicas, limit)
	}
}

// failingPresence answers every presence read with err, counting the
// accounts asked for.
type failingPresence struct {
	err        error
	calls, ids atomic.Int64
}

func (p *failingPresence) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	p.calls.Add(1)
	p.ids.Add(int64(len(ids)))
	return nil, p.err
}

// TestFailedReadAheadLeavesTheAccountsToOthers: a presence read that
// failed drops the marks it set on the accounts due next, so that another
// replica reads them ahead at once rather than after the marks run out.
func TestFailedReadAheadLeavesTheAccountsToOthers(t *testing.T) {
	srv := redistest.Start(t)
	st := openRedisStore(t, srv)
	now := time.Now()
	var accounts []string
	for i := range 3 {
		u := fmt.Sprintf("U%06d", i)
		a := fmt.Sprintf("fa8bf3dc-eca7-46b7-bad1-%012d", i)
		accounts = append(accounts, a)
		if err := st.SetMapping(t.Context(), bridge.Mapping{SlackUserID: u, EntraID: a, Source: bridge.SourceAdmin, FoundAt: now}, now); err != nil {
			t.Fatal(err)
		}
		c := bridge.Change{UserID: u, Status: bridge.Status{Text: "In a meeting"}, EventID: "Ev" + u, EventTime: now.Add(time.Duration(i) * time.Millisecond)}
		if _, err := st.Submit(t.Context(), c, now); err != nil {
			t.Fatal(err)
		}
	}
	presence := &failingPresence{err: &bridge.TransientError{Reason: "graph 503"}}
	e := &bridge.Engine{Queue: st, Owners: st, Upcoming: st, Presence: presence, Resolver: mapping.New(st, mapping.Options{}),
		Publisher: &publisher{}, Lease: 30 * time.Second}
	jobs, err := st.Claim(t.Context(), now, 30*time.Second, 1)
	if err != nil || len(jobs) != 1 || jobs[0].UserID != "U000000" {
		t.Fatalf("Claim = %+v, %v", jobs, err)
	}
	e.Process(t.Context(), jobs[0])
	if c, n := presence.calls.Load(), presence.ids.Load(); c != 1 || n != 3 {
		t.Fatalf("%d presence reads for %d accounts, want 1 for the claimed user's and the 2 due next", c, n)
	}
	got, err := st.UpcomingUnread(t.Context(), time.Now(), 10, time.Minute)
	if err != nil || len(got) != 2 || got[0] != accounts[1] || got[1] != accounts[2] {
		t.Fatalf("UpcomingUnread after the failed read = %v, %v; want %v", got, err, accounts[1:])
	}
}
