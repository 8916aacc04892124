package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeStartsBeforeRedis: serve started while Redis is down stays up,
// answers Slack 503 and /readyz 503, and works once Redis is there.
func TestServeStartsBeforeRedis(t *testing.T) {
	w := newWorld(t)
	mustCLI(t, w.env, "mapping", "set", alice, aliceID)
	w.redis.Kill()
	p := startServe(t, w.env) // waits for /healthz
	if code, _ := do(t, mustRequest(t, p.url("/readyz"))); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d with Redis down, want 503", code)
	}
	body := event("user_status_changed", nextEventID(), alice, time.Now(), "Early", "", 0)
	if code, _ := p.send(t, body); code != http.StatusServiceUnavailable {
		t.Fatalf("event answered %d with Redis down, want 503 so Slack retries", code)
	}
	if _, _, code := cli(t, w.env, "mapping", "ls"); code == 0 {
		t.Fatal("an admin command succeeded with Redis down")
	}
	w.redis.Restart(t)
	eventually(t, 30*time.Second, "/readyz to answer 200", func() bool {
		code, _ := do(t, mustRequest(t, p.url("/readyz")))
		return code == http.StatusOK
	})
	if code, _ := p.send(t, body, "X-Slack-Retry-Num", "1"); code != http.StatusOK {
		t.Fatalf("Slack's retry answered %d once Redis is back", code)
	}
	if c := w.waitCalls(t, aliceID, 1)[0]; c.Content != "Early" {
		t.Fatalf("Teams got %q", c.Content)
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestWrongRedisPasswordStopsStartup: wrong credentials are a setting to fix,
// not an outage to wait out: serve stops with one line naming REDIS_URL,
// without printing the password.
func TestWrongRedisPasswordStopsStartup(t *testing.T) {
	w := newWorld(t)
	if _, err := w.redis.Do("CONFIG", "SET", "requirepass", "right-redis-password"); err != nil {
		t.Fatal(err)
	}
	url := "redis://:wrong-redis-password@" + w.redis.Addr + "/0"
	_, errOut, code := cli(t, with(w.env, "REDIS_URL="+url), "serve")
	if code == 0 || !strings.Contains(errOut, "REDIS_URL") || !strings.Contains(errOut, "credentials") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "wrong-redis-password") {
		t.Fatalf("the password was printed:\n%s", errOut)
	}
}
