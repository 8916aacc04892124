package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// This file proves the operational side through the built binary: the
// embedded store, dry run, doctor, metrics, secrets, health and logs.

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// addGraphUsers makes alice and bob known to the Graph stand-in.
func addGraphUsers(g *fakegraph.Server) {
	g.AddUser(fakegraph.User{ID: aliceID, UPN: "alice@corp.example", Mail: "alice@corp.example"})
	g.AddUser(fakegraph.User{ID: bobID, UPN: "bob@corp.example", Mail: "bob@corp.example"})
}

// get fetches a URL and returns the status code and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// promSum adds up the samples of metric name whose labels include every
// name=value pair of labels; found reports whether any sample matched.
func promSum(body, name string, labels ...string) (sum float64, found bool) {
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		lbls = strings.TrimSuffix(lbls, "}")
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(","+lbls+",", fmt.Sprintf(",%s=%q,", labels[i], labels[i+1])) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// TestEmbeddedStoreSurvivesCrash runs serve on the embedded store (no
// REDIS_URL): admin commands work beside it, every change acknowledged before a
// SIGKILL reaches Teams after a restart, and a second serve on the same data
// dir stops at once naming the data dir.
func TestEmbeddedStoreSurvivesCrash(t *testing.T) {
	graph := fakegraph.Start(t)
	addGraphUsers(graph)
	dir := t.TempDir()
	env := baseEnv(append(graph.Env(),
		"STATUSBRIDGE_DATA_DIR="+dir,
		"SLACK_SIGNING_SECRET="+signingSecret,
		"STATUSBRIDGE_LEASE=10s",
	)...)

	p := startServe(t, env)
	if !strings.Contains(p.out.String(), "store=embedded") {
		t.Fatalf("serve does not report the embedded store:\n%s", p.out.String())
	}
	// Admin commands share the data dir with the running serve.
	mustCLI(t, env, "mapping", "set", alice, aliceID)
	mustCLI(t, env, "mapping", "set", bob, bobID)
	if out := mustCLI(t, env, "mapping", "get", alice); !strings.Contains(out, aliceID) {
		t.Fatalf("mapping get printed %q", out)
	}

	base := time.Now()
	if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, base, "Commuting", ":bus:", 0)); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	graph.WaitFor(t, 30*time.Second, func() bool { c, ok := graph.Current(aliceID); return ok && c.Content == "🚌 Commuting" })

	// A second serve on the same data dir fails fast and names it.
	second := with(env, fmt.Sprintf("STATUSBRIDGE_LISTEN=127.0.0.1:%d", freePort(t)))
	start := time.Now()
	out, errOut, code := cli(t, second, "serve")
	took := time.Since(start)
	t.Logf("second serve on the same data dir exited %d after %s", code, took.Round(time.Millisecond))
	if code == 0 {
		t.Fatalf("a second serve on the same data dir ran; stdout %q stderr %q", out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, dir) || !strings.Contains(last, "STATUSBRIDGE_DATA_DIR") {
		t.Fatalf("the error does not name the data dir %s:\n%s", dir, errOut)
	}
	if took > 30*time.Second {
		t.Fatalf("the second serve took %s to give up", took)
	}

	// Crash right after Slack got its 200, several times; every acked change lands.
	type acked struct{ entra, content string }
	var all []acked
	before := 0
	const rounds = 4
	for r := 1; r <= rounds; r++ {
		at := base.Add(time.Duration(r) * time.Second)
		changes := []struct{ user, entra, text string }{
			{alice, aliceID, fmt.Sprintf("Alice round %d", r)},
			{bob, bobID, fmt.Sprintf("Bob round %d", r)},
		}
		for _, c := range changes {
			if code, body := p.send(t, event("user_status_changed", nextEventID(), c.user, at, c.text, "", 0)); code != 200 {
				t.Fatalf("round %d: event answered %d %q", r, code, body)
			}
			all = append(all, acked{c.entra, c.text})
		}
		p.kill()
		for _, c := range changes {
			if cur, ok := graph.Current(c.entra); ok && cur.Content == c.text {
				before++
			}
		}
		p = startServe(t, env)
		for _, c := range changes {
			graph.WaitFor(t, 30*time.Second, func() bool { cur, ok := graph.Current(c.entra); return ok && cur.Content == c.text })
		}
	}
	t.Logf("%d changes acked right before a SIGKILL: %d had reached Teams before the kill, %d after the restart",
		len(all), before, len(all)-before)
	seen := map[string]bool{}
	for _, c := range graph.StatusCalls() {
		if c.Status == http.StatusOK {
			seen[c.UserID+"|"+c.Content] = true
		}
	}
	for _, a := range all {
		if !seen[a.entra+"|"+a.content] {
			t.Fatalf("acked change %q for %s never reached Teams", a.content, a.entra)
		}
	}
	if ok, _, _ := graph.Counts(); ok > len(all)+1 {
		t.Logf("%d successful Graph calls for %d distinct changes (a crash between the call and its record repeats it)", ok, len(all)+1)
	}
}

