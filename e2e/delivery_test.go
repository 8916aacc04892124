package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/redistest"
)

// TestChaosConvergence: three replicas, 500 users with 1–20 changes each,
// Slack's retries, event pairs and out-of-order delivery, a Graph that fails
// 5 % of calls with 503 and 2 % with 429, and one replica SIGKILLed and
// restarted every few seconds. In the end Teams shows every user's newest
// Slack status, nobody is parked, and no user cost more successful calls than
// the changes sent for it (calls that repeat the previous message, the
// at-least-once cost of a crash, are counted apart and bounded by the kills).
func TestChaosConvergence(t *testing.T) {
	const nUsers, replicas, workers = 500, 3, 8
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	// The rate limiter is not under test here: make it roomy.
	w := newWorld(t, "STATUSBRIDGE_GRAPH_RATE=30000/30s", fmt.Sprintf("STATUSBRIDGE_WORKERS=%d", workers))
	users := makeUsers(t, w, "CH", nUsers)
	w.graph.SetFailureRates(0.05, 0.02, "1", int64(seed))

	now := time.Now()
	base := now.Add(-30 * time.Minute).Truncate(time.Second)
	plans := map[*simUser][][]byte{}
	totalChanges, distinctRenders := 0, 0
	for _, u := range users {
		n := 1 + r.IntN(20)
		prev := "\x00"
		for i := 0; i < n; i++ {
			s := randomStatus(r, base.Add(time.Duration(i)*time.Second), now)
			u.changes = append(u.changes, s)
			c, e := s.render(now)
			if c+"|"+e != prev {
				distinctRenders++
			}
			prev = c + "|" + e
		}
		totalChanges += n
		// Mostly in order, some neighbours swapped: an older event arrives
		// after a newer one.
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		for i := 0; i+1 < n; i++ {
			if r.IntN(100) < 20 {
				order[i], order[i+1] = order[i+1], order[i]
			}
		}
		var plan, late [][]byte
		for _, i := range order {
			s := u.changes[i]
			first := s.event("user_status_changed", nextEventID(), u.slack)
			plan = append(plan, first)
			switch x := r.IntN(100); {
			case x < 30: // the pair, at once
				plan = append(plan, s.event("user_change", nextEventID(), u.slack))
			case x < 40: // the pair, after newer changes
				late = append(late, s.event("user_change", nextEventID(), u.slack))
			}
			if r.IntN(100) < 15 { // Slack's retry: the same event id again
				plan = append(plan, first)
			}
		}
		plans[u] = append(plan, late...)
	}

	f := startFleet(t, w.env, replicas)
	sender := newSlackSender(f.addrs, time.Now().Add(4*time.Minute))
	start := time.Now()
	wg := sendAll(users, 16, func(u *simUser) {
		for _, body := range plans[u] {
			sender.deliver(body)
			time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
		}
	})
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()

	// One replica at a time is SIGKILLed and restarted while events flow.
	kills := 0
chaos:
	for {
		select {
		case <-sent:
			break chaos
		case <-time.After(2*time.Second + time.Duration(rand.IntN(1000))*time.Millisecond):
		}
		f.crash(kills%replicas, 300*time.Millisecond)
		kills++
	}
	sendTime := time.Since(start)
	if n := sender.gaveUp.Load(); n != 0 {
		t.Fatalf("%d events were never acknowledged", n)
	}
	if kills < 3 {
		t.Fatalf("only %d replica kills while events flowed; the test did not exercise crashes", kills)
	}

	converge := waitConverged(t, w.graph, users, 3*time.Minute)
	if ps := parkedUsers(t, w.env); len(ps) != 0 {
		t.Fatalf("%d users parked, first %+v", len(ps), ps[0])
	}
	// Late duplicates, stale events or a stray retry would show up now.
	time.Sleep(2 * time.Second)
	if m := mismatches(w.graph, users); len(m) != 0 {
		t.Fatalf("Teams drifted after converging: %s", m[0])
	}

	ok, throttled, failed := w.graph.Counts()
	calls, repeats := okCallsByUser(w.graph)
	totalRepeats := 0
	for _, u := range users {
		id := strings.ToLower(u.entra)
		totalRepeats += repeats[id]
		if fresh := calls[id] - repeats[id]; fresh > len(u.changes) {
			t.Errorf("%s: %d successful calls with a new message for %d changes sent", u.slack, fresh, len(u.changes))
		}
	}
	t.Logf("users %d, changes %d (distinct renders in order %d), deliveries %d, HTTP requests %d (re-sent after non-2xx/network error %d), answers %v",
		nUsers, totalChanges, distinctRenders, sender.deliveries.Load(), sender.requests.Load(), sender.redelivers.Load(), sender.answerCounts())
	t.Logf("sending took %s with %d replica kills; converged %s after the last event", sendTime.Round(time.Millisecond), kills, converge.Round(time.Millisecond))
	t.Logf("graph calls: ok %d, 429 %d, other failures %d; ok/changes %.3f, ok/distinct renders %.3f, ok/users %.2f, repeats of the previous message %d",
		ok, throttled, failed, float64(ok)/float64(totalChanges), float64(ok)/float64(distinctRenders), float64(ok)/nUsers, totalRepeats)
	if ok > totalChanges {
		t.Errorf("%d successful Graph calls for %d changes", ok, totalChanges)
	}
	// A repeat is the at-least-once cost of an outcome that was not recorded
	// (a SIGKILL between Graph's answer and recording it: at most one per
	// worker of the killed replica) or of a user going back to the message
	// recorded before a failed attempt.
	if totalRepeats > kills*workers {
		t.Errorf("%d repeated calls, more than %d kills × %d workers", totalRepeats, kills, workers)
	}
}

