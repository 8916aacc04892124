package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickStart follows the README's first command: only the signing
// secret, no Redis, no Azure settings. The bridge keeps its store in ./data
// and logs, in dry run, the exact update it would send.
func TestQuickStart(t *testing.T) {
	dir := t.TempDir()
	env := baseEnv("SLACK_SIGNING_SECRET=" + signingSecret)
	admin := exec.Command(bin, "mapping", "set", alice, aliceID)
	admin.Dir, admin.Env = dir, env
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("mapping set: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "statusbridge.db")); err != nil {
		t.Fatalf("no store in ./data: %v", err)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	out := &output{}
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Env = dir, append(env, "STATUSBRIDGE_LISTEN="+addr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("statusbridge output:\n%s", out.String())
		}
	})
	p := &bridgeProc{t: t, out: out, addr: addr}
	eventually(t, 60*time.Second, "serve to answer /healthz", func() bool {
		resp, err := http.Get(p.url("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	exp := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	if code, body := p.send(t, event("user_status_changed", nextEventID(), alice, time.Now(), "Vacationing", ":palm_tree:", exp.Unix())); code != 200 {
		t.Fatalf("event answered %d %q", code, body)
	}
	want := []string{"dry run: would set Teams status message", "entra_id=" + aliceID, `content="🌴 Vacationing"`,
		"expiry_utc=" + exp.UTC().Format("2006-01-02T15:04:05")}
	eventually(t, 15*time.Second, "the dry-run line", func() bool {
		log := out.String()
		for _, w := range want {
			if !strings.Contains(log, w) {
				return false
			}
		}
		return true
	})
	if !strings.Contains(out.String(), "no Azure settings") {
		t.Fatalf("no notice that it runs in dry run:\n%s", out.String())
	}
}