// dryRunLine finds the dry-run log record of a user in JSON logs.
func dryRunLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "would set Teams status message") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// TestDryRunLogsInsteadOfCalling: in dry run, asked for or for want of Azure
// settings, the log holds the exact Teams update (expiry in UTC, even with a
// local time zone far from UTC) and Graph sees no request at all.
func TestDryRunLogsInsteadOfCalling(t *testing.T) {
	tests := []struct {
		name   string
		azure  bool
		notice string
	}{
		{"asked for", true, "STATUSBRIDGE_DRY_RUN=true"},
		{"no azure settings", false, "no Azure settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graph := fakegraph.Start(t)
			addGraphUsers(graph)
			rd := redistest.Start(t)
			extra := []string{
				"REDIS_URL=" + rd.URL(),
				"SLACK_SIGNING_SECRET=" + signingSecret,
				"STATUSBRIDGE_LOG_FORMAT=json",
				"STATUSBRIDGE_LOG_LEVEL=info",
				"TZ=Asia/Kolkata",
			}
			if tt.azure {
				extra = append(append(extra, graph.Env()...), "STATUSBRIDGE_DRY_RUN=true")
			}
			env := baseEnv(extra...)
			mustCLI(t, env, "mapping", "set", alice, aliceID)
			p := startServe(t, env)

			// Half past the hour in UTC: a local-time rendering in Kolkata (+05:30) shows.
			exp := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour).Add(30 * time.Minute)
			if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Vacationing", ":palm_tree:", exp.Unix())); code != 200 {
				t.Fatalf("event answered %d %q", code, body)
			}
			eventually(t, 30*time.Second, "the dry-run update in the log", func() bool {
				return len(dryRunLines(t, p.out.String())) > 0
			})
			// Let a stray call or a second line show up.
			time.Sleep(time.Second)
			recs := dryRunLines(t, p.out.String())
			if len(recs) != 1 {
				t.Fatalf("%d dry-run lines, want 1:\n%s", len(recs), p.out.String())
			}
			rec := recs[0]
			want := map[string]string{
				"entra_id":   aliceID,
				"content":    "🌴 Vacationing",
				"expiry_utc": exp.Format(wantLayout),
			}
			for k, v := range want {
				if got, _ := rec[k].(string); got != v {
					t.Fatalf("dry-run line has %s=%q, want %q: %v", k, got, v, rec)
				}
			}
			t.Logf("dry-run line: %v", rec)

			if reqs := graph.Requests(); len(reqs) != 0 {
				t.Fatalf("Graph saw %d request(s) in dry run, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
			}
			if n := graph.TokenRequests(); n != 0 {
				t.Fatalf("%d token request(s) in dry run", n)
			}

			out := p.out.String()
			if n := strings.Count(out, "Teams updates are logged, not sent"); n != 1 {
				t.Fatalf("the dry-run notice was logged %d times, want once:\n%s", n, out)
			}
			if strings.Index(out, "Teams updates are logged, not sent") > strings.Index(out, "statusbridge started") {
				t.Fatalf("the dry-run notice came after start-up:\n%s", out)
			}
			if !strings.Contains(out, `"dry_run":true`) {
				t.Fatalf("the start-up line does not say dry run:\n%s", out)
			}
			if strings.Contains(out, "status set in Teams") {
				t.Fatalf("dry run claims a status was set in Teams:\n%s", out)
			}
			_, metrics := get(t, p.url("/metrics"))
			if n, _ := promSum(metrics, "statusbridge_graph_calls_total"); n != 0 {
				t.Fatalf("dry run counted %v Graph calls", n)
			}
		})
	}
}

