// Package storetest is the conformance suite that every statusbridge store
// passes: the queue, admin, mapping, ownership, choice and rate-limit
// behaviour the bridge relies on, exercised through store.Backend with
// explicit clock values.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store"
)

// The Graph rate that open must give the store's Limiter: it starts at
// LimitRate calls per LimitPeriod (all of them at once, as a sliding window
// allows) and may rise to LimitMax while no 429 comes.
const (
	LimitRate   = 20
	LimitMax    = 40
	LimitPeriod = time.Second
)

// Run runs the conformance suite. open returns a fresh, empty store for each
// subtest, whose Limiter allows LimitRate calls per LimitPeriod; the store
// must stay usable until the subtest ends (open registers its Close with
// t.Cleanup; a second Close must be harmless).
//
// Times used by the suite are whole seconds, so a store may keep due times
// and lease deadlines with millisecond precision. Beyond the bridge
// interfaces' own contracts, the suite fixes these rules:
//   - Submit checks, in order: a seen event id (Duplicate), an older event
//     time (Stale), equal status content (Unchanged). Equal event times with
//     different content are Accepted (last arrival wins).
//   - Unchanged stores nothing visible to workers (no new due entry, same
//     Rev, a parked user stays parked) but does advance the stored event
//     time, so an older change arriving later is still Stale.
//   - Accepted increments Rev by one, resets Attempts and LastError, un-parks
//     the user and makes it due at now, unless a worker holds its lease: then
//     the user becomes due when that worker completes, retries, parks or
//     releases it.
//   - A token is valid from Claim until the first Complete, Retry, Park or
//     Release with it, or until another Claim takes the user after the lease
//     ran out. Any use of an invalid token returns bridge.ErrLeaseLost and
//     changes nothing.
//   - Claim returns the users due longest first.
//   - A deactivation is never Unchanged against a change that was not one.
//   - SetChoice, a SetMapping with a new Entra id and a DeleteMapping of an
//     entry that named one grow Rev and make a user with a stored change due
//     at now (after its lease, when leased); a parked user stays parked
//     under SetChoice.
//   - Hold forgets Applied, resets Attempts and LastError, and keeps the
//     held content through later changes until a Complete clears it.
func Run(t *testing.T, open func(t *testing.T) store.Backend) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
	runTwoWay(t, open)
	runBatch(t, open)
	runConcurrent(t, open)
}

var cases = []struct {
	name string
	fn   func(t *testing.T, s store.Backend)
}{
	{"SubmitAccepted", testSubmitAccepted},
	{"SubmitDuplicateEventID", testSubmitDuplicate},
	{"SubmitStale", testSubmitStale},
	{"SubmitEqualTimeLastArrivalWins", testSubmitEqualTime},
	{"SubmitUnchanged", testSubmitUnchanged},
	{"SubmitWithoutEventID", testSubmitWithoutEventID},
	{"SubmitResetsAttempts", testSubmitResetsAttempts},
	{"SubmitUnparks", testSubmitUnparks},
	{"SubmitWhileLeased", testSubmitWhileLeased},
	{"ClaimOnlyDue", testClaimOnlyDue},
	{"ClaimMaxOldestFirst", testClaimMax},
	{"ClaimLease", testClaimLease},
	{"CompleteRecordsApplied", testCompleteApplied},
	{"CompleteWithNewerChange", testCompleteNewer},
	{"StaleToken", testStaleToken},
	{"Retry", testRetry},
	{"RetryWithNewerChange", testRetryNewer},
	{"Park", testPark},
	{"ParkWithNewerChange", testParkNewer},
	{"MappingUnparks", testMappingUnparks},
	{"AbandonedLeaseForgetsApplied", testAbandonedLeaseForgetsApplied},
	{"RetryForgetsApplied", testRetryForgetsApplied},
	{"MappingChangeWhileLeased", testMappingChangeWhileLeased},
	{"MappingChangeDuringWait", testMappingChangeDuringWait},
	{"AdminMappingWins", testAdminMappingWins},
	{"DiscoveryKeepsBackoff", testDiscoveryKeepsBackoff},
	{"UpcomingAccounts", testUpcomingAccounts},
	{"Release", testRelease},
	{"Mappings", testMappings},
	{"Stats", testStats},
	{"ConcurrentClaims", testConcurrentClaims},
	{"DeactivationIsAChange", testDeactivation},
	{"DeleteMappingMakesDue", testDeleteMappingMakesDue},
	{"Ownership", testOwnership},
	{"Choice", testChoice},
	{"ChoiceWhileLeasedOrParked", testChoiceLeasedParked},
	{"Hold", testHold},
	{"HoldWithNewerChange", testHoldNewer},
	{"User", testUser},
	{"LimiterSharesOneBudget", testLimiterShared},
	{"LimiterPenalizeHoldsBackAll", testLimiterPenalize},
	{"LimiterRisesWhileGraphAccepts", testLimiterRises},
	{"LimiterPenalizeCutsTheRate", testLimiterCut},
	{"LimiterCeilingHolds", testLimiterCeiling},
	{"LimiterClientsShareTheRate", testLimiterSharedRate},
	{"LimiterCountsFromTheAnswer", testLimiterLanded},
	{"LimiterCapsUnansweredProbes", testLimiterProbes},
	{"Ping", testPing},
	{"Close", testClose},
}

// t0 is the suite's epoch; every time is a whole number of seconds after it.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

const lease = 30 * time.Second

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ctx(t *testing.T) context.Context { return t.Context() }

// change builds a change of user at t0+sec seconds with the given text.
func change(user, event string, sec int, text string) bridge.Change {
	return bridge.Change{
		UserID: user,
		TeamID: "T0001",
		Status: bridge.Status{
			Text:       text,
			Emoji:      "🌴",
			EmojiName:  ":palm_tree:",
			Expiration: at(sec).Add(72 * time.Hour).Unix(),
		},
		EventID:   event,
		EventTime: at(sec),
		Source:    "http",
	}
}

func submit(t *testing.T, s store.Backend, c bridge.Change, now time.Time, want bridge.SubmitOutcome) {
	t.Helper()
	got, err := s.Submit(ctx(t), c, now)
	if err != nil {
		t.Fatalf("Submit(%s %s): %v", c.UserID, c.EventID, err)
	}
	if got != want {
		t.Fatalf("Submit(%s %s) = %v, want %v", c.UserID, c.EventID, got, want)
	}
}

func claim(t *testing.T, s store.Backend, now time.Time, max int) []bridge.Job {
	t.Helper()
	jobs, err := s.Claim(ctx(t), now, lease, max)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	for _, j := range jobs {
		if j.Token == "" {
			t.Fatalf("Claim returned job for %s without a token", j.UserID)
		}
		if j.UserID != j.Desired.UserID {
			t.Fatalf("Claim returned job for %s with desired change of %s", j.UserID, j.Desired.UserID)
		}
	}
	return jobs
}

// claimOne claims at now and expects exactly one job, for user.
func claimOne(t *testing.T, s store.Backend, now time.Time, user string) bridge.Job {
	t.Helper()
	jobs := claim(t, s, now, 10)
	if len(jobs) != 1 || jobs[0].UserID != user {
		t.Fatalf("Claim at %s = %v, want one job for %s", now.Sub(t0), users(jobs), user)
	}
	return jobs[0]
}

// claimNone claims at now and expects nothing.
func claimNone(t *testing.T, s store.Backend, now time.Time) {
	t.Helper()
	if jobs := claim(t, s, now, 10); len(jobs) != 0 {
		t.Fatalf("Claim at %s = %v, want none", now.Sub(t0), users(jobs))
	}
}

func users(jobs []bridge.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.UserID
	}
	return out
}

func sameChange(t *testing.T, got, want bridge.Change) {
	t.Helper()
	if got.UserID != want.UserID || got.TeamID != want.TeamID || got.Status != want.Status ||
		got.EventID != want.EventID || got.Source != want.Source || !got.EventTime.Equal(want.EventTime) {
		t.Fatalf("desired change = %+v, want %+v", got, want)
	}
}

