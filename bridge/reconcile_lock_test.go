package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// memLocker is an in-memory bridge.Locker with the contract's semantics:
// one holder per name until its deadline, renewed by the same holder.
type memLocker struct {
	mu      sync.Mutex
	holder  map[string]string
	until   map[string]time.Time
	tries   map[string]int // TryLock calls per holder
	failErr error
}

func newMemLocker() *memLocker {
	return &memLocker{holder: map[string]string{}, until: map[string]time.Time{}, tries: map[string]int{}}
}

func (l *memLocker) TryLock(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries[holder]++
	if l.failErr != nil {
		return false, l.failErr
	}
	now := time.Now()
	if h := l.holder[name]; h != "" && h != holder && now.Before(l.until[name]) {
		return false, nil
	}
	l.holder[name], l.until[name] = holder, now.Add(ttl)
	return true, nil
}

func (l *memLocker) Unlock(_ context.Context, name, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder[name] == holder {
		delete(l.holder, name)
		delete(l.until, name)
	}
	return nil
}

// heldBy returns the holder of name, "" when free.
func (l *memLocker) heldBy(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Now().After(l.until[name]) {
		return ""
	}
	return l.holder[name]
}

func (l *memLocker) triesOf(holder string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tries[holder]
}

// funcPager is a directory whose listing is a function.
type funcPager func(ctx context.Context, fn func(bridge.SlackUser, bridge.Status) error) error

func (f funcPager) Users(ctx context.Context, fn func(bridge.SlackUser, bridge.Status) error) error {
	return f(ctx, fn)
}

// nopSubmitter answers Unchanged to every change.
type nopSubmitter struct{}

func (nopSubmitter) Submit(context.Context, bridge.Change) (bridge.SubmitOutcome, error) {
	return bridge.Unchanged, nil
}

func testLog() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReconcileSkipsWhileAnotherReplicaHoldsTheLock(t *testing.T) {
	lock := newMemLocker()
	if ok, _ := lock.TryLock(t.Context(), bridge.ReconcileLock, "other-replica", time.Minute); !ok {
		t.Fatal("setup: could not take the lock")
	}
	listed := 0
	r := &bridge.Reconciler{Lock: lock, Holder: "this-replica", Submitter: nopSubmitter{},
		Directory: funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error { listed++; return nil })}
	log, out := testLog()
	if r.LockedPass(t.Context(), log) {
		t.Fatal("LockedPass ran a pass while another replica held the lock")
	}
	if listed != 0 {
		t.Fatalf("Slack's directory was read %d times, want none", listed)
	}
	if !strings.Contains(out.String(), "level=DEBUG") || !strings.Contains(out.String(), "another replica") {
		t.Fatalf("the skip is not logged at debug:\n%s", out)
	}
	if lock.heldBy(bridge.ReconcileLock) != "other-replica" {
		t.Fatal("the other replica's lock was released")
	}
}

func TestReconcileTakesAndReleasesTheLock(t *testing.T) {
	lock := newMemLocker()
	var holderDuring string
	r := &bridge.Reconciler{Lock: lock, Submitter: nopSubmitter{},
		Directory: funcPager(func(_ context.Context, fn func(bridge.SlackUser, bridge.Status) error) error {
			holderDuring = lock.heldBy(bridge.ReconcileLock)
			return fn(bridge.SlackUser{ID: "U0ALICE01"}, bridge.Status{Text: "Lunch"})
		})}
	log, out := testLog()
	if !r.LockedPass(t.Context(), log) {
		t.Fatalf("LockedPass with a free lock ran no pass:\n%s", out)
	}
	if holderDuring == "" || holderDuring != r.Holder {
		t.Fatalf("during the pass the lock was held by %q, want this process (%q)", holderDuring, r.Holder)
	}
	if h := lock.heldBy(bridge.ReconcileLock); h != "" {
		t.Fatalf("after the pass the lock is held by %q, want it given back", h)
	}
	if !strings.Contains(out.String(), "reconcile pass done") || !strings.Contains(out.String(), "unchanged=1") {
		t.Fatalf("the pass is not logged:\n%s", out)
	}
	// The holder id is one per process: the next pass uses the same.
	first := r.Holder
	r.LockedPass(t.Context(), log)
	if r.Holder != first {
		t.Fatalf("holder changed from %q to %q", first, r.Holder)
	}
}

