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
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// The Teams → Slack flow through the built binary: the Graph stand-in is
// Teams (people type messages there with SetMessageByHand), the Slack
// stand-in takes users.profile.set from the admin token under Slack's
// limits and echoes each write as Slack does (user_change, then
// user_status_changed), delivered signed to a replica.
//
// Time is scaled for Slack's limits: a minute is a second here, so the
// bridge paces 30 writes/1s per token and 10/1s per user, and the stand-in
// enforces the same.

const adminUserToken = "xoxp-3333-4444-e2etwoway"

// tworld is a Teams → Slack installation.
type tworld struct {
	*world
	slack  *slacktest.API
	fleet  *fleet
	sender *slackSender
	echoes atomic.Int64 // Slack's echoes of the bridge's writes delivered
}

func newTwoWayWorld(t *testing.T, extra ...string) *tworld {
	t.Helper()
	api := slacktest.StartAPI(t, discoveryBotToken)
	api.SetAdminToken(adminUserToken)
	api.SetProfileLimits(30, 10, time.Second)
	w := newWorld(t, append([]string{
		"SLACK_BOT_TOKEN=" + discoveryBotToken, "SLACK_API_URL=" + api.URL,
		"STATUSBRIDGE_TEAMS_TO_SLACK=true", "SLACK_ADMIN_USER_TOKEN=" + adminUserToken,
		"STATUSBRIDGE_TEAMS_POLL_INTERVAL=1s",
		"STATUSBRIDGE_SLACK_PROFILE_RATE=30/1s", "STATUSBRIDGE_SLACK_PROFILE_USER_RATE=10/1s",
	}, extra...)...)
	return &tworld{world: w, slack: api}
}

// start runs n replicas and sends Slack's echoes of the bridge's writes to them.
func (w *tworld) start(t *testing.T, n int) {
	t.Helper()
	w.fleet = startFleet(t, w.env, n)
	w.sender = newSlackSender(w.fleet.addrs, time.Now().Add(10*time.Minute))
	w.slack.SetEventSink(func(body []byte) {
		w.sender.deliver(body)
		w.echoes.Add(1)
	})
}

// slackByHand is a person setting their own Slack status: the stand-in's
// profile changes and Slack sends the event pair.
func (w *tworld) slackByHand(t *testing.T, user, text, emoji string) {
	t.Helper()
	u, ok := w.slack.UserByID(user)
	if !ok {
		t.Fatalf("no Slack user %s", user)
	}
	u.StatusText, u.StatusEmoji, u.StatusExpiration = text, emoji, 0
	w.slack.AddUser(u)
	now := time.Now()
	for _, typ := range []string{"user_change", "user_status_changed"} {
		if !w.sender.deliver(event(typ, nextEventID(), user, now, text, emoji, 0)) {
			t.Fatalf("Slack could not deliver %s for %s", typ, user)
		}
	}
}

// waitEchoes waits until Slack delivered its two events for every write so far.
func (w *tworld) waitEchoes(t *testing.T) {
	t.Helper()
	eventually(t, 30*time.Second, "Slack's echoes of the bridge's writes", func() bool {
		return w.echoes.Load() >= int64(2*len(w.slack.ProfileWrites()))
	})
}

// slackShows is the user's Slack status as "emoji|text".
func (w *tworld) slackShows(user string) string {
	u, _ := w.slack.UserByID(user)
	return u.StatusEmoji + "|" + u.StatusText
}

// waitFirstPoll waits until a poll recorded what Teams shows for the mapped accounts.
func (w *tworld) waitFirstPoll(t *testing.T) {
	t.Helper()
	eventually(t, 30*time.Second, "the first poll of Teams", func() bool {
		for _, p := range w.fleet.procs {
			if strings.Contains(p.out.String(), "polled Teams") {
				return true
			}
		}
		return false
	})
}

// twoWayEmoji are the status emoji the property test uses, as Slack names
// them and as Teams shows them.
var twoWayEmoji = []struct{ slack, unicode string }{
	{"", ""}, {":palm_tree:", "🌴"}, {":pizza:", "🍕"}, {":house:", "🏠"}, {":spiral_calendar_pad:", "🗓️"},
}

// twoWayUser is one employee in the property test's model: what each side
// should show, and whether Slack shows the bridge's write.
type twoWayUser struct {
	slack, entra  string
	slackStatus   string // "emoji|text" as the Slack stand-in shows it
	teams         string // the Teams message
	slackByBridge bool
}

