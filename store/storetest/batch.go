package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

// runBatch runs the cases of store.MappingBatch: SetMappings keeps
// SetMapping's rules for every row, GetMappings reads many, and EachMapping
// streams every mapping exactly once.
func runBatch(t *testing.T, open func(t *testing.T) store.Backend) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Backend)
	}{
		{"SetMappingsRulesPerRow", testSetMappingsRules},
		{"SetMappingsMany", testSetMappingsMany},
		{"SetMappingsRefusesAnEmptyID", testSetMappingsEmptyID},
		{"EachMappingStopsAtError", testEachMappingStops},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// entraID is a distinct Entra object id for each n.
func entraID(n int) string { return fmt.Sprintf("0d0d0d0d-0000-4000-8000-%012d", n) }

// testSetMappingsRules: in one batch, a parked user is un-parked, a user
// with a stored change and a new Entra id is due, a user held by a worker is
// due after its lease, a user the bridge never saw stays idle, the same
// Entra id again makes nothing due, and an admin's entry beats a discovered one.
func testSetMappingsRules(t *testing.T, s store.Backend) {
	// U001 parked, unmapped.
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "unmapped", at(1)))
	// U002 applied to applied1's account.
	noErr(t, "SetMapping", s.SetMapping(ctx(t), bridge.Mapping{SlackUserID: "U002", EntraID: applied1.EntraID, Source: bridge.SourceEmail, FoundAt: at(1)}, at(1)))
	submit(t, s, change("U002", "Ev2", 1, "Lunch"), at(1), bridge.Accepted)
	j = claimOne(t, s, at(2), "U002")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(2)))
	// U004 admin-set; U005 applied and unchanged.
	admin := bridge.Mapping{SlackUserID: "U004", EntraID: entraID(4), Source: bridge.SourceAdmin, Detail: "set by admin", FoundAt: at(3)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), admin, at(3)))
	same := bridge.Mapping{SlackUserID: "U005", EntraID: entraID(5), Source: bridge.SourceAdmin, FoundAt: at(3)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), same, at(3)))
	submit(t, s, change("U005", "Ev5", 3, "Lunch"), at(3), bridge.Accepted)
	j = claimOne(t, s, at(3), "U005")
	noErr(t, "Complete", s.Complete(ctx(t), j, nil, at(3)))
	// U006 held by a worker.
	submit(t, s, change("U006", "Ev6", 4, "Lunch"), at(4), bridge.Accepted)
	held := claimOne(t, s, at(4), "U006")
	claimNone(t, s, at(5))

	batch := []bridge.Mapping{
		{SlackUserID: "U001", EntraID: entraID(1), Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at(10)},
		{SlackUserID: "U002", EntraID: entraID(2), Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at(10)},
		{SlackUserID: "U003", EntraID: entraID(3), Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at(10)},
		{SlackUserID: "U004", EntraID: entraID(40), Source: bridge.SourceEmail, Detail: "mail eq x", FoundAt: at(10)},
		same,
		{SlackUserID: "U006", EntraID: entraID(6), Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at(10)},
	}
	noErr(t, "SetMappings", s.SetMappings(ctx(t), batch, at(10)))
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked after SetMappings = %+v, want none", ps)
	}
	jobs := claim(t, s, at(10), 10)
	got := map[string]bool{}
	for _, j := range jobs {
		got[j.UserID] = true
	}
	if len(jobs) != 2 || !got["U001"] || !got["U002"] {
		t.Fatalf("Claim after SetMappings = %v, want U001 (un-parked) and U002 (moved); not U003 (never seen), U004 (admin kept), U005 (same id), U006 (leased)", users(jobs))
	}
	noErr(t, "Complete", s.Complete(ctx(t), held, nil, at(11)))
	claimOne(t, s, at(11), "U006")

	ms, err := s.GetMappings(ctx(t), []string{"U001", "U002", "U003", "U004", "U005", "U006", "U404"})
	noErr(t, "GetMappings", err)
	if len(ms) != 6 {
		t.Fatalf("GetMappings = %d entries, want 6 (U404 has none)", len(ms))
	}
	for _, want := range []bridge.Mapping{batch[0], batch[1], batch[2], admin, same, batch[5]} {
		sameMapping(t, ms[want.SlackUserID], want)
	}
}