// doctorRun runs doctor and returns its output and exit code.
func doctorRun(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	out, errOut, code := cli(t, env, append([]string{"doctor"}, args...)...)
	t.Logf("doctor %s exit %d:\n%s%s", strings.Join(args, " "), code, out, errOut)
	return out + errOut, code
}

// wantFail checks that doctor failed the named check with a fix that says want.
func wantFail(t *testing.T, out string, code int, check, want string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("doctor exited 0 although %s should fail:\n%s", check, out)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "FAIL") && strings.Fields(l)[1] == strings.Fields(check)[0] {
			if i+1 < len(lines) && strings.Contains(lines[i+1], "fix:") && strings.Contains(lines[i+1], want) {
				return
			}
			t.Fatalf("FAIL %s has no fix that says %q:\n%s", check, want, out)
		}
	}
	t.Fatalf("no FAIL line for %s:\n%s", check, out)
}

// TestDoctor runs doctor against the Slack and Graph stand-ins and real Redis:
// each kind of failure is reported with its fix and a non-zero exit, and a
// healthy setup passes.
func TestDoctor(t *testing.T) {
	const bot = "xoxb-17-doctor-bot-token"
	api := slacktest.StartAPI(t, bot)
	graph := fakegraph.Start(t)
	addGraphUsers(graph)
	good := redistest.Start(t, "--maxmemory-policy", "noeviction")
	env := baseEnv(append(graph.Env(),
		"REDIS_URL="+good.URL(),
		"SLACK_SIGNING_SECRET="+signingSecret,
		"SLACK_BOT_TOKEN="+bot,
		"SLACK_API_URL="+api.URL,
	)...)

	t.Run("all good", func(t *testing.T) {
		out, code := doctorRun(t, env)
		if code != 0 || !strings.Contains(out, "all checks passed") || strings.Contains(out, "FAIL") {
			t.Fatalf("doctor exit %d:\n%s", code, out)
		}
		for _, check := range []string{"config", "slack auth", "slack scopes", "graph", "graph perms", "store", "durability"} {
			if !strings.Contains(out, "PASS  "+check) {
				t.Fatalf("no PASS for %s:\n%s", check, out)
			}
		}
	})

	t.Run("missing scope", func(t *testing.T) {
		api.SetScopes("users:read")
		defer api.SetScopes(slacktest.DefaultScopes...)
		out, code := doctorRun(t, env)
		wantFail(t, out, code, "slack scopes", "users:read.email")
		if !strings.Contains(out, "missing users:read.email") {
			t.Fatalf("the missing scope is not named:\n%s", out)
		}
	})

	t.Run("graph forbids the probe", func(t *testing.T) {
		graph.SetUserReadStatus(http.StatusForbidden)
		defer graph.SetUserReadStatus(0)
		out, code := doctorRun(t, env)
		wantFail(t, out, code, "graph", "User.Read.All")
		if !strings.Contains(out, "403") {
			t.Fatalf("the 403 is not reported:\n%s", out)
		}
	})

	t.Run("presence permission not granted", func(t *testing.T) {
		graph.SetRoles("User.Read.All")
		defer graph.SetRoles("Presence.ReadWrite.All", "User.Read.All")
		out, code := doctorRun(t, env)
		wantFail(t, out, code, "graph perms", "Presence.ReadWrite.All")
		if n := len(graph.StatusCalls()); n != 0 {
			t.Fatalf("doctor wrote %d statuses", n)
		}
	})

	t.Run("wrong client secret", func(t *testing.T) {
		out, code := doctorRun(t, with(env, "AZURE_CLIENT_SECRET=not-the-client-secret"))
		wantFail(t, out, code, "graph", "AZURE_CLIENT_SECRET")
		if !strings.Contains(out, "invalid_client") {
			t.Fatalf("Entra's answer is not reported:\n%s", out)
		}
		if i := strings.Index(out, "FAIL  graph"); strings.Contains(strings.SplitN(out[i:], "\n", 3)[1], "grant the application permissions") {
			t.Fatalf("a rejected credential is answered with a permissions fix:\n%s", out)
		}
	})

	t.Run("wrong bot token", func(t *testing.T) {
		out, code := doctorRun(t, with(env, "SLACK_BOT_TOKEN=xoxb-17-not-the-bot-token"))
		wantFail(t, out, code, "slack auth", "SLACK_BOT_TOKEN")
	})

	t.Run("redis evicts and has no AOF", func(t *testing.T) {
		bad := redistest.Start(t, "--maxmemory-policy", "allkeys-lru", "--appendonly", "no")
		out, code := doctorRun(t, with(env, "REDIS_URL="+bad.URL()))
		wantFail(t, out, code, "store", "noeviction")
		if !strings.Contains(out, "allkeys-lru") || !strings.Contains(strings.ToLower(out), "aof") && !strings.Contains(out, "appendonly") {
			t.Fatalf("the eviction policy and AOF are not both reported:\n%s", out)
		}
	})

	t.Run("public url", func(t *testing.T) {
		p := startServe(t, env)
		out, code := doctorRun(t, env, "--public-url", p.url("/slack/events"))
		if code != 0 || !strings.Contains(out, "PASS  public url") {
			t.Fatalf("doctor against a running serve exit %d:\n%s", code, out)
		}
		out, code = doctorRun(t, with(env, "SLACK_SIGNING_SECRET=not-the-signing-secret"), "--public-url", p.url("/slack/events"))
		wantFail(t, out, code, "public url", "SLACK_SIGNING_SECRET")
		out, code = doctorRun(t, env, "--public-url", p.url("/healthz"))
		wantFail(t, out, code, "public url", "/slack/events")
	})
}