// TestRedisRestartLosesNothing: Redis is SIGKILLed mid-stream and restarted.
// While it is down, intake answers 503 (Slack re-sends), /readyz says not
// ready and the replicas keep running. Every change acknowledged to Slack
// reaches Teams, including those still queued when Redis died.
func TestRedisRestartLosesNothing(t *testing.T) {
	// A slow Graph rate keeps a backlog queued in Redis when it dies.
	w := newWorld(t, "STATUSBRIDGE_GRAPH_RATE=300/30s")
	users := makeUsers(t, w, "RR", 200)
	f := startFleet(t, w.env, 2)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	now := time.Now()
	base := now.Add(-time.Minute).Truncate(time.Second)
	const beforeKill = 6
	for i, u := range users {
		n := beforeKill
		if i%2 == 1 {
			n += 4 // odd users change again while Redis is down
		}
		for k := 0; k < n; k++ {
			u.changes = append(u.changes, randomStatus(r, base.Add(time.Duration(k)*time.Second), now))
		}
	}
	send := func(s *slackSender, from, to int) func(u *simUser) {
		return func(u *simUser) {
			for k := from; k < min(to, len(u.changes)); k++ {
				if !s.deliver(u.changes[k].event("user_status_changed", nextEventID(), u.slack)) {
					return
				}
			}
		}
	}
	s1 := newSlackSender(f.addrs, time.Now().Add(2*time.Minute))
	sendAll(users, 16, send(s1, 0, beforeKill)).Wait()
	if n := s1.gaveUp.Load(); n != 0 {
		t.Fatalf("%d events not acknowledged before the kill", n)
	}
	// Even users changed for the last time before the kill.
	var settled []*simUser
	for i := 0; i < len(users); i += 2 {
		settled = append(settled, users[i])
	}
	pending := len(mismatches(w.graph, settled))

	w.redis.Kill()
	killedAt := time.Now()
	s2 := newSlackSender(f.addrs, time.Now().Add(2*time.Minute))
	wg := sendAll(users, 16, send(s2, beforeKill, 1<<30))

	probe := event("user_status_changed", nextEventID(), alice, time.Now(), "Probe", "", 0)
	for _, p := range f.procs {
		if code, body := p.send(t, probe); code != http.StatusServiceUnavailable {
			t.Fatalf("intake answered %d %q while Redis is down, want 503", code, body)
		}
		resp, err := http.Get(p.url("/readyz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz answered %d while Redis is down, want 503", resp.StatusCode)
		}
	}
	time.Sleep(3 * time.Second)
	for _, p := range f.procs {
		select {
		case <-p.done:
			t.Fatalf("statusbridge exited while Redis was down (%v):\n%s", p.err, p.out.String())
		default:
		}
	}
	w.redis.Restart(t)
	down := time.Since(killedAt)
	wg.Wait()
	if n := s2.gaveUp.Load(); n != 0 {
		t.Fatalf("%d events were never acknowledged", n)
	}
	answers := s2.answerCounts()
	if answers["503"] == 0 {
		t.Fatalf("no event was answered 503 while Redis was down: %v", answers)
	}
	converge := waitConverged(t, w.graph, users, 2*time.Minute)
	for _, p := range f.procs {
		resp, err := http.Get(p.url("/readyz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz answered %d after Redis came back", resp.StatusCode)
		}
	}
	ok, thr, failed := w.graph.Counts()
	t.Logf("Redis down %s; %d of %d users had an acknowledged change still queued when Redis died; answers while down/after: %v; converged %s after the last event; graph ok %d, 429 %d, failed %d",
		down.Round(time.Millisecond), pending, len(users)/2, answers, converge.Round(time.Millisecond), ok, thr, failed)
	if pending == 0 {
		t.Fatal("every change was applied before Redis died; the test did not exercise the queue's durability")
	}
}