func sameApplied(t *testing.T, got, want *bridge.Applied) {
	t.Helper()
	switch {
	case got == nil && want == nil:
		return
	case got == nil || want == nil:
		t.Fatalf("applied = %+v, want %+v", got, want)
	}
	if got.EntraID != want.EntraID || !got.Message.Equal(want.Message) || !got.AppliedAt.Equal(want.AppliedAt) {
		t.Fatalf("applied = %+v, want %+v", *got, *want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func leaseLost(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, bridge.ErrLeaseLost) {
		t.Fatalf("%s with a stale token: err = %v, want bridge.ErrLeaseLost", what, err)
	}
}

func stats(t *testing.T, s store.Backend, now time.Time) bridge.QueueStats {
	t.Helper()
	st, err := s.Stats(ctx(t), now)
	noErr(t, "Stats", err)
	return st
}

func parked(t *testing.T, s store.Backend) []bridge.Parked {
	t.Helper()
	ps, err := s.ListParked(ctx(t))
	noErr(t, "ListParked", err)
	sort.Slice(ps, func(i, j int) bool { return ps[i].UserID < ps[j].UserID })
	return ps
}

var applied1 = &bridge.Applied{
	Message:   bridge.Message{Content: "🌴 Vacationing", Expiry: at(3600)},
	EntraID:   "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60",
	AppliedAt: at(2),
}

func testSubmitAccepted(t *testing.T, s store.Backend) {
	c := change("U001", "Ev1", 0, "Vacationing")
	submit(t, s, c, at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	sameChange(t, j.Desired, c)
	if j.Rev <= 0 {
		t.Errorf("Rev = %d, want > 0", j.Rev)
	}
	sameApplied(t, j.Applied, nil)
	if j.Attempts != 0 || j.LastError != "" {
		t.Errorf("Attempts, LastError = %d, %q, want 0, empty", j.Attempts, j.LastError)
	}
}

func testSubmitDuplicate(t *testing.T, s store.Backend) {
	c := change("U001", "Ev1", 0, "Vacationing")
	submit(t, s, c, at(0), bridge.Accepted)
	// Slack's retry of the same event, even one that looks different.
	submit(t, s, c, at(1), bridge.Duplicate)
	submit(t, s, change("U001", "Ev1", 5, "Lunch"), at(5), bridge.Duplicate)
	// The event id is remembered across users too: Slack's ids are global.
	submit(t, s, change("U002", "Ev1", 5, "Lunch"), at(5), bridge.Duplicate)
	j := claimOne(t, s, at(10), "U001")
	sameChange(t, j.Desired, c)
}

func testSubmitStale(t *testing.T, s store.Backend) {
	newer := change("U001", "Ev2", 10, "In a meeting")
	submit(t, s, newer, at(10), bridge.Accepted)
	j := claimOne(t, s, at(10), "U001")
	noErr(t, "Release", s.Release(ctx(t), j, at(10)))
	submit(t, s, change("U001", "Ev1", 5, "Lunch"), at(11), bridge.Stale)
	j2 := claimOne(t, s, at(12), "U001")
	sameChange(t, j2.Desired, newer)
	if j2.Rev != j.Rev {
		t.Errorf("Rev after a stale change = %d, want %d", j2.Rev, j.Rev)
	}
}

func testSubmitEqualTime(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 5, "Lunch"), at(5), bridge.Accepted)
	second := change("U001", "Ev2", 5, "Back soon")
	submit(t, s, second, at(6), bridge.Accepted)
	j := claimOne(t, s, at(6), "U001")
	sameChange(t, j.Desired, second)
}

func testSubmitUnchanged(t *testing.T, s store.Backend) {
	first := change("U001", "Ev1", 0, "Vacationing")
	submit(t, s, first, at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(1)))

	// The user_status_changed twin of the user_change event: another event
	// id and source, the same status, a later time.
	twin := first
	twin.EventID, twin.Source, twin.EventTime = "Ev2", "socket", at(20)
	submit(t, s, twin, at(20), bridge.Unchanged)
	claimNone(t, s, at(21))
	if st := stats(t, s, at(21)); st.Due != 0 {
		t.Errorf("Stats.Due after an unchanged change = %d, want 0", st.Due)
	}

	// Unchanged advanced the event time: a change from before it is stale.
	submit(t, s, change("U001", "Ev3", 10, "Lunch"), at(22), bridge.Stale)
	claimNone(t, s, at(23))

	next := change("U001", "Ev4", 30, "Lunch")
	submit(t, s, next, at(30), bridge.Accepted)
	j2 := claimOne(t, s, at(30), "U001")
	sameChange(t, j2.Desired, next)
	if j2.Rev != j.Rev+1 {
		t.Errorf("Rev = %d, want %d (one accepted change since rev %d)", j2.Rev, j.Rev+1, j.Rev)
	}
}

func testSubmitWithoutEventID(t *testing.T, s store.Backend) {
	// Reconcile submits changes without an event id; they are never duplicates.
	c := change("U001", "", 0, "Vacationing")
	submit(t, s, c, at(0), bridge.Accepted)
	c2 := c
	c2.EventTime = at(5)
	submit(t, s, c2, at(5), bridge.Unchanged)
	c3 := change("U001", "", 6, "Lunch")
	submit(t, s, c3, at(6), bridge.Accepted)
	j := claimOne(t, s, at(6), "U001")
	sameChange(t, j.Desired, c3)
}

func testSubmitResetsAttempts(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(60), 3, "graph 503"))
	j = claimOne(t, s, at(60), "U001")
	if j.Attempts != 3 || j.LastError != "graph 503" {
		t.Fatalf("Attempts, LastError = %d, %q, want 3, %q", j.Attempts, j.LastError, "graph 503")
	}
	noErr(t, "Retry", s.Retry(ctx(t), j, at(120), 4, "graph 504"))
	submit(t, s, change("U001", "Ev2", 90, "Lunch"), at(90), bridge.Accepted)
	j = claimOne(t, s, at(90), "U001")
	if j.Attempts != 0 || j.LastError != "" {
		t.Fatalf("after a new change: Attempts, LastError = %d, %q, want 0, empty", j.Attempts, j.LastError)
	}
}

func testSubmitUnparks(t *testing.T, s store.Backend) {
	c := change("U001", "Ev1", 0, "Vacationing")
	submit(t, s, c, at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "graph 404: user not found", at(1)))

	// A reconcile pass that sees the same status leaves the user parked.
	same := c
	same.EventID, same.EventTime = "", at(5)
	submit(t, s, same, at(5), bridge.Unchanged)
	claimNone(t, s, at(6))
	if ps := parked(t, s); len(ps) != 1 {
		t.Fatalf("ListParked after an unchanged change = %+v, want the user still parked", ps)
	}

	next := change("U001", "Ev2", 10, "Lunch")
	submit(t, s, next, at(10), bridge.Accepted)
	j = claimOne(t, s, at(10), "U001")
	sameChange(t, j.Desired, next)
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked after a new change = %+v, want none", ps)
	}
}

func testSubmitWhileLeased(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	claimOne(t, s, at(0), "U001")
	submit(t, s, change("U001", "Ev2", 1, "Lunch"), at(1), bridge.Accepted)
	// Another worker must not take the user while the first one holds it.
	claimNone(t, s, at(2))
	claimNone(t, s, at(0).Add(lease-time.Second))
	// The lease runs out (the first worker crashed): the newest change is claimable.
	j := claimOne(t, s, at(0).Add(lease+time.Second), "U001")
	sameChange(t, j.Desired, change("U001", "Ev2", 1, "Lunch"))
}

func testClaimOnlyDue(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "A"), at(0), bridge.Accepted)
	submit(t, s, change("U002", "Ev2", 10, "B"), at(10), bridge.Accepted)
	claimOne(t, s, at(5), "U001")
	claimNone(t, s, at(6))
	claimOne(t, s, at(10), "U002")
}

func testClaimMax(t *testing.T, s store.Backend) {
	for i := 0; i < 5; i++ {
		u := fmt.Sprintf("U00%d", i)
		submit(t, s, change(u, "Ev"+u, i, "x"), at(i), bridge.Accepted)
	}
	got := users(claim(t, s, at(60), 2))
	sort.Strings(got)
	if fmt.Sprint(got) != "[U000 U001]" {
		t.Fatalf("first Claim(max 2) = %v, want the two due longest [U000 U001]", got)
	}
	got = users(claim(t, s, at(60), 2))
	sort.Strings(got)
	if fmt.Sprint(got) != "[U002 U003]" {
		t.Fatalf("second Claim(max 2) = %v, want [U002 U003]", got)
	}
	got = users(claim(t, s, at(60), 2))
	if fmt.Sprint(got) != "[U004]" {
		t.Fatalf("third Claim(max 2) = %v, want [U004]", got)
	}
	claimNone(t, s, at(60))
}

