package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

func seenN(n int) ([]bridge.Seen, []string) {
	recs := make([]bridge.Seen, n)
	ids := make([]string, n)
	for i := range recs {
		ids[i] = fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", (i*7919)%n) // not in key order
		recs[i] = bridge.Seen{EntraID: ids[i], Content: fmt.Sprint("Focus ", i), At: t0}
	}
	return recs, ids
}

// TestSeen100k: one poll of 100,000 accounts is read and written in one
// transaction each, well within a poll cycle.
func TestSeen100k(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, ids := seenN(100_000)
	start := time.Now()
	if err := s.PutSeen(t.Context(), recs); err != nil {
		t.Fatalf("PutSeen: %v", err)
	}
	got, err := s.GetSeen(t.Context(), ids)
	if err != nil {
		t.Fatalf("GetSeen: %v", err)
	}
	d := time.Since(start)
	if len(got) != len(recs) {
		t.Fatalf("GetSeen returned %d of %d records", len(got), len(recs))
	}
	for _, i := range []int{0, 999, 54321, 99_999} {
		if r := got[recs[i].EntraID]; r.Content != recs[i].Content {
			t.Fatalf("GetSeen[%d] = %+v, want %+v", i, r, recs[i])
		}
	}
	t.Logf("100,000 seen records written and read in %s", d)
	if d > 20*time.Second {
		t.Fatalf("100,000 seen records took %s to write and read", d)
	}
}

// TestPutSeenLastWins: of two records of one account in one call, the later
// one is kept.
func TestPutSeenLastWins(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const id = "0a0a0a0a-0000-4000-8000-00000000000a"
	recs := []bridge.Seen{{EntraID: id, Content: "first", At: t0}, {EntraID: "b", At: t0}, {EntraID: id, Content: "second", At: t0}}
	if err := s.PutSeen(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSeen(t.Context(), []string{id})
	if err != nil || got[id].Content != "second" {
		t.Fatalf("GetSeen = %v, %v; want the later record (second)", got, err)
	}
}

func BenchmarkSeen10k(b *testing.B) {
	s, err := openB(b)
	if err != nil {
		b.Fatal(err)
	}
	recs, ids := seenN(10_000)
	for b.Loop() {
		if err := s.PutSeen(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetSeen(b.Context(), ids); err != nil {
			b.Fatal(err)
		}
	}
}