// TestMetricsAfterFlow scrapes /metrics after a flow: the counters moved as the
// flow says, and STATUSBRIDGE_METRICS_LISTEN moves /metrics to its own listener.
func TestMetricsAfterFlow(t *testing.T) {
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	w := newWorld(t, "STATUSBRIDGE_METRICS_LISTEN="+metricsAddr)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)

	now := time.Now()
	ev := nextEventID()
	sends := []struct {
		body []byte
		hdr  []string
	}{
		{event("user_status_changed", ev, alice, now, "In a meeting", "", 0), nil},                                // accepted
		{event("user_status_changed", ev, alice, now, "In a meeting", "", 0), []string{"X-Slack-Retry-Num", "1"}}, // duplicate
		{event("user_change", nextEventID(), alice, now, "In a meeting", "", 0), nil},                             // unchanged
		{event("user_status_changed", nextEventID(), alice, now.Add(-time.Minute), "Older", "", 0), nil},          // stale
		{event("user_status_changed", nextEventID(), bob, now, "Unmapped", "", 0), nil},                           // accepted, parked
	}
	for _, s := range sends {
		if code, body := p.send(t, s.body, s.hdr...); code != 200 {
			t.Fatalf("event answered %d %q", code, body)
		}
	}
	w.waitCalls(t, aliceID, 1)

	if code, _ := get(t, p.url("/metrics")); code != http.StatusNotFound {
		t.Fatalf("/metrics on the main listener answered %d with STATUSBRIDGE_METRICS_LISTEN set, want 404", code)
	}
	var body string
	eventually(t, 30*time.Second, "the unmapped user to be parked", func() bool {
		var code int
		code, body = get(t, "http://"+metricsAddr+"/metrics")
		if code != 200 {
			t.Fatalf("/metrics on the metrics listener answered %d", code)
		}
		n, _ := promSum(body, "statusbridge_parked_users")
		return n == 1
	})

	exact := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"statusbridge_events_total", []string{"type", "user_status_changed", "source", "http", "outcome", "accepted"}, 2},
		{"statusbridge_events_total", []string{"type", "user_status_changed", "source", "http", "outcome", "duplicate"}, 1},
		{"statusbridge_events_total", []string{"type", "user_change", "source", "http", "outcome", "unchanged"}, 1},
		{"statusbridge_events_total", []string{"type", "user_status_changed", "source", "http", "outcome", "stale"}, 1},
		{"statusbridge_intake_duration_seconds_count", nil, 5},
		{"statusbridge_graph_calls_total", []string{"outcome", "ok"}, 1},
		{"statusbridge_parked_users", nil, 1},
		{"statusbridge_queue_due_users", nil, 0},
		{"statusbridge_store_up", nil, 1},
	}
	for _, e := range exact {
		got, found := promSum(body, e.name, e.labels...)
		if !found || got != e.want {
			t.Errorf("%s%v = %v (found %v), want %v", e.name, e.labels, got, found, e.want)
		}
	}
	for _, name := range []string{"statusbridge_queue_oldest_due_age_seconds", "statusbridge_intake_duration_seconds_bucket"} {
		if _, found := promSum(body, name); !found {
			t.Errorf("%s is missing", name)
		}
	}
	if n, _ := promSum(body, "statusbridge_mapping_lookups_total", "result", "hit"); n < 1 {
		t.Errorf("mapping lookups hit = %v, want at least 1", n)
	}
	if n, _ := promSum(body, "statusbridge_mapping_lookups_total", "result", "miss"); n < 1 {
		t.Errorf("mapping lookups miss = %v, want at least 1", n)
	}
	if n, _ := promSum(body, "statusbridge_graph_calls_total"); n != 1 {
		t.Errorf("Graph calls of any outcome = %v, want 1", n)
	}
	sum, _ := promSum(body, "statusbridge_intake_duration_seconds_sum")
	t.Logf("intake: 5 events, %.2f ms in total, %.2f ms mean", sum*1000, sum*1000/5)
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