func TestReconcileRenewsTheLockDuringALongPass(t *testing.T) {
	lock := newMemLocker()
	const ttl = 60 * time.Millisecond
	r := &bridge.Reconciler{Lock: lock, Holder: "this-replica", LockTTL: ttl, Submitter: nopSubmitter{},
		Directory: funcPager(func(ctx context.Context, _ func(bridge.SlackUser, bridge.Status) error) error {
			// The pass outlives the lock's ttl several times over; it stays ours.
			deadline := time.Now().Add(10 * time.Second)
			for lock.triesOf("this-replica") < 6 {
				if time.Now().After(deadline) {
					return errors.New("the lock was not renewed")
				}
				if h := lock.heldBy(bridge.ReconcileLock); h != "this-replica" {
					return errors.New("the lock ran out during the pass: held by " + h)
				}
				time.Sleep(5 * time.Millisecond)
			}
			return nil
		})}
	log, out := testLog()
	r.LockedPass(t.Context(), log)
	if !strings.Contains(out.String(), "reconcile pass done") {
		t.Fatalf("the long pass failed:\n%s", out)
	}
	if lock.heldBy(bridge.ReconcileLock) != "" {
		t.Fatal("the lock was not given back")
	}
}

func TestReconcileStopsWhenTheLockIsLost(t *testing.T) {
	lock := newMemLocker()
	r := &bridge.Reconciler{Lock: lock, Holder: "this-replica", LockTTL: 30 * time.Millisecond, Submitter: nopSubmitter{},
		Directory: funcPager(func(ctx context.Context, _ func(bridge.SlackUser, bridge.Status) error) error {
			// Another replica takes over (as if this one's renewals had failed
			// for longer than the lock's lifetime).
			lock.mu.Lock()
			lock.holder[bridge.ReconcileLock], lock.until[bridge.ReconcileLock] = "other-replica", time.Now().Add(time.Hour)
			lock.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		})}
	log, out := testLog()
	start := time.Now()
	if !r.LockedPass(t.Context(), log) {
		t.Fatal("LockedPass reported no pass")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the pass ran on for %s after losing its lock", took)
	}
	if s := out.String(); !strings.Contains(s, "reconcile lock lost") || !strings.Contains(s, "another replica took the reconcile lock") {
		t.Fatalf("the lost lock is not logged:\n%s", s)
	}
	if lock.heldBy(bridge.ReconcileLock) != "other-replica" {
		t.Fatal("giving back the lock released the other replica's")
	}
}

func TestReconcileSkipsWhenTheLockFails(t *testing.T) {
	lock := newMemLocker()
	lock.failErr = errors.New("redis: connection refused")
	listed := 0
	r := &bridge.Reconciler{Lock: lock, Submitter: nopSubmitter{},
		Directory: funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error { listed++; return nil })}
	log, out := testLog()
	if r.LockedPass(t.Context(), log) || listed != 0 {
		t.Fatalf("a pass ran without the lock (listed %d)", listed)
	}
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "connection refused") {
		t.Fatalf("the lock failure is not logged:\n%s", out)
	}
}

