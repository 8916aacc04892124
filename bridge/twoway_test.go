package bridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// slackSide is a small Slack: each user's status, set by the bridge's
// writes; every write is recorded.
type slackSide struct {
	mu     sync.Mutex
	status map[string]bridge.SlackStatus
	writes []string
	err    error
}

func (s *slackSide) SetUserStatus(_ context.Context, user string, st bridge.SlackStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.status[user] = st
	s.writes = append(s.writes, user+"="+st.Emoji+"|"+st.Text)
	return nil
}

func (s *slackSide) UserStatus(_ context.Context, user string) (bridge.SlackStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status[user], nil
}

func toSlack(content string) bridge.SlackStatus {
	if rest, ok := strings.CutPrefix(content, "🌴 "); ok {
		return bridge.SlackStatus{Emoji: ":palm_tree:", Text: rest}
	}
	return bridge.SlackStatus{Text: content}
}

// twoWay is the Teams side and the Teams → Slack side over one embedded store.
type twoWay struct {
	*fixture
	tm    *teams
	slack *slackSide
	side  *embedded.Store
	poll  *bridge.TeamsPoller
	se    *bridge.SlackEngine
}

const alice = "U0ALICE01"

func newTwoWay(t *testing.T) *twoWay {
	t.Helper()
	f, tm := ownedFixture(t)
	side, err := f.st.Namespace("slack")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetMapping(context.Background(), bridge.Mapping{SlackUserID: alice, EntraID: entra, Source: bridge.SourceAdmin, FoundAt: f.now}, f.now); err != nil {
		t.Fatal(err)
	}
	w := &twoWay{fixture: f, tm: tm, slack: &slackSide{status: map[string]bridge.SlackStatus{}}, side: side}
	f.e.SlackOwners, f.e.Seen = side, f.st
	now := func() time.Time { return f.now }
	w.poll = &bridge.TeamsPoller{Mappings: f.st, Presence: tm, Seen: f.st, Owners: f.st, Choices: f.st, Queue: side, Now: now}
	w.se = &bridge.SlackEngine{Queue: side, Owners: side, Choices: f.st, Changes: f.st, Writer: w.slack, Reader: w.slack, ToSlack: toSlack, Now: now, PerUser: 6 * time.Second}
	return w
}

// pollAndWrite polls Teams and works the Teams → Slack queue.
func (w *twoWay) pollAndWrite(t *testing.T) bridge.PollCounts {
	t.Helper()
	c, err := w.poll.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := w.side.Claim(context.Background(), w.now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		w.se.Process(context.Background(), j)
	}
	return c
}

// slackEvent submits a change from Slack (a person's, or an echo).
func (w *twoWay) slackEvent(t *testing.T, id string, st bridge.Status) bridge.SubmitOutcome {
	t.Helper()
	out, err := w.e.Submit(context.Background(), bridge.Change{UserID: alice, Status: st, EventID: id, EventTime: w.now, Source: bridge.SourceHTTP})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *twoWay) byHand(msg string) {
	w.tm.mu.Lock()
	w.tm.shows[entra] = msg
	w.tm.mu.Unlock()
}

func (w *twoWay) tick(d time.Duration) { w.now = w.now.Add(d) }

func (w *twoWay) slackWrites() []string {
	w.slack.mu.Lock()
	defer w.slack.mu.Unlock()
	return append([]string(nil), w.slack.writes...)
}

func TestTeamsMessageReachesSlackOnceAndItsEchoStopsThere(t *testing.T) {
	w := newTwoWay(t)
	w.slack.status[alice] = bridge.SlackStatus{Text: "Set in Slack before"}
	w.byHand("Out sick")
	if c := w.pollAndWrite(t); c.First != 1 || len(w.slackWrites()) != 0 {
		t.Fatalf("a Teams message from before the first poll replaced a Slack status: %+v, writes %v", c, w.slackWrites())
	}
	w.tick(time.Minute)
	w.byHand("🌴 On leave until Monday")
	if c := w.pollAndWrite(t); c.Person != 1 || c.Queued != 1 {
		t.Fatalf("poll: %+v", c)
	}
	if got := w.slackWrites(); len(got) != 1 || got[0] != alice+"=:palm_tree:|On leave until Monday" {
		t.Fatalf("Slack writes %v", got)
	}
	// Slack sends user_change and user_status_changed for the write.
	echo := bridge.Status{Text: "On leave until Monday", Emoji: "🌴", EmojiName: ":palm_tree:"}
	for _, id := range []string{"Ev1", "Ev2"} {
		if out := w.slackEvent(t, id, echo); out != bridge.Echo {
			t.Fatalf("echo %s answered %v", id, out)
		}
	}
	if n := w.step(t); n != 0 || w.tm.calls != 0 {
		t.Fatalf("the echo went back to Teams: %d jobs, %d calls", n, w.tm.calls)
	}
	// Polling again changes nothing.
	w.tick(time.Minute)
	if c := w.pollAndWrite(t); c.Person != 0 || len(w.slackWrites()) != 1 {
		t.Fatalf("second poll: %+v, writes %v", c, w.slackWrites())
	}
}

