package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// helperEnv makes the test binary act as a second statusbridge process.
const helperEnv = "STATUSBRIDGE_EMBEDDED_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Getenv("STATUSBRIDGE_DATA_DIR")))
	}
	os.Exit(m.Run())
}

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

const entraID = "6e1f0a52-3c0b-4b8e-9d7e-1b2c3d4e5f60"

func change(user, event string, sec int, text string) bridge.Change {
	return bridge.Change{
		UserID:    user,
		Status:    bridge.Status{Text: text, Emoji: "🌴", EmojiName: ":palm_tree:"},
		EventID:   event,
		EventTime: t0.Add(time.Duration(sec) * time.Second),
		Source:    "http",
	}
}

// helper runs one step as another process would, and returns the exit code.
func helper(mode, dir string) int {
	ctx := context.Background()
	switch mode {
	case "serve":
		// A second serve on the same data dir.
		s, err := embedded.Open(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.Close()
		return 0
	case "mapping":
		// statusbridge mapping set, beside a running serve.
		s, err := embedded.Open(dir, embedded.Shared())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer s.Close()
		for i := range 20 {
			m := bridge.Mapping{SlackUserID: fmt.Sprintf("U%03d", i), EntraID: entraID, Source: bridge.SourceAdmin}
			if err := s.SetMapping(ctx, m, t0); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return 0
	case "crash":
		// Submit, then die without closing anything.
		s, err := embedded.Open(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.Submit(ctx, change("U001", "Ev1", 0, "Vacationing"), t0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Exit(7)
	}
	return 2
}

func runHelper(t *testing.T, mode, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "STATUSBRIDGE_DATA_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("run helper %s: %v", mode, err)
	return 0, ""
}

func open(t *testing.T, dir string, opts ...embedded.Option) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSecondServeFailsWithClearMessage(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	want := fmt.Sprintf("data dir %s is in use by another statusbridge process (lock on %s)",
		dir, filepath.Join(dir, "serve.lock"))

	// In this process.
	_, err := embedded.Open(dir)
	if !errors.Is(err, embedded.ErrInUse) || err.Error() != want {
		t.Fatalf("second Open: err = %v, want %q (ErrInUse)", err, want)
	}
	// In another process.
	code, out := runHelper(t, "serve", dir)
	if code != 1 || strings.TrimSpace(out) != want {
		t.Fatalf("second serve process: exit %d, output %q; want exit 1 and %q", code, out, want)
	}

	// Once the first one is closed, the data dir is free again.
	noErr(t, "Close", s.Close())
	if code, out := runHelper(t, "serve", dir); code != 0 {
		t.Fatalf("serve after Close: exit %d, output %q", code, out)
	}
	if _, err := s.Claim(context.Background(), t0, time.Minute, 1); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Claim after Close: err = %v, want ErrClosed", err)
	}
}

func TestAdminCommandBesideBusyServe(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := range 50 {
		u := fmt.Sprintf("U%03d", i)
		if _, err := s.Submit(t.Context(), change(u, "Ev"+u, 0, "x"), t0); err != nil {
			t.Fatal(err)
		}
	}
	// serve keeps the file busy: workers claim and release without pause.
	ctx, cancel := context.WithCancel(t.Context())
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		serveErr error
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				jobs, err := s.Claim(ctx, t0, time.Minute, 1)
				for _, j := range jobs {
					if err == nil {
						err = s.Release(ctx, j, t0)
					}
				}
				if err != nil && ctx.Err() == nil {
					mu.Lock()
					serveErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	code, out := runHelper(t, "mapping", dir)
	cancel()
	wg.Wait()
	if serveErr != nil {
		t.Fatalf("serve: %v", serveErr)
	}
	if code != 0 {
		t.Fatalf("mapping set beside serve: exit %d, output %q", code, out)
	}
	ms, err := s.ListMappings(t.Context())
	noErr(t, "ListMappings", err)
	if len(ms) != 20 {
		t.Fatalf("serve sees %d mappings, want 20", len(ms))
	}
}

func TestBusyFileTimesOut(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, embedded.Shared(), embedded.WithLockTimeout(100*time.Millisecond))
	// A foreign holder keeps the data file open.
	db, err := bolt.Open(filepath.Join(dir, embedded.FileName), 0o600, nil)
	noErr(t, "bolt.Open", err)
	defer db.Close()
	err = s.Ping(t.Context())
	if !errors.Is(err, embedded.ErrBusy) || !strings.Contains(err.Error(), "is busy") {
		t.Fatalf("Ping while another process holds the file: err = %v, want ErrBusy", err)
	}
	db.Close()
	noErr(t, "Ping", s.Ping(t.Context()))
}

func TestDataSurvivesCloseAndOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := embedded.Open(dir)
	noErr(t, "Open", err)
	c1 := change("U001", "Ev1", 0, "Vacationing")
	if out, err := s.Submit(ctx, c1, t0); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	if out, err := s.Submit(ctx, change("U002", "Ev2", 0, "Lunch"), t0); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	jobs, err := s.Claim(ctx, t0, time.Minute, 2)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Claim = %v, %v", jobs, err)
	}
	applied := &bridge.Applied{Message: bridge.Message{Content: "🌴 Vacationing"}, EntraID: entraID, AppliedAt: t0}
	noErr(t, "Complete", s.Complete(ctx, jobs[0], applied, t0))
	noErr(t, "Park", s.Park(ctx, jobs[1], "graph 404: user not found", t0))
	noErr(t, "SetMapping", s.SetMapping(ctx, bridge.Mapping{SlackUserID: "U003", EntraID: entraID, Source: bridge.SourceAdmin}, t0))
	noErr(t, "Close", s.Close())

	s = open(t, dir)
	if out, err := s.Submit(ctx, c1, t0.Add(time.Minute)); err != nil || out != bridge.Duplicate {
		t.Fatalf("Submit of a seen event after reopen = %v, %v; want duplicate", out, err)
	}
	ps, err := s.ListParked(ctx)
	if err != nil || len(ps) != 1 || ps[0].UserID != "U002" {
		t.Fatalf("ListParked after reopen = %+v, %v", ps, err)
	}
	if m, ok, err := s.GetMapping(ctx, "U003"); err != nil || !ok || m.EntraID != entraID {
		t.Fatalf("GetMapping after reopen = %+v, %v, %v", m, ok, err)
	}
	if out, err := s.Submit(ctx, change("U001", "Ev3", 60, "Back"), t0.Add(time.Minute)); err != nil || out != bridge.Accepted {
		t.Fatalf("Submit = %v, %v", out, err)
	}
	jobs, err = s.Claim(ctx, t0.Add(time.Minute), time.Minute, 5)
	if err != nil || len(jobs) != 1 || jobs[0].UserID != "U001" {
		t.Fatalf("Claim after reopen = %+v, %v", jobs, err)
	}
	if jobs[0].Applied == nil || !jobs[0].Applied.Message.Equal(applied.Message) {
		t.Fatalf("applied after reopen = %+v, want %+v", jobs[0].Applied, applied)
	}
}

func TestSubmitSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	if code, out := runHelper(t, "crash", dir); code != 7 {
		t.Fatalf("crashing helper: exit %d, output %q", code, out)
	}
	// The crashed process's serve lock went with it.
	s := open(t, dir)
	jobs, err := s.Claim(t.Context(), t0, time.Minute, 5)
	if err != nil || len(jobs) != 1 || jobs[0].Desired.Status.Text != "Vacationing" {
		t.Fatalf("Claim after a crash = %+v, %v; want the submitted change", jobs, err)
	}
}

