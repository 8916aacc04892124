package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

// The Teams → Slack cases: namespaces (a second queue and record set over
// the same store), seen records, named locks and fixed shared rates.
//
// Beyond the interfaces' own contracts, these rules hold:
//   - store.Namespace(b, name) takes 1 to 32 lower-case letters, digits or
//     '-'. Every record kind (queue, event ids, parked users, mappings,
//     owned records, choices, seen records, locks) is apart between a store
//     and each of its namespaces; opening a namespace again reaches the
//     same records. A namespace's Close leaves its parent open, and its
//     Kind is the parent's.
//   - Rate limits belong to the store: a namespace's Limiter and
//     FixedLimiter are its parent's, and a fixed rate is apart from the
//     Graph rate and from fixed rates of other names.
var twoWayCases = []struct {
	name string
	fn   func(t *testing.T, s store.Backend)
}{
	{"NamespaceNames", testNamespaceNames},
	{"NamespaceQueueApart", testNamespaceQueue},
	{"NamespaceRecordsApart", testNamespaceRecords},
	{"NamespaceCloseKeepsParent", testNamespaceClose},
	{"SeenRoundTrip", testSeen},
	{"SeenBadRecord", testSeenBadRecord},
	{"LockExclusive", testLockExclusive},
	{"LockRenew", testLockRenew},
	{"LockExpires", testLockExpires},
	{"LockBadArguments", testLockBadArguments},
	{"FixedLimiterSharesOneBudget", testFixedShared},
	{"FixedLimiterPenalizeHoldsBackAll", testFixedPenalize},
	{"FixedLimiterApartFromGraph", testFixedApartFromGraph},
	{"FixedLimiterBadSettings", testFixedBadSettings},
}