// TestReconcileOneReplicaAtATime: replicas sharing a lock never run passes
// at the same time.
func TestReconcileOneReplicaAtATime(t *testing.T) {
	lock := newMemLocker()
	var running, most, passes atomic.Int32
	dir := funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		passes.Add(1)
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	log := slog.New(slog.DiscardHandler)
	var wg sync.WaitGroup
	for range 4 {
		r := &bridge.Reconciler{Lock: lock, Directory: dir, Submitter: nopSubmitter{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				r.LockedPass(t.Context(), log)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 || passes.Load() == 0 {
		t.Fatalf("at most %d passes ran at once (of %d), want 1", most.Load(), passes.Load())
	}
}

func TestReconcileLogsProgressInsideServe(t *testing.T) {
	for _, tc := range []struct {
		perUser time.Duration
		want    int
	}{
		{time.Millisecond, 0}, // 3000 users in 3 s: no progress lines
		{time.Second, 6},      // 3000 users in 50 min: one line per 500 users
	} {
		now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		r := &bridge.Reconciler{Submitter: nopSubmitter{}, LogEvery: time.Minute,
			Now: func() time.Time { return now },
			Directory: funcPager(func(_ context.Context, fn func(bridge.SlackUser, bridge.Status) error) error {
				for range 3000 {
					now = now.Add(tc.perUser)
					if err := fn(bridge.SlackUser{ID: "U0ALICE01"}, bridge.Status{}); err != nil {
						return err
					}
				}
				return nil
			})}
		log, out := testLog()
		r.LockedPass(t.Context(), log)
		if n := strings.Count(out.String(), "reconcile pass in progress"); n != tc.want {
			t.Fatalf("%s a user: %d progress lines, want %d:\n%s", tc.perUser, n, tc.want, out)
		}
	}
}

// realLockers are the real stores' locks: each returns a function that
// opens one replica's Locker (for Redis, a connection of its own to one
// server; for the embedded store, the one store a single-instance install
// has, shared by its holders).
func realLockers(t *testing.T) map[string]func() bridge.Locker {
	t.Helper()
	emb, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	srv := redistest.Start(t)
	return map[string]func() bridge.Locker{
		"embedded": func() bridge.Locker { return emb },
		"redis":    func() bridge.Locker { return openRedisStore(t, srv) },
	}
}

// TestReconcileLockOnRealStores runs the reconciler's lock behaviour
// against the embedded store and a real redis-server: a held lock skips the
// pass, a pass holds the lock against others and gives it back, a long pass
// keeps it by renewing, a crashed holder's lock runs out, and replicas never
// run passes at the same time.
func TestReconcileLockOnRealStores(t *testing.T) {
	for name, open := range realLockers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			lock := open()
			other := open()

			// Another replica holds the lock: no pass, the lock stays theirs.
			if ok, err := other.TryLock(ctx, bridge.ReconcileLock, "other-replica", time.Minute); !ok || err != nil {
				t.Fatalf("setup: %v %v", ok, err)
			}
			listed := 0
			r := &bridge.Reconciler{Lock: lock, Holder: "this-replica", Submitter: nopSubmitter{},
				Directory: funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error { listed++; return nil })}
			log, out := testLog()
			if r.LockedPass(ctx, log) || listed != 0 {
				t.Fatalf("a pass ran while another replica held the lock (listed %d)", listed)
			}
			if !strings.Contains(out.String(), "another replica") {
				t.Fatalf("the skip is not logged:\n%s", out)
			}
			if ok, _ := other.TryLock(ctx, bridge.ReconcileLock, "other-replica", time.Minute); !ok {
				t.Fatal("the other replica lost its lock")
			}
			if err := other.Unlock(ctx, bridge.ReconcileLock, "other-replica"); err != nil {
				t.Fatal(err)
			}

			// A free lock: the pass holds it against others, then gives it back.
			var takenDuring bool
			r.Directory = funcPager(func(ctx context.Context, fn func(bridge.SlackUser, bridge.Status) error) error {
				ok, err := other.TryLock(ctx, bridge.ReconcileLock, "other-replica", time.Minute)
				takenDuring = ok || err != nil
				return fn(bridge.SlackUser{ID: "U0ALICE01"}, bridge.Status{Text: "Lunch"})
			})
			if !r.LockedPass(ctx, log) || takenDuring {
				t.Fatalf("pass with a free lock: another replica took it during the pass (%v):\n%s", takenDuring, out)
			}
			if ok, err := other.TryLock(ctx, bridge.ReconcileLock, "other-replica", time.Minute); !ok || err != nil {
				t.Fatalf("after the pass the lock was not given back: %v %v", ok, err)
			}
			if err := other.Unlock(ctx, bridge.ReconcileLock, "other-replica"); err != nil {
				t.Fatal(err)
			}

			// A pass that outlives the lock's ttl several times keeps it.
			r.LockTTL = 300 * time.Millisecond
			r.Directory = funcPager(func(ctx context.Context, _ func(bridge.SlackUser, bridge.Status) error) error {
				end := time.Now().Add(5 * r.LockTTL)
				for time.Now().Before(end) {
					if ok, err := other.TryLock(ctx, bridge.ReconcileLock, "other-replica", time.Minute); ok || err != nil {
						return errors.New("another replica took the lock during a long pass")
					}
					time.Sleep(50 * time.Millisecond)
				}
				return nil
			})
			out.mu.Lock()
			out.b.Reset()
			out.mu.Unlock()
			r.LockedPass(ctx, log)
			if !strings.Contains(out.String(), "reconcile pass done") {
				t.Fatalf("the long pass lost its lock:\n%s", out)
			}

			// A replica that crashed holding the lock holds up the others
			// only until its lock runs out.
			if ok, _ := other.TryLock(ctx, bridge.ReconcileLock, "crashed-replica", 400*time.Millisecond); !ok {
				t.Fatal("setup: the lock is not free")
			}
			r.Directory = funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error { return nil })
			if r.LockedPass(ctx, log) {
				t.Fatal("a pass ran while a crashed replica's lock was still valid")
			}
			time.Sleep(500 * time.Millisecond)
			if !r.LockedPass(ctx, log) {
				t.Fatal("the crashed replica's lock did not run out")
			}

			// Replicas, each with its own connection, take turns.
			var running, most, passes atomic.Int32
			dir := funcPager(func(context.Context, func(bridge.SlackUser, bridge.Status) error) error {
				n := running.Add(1)
				defer running.Add(-1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				passes.Add(1)
				time.Sleep(20 * time.Millisecond)
				return nil
			})
			var wg sync.WaitGroup
			for range 4 {
				rep := &bridge.Reconciler{Lock: open(), Directory: dir, Submitter: nopSubmitter{}}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 10 {
						rep.LockedPass(ctx, slog.New(slog.DiscardHandler))
					}
				}()
			}
			wg.Wait()
			if most.Load() != 1 || passes.Load() == 0 {
				t.Fatalf("at most %d passes ran at once (of %d), want 1", most.Load(), passes.Load())
			}
		})
	}
}
