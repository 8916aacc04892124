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
// it comes with; its period's hash expires when the next period ends.
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
	pttl, err := s.rdb.PTTL(ctx, s.key("evs", strconv.FormatInt(period, 10))).Result()
	if err != nil || pttl <= 9*time.Second || pttl > 11*time.Second {
		t.Fatalf("the period's hash expires in %s (%v), want 11 s (the next period's end, by the caller's clock)", pttl, err)
	}
	// The next period still knows it, for any user.
	submit(change("U001", "Ev1", 0, "Lunch"), at(11000), bridge.Duplicate)
	submit(change("U003", "Ev1", 12, "Elsewhere"), at(19999), bridge.Duplicate)
	// Two periods on, an id not seen since is forgotten; Ev1, seen again
	// in the second period, is not.
	submit(change("U004", "Ev2", 20, "Later"), at(20000), bridge.Accepted)
	submit(change("U005", "Ev1", 20, "Later"), at(20000), bridge.Duplicate)
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
