package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

// TestEventIDsKeptForOneToTwoPeriods: an event id is remembered in the
// period of the event TTL it was seen in and the next one, whichever user
// it comes with; its period's hash is unlinked two periods on, and expires
// a quarter period after that otherwise.
func TestEventIDsKeptForOneToTwoPeriods(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 10 * time.Second
	s := open(t, srv.URL(), CallerClock(), WithEventTTL(ttl))
	ctx := t.Context()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	submit := func(c bridge.Change, now time.Time, want bridge.SubmitOutcome) {
		t.Helper()
		if out, err := s.Submit(ctx, c, now); err != nil || out != want {
			t.Fatalf("Submit(%s %s) at %s = %v, %v; want %v", c.UserID, c.EventID, now.Sub(t0), out, err, want)
		}
	}
	if t0.UnixMilli()%ttl.Milliseconds() != 0 {
		t.Fatalf("t0 must start a period of %s", ttl)
	}
	period := t0.UnixMilli() / ttl.Milliseconds()

	// Seen near the end of a period.
	submit(change("U001", "Ev1", 0, "Lunch"), at(9000), bridge.Accepted)
	submit(change("U002", "Ev2", 0, "Lunch"), at(9500), bridge.Accepted)
	periodKey := func(n int64) string { return s.key("evs", strconv.FormatInt(n, 10)) }
	// Its expiry is a quarter period after the next period's end, by the
	// caller's clock: 20 s + 2.5 s - 9.5 s (the last group that added).
	pttl, err := s.rdb.PTTL(ctx, periodKey(period)).Result()
	if err != nil || pttl <= 12*time.Second || pttl > 13*time.Second {
		t.Fatalf("the period's hash expires in %s (%v), want 13 s", pttl, err)
	}
	// The next period still knows it, for any user.
	submit(change("U001", "Ev1", 0, "Lunch"), at(11000), bridge.Duplicate)
	submit(change("U003", "Ev1", 12, "Elsewhere"), at(19999), bridge.Duplicate)
	// Two periods on, an id not seen since is forgotten; Ev1, seen again
	// in the second period, is not.
	submit(change("U004", "Ev2", 20, "Later"), at(20000), bridge.Accepted)
	submit(change("U005", "Ev1", 20, "Later"), at(20000), bridge.Duplicate)
	// Adding to a period unlinks the one two before, no longer looked up,
	// before its expiry would free it.
	if n, err := s.rdb.Exists(ctx, periodKey(period)).Result(); err != nil || n != 0 {
		t.Errorf("the hash of two periods before is still there (%d, %v)", n, err)
	}
	if n, err := s.rdb.Exists(ctx, periodKey(period+1)).Result(); err != nil || n != 1 {
		t.Errorf("the hash of the period before is gone (%d, %v)", n, err)
	}
	if n, err := s.rdb.Keys(ctx, s.key("ev")+":*").Result(); err != nil || len(n) != 0 {
		t.Errorf("keys of single event ids: %v (%v), want none", n, err)
	}
}

// TestSubmitsOfNamespacesShareRoundTrips: concurrent Submits to a store and
// its namespace go to Redis together (they share the connection's group
// commit), and each change lands in its own namespace's queue. A script
// cache emptied meanwhile is filled again.
func TestSubmitsOfNamespacesShareRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	ns, err := s.Namespace("other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	run := func(round string) {
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for i := range 200 {
			st, user := s, fmt.Sprintf("P%s%03d", round, i)
			if i%2 == 1 {
				st, user = ns, fmt.Sprintf("N%s%03d", round, i)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The same event id in both: each namespace dedupes its own.
				out, err := st.Submit(ctx, change(user, fmt.Sprintf("Ev%s%03d", round, i/2), 0, "Lunch"), t0)
				if err == nil && out != bridge.Accepted {
					err = fmt.Errorf("%s: %v, want accepted", user, out)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	run("a")
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	run("b")
	for _, c := range []struct {
		st     *Store
		prefix string
	}{{s, "P"}, {ns, "N"}} {
		jobs, err := c.st.Claim(ctx, t0, time.Minute, 1000)
		if err != nil || len(jobs) != 200 {
			t.Fatalf("Claim = %d jobs, %v; want 200", len(jobs), err)
		}
		for _, j := range jobs {
			if !strings.HasPrefix(j.UserID, c.prefix) {
				t.Errorf("%s claimed in the queue of the %s users", j.UserID, c.prefix)
			}
		}
	}
}

// TestSubmitGroupStepsStandAlone sends one group by hand: changes of two
// namespaces, one user twice, a leased user and a user whose key holds the
// wrong type. Each change is its own step: the broken one fails alone, the
// same user's second change wins, the leased user keeps its lease deadline,
// and every other change is due in its own queue.
func TestSubmitGroupStepsStandAlone(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), CallerClock())
	ns, err := s.Namespace("other")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if out, err := s.Submit(ctx, change("ULEASED", "Ev0", 0, "Lunch"), t0); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	if jobs, err := s.Claim(ctx, t0, time.Minute, 1); err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %v, %v", jobs, err)
	}
	if err := s.rdb.Set(ctx, s.key("u", "UBROKEN"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Second)
	var calls []*submitCall
	for _, c := range []struct {
		st *Store
		c  bridge.Change
	}{
		{s, change("U001", "Ev1", 1, "Lunch")},
		{ns, change("N001", "Ev1", 1, "Lunch")},
		{s, change("UBROKEN", "Ev2", 1, "Lunch")},
		{s, change("U001", "Ev3", 1, "Back soon")},
		{s, change("ULEASED", "Ev4", 1, "In a meeting")},
		{s, change("U002", "Ev5", 1, "Lunch")},
	} {
		call, err := c.st.submitCall(ctx, c.c, now)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call)
	}
	s.groupCommit().send(calls)
	for i, want := range []string{"accepted", "accepted", "error", "accepted", "accepted", "accepted"} {
		out, err := submitOutcome(calls[i].res, calls[i].err)
		switch {
		case want == "error" && (err == nil || !strings.Contains(err.Error(), "WRONGTYPE")):
			t.Errorf("change %d = %v, %v; want a WRONGTYPE error", i, out, err)
		case want != "error" && (err != nil || out != bridge.Accepted):
			t.Errorf("change %d = %v, %v; want accepted", i, out, err)
		}
	}
	score := func(st *Store, user string) float64 {
		t.Helper()
		v, err := st.rdb.ZScore(ctx, st.dueKey(), user).Result()
		if err != nil {
			t.Fatalf("due score of %s: %v", user, err)
		}
		return v
	}
	for _, c := range []struct {
		st   *Store
		user string
		at   time.Time
	}{{s, "U001", now}, {s, "U002", now}, {ns, "N001", now}, {s, "ULEASED", t0.Add(time.Minute)}} {
		if got := score(c.st, c.user); got != float64(c.at.UnixMilli()) {
			t.Errorf("%s is due at %v, want %v", c.user, time.UnixMilli(int64(got)).UTC(), c.at)
		}
	}
	if n, err := s.rdb.ZScore(ctx, s.dueKey(), "UBROKEN").Result(); err == nil {
		t.Errorf("the broken user is due at %v", n)
	}
	jobs, err := s.Claim(ctx, now, time.Minute, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Claim = %d jobs, %v; want U001 and U002", len(jobs), err)
	}
	for _, j := range jobs {
		if j.UserID == "U001" && j.Desired.Status.Text != "Back soon" {
			t.Errorf("U001's desired status %q, want its second change's", j.Desired.Status.Text)
		}
	}
}
