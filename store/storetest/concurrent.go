package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

// runConcurrent runs the cases of many Submits at once, as a busy intake
// makes them: each caller gets the outcome of its own change, whatever the
// store does to share round trips or commits between them.
func runConcurrent(t *testing.T, open func(t *testing.T) store.Backend) {
	t.Run("ConcurrentSubmits", func(t *testing.T) { testConcurrentSubmits(t, open(t)) })
}

// testConcurrentSubmits starts 200 Submits at once: 50 distinct changes, 25
// events delivered twice, 25 users with two events of equal content and 25
// users with two events of different content.
func testConcurrentSubmits(t *testing.T, s store.Backend) {
	type call struct {
		c     bridge.Change
		group string
		out   bridge.SubmitOutcome
		err   error
	}
	var calls []*call
	add := func(group string, c bridge.Change) { calls = append(calls, &call{c: c, group: group}) }
	for i := range 50 {
		add("distinct", change(fmt.Sprintf("UA%02d", i), fmt.Sprintf("EvA%02d", i), 1, "Lunch"))
	}
	for i := range 25 {
		c := change(fmt.Sprintf("UB%02d", i), fmt.Sprintf("EvB%02d", i), 1, "Lunch")
		add("retried", c)
		add("retried", c)
	}
	for i := range 25 {
		u := fmt.Sprintf("UC%02d", i)
		first := change(u, fmt.Sprintf("EvC%02d-1", i), 1, "Lunch")
		later := change(u, fmt.Sprintf("EvC%02d-2", i), 2, "Lunch")
		later.Status = first.Status
		add("same", first)
		add("same", later)
	}
	for i := range 25 {
		u := fmt.Sprintf("UD%02d", i)
		add("older", change(u, fmt.Sprintf("EvD%02d-1", i), 1, "Lunch"))
		add("newer", change(u, fmt.Sprintf("EvD%02d-2", i), 2, "In a meeting"))
	}
	if len(calls) != 200 {
		t.Fatalf("built %d calls, want 200", len(calls))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c.out, c.err = s.Submit(ctx(t), c.c, at(3))
		}()
	}
	close(start)
	wg.Wait()

	byEvent := map[string][]bridge.SubmitOutcome{}
	byUser := map[string][]*call{}
	for _, c := range calls {
		if c.err != nil {
			t.Fatalf("Submit(%s %s): %v", c.c.UserID, c.c.EventID, c.err)
		}
		byEvent[c.c.EventID] = append(byEvent[c.c.EventID], c.out)
		byUser[c.c.UserID] = append(byUser[c.c.UserID], c)
	}
	for user, cs := range byUser {
		got := map[bridge.SubmitOutcome]int{}
		for _, c := range cs {
			got[c.out]++
		}
		switch cs[0].group {
		case "distinct":
			if cs[0].out != bridge.Accepted {
				t.Errorf("%s: distinct change = %v, want accepted", user, cs[0].out)
			}
		case "retried":
			if got[bridge.Accepted] != 1 || got[bridge.Duplicate] != 1 {
				t.Errorf("%s: an event delivered twice = %v, want one accepted and one duplicate", user, got)
			}
		case "same":
			// The earlier event first: the later one is unchanged; the later
			// event first: the earlier one is stale.
			first, second := cs[0].out, cs[1].out
			if !(first == bridge.Accepted && second == bridge.Unchanged) && !(first == bridge.Stale && second == bridge.Accepted) {
				t.Errorf("%s: equal content at two times = %v then %v; want accepted/unchanged or stale/accepted", user, first, second)
			}
		case "older":
			older, newer := cs[0].out, cs[1].out
			if newer != bridge.Accepted || (older != bridge.Accepted && older != bridge.Stale) {
				t.Errorf("%s: older, newer = %v, %v; want accepted or stale, accepted", user, older, newer)
			}
		}
	}

	jobs := claim(t, s, at(3), 1000)
	if len(jobs) != 125 {
		t.Fatalf("claimed %d users, want 125", len(jobs))
	}
	for _, j := range jobs {
		want := "Lunch"
		if j.UserID[:2] == "UD" {
			want = "In a meeting"
		}
		if j.Desired.Status.Text != want {
			t.Errorf("%s: desired %q, want %q", j.UserID, j.Desired.Status.Text, want)
		}
		if j.UserID[:2] == "UC" && !j.Desired.EventTime.Equal(at(1)) && !j.Desired.EventTime.Equal(at(2)) {
			t.Errorf("%s: desired event time %s", j.UserID, j.Desired.EventTime)
		}
	}
	// Every event id is remembered, whichever call stored it.
	for id := range byEvent {
		c := change("UZ00", id, 9, "Later")
		submit(t, s, c, at(9), bridge.Duplicate)
	}
}