// testSetMappingsMany: a batch larger than any one round trip or
// transaction is stored whole; GetMappings reads it back, EachMapping
// passes every entry once.
func testSetMappingsMany(t *testing.T, s store.Backend) {
	const n = 2503
	batch := make([]bridge.Mapping, n)
	ids := make([]string, n)
	for i := range batch {
		ids[i] = fmt.Sprintf("U%07d", i)
		batch[i] = bridge.Mapping{SlackUserID: ids[i], EntraID: entraID(i), Source: bridge.SourceAdmin, Detail: "imported", FoundAt: at(1)}
	}
	noErr(t, "SetMappings", s.SetMappings(ctx(t), batch, at(1)))
	// A negative entry among them streams too.
	noErr(t, "SetMapping", s.SetMapping(ctx(t), bridge.Mapping{SlackUserID: "W0NONE", Source: bridge.SourceNone, Detail: "no match", FoundAt: at(2)}, at(2)))

	ms, err := s.GetMappings(ctx(t), ids)
	noErr(t, "GetMappings", err)
	if len(ms) != n {
		t.Fatalf("GetMappings = %d entries, want %d", len(ms), n)
	}
	for _, want := range batch {
		sameMapping(t, ms[want.SlackUserID], want)
	}

	seen := map[string]int{}
	noErr(t, "EachMapping", s.EachMapping(ctx(t), func(m bridge.Mapping) error {
		seen[m.SlackUserID]++
		if m.SlackUserID == "W0NONE" {
			if m.Source != bridge.SourceNone || m.EntraID != "" {
				t.Errorf("EachMapping passed %+v for the negative entry", m)
			}
			return nil
		}
		var i int
		if _, err := fmt.Sscanf(m.SlackUserID, "U%07d", &i); err != nil || i >= n {
			t.Errorf("EachMapping passed an unknown entry %+v", m)
			return nil
		}
		if m.EntraID != batch[i].EntraID || m.Source != bridge.SourceAdmin || !m.FoundAt.Equal(at(1)) {
			t.Errorf("EachMapping passed %+v, want %+v", m, batch[i])
		}
		return nil
	}))
	if len(seen) != n+1 {
		t.Fatalf("EachMapping passed %d distinct entries, want %d", len(seen), n+1)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("EachMapping passed %s %d times, want once", id, c)
		}
	}

	// Moving them all again is as quick and as whole.
	for i := range batch {
		batch[i].EntraID = entraID(n + i)
	}
	noErr(t, "SetMappings", s.SetMappings(ctx(t), batch, at(3)))
	if m, _, err := s.GetMapping(ctx(t), ids[n-1]); err != nil || m.EntraID != entraID(2*n-1) {
		t.Fatalf("GetMapping after a second batch = %+v, %v; want entra %s", m, err, entraID(2*n-1))
	}
	if err := s.SetMappings(ctx(t), nil, at(4)); err != nil {
		t.Fatalf("SetMappings(nil) = %v, want nil", err)
	}
}

// testSetMappingsEmptyID: a row without a Slack user id fails the batch
// before anything is stored.
func testSetMappingsEmptyID(t *testing.T, s store.Backend) {
	batch := []bridge.Mapping{
		{SlackUserID: "U001", EntraID: entraID(1), Source: bridge.SourceAdmin, FoundAt: at(1)},
		{EntraID: entraID(2), Source: bridge.SourceAdmin, FoundAt: at(1)},
	}
	if err := s.SetMappings(ctx(t), batch, at(1)); err == nil {
		t.Fatal("SetMappings with an empty Slack user id = nil, want an error")
	}
	if _, ok, err := s.GetMapping(ctx(t), "U001"); err != nil || ok {
		t.Fatalf("GetMapping(U001) after a refused batch = found %v, err %v; want nothing stored", ok, err)
	}
}

// testEachMappingStops: fn's error ends the walk and comes back unchanged.
func testEachMappingStops(t *testing.T, s store.Backend) {
	batch := make([]bridge.Mapping, 5)
	for i := range batch {
		batch[i] = bridge.Mapping{SlackUserID: fmt.Sprintf("U%03d", i), EntraID: entraID(i), Source: bridge.SourceAdmin, FoundAt: at(1)}
	}
	noErr(t, "SetMappings", s.SetMappings(ctx(t), batch, at(1)))
	stop := errors.New("stop here")
	calls := 0
	err := s.EachMapping(ctx(t), func(bridge.Mapping) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("EachMapping = %v after %d calls, want fn's error after 2", err, calls)
	}
	calls = 0
	noErr(t, "EachMapping", s.EachMapping(ctx(t), func(bridge.Mapping) error { calls++; return nil }))
	if calls != len(batch) {
		t.Fatalf("EachMapping made %d calls, want %d", calls, len(batch))
	}
}
