package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

// TestNamespaceOnCluster: a namespace's scripts, pipelines and transactions
// stay on one Cluster slot (no CROSSSLOT), and its records stay apart.
func TestNamespaceOnCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	url := "redis+cluster://" + nodes[0].Addr + "," + nodes[1].Addr
	s := open(t, url)
	ns, err := s.Namespace("slack")
	if err != nil {
		t.Fatalf("Namespace: %v", err)
	}
	basicFlow(t, ns)
	if jobs, err := s.Claim(t.Context(), t0.Add(time.Hour), time.Minute, 50); err != nil || len(jobs) != 0 {
		t.Fatalf("parent Claim after the namespace's flow = %d jobs, %v; want none", len(jobs), err)
	}
	ctx := t.Context()
	recs := seenN(2500)
	if err := ns.PutSeen(ctx, recs); err != nil {
		t.Fatalf("PutSeen on cluster: %v", err)
	}
	got, err := ns.GetSeen(ctx, seenIDs(recs))
	if err != nil || len(got) != len(recs) {
		t.Fatalf("GetSeen on cluster = %d records, %v; want %d", len(got), err, len(recs))
	}
	if ok, err := ns.TryLock(ctx, "poll", "a", time.Minute); err != nil || !ok {
		t.Fatalf("TryLock on cluster = %v, %v", ok, err)
	}
	if err := ns.Unlock(ctx, "poll", "a"); err != nil {
		t.Fatalf("Unlock on cluster: %v", err)
	}
	l := ns.FixedLimiter("slack", 100, time.Second)
	if err := l.Penalize(ctx, 50*time.Millisecond); err != nil {
		t.Fatalf("Penalize on cluster: %v", err)
	}
	if err := l.Wait(ctx); err != nil {
		t.Fatalf("Wait on cluster: %v", err)
	}
}

func seenN(n int) []bridge.Seen {
	out := make([]bridge.Seen, n)
	for i := range out {
		out[i] = bridge.Seen{EntraID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", i), Content: fmt.Sprint("Focus ", i), At: t0}
	}
	return out
}

func seenIDs(rs []bridge.Seen) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.EntraID
	}
	return out
}

// TestSeen100k: one poll of 100,000 accounts is read and written in a few
// round trips, well within a poll cycle.
func TestSeen100k(t *testing.T) {
	s := open(t, redistest.Start(t).URL())
	recs := seenN(100_000)
	start := time.Now()
	if err := s.PutSeen(t.Context(), recs); err != nil {
		t.Fatalf("PutSeen: %v", err)
	}
	got, err := s.GetSeen(t.Context(), seenIDs(recs))
	if err != nil {
		t.Fatalf("GetSeen: %v", err)
	}
	d := time.Since(start)
	if len(got) != len(recs) {
		t.Fatalf("GetSeen returned %d of %d records", len(got), len(recs))
	}
	for _, i := range []int{0, 999, 1000, 54321, 99_999} {
		if r := got[recs[i].EntraID]; r.Content != recs[i].Content {
			t.Fatalf("GetSeen[%d] = %+v, want %+v", i, r, recs[i])
		}
	}
	t.Logf("100,000 seen records written and read in %s", d)
	if d > 20*time.Second {
		t.Fatalf("100,000 seen records took %s to write and read", d)
	}
}

func BenchmarkSeen10k(b *testing.B) {
	s, err := Open(b.Context(), redistest.Start(b).URL(), WithPrefix(fmt.Sprintf("b%d", prefixes.Add(1))))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := seenN(10_000)
	ids := seenIDs(recs)
	for b.Loop() {
		if err := s.PutSeen(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetSeen(b.Context(), ids); err != nil {
			b.Fatal(err)
		}
	}
}
