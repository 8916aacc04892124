package e2e

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/internal/fakegraph"
	"github.com/statusbridge/statusbridge/internal/slacktest"
)

// Identity discovery and the mapping CLI, through the built binary with real
// Redis, the Slack Web API stand-in (users.info) and the Graph stand-in
// (user lookups, setStatusMessage).

const discoveryBotToken = "xoxb-1111-2222-e2ediscovery"

// dworld is a world whose bridge can discover Entra ids: it has a bot token
// and a Slack Web API stand-in.
type dworld struct {
	*world
	slack *slacktest.API
	clock time.Time
}

func newDiscoveryWorld(t *testing.T, extra ...string) *dworld {
	t.Helper()
	api := slacktest.StartAPI(t, discoveryBotToken)
	w := newWorld(t, append([]string{"SLACK_BOT_TOKEN=" + discoveryBotToken, "SLACK_API_URL=" + api.URL}, extra...)...)
	return &dworld{world: w, slack: api, clock: time.Now()}
}

// slackUser makes users.info know a member of the bridge's own workspace.
func (d *dworld) slackUser(id, email string) {
	d.slack.AddUser(slacktest.User{ID: id, TeamID: team, Email: email})
}

// change sends a status change for user, each one a second newer than the last.
func (d *dworld) change(t *testing.T, p *bridgeProc, user, text string) {
	t.Helper()
	d.clock = d.clock.Add(time.Second)
	if code, body := p.send(t, event("user_status_changed", nextEventID(), user, d.clock, text, "", 0)); code != http.StatusOK {
		t.Fatalf("event for %s answered %d %q", user, code, body)
	}
}

// lookups returns the Graph user lookups (GET /users and GET /users/{id|upn}) so far.
func (d *dworld) lookups() []fakegraph.Request {
	var out []fakegraph.Request
	for _, r := range d.graph.Requests() {
		if r.Method == http.MethodGet && (r.Path == "/v1.0/users" || strings.HasPrefix(r.Path, "/v1.0/users/")) {
			out = append(out, r)
		}
	}
	return out
}

// lookupsFor returns the lookups that name addr, in the path or in $filter.
func (d *dworld) lookupsFor(addr string) []fakegraph.Request {
	var out []fakegraph.Request
	for _, r := range d.lookups() {
		q, _ := url.ParseQuery(r.RawQuery)
		if strings.EqualFold(strings.TrimPrefix(r.Path, "/v1.0/users/"), addr) ||
			strings.Contains(strings.ToLower(q.Get("$filter")), "'"+strings.ReplaceAll(strings.ToLower(addr), "'", "''")+"'") ||
			strings.Contains(strings.ToLower(q.Get("$filter")), "'smtp:"+strings.ReplaceAll(strings.ToLower(addr), "'", "''")+"'") {
			out = append(out, r)
		}
	}
	return out
}

// describe renders lookups for failure messages.
func describe(rs []fakegraph.Request) string {
	var b strings.Builder
	for _, r := range rs {
		q, _ := url.ParseQuery(r.RawQuery)
		fmt.Fprintf(&b, "\n  %s %s filter=%q -> %d", r.Method, r.Path, q.Get("$filter"), r.Status)
	}
	return b.String()
}

// mappingEntry is one entry of `mapping ls --json`.
type mappingEntry struct {
	SlackUserID string    `json:"slack_user_id"`
	EntraID     string    `json:"entra_id"`
	Source      string    `json:"source"`
	Detail      string    `json:"detail"`
	FoundAt     time.Time `json:"found_at"`
}

// lsMappings runs `mapping ls --json` with extra arguments, by Slack user id.
func lsMappings(t *testing.T, env []string, extra ...string) map[string]mappingEntry {
	t.Helper()
	out := mustCLI(t, env, append([]string{"mapping", "ls", "--json"}, extra...)...)
	var ms []mappingEntry
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		t.Fatalf("mapping ls --json: %v\n%s", err, out)
	}
	byID := map[string]mappingEntry{}
	for _, m := range ms {
		byID[m.SlackUserID] = m
	}
	return byID
}

// metric scrapes /metrics and returns the value of one series, 0 when absent.
func metric(t *testing.T, p *bridgeProc, series string) float64 {
	t.Helper()
	resp, err := http.Get(p.url("/metrics"))
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", series, v)
			}
			return f
		}
	}
	return 0
}

func lookupsMetric(result string) string {
	return `statusbridge_mapping_lookups_total{result="` + result + `"}`
}

// resolutions is the number of mapping lookups of any result so far.
func resolutions(t *testing.T, p *bridgeProc) float64 {
	t.Helper()
	n := 0.0
	for _, r := range []string{"hit", "miss", "discovered", "ambiguous", "skipped"} {
		n += metric(t, p, lookupsMetric(r))
	}
	return n
}

