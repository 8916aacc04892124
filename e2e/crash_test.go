package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/store/redisstore"
)

// TestCrashAfterAckBeforeGraph: serve is SIGKILLed after Slack got its 200
// and before Graph was called; started again, it applies the status.
func TestCrashAfterAckBeforeGraph(t *testing.T) {
	w := newWorld(t)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)

	// Hold every Graph call back through the shared rate limiter, as a 429
	// from Graph would, so the change is stored and acked but not yet sent.
	ctx := context.Background()
	st, err := redisstore.Open(ctx, w.redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.NewLimiter(redisstore.LimiterConfig{}).Penalize(ctx, 4*time.Second); err != nil {
		t.Fatal(err)
	}

	p := startServe(t, w.env)
	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Out sick", ":face_with_thermometer:", exp.Unix())); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	p.kill()
	if n := len(w.graph.StatusCalls()); n != 0 {
		t.Fatalf("Graph was called %d times before the crash; the test needs it not to be", n)
	}

	startServe(t, w.env)
	c := w.waitCalls(t, aliceID, 1)[0]
	if c.Content != "🤒 Out sick" || c.ExpiryDateTime != exp.UTC().Format(wantLayout) || c.TimeZone != "UTC" {
		t.Fatalf("after restart Graph got %+v", c)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(w.okCalls(aliceID)); n != 1 {
		t.Fatalf("%d Graph calls, want 1", n)
	}
}