// transcript collects every byte the program printed, to search for secrets.
type transcript struct {
	what, parts []string
}

func (tr *transcript) add(what string, s ...string) {
	tr.what = append(tr.what, what)
	tr.parts = append(tr.parts, strings.Join(s, "\n"))
}

func (tr *transcript) cli(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	out, errOut, code := cli(t, env, args...)
	tr.add(strings.Join(args, " "), out, errOut)
	return out + errOut, code
}

// TestSecretsNeverPrinted configures distinctive secrets and drives serve at
// debug level through failures (forged requests, Graph 503, 401 and 403, email
// discovery), then doctor, the admin CLI with a wrong Redis password and
// --help: no secret appears in any output or in /metrics.
func TestSecretsNeverPrinted(t *testing.T) {
	secret := "sigsecret" + randomHex(t, 12)
	bot := "xoxb-4242-" + randomHex(t, 12)
	app := "xapp-1-A0SB-" + randomHex(t, 12)
	redisPW := "redispw" + randomHex(t, 12)
	wrongPW := "wrongpw" + randomHex(t, 12)
	wrongBot := "xoxb-9999-" + randomHex(t, 12)
	wrongAzure := "wrongazure" + randomHex(t, 12)

	api := slacktest.StartAPI(t, bot)
	api.SetAppToken(app)
	api.AddUser(slacktest.User{ID: bob, TeamID: team, Email: "bob@corp.example"})
	graph := fakegraph.Start(t)
	addGraphUsers(graph)
	rd := redistest.Start(t)
	if _, err := rd.Do("CONFIG", "SET", "requirepass", redisPW); err != nil {
		t.Fatal(err)
	}
	redisURL := fmt.Sprintf("redis://:%s@%s/0", redisPW, rd.Addr)
	secrets := map[string]string{
		"signing secret":       secret,
		"bot token":            bot,
		"app token":            app,
		"Azure client secret":  graph.ClientSecret,
		"Redis password":       redisPW,
		"wrong Redis password": wrongPW,
		"wrong bot token":      wrongBot,
		"wrong Azure secret":   wrongAzure,
	}
	env := baseEnv(append(graph.Env(),
		"REDIS_URL="+redisURL,
		"SLACK_SIGNING_SECRET="+secret,
		"SLACK_BOT_TOKEN="+bot,
		"SLACK_API_URL="+api.URL,
		"STATUSBRIDGE_LEASE=10s",
	)...)
	var tr transcript
	tr.cli(t, env, "mapping", "set", alice, aliceID)
	p := startServe(t, env)
	send := func(body []byte, key string) int {
		code, _ := do(t, slacktest.NewRequest(p.url("/slack/events"), key, time.Now(), body))
		return code
	}
	now := time.Now()

	// Forged: wrong key, stale timestamp, no signature.
	if code := send(event("user_status_changed", nextEventID(), alice, now, "Forged", "", 0), "forged-"+secret[:6]); code != 401 {
		t.Fatalf("forged request answered %d", code)
	}
	req := slacktest.NewRequest(p.url("/slack/events"), secret, now.Add(-10*time.Minute), event("user_status_changed", nextEventID(), alice, now, "Stale", "", 0))
	if code, _ := do(t, req); code != 401 {
		t.Fatalf("stale request answered %d", code)
	}
	req = slacktest.NewRequest(p.url("/slack/events"), secret, now, event("user_status_changed", nextEventID(), alice, now, "Unsigned", "", 0))
	req.Header.Del("X-Slack-Signature")
	if code, _ := do(t, req); code != 401 {
		t.Fatalf("unsigned request answered %d", code)
	}

	// Graph 503, then 401: retried; then 403: parked.
	steps := []struct {
		status int
		text   string
	}{{503, "After a 503"}, {401, "After a 401"}}
	for i, s := range steps {
		graph.FailNext(1, s.status, "")
		if code := send(event("user_status_changed", nextEventID(), alice, now.Add(time.Duration(i+1)*time.Second), s.text, "", 0), secret); code != 200 {
			t.Fatalf("event answered %d", code)
		}
		graph.WaitFor(t, 30*time.Second, func() bool { c, ok := graph.Current(aliceID); return ok && c.Content == s.text })
	}
	graph.FailNext(1, 403, "")
	if code := send(event("user_status_changed", nextEventID(), alice, now.Add(5*time.Second), "Forbidden", "", 0), secret); code != 200 {
		t.Fatalf("event answered %d", code)
	}
	eventually(t, 30*time.Second, "the user to be parked after a 403", func() bool { return strings.Contains(p.out.String(), "user parked") })

	// Email discovery through Slack's users.info and Graph's user lookup.
	if code := send(event("user_status_changed", nextEventID(), bob, now, "Found by email", "", 0), secret); code != 200 {
		t.Fatalf("event answered %d", code)
	}
	graph.WaitFor(t, 30*time.Second, func() bool { c, ok := graph.Current(bobID); return ok && c.Content == "Found by email" })
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		_, body := get(t, p.url(path))
		tr.add("GET "+path, body)
	}

	tr.cli(t, env, "parked", "ls")
	tr.cli(t, env, "mapping", "ls")
	tr.cli(t, with(env, "SLACK_APP_TOKEN="+app), "doctor", "--public-url", p.url("/slack/events"))
	if _, code := tr.cli(t, with(env, "AZURE_CLIENT_SECRET="+wrongAzure, "SLACK_BOT_TOKEN="+wrongBot), "doctor"); code == 0 {
		t.Fatal("doctor passed with a wrong Azure secret and bot token")
	}
	if _, code := tr.cli(t, with(env, "SLACK_APP_TOKEN=xapp-1-A0SB-"+wrongBot[10:]), "doctor"); code == 0 {
		t.Fatal("doctor passed with a wrong app token")
	}
	wrongURL := fmt.Sprintf("redis://:%s@%s/0", wrongPW, rd.Addr)
	if out, code := tr.cli(t, with(env, "REDIS_URL="+wrongURL), "mapping", "ls"); code == 0 {
		t.Fatalf("mapping ls passed with a wrong Redis password: %s", out)
	}
	if out, code := tr.cli(t, env, "mapping", "get", alice, "--redis-url", wrongURL); code == 0 {
		t.Fatalf("mapping get passed with a wrong Redis password: %s", out)
	}
	if out, code := tr.cli(t, env, "parked", "ls", "--redis-url="+wrongURL); code == 0 {
		t.Fatalf("parked ls passed with a wrong Redis password: %s", out)
	}
	if _, code := tr.cli(t, with(env, "REDIS_URL="+wrongURL), "doctor"); code == 0 {
		t.Fatal("doctor passed with a wrong Redis password")
	}
	tr.cli(t, env, "--help")
	tr.cli(t, env, "serve", "--help")
	tr.cli(t, env, "doctor", "--help")
	// Start-up errors that echo settings.
	tr.cli(t, with(env, "REDIS_URL=redis://:"+wrongPW+"@127.0.0.1:notaport/0"), "serve")
	tr.cli(t, with(env, "SLACK_BOT_TOKEN=xoxp-"+wrongBot[5:]), "serve")

	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM", code)
	}
	tr.add("serve", p.out.String())

	all := strings.Join(tr.parts, "\n")
	t.Logf("searched %d bytes of output from %d runs for %d secrets", len(all), len(tr.parts), len(secrets))
	for what, s := range secrets {
		core := s[len(s)-12:]
		for i, part := range tr.parts {
			if strings.Contains(part, s) || strings.Contains(part, core) {
				t.Errorf("the %s appears in the output of %s", what, tr.what[i])
			}
		}
	}
	// The redactor is the last line of defence: no code path should hand it a secret.
	for i, part := range tr.parts {
		for _, l := range strings.Split(part, "\n") {
			if strings.Contains(l, "[redacted]") {
				t.Errorf("a secret reached the redactor in the output of %s: %s", tr.what[i], l)
			}
		}
	}
	if t.Failed() {
		for i, part := range tr.parts {
			t.Logf("== %s\n%s", tr.what[i], part)
		}
	}
}

