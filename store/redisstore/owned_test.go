package redisstore

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

// ownedSteps checks the one-round-trip steps of the write path against the
// steps they stand for: OwnedFor is OwnedBy and GetOwned, CompleteOwned is
// PutOwned and then Complete. basicFlow runs it on every deployment form
// (standalone, Sentinel, Cluster: each script's keys share one slot).
func ownedSteps(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	const e1, e2, e3 = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002", "11111111-0000-4000-8000-000000000003"

	if recs, own, err := s.OwnedFor(ctx, "UO1", e1); err != nil || len(recs) != 0 || own.EntraID != "" || own.Content != "" {
		t.Fatalf("OwnedFor with no records = %+v, %+v, %v; want none", recs, own, err)
	}
	for _, o := range []bridge.Owned{
		{EntraID: e1, SlackUserID: "UO1", Content: "one", WrittenAt: t0},
		{EntraID: e2, SlackUserID: "UO1", Content: "two", WrittenAt: t0},
		{EntraID: e3, SlackUserID: "UO2", Content: "three", WrittenAt: t0},
	} {
		if err := s.PutOwned(ctx, o); err != nil {
			t.Fatalf("PutOwned: %v", err)
		}
	}
	// Another Slack user's record of the account, with this user's own.
	recs, own, err := s.OwnedFor(ctx, "UO1", e3)
	if err != nil {
		t.Fatalf("OwnedFor: %v", err)
	}
	ids := []string{}
	for _, o := range recs {
		ids = append(ids, o.EntraID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{e1, e2}) || own.EntraID != e3 || own.SlackUserID != "UO2" || own.Content != "three" {
		t.Fatalf("OwnedFor(UO1, e3) = %v, %+v; want UO1's two records and UO2's record of e3", ids, own)
	}
	if byUser, err := s.OwnedBy(ctx, "UO1"); err != nil || len(byUser) != len(recs) {
		t.Fatalf("OwnedBy = %+v, %v; want what OwnedFor listed", byUser, err)
	}
	if _, own, err := s.OwnedFor(ctx, "UO3", e1); err != nil || own.Content != "one" {
		t.Fatalf("OwnedFor(UO3, e1) = %+v, %v; want e1's record", own, err)
	}

	// CompleteOwned: the record (moved from UO2 to UO1) and the completion.
	if out, err := s.Submit(ctx, change("UO1", "EvO1", 0, "Lunch"), t0); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	jobs, err := s.Claim(ctx, t0, time.Minute, 50)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %+v, %v; want UO1", jobs, err)
	}
	applied := &bridge.Applied{Message: bridge.Message{Content: "🌴 Lunch"}, EntraID: e3, AppliedAt: t0}
	o := bridge.Owned{EntraID: e3, SlackUserID: "UO1", Content: "🌴 Lunch", WrittenAt: t0, Touched: t0}
	if err := s.CompleteOwned(ctx, o, jobs[0], applied, t0); err != nil {
		t.Fatalf("CompleteOwned: %v", err)
	}
	if got, ok, err := s.GetOwned(ctx, e3); err != nil || !ok || got.SlackUserID != "UO1" || got.Content != o.Content {
		t.Fatalf("GetOwned = %+v, %v, %v; want the record CompleteOwned stored", got, ok, err)
	}
	if byOld, err := s.OwnedBy(ctx, "UO2"); err != nil || len(byOld) != 0 {
		t.Fatalf("OwnedBy(UO2) = %+v, %v; want the record moved to UO1", byOld, err)
	}
	if jobs, err := s.Claim(ctx, t0.Add(time.Second), time.Minute, 50); err != nil || len(jobs) != 0 {
		t.Fatalf("Claim after CompleteOwned = %+v, %v; want nothing due", jobs, err)
	}
	u, _, err := s.User(ctx, "UO1")
	if err != nil || u.Applied == nil || u.Applied.EntraID != e3 {
		t.Fatalf("User = %+v, %v; want the applied state recorded", u, err)
	}
	// A lost lease: the completion is refused, the record is stored all the
	// same (the call was made).
	o.Content = "again"
	if err := s.CompleteOwned(ctx, o, jobs[0], applied, t0); !errors.Is(err, bridge.ErrLeaseLost) {
		t.Fatalf("CompleteOwned with a lost lease = %v, want ErrLeaseLost", err)
	}
	if got, _, err := s.GetOwned(ctx, e3); err != nil || got.Content != "again" {
		t.Fatalf("GetOwned = %+v, %v; want the record stored with the lease lost", got, err)
	}
	if err := s.CompleteOwned(ctx, bridge.Owned{}, jobs[0], applied, t0); err == nil {
		t.Fatal("CompleteOwned of a record with no Entra id succeeded")
	}
}

// TestCompleteOwnedKeepsANewerChangeDue: a change that came in while the
// write was on its way stays due, as with Complete; and a Redis that lost
// its scripts (restart, SCRIPT FLUSH) loads them again.
func TestCompleteOwnedKeepsANewerChangeDue(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	ctx := t.Context()
	if _, err := s.Submit(ctx, change("UN1", "EvN1", 0, "Lunch"), t0); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Claim(ctx, t0, time.Minute, 1)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %+v, %v", jobs, err)
	}
	if out, err := s.Submit(ctx, change("UN1", "EvN2", 5, "Out"), t0.Add(5*time.Second)); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit newer = %v, %v", out, err)
	}
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	o := bridge.Owned{EntraID: "22222222-0000-4000-8000-000000000001", SlackUserID: "UN1", Content: "🌴 Lunch", WrittenAt: t0}
	applied := &bridge.Applied{Message: bridge.Message{Content: "🌴 Lunch"}, EntraID: o.EntraID, AppliedAt: t0}
	if err := s.CompleteOwned(ctx, o, jobs[0], applied, t0.Add(6*time.Second)); err != nil {
		t.Fatalf("CompleteOwned after SCRIPT FLUSH: %v", err)
	}
	jobs, err = s.Claim(ctx, t0.Add(6*time.Second), time.Minute, 1)
	if err != nil || len(jobs) != 1 || jobs[0].Desired.Status.Text != "Out" || jobs[0].Applied == nil {
		t.Fatalf("Claim = %+v, %v; want the newer change due, with what was applied", jobs, err)
	}
}