// TestTwoWayConvergesWithoutPingPong drives 1,000 random human changes on
// both sides through 2 replicas sharing Redis, with Slack's echoes, and
// SIGKILLs a replica half-way. After each round both sides show the most
// recent human change (by the README's policy), the writes on each side are
// exactly the human changes on the other side that needed one (no echo or
// own write is carried back), and nothing is lost through the crash.
func TestTwoWayConvergesWithoutPingPong(t *testing.T) {
	const users, rounds = 50, 20
	w := newTwoWayWorld(t)
	sims := makeUsers(t, w.world, "TW", users)
	model := make([]*twoWayUser, users)
	for i, s := range sims {
		w.slack.AddUser(slacktest.User{ID: s.slack, TeamID: team, Email: strings.ToLower(s.slack) + "@corp.example"})
		model[i] = &twoWayUser{slack: s.slack, entra: s.entra, slackStatus: "|"}
	}
	w.start(t, 2)
	w.waitFirstPoll(t)

	r := rand.New(rand.NewPCG(7, 11))
	wantGraph, wantSlack, changes := 0, 0, 0
	var roundStarts []time.Time
	for round := 0; round < rounds; round++ {
		roundStarts = append(roundStarts, time.Now())
		var wg sync.WaitGroup
		for i, u := range model {
			changes++
			e := twoWayEmoji[r.IntN(len(twoWayEmoji))]
			text := fmt.Sprintf("r%d u%d %s", round, i, []string{"Lunch", "In a meeting", "Focus", "Commuting", "Out sick"}[r.IntN(5)])
			teamsSide := r.IntN(2) == 0
			clear := r.IntN(10) == 0
			switch {
			case teamsSide && clear && u.teams != "":
				// A person clears their Teams message: Slack is cleared
				// only when it shows the bridge's write.
				u.teams = ""
				if u.slackByBridge && u.slackStatus != "|" {
					u.slackStatus = "|"
					wantSlack++
				}
				w.graph.SetMessageByHand(u.entra, fakegraph.TeamsMessage{})
			case teamsSide:
				content := strings.TrimSpace(e.unicode + " " + text)
				u.teams, u.slackStatus, u.slackByBridge = content, e.slack+"|"+text, true
				wantSlack++
				w.graph.SetMessageByHand(u.entra, fakegraph.TeamsMessage{Content: content})
			case clear && u.slackStatus != "|":
				u.slackStatus, u.slackByBridge = "|", false
				if u.teams != "" {
					u.teams = ""
					wantGraph++
				}
				wg.Add(1)
				go func() { defer wg.Done(); w.slackByHand(t, u.slack, "", "") }()
			default:
				u.slackStatus, u.slackByBridge = e.slack+"|"+text, false
				u.teams = strings.TrimSpace(e.unicode + " " + text)
				wantGraph++
				wg.Add(1)
				go func() { defer wg.Done(); w.slackByHand(t, u.slack, text, e.slack) }()
			}
		}
		wg.Wait()
		if round == rounds/2 {
			w.fleet.crash(0, 200*time.Millisecond)
		}
		w.waitEchoes(t)
		var last string
		converged := func() bool {
			for _, u := range model {
				teams, _, _ := w.graph.StatusMessage(u.entra)
				if got := w.slackShows(u.slack); got != u.slackStatus || teams != u.teams {
					last = fmt.Sprintf("%s: Slack %q (want %q), Teams %q (want %q)", u.slack, got, u.slackStatus, teams, u.teams)
					return false
				}
			}
			return true
		}
		deadline := time.Now().Add(60 * time.Second)
		for !converged() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d did not converge: %s", round, last)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Slack's echoes of this round's writes arrive before the next
		// round's changes (Slack dates events in whole seconds).
		w.waitEchoes(t)
	}
	// Writes settle: an echo or a poll must not cause any more.
	time.Sleep(3 * time.Second)

	graphWrites := distinctWrites(roundStarts, func(yield func(user, content string, at time.Time)) {
		for _, c := range w.graph.StatusCalls() {
			if c.Status == http.StatusOK {
				yield(c.UserID, c.Content, c.At)
			}
		}
	})
	slackWrites := distinctWrites(roundStarts, func(yield func(user, content string, at time.Time)) {
		for _, p := range w.slack.ProfileWrites() {
			yield(p.User, p.Emoji+"|"+p.Text, p.At)
		}
	})
	t.Logf("%d human changes in %d rounds; Graph writes %d (want %d), Slack writes %d (want %d), Slack 429s %d, echoes answered %v",
		changes, rounds, graphWrites, wantGraph, slackWrites, wantSlack, w.slack.ProfileThrottled(), w.sender.answerCounts())
	if changes != users*rounds || changes < 1000 {
		t.Fatalf("drove %d changes", changes)
	}
	if graphWrites != wantGraph || slackWrites != wantSlack {
		t.Fatalf("writes: Graph %d (want %d), Slack %d (want %d): a human change was lost or a write ping-ponged",
			graphWrites, wantGraph, slackWrites, wantSlack)
	}
}