func testClaimLease(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "A"), at(0), bridge.Accepted)
	j1 := claimOne(t, s, at(0), "U001")
	claimNone(t, s, at(0))
	claimNone(t, s, at(0).Add(lease-time.Second))
	// The worker crashed: after the lease, another worker takes the user
	// under a new token, with the same state.
	j2 := claimOne(t, s, at(0).Add(lease+time.Second), "U001")
	if j2.Token == j1.Token {
		t.Fatalf("re-claimed job has the old token %q", j1.Token)
	}
	if j2.Rev != j1.Rev {
		t.Fatalf("re-claimed Rev = %d, want %d", j2.Rev, j1.Rev)
	}
	sameChange(t, j2.Desired, j1.Desired)
	claimNone(t, s, at(0).Add(lease+2*time.Second))
}

func testCompleteApplied(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(2)))
	claimNone(t, s, at(3600))
	if st := stats(t, s, at(3600)); st.Due != 0 {
		t.Errorf("Stats.Due after Complete = %d, want 0", st.Due)
	}
	// Completing twice with the same token fails: the lease is gone.
	leaseLost(t, "second Complete", s.Complete(ctx(t), j, nil, at(3)))

	submit(t, s, change("U001", "Ev2", 100, "Lunch"), at(100), bridge.Accepted)
	j = claimOne(t, s, at(100), "U001")
	sameApplied(t, j.Applied, applied1)
	// Nothing was sent this time: the previous applied state stays.
	noErr(t, "Complete(nil)", s.Complete(ctx(t), j, nil, at(101)))

	submit(t, s, change("U001", "Ev3", 200, "Vacationing again"), at(200), bridge.Accepted)
	j = claimOne(t, s, at(200), "U001")
	sameApplied(t, j.Applied, applied1)
	applied2 := &bridge.Applied{Message: bridge.Message{}, EntraID: applied1.EntraID, AppliedAt: at(201)}
	noErr(t, "Complete", s.Complete(ctx(t), j, applied2, at(201)))

	submit(t, s, change("U001", "Ev4", 300, "Out"), at(300), bridge.Accepted)
	j = claimOne(t, s, at(300), "U001")
	sameApplied(t, j.Applied, applied2)
}

func testCompleteNewer(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	newer := change("U001", "Ev2", 1, "Lunch")
	submit(t, s, newer, at(1), bridge.Accepted)
	claimNone(t, s, at(2))
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(3)))
	j2 := claimOne(t, s, at(3), "U001")
	if j2.Rev != j.Rev+1 {
		t.Fatalf("Rev = %d, want %d", j2.Rev, j.Rev+1)
	}
	sameChange(t, j2.Desired, newer)
	sameApplied(t, j2.Applied, applied1)
}

func testStaleToken(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j1 := claimOne(t, s, at(0), "U001")
	j2 := claimOne(t, s, at(0).Add(lease+time.Second), "U001")

	leaseLost(t, "Complete", s.Complete(ctx(t), j1, applied1, at(32)))
	leaseLost(t, "Retry", s.Retry(ctx(t), j1, at(33), 5, "boom"))
	leaseLost(t, "Park", s.Park(ctx(t), j1, "gone", at(34)))
	leaseLost(t, "Release", s.Release(ctx(t), j1, at(35)))

	// None of that had an effect: j2 still holds the user, nothing parked.
	claimNone(t, s, at(36))
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked = %+v, want none", ps)
	}
	noErr(t, "Release", s.Release(ctx(t), j2, at(37)))
	j3 := claimOne(t, s, at(37), "U001")
	sameApplied(t, j3.Applied, nil)
	if j3.Attempts != 0 || j3.LastError != "" {
		t.Fatalf("Attempts, LastError = %d, %q, want 0, empty", j3.Attempts, j3.LastError)
	}
	leaseLost(t, "Complete with the released token", s.Complete(ctx(t), j2, nil, at(38)))
	noErr(t, "Complete", s.Complete(ctx(t), j3, nil, at(38)))
}

func testRetry(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(60), 2, "graph 503"))
	claimNone(t, s, at(59))
	j = claimOne(t, s, at(60), "U001")
	if j.Attempts != 2 || j.LastError != "graph 503" {
		t.Fatalf("Attempts, LastError = %d, %q, want 2, %q", j.Attempts, j.LastError, "graph 503")
	}
	if st := stats(t, s, at(60)); st.Due != 1 {
		t.Errorf("Stats.Due = %d, want 1 (leased users count)", st.Due)
	}
}

func testRetryNewer(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	newer := change("U001", "Ev2", 1, "Lunch")
	submit(t, s, newer, at(1), bridge.Accepted)
	noErr(t, "Retry", s.Retry(ctx(t), j, at(600), 1, "graph 503"))
	j2 := claimOne(t, s, at(2), "U001")
	sameChange(t, j2.Desired, newer)
	if j2.Attempts != 0 || j2.LastError != "" {
		t.Fatalf("Attempts, LastError = %d, %q, want 0, empty", j2.Attempts, j2.LastError)
	}
}

func testPark(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "graph 404: user not found", at(1)))
	claimNone(t, s, at(3600))
	want := []bridge.Parked{{UserID: "U001", Reason: "graph 404: user not found", Since: at(1)}}
	ps := parked(t, s)
	if len(ps) != 1 || ps[0].UserID != want[0].UserID || ps[0].Reason != want[0].Reason || !ps[0].Since.Equal(want[0].Since) {
		t.Fatalf("ListParked = %+v, want %+v", ps, want)
	}
	st := stats(t, s, at(3600))
	if st.Parked != 1 || st.Due != 0 {
		t.Fatalf("Stats = %+v, want Parked 1, Due 0", st)
	}
	leaseLost(t, "Complete after Park", s.Complete(ctx(t), j, nil, at(2)))

	ok, err := s.Unpark(ctx(t), "U001", at(7200))
	noErr(t, "Unpark", err)
	if !ok {
		t.Fatal("Unpark of a parked user = false, want true")
	}
	ok, err = s.Unpark(ctx(t), "U001", at(7200))
	noErr(t, "Unpark", err)
	if ok {
		t.Fatal("second Unpark = true, want false")
	}
	ok, err = s.Unpark(ctx(t), "U999", at(7200))
	noErr(t, "Unpark", err)
	if ok {
		t.Fatal("Unpark of an unknown user = true, want false")
	}
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked after Unpark = %+v, want none", ps)
	}
	claimNone(t, s, at(7199))
	j = claimOne(t, s, at(7200), "U001")
	sameChange(t, j.Desired, change("U001", "Ev1", 0, "Vacationing"))
}

func testParkNewer(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	newer := change("U001", "Ev2", 1, "Lunch")
	submit(t, s, newer, at(1), bridge.Accepted)
	noErr(t, "Park", s.Park(ctx(t), j, "graph 404: user not found", at(2)))
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked = %+v, want none: a newer change came in", ps)
	}
	j2 := claimOne(t, s, at(2), "U001")
	sameChange(t, j2.Desired, newer)
}

func testMappingUnparks(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "unmapped", at(1)))
	claimNone(t, s, at(2))

	m := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceAdmin, FoundAt: at(10)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(10)))
	if ps := parked(t, s); len(ps) != 0 {
		t.Fatalf("ListParked after SetMapping = %+v, want none", ps)
	}
	j = claimOne(t, s, at(10), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "graph 404: user not found", at(11)))
	claimNone(t, s, at(12))

	ok, err := s.DeleteMapping(ctx(t), "U001", at(20))
	noErr(t, "DeleteMapping", err)
	if !ok {
		t.Fatal("DeleteMapping of a set mapping = false, want true")
	}
	j = claimOne(t, s, at(20), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, nil, at(20)))

	// A mapping that ties a user with a known status to another Entra user
	// makes it due, so the status follows the mapping; setting the same Entra
	// id again, or a negative entry, does not.
	submit(t, s, change("U002", "Ev2", 0, "Lunch"), at(0), bridge.Accepted)
	j2 := claimOne(t, s, at(30), "U002")
	noErr(t, "Complete", s.Complete(ctx(t), j2, applied1, at(30)))
	m.SlackUserID = "U002"
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(31)))
	j2 = claimOne(t, s, at(31), "U002")
	noErr(t, "Complete", s.Complete(ctx(t), j2, nil, at(31)))
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(32)))
	claimNone(t, s, at(32).Add(lease+time.Second))
	moved := m
	moved.EntraID = "0b0b0b0b-0000-4000-8000-00000000000b"
	noErr(t, "SetMapping", s.SetMapping(ctx(t), moved, at(40)))
	j2 = claimOne(t, s, at(40), "U002")
	noErr(t, "Complete", s.Complete(ctx(t), j2, nil, at(40)))
	negative := bridge.Mapping{SlackUserID: "U002", Source: bridge.SourceNone, Detail: "no match", FoundAt: at(50)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), negative, at(50)))
	claimNone(t, s, at(50).Add(lease+time.Second))
	// A mapping for a user the bridge never saw makes nothing due.
	other := m
	other.SlackUserID = "U003"
	noErr(t, "SetMapping", s.SetMapping(ctx(t), other, at(60)))
	claimNone(t, s, at(60).Add(lease+time.Second))
}

