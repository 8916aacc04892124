package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

const (
	appToken = "xapp-1-A0STATUSBR1-1234-5f0e1d2c3b4a59687766554433221100"
	botToken = "xoxb-1234-5678-e2eBotTokenValue0001"
)

// socketWorld is a world whose Slack intake is Socket Mode, against the
// Slack stand-in.
type socketWorld struct {
	*world
	api  *slacktest.API
	sock *slacktest.SocketServer
}

func newSocketWorld(t *testing.T, extra ...string) *socketWorld {
	t.Helper()
	api := slacktest.StartAPI(t, botToken)
	api.SetAppToken(appToken)
	w := newWorld(t, append([]string{
		"SLACK_APP_TOKEN=" + appToken,
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_API_URL=" + api.URL,
	}, extra...)...)
	return &socketWorld{world: w, api: api, sock: api.Socket()}
}

// addUsers maps n Slack users (known to the Graph stand-in) and returns their
// Slack and Entra ids.
func (w *socketWorld) addUsers(t *testing.T, n int) (slackIDs, entraIDs []string) {
	t.Helper()
	for i := 1; i <= n; i++ {
		sid := fmt.Sprintf("U0SOCK%03d", i)
		eid := fmt.Sprintf("5a0c0000-0000-4000-8000-%012d", i)
		w.graph.AddUser(fakegraph.User{ID: eid, UPN: strings.ToLower(sid) + "@corp.example", Mail: strings.ToLower(sid) + "@corp.example"})
		mustCLI(t, w.env, "mapping", "set", sid, eid)
		slackIDs, entraIDs = append(slackIDs, sid), append(entraIDs, eid)
	}
	return slackIDs, entraIDs
}

// ready reports whether the bridge answers /readyz with 200.
func (p *bridgeProc) ready() bool {
	resp, err := http.Get(p.url("/readyz"))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func withoutSigningSecret(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(s string) bool { return strings.HasPrefix(s, "SLACK_SIGNING_SECRET=") })
}

