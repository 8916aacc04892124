package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/redistest"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// TestReconcile50kUsers: a 50,000-user directory is paged 200 users a page
// through a 429 with Retry-After, with progress on stderr; after the
// workers have applied every change, a second pass over the unchanged
// directory queues no work at all, so it costs no Graph call.
func TestReconcile50kUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 50,000-user reconcile runs in the full suite")
	}
	const n, botToken = 50_000, "xoxb-reconcile-scale-token"
	api := slacktest.StartAPI(t, botToken)
	for i := range n {
		u := slacktest.User{ID: fmt.Sprintf("U%08d", i), TeamID: slacktest.TeamID}
		if i%3 == 0 {
			u.StatusText, u.StatusEmoji = "In a meeting", ":calendar:"
		}
		api.AddUser(u)
	}
	api.FailNext("users.list", 1, 429, "1")
	srv := redistest.Start(t)
	vars := map[string]string{"REDIS_URL": srv.URL(), "SLACK_BOT_TOKEN": botToken, "SLACK_API_URL": api.URL}

	start := time.Now()
	out, errOut, err := runCLI(t, vars, "reconcile")
	took := time.Since(start)
	if err != nil || !strings.Contains(out, fmt.Sprintf("reconciled: %d changed, 0 unchanged", n)) {
		t.Fatalf("first pass: %v\n%s\n%s", err, out, errOut)
	}
	t.Logf("first pass over %d users took %s", n, took.Round(time.Millisecond))
	if !strings.Contains(errOut, "… 1000 users read\n") || !strings.Contains(errOut, fmt.Sprintf("… %d users read\n", n)) {
		t.Errorf("no progress lines:\n%s", errOut)
	}
	// 250 pages of 200, plus the one answered 429 and waited out.
	if calls := api.Calls("users.list"); calls != n/200+1 {
		t.Errorf("users.list was called %d times, want %d (pages of 200 and one 429)", calls, n/200+1)
	}

	// The workers apply every change.
	env, _, _ := testEnv(vars)
	cfg, _, err := (cmdLine{name: "reconcile", settings: storeSettings}).parse(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openAdmin(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	done := 0
	for {
		jobs, err := st.Claim(t.Context(), time.Now(), time.Minute, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			if err := st.Complete(t.Context(), j, nil, time.Now()); err != nil {
				t.Fatal(err)
			}
			done++
		}
	}
	if done != n {
		t.Fatalf("%d users were due after the first pass, want %d", done, n)
	}

	start = time.Now()
	out, errOut, err = runCLI(t, vars, "reconcile")
	if err != nil || !strings.Contains(out, fmt.Sprintf("reconciled: 0 changed, %d unchanged", n)) {
		t.Fatalf("second pass: %v\n%s\n%s", err, out, errOut)
	}
	t.Logf("second pass over %d unchanged users took %s", n, time.Since(start).Round(time.Millisecond))
	stats, err := st.Stats(t.Context(), time.Now())
	if err != nil || stats.Due != 0 {
		t.Fatalf("after an unchanged pass %d users are due (%v), want none: no Graph call to make", stats.Due, err)
	}
}