// TestThrottleBurst: the 9 am burst against a Graph that enforces its
// presence limit and answers 429 beyond it.
//
// Graph documents 1,500 calls / 30 s (50/s). Running 5,000 users at that
// rate takes 100 s, so the test keeps the rate and scales the window and the
// crowd down: the stand-in allows 500 calls in any 10 s and 1,700 users
// change at once (34 s at the limit). STATUSBRIDGE_GRAPH_RATE is 480/10s,
// just under the limit, the way an operator would set it. Two replicas share
// the limiter through Redis.
func TestThrottleBurst(t *testing.T) {
	const limitN, limitPer, nUsers = 500, 10 * time.Second, 1700
	w := newWorld(t, "STATUSBRIDGE_GRAPH_RATE=480/10s")
	w.graph.SetRateLimit(limitN, limitPer)
	users := makeUsers(t, w, "TB", nUsers)
	f := startFleet(t, w.env, 2)
	now := time.Now()
	for i, u := range users {
		u.changes = []simStatus{{text: fmt.Sprintf("Standup %d", i), emoji: ":coffee:", at: now}}
	}
	sender := newSlackSender(f.addrs, time.Now().Add(time.Minute))
	start := time.Now()
	sendAll(users, 32, func(u *simUser) { sender.deliver(u.newest().event("user_status_changed", nextEventID(), u.slack)) }).Wait()
	intake := time.Since(start)
	if n := sender.gaveUp.Load(); n != 0 {
		t.Fatalf("%d events not acknowledged", n)
	}
	converge := waitConverged(t, w.graph, users, 3*time.Minute)

	ok, thr, failed := w.graph.Counts()
	var first, last time.Time
	for _, c := range w.graph.StatusCalls() {
		if c.Status != http.StatusOK {
			continue
		}
		if first.IsZero() || c.At.Before(first) {
			first = c.At
		}
		if c.At.After(last) {
			last = c.At
		}
	}
	limitRate := float64(limitN) / limitPer.Seconds()
	rate := float64(ok-1) / last.Sub(first).Seconds()
	share429 := float64(thr) / float64(ok+thr)
	t.Logf("%d users: intake %s, all in Teams after %s; graph ok %d, 429 %d (%.2f%% of calls), failed %d; achieved %.1f calls/s = %.1f%% of the %.0f/s limit",
		nUsers, intake.Round(time.Millisecond), (intake + converge).Round(time.Millisecond), ok, thr, 100*share429, failed, rate, 100*rate/limitRate, limitRate)
	if failed != 0 {
		t.Errorf("%d calls failed other than with 429", failed)
	}
	if ok != nUsers {
		t.Errorf("%d successful calls for %d users with one change each", ok, nUsers)
	}
	if share429 > 0.02 {
		t.Errorf("%.2f%% of calls were throttled, want at most 2%%", 100*share429)
	}
	// Reading what Teams shows before each write is batched: one read covers
	// up to 650 accounts, the users due next included.
	reads := w.graph.PresenceReads()
	t.Logf("presence reads: %d calls for %d accounts (%d changes; N/650 = %.1f)", reads.Calls, reads.IDs, nUsers, float64(nUsers)/650)
	// The 2 replicas share their reads ahead: N/650 for both, plus a few.
	if limit := nUsers/650 + 20; reads.Calls > limit {
		t.Errorf("%d presence reads for a burst of %d changes, want at most %d", reads.Calls, nUsers, limit)
	}
}