func TestBridgesOwnTeamsWriteIsNotCarriedBack(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t) // first poll: Teams shows nothing
	w.tick(time.Minute)
	if out := w.slackEvent(t, "Ev1", bridge.Status{Text: "Lunch"}); out != bridge.Accepted {
		t.Fatal(out)
	}
	w.step(t)
	if w.tm.show(entra) != "Lunch" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
	w.tick(time.Minute)
	if c := w.pollAndWrite(t); c.Bridge != 1 || c.Person != 0 || len(w.slackWrites()) != 0 {
		t.Fatalf("the bridge's own write was carried to Slack: %+v %v", c, w.slackWrites())
	}
}

func TestTeamsClearClearsOnlyTheBridgesSlackStatus(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	w.tick(time.Minute)
	w.byHand("In a workshop")
	w.pollAndWrite(t)
	w.slackEvent(t, "Ev1", bridge.Status{Text: "In a workshop"}) // echo
	w.tick(time.Minute)
	w.byHand("")
	w.pollAndWrite(t)
	if got := w.slackWrites(); len(got) != 2 || got[1] != alice+"=|" {
		t.Fatalf("a Teams clear should clear the bridge's Slack status: %v", got)
	}
	if out := w.slackEvent(t, "Ev2", bridge.Status{}); out != bridge.Echo {
		t.Fatalf("the clear's echo answered %v", out)
	}

	// A Teams message reaches Slack; then the person changes Slack
	// themselves: a later Teams clear leaves their Slack status alone.
	w.tick(time.Minute)
	w.byHand("Focus time")
	w.pollAndWrite(t) // Slack := Focus time
	w.tick(time.Minute)
	if out := w.slackEvent(t, "Ev3", bridge.Status{Text: "Dentist", Emoji: "🦷"}); out != bridge.Accepted {
		t.Fatalf("a person's Slack change answered %v", out)
	}
	w.step(t) // newer than the Teams message: Teams := Dentist
	if w.tm.show(entra) != "🦷 Dentist" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
	w.tick(time.Minute)
	w.byHand("")
	before := len(w.slackWrites())
	w.pollAndWrite(t)
	if got := w.slackWrites(); len(got) != before {
		t.Fatalf("a Teams clear wiped a status the person set in Slack: %v", got)
	}
}

func TestMostRecentHumanChangeWins(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	// A Teams message no poll saw yet counts as newer: the Slack change holds.
	w.tick(time.Minute)
	w.byHand("Out sick")
	w.slackEvent(t, "Ev1", bridge.Status{Text: "Lunch"})
	w.step(t)
	if w.tm.show(entra) != "Out sick" || w.tm.calls != 0 {
		t.Fatalf("Teams shows %q after %d calls", w.tm.show(entra), w.tm.calls)
	}
	w.pollAndWrite(t) // the poll sees it: Slack := Out sick
	if got := w.slackWrites(); len(got) != 1 || got[0] != alice+"=|Out sick" {
		t.Fatalf("Slack writes %v", got)
	}
	// A Slack change after the poll saw the Teams message wins.
	w.tick(time.Minute)
	w.slackEvent(t, "Ev2", bridge.Status{Text: "Back at my desk"})
	w.step(t)
	if w.tm.show(entra) != "Back at my desk" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
	// A person setting Slack back to what it showed before is their change, not an echo.
	w.tick(time.Minute)
	w.byHand("Out sick again")
	w.pollAndWrite(t)
	w.slackEvent(t, "Ev3", bridge.Status{Text: "Out sick again"}) // echo
	w.tick(time.Minute)
	if out := w.slackEvent(t, "Ev4", bridge.Status{Text: "Back at my desk"}); out != bridge.Accepted {
		t.Fatalf("a person's change equal to an older one answered %v", out)
	}
	w.step(t)
	if w.tm.show(entra) != "Back at my desk" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
}