// testAbandonedLeaseForgetsApplied: a worker that claimed a user and never
// recorded an outcome (it crashed after Graph answered) may have changed
// Teams, so the next claim carries no applied state and the desired message
// is sent even when it equals the one recorded before.
func testAbandonedLeaseForgetsApplied(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(0)))

	// A cleanly ended lease keeps the applied state.
	submit(t, s, change("U001", "Ev2", 1, "Meeting"), at(1), bridge.Accepted)
	j = claimOne(t, s, at(1), "U001")
	if j.Applied == nil {
		t.Fatal("claim after a completed lease carries no applied state")
	}
	// This worker dies mid-call; the user goes back to lunch meanwhile.
	submit(t, s, change("U001", "Ev3", 2, "Lunch"), at(2), bridge.Accepted)
	later := at(1).Add(lease + time.Second)
	j = claimOne(t, s, later, "U001")
	if j.Applied != nil {
		t.Fatalf("claim after an abandoned lease carries applied %+v; Teams may show something else", j.Applied)
	}
	// It stays forgotten after a failed attempt, until something is applied.
	noErr(t, "Retry", s.Retry(ctx(t), j, later, 1, "transient: 503"))
	j = claimOne(t, s, later, "U001")
	if j.Applied != nil {
		t.Fatalf("claim after a retry carries applied %+v", j.Applied)
	}
}

// testRetryForgetsApplied: a failed attempt may have reached Teams (a call
// that timed out after Graph applied it), so after a retry the recorded
// applied state no longer counts.
func testRetryForgetsApplied(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(0)))
	submit(t, s, change("U001", "Ev2", 1, "Meeting"), at(1), bridge.Accepted)
	j = claimOne(t, s, at(1), "U001")
	submit(t, s, change("U001", "Ev3", 2, "Lunch"), at(2), bridge.Accepted)
	noErr(t, "Retry", s.Retry(ctx(t), j, at(3), 1, "transient: timed out"))
	j = claimOne(t, s, at(3), "U001")
	if j.Applied != nil {
		t.Fatalf("claim after a retry carries applied %+v", j.Applied)
	}
}

// testMappingChangeWhileLeased: a worker resolved the old Entra id, then an
// admin moved the user; after the worker completes, the user is due again so
// the status reaches the new account.
func testMappingChangeWhileLeased(t *testing.T, s store.Backend) {
	old := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceEmail, FoundAt: at(0)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), old, at(0)))
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(1), "U001")
	moved := old
	moved.EntraID, moved.Source = "0b0b0b0b-0000-4000-8000-00000000000b", bridge.SourceAdmin
	noErr(t, "SetMapping", s.SetMapping(ctx(t), moved, at(2)))
	claimNone(t, s, at(3)) // still leased
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(4)))
	claimOne(t, s, at(4), "U001")
}

// testMappingChangeDuringWait: a user waiting for a later retry (an Entra
// account not found yet) is due at once when a mapping names one.
func testMappingChangeDuringWait(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(3600), 0, "no Entra user yet"))
	m := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceAdmin, FoundAt: at(10)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(10)))
	claimOne(t, s, at(10), "U001")
}

// testDiscoveryKeepsBackoff: discovery finding the first account of a user,
// inside the worker that holds it, leaves the queue alone: a failed call
// after it still backs off with its attempts counted.
func testDiscoveryKeepsBackoff(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	found := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceEmail, FoundAt: at(0)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), found, at(0)))
	noErr(t, "Retry", s.Retry(ctx(t), j, at(30), 4, "graph 503"))
	claimNone(t, s, at(1))
	if j := claimOne(t, s, at(31), "U001"); j.Attempts != 4 {
		t.Fatalf("attempts after the backoff = %d, want 4", j.Attempts)
	}
}

// testUpcomingAccounts: the accounts of users due now, soonest first; not
// leased users, not users due later, not unmapped users.
func testUpcomingAccounts(t *testing.T, s store.Backend) {
	ids := map[string]string{"U001": "0a0a0a0a-0000-4000-8000-000000000001", "U002": "0a0a0a0a-0000-4000-8000-000000000002",
		"U003": "0a0a0a0a-0000-4000-8000-000000000003"}
	for u, id := range ids {
		noErr(t, "SetMapping", s.SetMapping(ctx(t), bridge.Mapping{SlackUserID: u, EntraID: id, Source: bridge.SourceAdmin, FoundAt: at(0)}, at(0)))
	}
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	submit(t, s, change("U002", "Ev2", 1, "Lunch"), at(1), bridge.Accepted)
	submit(t, s, change("U003", "Ev3", 2, "Lunch"), at(2), bridge.Accepted)
	submit(t, s, change("U004", "Ev4", 3, "Lunch"), at(3), bridge.Accepted) // unmapped
	j := claim(t, s, at(4), 1)[0]
	j2 := claim(t, s, at(4), 1)[0]
	if j.UserID != "U001" || j2.UserID != "U002" {
		t.Fatalf("claimed %s and %s, want U001 and U002 (oldest first)", j.UserID, j2.UserID)
	}
	noErr(t, "Retry", s.Retry(ctx(t), j2, at(600), 1, "later"))
	got, err := s.UpcomingAccounts(ctx(t), at(5), 10)
	noErr(t, "UpcomingAccounts", err)
	if len(got) != 1 || got[0] != ids["U003"] {
		t.Fatalf("UpcomingAccounts = %v, want only U003's account (U001 leased, U002 later, U004 unmapped)", got)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j, nil, at(5)))
	if got, _ := s.UpcomingAccounts(ctx(t), at(5), 0); len(got) != 0 {
		t.Fatalf("max 0 returned %v", got)
	}
}

// testAdminMappingWins: a discovered or negative entry never replaces one an
// admin set (discovery that started before the admin's command finishes after it).
func testAdminMappingWins(t *testing.T, s store.Backend) {
	admin := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceAdmin, FoundAt: at(0)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), admin, at(0)))
	for _, m := range []bridge.Mapping{
		{SlackUserID: "U001", EntraID: "0b0b0b0b-0000-4000-8000-00000000000b", Source: bridge.SourceEmail, FoundAt: at(1)},
		{SlackUserID: "U001", Source: bridge.SourceNone, Detail: "no match", FoundAt: at(2)},
		{SlackUserID: "U001", Source: bridge.SourceSkipped, Detail: "bot", FoundAt: at(3)},
	} {
		noErr(t, "SetMapping", s.SetMapping(ctx(t), m, m.FoundAt))
		got, ok, err := s.GetMapping(ctx(t), "U001")
		noErr(t, "GetMapping", err)
		if !ok || got.Source != bridge.SourceAdmin || got.EntraID != admin.EntraID {
			t.Fatalf("after a %s entry: %+v, want the admin's", m.Source, got)
		}
	}
	// An admin may replace their own entry, and after rm discovery may set one.
	admin.EntraID = "0c0c0c0c-0000-4000-8000-00000000000c"
	noErr(t, "SetMapping", s.SetMapping(ctx(t), admin, at(4)))
	if got, _, _ := s.GetMapping(ctx(t), "U001"); got.EntraID != admin.EntraID {
		t.Fatalf("admin update not stored: %+v", got)
	}
	if _, err := s.DeleteMapping(ctx(t), "U001", at(5)); err != nil {
		t.Fatal(err)
	}
	found := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceEmail, FoundAt: at(6)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), found, at(6)))
	if got, _, _ := s.GetMapping(ctx(t), "U001"); got.Source != bridge.SourceEmail {
		t.Fatalf("after rm, discovery could not set: %+v", got)
	}
}

func testRelease(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Vacationing"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(10), 1, "graph 503"))
	j = claimOne(t, s, at(10), "U001")
	noErr(t, "Release", s.Release(ctx(t), j, at(11)))
	j2 := claimOne(t, s, at(11), "U001")
	if j2.Token == j.Token {
		t.Fatal("claim after Release returned the released token")
	}
	if j2.Rev != j.Rev || j2.Attempts != 1 || j2.LastError != "graph 503" {
		t.Fatalf("after Release: Rev, Attempts, LastError = %d, %d, %q; want %d, 1, %q (nothing recorded)",
			j2.Rev, j2.Attempts, j2.LastError, j.Rev, "graph 503")
	}
	sameApplied(t, j2.Applied, nil)
}