// TestSocketModeEventReachesTeams: with only Socket Mode configured, an event
// pushed over the WebSocket lands in Teams and its envelope is acked.
func TestSocketModeEventReachesTeams(t *testing.T) {
	w := newSocketWorld(t)
	w.env = withoutSigningSecret(w.env)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	eventually(t, 15*time.Second, "/readyz to report Socket Mode connected", p.ready)
	if code, _ := do(t, slacktest.NewRequest(p.url("/slack/events"), signingSecret, time.Now(),
		event("user_status_changed", nextEventID(), alice, time.Now(), "HTTP", "", 0))); code != http.StatusNotFound {
		t.Errorf("/slack/events answered %d without a signing secret, want 404", code)
	}

	env := w.sock.Push(event("user_status_changed", nextEventID(), alice, time.Now(), "Vacationing", ":palm_tree:", 0))
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "🌴 Vacationing" {
		t.Fatalf("content = %q", c.Content)
	}
	eventually(t, 10*time.Second, "the envelope to be acked", func() bool { return w.sock.IsAcked(env) })
	if n := w.api.Calls("apps.connections.open"); n != 1 {
		t.Errorf("apps.connections.open called %d times, want 1", n)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	if strings.Contains(p.out.String(), appToken) || strings.Contains(p.out.String(), "ticket=") {
		t.Errorf("output shows the app token or a WebSocket ticket:\n%s", p.out.String())
	}
}

// TestSocketModeReconnectRedelivers: the stand-in drops the connection while
// envelopes are in flight; the bridge reconnects, every envelope that was not
// acked comes again, and each change reaches Teams exactly once.
func TestSocketModeReconnectRedelivers(t *testing.T) {
	w := newSocketWorld(t)
	users, entra := w.addUsers(t, 6)
	p := startServe(t, w.env)
	eventually(t, 15*time.Second, "Socket Mode to connect", p.ready)

	var envs []string
	push := func(i int) {
		envs = append(envs, w.sock.Push(event("user_status_changed", nextEventID(), users[i], time.Now(), "Status "+users[i], "", 0)))
	}
	for i := 0; i < 3; i++ {
		push(i)
	}
	w.sock.Drop()
	ackedAtDrop := w.sock.Acked()
	for i := 3; i < 6; i++ {
		push(i) // waits for the next connection
	}
	eventually(t, 30*time.Second, "every envelope to be acked", func() bool { return len(w.sock.Unacked()) == 0 })
	if w.sock.Opens() < 2 {
		t.Fatalf("%d connections, want a reconnect", w.sock.Opens())
	}
	for _, id := range envs[:3] {
		if slices.Contains(ackedAtDrop, id) {
			continue
		}
		again := slices.ContainsFunc(w.sock.Deliveries(), func(d slacktest.Delivery) bool {
			return d.EnvelopeID == id && d.Conn >= 2 && d.RetryAttempt >= 1
		})
		if !again {
			t.Errorf("envelope %s was unacked at the drop but not delivered again: %+v", id, w.sock.Deliveries())
		}
	}
	t.Logf("%d of 3 envelopes were acked before the drop", len(ackedAtDrop))
	for _, eid := range entra {
		w.waitCalls(t, eid, 1)
	}
	time.Sleep(time.Second) // a duplicate would show up meanwhile
	for i, eid := range entra {
		if calls := w.okCalls(eid); len(calls) != 1 || calls[0].Content != "Status "+users[i] {
			t.Errorf("user %s: %d Graph calls %+v, want exactly one", users[i], len(calls), calls)
		}
	}
}

// TestSocketModeWatchdog: a connection that is open but silent is replaced
// once nothing arrived for STATUSBRIDGE_SOCKET_STALE_AFTER, while a pinged one is kept.
func TestSocketModeWatchdog(t *testing.T) {
	w := newSocketWorld(t, "STATUSBRIDGE_SOCKET_STALE_AFTER=2s")
	w.sock.SetPingInterval(300 * time.Millisecond)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	eventually(t, 15*time.Second, "Socket Mode to connect", p.ready)

	time.Sleep(3 * time.Second) // longer than the stale limit: pings must keep the connection
	if n := w.sock.Opens(); n != 1 {
		t.Fatalf("%d connections while Slack pinged, want 1", n)
	}
	w.sock.Silence()
	env := w.sock.Push(event("user_status_changed", nextEventID(), alice, time.Now(), "Back online", "", 0))
	eventually(t, 15*time.Second, "the silent connection to be replaced", func() bool { return w.sock.Opens() == 2 })
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "Back online" {
		t.Fatalf("content = %q", c.Content)
	}
	eventually(t, 10*time.Second, "the ack on the new connection", func() bool { return w.sock.IsAcked(env) })
	if !strings.Contains(p.out.String(), "not even a ping") {
		t.Errorf("the stale connection was not logged:\n%s", p.out.String())
	}
}

// TestSocketModeInvalidAuth: a refused app token stops serve with one clear
// line and exit code 1, after a single apps.connections.open.
func TestSocketModeInvalidAuth(t *testing.T) {
	w := newSocketWorld(t)
	w.api.SetAppToken("xapp-1-A0STATUSBR1-1234-someothertoken000000000000")
	env := append(slices.Clone(w.env), fmt.Sprintf("STATUSBRIDGE_LISTEN=127.0.0.1:%d", freePort(t)))
	start := time.Now()
	_, stderr, code := cli(t, env, "serve")
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, stderr)
	}
	var last string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "statusbridge: ") {
			last = l
		}
	}
	if !strings.HasPrefix(last, "statusbridge: Socket Mode: Slack rejected SLACK_APP_TOKEN (invalid_auth)") ||
		!strings.Contains(last, "connections:write") {
		t.Errorf("stderr lacks the one-line reason:\n%s", stderr)
	}
	if strings.Contains(stderr, appToken) {
		t.Error("stderr shows the app token")
	}
	if n := w.api.Calls("apps.connections.open"); n != 1 {
		t.Errorf("apps.connections.open called %d times, want 1", n)
	}
	t.Logf("serve stopped after %s", time.Since(start).Round(time.Millisecond))
}