// distinctWrites counts writes per user, a repeat of the write just before
// it to the same user in the same round counting once: a write whose answer
// a crash cut off is made again, and is the same change.
func distinctWrites(roundStarts []time.Time, each func(yield func(user, content string, at time.Time))) int {
	type last struct {
		content string
		round   int
	}
	prev := map[string]last{}
	n := 0
	each(func(user, content string, at time.Time) {
		round := 0
		for i, s := range roundStarts {
			if !at.Before(s) {
				round = i
			}
		}
		if p, ok := prev[user]; ok && p.content == content && p.round == round {
			return
		}
		prev[user] = last{content, round}
		n++
	})
	return n
}

// TestTwoWayWithTheEmbeddedStore: one replica on the embedded store carries
// a Teams message set before it started to an empty Slack status, then a
// new Teams message to Slack, does not carry Slack's echo back, carries a
// later Slack change to Teams, and clears Slack on a Teams clear only while
// Slack shows the bridge's write.
func TestTwoWayWithTheEmbeddedStore(t *testing.T) {
	api := slacktest.StartAPI(t, discoveryBotToken)
	api.SetAdminToken(adminUserToken)
	api.AddUser(slacktest.User{ID: alice, TeamID: team, Email: "alice@corp.example"})
	g := fakegraph.Start(t)
	g.AddUser(fakegraph.User{ID: aliceID, UPN: "alice@corp.example", Mail: "alice@corp.example"})
	env := baseEnv(append(g.Env(),
		"STATUSBRIDGE_DATA_DIR="+t.TempDir(), "SLACK_SIGNING_SECRET="+signingSecret, "STATUSBRIDGE_LEASE=10s",
		"SLACK_BOT_TOKEN="+discoveryBotToken, "SLACK_API_URL="+api.URL,
		"STATUSBRIDGE_TEAMS_TO_SLACK=true", "SLACK_ADMIN_USER_TOKEN="+adminUserToken,
		"STATUSBRIDGE_TEAMS_POLL_INTERVAL=1s")...)
	mustCLI(t, env, "mapping", "set", alice, aliceID)
	// A message set in Teams before the bridge started reaches a Slack
	// status that is empty.
	g.SetMessageByHand(aliceID, fakegraph.TeamsMessage{Content: "Out of office"})
	w := &tworld{world: &world{graph: g, env: env}, slack: api}
	w.start(t, 1)
	eventually(t, 20*time.Second, "the earlier Teams message in Slack", func() bool { return w.slackShows(alice) == "|Out of office" })
	w.waitEchoes(t)

	g.SetMessageByHand(aliceID, fakegraph.TeamsMessage{Content: "🌴 On leave until Monday"})
	eventually(t, 20*time.Second, "the Teams message in Slack", func() bool { return w.slackShows(alice) == ":palm_tree:|On leave until Monday" })
	w.waitEchoes(t)
	time.Sleep(2 * time.Second)
	if n := len(w.okCalls(aliceID)); n != 0 {
		t.Fatalf("the echo went back to Teams: %d Graph writes", n)
	}

	w.slackByHand(t, alice, "Back at my desk", ":house:")
	eventually(t, 20*time.Second, "the Slack change in Teams", func() bool { return w.teamsShows(aliceID) == "🏠 Back at my desk" })

	// A Teams clear now leaves the person's own Slack status alone.
	g.SetMessageByHand(aliceID, fakegraph.TeamsMessage{})
	time.Sleep(3 * time.Second)
	if got := w.slackShows(alice); got != ":house:|Back at my desk" {
		t.Fatalf("a Teams clear changed a status the person set in Slack: %q", got)
	}
	if n := len(api.ProfileWrites()); n != 2 {
		t.Fatalf("Slack writes: %d, want 2", n)
	}
}