func testMappings(t *testing.T, s store.Backend) {
	ms := []bridge.Mapping{
		{SlackUserID: "U001", EntraID: "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60", Source: bridge.SourceAdmin, Detail: "set by admin", FoundAt: at(1)},
		{SlackUserID: "U002", EntraID: "7e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f61", Source: bridge.SourceEmail, Detail: "mail eq ana@example.com", FoundAt: at(2)},
		{SlackUserID: "W003", Source: bridge.SourceNone, Detail: "no Entra user with mail bo@example.com", FoundAt: at(3)},
	}
	for _, m := range ms {
		noErr(t, "SetMapping", s.SetMapping(ctx(t), m, m.FoundAt))
	}
	for _, want := range ms {
		got, ok, err := s.GetMapping(ctx(t), want.SlackUserID)
		noErr(t, "GetMapping", err)
		if !ok {
			t.Fatalf("GetMapping(%s) found = false", want.SlackUserID)
		}
		sameMapping(t, got, want)
	}
	if _, ok, err := s.GetMapping(ctx(t), "U404"); err != nil || ok {
		t.Fatalf("GetMapping(unknown) = found %v, err %v; want false, nil", ok, err)
	}

	list, err := s.ListMappings(ctx(t))
	noErr(t, "ListMappings", err)
	sort.Slice(list, func(i, j int) bool { return list[i].SlackUserID < list[j].SlackUserID })
	if len(list) != len(ms) {
		t.Fatalf("ListMappings = %+v, want %d entries", list, len(ms))
	}
	for i := range ms {
		sameMapping(t, list[i], ms[i])
	}

	// Overwrite.
	upd := ms[1]
	upd.EntraID, upd.Source, upd.Detail, upd.FoundAt = "8e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f62", bridge.SourceAdmin, "", at(10)
	noErr(t, "SetMapping", s.SetMapping(ctx(t), upd, at(10)))
	got, _, err := s.GetMapping(ctx(t), "U002")
	noErr(t, "GetMapping", err)
	sameMapping(t, got, upd)

	ok, err := s.DeleteMapping(ctx(t), "U002", at(11))
	noErr(t, "DeleteMapping", err)
	if !ok {
		t.Fatal("DeleteMapping(U002) = false, want true")
	}
	ok, err = s.DeleteMapping(ctx(t), "U002", at(12))
	noErr(t, "DeleteMapping", err)
	if ok {
		t.Fatal("second DeleteMapping(U002) = true, want false")
	}
	if _, ok, _ := s.GetMapping(ctx(t), "U002"); ok {
		t.Fatal("GetMapping after DeleteMapping found = true")
	}
	list, err = s.ListMappings(ctx(t))
	noErr(t, "ListMappings", err)
	if len(list) != 2 {
		t.Fatalf("ListMappings after delete = %+v, want 2 entries", list)
	}
}

func sameMapping(t *testing.T, got, want bridge.Mapping) {
	t.Helper()
	if got.SlackUserID != want.SlackUserID || got.EntraID != want.EntraID || got.Source != want.Source ||
		got.Detail != want.Detail || !got.FoundAt.Equal(want.FoundAt) {
		t.Fatalf("mapping = %+v, want %+v", got, want)
	}
}

func testStats(t *testing.T, s store.Backend) {
	if st := stats(t, s, at(0)); st.Due != 0 || st.Parked != 0 || !st.OldestDue.IsZero() {
		t.Fatalf("Stats of an empty store = %+v, want zero", st)
	}
	submit(t, s, change("U001", "Ev1", 0, "A"), at(0), bridge.Accepted)
	submit(t, s, change("U002", "Ev2", 5, "B"), at(5), bridge.Accepted)
	submit(t, s, change("U003", "Ev3", 7, "C"), at(7), bridge.Accepted)
	st := stats(t, s, at(10))
	if st.Due != 3 || st.Parked != 0 || !st.OldestDue.Equal(at(0)) {
		t.Fatalf("Stats = %+v, want Due 3, OldestDue %s, Parked 0", st, at(0))
	}
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "gone", at(10)))
	st = stats(t, s, at(10))
	if st.Due != 2 || st.Parked != 1 || !st.OldestDue.Equal(at(5)) {
		t.Fatalf("Stats = %+v, want Due 2, OldestDue %s, Parked 1", st, at(5))
	}
}

