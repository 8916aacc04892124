package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// rssLimitKB is the memory serve may use with 100,000 mappings and a
// 10,000-user backlog: 64 MB.
const rssLimitKB = 64 << 10

// TestServeMemoryAt100kUsers loads 100,000 mappings and a backlog of 10,000
// due users into a real Redis through the store, starts serve against it
// (dry run, and against the Graph stand-in), lets it drain the backlog and
// reads its resident memory from /proc. It takes about a minute, so it runs
// when STATUSBRIDGE_SCALE_TEST is set (scripts/bench.sh sets it).
func TestServeMemoryAt100kUsers(t *testing.T) {
	if os.Getenv("STATUSBRIDGE_SCALE_TEST") == "" {
		t.Skip("set STATUSBRIDGE_SCALE_TEST=1 (scripts/bench.sh does) to measure serve's memory at 100,000 users")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read a process's memory")
	}
	const mapped, backlog = 100_000, 10_000
	for _, mode := range []string{"dry-run", "graph"} {
		t.Run(mode, func(t *testing.T) {
			srv := redistest.Start(t)
			graph := fakegraph.Start(t)
			st, err := redisstore.Open(t.Context(), srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ms := make([]bridge.Mapping, mapped)
			now := time.Now()
			for i := range ms {
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				ms[i] = bridge.Mapping{SlackUserID: fmt.Sprintf("U%08d", i), EntraID: id, Source: bridge.SourceAdmin, Detail: "imported", FoundAt: now.UTC()}
				if i < backlog {
					graph.AddUser(fakegraph.User{ID: id, UPN: fmt.Sprintf("u%d@corp.example", i)})
				}
			}
			if err := st.SetMappings(t.Context(), ms, now); err != nil {
				t.Fatal(err)
			}
			ms = nil
			for i := range backlog {
				c := bridge.Change{UserID: fmt.Sprintf("U%08d", i), TeamID: team, EventTime: now,
					Status: bridge.Status{Text: fmt.Sprintf("In a meeting %d", i), Emoji: "📆", EmojiName: ":calendar:"}, Source: bridge.SourceReconcile}
				if _, err := st.Submit(t.Context(), c, now); err != nil {
					t.Fatal(err)
				}
			}
			env := baseEnv("REDIS_URL="+srv.URL(), "SLACK_SIGNING_SECRET="+signingSecret, "STATUSBRIDGE_LOG_LEVEL=warn")
			if mode == "dry-run" {
				env = append(env, "STATUSBRIDGE_DRY_RUN=true")
			} else {
				env = append(append(env, graph.Env()...), "STATUSBRIDGE_GRAPH_RATE=2000/1s", "STATUSBRIDGE_GRAPH_RATE_MAX=4000/1s")
			}
			start := time.Now()
			p := startServe(t, env)
			pid := p.cmd.Process.Pid
			peak := 0
			drained := false
			deadline := time.Now().Add(3 * time.Minute)
			for time.Now().Before(deadline) {
				peak = max(peak, procKB(t, pid, "VmRSS"))
				stats, err := st.Stats(context.Background(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if stats.Due == 0 {
					drained = true
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !drained {
				t.Fatalf("the backlog of %d users did not drain in 3 minutes", backlog)
			}
			took := time.Since(start)
			time.Sleep(2 * time.Second) // settle
			rss, hwm := procKB(t, pid, "VmRSS"), procKB(t, pid, "VmHWM")
			if mode == "graph" {
				if ok, _, _ := graph.Counts(); ok < backlog {
					t.Errorf("%d setStatusMessage calls succeeded, want %d", ok, backlog)
				}
			}
			t.Logf("serve (%s) with %d mappings drained %d due users in %s: VmRSS %.1f MB after settling, %.1f MB peak sampled, VmHWM %.1f MB",
				mode, mapped, backlog, took.Round(100*time.Millisecond), float64(rss)/1024, float64(peak)/1024, float64(hwm)/1024)
			if hwm > rssLimitKB {
				t.Errorf("serve's resident memory peaked at %.1f MB, want at most %d MB", float64(hwm)/1024, rssLimitKB>>10)
			}
		})
	}
}

// procKB reads one "Vm…: N kB" field of /proc/<pid>/status.
func procKB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading serve's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