// TestSocketModeTwoReplicas: two replicas each hold a connection; the
// stand-in alternates envelopes between them and every change lands.
func TestSocketModeTwoReplicas(t *testing.T) {
	w := newSocketWorld(t)
	users, entra := w.addUsers(t, 6)
	p1 := startServe(t, w.env)
	p2 := startServe(t, w.env)
	eventually(t, 15*time.Second, "both replicas to connect", func() bool {
		return p1.ready() && p2.ready() && len(w.sock.Live()) == 2
	})
	for _, u := range users {
		w.sock.Push(event("user_status_changed", nextEventID(), u, time.Now(), "Hello from "+u, "", 0))
	}
	eventually(t, 30*time.Second, "every envelope to be acked", func() bool { return len(w.sock.Unacked()) == 0 })
	perConn := map[int]int{}
	for _, a := range w.sock.Acks() {
		perConn[a.Conn]++
	}
	if len(perConn) != 2 || perConn[1] != 3 || perConn[2] != 3 {
		t.Errorf("acks per connection %v, want 3 on each of two", perConn)
	}
	for i, eid := range entra {
		if c := w.waitCalls(t, eid, 1)[0]; c.Content != "Hello from "+users[i] {
			t.Errorf("user %s: content %q", users[i], c.Content)
		}
	}
}

// TestSocketModeStoreDown: while Redis is down an envelope is not acked; once
// Redis is back, Slack's redelivery is stored and reaches Teams.
func TestSocketModeStoreDown(t *testing.T) {
	w := newSocketWorld(t)
	w.sock.SetRedeliverAfter(time.Second)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	eventually(t, 15*time.Second, "Socket Mode to connect", p.ready)

	w.redis.Kill()
	env := w.sock.Push(event("user_status_changed", nextEventID(), alice, time.Now(), "Store was down", "", 0))
	eventually(t, 15*time.Second, "the store failure to be logged", func() bool {
		return strings.Contains(p.out.String(), "could not store status change")
	})
	if w.sock.IsAcked(env) {
		t.Fatal("envelope acked while the store was down")
	}
	w.redis.Restart(t)
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "Store was down" {
		t.Fatalf("content = %q", c.Content)
	}
	eventually(t, 10*time.Second, "the envelope to be acked", func() bool { return w.sock.IsAcked(env) })
	if !slices.ContainsFunc(w.sock.Deliveries(), func(d slacktest.Delivery) bool { return d.EnvelopeID == env && d.RetryAttempt >= 1 }) {
		t.Error("the envelope was not redelivered")
	}
}

// TestSocketModeEmployeeControls: /teams-status and the App Home button over
// Socket Mode: the ack carries the command's reply, a click pauses and the
// bridge clears its message, App Home is published.
func TestSocketModeEmployeeControls(t *testing.T) {
	w := newSocketWorld(t)
	w.env = withoutSigningSecret(w.env)
	// users.info shows the status the events said (resume reads it).
	w.api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example", StatusText: "Lunch"})
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	p := startServe(t, w.env)
	eventually(t, 15*time.Second, "Socket Mode to connect", p.ready)
	w.sock.Push(event("user_status_changed", nextEventID(), alice, time.Now().Add(-time.Minute), "Lunch", "", 0))
	w.waitCalls(t, aliceID, 1)

	reply, err := w.sock.SlashCommand(slacktest.SlashCommandPayload(team, "", alice, "show"), 10*time.Second)
	if err != nil || !strings.Contains(string(reply), "mirrored") || !strings.Contains(string(reply), aliceID) {
		t.Fatalf("show: ack payload %s, err %v", reply, err)
	}
	if _, err := w.sock.PushAndWait("events_api", slacktest.AppHomeOpened(nextEventID(), team, "", alice, "home", time.Now()), 10*time.Second); err != nil {
		t.Fatalf("app_home_opened: %v", err)
	}
	eventually(t, 15*time.Second, "App Home published", func() bool {
		v := w.api.Published()
		return len(v) >= 1 && v[len(v)-1].UserID == alice && strings.Contains(v[len(v)-1].Text, "mirrored")
	})
	if _, err := w.sock.Interactive(slacktest.BlockActions(team, "", alice, "statusbridge_pause"), 10*time.Second); err != nil {
		t.Fatalf("click: %v", err)
	}
	eventually(t, 30*time.Second, "the pause to clear Teams and refresh App Home", func() bool {
		c, v := w.contents(aliceID), w.api.Published()
		return len(c) == 2 && c[1] == "" && strings.Contains(v[len(v)-1].Text, "paused")
	})
	reply, err = w.sock.SlashCommand(slacktest.SlashCommandPayload(team, "", alice, "resume"), 10*time.Second)
	if err != nil || !strings.Contains(string(reply), "mirrored") {
		t.Fatalf("resume: ack payload %s, err %v", reply, err)
	}
	eventually(t, 30*time.Second, "resume to apply the status again", func() bool {
		c := w.contents(aliceID)
		return len(c) == 3 && c[2] == "Lunch"
	})
}