// runTwoWay runs the Teams → Slack cases; Run calls it.
func runTwoWay(t *testing.T, open func(t *testing.T) store.Backend) {
	for _, tc := range twoWayCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// namespace opens the namespace name of s.
func namespace(t *testing.T, s store.Backend, name string) store.Backend {
	t.Helper()
	ns, err := store.Namespace(s, name)
	noErr(t, "Namespace "+name, err)
	if ns == nil {
		t.Fatalf("Namespace(%q) = nil", name)
	}
	return ns
}

func testNamespaceNames(t *testing.T, s store.Backend) {
	for _, bad := range []string{"", "Slack", "a_b", "a:b", "a b", "{x}", "é", strings.Repeat("a", 33)} {
		if ns, err := store.Namespace(s, bad); err == nil {
			t.Errorf("Namespace(%q) = %v, nil; want an error", bad, ns)
		} else if !strings.Contains(err.Error(), "namespace") {
			t.Errorf("Namespace(%q): error %q does not say what is wrong", bad, err)
		}
	}
	for _, good := range []string{"slack", "a", "teams-2", strings.Repeat("z", 32)} {
		ns := namespace(t, s, good)
		if ns.Kind() != s.Kind() {
			t.Errorf("Namespace(%q).Kind() = %q, want the parent's %q", good, ns.Kind(), s.Kind())
		}
		noErr(t, "namespace Ping", ns.Ping(ctx(t)))
		if ns.Limiter() == nil {
			t.Errorf("Namespace(%q).Limiter() = nil", good)
		}
	}
	if _, err := store.Namespace(nil, "slack"); err == nil {
		t.Error("Namespace of a nil backend succeeded")
	}
}

// testNamespaceQueue: changes, event ids, leases and parked users of a
// namespace are not seen by the parent, and the other way round.
func testNamespaceQueue(t *testing.T, s store.Backend) {
	ns := namespace(t, s, "slack")
	other := namespace(t, s, "other")

	// One event id in both: each queue dedupes its own.
	submit(t, ns, change("U001", "Ev1", 0, "In a meeting"), at(0), bridge.Accepted)
	submit(t, ns, change("U001", "Ev1", 0, "In a meeting"), at(0), bridge.Duplicate)
	submit(t, s, change("U002", "Ev1", 1, "Lunch"), at(1), bridge.Accepted)

	if st := stats(t, s, at(2)); st.Due != 1 {
		t.Fatalf("parent Stats.Due = %d, want 1 (its own user only)", st.Due)
	}
	if st := stats(t, ns, at(2)); st.Due != 1 {
		t.Fatalf("namespace Stats.Due = %d, want 1 (its own user only)", st.Due)
	}
	if st := stats(t, other, at(2)); st.Due != 0 {
		t.Fatalf("other namespace Stats.Due = %d, want 0", st.Due)
	}
	claimNone(t, other, at(2))
	if _, ok, err := s.User(ctx(t), "U001"); err != nil || ok {
		t.Fatalf("parent User(U001) = %v, %v; want nothing: U001 was submitted in the namespace", ok, err)
	}
	if _, ok, err := ns.User(ctx(t), "U002"); err != nil || ok {
		t.Fatalf("namespace User(U002) = %v, %v; want nothing: U002 was submitted in the parent", ok, err)
	}

	j := claimOne(t, ns, at(2), "U001")
	pj := claimOne(t, s, at(2), "U002")
	if j.Desired.Status.Text != "In a meeting" {
		t.Fatalf("namespace job = %+v, want its own change", j.Desired)
	}
	// A namespace's token means nothing to the parent.
	leaseLost(t, "parent Complete of a namespace job", s.Complete(ctx(t), j, nil, at(3)))

	noErr(t, "namespace Park", ns.Park(ctx(t), j, "user_not_found", at(3)))
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("parent ListParked = %v, want none", ps)
	}
	if ps := parked(t, ns); len(ps) != 1 || ps[0].UserID != "U001" || ps[0].Reason != "user_not_found" {
		t.Fatalf("namespace ListParked = %v, want U001 (user_not_found)", ps)
	}
	if st := stats(t, s, at(3)); st.Parked != 0 {
		t.Fatalf("parent Stats.Parked = %d, want 0", st.Parked)
	}
	if ok, err := s.Unpark(ctx(t), "U001", at(3)); err != nil || ok {
		t.Fatalf("parent Unpark(U001) = %v, %v; want false: it is parked in the namespace", ok, err)
	}
	noErr(t, "parent Park", s.Park(ctx(t), pj, "forbidden", at(3)))
	if ps := parked(t, ns); len(ps) != 1 || ps[0].UserID != "U001" {
		t.Fatalf("namespace ListParked after a parent Park = %v, want only U001", ps)
	}
	if ok, err := ns.Unpark(ctx(t), "U001", at(4)); err != nil || !ok {
		t.Fatalf("namespace Unpark(U001) = %v, %v; want true", ok, err)
	}
	if ps := parked(t, s); len(ps) != 1 || ps[0].UserID != "U002" {
		t.Fatalf("parent ListParked = %v, want U002 still parked", ps)
	}

	// Opening the namespace again reaches the same records.
	again := namespace(t, s, "slack")
	claimOne(t, again, at(5), "U001")
	claimNone(t, s, at(5))
}