// TestRedisCluster: the basic flow on a three-master Redis Cluster, with two
// replicas.
func TestRedisCluster(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	g := fakegraph.Start(t)
	g.AddUser(fakegraph.User{ID: aliceID, UPN: "alice@corp.example", Mail: "alice@corp.example"})
	var hosts []string
	for _, n := range nodes {
		hosts = append(hosts, n.Addr)
	}
	w := &world{graph: g, env: baseEnv(append(g.Env(),
		"REDIS_URL=redis+cluster://"+strings.Join(hosts, ","),
		"SLACK_SIGNING_SECRET="+signingSecret,
		"STATUSBRIDGE_LEASE=10s",
	)...)}
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p1, p2 := startServe(t, w.env), startServe(t, w.env)
	now := time.Now()
	ev := event("user_status_changed", nextEventID(), alice, now, "Vacationing", ":palm_tree:", 0)
	if code, body := p1.send(t, ev); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "🌴 Vacationing" {
		t.Fatalf("content = %q", c.Content)
	}
	// Slack's retry through the other replica costs nothing; a newer change does.
	if code, _ := p2.send(t, ev, "X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"); code != 200 {
		t.Fatalf("retry answered %d", code)
	}
	p2.send(t, event("user_status_changed", nextEventID(), alice, now.Add(time.Second), "Back", "", 0))
	if c := w.waitCalls(t, aliceID, 2)[1]; c.Content != "Back" {
		t.Fatalf("content = %q", c.Content)
	}
	time.Sleep(time.Second)
	if n := len(w.okCalls(aliceID)); n != 2 {
		t.Fatalf("%d Graph calls, want 2", n)
	}
	for _, p := range []*bridgeProc{p1, p2} {
		resp, err := http.Get(p.url("/readyz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/readyz answered %d on Redis Cluster", resp.StatusCode)
		}
	}
	if ps := parkedUsers(t, w.env); len(ps) != 0 {
		t.Fatalf("parked: %+v", ps)
	}
}

// TestSigtermDrains: SIGTERM while a Graph call is in flight lets the call
// finish, records it, and exits 0; the next process does not call again.
func TestSigtermDrains(t *testing.T) {
	w := newWorld(t, "STATUSBRIDGE_LEASE=10s")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	var mu sync.Mutex
	inFlight := make(chan struct{}, 1)
	hold := 2 * time.Second
	w.graph.SetStatusHook(func(string) {
		mu.Lock()
		d := hold
		mu.Unlock()
		select {
		case inFlight <- struct{}{}:
		default:
		}
		time.Sleep(d)
	})
	p := startServe(t, w.env)
	if code, _ := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Draining", ":car:", 0)); code != 200 {
		t.Fatalf("event answered %d", code)
	}
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatal("no Graph call started")
	}
	termAt := time.Now()
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, p.out.String())
	}
	stopTook := time.Since(termAt)
	calls := w.okCalls(aliceID)
	if len(calls) != 1 || calls[0].Content != "🚗 Draining" {
		t.Fatalf("after SIGTERM: %d successful calls %+v, want the one in flight", len(calls), calls)
	}
	if !strings.Contains(p.out.String(), "status set in Teams") {
		t.Fatalf("the call in flight was not recorded as applied:\n%s", p.out.String())
	}
	mu.Lock()
	hold = 0
	mu.Unlock()
	// Had the outcome not been recorded, the user would come back once the
	// lease (6 s) ran out, and be sent again.
	p2 := startServe(t, w.env)
	time.Sleep(8 * time.Second)
	if n := len(w.graph.StatusCalls()); n != 1 {
		t.Fatalf("%d Graph calls after a restart, want still 1:\n%s", n, p2.out.String())
	}
	t.Logf("SIGTERM with a call in flight: exit 0 after %s", stopTook.Round(time.Millisecond))
}

