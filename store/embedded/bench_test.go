package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/store/embedded"
)

// BenchmarkClaimIdle measures a Claim that finds nothing: the cost of opening
// the data file for one operation.
func BenchmarkClaimIdle(b *testing.B) {
	s, err := openB(b)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Claim(b.Context(), t0, time.Minute, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimAmong5000 claims and completes one due user among 5,000 users.
func BenchmarkClaimAmong5000(b *testing.B) {
	s, err := openB(b)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 5000 {
		u := fmt.Sprintf("U%05d", i)
		// Due in an hour: not claimable now.
		if _, err := s.Submit(b.Context(), change(u, "", 0, "x"), t0.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Submit(b.Context(), change("U99999", "", i, fmt.Sprint(i)), t0); err != nil {
			b.Fatal(err)
		}
		jobs, err := s.Claim(b.Context(), t0, time.Minute, 1)
		if err != nil || len(jobs) != 1 {
			b.Fatal(jobs, err)
		}
		if err := s.Complete(b.Context(), jobs[0], nil, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func openB(b *testing.B) (*embedded.Store, error) {
	s, err := embedded.Open(b.TempDir())
	if err == nil {
		b.Cleanup(func() { s.Close() })
	}
	return s, err
}
