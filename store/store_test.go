package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/redistest"
)

func TestOpenEmbedded(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), Config{DataDir: dir, Rate: 100, Per: time.Second}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if s.Kind() != "embedded" {
		t.Fatalf("Kind = %q, want embedded", s.Kind())
	}
	if s.Limiter() == nil || s.Limiter() != s.Limiter() {
		t.Fatal("the embedded store hands out more than one limiter")
	}
	// A second serve on the data dir is refused, naming the setting;
	// an admin command beside serve opens it shared.
	if _, err := Open(t.Context(), Config{DataDir: dir}, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "STATUSBRIDGE_DATA_DIR: ") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second serve Open: err = %v, want STATUSBRIDGE_DATA_DIR: … in use", err)
	}
	admin, err := Open(t.Context(), Config{DataDir: dir, Admin: true}, nil)
	if err != nil {
		t.Fatalf("admin Open beside serve: %v", err)
	}
	admin.Close()
}

func TestOpenRedis(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Open(t.Context(), Config{RedisURL: srv.URL(), Rate: 1200, Per: 30 * time.Second}, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if s.Kind() != "redis" {
		t.Fatalf("Kind = %q, want redis", s.Kind())
	}
	if !strings.Contains(logs.String(), "noeviction") {
		t.Fatalf("serve did not warn about maxmemory-policy; log: %s", logs.String())
	}
	if _, ok := s.(ConfigChecker); !ok {
		t.Fatal("the Redis store is not a ConfigChecker")
	}
	// An admin command does not check the configuration.
	logs.Reset()
	a, err := Open(t.Context(), Config{RedisURL: srv.URL(), Admin: true}, log)
	if err != nil {
		t.Fatalf("admin Open: %v", err)
	}
	a.Close()
	if logs.Len() != 0 {
		t.Fatalf("admin Open logged: %s", logs.String())
	}
}

func TestOpenRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Kill()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// serve starts anyway and says why it waits.
	s, err := Open(t.Context(), Config{RedisURL: url}, log)
	if err != nil {
		t.Fatalf("serve Open while Redis is down: %v", err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "not reachable yet") {
		t.Fatalf("log = %s, want a not-reachable warning", logs.String())
	}
	// An admin command fails at once, naming the setting.
	if _, err := Open(t.Context(), Config{RedisURL: url, Admin: true}, log); err == nil || !strings.HasPrefix(err.Error(), "REDIS_URL: ") {
		t.Fatalf("admin Open while Redis is down: err = %v, want REDIS_URL: …", err)
	}
	if _, err := Open(t.Context(), Config{RedisURL: "http://example.com"}, log); err == nil || !strings.HasPrefix(err.Error(), "REDIS_URL: ") {
		t.Fatalf("Open of a bad URL: err = %v, want REDIS_URL: …", err)
	}
}

func TestOpenRedisRefusedCredentials(t *testing.T) {
	srv := redistest.Start(t)
	if _, err := srv.Do("ACL", "SETUSER", "bridge", "on", ">right-password", "~*", "+@all"); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(srv.URL(), "redis://", "redis://bridge:wrong-password@", 1)
	_, err := Open(t.Context(), Config{RedisURL: url}, nil)
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL: Redis refused the credentials") {
		t.Fatalf("serve Open with a wrong password: err = %v, want refused credentials", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestSharedLimit(t *testing.T) {
	for _, tc := range []struct{ n, ceiling, wantMax int }{{1200, 10000, 10000}, {1200, 0, 1200}, {1500, 1000, 1500}} {
		c := sharedLimit(tc.n, tc.ceiling, 30*time.Second)
		if c.Rate != tc.n || c.Max != tc.wantMax || c.Period != 30*time.Second {
			t.Errorf("sharedLimit(%d, %d) = %+v, want start %d, ceiling %d", tc.n, tc.ceiling, c, tc.n, tc.wantMax)
		}
	}
}
