package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// simStatus is one Slack status of a simulated user at one event time.
type simStatus struct {
	text, emoji string
	exp         int64
	at          time.Time
}

// statusEmoji are standard Slack emoji and the Unicode Teams must show.
var statusEmoji = []struct{ name, uni string }{
	{":palm_tree:", "\U0001F334"},
	{":calendar:", "\U0001F4C6"},
	{":car:", "\U0001F697"},
	{":headphones:", "\U0001F3A7"},
	{":coffee:", "\u2615"},
	{":hamburger:", "\U0001F354"},
}

var statusTexts = []string{"In a meeting", "Vacationing", "Commuting", "Focusing", "Out sick", "Lunch", "Working remotely"}

// randomStatus returns a random status at at: a clear, text and/or emoji,
// with no expiry, a future one or one already past (which Teams shows as a
// clear).
func randomStatus(r *rand.Rand, at, now time.Time) simStatus {
	s := simStatus{at: at}
	if r.IntN(100) < 15 {
		return s
	}
	if r.IntN(100) < 85 {
		s.text = fmt.Sprintf("%s %d", statusTexts[r.IntN(len(statusTexts))], r.IntN(1000))
	}
	if s.text == "" || r.IntN(100) < 60 {
		s.emoji = statusEmoji[r.IntN(len(statusEmoji))].name
	}
	switch x := r.IntN(100); {
	case x < 40:
		s.exp = now.Add(time.Hour + time.Duration(r.IntN(72*3600))*time.Second).Unix()
	case x < 48:
		s.exp = now.Add(-time.Duration(1+r.IntN(3600)) * time.Second).Unix()
	}
	return s
}

// render is what Teams must show for s: the content and the expiry in UTC
// ("" when none).
func (s simStatus) render(now time.Time) (content, expiry string) {
	if s.exp > 0 && !time.Unix(s.exp, 0).After(now) {
		return "", ""
	}
	uni := ""
	for _, e := range statusEmoji {
		if e.name == s.emoji {
			uni = e.uni
		}
	}
	switch {
	case uni != "" && s.text != "":
		content = uni + " " + s.text
	case uni != "":
		content = uni
	default:
		content = s.text
	}
	if content != "" && s.exp > 0 {
		expiry = time.Unix(s.exp, 0).UTC().Format(wantLayout)
	}
	return content, expiry
}

func (s simStatus) event(typ, id, user string) []byte {
	return event(typ, id, user, s.at, s.text, s.emoji, s.exp)
}

// simUser is a Slack user mapped to an Entra user known to the Graph stand-in.
type simUser struct {
	slack, entra string
	changes      []simStatus // by event time, oldest first
}

// newest is the user's status Slack shows last.
func (u *simUser) newest() simStatus { return u.changes[len(u.changes)-1] }

// makeUsers creates n users, registers their Entra ids with the Graph
// stand-in and maps them all with one `mapping import`.
func makeUsers(t *testing.T, w *world, tag string, n int) []*simUser {
	t.Helper()
	users := make([]*simUser, n)
	var csv strings.Builder
	csv.WriteString("slack_user_id,entra\n")
	for i := range users {
		u := &simUser{
			slack: fmt.Sprintf("U%s%06d", tag, i),
			entra: fmt.Sprintf("5ca1ab1e-0000-4000-8000-%012x", i),
		}
		users[i] = u
		w.graph.AddUser(fakegraph.User{ID: u.entra, UPN: strings.ToLower(u.slack) + "@corp.example"})
		fmt.Fprintf(&csv, "%s,%s\n", u.slack, u.entra)
	}
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, w.env, "mapping", "import", path)
	if !strings.Contains(out, fmt.Sprintf("imported %d,", n)) {
		t.Fatalf("mapping import: %q", out)
	}
	return users
}

// mismatch says how a user's Teams state differs from its newest Slack
// status, or "" when it shows exactly that.
func mismatch(g *fakegraph.Server, u *simUser, now time.Time) string {
	content, expiry := u.newest().render(now)
	c, ok := g.Current(u.entra)
	switch {
	case !ok && content == "":
		// Never written: Teams shows no message, which is what a clear wants
		// (the bridge reads Teams and skips a clear of nothing).
		return ""
	case !ok:
		return fmt.Sprintf("%s: nothing in Teams, want %q", u.slack, content)
	case c.Content != content:
		return fmt.Sprintf("%s: Teams shows %q, want %q", u.slack, c.Content, content)
	case expiry == "" && c.HasExpiry:
		return fmt.Sprintf("%s: Teams expiry %s, want none", u.slack, c.ExpiryDateTime)
	case expiry != "" && (!c.HasExpiry || c.ExpiryDateTime != expiry || c.TimeZone != "UTC"):
		return fmt.Sprintf("%s: Teams expiry %q %q, want %q UTC", u.slack, c.ExpiryDateTime, c.TimeZone, expiry)
	}
	return ""
}