func testConcurrentClaims(t *testing.T, s store.Backend) {
	const n = 120
	for i := 0; i < n; i++ {
		u := fmt.Sprintf("U%04d", i)
		submit(t, s, change(u, "Ev"+u, 0, "x"), at(0), bridge.Accepted)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
		errs = make(chan error, 8)
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := s.Claim(context.Background(), at(1), time.Minute, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				total := 0
				for _, j := range jobs {
					seen[j.UserID]++
				}
				for _, c := range seen {
					total += c
				}
				mu.Unlock()
				if total > 2*n {
					return // users are claimed again and again: leases do not hold
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim: %v", err)
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct users, want %d", len(seen), n)
	}
	for u, c := range seen {
		if c != 1 {
			t.Fatalf("user %s claimed %d times within one lease", u, c)
		}
	}
}

// testLimiterShared: two limiters of one store (two workers) draw on one
// budget, so together no window of one period holds more than LimitMax
// calls (two budgets would allow twice that).
func testLimiterShared(t *testing.T, s store.Backend) {
	var (
		mu  sync.Mutex
		all []time.Time
		wg  sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := hammer(t, s.Limiter(), 3*LimitPeriod/2)
			mu.Lock()
			all = append(all, ts...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	if n := maxInWindow(all, LimitPeriod); n > LimitMax+2 {
		t.Fatalf("two limiters of one store made %d calls in one period, the ceiling is %d: the budget is not shared", n, LimitMax)
	}
}

// testLimiterPenalize: a Penalize (Graph's Retry-After) through one limiter
// holds back the calls of every other limiter of the store.
func testLimiterPenalize(t *testing.T, s store.Backend) {
	l1, l2 := s.Limiter(), s.Limiter()
	noErr(t, "Wait", l2.Wait(ctx(t)))
	const penalty = 400 * time.Millisecond
	start := time.Now()
	noErr(t, "Penalize", l1.Penalize(ctx(t), penalty))
	short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
	defer cancel()
	if err := l2.Wait(short); err == nil {
		t.Fatal("Wait with a 100 ms deadline during a 400 ms penalty succeeded")
	}
	noErr(t, "Wait", l2.Wait(ctx(t)))
	if d := time.Since(start); d < penalty-50*time.Millisecond {
		t.Fatalf("Wait returned %s after a %s penalty through another limiter", d, penalty)
	}
}

// hammer calls Wait through l as fast as it returns for d and returns the
// times the calls were allowed.
func hammer(t *testing.T, l bridge.Limiter, d time.Duration) []time.Time {
	t.Helper()
	var out []time.Time
	for end := time.Now().Add(d); time.Now().Before(end); {
		noErr(t, "Wait", l.Wait(ctx(t)))
		out = append(out, time.Now())
	}
	return out
}

// countIn counts the times in [from, from+d).
func countIn(ts []time.Time, from time.Time, d time.Duration) int {
	n := 0
	for _, x := range ts {
		if !x.Before(from) && x.Before(from.Add(d)) {
			n++
		}
	}
	return n
}

// maxInWindow is the most calls any window of d holds.
func maxInWindow(ts []time.Time, d time.Duration) int {
	best := 0
	for i := range ts {
		best = max(best, countIn(ts[i:], ts[i], d))
	}
	return best
}

// rateOf reports l's rate in calls per period when l reports one.
func rateOf(t *testing.T, l bridge.Limiter) (float64, bool) {
	t.Helper()
	r, ok := l.(interface {
		Rate(context.Context) (float64, error)
	})
	if !ok {
		return 0, false
	}
	v, err := r.Rate(ctx(t))
	noErr(t, "Rate", err)
	return v, true
}

// testLimiterRises: the first window allows the starting rate at once, and
// while calls keep the limiter busy and no 429 comes, the rate rises.
func testLimiterRises(t *testing.T, s store.Backend) {
	l := s.Limiter()
	start := time.Now()
	ts := hammer(t, l, 2*LimitPeriod+LimitPeriod/2)
	// The starting rate goes at once: no more than it in the first 20 ms,
	// and all of it within a tenth of a period (a rate spread evenly would
	// take the whole period; a loaded machine may take more than 20 ms for
	// 20 round trips to Redis).
	first := countIn(ts, start, 20*time.Millisecond)
	soon := countIn(ts, start, LimitPeriod/10)
	late := countIn(ts, start.Add(3*LimitPeriod/2), LimitPeriod)
	if first > LimitRate+2 || soon < LimitRate-1 {
		t.Fatalf("%d calls in the first 20 ms and %d in the first %s, want the starting rate %d at once", first, soon, LimitPeriod/10, LimitRate)
	}
	if late < LimitRate*5/4 {
		t.Fatalf("%d calls in a period after 1.5 busy periods without a 429, want at least %d: the rate did not rise",
			late, LimitRate*5/4)
	}
}

// testLimiterCut: a Penalize stops every limiter of the store for its
// Retry-After and settles the rate at 0.9 of the calls the window held,
// once for 429s of one penalty; afterwards no window of one period holds
// more than that.
func testLimiterCut(t *testing.T, s store.Backend) {
	l1, l2 := s.Limiter(), s.Limiter()
	ts := hammer(t, l1, 2*LimitPeriod)
	const penalty = 300 * time.Millisecond
	cut := time.Now()
	held := countIn(ts, cut.Add(-LimitPeriod-LimitPeriod/50), LimitPeriod+LimitPeriod/50)
	noErr(t, "Penalize", l1.Penalize(ctx(t), penalty))
	// The store counts its window when Penalize reaches it, somewhere
	// between cut and now; on a loaded machine that can be a good part of a
	// period later, when fewer of the calls are still in the window.
	least := countIn(ts, time.Now().Add(-LimitPeriod), LimitPeriod)
	// 429s that arrive during the same penalty are one event: no second cut.
	noErr(t, "Penalize", l2.Penalize(ctx(t), penalty))
	after := hammer(t, l2, penalty+3*LimitPeriod/2)
	if d := after[0].Sub(cut); d < penalty-30*time.Millisecond {
		t.Fatalf("first call %s after a %s penalty", d, penalty)
	}
	want := 0.9 * float64(held)
	if r, ok := rateOf(t, l2); ok && (r < 0.9*float64(least)-2 || r > want+2) {
		t.Fatalf("rate %.1f after a 429 with %d..%d calls in the window, want about 0.9 times that, settled once", r, least, held)
	}
	all := append(ts, after...)
	for i := range all {
		if !all[i].Before(after[0]) {
			if n := countIn(all, all[i].Add(-LimitPeriod), LimitPeriod); float64(n) > want+3 {
				t.Fatalf("a window of one period held %d calls after a 429 with %d in the window, want at most about %.0f", n, held, want)
			}
		}
	}
}

// testLimiterCeiling: however long Graph accepts, no window of one period
// holds more than LimitMax calls, and the rate reaches it.
func testLimiterCeiling(t *testing.T, s store.Backend) {
	ts := hammer(t, s.Limiter(), 4*LimitPeriod)
	// Call times are taken after Wait returns; allow two calls of jitter.
	if n := maxInWindow(ts, LimitPeriod); n > LimitMax+2 {
		t.Fatalf("a window of one period held %d calls, the ceiling is %d", n, LimitMax)
	}
	late := ts[len(ts)-1].Add(-2 * LimitPeriod)
	if n := maxInWindow(ts[sort.Search(len(ts), func(i int) bool { return ts[i].After(late) }):], LimitPeriod); n < LimitMax*3/4 {
		t.Fatalf("at most %d calls in a period of the last 2 of 4 busy ones, want near the ceiling %d", n, LimitMax)
	}
}

// testLimiterSharedRate: a rate raised through one limiter is the rate of
// every other limiter of the store (another worker or replica).
func testLimiterSharedRate(t *testing.T, s store.Backend) {
	hammer(t, s.Limiter(), 2*LimitPeriod)
	l2 := s.Limiter()
	if r, ok := rateOf(t, l2); ok && r < LimitRate*3/2 {
		t.Fatalf("a second limiter reports rate %.1f after the first raised it, want at least %d", r, LimitRate*3/2)
	}
	start := time.Now()
	ts := hammer(t, l2, LimitPeriod/2)
	if n := countIn(ts, start, LimitPeriod/2); n < LimitRate*5/8 {
		t.Fatalf("a second limiter made %d calls in half a period after the first raised the rate, want at least %d", n, LimitRate*5/8)
	}
}

// testLimiterLanded: a call counts in the window from when it was answered
// (bridge.Lander), so the slots of calls that took long free up only one
// window after their answers, on every limiter of the store. A 429 on an
// empty window first settles the rate at its floor (a quarter of the start),
// where it no longer doubles while callers wait.
func testLimiterLanded(t *testing.T, s store.Backend) {
	l1, ok := s.Limiter().(bridge.Lander)
	if !ok {
		t.Fatal("the store's limiter does not count calls from their answers (bridge.Lander)")
	}
	noErr(t, "Penalize", s.Limiter().Penalize(ctx(t), time.Millisecond))
	time.Sleep(5 * time.Millisecond)
	const rate = LimitRate / 4
	start := time.Now()
	var landed []func()
	for range rate {
		tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/20)
		f, err := l1.Acquire(tctx)
		cancel()
		noErr(t, "Acquire", err)
		landed = append(landed, f)
	}
	// The calls take 0.3 of a period to be answered.
	time.Sleep(time.Until(start.Add(3 * LimitPeriod / 10)))
	for _, f := range landed {
		f()
	}
	// Past one window from when they were allowed, within one window of
	// their answers: the window still holds them all.
	time.Sleep(time.Until(start.Add(11 * LimitPeriod / 10)))
	l2 := s.Limiter()
	n := 0
	for ; n < rate; n++ {
		tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/50)
		err := l2.Wait(tctx)
		cancel()
		if err != nil {
			break
		}
	}
	if late := time.Since(start); late > 13*LimitPeriod/10 {
		t.Fatalf("the machine was too slow to tell: the check ended %s after the calls", late)
	}
	if n > 1 {
		t.Fatalf("%d of %d calls went in the window that still holds the %d calls answered 0.3 periods after they were allowed", n, rate, rate)
	}
	// Once a window has passed since the answers, the slots are free again.
	time.Sleep(time.Until(start.Add(15 * LimitPeriod / 10)))
	for range rate - 1 {
		tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/10)
		err := l2.Wait(tctx)
		cancel()
		noErr(t, "Wait a window after the answers", err)
	}
}

// testLimiterProbes: in slow start, past the level Graph is known to take
// (the start) only one call in 36 of the rate may be unanswered at once:
// with the starting rate's calls in flight and the rate growing, one more
// call goes and the next waits until that one is answered.
func testLimiterProbes(t *testing.T, s store.Backend) {
	l, ok := s.Limiter().(bridge.Lander)
	if !ok {
		t.Fatal("the store's limiter does not count calls from their answers (bridge.Lander)")
	}
	for range LimitRate {
		tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/20)
		_, err := l.Acquire(tctx)
		cancel()
		noErr(t, "Acquire of the starting rate", err)
	}
	// The window is full; growth allows about five more calls over the
	// next 80 ms (a doubling every quarter period while no answer is
	// known), but only one may be unanswered.
	var probes []func()
	start := time.Now()
	for time.Since(start) < 2*LimitPeriod/25 {
		tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/100)
		f, err := l.Acquire(tctx)
		cancel()
		if err == nil {
			probes = append(probes, f)
		}
	}
	if late := time.Since(start); late > LimitPeriod/10 {
		t.Fatalf("the machine was too slow to tell: the calls took %s", late)
	}
	if len(probes) != 1 {
		t.Fatalf("%d calls past the starting rate went unanswered within 80 ms, want 1 (1/36 of the rate, at least one)", len(probes))
	}
	// Its answer lets the next one go.
	probes[0]()
	tctx, cancel := context.WithTimeout(ctx(t), LimitPeriod/20)
	defer cancel()
	if _, err := l.Acquire(tctx); err != nil {
		t.Fatalf("no call within 50 ms after the probe was answered: %v", err)
	}
}

func testPing(t *testing.T, s store.Backend) {
	noErr(t, "Ping", s.Ping(ctx(t)))
	if s.Kind() == "" {
		t.Fatal("Kind() is empty")
	}
}

