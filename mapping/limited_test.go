package mapping

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// gate is a limiter that counts waits and refuses them once closed.
type gate struct {
	mu     sync.Mutex
	waits  int
	closed bool
}

var errClosed = errors.New("limiter closed")

func (g *gate) Wait(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waits++
	if g.closed {
		return errClosed
	}
	return nil
}

func (g *gate) Penalize(context.Context, time.Duration) error { return nil }

func TestLimitedFinderWaitsBeforeEachLookup(t *testing.T) {
	_, _, _, f, _ := setup(t)
	g := &gate{}
	lf := NewLimitedFinder(f, g)
	ctx := context.Background()
	if u, err := lf.UserByID(ctx, "alice@corp.com"); err != nil || u.ID != idA {
		t.Fatalf("UserByID = %+v, %v", u, err)
	}
	if us, err := lf.UsersByMail(ctx, "bob@corp.com"); err != nil || len(us) != 1 || us[0].ID != idB {
		t.Fatalf("UsersByMail = %+v, %v", us, err)
	}
	if us, err := lf.UsersByProxyAddress(ctx, "dave.old@corp.com"); err != nil || len(us) != 1 || us[0].ID != idD {
		t.Fatalf("UsersByProxyAddress = %+v, %v", us, err)
	}
	if g.waits != 3 || f.count() != 3 {
		t.Fatalf("%d waits for %d lookups, want 3 and 3", g.waits, f.count())
	}

	// A refused wait means no Graph call, and the limiter's error is passed on.
	g.closed = true
	if _, err := lf.UserByID(ctx, "alice@corp.com"); !errors.Is(err, errClosed) {
		t.Fatalf("UserByID err = %v", err)
	}
	if _, err := lf.UsersByMail(ctx, "bob@corp.com"); !errors.Is(err, errClosed) {
		t.Fatalf("UsersByMail err = %v", err)
	}
	if _, err := lf.UsersByProxyAddress(ctx, "dave.old@corp.com"); !errors.Is(err, errClosed) {
		t.Fatalf("UsersByProxyAddress err = %v", err)
	}
	if f.count() != 3 {
		t.Fatalf("%d Graph lookups passed a refusing limiter", f.count()-3)
	}
}

func TestLimitedFinderSharesTheBudget(t *testing.T) {
	_, _, _, f, _ := setup(t)
	// One call an hour: the first lookup goes through, the second would wait
	// beyond the deadline and fails without calling Graph.
	lf := NewLimitedFinder(f, embedded.NewLimiter(1, time.Hour))
	if _, err := lf.UserByID(context.Background(), "alice@corp.com"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := lf.UsersByMail(ctx, "bob@corp.com"); err == nil {
		t.Fatal("a lookup went past an exhausted limiter")
	}
	if f.count() != 1 {
		t.Fatalf("%d Graph lookups, want 1", f.count())
	}
}

func TestLimitedFinderWithoutLimiter(t *testing.T) {
	_, _, _, f, _ := setup(t)
	var l bridge.Limiter
	if _, err := NewLimitedFinder(f, l).UserByID(context.Background(), "alice@corp.com"); err != nil {
		t.Fatal(err)
	}
}