// aheadSteps checks the shared presence reads ahead (bridge.SharedAhead):
// each account due next is handed to one reader, its mark runs out when no
// read is shared in time, and a shared read comes back with the owned
// records. basicFlow runs it on every deployment form.
func aheadSteps(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	now := t0.Add(time.Hour)
	accounts := []string{
		"33333333-0000-4000-8000-000000000001", "33333333-0000-4000-8000-000000000002",
		"33333333-0000-4000-8000-000000000003", "33333333-0000-4000-8000-000000000004",
		"33333333-0000-4000-8000-000000000005",
	}
	for i, a := range accounts {
		u := fmt.Sprintf("UA%d", i+1)
		m := bridge.Mapping{SlackUserID: u, EntraID: a, Source: bridge.SourceAdmin, FoundAt: t0}
		if err := s.SetMapping(ctx, m, now); err != nil {
			t.Fatalf("SetMapping: %v", err)
		}
		if _, err := s.Submit(ctx, change(u, "EvA"+u, 3600+i, "Lunch"), now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	at := now.Add(10 * time.Millisecond)
	unread := func(n int, hold time.Duration, want ...string) {
		t.Helper()
		got, err := s.UpcomingUnread(ctx, at, n, hold)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("UpcomingUnread(%d) = %v, %v; want %v", n, got, err, want)
		}
	}
	// Two replicas reading ahead at once get different accounts.
	unread(3, time.Minute, accounts[:3]...)
	unread(3, 200*time.Millisecond, accounts[3:]...)
	unread(3, time.Minute)
	if _, _, ahead, err := s.OwnedForAhead(ctx, "UA1", accounts[0]); err != nil || ahead != nil {
		t.Fatalf("OwnedForAhead while the read is made = %+v, %v; want none", ahead, err)
	}
	read := at.Add(150 * time.Millisecond)
	if err := s.KeepAhead(ctx, accounts[:2], map[string]string{accounts[0]: "In a meeting | 3 pm"}, read, 30*time.Second); err != nil {
		t.Fatalf("KeepAhead: %v", err)
	}
	for i, want := range []bridge.AheadRead{
		{Content: "In a meeting | 3 pm", Known: true, At: read},
		{Content: "", Known: false, At: read}, // Graph did not return the account
	} {
		u := fmt.Sprintf("UA%d", i+1)
		_, _, ahead, err := s.OwnedForAhead(ctx, u, accounts[i])
		if err != nil || ahead == nil || ahead.Content != want.Content || ahead.Known != want.Known || !ahead.At.Equal(want.At) {
			t.Fatalf("OwnedForAhead(%s) = %+v, %v; want %+v", u, ahead, err, want)
		}
	}
	if ms, err := s.rdb.PTTL(ctx, s.aheadKey(accounts[0])).Result(); err != nil || ms <= 0 || ms > 30*time.Second {
		t.Fatalf("PTTL of a shared read = %s, %v; want at most 30 s", ms, err)
	}
	// The short marks run out with nothing shared: those accounts are due to be read again.
	time.Sleep(300 * time.Millisecond)
	unread(3, time.Minute, accounts[3:]...)
	// A read that failed drops its marks, and leaves shared reads alone.
	if err := s.DropMarks(ctx, accounts); err != nil {
		t.Fatalf("DropMarks: %v", err)
	}
	unread(5, time.Minute, accounts[2:]...)
	// A record stored or forgotten drops the account's shared read: the
	// bridge calls the account, or forgets when it last did.
	if err := s.PutOwned(ctx, bridge.Owned{EntraID: accounts[0], SlackUserID: "UA1", Content: "Lunch", WrittenAt: t0}); err != nil {
		t.Fatalf("PutOwned: %v", err)
	}
	if err := s.DeleteOwned(ctx, accounts[1]); err != nil {
		t.Fatalf("DeleteOwned: %v", err)
	}
	for i := range 2 {
		u := fmt.Sprintf("UA%d", i+1)
		if _, _, ahead, err := s.OwnedForAhead(ctx, u, accounts[i]); err != nil || ahead != nil {
			t.Fatalf("OwnedForAhead(%s) after the owned record changed = %+v, %v; want none", u, ahead, err)
		}
	}
}

func TestDecodeAhead(t *testing.T) {
	at := time.UnixMilli(1764750000123)
	for _, a := range []bridge.AheadRead{
		{Content: "Busy | with a bar", Known: true, At: at},
		{Content: "", Known: false, At: at},
	} {
		got, ok := decodeAhead(encodeAhead(a))
		if !ok || got.Content != a.Content || got.Known != a.Known || !got.At.Equal(a.At) {
			t.Errorf("decodeAhead(encodeAhead(%+v)) = %+v, %v", a, got, ok)
		}
	}
	for _, bad := range []string{"P", "", "R", "R12", "R12|2|x", "Rx|1|x", "R12|1"} {
		if got, ok := decodeAhead(bad); ok || got != nil {
			t.Errorf("decodeAhead(%q) = %+v, %v; want no read", bad, got, ok)
		}
	}
}
