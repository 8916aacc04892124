package bridge_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// teams is a small Teams: what each account shows, written by the bridge's
// calls (even those answered with an error, as after a timeout) or by hand.
type teams struct {
	mu    sync.Mutex
	shows map[string]string
	calls int
	reads int
	errs  []error
}

func (tm *teams) SetStatusMessage(_ context.Context, id string, m bridge.Message) error {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.calls++
	tm.shows[id] = m.Content
	if len(tm.errs) > 0 {
		err := tm.errs[0]
		tm.errs = tm.errs[1:]
		return err
	}
	return nil
}

func (tm *teams) StatusMessages(_ context.Context, ids []string) (map[string]string, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.reads++
	out := map[string]string{}
	for _, id := range ids {
		out[id] = tm.shows[id]
	}
	return out, nil
}

func (tm *teams) show(id string) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.shows[id]
}

const entra = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"

func ownedFixture(t *testing.T) (*fixture, *teams) {
	f := newFixture(t, resolver{})
	tm := &teams{shows: map[string]string{}}
	f.e.Publisher, f.e.Presence, f.e.Owners = tm, tm, f.st
	return f, tm
}

func (f *fixture) submitFrom(t *testing.T, src bridge.ChangeSource, text string, at time.Time) {
	t.Helper()
	c := bridge.Change{UserID: "U024BE7LH", Status: bridge.Status{Text: text}, EventTime: at, Source: src}
	if _, err := f.e.Submit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileClearsOwnedAfterFailedCall: a call that reached Teams but was
// answered with an error still makes its message the bridge's, so a later
// clear (here from a reconcile pass) removes it.
func TestReconcileClearsOwnedAfterFailedCall(t *testing.T) {
	f, tm := ownedFixture(t)
	tm.errs = []error{&bridge.TransientError{Reason: "timeout", Err: errors.New("timeout")}}
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if tm.show(entra) != "Lunch" {
		t.Fatalf("Teams shows %q", tm.show(entra))
	}
	f.now = f.now.Add(time.Minute)
	f.submitFrom(t, bridge.SourceReconcile, "", f.now)
	f.step(t)
	if got := tm.show(entra); got != "" {
		t.Fatalf("Teams still shows %q after a clear of the bridge's own message", got)
	}
}

// TestPersonsMessageIsHeld: a message a person set is neither replaced nor
// cleared; the user is held with it, and mirrored again once it is gone.
func TestPersonsMessageIsHeld(t *testing.T) {
	f, tm := ownedFixture(t)
	tm.shows[entra] = "Out sick, call my mobile"
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	f.now = f.now.Add(time.Second)
	f.submit(t, "Ev2", "", f.now)
	f.step(t)
	if tm.calls != 0 || tm.show(entra) != "Out sick, call my mobile" {
		t.Fatalf("calls %d, Teams shows %q", tm.calls, tm.show(entra))
	}
	rec, _, err := f.st.User(context.Background(), "U024BE7LH")
	if err != nil || rec.Held != "Out sick, call my mobile" {
		t.Fatalf("held %q, err %v", rec.Held, err)
	}
	tm.shows[entra] = "" // the person clears it
	f.now = f.now.Add(11 * time.Minute)
	f.submit(t, "Ev3", "Back", f.now)
	f.step(t)
	if tm.show(entra) != "Back" {
		t.Fatalf("Teams shows %q once the person's message is gone", tm.show(entra))
	}
}

// TestPausedUserCostsNothing: a pause clears the bridge's message; later
// changes cost no call and no read.
func TestPausedUserCostsNothing(t *testing.T) {
	f, tm := ownedFixture(t)
	f.submit(t, "Ev1", "Lunch", f.now)
	f.step(t)
	if err := f.st.SetChoice(context.Background(), "U024BE7LH", bridge.ChoiceOff, f.now); err != nil {
		t.Fatal(err)
	}
	f.step(t)
	if tm.show(entra) != "" || tm.calls != 2 {
		t.Fatalf("after pause: Teams shows %q, %d calls", tm.show(entra), tm.calls)
	}
	calls, reads := tm.calls, tm.reads
	f.now = f.now.Add(time.Second)
	f.submit(t, "Ev2", "Meeting", f.now)
	f.step(t)
	if tm.calls != calls || tm.reads != reads {
		t.Fatalf("a paused user cost %d call(s) and %d read(s)", tm.calls-calls, tm.reads-reads)
	}
}