// testClose: after Close every call fails with an error (no panic, no
// hang), and a second Close is harmless.
func testClose(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	noErr(t, "Close", s.Close())
	if err := s.Ping(ctx(t)); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if _, err := s.Submit(ctx(t), change("U002", "Ev2", 1, "Out"), at(1)); err == nil {
		t.Error("Submit after Close succeeded")
	}
	if _, err := s.Claim(ctx(t), at(2), lease, 10); err == nil {
		t.Error("Claim after Close succeeded")
	}
	if _, _, err := s.GetMapping(ctx(t), "U001"); err == nil {
		t.Error("GetMapping after Close succeeded")
	}
	if _, err := s.Stats(ctx(t), at(2)); err == nil {
		t.Error("Stats after Close succeeded")
	}
	noErr(t, "second Close", s.Close())
}

// testDeactivation: a deactivation with an unchanged status is a change of
// its own, not dropped as unchanged.
func testDeactivation(t *testing.T, s store.Backend) {
	c := change("U001", "Ev1", 0, "Lunch")
	submit(t, s, c, at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(1)))
	gone := c
	gone.EventID, gone.EventTime, gone.Deactivated = "Ev2", at(10), true
	submit(t, s, gone, at(10), bridge.Accepted)
	j = claimOne(t, s, at(10), "U001")
	if !j.Desired.Deactivated {
		t.Fatalf("claimed desired change = %+v, want Deactivated", j.Desired)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j, nil, at(11)))
	again := gone
	again.EventID, again.EventTime = "Ev3", at(20)
	submit(t, s, again, at(20), bridge.Unchanged)
}

// testDeleteMappingMakesDue: removing a mapping that named an Entra account
// makes a user with a stored change due, so workers can clear that account.
func testDeleteMappingMakesDue(t *testing.T, s store.Backend) {
	m := bridge.Mapping{SlackUserID: "U001", EntraID: applied1.EntraID, Source: bridge.SourceAdmin, FoundAt: at(0)}
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(0)))
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(1)))
	claimNone(t, s, at(5))
	ok, err := s.DeleteMapping(ctx(t), "U001", at(10))
	noErr(t, "DeleteMapping", err)
	if !ok {
		t.Fatal("DeleteMapping of a set mapping = false")
	}
	j2 := claimOne(t, s, at(10), "U001")
	if j2.Rev == j.Rev {
		t.Fatalf("Rev after DeleteMapping = %d, want it to grow", j2.Rev)
	}
	// While leased, the user stays with its worker and is due again after it.
	noErr(t, "SetMapping", s.SetMapping(ctx(t), m, at(11)))
	noErr(t, "Complete", s.Complete(ctx(t), j2, nil, at(11)))
	j3 := claimOne(t, s, at(11), "U001")
	_, err = s.DeleteMapping(ctx(t), "U001", at(12))
	noErr(t, "DeleteMapping", err)
	claimNone(t, s, at(13))
	noErr(t, "Complete", s.Complete(ctx(t), j3, nil, at(14)))
	j4 := claimOne(t, s, at(14), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j4, nil, at(15)))
	// A user the bridge never saw a change of is not made due.
	noErr(t, "SetMapping", s.SetMapping(ctx(t), bridge.Mapping{SlackUserID: "U002", EntraID: applied1.EntraID, Source: bridge.SourceAdmin}, at(20)))
	_, err = s.DeleteMapping(ctx(t), "U002", at(21))
	noErr(t, "DeleteMapping", err)
	claimNone(t, s, at(21).Add(lease+time.Second))
}

const (
	entraA = "0a0a0a0a-0000-4000-8000-00000000000a"
	entraB = "0b0b0b0b-0000-4000-8000-00000000000b"
	entraC = "0c0c0c0c-0000-4000-8000-00000000000c"
)

func sameOwned(t *testing.T, got, want bridge.Owned) {
	t.Helper()
	if got.EntraID != want.EntraID || got.SlackUserID != want.SlackUserID || got.Content != want.Content ||
		!got.WrittenAt.Equal(want.WrittenAt) || fmt.Sprint(got.Pending) != fmt.Sprint(want.Pending) {
		t.Fatalf("owned = %+v, want %+v", got, want)
	}
}

func ownedBy(t *testing.T, s store.Backend, user string) []string {
	t.Helper()
	os, err := s.OwnedBy(ctx(t), user)
	noErr(t, "OwnedBy", err)
	out := make([]string, len(os))
	for i, o := range os {
		if o.SlackUserID != user {
			t.Fatalf("OwnedBy(%s) returned a record of %s", user, o.SlackUserID)
		}
		out[i] = o.EntraID
	}
	sort.Strings(out)
	return out
}

func testOwnership(t *testing.T, s store.Backend) {
	if _, ok, err := s.GetOwned(ctx(t), entraA); err != nil || ok {
		t.Fatalf("GetOwned of an unknown account = %v, %v; want false, nil", ok, err)
	}
	if got := ownedBy(t, s, "U001"); len(got) != 0 {
		t.Fatalf("OwnedBy of an unknown user = %v, want none", got)
	}
	a := bridge.Owned{EntraID: entraA, SlackUserID: "U001", Content: "🌴 Vacationing", WrittenAt: at(5), Pending: []string{"🍔 Lunch"}}
	b := bridge.Owned{EntraID: entraB, SlackUserID: "U001", Pending: []string{"x", "y"}}
	c := bridge.Owned{EntraID: entraC, SlackUserID: "U002", Content: "Out", WrittenAt: at(6)}
	for _, o := range []bridge.Owned{a, b, c} {
		noErr(t, "PutOwned", s.PutOwned(ctx(t), o))
	}
	got, ok, err := s.GetOwned(ctx(t), entraA)
	noErr(t, "GetOwned", err)
	if !ok {
		t.Fatal("GetOwned of a stored record = false")
	}
	sameOwned(t, got, a)
	if got := fmt.Sprint(ownedBy(t, s, "U001")); got != fmt.Sprint([]string{entraA, entraB}) {
		t.Fatalf("OwnedBy(U001) = %s, want [%s %s]", got, entraA, entraB)
	}

	// Replacing a record replaces it whole; a record that moves to another
	// Slack user (the account was mapped anew) leaves the old user's list.
	a2 := bridge.Owned{EntraID: entraA, SlackUserID: "U001", Content: "🍔 Lunch", WrittenAt: at(9)}
	noErr(t, "PutOwned", s.PutOwned(ctx(t), a2))
	got, _, err = s.GetOwned(ctx(t), entraA)
	noErr(t, "GetOwned", err)
	sameOwned(t, got, a2)
	moved := b
	moved.SlackUserID = "U002"
	noErr(t, "PutOwned", s.PutOwned(ctx(t), moved))
	if got := fmt.Sprint(ownedBy(t, s, "U001")); got != fmt.Sprint([]string{entraA}) {
		t.Fatalf("OwnedBy(U001) after a move = %s, want [%s]", got, entraA)
	}
	if got := fmt.Sprint(ownedBy(t, s, "U002")); got != fmt.Sprint([]string{entraB, entraC}) {
		t.Fatalf("OwnedBy(U002) after a move = %s, want [%s %s]", got, entraB, entraC)
	}

	noErr(t, "DeleteOwned", s.DeleteOwned(ctx(t), entraA))
	if _, ok, err := s.GetOwned(ctx(t), entraA); err != nil || ok {
		t.Fatalf("GetOwned after DeleteOwned = %v, %v; want false, nil", ok, err)
	}
	if got := ownedBy(t, s, "U001"); len(got) != 0 {
		t.Fatalf("OwnedBy(U001) after DeleteOwned = %v, want none", got)
	}
	noErr(t, "DeleteOwned of a missing record", s.DeleteOwned(ctx(t), entraA))
	if got := fmt.Sprint(ownedBy(t, s, "U002")); got != fmt.Sprint([]string{entraB, entraC}) {
		t.Fatalf("OwnedBy(U002) = %s, want [%s %s]", got, entraB, entraC)
	}
}

func choice(t *testing.T, s store.Backend, user string) bridge.MirrorChoice {
	t.Helper()
	c, err := s.Choice(ctx(t), user)
	noErr(t, "Choice", err)
	return c
}

