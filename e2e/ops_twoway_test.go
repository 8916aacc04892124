package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// The operator's side of Teams → Slack through the built binary: parked
// users of either flow, users show, the reconcile lock across replicas and
// doctor's check of the admin token.

// parkedBoth runs `statusbridge parked ls --json` with the direction field.
func parkedBoth(t *testing.T, env []string) []struct{ User, Reason, Direction string } {
	t.Helper()
	var ps []struct{ User, Reason, Direction string }
	out := mustCLI(t, env, "parked", "ls", "--json")
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("parked ls --json: %v\n%s", err, out)
	}
	return ps
}

// TestParkedOnTheSlackSide: Slack refuses to write an admin's status
// (cannot_update_admin_user), so the Teams message a person typed parks
// that user on the Teams → Slack side; parked ls and users show say so, and
// once the refusal is gone parked retry carries the message to Slack.
func TestParkedOnTheSlackSide(t *testing.T) {
	w := newTwoWayWorld(t)
	w.slack.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", Admin: true})
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	w.start(t, 1)
	w.waitFirstPoll(t)

	w.graph.SetMessageByHand(aliceID, fakegraph.TeamsMessage{Content: "🌴 On leave until Monday"})
	eventually(t, 30*time.Second, "alice parked on the Slack side", func() bool {
		for _, p := range parkedBoth(t, w.env) {
			if p.User == alice && p.Direction == "slack" && strings.Contains(p.Reason, "cannot_update_admin_user") {
				return true
			}
		}
		return false
	})
	if ps := parkedBoth(t, w.env); len(ps) != 1 {
		t.Fatalf("parked: %+v, want alice on the Slack side only", ps)
	}
	out := mustCLI(t, w.env, "parked", "ls")
	if !strings.Contains(out, "DIRECTION") || !strings.Contains(out, "to Slack") || !strings.Contains(out, "cannot_update_admin_user") {
		t.Fatalf("parked ls:\n%s", out)
	}
	out = mustCLI(t, w.env, "users", "show", alice)
	if !strings.Contains(out, "slack parked:") || !strings.Contains(out, "cannot_update_admin_user") ||
		!strings.Contains(out, `from teams:   "🌴 On leave until Monday"`) {
		t.Fatalf("users show:\n%s", out)
	}
	if n := len(w.slack.ProfileWrites()); n != 0 {
		t.Fatalf("Slack took %d writes for an admin", n)
	}
	// Only the Teams side: nothing parked there.
	if _, errOut, code := cli(t, w.env, "parked", "retry", alice, "--direction", "teams"); code == 0 || !strings.Contains(errOut, "not parked") {
		t.Fatalf("retry on the Teams side: exit %d, %q", code, errOut)
	}

	// Alice is no longer an admin: the retry reaches Slack.
	w.slack.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example"})
	if out := mustCLI(t, w.env, "parked", "retry", alice); !strings.Contains(out, alice+" will be retried (to Slack)") {
		t.Fatalf("parked retry: %q", out)
	}
	eventually(t, 30*time.Second, "the Teams message in Slack after the retry", func() bool {
		return w.slackShows(alice) == ":palm_tree:|On leave until Monday"
	})
	if ps := parkedBoth(t, w.env); len(ps) != 0 {
		t.Fatalf("still parked after a successful retry: %+v", ps)
	}
	out = mustCLI(t, w.env, "users", "show", alice)
	if !strings.Contains(out, `slack owned:  ":palm_tree: On leave until Monday" (written `) || strings.Contains(out, "slack parked") {
		t.Fatalf("users show after the retry:\n%s", out)
	}
}