// TestParkedUsersCLI: a user whose Entra id Graph does not know (404) is
// parked, listed, retried one by one or all at once, and un-parked by a new
// change once Graph knows it.
func TestParkedUsersCLI(t *testing.T) {
	const (
		carol, carolID = "U0CAROL01", "2d7f8a10-1b2c-4d3e-8f90-a1b2c3d4e5f6"
		dave, daveID   = "U0DAVE001", "3e8a9b21-2c3d-4e5f-9a01-b2c3d4e5f6a7"
	)
	w := newWorld(t)
	mustCLI(t, w.env, "mapping", "set", carol, carolID)
	mustCLI(t, w.env, "mapping", "set", dave, daveID)
	p := startServe(t, w.env)
	now := time.Now()
	p.send(t, event("user_status_changed", nextEventID(), carol, now, "Offsite", "", 0))
	p.send(t, event("user_status_changed", nextEventID(), dave, now, "Offsite", "", 0))

	calls404 := func(id string) int {
		n := 0
		for _, c := range w.graph.StatusCalls() {
			if strings.EqualFold(c.UserID, id) && c.Status == http.StatusNotFound {
				n++
			}
		}
		return n
	}
	parked := func() map[string]string {
		out := map[string]string{}
		for _, p := range parkedUsers(t, w.env) {
			out[p.User] = p.Reason
		}
		return out
	}
	waitParked := func(what string, users ...string) {
		t.Helper()
		eventually(t, 20*time.Second, what, func() bool {
			ps := parked()
			for _, u := range users {
				if _, ok := ps[u]; !ok {
					return false
				}
			}
			return true
		})
	}
	waitParked("both users parked", carol, dave)
	ps := parked()
	for _, u := range []string{carol, dave} {
		if !strings.Contains(ps[u], "404") && !strings.Contains(strings.ToLower(ps[u]), "not found") {
			t.Errorf("%s parked with reason %q, want it to name the 404", u, ps[u])
		}
	}
	if out := mustCLI(t, w.env, "parked", "ls"); !strings.Contains(out, carol) || !strings.Contains(out, dave) {
		t.Fatalf("parked ls:\n%s", out)
	}
	if calls404(carolID) != 1 || calls404(daveID) != 1 {
		t.Fatalf("404 calls: carol %d, dave %d; want 1 each (a parked user is not retried by itself)", calls404(carolID), calls404(daveID))
	}

	// Retry one: it is tried again, fails again, is parked again.
	if out := mustCLI(t, w.env, "parked", "retry", carol); !strings.Contains(out, carol) {
		t.Fatalf("parked retry: %q", out)
	}
	eventually(t, 20*time.Second, "carol tried again", func() bool { return calls404(carolID) == 2 })
	waitParked("carol parked again", carol)
	if calls404(daveID) != 1 {
		t.Fatalf("retrying carol retried dave")
	}
	if _, errOut, code := cli(t, w.env, "parked", "retry", "U0NOTPARK"); code == 0 || !strings.Contains(errOut, "not parked") {
		t.Fatalf("retry of a user that is not parked: exit %d, %q", code, errOut)
	}

	// Retry all.
	if out := mustCLI(t, w.env, "parked", "retry", "--all"); !strings.Contains(out, "2 parked user(s)") {
		t.Fatalf("parked retry --all: %q", out)
	}
	eventually(t, 20*time.Second, "both tried again", func() bool { return calls404(carolID) == 3 && calls404(daveID) == 2 })
	waitParked("both parked again", carol, dave)

	// Graph learns carol; a new change un-parks her and lands.
	w.graph.AddUser(fakegraph.User{ID: carolID, UPN: "carol@corp.example"})
	if code, _ := p.send(t, event("user_status_changed", nextEventID(), carol, now.Add(time.Second), "Back", ":house_with_garden:", 0)); code != 200 {
		t.Fatalf("event answered %d", code)
	}
	if c := w.waitCalls(t, carolID, 1)[0]; c.Content != "🏡 Back" {
		t.Fatalf("content = %q", c.Content)
	}
	eventually(t, 10*time.Second, "carol no longer parked", func() bool { _, ok := parked()[carol]; return !ok })
	// Graph learns dave; an admin retry (no new change) lands his parked change.
	w.graph.AddUser(fakegraph.User{ID: daveID, UPN: "dave@corp.example"})
	mustCLI(t, w.env, "parked", "retry", dave)
	if c := w.waitCalls(t, daveID, 1)[0]; c.Content != "Offsite" {
		t.Fatalf("content = %q", c.Content)
	}
	if ps := parked(); len(ps) != 0 {
		t.Fatalf("still parked: %v", ps)
	}
}

// TestRedisConfigWarning: serve warns about a Redis that may evict keys or
// lose them on restart, and not about one set up as the docs say.
func TestRedisConfigWarning(t *testing.T) {
	g := fakegraph.Start(t)
	bad := redistest.Start(t, "--maxmemory-policy", "allkeys-lru", "--appendonly", "no")
	env := baseEnv(append(g.Env(), "REDIS_URL="+bad.URL(), "SLACK_SIGNING_SECRET="+signingSecret)...)
	p := startServe(t, env)
	eventually(t, 10*time.Second, "the Redis configuration warnings", func() bool {
		out := p.out.String()
		return strings.Contains(out, "noeviction") && strings.Contains(out, "appendonly")
	})
	for _, line := range strings.Split(p.out.String(), "\n") {
		if (strings.Contains(line, "noeviction") || strings.Contains(line, "appendonly")) && !strings.Contains(line, "WARN") {
			t.Errorf("not logged as a warning: %s", line)
		}
	}

	good := newWorld(t)
	q := startServe(t, good.env)
	eventually(t, 10*time.Second, "serve to log that it started", func() bool {
		return strings.Contains(q.out.String(), "statusbridge started")
	})
	if out := q.out.String(); strings.Contains(out, "Redis configuration") {
		t.Fatalf("warned about a Redis with noeviction and AOF:\n%s", out)
	}
}