// TestHealthReadyAndVersion: /healthz answers while the process lives,
// /readyz follows Redis, `healthcheck` follows /healthz and `version` prints
// the version set at build time.
func TestHealthReadyAndVersion(t *testing.T) {
	w := newWorld(t)
	p := startServe(t, w.env)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, p.url(path)); code != 200 {
			t.Fatalf("%s answered %d %q", path, code, body)
		}
	}
	w.redis.Kill()
	eventually(t, 20*time.Second, "/readyz to answer 503 without Redis", func() bool {
		code, _ := get(t, p.url("/readyz"))
		return code == http.StatusServiceUnavailable
	})
	if code, _ := get(t, p.url("/healthz")); code != 200 {
		t.Fatalf("/healthz answered %d without Redis; the process is alive", code)
	}
	w.redis.Restart(t)
	eventually(t, 30*time.Second, "/readyz to answer 200 after Redis is back", func() bool {
		code, _ := get(t, p.url("/readyz"))
		return code == 200
	})

	_, port, _ := strings.Cut(p.addr, ":")
	for _, listen := range []string{p.addr, ":" + port} {
		if out := mustCLI(t, baseEnv("STATUSBRIDGE_LISTEN="+listen), "healthcheck"); !strings.Contains(out, "healthy") {
			t.Fatalf("healthcheck printed %q", out)
		}
	}
	out, errOut, code := cli(t, baseEnv(fmt.Sprintf("STATUSBRIDGE_LISTEN=127.0.0.1:%d", freePort(t))), "healthcheck")
	if code == 0 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("healthcheck with nothing listening: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	for _, args := range [][]string{{"version"}, {"--version"}} {
		out := mustCLI(t, baseEnv(), args...)
		if !strings.HasPrefix(out, "statusbridge e2e ") {
			t.Fatalf("%s printed %q, want the version e2e set at build time", args[0], out)
		}
	}
}