func testChoice(t *testing.T, s store.Backend) {
	if c := choice(t, s, "U001"); c != bridge.ChoiceDefault {
		t.Fatalf("Choice of an unknown user = %q, want the default", c)
	}
	// A choice of a user without a stored change makes nothing due.
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOff, at(0)))
	if c := choice(t, s, "U001"); c != bridge.ChoiceOff {
		t.Fatalf("Choice = %q, want off", c)
	}
	claimNone(t, s, at(0).Add(lease+time.Second))

	submit(t, s, change("U001", "Ev1", 10, "Lunch"), at(10), bridge.Accepted)
	j := claimOne(t, s, at(10), "U001")
	if j.Choice != bridge.ChoiceOff {
		t.Fatalf("Job.Choice = %q, want off", j.Choice)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j, nil, at(11)))
	claimNone(t, s, at(12))

	// Resume: due at once, so workers apply the status.
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOn, at(20)))
	claimNone(t, s, at(19))
	j2 := claimOne(t, s, at(20), "U001")
	if j2.Choice != bridge.ChoiceOn {
		t.Fatalf("Job.Choice = %q, want on", j2.Choice)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j2, applied1, at(21)))

	// A user backing off a retry is due at once too.
	submit(t, s, change("U001", "Ev2", 30, "Meeting"), at(30), bridge.Accepted)
	j3 := claimOne(t, s, at(30), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j3, at(3600), 1, "graph 503"))
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceDefault, at(40)))
	j4 := claimOne(t, s, at(40), "U001")
	if j4.Choice != bridge.ChoiceDefault || choice(t, s, "U001") != bridge.ChoiceDefault {
		t.Fatalf("Job.Choice = %q after choosing the default", j4.Choice)
	}
	// The choice leaves the change and its mapping alone.
	sameChange(t, j4.Desired, change("U001", "Ev2", 30, "Meeting"))
}

func testChoiceLeasedParked(t *testing.T, s store.Backend) {
	// While a worker holds the user, it stays with that worker, and is due
	// again when the worker is done, so the new choice is acted on.
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOff, at(1)))
	claimNone(t, s, at(2))
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(3)))
	j2 := claimOne(t, s, at(3), "U001")
	if j2.Choice != bridge.ChoiceOff {
		t.Fatalf("Job.Choice = %q, want off", j2.Choice)
	}
	// A parked user stays parked.
	noErr(t, "Park", s.Park(ctx(t), j2, "graph 404: user not found", at(4)))
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOn, at(5)))
	claimNone(t, s, at(5).Add(lease+time.Second))
	if ps := parked(t, s); len(ps) != 1 {
		t.Fatalf("ListParked after SetChoice = %+v, want the user still parked", ps)
	}
	if c := choice(t, s, "U001"); c != bridge.ChoiceOn {
		t.Fatalf("Choice of a parked user = %q, want on", c)
	}
}

func testHold(t *testing.T, s store.Backend) {
	const person = "In a workshop (set in Teams)"
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	if j.Held != "" {
		t.Fatalf("Job.Held = %q before any Hold", j.Held)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(1)))
	submit(t, s, change("U001", "Ev2", 10, "Meeting"), at(10), bridge.Accepted)
	j = claimOne(t, s, at(10), "U001")
	noErr(t, "Hold", s.Hold(ctx(t), j, person, at(600)))
	leaseLost(t, "Complete after Hold", s.Complete(ctx(t), j, nil, at(11)))
	leaseLost(t, "Hold", s.Hold(ctx(t), j, person, at(600)))
	claimNone(t, s, at(599))
	j = claimOne(t, s, at(600), "U001")
	if j.Held != person {
		t.Fatalf("Job.Held = %q, want %q", j.Held, person)
	}
	// Teams showed a person's message: what was applied no longer shows.
	sameApplied(t, j.Applied, nil)
	if j.Attempts != 0 || j.LastError != "" {
		t.Fatalf("Attempts, LastError after Hold = %d, %q", j.Attempts, j.LastError)
	}
	noErr(t, "Hold", s.Hold(ctx(t), j, person, at(1200)))
	// A newer change makes a held user due at once; it stays held until a
	// worker completes.
	submit(t, s, change("U001", "Ev3", 700, "Out"), at(700), bridge.Accepted)
	j = claimOne(t, s, at(700), "U001")
	if j.Held != person {
		t.Fatalf("Job.Held after a new change = %q, want %q", j.Held, person)
	}
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(701)))
	submit(t, s, change("U001", "Ev4", 800, "Back"), at(800), bridge.Accepted)
	j = claimOne(t, s, at(800), "U001")
	if j.Held != "" {
		t.Fatalf("Job.Held after Complete = %q, want none", j.Held)
	}
}

func testHoldNewer(t *testing.T, s store.Backend) {
	submit(t, s, change("U001", "Ev1", 0, "Lunch"), at(0), bridge.Accepted)
	j := claimOne(t, s, at(0), "U001")
	newer := change("U001", "Ev2", 1, "Meeting")
	submit(t, s, newer, at(1), bridge.Accepted)
	noErr(t, "Hold", s.Hold(ctx(t), j, "Busy (set in Teams)", at(3600)))
	j2 := claimOne(t, s, at(2), "U001")
	sameChange(t, j2.Desired, newer)
	if j2.Held != "Busy (set in Teams)" {
		t.Fatalf("Job.Held = %q", j2.Held)
	}
}

func user(t *testing.T, s store.Backend, id string) bridge.UserRecord {
	t.Helper()
	r, ok, err := s.User(ctx(t), id)
	noErr(t, "User", err)
	if !ok {
		t.Fatalf("User(%s) found = false", id)
	}
	if r.UserID != id {
		t.Fatalf("User(%s).UserID = %q", id, r.UserID)
	}
	return r
}

func testUser(t *testing.T, s store.Backend) {
	if _, ok, err := s.User(ctx(t), "U001"); err != nil || ok {
		t.Fatalf("User of an unknown user = %v, %v; want false, nil", ok, err)
	}
	c := change("U001", "Ev1", 0, "Lunch")
	submit(t, s, c, at(0), bridge.Accepted)
	r := user(t, s, "U001")
	if r.Desired == nil {
		t.Fatal("User.Desired = nil after a change")
	}
	sameChange(t, *r.Desired, c)
	if r.Applied != nil || r.Attempts != 0 || r.ParkedReason != "" || r.Held != "" || r.Choice != bridge.ChoiceDefault {
		t.Fatalf("User = %+v, want only a desired change, due", r)
	}
	if !r.Due.Equal(at(0)) {
		t.Fatalf("User.Due = %s, want %s", r.Due, at(0))
	}

	j := claimOne(t, s, at(0), "U001")
	noErr(t, "Complete", s.Complete(ctx(t), j, applied1, at(1)))
	r = user(t, s, "U001")
	sameApplied(t, r.Applied, applied1)
	if !r.Due.IsZero() {
		t.Fatalf("User.Due = %s after Complete, want zero", r.Due)
	}

	submit(t, s, change("U001", "Ev2", 10, "Meeting"), at(10), bridge.Accepted)
	j = claimOne(t, s, at(10), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(70), 2, "graph 503"))
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U001", bridge.ChoiceOff, at(20)))
	r = user(t, s, "U001")
	if r.Choice != bridge.ChoiceOff || !r.Due.Equal(at(20)) {
		t.Fatalf("User = %+v, want choice off, due %s", r, at(20))
	}
	j = claimOne(t, s, at(20), "U001")
	noErr(t, "Retry", s.Retry(ctx(t), j, at(90), 3, "graph 504"))
	r = user(t, s, "U001")
	if r.Attempts != 3 || r.LastError != "graph 504" || !r.Due.Equal(at(90)) {
		t.Fatalf("User = %+v, want 3 attempts, graph 504, due %s", r, at(90))
	}

	j = claimOne(t, s, at(90), "U001")
	noErr(t, "Hold", s.Hold(ctx(t), j, "Busy (set in Teams)", at(600)))
	r = user(t, s, "U001")
	if r.Held != "Busy (set in Teams)" || !r.Due.Equal(at(600)) || r.Applied != nil {
		t.Fatalf("User = %+v, want held, due %s, nothing applied", r, at(600))
	}

	j = claimOne(t, s, at(600), "U001")
	noErr(t, "Park", s.Park(ctx(t), j, "graph 404: user not found", at(601)))
	r = user(t, s, "U001")
	if r.ParkedReason != "graph 404: user not found" || !r.Due.IsZero() {
		t.Fatalf("User = %+v, want parked, not due", r)
	}

	// A choice alone is something known of a user.
	noErr(t, "SetChoice", s.SetChoice(ctx(t), "U002", bridge.ChoiceOn, at(0)))
	if r := user(t, s, "U002"); r.Desired != nil || r.Choice != bridge.ChoiceOn {
		t.Fatalf("User(U002) = %+v, want only choice on", r)
	}
}