// TestCrashAfterGraphAnswered: a replica dies after Graph applied a message
// but before the bridge recorded it. The user then goes back to the status
// recorded as applied. Teams must show that status: the recorded state no
// longer tells what Teams shows, so the change is sent rather than skipped.
func TestCrashAfterGraphAnswered(t *testing.T) {
	w := newWorld(t, "STATUSBRIDGE_LEASE=10s")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	now := time.Now()
	p.send(t, event("user_status_changed", nextEventID(), alice, now, "Lunch", ":hamburger:", 0))
	w.waitCalls(t, aliceID, 1)
	eventually(t, 10*time.Second, "the first update recorded", func() bool {
		return strings.Contains(p.out.String(), "status set in Teams")
	})

	// Hold the next call until the replica is dead; Graph then applies it.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.graph.SetStatusHook(func(string) {
		once.Do(func() { close(arrived); <-release })
	})
	p.send(t, event("user_status_changed", nextEventID(), alice, now.Add(time.Second), "In a meeting", ":calendar:", 0))
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no Graph call for the second change")
	}
	p.kill()
	close(release)
	eventually(t, 10*time.Second, "Graph to apply the call of the dead replica", func() bool {
		c, ok := w.graph.Current(aliceID)
		return ok && c.Content == "📆 In a meeting"
	})

	// Back to lunch: the same message as the one recorded as applied.
	q := startServe(t, w.env)
	q.send(t, event("user_status_changed", nextEventID(), alice, now.Add(2*time.Second), "Lunch", ":hamburger:", 0))
	eventually(t, 20*time.Second, "Teams to show the newest Slack status", func() bool {
		c, _ := w.graph.Current(aliceID)
		return c.Content == "🍔 Lunch"
	})
}

// TestGraphTimeoutThenRevert: a Graph call outlasts the worker's deadline
// but Graph applies it anyway; meanwhile the user goes back to the status
// recorded as applied. Teams must end up showing that status: the worker
// keeps the user a settle time (1 s) after the unanswered call, so that the
// retry is not sent before the late call lands.
func TestGraphTimeoutThenRevert(t *testing.T) {
	w := newWorld(t, "STATUSBRIDGE_LEASE=10s") // a call is cut off after about 6.7 s
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	now := time.Now()
	p.send(t, event("user_status_changed", nextEventID(), alice, now, "Lunch", ":hamburger:", 0))
	w.waitCalls(t, aliceID, 1)
	eventually(t, 10*time.Second, "the first update recorded", func() bool {
		return strings.Contains(p.out.String(), "status set in Teams")
	})
	arrived := make(chan struct{})
	var first atomic.Bool
	w.graph.SetStatusHook(func(string) {
		// Graph applies the first call soon after the worker gave up on it
		// (about 6.7 s); later calls go through at once, so a retry sent
		// before then lands first and is overwritten.
		if first.CompareAndSwap(false, true) {
			close(arrived)
			time.Sleep(7000 * time.Millisecond)
		}
	})
	p.send(t, event("user_status_changed", nextEventID(), alice, now.Add(time.Second), "In a meeting", ":calendar:", 0))
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no Graph call for the second change")
	}
	p.send(t, event("user_status_changed", nextEventID(), alice, now.Add(2*time.Second), "Lunch", ":hamburger:", 0))
	eventually(t, 20*time.Second, "the slow call to time out and be applied", func() bool {
		if !strings.Contains(p.out.String(), "will retry") {
			return false
		}
		for _, c := range w.okCalls(aliceID) {
			if c.Content == "📆 In a meeting" {
				return true
			}
		}
		return false
	})
	eventually(t, 20*time.Second, "Teams to show the newest Slack status", func() bool {
		c, _ := w.graph.Current(aliceID)
		return c.Content == "🍔 Lunch"
	})
}