// mismatches lists every user whose Teams state is not its newest Slack status.
func mismatches(g *fakegraph.Server, users []*simUser) []string {
	now := time.Now()
	var out []string
	for _, u := range users {
		if m := mismatch(g, u, now); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// waitConverged waits until every user's Teams state is its newest Slack status.
func waitConverged(t *testing.T, g *fakegraph.Server, users []*simUser, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last []string
	for {
		if last = mismatches(g, users); len(last) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			ok, thr, failed := g.Counts()
			n := min(len(last), 10)
			t.Fatalf("after %s, %d of %d users do not show their newest Slack status (graph ok=%d throttled=%d failed=%d); first %d:\n%s",
				timeout, len(last), len(users), ok, thr, failed, n, strings.Join(last[:n], "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// okCallsByUser counts successful setStatusMessage calls per Entra id and,
// separately, the calls that repeated the user's previous successful message
// (at-least-once repeats after a crash or a lost acknowledgement).
func okCallsByUser(g *fakegraph.Server) (calls, repeats map[string]int) {
	calls, repeats = map[string]int{}, map[string]int{}
	last := map[string]fakegraph.StatusCall{}
	for _, c := range g.StatusCalls() {
		if c.Status != http.StatusOK {
			continue
		}
		id := strings.ToLower(c.UserID)
		if p, ok := last[id]; ok && p.Content == c.Content && p.ExpiryDateTime == c.ExpiryDateTime {
			repeats[id]++
		}
		last[id] = c
		calls[id]++
	}
	return calls, repeats
}

// parkedUsers runs `statusbridge parked ls --json`.
func parkedUsers(t *testing.T, env []string) []struct{ User, Reason string } {
	t.Helper()
	out := mustCLI(t, env, "parked", "ls", "--json")
	var ps []struct{ User, Reason string }
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("parked ls --json: %v\n%s", err, out)
	}
	return ps
}

// fleet is a set of serve replicas sharing one store and Graph stand-in, each
// on its own port.
type fleet struct {
	t     *testing.T
	env   []string
	mu    sync.Mutex
	procs []*bridgeProc
}

func startFleet(t *testing.T, env []string, n int) *fleet {
	t.Helper()
	f := &fleet{t: t, env: env}
	for i := 0; i < n; i++ {
		f.procs = append(f.procs, startServe(t, env))
	}
	return f
}

// addrs returns the current replicas' base URLs.
func (f *fleet) addrs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.procs))
	for i, p := range f.procs {
		out[i] = "http://" + p.addr
	}
	return out
}

// crash SIGKILLs replica i, waits down, and starts a new one in its place
// (on a new port, as a rescheduled pod would be). Call it from the test goroutine.
func (f *fleet) crash(i int, down time.Duration) {
	f.t.Helper()
	f.mu.Lock()
	p := f.procs[i]
	f.mu.Unlock()
	p.kill()
	time.Sleep(down)
	np := startServe(f.t, f.env)
	f.mu.Lock()
	f.procs[i] = np
	f.mu.Unlock()
}

// slackSender delivers events the way Slack does: each event goes to one of
// the replicas; a non-2xx answer, a network error or no answer within 3 s is
// delivered again with the same event id (and X-Slack-Retry-Num), to a replica
// chosen again, until a 2xx answer or the sender's deadline.
type slackSender struct {
	client   *http.Client
	targets  func() []string
	deadline time.Time

	deliveries atomic.Int64 // events handed to deliver
	requests   atomic.Int64 // HTTP attempts
	redelivers atomic.Int64 // attempts after a failed one
	gaveUp     atomic.Int64
	mu         sync.Mutex
	answers    map[string]int // "200", "503", "network error"
}

func newSlackSender(targets func() []string, deadline time.Time) *slackSender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &slackSender{
		client:   &http.Client{Transport: tr, Timeout: 3 * time.Second},
		targets:  targets,
		deadline: deadline,
		answers:  map[string]int{},
	}
}

func (s *slackSender) count(answer string) {
	s.mu.Lock()
	s.answers[answer]++
	s.mu.Unlock()
}

// answerCounts returns how often each answer was seen.
func (s *slackSender) answerCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.answers {
		out[k] = v
	}
	return out
}

// deliver sends body until it is acknowledged; it reports false when the
// deadline passed first.
func (s *slackSender) deliver(body []byte) bool {
	s.deliveries.Add(1)
	reason := ""
	for attempt := 0; ; attempt++ {
		if time.Now().After(s.deadline) {
			s.gaveUp.Add(1)
			return false
		}
		if attempt > 0 {
			s.redelivers.Add(1)
			time.Sleep(time.Duration(min(attempt, 10)) * 50 * time.Millisecond)
		}
		targets := s.targets()
		req := slacktest.NewRequest(targets[rand.IntN(len(targets))]+"/slack/events", signingSecret, time.Now(), body)
		if attempt > 0 {
			req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(min(attempt, 3)))
			req.Header.Set("X-Slack-Retry-Reason", reason)
		}
		s.requests.Add(1)
		resp, err := s.client.Do(req)
		if err != nil {
			s.count("network error")
			reason = "http_timeout"
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.count(strconv.Itoa(resp.StatusCode))
		if resp.StatusCode/100 == 2 {
			return true
		}
		reason = "http_error"
	}
}

// sendAll runs the users' scripts with workers goroutines, each script in order.
func sendAll(users []*simUser, workers int, script func(u *simUser)) *sync.WaitGroup {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(users) {
					return
				}
				script(users[k])
			}
		}()
	}
	return &wg
}
