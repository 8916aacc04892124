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

// TestWriteTakesThreeStoreStepsOnRedis: with the Redis store as queue,
// mapping and ownership store, one change that reaches Teams costs three
// round trips to Redis once claimed: the user's records and the account's
// (OwnedFor), the record before the call, and the record and the
// completion after it (CompleteOwned). The mapping came with the claim. It
// used to cost six. What they store is what the separate steps stored.
func TestWriteTakesThreeStoreStepsOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	st, err := redisstore.Open(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
