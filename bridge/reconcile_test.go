package bridge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// pager is a directory of users with their statuses.
type pager struct {
	users []bridge.SlackUser
	st    []bridge.Status
	err   error
}

func (p pager) Users(_ context.Context, fn func(bridge.SlackUser, bridge.Status) error) error {
	for i, u := range p.users {
		if err := fn(u, p.st[i]); err != nil {
			return err
		}
	}
	return p.err
}

func TestReconcilePass(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	e := &bridge.Engine{Queue: st, Now: func() time.Time { return now }}
	// An event already brought a newer status for U0NEWER01.
	if _, err := e.Submit(context.Background(), bridge.Change{UserID: "U0NEWER01", Status: bridge.Status{Text: "Newer"},
		EventID: "Ev1", EventTime: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	dir := pager{
		users: []bridge.SlackUser{{ID: "U0ALICE01"}, {ID: "U0NEWER01"}, {ID: "U0BOT0001", Bot: true}, {ID: "U0ALICE01"}},
		st:    []bridge.Status{{Text: "Lunch"}, {Text: "Older"}, {Text: "beep"}, {Text: "Lunch"}},
	}
	r := &bridge.Reconciler{Directory: dir, Submitter: e, Now: func() time.Time { return now },
		Mirrored: func(u bridge.SlackUser) bool { return !u.Bot }}
	got, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.ReconcileCounts{Changed: 1, Unchanged: 1, Newer: 1, NotMirrored: 1}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	// A directory failure is reported with what was counted before it.
	dir.err = errors.New("slack users.list: 500")
	if got, err := (&bridge.Reconciler{Directory: dir, Submitter: e}).Pass(context.Background()); err == nil || got.Read() != 4 {
		t.Fatalf("Pass = %+v, %v; want the error and 4 users read", got, err)
	}
}