// TestLogsOneLinePerChange: with JSON logs every line is one JSON object, a
// user's change logs one line per state change (not per attempt) and an idle
// bridge logs nothing at info level.
func TestLogsOneLinePerChange(t *testing.T) {
	w := newWorld(t, "STATUSBRIDGE_LOG_FORMAT=json", "STATUSBRIDGE_LOG_LEVEL=info")
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)

	w.graph.FailNext(2, http.StatusServiceUnavailable, "")
	if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Deep work", "", 0)); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	w.waitCalls(t, aliceID, 1)
	eventually(t, 10*time.Second, "the applied status in the log", func() bool {
		return strings.Contains(p.out.String(), "status set in Teams")
	})
	settled := p.out.String()
	time.Sleep(3 * time.Second)
	after := p.out.String()
	if after != settled {
		t.Fatalf("an idle bridge logged at info level:\n%s", strings.TrimPrefix(after, settled))
	}

	msgs := map[string]int{}
	lines := strings.Split(strings.TrimSpace(after), "\n")
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not one JSON object: %q", l)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("log line has no %q: %q", k, l)
			}
		}
		msg, _ := rec["msg"].(string)
		if rec["user"] == alice {
			msgs[msg]++
		}
	}
	t.Logf("%d log lines in all; alice's: %v; Graph answered %d calls", len(lines), msgs, len(w.graph.StatusCalls()))
	if msgs["update failed; will retry"] != 1 || msgs["status set in Teams"] != 1 {
		t.Fatalf("want one retry line for two equal failures and one applied line, got %v", msgs)
	}
	if len(msgs) != 2 {
		t.Fatalf("unexpected log lines for the user: %v", msgs)
	}
}
