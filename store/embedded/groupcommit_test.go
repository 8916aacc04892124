package embedded

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

var gcT0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func gcChange(user, event, text string) bridge.Change {
	return bridge.Change{UserID: user, Status: bridge.Status{Text: text}, EventID: event, EventTime: gcT0, Source: "http"}
}

// TestGroupCommitFailureIsItsOwn: a change whose step fails inside a shared
// transaction fails alone; the others of its group are committed, durably,
// and the failing one leaves nothing behind.
func TestGroupCommitFailureIsItsOwn(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt refuses keys over 32 KiB: this event id fails its Put.
	huge := strings.Repeat("E", 40000)
	changes := []bridge.Change{
		gcChange("U001", "Ev1", "Lunch"),
		gcChange("U002", huge, "Lunch"),
		gcChange("U003", "Ev3", "Lunch"),
		gcChange("U001", "Ev1", "Lunch"), // the first one's retry, in the same group
	}
	var group []*submitCall
	for _, c := range changes {
		group = append(group, &submitCall{ctx: t.Context(), s: s, c: c, now: gcT0, done: make(chan struct{})})
	}
	commit(group)
	want := []bridge.SubmitOutcome{bridge.Accepted, 0, bridge.Accepted, bridge.Duplicate}
	for i, c := range group {
		if i == 1 {
			if c.err == nil {
				t.Errorf("change with a 40,000-byte event id: no error (outcome %v)", c.out)
			}
			continue
		}
		if c.err != nil || c.out != want[i] {
			t.Errorf("change %d (%s %s) = %v, %v; want %v", i, c.c.UserID, c.c.EventID, c.out, c.err, want[i])
		}
		select {
		case <-c.done:
		default:
			t.Errorf("change %d: done not closed", i)
		}
	}
	// Durable: a fresh process sees the committed changes and nothing of the failed one.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, u := range []string{"U001", "U003"} {
		if _, ok, err := s2.User(t.Context(), u); err != nil || !ok {
			t.Errorf("User(%s) after reopen = %v, %v; want stored", u, ok, err)
		}
	}
	if _, ok, err := s2.User(t.Context(), "U002"); err != nil || ok {
		t.Errorf("User(U002) after reopen = %v, %v; want nothing stored", ok, err)
	}
}

// TestGroupCommitSharesCommits: Submits that arrive while a commit is in
// flight share later commits, and every one of them gets its own outcome.
func TestGroupCommitSharesCommits(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 200
	outs := make([]bridge.SubmitOutcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Every event id twice: exactly one of each pair is accepted.
			outs[i], errs[i] = s.Submit(t.Context(), gcChange(fmt.Sprintf("U%03d", i/2), fmt.Sprintf("Ev%03d", i/2), "Lunch"), gcT0)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	for i := 0; i < n; i += 2 {
		if errs[i] != nil || errs[i+1] != nil {
			t.Fatalf("pair %d: %v, %v", i/2, errs[i], errs[i+1])
		}
		a, b := outs[i], outs[i+1]
		if !(a == bridge.Accepted && b == bridge.Duplicate) && !(a == bridge.Duplicate && b == bridge.Accepted) {
			t.Errorf("pair %d = %v, %v; want one accepted, one duplicate", i/2, a, b)
		}
	}
	st, err := s.Stats(t.Context(), gcT0)
	if err != nil || st.Due != n/2 {
		t.Errorf("Stats = %+v, %v; want %d due", st, err, n/2)
	}
	t.Logf("%d concurrent submits in %s", n, took)
}