func TestDedupeWindow(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), embedded.WithDedupeTTL(time.Hour))
	c := change("U001", "Ev1", 0, "Vacationing")
	if out, _ := s.Submit(ctx, c, t0); out != bridge.Accepted {
		t.Fatalf("Submit = %v", out)
	}
	if out, _ := s.Submit(ctx, c, t0.Add(59*time.Minute)); out != bridge.Duplicate {
		t.Fatalf("Submit within the window = %v, want duplicate", out)
	}
	// After the window the id is forgotten; the change itself is unchanged.
	if out, _ := s.Submit(ctx, c, t0.Add(61*time.Minute)); out != bridge.Unchanged {
		t.Fatalf("Submit after the window = %v, want unchanged", out)
	}
	if out, _ := s.Submit(ctx, c, t0.Add(62*time.Minute)); out != bridge.Duplicate {
		t.Fatalf("Submit after re-remembering = %v, want duplicate", out)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := embedded.Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	noErr(t, "WriteFile", os.WriteFile(file, nil, 0o600))
	if _, err := embedded.Open(file); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
	// A data file written by a newer statusbridge is refused.
	db, err := bolt.Open(filepath.Join(dir, embedded.FileName), 0o600, nil)
	noErr(t, "bolt.Open", err)
	noErr(t, "Update", db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("version"), []byte("99"))
	}))
	db.Close()
	if _, err := embedded.Open(dir); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Fatalf("Open of a newer data file: err = %v", err)
	}
	// The failed Open let the serve lock go.
	noErr(t, "remove", os.Remove(filepath.Join(dir, embedded.FileName)))
	open(t, dir)
}

func TestFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	open(t, dir)
	fi, err := os.Stat(filepath.Join(dir, embedded.FileName))
	noErr(t, "Stat", err)
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("data file mode = %v, want no access for group and others", fi.Mode())
	}
}

func TestCanceledContext(t *testing.T) {
	s := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Submit(ctx, change("U001", "Ev1", 0, "x"), t0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with a canceled context: err = %v", err)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