// TestDiscoveryFindsEntraUsers: a status change from a never-seen user reaches
// Teams with no admin action, whether the Slack email is the UPN, becomes the
// UPN through the domain rewrite, is the Entra mail or one of the proxy
// addresses. An admin entry wins and costs no lookup; a fresh discovered entry
// costs none either; `mapping rm` of a discovered entry makes the bridge look again.
func TestDiscoveryFindsEntraUsers(t *testing.T) {
	d := newDiscoveryWorld(t, "STATUSBRIDGE_EMAIL_DOMAIN_MAP=corp.com=corp.example")
	const (
		carol, carolID   = "U0CAROL01", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e01"
		dave, daveID     = "U0DAVE001", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e02"
		erin, erinID     = "U0ERIN001", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e03"
		frank, frankID   = "U0FRANK01", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e04"
		obrien, obrienID = "U0OBRIEN1", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e05"
	)
	d.graph.AddUser(fakegraph.User{ID: carolID, UPN: "carol@corp.example", Mail: "carol@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: daveID, UPN: "dave@corp.example", Mail: "dave@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: erinID, UPN: "erin.e@corpexample.onmicrosoft.com", Mail: "erin@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: frankID, UPN: "f.miller@corpexample.onmicrosoft.com", Mail: "frank.miller@corp.example",
		ProxyAddresses: []string{"SMTP:frank.miller@corp.example", "smtp:frank@corp.example"}})
	d.graph.AddUser(fakegraph.User{ID: obrienID, UPN: "obrien@corpexample.onmicrosoft.com", Mail: "o'brien@corp.example"})
	d.slackUser(carol, "carol@corp.example")
	d.slackUser(dave, "Dave@Corp.COM") // rewritten to dave@corp.example
	d.slackUser(erin, "erin@corp.example")
	d.slackUser(frank, "frank@corp.example")
	d.slackUser(obrien, "o'brien@corp.example")
	// Slack's email for alice is bob's address: the admin entry must win.
	d.slackUser(alice, "bob@corp.example")
	mustCLI(t, d.env, "mapping", "set", alice, aliceID)

	p := startServe(t, d.env)
	want := map[string]struct{ entra, detail string }{
		carol:  {carolID, "upn carol@corp.example"},
		dave:   {daveID, "upn dave@corp.example"},
		erin:   {erinID, "mail erin@corp.example"},
		frank:  {frankID, "proxyAddresses frank@corp.example"},
		obrien: {obrienID, "mail o'brien@corp.example"},
	}
	users := []string{alice, carol, dave, erin, frank, obrien}
	for _, u := range users {
		d.change(t, p, u, "In the office "+u)
	}
	for _, u := range users {
		entra := aliceID
		if u != alice {
			entra = want[u].entra
		}
		if c := d.waitCalls(t, entra, 1)[0]; c.Content != "In the office "+u {
			t.Fatalf("%s: Teams got %q", u, c.Content)
		}
	}
	if n := len(d.okCalls(bobID)); n != 0 {
		t.Fatalf("bob's Entra account got %d calls: discovery overrode the admin entry", n)
	}

	// The discovered entries, with how each was found.
	email := lsMappings(t, d.env, "--source", "email")
	if len(email) != len(want) {
		t.Fatalf("mapping ls --source email lists %d entries, want %d: %+v", len(email), len(want), email)
	}
	for u, w := range want {
		m := email[u]
		if m.EntraID != w.entra || m.Source != "email" || m.Detail != w.detail || m.FoundAt.IsZero() {
			t.Errorf("%s: stored %+v, want %s (%s)", u, m, w.entra, w.detail)
		}
	}
	if admin := lsMappings(t, d.env, "--source", "admin"); len(admin) != 1 || admin[alice].EntraID != aliceID {
		t.Fatalf("mapping ls --source admin: %+v", admin)
	}

	// The lookups Graph saw: UPN first, then mail, then proxyAddresses, and
	// no more than needed. The admin-mapped user cost no users.info.
	wantLookups := map[string]int{"carol@corp.example": 1, "dave@corp.example": 1, "erin@corp.example": 2, "frank@corp.example": 3, "o'brien@corp.example": 2}
	total := 0
	for addr, n := range wantLookups {
		total += n
		if got := d.lookupsFor(addr); len(got) != n {
			t.Errorf("%s: %d Graph lookups, want %d:%s", addr, len(got), n, describe(got))
		}
	}
	fr := d.lookupsFor("frank@corp.example")
	if len(fr) == 3 {
		q, _ := url.ParseQuery(fr[2].RawQuery)
		if fr[0].Path != "/v1.0/users/frank@corp.example" || fr[0].Status != http.StatusNotFound ||
			!strings.HasPrefix(q.Get("$filter"), "proxyAddresses/any(") || q.Get("$count") != "true" ||
			fr[2].Header.Get("ConsistencyLevel") != "eventual" {
			t.Errorf("frank's lookups are not UPN, mail, proxyAddresses (advanced query):%s", describe(fr))
		}
	}
	if got := len(d.lookups()); got != total {
		t.Errorf("%d Graph lookups in all, want %d:%s", got, total, describe(d.lookups()))
	}
	if got := d.slack.Calls("users.info"); got != len(want) {
		t.Errorf("users.info called %d times, want %d (one per discovered user, none for the admin-mapped one)", got, len(want))
	}
	t.Logf("first changes of %d users: %d users.info calls, %d Graph lookups", len(users), d.slack.Calls("users.info"), len(d.lookups()))
	if t.Failed() {
		t.FailNow()
	}

	// A second change of every user: fresh entries, no lookups at all.
	infoBefore, lookupsBefore := d.slack.Calls("users.info"), len(d.lookups())
	hitsBefore := metric(t, p, lookupsMetric("hit"))
	for _, u := range users {
		d.change(t, p, u, "Working from home "+u)
	}
	for _, u := range users {
		entra := aliceID
		if u != alice {
			entra = want[u].entra
		}
		if c := d.waitCalls(t, entra, 2)[1]; c.Content != "Working from home "+u {
			t.Fatalf("%s: Teams got %q", u, c.Content)
		}
	}
	if got := d.slack.Calls("users.info") - infoBefore; got != 0 {
		t.Errorf("second changes cost %d users.info calls, want 0", got)
	}
	if got := len(d.lookups()) - lookupsBefore; got != 0 {
		t.Errorf("second changes cost %d Graph lookups, want 0", got)
	}
	if hits := metric(t, p, lookupsMetric("hit")) - hitsBefore; hits < float64(len(users)) {
		t.Errorf("lookups_total{hit} moved by %v, want at least %d", hits, len(users))
	}
	if got := metric(t, p, lookupsMetric("discovered")); got != float64(len(want)) {
		t.Errorf("lookups_total{discovered} = %v, want %d", got, len(want))
	}
	if n := strings.Count(p.out.String(), "mapping discovered"); n != len(want) {
		t.Errorf("%q logged %d times, want %d", "mapping discovered", n, len(want))
	}

	// Removing a discovered entry makes the bridge discover the user again.
	mustCLI(t, d.env, "mapping", "rm", carol)
	if _, _, code := cli(t, d.env, "mapping", "get", carol); code == 0 {
		t.Fatal("mapping get after rm succeeded")
	}
	d.change(t, p, carol, "Back again")
	if c := d.waitCalls(t, carolID, 3)[2]; c.Content != "Back again" {
		t.Fatalf("carol: Teams got %q", c.Content)
	}
	if got := d.slack.Calls("users.info") - infoBefore; got != 1 {
		t.Errorf("rediscovery after rm cost %d users.info calls, want 1", got)
	}
	if m := lsMappings(t, d.env)[carol]; m.Source != "email" || m.EntraID != carolID {
		t.Errorf("carol after rediscovery: %+v", m)
	}
}