// testNamespaceRecords: mappings, owned records (keyed by a Slack user id,
// as the Teams → Slack flow keeps them), choices, seen records and locks of
// a namespace are apart from the parent's.
func testNamespaceRecords(t *testing.T, s store.Backend) {
	ns := namespace(t, s, "slack")

	m := bridge.Mapping{SlackUserID: "U001", EntraID: entraA, Source: bridge.SourceAdmin, FoundAt: at(0)}
	noErr(t, "namespace SetMapping", ns.SetMapping(ctx(t), m, at(0)))
	if _, ok, err := s.GetMapping(ctx(t), "U001"); err != nil || ok {
		t.Fatalf("parent GetMapping(U001) = %v, %v; want none", ok, err)
	}
	if ms, err := s.ListMappings(ctx(t)); err != nil || len(ms) != 0 {
		t.Fatalf("parent ListMappings = %v, %v; want none", ms, err)
	}
	m2 := bridge.Mapping{SlackUserID: "U001", EntraID: entraB, Source: bridge.SourceAdmin, FoundAt: at(0)}
	noErr(t, "parent SetMapping", s.SetMapping(ctx(t), m2, at(0)))
	got, ok, err := ns.GetMapping(ctx(t), "U001")
	noErr(t, "namespace GetMapping", err)
	if !ok || got.EntraID != entraA {
		t.Fatalf("namespace GetMapping(U001) = %+v, %v; want its own (%s)", got, ok, entraA)
	}
	submit(t, ns, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	if ids, err := s.UpcomingAccounts(ctx(t), at(1), 10); err != nil || len(ids) != 0 {
		t.Fatalf("parent UpcomingAccounts = %v, %v; want none", ids, err)
	}
	if ids, err := ns.UpcomingAccounts(ctx(t), at(1), 10); err != nil || len(ids) != 1 || ids[0] != entraA {
		t.Fatalf("namespace UpcomingAccounts = %v, %v; want [%s]", ids, err, entraA)
	}

	// Owned records keyed by Slack user ids, not Entra GUIDs.
	o := bridge.Owned{EntraID: "U001", SlackUserID: entraA, Content: "In a meeting", WrittenAt: at(2)}
	noErr(t, "namespace PutOwned", ns.PutOwned(ctx(t), o))
	gotO, ok, err := ns.GetOwned(ctx(t), "U001")
	noErr(t, "namespace GetOwned", err)
	if !ok {
		t.Fatal("namespace GetOwned(U001) found nothing")
	}
	sameOwned(t, gotO, o)
	if got := ownedBy(t, ns, entraA); len(got) != 1 || got[0] != "U001" {
		t.Fatalf("namespace OwnedBy(%s) = %v, want [U001]", entraA, got)
	}
	if _, ok, err := s.GetOwned(ctx(t), "U001"); err != nil || ok {
		t.Fatalf("parent GetOwned(U001) = %v, %v; want none", ok, err)
	}
	if got := ownedBy(t, s, entraA); len(got) != 0 {
		t.Fatalf("parent OwnedBy(%s) = %v, want none", entraA, got)
	}
	po := bridge.Owned{EntraID: entraA, SlackUserID: "U001", Content: "Lunch", WrittenAt: at(3)}
	noErr(t, "parent PutOwned", s.PutOwned(ctx(t), po))
	if _, ok, err := ns.GetOwned(ctx(t), entraA); err != nil || ok {
		t.Fatalf("namespace GetOwned(%s) = %v, %v; want none", entraA, ok, err)
	}
	if got := ownedBy(t, ns, "U001"); len(got) != 0 {
		t.Fatalf("namespace OwnedBy(U001) = %v, want none", got)
	}
	noErr(t, "parent DeleteOwned", s.DeleteOwned(ctx(t), "U001"))
	if _, ok, _ := ns.GetOwned(ctx(t), "U001"); !ok {
		t.Fatal("a parent DeleteOwned removed the namespace's record")
	}

	noErr(t, "parent SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOff, at(4)))
	if c := choice(t, ns, "U001"); c != bridge.ChoiceDefault {
		t.Fatalf("namespace Choice(U001) = %q, want the default", c)
	}
	noErr(t, "namespace SetChoice", ns.SetChoice(ctx(t), "U001", bridge.ChoiceOn, at(4)))
	if c := choice(t, s, "U001"); c != bridge.ChoiceOff {
		t.Fatalf("parent Choice(U001) = %q, want off", c)
	}

	noErr(t, "namespace PutSeen", ns.PutSeen(ctx(t), []bridge.Seen{{EntraID: entraA, Content: "Focus", At: at(5)}}))
	if got, err := s.GetSeen(ctx(t), []string{entraA}); err != nil || len(got) != 0 {
		t.Fatalf("parent GetSeen = %v, %v; want none", got, err)
	}
	if got, err := ns.GetSeen(ctx(t), []string{entraA}); err != nil || got[entraA].Content != "Focus" {
		t.Fatalf("namespace GetSeen = %v, %v; want Focus", got, err)
	}

	lock(t, ns, "poll", "a", time.Minute, true)
	lock(t, s, "poll", "b", time.Minute, true)
}

// testNamespaceClose: closing a namespace leaves the parent (and the
// namespace's records) usable; closing it twice is harmless.
func testNamespaceClose(t *testing.T, s store.Backend) {
	ns := namespace(t, s, "slack")
	submit(t, ns, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	noErr(t, "namespace Close", ns.Close())
	noErr(t, "second namespace Close", ns.Close())
	noErr(t, "parent Ping after a namespace Close", s.Ping(ctx(t)))
	submit(t, s, change("U002", "Ev2", 1, "Out"), at(1), bridge.Accepted)
	claimOne(t, s, at(2), "U002")
	claimOne(t, namespace(t, s, "slack"), at(2), "U001")
}

func seenRecords(n int, content string, sec int) []bridge.Seen {
	out := make([]bridge.Seen, n)
	for i := range out {
		out[i] = bridge.Seen{EntraID: fmt.Sprintf("0a0a0a0a-0000-4000-8000-%012d", i), Content: fmt.Sprintf("%s %d", content, i), At: at(sec)}
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

func testSeen(t *testing.T, s store.Backend) {
	got, err := s.GetSeen(ctx(t), nil)
	noErr(t, "GetSeen of none", err)
	if len(got) != 0 {
		t.Fatalf("GetSeen of none = %v", got)
	}
	noErr(t, "PutSeen of none", s.PutSeen(ctx(t), nil))

	const n = 1500
	recs := seenRecords(n, "Focus", 0)
	recs[7].Content = "" // Teams shows nothing
	noErr(t, "PutSeen", s.PutSeen(ctx(t), recs))
	ids := append(seenIDs(recs), "0f0f0f0f-0000-4000-8000-000000000000", "unknown")
	got, err = s.GetSeen(ctx(t), ids)
	noErr(t, "GetSeen", err)
	if len(got) != n {
		t.Fatalf("GetSeen of %d stored ids and 2 unknown returned %d records", n, len(got))
	}
	for _, r := range recs {
		g, ok := got[r.EntraID]
		if !ok || g.EntraID != r.EntraID || g.Content != r.Content || !g.At.Equal(r.At) {
			t.Fatalf("GetSeen[%s] = %+v, %v; want %+v", r.EntraID, g, ok, r)
		}
	}

	// Replacing: a later poll sees other messages on some accounts.
	repl := []bridge.Seen{
		{EntraID: recs[0].EntraID, Content: "Out sick", At: at(60)},
		{EntraID: recs[1499].EntraID, Content: "", At: at(60)},
	}
	noErr(t, "PutSeen", s.PutSeen(ctx(t), repl))
	got, err = s.GetSeen(ctx(t), []string{recs[0].EntraID, recs[1].EntraID, recs[1499].EntraID})
	noErr(t, "GetSeen", err)
	if len(got) != 3 {
		t.Fatalf("GetSeen after replacing = %v, want 3 records", got)
	}
	for _, want := range []bridge.Seen{repl[0], recs[1], repl[1]} {
		if g := got[want.EntraID]; g.Content != want.Content || !g.At.Equal(want.At) {
			t.Fatalf("GetSeen[%s] = %+v, want %+v", want.EntraID, g, want)
		}
	}
}

// testSeenBadRecord: a record without an Entra id fails the whole call,
// and nothing of it is stored.
func testSeenBadRecord(t *testing.T, s store.Backend) {
	recs := []bridge.Seen{{EntraID: entraA, Content: "Focus", At: at(0)}, {Content: "no id", At: at(0)}}
	if err := s.PutSeen(ctx(t), recs); err == nil {
		t.Fatal("PutSeen with a record without an Entra id succeeded")
	}
	got, err := s.GetSeen(ctx(t), []string{entraA, ""})
	noErr(t, "GetSeen", err)
	if len(got) != 0 {
		t.Fatalf("GetSeen after a refused PutSeen = %v, want none", got)
	}
}

// lock calls TryLock and checks the answer.
func lock(t *testing.T, s store.Backend, name, holder string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.TryLock(ctx(t), name, holder, ttl)
	noErr(t, "TryLock "+name+" by "+holder, err)
	if got != want {
		t.Fatalf("TryLock(%s, %s) = %v, want %v", name, holder, got, want)
	}
}

func testLockExclusive(t *testing.T, s store.Backend) {
	lock(t, s, "poll", "a", time.Minute, true)
	lock(t, s, "poll", "b", time.Minute, false)
	lock(t, s, "reconcile", "b", time.Minute, true) // another name is another lock
	noErr(t, "Unlock by a non-holder", s.Unlock(ctx(t), "poll", "b"))
	lock(t, s, "poll", "b", time.Minute, false)
	noErr(t, "Unlock of a lock nobody holds", s.Unlock(ctx(t), "nobody", "b"))
	noErr(t, "Unlock", s.Unlock(ctx(t), "poll", "a"))
	lock(t, s, "poll", "b", time.Minute, true)
	lock(t, s, "poll", "a", time.Minute, false)
}

// testLockRenew: the holder renews its lock, pushing the deadline out.
func testLockRenew(t *testing.T, s store.Backend) {
	lock(t, s, "poll", "a", 300*time.Millisecond, true)
	time.Sleep(100 * time.Millisecond)
	lock(t, s, "poll", "a", 5*time.Second, true)
	time.Sleep(400 * time.Millisecond) // past the first deadline
	lock(t, s, "poll", "b", time.Minute, false)
}

// testLockExpires: a lock whose holder stopped renewing is taken over after
// its ttl, and the former holder's Unlock then changes nothing.
func testLockExpires(t *testing.T, s store.Backend) {
	const ttl = 300 * time.Millisecond
	start := time.Now()
	lock(t, s, "poll", "a", ttl, true)
	for {
		ok, err := s.TryLock(ctx(t), "poll", "b", time.Minute)
		noErr(t, "TryLock", err)
		if ok {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("a %s lock was not taken over within 10 s", ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < ttl-20*time.Millisecond {
		t.Fatalf("a %s lock was taken over by another holder after %s", ttl, d)
	}
	noErr(t, "Unlock by the former holder", s.Unlock(ctx(t), "poll", "a"))
	lock(t, s, "poll", "a", time.Minute, false)
	noErr(t, "Unlock", s.Unlock(ctx(t), "poll", "b"))
	lock(t, s, "poll", "a", time.Minute, true)
}

func testLockBadArguments(t *testing.T, s store.Backend) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := s.TryLock(ctx(t), "poll", "a", ttl); err == nil {
			t.Errorf("TryLock with ttl %s succeeded", ttl)
		}
	}
	if _, err := s.TryLock(ctx(t), "", "a", time.Minute); err == nil {
		t.Error("TryLock without a name succeeded")
	}
	if _, err := s.TryLock(ctx(t), "poll", "", time.Minute); err == nil {
		t.Error("TryLock without a holder succeeded")
	}
	lock(t, s, "poll", "b", time.Minute, true) // nothing was taken by the refused calls
}

// The fixed rate of the cases: 20 calls per second, one every 50 ms.
const (
	fixedRate   = 20
	fixedPeriod = time.Second
)

// testFixedShared: two clients of one name (two workers or replicas with
// one Slack token) draw on one budget, spread evenly.
func testFixedShared(t *testing.T, s store.Backend) {
	l1, l2 := s.FixedLimiter("slack-token", fixedRate, fixedPeriod), s.FixedLimiter("slack-token", fixedRate, fixedPeriod)
	const d = 3 * fixedPeriod / 2
	var mu sync.Mutex
	var ts []time.Time
	var wg sync.WaitGroup
	for _, l := range []bridge.Limiter{l1, l2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for end := time.Now().Add(d); time.Now().Before(end); {
				if err := l.Wait(ctx(t)); err != nil {
					t.Errorf("Wait: %v", err)
					return
				}
				mu.Lock()
				ts = append(ts, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Loose bounds: one budget gives about 31 calls in 1.5 s, two budgets
	// about 62; a slow machine only lowers the count.
	if n, most := len(ts), fixedRate*3/2+4; n > most {
		t.Fatalf("two clients of one name made %d calls in %s, want at most %d: the budget is not shared", n, d, most)
	}
	if n := len(ts); n < fixedRate/2 {
		t.Fatalf("two clients made only %d calls in %s at %d per %s", n, d, fixedRate, fixedPeriod)
	}
	// Evenly spread: no burst (ideal: 4 calls in any 200 ms).
	if n := maxInWindow(sortedTimes(ts), 200*time.Millisecond); n > 7 {
		t.Fatalf("a window of 200 ms held %d calls at one call per 50 ms: a burst", n)
	}
	// Another name has a budget of its own.
	other := s.FixedLimiter("other-token", fixedRate, fixedPeriod)
	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	defer cancel()
	noErr(t, "Wait of another name", other.Wait(short))
}

func sortedTimes(ts []time.Time) []time.Time {
	out := slices.Clone(ts)
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// testFixedPenalize: a Penalize (Slack's Retry-After) through one client
// holds back every client of the name, a namespace's included, and no
// other name.
func testFixedPenalize(t *testing.T, s store.Backend) {
	l1, l2 := s.FixedLimiter("slack-token", fixedRate, fixedPeriod), s.FixedLimiter("slack-token", fixedRate, fixedPeriod)
	ns := namespace(t, s, "slack")
	l3 := ns.FixedLimiter("slack-token", fixedRate, fixedPeriod)
	noErr(t, "Wait", l2.Wait(ctx(t)))
	const penalty = 400 * time.Millisecond
	start := time.Now()
	noErr(t, "Penalize", l1.Penalize(ctx(t), penalty))
	for _, l := range []bridge.Limiter{l2, l3} {
		short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
		err := l.Wait(short)
		cancel()
		if err == nil {
			t.Fatal("Wait with a 100 ms deadline during a 400 ms penalty succeeded")
		}
	}
	other := s.FixedLimiter("other-token", fixedRate, fixedPeriod)
	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	noErr(t, "Wait of another name during the penalty", other.Wait(short))
	cancel()
	noErr(t, "Wait", l3.Wait(ctx(t)))
	if d := time.Since(start); d < penalty-50*time.Millisecond {
		t.Fatalf("Wait returned %s after a %s penalty through another client", d, penalty)
	}
}

// testFixedApartFromGraph: a 429 from Slack does not hold back Graph
// calls, nor a 429 from Graph Slack writes.
func testFixedApartFromGraph(t *testing.T, s store.Backend) {
	waitWithin := func(l bridge.Limiter, d time.Duration) error {
		short, cancel := context.WithTimeout(ctx(t), d)
		defer cancel()
		return l.Wait(short)
	}
	slackA := s.FixedLimiter("slack-a", fixedRate, fixedPeriod)
	noErr(t, "Slack Penalize", slackA.Penalize(ctx(t), 5*time.Second))
	if waitWithin(slackA, 100*time.Millisecond) == nil {
		t.Fatal("Slack Wait with a 100 ms deadline during a 5 s Slack penalty succeeded")
	}
	noErr(t, "Graph Wait during a Slack penalty", waitWithin(s.Limiter(), time.Second))

	slackB := s.FixedLimiter("slack-b", fixedRate, fixedPeriod)
	noErr(t, "Graph Penalize", s.Limiter().Penalize(ctx(t), 5*time.Second))
	if waitWithin(s.Limiter(), 100*time.Millisecond) == nil {
		t.Fatal("Graph Wait with a 100 ms deadline during a 5 s Graph penalty succeeded")
	}
	noErr(t, "Slack Wait during a Graph penalty", waitWithin(slackB, time.Second))
}

func testFixedBadSettings(t *testing.T, s store.Backend) {
	for _, c := range []struct {
		name string
		n    int
		per  time.Duration
	}{{"", 1, time.Second}, {"x", 0, time.Second}, {"x", -1, time.Second}, {"x", 1, 0}} {
		l := s.FixedLimiter(c.name, c.n, c.per)
		if l == nil {
			t.Fatalf("FixedLimiter(%q, %d, %s) = nil", c.name, c.n, c.per)
		}
		if err := l.Wait(ctx(t)); err == nil {
			t.Errorf("Wait of FixedLimiter(%q, %d, %s) succeeded", c.name, c.n, c.per)
		}
	}
}