func TestPauseStopsBothDirections(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	if err := w.st.SetChoice(context.Background(), alice, bridge.ChoiceOff, w.now); err != nil {
		t.Fatal(err)
	}
	w.tick(time.Minute)
	w.byHand("Out sick")
	if c := w.pollAndWrite(t); c.Person != 1 || c.Queued != 0 || len(w.slackWrites()) != 0 {
		t.Fatalf("a paused employee's Teams message went to Slack: %+v %v", c, w.slackWrites())
	}
}

func TestSlackWritesArePacedPerUserAndRefusalsPark(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	w.tick(time.Minute)
	w.byHand("One")
	w.pollAndWrite(t)
	w.tick(time.Second)
	w.byHand("Two")
	w.pollAndWrite(t)
	if got := w.slackWrites(); len(got) != 1 {
		t.Fatalf("two writes to one profile within the per-user pace: %v", got)
	}
	w.tick(6 * time.Second)
	w.pollAndWrite(t)
	if got := w.slackWrites(); len(got) != 2 || got[1] != alice+"=|Two" {
		t.Fatalf("the paced write did not follow: %v", got)
	}

	w.slack.err = &bridge.PermanentError{Reason: "slack users.profile.set: cannot_update_admin_user"}
	w.tick(time.Minute)
	w.byHand("Three")
	w.pollAndWrite(t)
	ps, err := w.side.ListParked(context.Background())
	if err != nil || len(ps) != 1 || !strings.Contains(ps[0].Reason, "cannot_update_admin_user") {
		t.Fatalf("parked %v %v", ps, err)
	}
}

// staleReader answers every read with what Teams showed before.
type staleReader map[string]string

func (s staleReader) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = s[id]
	}
	return out, nil
}

func TestPollDoesNotTakeTheBridgesOlderWriteForAPersons(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	w.tick(time.Minute)
	w.slackEvent(t, "Ev1", bridge.Status{Text: "First"})
	w.step(t)
	w.tick(time.Minute)
	w.slackEvent(t, "Ev2", bridge.Status{Text: "Second"})
	w.step(t)
	if w.tm.show(entra) != "Second" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
	// A read made just before the bridge's last write still shows its
	// earlier one, which the ownership record no longer holds.
	w.poll.Presence = staleReader{entra: "First"}
	if c := w.pollAndWrite(t); c.Person != 0 || len(w.slackWrites()) != 0 {
		t.Fatalf("the bridge's own earlier write went to Slack: %+v %v", c, w.slackWrites())
	}
	// Later polls read what Teams shows now.
	w.poll.Presence = w.tm
	w.tick(time.Minute)
	if c := w.pollAndWrite(t); c.Person != 0 || c.Bridge != 1 || len(w.slackWrites()) != 0 {
		t.Fatalf("poll after: %+v %v", c, w.slackWrites())
	}
}

func TestQueuedTeamsMessageDoesNotOverwriteANewerSlackChange(t *testing.T) {
	w := newTwoWay(t)
	w.pollAndWrite(t)
	w.tick(time.Minute)
	w.byHand("Out sick")
	if _, err := w.poll.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The person changes Slack before the queued write goes out.
	w.tick(time.Second)
	w.slackEvent(t, "Ev1", bridge.Status{Text: "Feeling better"})
	w.tick(6 * time.Second)
	w.pollAndWrite(t)
	if got := w.slackWrites(); len(got) != 0 {
		t.Fatalf("an older Teams message overwrote a newer Slack change: %v", got)
	}
	w.step(t)
	if w.tm.show(entra) != "Feeling better" {
		t.Fatalf("Teams shows %q", w.tm.show(entra))
	}
}

func TestTeamsMessageFromBeforeTheFirstPollFillsAnEmptySlackStatus(t *testing.T) {
	w := newTwoWay(t)
	w.byHand("On leave until Monday")
	if c := w.pollAndWrite(t); c.First != 1 {
		t.Fatalf("poll: %+v", c)
	}
	if got := w.slackWrites(); len(got) != 1 || got[0] != alice+"=|On leave until Monday" {
		t.Fatalf("Slack writes %v, want the Teams message in the empty Slack status", got)
	}
}