// TestAmbiguousAndUnknownUsers: two Entra users matching one address give no
// mapping (no status call, a log line, the ambiguous metric), an address that
// matches nobody gives none either, and both misses are cached: a second
// change of either user costs no lookup at all.
func TestAmbiguousAndUnknownUsers(t *testing.T) {
	d := newDiscoveryWorld(t)
	const gina, nobody = "U0GINA001", "U0NOBODY1"
	d.graph.AddUser(fakegraph.User{ID: "6a0e9c1d-0000-4000-8000-00000000a001", UPN: "gina.a@corpexample.onmicrosoft.com", Mail: "gina@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: "6a0e9c1d-0000-4000-8000-00000000a002", UPN: "gina.b@corpexample.onmicrosoft.com", Mail: "gina@corp.example"})
	d.slackUser(gina, "gina@corp.example")
	d.slackUser(nobody, "nobody@corp.example")
	p := startServe(t, d.env)

	d.change(t, p, gina, "Lunch")
	d.change(t, p, nobody, "Lunch")
	eventually(t, 30*time.Second, "ambiguous and miss to be counted", func() bool {
		return metric(t, p, lookupsMetric("ambiguous")) >= 1 && metric(t, p, lookupsMetric("miss")) >= 1
	})
	eventually(t, 15*time.Second, "both misses to be cached", func() bool {
		ms := lsMappings(t, d.env)
		return ms[gina].Source == "none" && ms[nobody].Source == "none"
	})
	log := p.out.String()
	if !strings.Contains(log, "no Entra user found") || !strings.Contains(log, "ambiguous: 2 Entra users match gina@corp.example by mail") {
		t.Errorf("the ambiguous match is not logged clearly:\n%s", log)
	}
	ms := lsMappings(t, d.env)
	if m := ms[gina]; m.Source != "none" || m.EntraID != "" || !strings.HasPrefix(m.Detail, "ambiguous") {
		t.Errorf("gina: %+v, want a negative entry saying ambiguous", m)
	}
	if m := ms[nobody]; m.Source != "none" || m.EntraID != "" || !strings.Contains(m.Detail, "nobody@corp.example") {
		t.Errorf("nobody: %+v, want a negative entry naming the address", m)
	}
	if n := len(d.graph.StatusCalls()); n != 0 {
		t.Fatalf("%d setStatusMessage calls for users without a mapping", n)
	}
	if got := metric(t, p, lookupsMetric("ambiguous")); got != 1 {
		t.Errorf("lookups_total{ambiguous} = %v, want 1", got)
	}
	// gina: UPN miss, then two by mail (stop). nobody: UPN, mail, proxyAddresses.
	if n := len(d.lookupsFor("gina@corp.example")); n != 2 {
		t.Errorf("gina: %d lookups, want 2:%s", n, describe(d.lookupsFor("gina@corp.example")))
	}
	if n := len(d.lookupsFor("nobody@corp.example")); n != 3 {
		t.Errorf("nobody: %d lookups, want 3:%s", n, describe(d.lookupsFor("nobody@corp.example")))
	}

	// Second changes: the negative cache answers, no Slack or Graph call.
	info, lookups, misses, seen := d.slack.Calls("users.info"), len(d.lookups()), metric(t, p, lookupsMetric("miss")), resolutions(t, p)
	d.change(t, p, gina, "Meeting")
	d.change(t, p, nobody, "Meeting")
	eventually(t, 30*time.Second, "both second changes to be resolved", func() bool {
		return resolutions(t, p) >= seen+2
	})
	if got := metric(t, p, lookupsMetric("miss")) - misses; got != 2 {
		t.Errorf("lookups_total{miss} moved by %v, want 2 (both answered by the negative cache)", got)
	}
	if got := d.slack.Calls("users.info") - info; got != 0 {
		t.Errorf("cached misses cost %d users.info calls, want 0", got)
	}
	if got := len(d.lookups()) - lookups; got != 0 {
		t.Errorf("cached misses cost %d Graph lookups, want 0:%s", got, describe(d.lookups()[lookups:]))
	}
	if got := metric(t, p, lookupsMetric("ambiguous")); got != 1 {
		t.Errorf("lookups_total{ambiguous} = %v after the cached miss, want still 1", got)
	}
	if n := len(d.graph.StatusCalls()); n != 0 {
		t.Fatalf("%d setStatusMessage calls for users without a mapping", n)
	}
	t.Logf("first changes: users.info %d, Graph lookups %d; second changes: +%d users.info, +%d lookups",
		info, lookups, d.slack.Calls("users.info")-info, len(d.lookups())-lookups)
}

// TestNegativeCacheExpires: once STATUSBRIDGE_NEGATIVE_CACHE has passed, the
// bridge looks again by itself, so a new hire whose Entra account appeared
// meanwhile gets the status they set before it existed, with no new change.
func TestNegativeCacheExpires(t *testing.T) {
	d := newDiscoveryWorld(t, "STATUSBRIDGE_NEGATIVE_CACHE=2s")
	const hank, hankID = "U0HANK001", "9b7d3e11-0000-4000-8000-0000000000b1"
	d.slackUser(hank, "hank@corp.example")
	p := startServe(t, d.env)
	d.change(t, p, hank, "First day")
	eventually(t, 30*time.Second, "the miss to be cached", func() bool {
		return lsMappings(t, d.env)[hank].Source == "none"
	})
	if n := len(d.graph.StatusCalls()); n != 0 {
		t.Fatalf("%d status calls before the account exists", n)
	}
	d.graph.AddUser(fakegraph.User{ID: hankID, UPN: "hank@corp.example", Mail: "hank@corp.example"})
	if c := d.waitCalls(t, hankID, 1)[0]; c.Content != "First day" {
		t.Fatalf("Teams got %q", c.Content)
	}
	if m := lsMappings(t, d.env)[hank]; m.Source != "email" || m.EntraID != hankID {
		t.Fatalf("after the TTL: %+v", m)
	}
	d.change(t, p, hank, "Second day")
	if c := d.waitCalls(t, hankID, 2)[1]; c.Content != "Second day" {
		t.Fatalf("Teams got %q", c.Content)
	}
	if got := d.slack.Calls("users.info"); got != 2 {
		t.Errorf("users.info called %d times, want 2 (the miss, the look after the TTL)", got)
	}
}

// TestUsersNeverMirrored: a Slack Connect user from another organisation, a
// bot, Slackbot, a deleted user, a user without an email, a user Slack does
// not know and a disabled Entra account cause no status call and are cached
// as skipped, even where an Entra account would match their address. A guest
// of the bridge's own organisation is mirrored.
func TestUsersNeverMirrored(t *testing.T) {
	d := newDiscoveryWorld(t)
	const guestID = "4c2e8f10-0000-4000-8000-0000000000c1"
	// Entra accounts that would match if the bridge did not skip these users.
	d.graph.AddUser(fakegraph.User{ID: "4c2e8f10-0000-4000-8000-0000000000c2", UPN: "stranger_partner.example#EXT#@corpexample.onmicrosoft.com", Mail: "stranger@partner.example"})
	d.graph.AddUser(fakegraph.User{ID: "4c2e8f10-0000-4000-8000-0000000000c3", UPN: "slackbot@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: "4c2e8f10-0000-4000-8000-0000000000c4", UPN: "leaver@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: "4c2e8f10-0000-4000-8000-0000000000c5", UPN: "disabled@corp.example", Disabled: true})
	d.graph.AddUser(fakegraph.User{ID: guestID, UPN: "guest@corp.example"})
	d.slack.AddUser(slacktest.User{ID: "U0STRANGE", TeamID: "T0PARTNER", Email: "stranger@partner.example", Stranger: true})
	d.slack.AddUser(slacktest.User{ID: "U0BOT0001", TeamID: team, Email: "bot@corp.example", Bot: true})
	d.slack.AddUser(slacktest.User{ID: "USLACKBOT", TeamID: team, Email: "slackbot@corp.example"})
	d.slack.AddUser(slacktest.User{ID: "U0LEAVER1", TeamID: team, Email: "leaver@corp.example", Deleted: true})
	d.slack.AddUser(slacktest.User{ID: "U0NOMAIL1", TeamID: team})
	d.slack.AddUser(slacktest.User{ID: "U0DISABL1", TeamID: team, Email: "disabled@corp.example"})
	d.slack.AddUser(slacktest.User{ID: "U0GUEST01", TeamID: team, Email: "guest@corp.example", Restricted: true})
	skipped := map[string]string{ // user → what the stored detail must say
		"U0STRANGE": "another organisation",
		"U0BOT0001": "bot",
		"USLACKBOT": "bot",
		"U0LEAVER1": "deleted",
		"U0NOMAIL1": "no email",
		"U0GHOST01": "not found in Slack", // unknown to users.info
		"U0DISABL1": "disabled",
	}
	p := startServe(t, d.env)
	for u := range skipped {
		d.change(t, p, u, "Hello from "+u)
	}
	d.change(t, p, "U0GUEST01", "Guest here")
	if c := d.waitCalls(t, guestID, 1)[0]; c.Content != "Guest here" {
		t.Fatalf("guest: Teams got %q", c.Content)
	}
	eventually(t, 30*time.Second, "every never-mirrored user to be resolved", func() bool {
		ms := lsMappings(t, d.env)
		for u := range skipped {
			if _, ok := ms[u]; !ok {
				return false
			}
		}
		return true
	})
	ms := lsMappings(t, d.env, "--source", "skipped")
	for u, why := range skipped {
		if m := ms[u]; m.EntraID != "" || !strings.Contains(m.Detail, why) {
			t.Errorf("%s: %+v, want skipped because %q", u, lsMappings(t, d.env)[u], why)
		}
	}
	// Let any late call show up, then count: only the guest reached Teams.
	time.Sleep(time.Second)
	for _, c := range d.graph.StatusCalls() {
		if c.UserID != guestID {
			t.Errorf("setStatusMessage for %s (%q)", c.UserID, c.Content)
		}
	}
	// Only the disabled account and the guest were looked up in Graph (by UPN).
	if got := d.lookups(); len(got) != 2 || len(d.lookupsFor("disabled@corp.example")) != 1 || len(d.lookupsFor("guest@corp.example")) != 1 {
		t.Errorf("Graph lookups:%s\nwant one each for disabled@ and guest@", describe(got))
	}
	if got := metric(t, p, lookupsMetric("skipped")); got != float64(len(skipped)) {
		t.Errorf("lookups_total{skipped} = %v, want %d", got, len(skipped))
	}

	// Second changes: the skipped entries answer; Slack and Graph are not asked.
	info, lookups, seen := d.slack.Calls("users.info"), len(d.lookups()), resolutions(t, p)
	for u := range skipped {
		d.change(t, p, u, "Again from "+u)
	}
	eventually(t, 30*time.Second, "the second changes to be resolved", func() bool {
		return resolutions(t, p) >= seen+float64(len(skipped))
	})
	if got := d.slack.Calls("users.info") - info; got != 0 {
		t.Errorf("cached skips cost %d users.info calls, want 0", got)
	}
	if got := len(d.lookups()) - lookups; got != 0 {
		t.Errorf("cached skips cost %d Graph lookups, want 0", got)
	}
	if n := len(d.graph.StatusCalls()); n != 1 {
		t.Errorf("%d setStatusMessage calls, want only the guest's", n)
	}
	t.Logf("%d never-mirrored users (+1 own guest): %d users.info calls, %d Graph lookups; second changes: +%d and +%d",
		len(skipped), info, lookups, d.slack.Calls("users.info")-info, len(d.lookups())-lookups)
}

// TestReverifyAfterMaxAge: a discovered entry older than
// STATUSBRIDGE_MAPPING_MAX_AGE is still used, and re-verified in the
// background: someone whose address now belongs to another Entra account
// follows it (their current status moves along), and someone whose account
// was disabled stops being mirrored.
func TestReverifyAfterMaxAge(t *testing.T) {
	d := newDiscoveryWorld(t, "STATUSBRIDGE_MAPPING_MAX_AGE=2s")
	const (
		ivy, ivyOld, ivyNew = "U0IVY0001", "8e5a1f20-0000-4000-8000-0000000000d1", "8e5a1f20-0000-4000-8000-0000000000d2"
		jack, jackID        = "U0JACK001", "8e5a1f20-0000-4000-8000-0000000000d3"
	)
	d.graph.AddUser(fakegraph.User{ID: ivyOld, UPN: "ivy@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: jackID, UPN: "jack@corp.example"})
	d.slackUser(ivy, "ivy@corp.example")
	d.slackUser(jack, "jack@corp.example")
	p := startServe(t, d.env)
	d.change(t, p, ivy, "One")
	d.change(t, p, jack, "One")
	d.waitCalls(t, ivyOld, 1)
	d.waitCalls(t, jackID, 1)
	if got := d.slack.Calls("users.info"); got != 2 {
		t.Fatalf("users.info called %d times, want 2", got)
	}

	// In Entra, ivy's UPN moves to a new account and jack's is disabled.
	d.graph.AddUser(fakegraph.User{ID: ivyNew, UPN: "ivy@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: jackID, UPN: "jack@corp.example", Disabled: true})
	time.Sleep(2500 * time.Millisecond) // let the entries age past STATUSBRIDGE_MAPPING_MAX_AGE

	// The next change still goes out with the entry at hand; re-verification runs beside it.
	d.change(t, p, ivy, "Two")
	d.change(t, p, jack, "Two")
	if c := d.waitCalls(t, ivyOld, 2)[1]; c.Content != "Two" {
		t.Fatalf("ivy: Teams got %q", c.Content)
	}
	if c := d.waitCalls(t, jackID, 2)[1]; c.Content != "Two" {
		t.Fatalf("jack: Teams got %q", c.Content)
	}
	eventually(t, 30*time.Second, "re-verification to store the new entries", func() bool {
		ms := lsMappings(t, d.env)
		return ms[ivy].EntraID == ivyNew && ms[jack].Source == "skipped"
	})
	if !strings.Contains(p.out.String(), "mapping changed on re-verification") {
		t.Error("the changed mapping is not logged")
	}
	if m := lsMappings(t, d.env)[jack]; !strings.Contains(m.Detail, "disabled") {
		t.Errorf("jack: %+v, want skipped because the account is disabled", m)
	}

	// The moved mapping carries ivy's current status to the new account at
	// once, without waiting for her next change.
	if c := d.waitCalls(t, ivyNew, 1)[0]; c.Content != "Two" {
		t.Fatalf("ivy's new account got %q, want her current status", c.Content)
	}
	d.change(t, p, ivy, "Three")
	d.change(t, p, jack, "Three")
	if c := d.waitCalls(t, ivyNew, 2)[1]; c.Content != "Three" {
		t.Fatalf("ivy's new account got %q", c.Content)
	}
	eventually(t, 30*time.Second, "jack's change to be dropped as not mirrored", func() bool {
		return metric(t, p, `statusbridge_updates_skipped_total{reason="not mirrored"}`) >= 1
	})
	// The bridge stops mirroring both old accounts cleanly: it clears the
	// message it set there (Teams still shows it), and then leaves them alone.
	time.Sleep(time.Second)
	if c := d.okCalls(jackID); len(c) != 3 || c[2].Content != "" {
		t.Errorf("jack's disabled account got %d calls (%+v), want 2 and a clear", len(c), c)
	}
	if c := d.okCalls(ivyOld); len(c) != 3 || c[2].Content != "" {
		t.Errorf("ivy's old account got %d calls (%+v), want 2 and a clear", len(c), c)
	}
	t.Logf("users.info calls: %d (2 discoveries + re-verifications)", d.slack.Calls("users.info"))
	if got := d.slack.Calls("users.info"); got < 4 {
		t.Errorf("users.info called %d times, want at least 4 (2 discoveries, 2 re-verifications)", got)
	}
}

// TestDiscoveryHonoursThrottling: a 429 from Slack's users.info or from a
// Graph lookup snoozes the user for the Retry-After (the Graph default when
// none is given); the status lands afterwards and neither API is hammered.
func TestDiscoveryHonoursThrottling(t *testing.T) {
	d := newDiscoveryWorld(t)
	const (
		kim, kimID = "U0KIM0001", "2d4f6a80-0000-4000-8000-0000000000e1"
		lee, leeID = "U0LEE0001", "2d4f6a80-0000-4000-8000-0000000000e2"
	)
	d.graph.AddUser(fakegraph.User{ID: kimID, UPN: "kim@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: leeID, UPN: "lee@corp.example"})
	d.slackUser(kim, "kim@corp.example")
	d.slackUser(lee, "lee@corp.example")
	p := startServe(t, d.env)

	// Slack: one 429 with Retry-After: 2.
	d.slack.FailNext("users.info", 1, http.StatusTooManyRequests, "2")
	sent := time.Now()
	d.change(t, p, kim, "Throttled by Slack")
	c := d.waitCalls(t, kimID, 1)[0]
	took := time.Since(sent)
	if c.Content != "Throttled by Slack" {
		t.Fatalf("Teams got %q", c.Content)
	}
	if got := d.slack.Calls("users.info"); got != 2 {
		t.Errorf("users.info called %d times, want 2 (one 429, one after the wait)", got)
	}
	if took < 2*time.Second {
		t.Errorf("the status landed %s after the change, before Slack's Retry-After of 2s", took)
	}
	t.Logf("Slack 429 (Retry-After 2s): landed after %s, users.info calls %d", took.Round(time.Millisecond), d.slack.Calls("users.info"))

	// Graph: every user read answers 429 (no Retry-After) until released.
	d.graph.SetUserReadStatus(http.StatusTooManyRequests)
	sent = time.Now()
	d.change(t, p, lee, "Throttled by Graph")
	throttled := func() int {
		n := 0
		for _, r := range d.lookupsFor("lee@corp.example") {
			if r.Status == http.StatusTooManyRequests {
				n++
			}
		}
		return n
	}
	eventually(t, 30*time.Second, "a throttled Graph lookup", func() bool { return throttled() >= 1 })
	time.Sleep(3 * time.Second)
	// One retry layer that waits: at most one more attempt in these seconds.
	if n := throttled(); n > 2 {
		t.Errorf("%d throttled Graph lookups within ~3s: the 429 is not waited out:%s", n, describe(d.lookupsFor("lee@corp.example")))
	}
	if n := len(d.okCalls(leeID)); n != 0 {
		t.Fatalf("lee's status landed without a lookup")
	}
	d.graph.SetUserReadStatus(0)
	c = d.waitCalls(t, leeID, 1)[0]
	took = time.Since(sent)
	if c.Content != "Throttled by Graph" {
		t.Fatalf("Teams got %q", c.Content)
	}
	t.Logf("Graph lookup 429 (no Retry-After): %d throttled lookups, landed after %s", throttled(), took.Round(time.Millisecond))
}

// TestMappingResolveExplains: `mapping resolve` explains each step of
// discovery and stores nothing.
func TestMappingResolveExplains(t *testing.T) {
	d := newDiscoveryWorld(t, "STATUSBRIDGE_EMAIL_DOMAIN_MAP=corp.com=corp.example")
	const frank, frankID = "U0FRANK01", "3f1c9a52-7d0e-4b6a-9c1e-0a1b2c3d4e04"
	d.graph.AddUser(fakegraph.User{ID: frankID, UPN: "f.miller@corpexample.onmicrosoft.com", Mail: "frank.miller@corp.example",
		ProxyAddresses: []string{"smtp:frank@corp.example"}})
	d.graph.AddUser(fakegraph.User{ID: "6a0e9c1d-0000-4000-8000-00000000a001", UPN: "gina.a@corpexample.onmicrosoft.com", Mail: "gina@corp.example"})
	d.graph.AddUser(fakegraph.User{ID: "6a0e9c1d-0000-4000-8000-00000000a002", UPN: "gina.b@corpexample.onmicrosoft.com", Mail: "gina@corp.example"})
	d.slackUser(frank, "frank@corp.com")
	d.slackUser("U0GINA001", "gina@corp.example")
	d.slack.AddUser(slacktest.User{ID: "U0BOT0001", TeamID: team, Bot: true})
	d.slackUser(alice, "alice@corp.example")
	mustCLI(t, d.env, "mapping", "set", alice, bobID) // an admin entry that discovery disagrees with

	out := mustCLI(t, d.env, "mapping", "resolve", frank)
	for _, step := range []string{
		`Slack users.info: team ` + team + `, email "frank@corp.com"`,
		"domain rewrite: frank@corp.com → frank@corp.example",
		"Graph upn: no user frank@corp.example",
		"Graph mail: no match",
		"Graph proxyAddresses: " + frankID,
		"result: " + frank + " → " + frankID + " (proxyAddresses frank@corp.example); not stored",
	} {
		if !strings.Contains(out, step) {
			t.Errorf("resolve %s does not say %q:\n%s", frank, step, out)
		}
	}
	out = mustCLI(t, d.env, "mapping", "resolve", "U0GINA001")
	if !strings.Contains(out, "Graph mail: 2 users match") || !strings.Contains(out, "result: no mapping (none: ambiguous") {
		t.Errorf("resolve of an ambiguous user:\n%s", out)
	}
	out = mustCLI(t, d.env, "mapping", "resolve", "U0BOT0001")
	if !strings.Contains(out, "bot true") || !strings.Contains(out, "result: no mapping (skipped: bot user)") {
		t.Errorf("resolve of a bot:\n%s", out)
	}
	out = mustCLI(t, d.env, "mapping", "resolve", alice)
	if !strings.Contains(out, "stored: "+bobID+" (admin") || !strings.Contains(out, "admin-set entry always wins") ||
		!strings.Contains(out, "result: "+alice+" → "+aliceID) {
		t.Errorf("resolve of an admin-mapped user:\n%s", out)
	}
	t.Logf("resolve %s:\n%s", alice, out)

	// Nothing was stored: only the admin entry exists, unchanged.
	ms := lsMappings(t, d.env)
	if len(ms) != 1 || ms[alice].EntraID != bobID || ms[alice].Source != "admin" {
		t.Fatalf("mappings after resolve: %+v", ms)
	}
	if n := len(d.graph.StatusCalls()); n != 0 {
		t.Fatalf("resolve made %d setStatusMessage calls", n)
	}

	// Without a bot token, resolve says what it needs.
	var noSlack []string
	for _, kv := range d.env {
		if !strings.HasPrefix(kv, "SLACK_BOT_TOKEN=") {
			noSlack = append(noSlack, kv)
		}
	}
	_, errOut, code := cli(t, noSlack, "mapping", "resolve", frank)
	if code == 0 || !strings.Contains(errOut, "SLACK_BOT_TOKEN") {
		t.Fatalf("resolve without a bot token: exit %d, %q", code, errOut)
	}
}

// TestMappingImportExport: `mapping import` takes a header, object ids, UPNs
// resolved through Graph (one with an apostrophe), quoted fields and a
// multi-line field; it reports each bad row by its line number, imports the
// good ones and exits non-zero; --dry-run changes nothing; export round-trips
// into import; a long import shows progress.
func TestMappingImportExport(t *testing.T) {
	w := newWorld(t)
	const obrienID, quoteID, goodID = "5e6f7a8b-0000-4000-8000-0000000000f1", "c0ffee00-1111-4222-8333-444455556666", "5e6f7a8b-0000-4000-8000-0000000000f3"
	w.graph.AddUser(fakegraph.User{ID: obrienID, UPN: "o'brien@corp.example", Mail: "o'brien@corp.example"})
	lines := []string{
		"slack_user_id,entra,note",                                    // 1 header
		alice + "," + aliceID + ",plain object id",                    // 2
		bob + ",bob@corp.example,UPN through Graph",                   // 3
		`U0OBRIEN1,"o'brien@corp.example","Doe, ""Jr."""`,             // 4 quoted, apostrophe, comma
		`"U0QUOTE01","  C0FFEE00-1111-4222-8333-444455556666  ","two`, // 5 upper case, spaces, a field over two lines
		`lines"`,                           // 6
		"alice," + aliceID,                 // 7 bad: not a Slack user id
		"U0BAD0001,not-an-id",              // 8 bad: neither id nor UPN
		"U0BAD0002,nobody@corp.example",    // 9 bad: no such UPN
		"U0BAD0003",                        // 10 bad: one column
		alice + "," + bobID,                // 11 bad: duplicate of line 2
		`U0BAD"04,` + goodID,               // 12 bad: a quote inside an unquoted field
		"",                                 // 13 blank
		"U0GOOD005," + goodID + ",\"x\"\r", // 14 CRLF line end
		"U0BAD0006,\"unclosed",             // 15 bad: unterminated quote
	}
	file := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantGood := map[string]string{alice: aliceID, bob: bobID, "U0OBRIEN1": obrienID, "U0QUOTE01": quoteID, "U0GOOD005": goodID}
	wantBad := []int{7, 8, 9, 10, 11, 12, 15}

	checkBad := func(what, stderr string) {
		t.Helper()
		for _, n := range wantBad {
			if !strings.Contains(stderr, fmt.Sprintf("line %d:", n)) {
				t.Errorf("%s: no report for line %d:\n%s", what, n, stderr)
			}
		}
		for _, n := range []int{1, 2, 3, 4, 5, 6, 13, 14} {
			if strings.Contains(stderr, fmt.Sprintf("line %d:", n)) {
				t.Errorf("%s: line %d reported as bad:\n%s", what, n, stderr)
			}
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Fatalf("%s crashed:\n%s", what, stderr)
		}
	}

	// --dry-run: says what it would do, stores nothing.
	out, errOut, code := cli(t, w.env, "mapping", "import", file, "--dry-run")
	if code == 0 {
		t.Errorf("dry run with bad rows exited 0")
	}
	checkBad("dry run", errOut)
	if !strings.Contains(out, fmt.Sprintf("would import %d, unchanged 0, bad rows %d", len(wantGood), len(wantBad))) {
		t.Errorf("dry run summary:\n%s", out)
	}
	for u, id := range wantGood {
		if !strings.Contains(out, "would set "+u+" → "+id) {
			t.Errorf("dry run does not show %s → %s:\n%s", u, id, out)
		}
	}
	if ms := lsMappings(t, w.env); len(ms) != 0 {
		t.Fatalf("dry run stored %d mappings: %+v", len(ms), ms)
	}

	// The flag may come first as well.
	if out, _, _ := cli(t, w.env, "mapping", "import", "--dry-run", file); !strings.Contains(out, "would import") {
		t.Errorf("mapping import --dry-run FILE:\n%s", out)
	}
	if ms := lsMappings(t, w.env); len(ms) != 0 {
		t.Fatalf("dry run stored %d mappings", len(ms))
	}

	// The import: good rows stored as admin entries, bad rows reported, exit non-zero.
	out, errOut, code = cli(t, w.env, "mapping", "import", file)
	if code == 0 {
		t.Errorf("import with bad rows exited 0")
	}
	checkBad("import", errOut)
	if !strings.Contains(out, fmt.Sprintf("imported %d, unchanged 0, bad rows %d", len(wantGood), len(wantBad))) {
		t.Errorf("import summary:\n%s", out)
	}
	t.Logf("import stdout:\n%s\nstderr:\n%s", out, errOut)
	ms := lsMappings(t, w.env)
	if len(ms) != len(wantGood) {
		t.Errorf("%d mappings stored, want %d: %+v", len(ms), len(wantGood), ms)
	}
	for u, id := range wantGood {
		if m := ms[u]; m.EntraID != id || m.Source != "admin" {
			t.Errorf("%s: %+v, want %s (admin)", u, m, id)
		}
	}
	if m := ms["U0OBRIEN1"]; !strings.Contains(m.Detail, "o'brien@corp.example") {
		t.Errorf("the UPN row does not say how it was found: %+v", m)
	}
	if n := len(w.graph.StatusCalls()); n != 0 {
		t.Errorf("import made %d setStatusMessage calls", n)
	}

	// Again: nothing changes.
	out, _, _ = cli(t, w.env, "mapping", "import", file)
	if !strings.Contains(out, fmt.Sprintf("imported 0, unchanged %d", len(wantGood))) {
		t.Errorf("second import:\n%s", out)
	}

	// Export, import into an empty store, export again: the same entries.
	exported := mustCLI(t, w.env, "mapping", "export")
	w2 := newWorld(t)
	file2 := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(file2, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, w2.env, "mapping", "import", file2)
	if !strings.Contains(out, fmt.Sprintf("imported %d, unchanged 0, bad rows 0", len(wantGood))) {
		t.Errorf("import of the export:\n%s", out)
	}
	if a, b := pairs(t, exported), pairs(t, mustCLI(t, w2.env, "mapping", "export")); a != b {
		t.Errorf("export does not round-trip:\nfirst:  %s\nsecond: %s", a, b)
	}

	// A long import shows progress and imports every row.
	var long strings.Builder
	const rows = 1200
	long.WriteString("slack_user_id,entra\n")
	for i := range rows {
		fmt.Fprintf(&long, "U0L%06d,%08x-0000-4000-8000-%012x\n", i, i, i)
	}
	file3 := filepath.Join(t.TempDir(), "long.csv")
	if err := os.WriteFile(file3, []byte(long.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w3 := newWorld(t)
	start := time.Now()
	out, errOut, code = cli(t, w3.env, "mapping", "import", file3)
	took := time.Since(start)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("imported %d, unchanged 0, bad rows 0", rows)) {
		t.Fatalf("long import: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "… 1000 rows read") || !strings.Contains(errOut, "/1200 rows imported") {
		t.Errorf("long import shows no progress:\n%s", errOut)
	}
	if n := len(lsMappings(t, w3.env, "--source", "admin")); n != rows {
		t.Errorf("%d entries after the long import, want %d", n, rows)
	}
	t.Logf("import of %d rows took %s; progress lines: %d", rows, took.Round(time.Millisecond), strings.Count(errOut, "…"))
}

// pairs reads an export and returns its slack_user_id,entra pairs, sorted.
func pairs(t *testing.T, export string) string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(export)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, export)
	}
	if len(recs) == 0 || recs[0][0] != "slack_user_id" || recs[0][1] != "entra" {
		t.Fatalf("export has no header: %q", export)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0]+"="+r[1])
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