// TestReconcileOneReplicaAtATime: two replicas sharing Redis, each
// reconciling every 5 s, with a Slack directory slow enough (4 s a pass)
// that their passes would overlap: the store's lock lets one pass run at a
// time; the other replica logs that it skipped.
func TestReconcileOneReplicaAtATime(t *testing.T) {
	const botToken = "xoxb-reconcile-lock-token"
	api := slacktest.StartAPI(t, botToken)
	api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Lunch", StatusEmoji: ":pizza:"})
	apiURL, _ := url.Parse(api.URL)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: apiURL.Scheme, Host: apiURL.Host})
	var mu sync.Mutex
	inFlight, most, lists := 0, 0, 0
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/users.list") {
			proxy.ServeHTTP(rw, r)
			return
		}
		mu.Lock()
		inFlight++
		lists++
		most = max(most, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		time.Sleep(4 * time.Second)
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(slow.Close)
	slowURL := slow.URL + apiURL.Path
	w := newWorld(t, "SLACK_BOT_TOKEN="+botToken, "SLACK_API_URL="+slowURL, "STATUSBRIDGE_RECONCILE_INTERVAL=5s")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	f := startFleet(t, w.env, 2)

	time.Sleep(17 * time.Second)
	done, skipped := make([]int, 2), make([]int, 2)
	for i, p := range f.procs {
		out := p.out.String()
		done[i] = strings.Count(out, "reconcile pass done")
		skipped[i] = strings.Count(out, "reconcile pass skipped: another replica is running one")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("passes done %v, skipped %v; users.list calls %d, at most %d at once", done, skipped, lists, most)
	if most != 1 {
		t.Fatalf("%d reconcile passes read Slack's directory at the same time, want 1", most)
	}
	if done[0]+done[1] < 2 || skipped[0]+skipped[1] < 1 {
		t.Fatalf("passes done %v, skipped %v: want passes and, with 4 s passes every 5 s on two replicas, skips", done, skipped)
	}
	if w.waitCalls(t, aliceID, 1)[0].Content != "🍕 Lunch" {
		t.Fatal("the reconcile passes did not carry alice's status to Teams")
	}
}

// TestDoctorChecksTheAdminToken: with SLACK_ADMIN_USER_TOKEN, doctor passes
// the teams→slack line for an admin's token with users.profile:write, and
// fails it with a fix for a member's token or one without the scope; the
// token never appears in its output.
func TestDoctorChecksTheAdminToken(t *testing.T) {
	const bot = "xoxb-17-doctor-twoway-bot"
	const userTok = "xoxp-5555-6666-doctortwoway"
	graph := fakegraph.Start(t)
	addGraphUsers(graph)
	rds := redistest.Start(t, "--maxmemory-policy", "noeviction")
	envFor := func(api *slacktest.API) []string {
		return baseEnv(append(graph.Env(),
			"REDIS_URL="+rds.URL(), "SLACK_SIGNING_SECRET="+signingSecret,
			"SLACK_BOT_TOKEN="+bot, "SLACK_API_URL="+api.URL,
			"STATUSBRIDGE_TEAMS_TO_SLACK=true", "SLACK_ADMIN_USER_TOKEN="+userTok,
		)...)
	}
	noToken := func(t *testing.T, out string) {
		t.Helper()
		if strings.Contains(out, userTok) || strings.Contains(out, "5555-6666") {
			t.Fatalf("doctor printed the admin token:\n%s", out)
		}
	}

	t.Run("admin token", func(t *testing.T) {
		api := slacktest.StartAPI(t, bot)
		api.SetAdminToken(userTok)
		env := envFor(api)
		mustCLI(t, env, "mapping", "set", alice, aliceID)
		api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Lunch"})
		out, code := doctorRun(t, env)
		noToken(t, out)
		if code != 0 || !strings.Contains(out, "PASS  teams→slack") || strings.Contains(out, "FAIL") {
			t.Fatalf("doctor with an admin's token: exit %d\n%s", code, out)
		}
		if n := len(api.ProfileWrites()); n != 0 {
			t.Fatalf("doctor wrote %d Slack statuses", n)
		}
	})

	t.Run("member token", func(t *testing.T) {
		api := slacktest.StartAPI(t, bot)
		api.AddUser(slacktest.User{ID: slacktest.AdminUserID, TeamID: team, Email: "member@corp.example"})
		api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example"})
		api.SetAdminToken(userTok)
		out, code := doctorRun(t, envFor(api))
		noToken(t, out)
		wantFail(t, out, code, "teams→slack", "admin or owner")
		if !strings.Contains(out, "member") {
			t.Fatalf("the member's role is not named:\n%s", out)
		}
	})

	t.Run("no users.profile:write", func(t *testing.T) {
		api := slacktest.StartAPI(t, bot)
		api.SetAdminToken(userTok, "users.profile:read", "users:read")
		api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example"})
		out, code := doctorRun(t, envFor(api))
		noToken(t, out)
		wantFail(t, out, code, "teams→slack", "users.profile:write")
	})

	t.Run("revoked token", func(t *testing.T) {
		api := slacktest.StartAPI(t, bot)
		api.SetAdminToken("xoxp-5555-6666-another-token")
		out, code := doctorRun(t, envFor(api))
		noToken(t, out)
		wantFail(t, out, code, "teams→slack", "User OAuth Token")
	})
}

// TestSizingRedisMemory measures what the store keeps in Redis per
// employee, for the README's sizing: used_memory (INFO memory) before and
// after storing N users' records through the store, step by step. It runs
// only with STATUSBRIDGE_SIZING_USERS=N (say 20000): it is a measurement,
// not a check.
func TestSizingRedisMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STATUSBRIDGE_SIZING_USERS"))
	if n <= 0 {
		t.Skip("set STATUSBRIDGE_SIZING_USERS=N to measure Redis memory per user")
	}
	ctx := t.Context()
	srv := redistest.Start(t, "--maxmemory-policy", "noeviction")
	st, err := redisstore.Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slackSide, err := st.Namespace("slack")
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	used := func() int64 {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
				b, _ := strconv.ParseInt(v, 10, 64)
				return b
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	now := time.Now().UTC().Truncate(time.Second)
	slackID := func(i int) string { return fmt.Sprintf("U0%09d", i) }
	entraID := func(i int) string { return fmt.Sprintf("5ca1ab1e-0000-4000-8000-%012x", i) }
	const text, content = "In a meeting until 3 pm", "📅 In a meeting until 3 pm"
	var report []string
	step := func(name string, fn func(i int) error) {
		before := used()
		for i := range n {
			if err := fn(i); err != nil {
				t.Fatalf("%s, user %d: %v", name, i, err)
			}
		}
		per := float64(used()-before) / float64(n)
		report = append(report, fmt.Sprintf("%-44s %6.0f bytes/user", name, per))
	}
	start := used()
	step("mapping (admin/email)", func(i int) error {
		return st.SetMapping(ctx, bridge.Mapping{SlackUserID: slackID(i), EntraID: entraID(i), Source: bridge.SourceEmail,
			Detail: fmt.Sprintf("email employee%06d@corp.example", i), FoundAt: now}, now)
	})
	step("a change, claimed and applied", func(i int) error {
		c := bridge.Change{UserID: slackID(i), TeamID: "T0EXAMPLE1", EventID: fmt.Sprintf("Ev0%010d", i), EventType: "user_status_changed",
			EventTime: now, Source: "events", Status: bridge.Status{Text: text, Emoji: "📅", EmojiName: ":calendar:", Expiration: now.Add(time.Hour).Unix()}}
		if _, err := st.Submit(ctx, c, now); err != nil {
			return err
		}
		jobs, err := st.Claim(ctx, now, time.Minute, 1)
		if err != nil || len(jobs) != 1 {
			return fmt.Errorf("claim: %v (%d jobs)", err, len(jobs))
		}
		return st.Complete(ctx, jobs[0], &bridge.Applied{Message: bridge.Message{Content: content, Expiry: now.Add(time.Hour)},
			EntraID: entraID(i), AppliedAt: now}, now)
	})
	step("the pair's second event id (kept 24-48 h)", func(i int) error {
		c := bridge.Change{UserID: slackID(i), TeamID: "T0EXAMPLE1", EventID: fmt.Sprintf("Ev1%010d", i), EventType: "user_change",
			EventTime: now, Source: "events", Status: bridge.Status{Text: text, Emoji: "📅", EmojiName: ":calendar:", Expiration: now.Add(time.Hour).Unix()}}
		_, err := st.Submit(ctx, c, now)
		return err
	})
	step("owned record (Teams side)", func(i int) error {
		return st.PutOwned(ctx, bridge.Owned{EntraID: entraID(i), SlackUserID: slackID(i), Content: content, WrittenAt: now, Touched: now})
	})
	step("Teams → Slack: seen record", func(i int) error {
		return st.PutSeen(ctx, []bridge.Seen{{EntraID: entraID(i), Content: content, At: now}})
	})
	step("Teams → Slack: owned record (Slack side)", func(i int) error {
		return slackSide.PutOwned(ctx, bridge.Owned{EntraID: slackID(i), SlackUserID: slackID(i),
			Content: bridge.SlackKey(bridge.SlackStatus{Emoji: ":calendar:", Text: text}), WrittenAt: now, Touched: now})
	})
	total := float64(used()-start) / float64(n)
	info, _ := rdb.Info(ctx, "server").Result()
	ver := ""
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "redis_version:"); ok {
			ver = v
		}
	}
	t.Logf("Redis %s, %d users:\n%s\n%-44s %6.0f bytes/user", ver, n, strings.Join(report, "\n"), "total", total)
}
