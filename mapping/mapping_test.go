package mapping

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
)

// The directory and finder below are in-memory stand-ins with call counters;
// the real Slack and Graph clients run against HTTP stand-ins in e2e tests.

type directory struct {
	mu    sync.Mutex
	users map[string]bridge.SlackUser
	calls int
	err   error
}

func (d *directory) SlackUser(_ context.Context, id string) (bridge.SlackUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.err != nil {
		return bridge.SlackUser{}, d.err
	}
	u, ok := d.users[id]
	if !ok {
		return bridge.SlackUser{}, bridge.ErrNotFound
	}
	return u, nil
}

type finder struct {
	mu    sync.Mutex
	users []bridge.EntraUser
	proxy map[string]string // address → id
	calls int
	// upnErr, when set, answers a UPN lookup with an error instead.
	upnErr func(upn string) error
	// lookups lists "kind address" for each lookup.
	lookups []string
}

func (f *finder) UserByID(_ context.Context, idOrUPN string) (bridge.EntraUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.lookups = append(f.lookups, "upn "+idOrUPN)
	if f.upnErr != nil {
		if err := f.upnErr(idOrUPN); err != nil {
			return bridge.EntraUser{}, err
		}
	}
	for _, u := range f.users {
		if strings.EqualFold(u.ID, idOrUPN) || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u, nil
		}
	}
	return bridge.EntraUser{}, bridge.ErrNotFound
}

func (f *finder) UsersByMail(_ context.Context, mail string) ([]bridge.EntraUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.lookups = append(f.lookups, "mail "+mail)
	var out []bridge.EntraUser
	for _, u := range f.users {
		if strings.EqualFold(u.Mail, mail) {
			out = append(out, u)
		}
	}
	return out, nil
}

func (f *finder) UsersByProxyAddress(_ context.Context, addr string) ([]bridge.EntraUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.lookups = append(f.lookups, "proxyAddresses "+addr)
	var out []bridge.EntraUser
	for a, id := range f.proxy {
		if strings.EqualFold(a, addr) {
			for _, u := range f.users {
				if u.ID == id {
					out = append(out, u)
				}
			}
		}
	}
	return out, nil
}

func (f *finder) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

func ptr(b bool) *bool { return &b }

const (
	idA = "aaaaaaaa-0000-4000-8000-000000000001"
	idB = "bbbbbbbb-0000-4000-8000-000000000002"
	idC = "cccccccc-0000-4000-8000-000000000003"
	idD = "dddddddd-0000-4000-8000-000000000004"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// outcomes records what Resolve reported to Options.Observe.
type outcomes struct {
	mu  sync.Mutex
	got []Outcome
}

func (o *outcomes) observe(x Outcome) { o.mu.Lock(); o.got = append(o.got, x); o.mu.Unlock() }

func (o *outcomes) last() Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.got) == 0 {
		return 0
	}
	return o.got[len(o.got)-1]
}

func setup(t *testing.T, opts ...func(*Options)) (*Resolver, *embedded.Store, *directory, *finder, *clock) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := &directory{users: map[string]bridge.SlackUser{
		"UUPN00001": {ID: "UUPN00001", Email: "Alice@corp.com"},
		"UMAIL0001": {ID: "UMAIL0001", Email: "bob@corp.com"},
		"UREWRITE1": {ID: "UREWRITE1", Email: "carol@eu.corp.com"},
		"UPROXY001": {ID: "UPROXY001", Email: "dave.old@corp.com"},
		"UAMBIG001": {ID: "UAMBIG001", Email: "shared@corp.com"},
		"UGUEST001": {ID: "UGUEST001", Email: "x@partner.com", External: true},
		"UBOT00001": {ID: "UBOT00001", Bot: true},
		"UDELETED1": {ID: "UDELETED1", Email: "gone@corp.com", Deleted: true},
		"UNOMAIL01": {ID: "UNOMAIL01"},
		"UDISABLED": {ID: "UDISABLED", Email: "off@corp.com"},
		"UUNKNOWN1": {ID: "UUNKNOWN1", Email: "nobody@corp.com"},
		"UQUOTE001": {ID: "UQUOTE001", Email: "o'brien@corp.com"},
	}}
	f := &finder{
		users: []bridge.EntraUser{
			{ID: idA, UserPrincipalName: "alice@corp.com", Mail: "alice@corp.com", AccountEnabled: ptr(true)},
			{ID: idB, UserPrincipalName: "bob@corp.onmicrosoft.com", Mail: "bob@corp.com", AccountEnabled: ptr(true)},
			{ID: idC, UserPrincipalName: "carol@corp.onmicrosoft.com", Mail: "carol@corp.onmicrosoft.com"},
			{ID: idD, UserPrincipalName: "dave@corp.com", Mail: "dave@corp.com"},
			{ID: "eeeeeeee-0000-4000-8000-000000000005", UserPrincipalName: "s1@corp.com", Mail: "shared@corp.com"},
			{ID: "ffffffff-0000-4000-8000-000000000006", UserPrincipalName: "s2@corp.com", Mail: "shared@corp.com"},
			{ID: "99999999-0000-4000-8000-000000000009", UserPrincipalName: "off@corp.com", Mail: "off@corp.com", AccountEnabled: ptr(false)},
			{ID: "12121212-0000-4000-8000-000000000012", UserPrincipalName: "o'brien@corp.com", Mail: "o'brien@corp.com"},
		},
		proxy: map[string]string{"dave.old@corp.com": idD},
	}
	c := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	o := Options{Directory: dir, Finder: f, Now: c.now,
		DomainMap: map[string]string{"eu.corp.com": "corp.onmicrosoft.com"}}
	for _, opt := range opts {
		opt(&o)
	}
	return New(st, o), st, dir, f, c
}

func TestDiscovery(t *testing.T) {
	var seen outcomes
	r, st, _, _, _ := setup(t, func(o *Options) { o.Observe = seen.observe })
	ctx := context.Background()
	tests := []struct {
		user    string
		want    string
		wantErr error
		outcome Outcome
		source  bridge.MappingSource
		detail  string
	}{
		{"UUPN00001", idA, nil, Discovered, bridge.SourceEmail, "upn alice@corp.com"},
		{"UMAIL0001", idB, nil, Discovered, bridge.SourceEmail, "mail bob@corp.com"},
		{"UREWRITE1", idC, nil, Discovered, bridge.SourceEmail, "upn carol@corp.onmicrosoft.com"},
		{"UPROXY001", idD, nil, Discovered, bridge.SourceEmail, "proxyAddresses dave.old@corp.com"},
		{"UQUOTE001", "12121212-0000-4000-8000-000000000012", nil, Discovered, bridge.SourceEmail, "upn o'brien@corp.com"},
		{"UAMBIG001", "", bridge.ErrUnmapped, Ambiguous, bridge.SourceNone, "ambiguous: 2 Entra users"},
		{"UUNKNOWN1", "", bridge.ErrUnmapped, Miss, bridge.SourceNone, "no Entra user"},
		{"UGUEST001", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "another organisation"},
		{"UBOT00001", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "bot"},
		{"USLACKBOT", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "Slackbot"},
		{"UGHOST001", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "not found in Slack"},
		{"UDELETED1", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "deleted"},
		{"UNOMAIL01", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "no email"},
		{"UDISABLED", "", bridge.ErrSkipped, Skipped, bridge.SourceSkipped, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := r.Resolve(ctx, tt.user)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resolve = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if o := seen.last(); o != tt.outcome {
				t.Fatalf("observed %v, want %v", o, tt.outcome)
			}
			m, ok, err := st.GetMapping(ctx, tt.user)
			if err != nil || !ok {
				t.Fatalf("not stored: %v %v", ok, err)
			}
			if m.Source != tt.source || m.EntraID != tt.want || !strings.Contains(m.Detail, tt.detail) {
				t.Fatalf("stored %+v, want source %s, detail containing %q", m, tt.source, tt.detail)
			}
		})
	}
}

func TestAdminEntryWinsAndNeedsNoLookup(t *testing.T) {
	r, st, dir, f, c := setup(t)
	ctx := context.Background()
	if err := st.SetMapping(ctx, bridge.Mapping{SlackUserID: "UUPN00001", EntraID: idB, Source: bridge.SourceAdmin, FoundAt: c.now()}, c.now()); err != nil {
		t.Fatal(err)
	}
	c.add(400 * 24 * time.Hour)
	got, err := r.Resolve(ctx, "UUPN00001")
	r.Wait()
	if err != nil || got != idB {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if dir.calls+f.count() != 0 {
		t.Fatalf("%d lookups for an admin entry", dir.calls+f.count())
	}
}

func TestNegativeCache(t *testing.T) {
	r, _, dir, f, c := setup(t)
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "UUNKNOWN1"); !errors.Is(err, bridge.ErrUnmapped) {
		t.Fatal(err)
	}
	d0, f0 := dir.calls, f.count()
	if d0 != 1 || f0 != 3 {
		t.Fatalf("first miss cost %d Slack and %d Graph calls, want 1 and 3", d0, f0)
	}
	c.add(59 * time.Minute)
	_, err := r.Resolve(ctx, "UUNKNOWN1")
	var later *bridge.RetryLaterError
	if !errors.Is(err, bridge.ErrUnmapped) || !errors.As(err, &later) || later.After != time.Minute {
		t.Fatalf("err = %v, want unmapped, to be tried again in 1m when the cache expires", err)
	}
	if dir.calls != d0 || f.count() != f0 {
		t.Fatalf("a cached miss cost lookups: Slack %d→%d, Graph %d→%d", d0, dir.calls, f0, f.count())
	}
	c.add(2 * time.Minute)
	r.Resolve(ctx, "UUNKNOWN1")
	if dir.calls != d0+1 {
		t.Fatalf("the miss was not retried after its TTL")
	}
}

func TestReverifyAfterMaxAge(t *testing.T) {
	r, st, _, f, c := setup(t)
	ctx := context.Background()
	if got, err := r.Resolve(ctx, "UUPN00001"); err != nil || got != idA {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	// Alice's account is re-created with a new id.
	f.mu.Lock()
	f.users[0].ID = "a1a1a1a1-0000-4000-8000-0000000000a1"
	f.mu.Unlock()
	c.add(6 * 24 * time.Hour)
	n := f.count()
	if got, _ := r.Resolve(ctx, "UUPN00001"); got != idA || f.count() != n {
		t.Fatalf("a fresh entry was re-verified or changed: %q", got)
	}
	c.add(2 * 24 * time.Hour)
	// The old entry is still served at once; the check runs in the background.
	if got, _ := r.Resolve(ctx, "UUPN00001"); got != idA {
		t.Fatalf("Resolve blocked on re-verification or changed early: %q", got)
	}
	r.Wait()
	m, _, _ := st.GetMapping(ctx, "UUPN00001")
	if m.EntraID != "a1a1a1a1-0000-4000-8000-0000000000a1" || !m.FoundAt.Equal(c.now()) {
		t.Fatalf("after re-verification: %+v", m)
	}
}

func TestThrottledDiscoveryIsNotCached(t *testing.T) {
	r, st, dir, _, _ := setup(t)
	ctx := context.Background()
	dir.err = &bridge.ThrottledError{RetryAfter: 30 * time.Second}
	_, err := r.Resolve(ctx, "UUPN00001")
	var thr *bridge.ThrottledError
	if !errors.As(err, &thr) || thr.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v, want the throttle passed on", err)
	}
	if _, ok, _ := st.GetMapping(ctx, "UUPN00001"); ok {
		t.Fatal("a throttled lookup was cached")
	}
}

func TestNoDiscoveryWithoutClients(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(st, Options{})
	if _, err := r.Resolve(context.Background(), "U123456"); !errors.Is(err, bridge.ErrUnmapped) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseDomainMap(t *testing.T) {
	m, err := ParseDomainMap("corp.com=corp.onmicrosoft.com, EU.corp.com = corp.onmicrosoft.com")
	if err != nil || m["corp.com"] != "corp.onmicrosoft.com" || m["eu.corp.com"] != "corp.onmicrosoft.com" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"corp.com", "corp.com=", "=x.com", "corp.com=x.com,corp.com=y.com", "a b.com=c.com"} {
		if _, err := ParseDomainMap(bad); err == nil {
			t.Errorf("ParseDomainMap(%q) accepted", bad)
		}
	}
	if got := RewriteDomain("Carol@EU.corp.com", m); got != "carol@corp.onmicrosoft.com" {
		t.Fatalf("RewriteDomain = %q", got)
	}
}

func TestOutcomeLabels(t *testing.T) {
	// The labels are the values of statusbridge_mapping_lookups_total{result}.
	want := map[Outcome]string{Hit: "hit", Miss: "miss", Discovered: "discovered", Ambiguous: "ambiguous", Skipped: "skipped", 0: "unknown"}
	for o, label := range want {
		if o.String() != label {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), label)
		}
	}
}

func TestCachedLookupsObserved(t *testing.T) {
	var seen outcomes
	r, _, _, _, _ := setup(t, func(o *Options) { o.Observe = seen.observe })
	ctx := context.Background()
	r.Resolve(ctx, "UUPN00001")
	r.Resolve(ctx, "UUPN00001")
	r.Resolve(ctx, "UUNKNOWN1")
	r.Resolve(ctx, "UUNKNOWN1")
	want := []Outcome{Discovered, Hit, Miss, Miss}
	if len(seen.got) != len(want) {
		t.Fatalf("observed %v, want %v", seen.got, want)
	}
	for i := range want {
		if seen.got[i] != want[i] {
			t.Fatalf("observed %v, want %v", seen.got, want)
		}
	}
}

// Graph answers 400 for some characters in a /users/{key} path; the Graph
// adapter reports that as not found, and discovery goes on by mail and proxy
// address instead.
func TestUPNPathRejectedFallsThrough(t *testing.T) {
	r, st, dir, f, _ := setup(t)
	f.upnErr = func(upn string) error {
		if strings.ContainsAny(upn, "#%/?&") {
			return &bridge.PermanentError{Reason: "graph 400: invalid key in the request path", Err: bridge.ErrNotFound}
		}
		return nil
	}
	const idHash, idPct = "a0a0a0a0-0000-4000-8000-0000000000a0", "b0b0b0b0-0000-4000-8000-0000000000b0"
	f.users = append(f.users,
		bridge.EntraUser{ID: idHash, UserPrincipalName: "ab@corp.com", Mail: "a#b@corp.com"},
		bridge.EntraUser{ID: idPct, UserPrincipalName: "pct@corp.com", Mail: "pct@corp.com"})
	f.proxy["x%y@corp.com"] = idPct
	dir.users["UHASH0001"] = bridge.SlackUser{ID: "UHASH0001", Email: "a#b@corp.com"}
	dir.users["UPERCENT1"] = bridge.SlackUser{ID: "UPERCENT1", Email: "x%y@corp.com"}
	dir.users["USLASH001"] = bridge.SlackUser{ID: "USLASH001", Email: "n/o@corp.com"}
	ctx := context.Background()
	tests := []struct {
		user, want string
		wantErr    error
		lookups    string
		detail     string
	}{
		{"UHASH0001", idHash, nil, "upn a#b@corp.com|mail a#b@corp.com", "mail a#b@corp.com"},
		{"UPERCENT1", idPct, nil, "upn x%y@corp.com|mail x%y@corp.com|proxyAddresses x%y@corp.com", "proxyAddresses x%y@corp.com"},
		{"USLASH001", "", bridge.ErrUnmapped, "upn n/o@corp.com|mail n/o@corp.com|proxyAddresses n/o@corp.com", "no Entra user"},
	}
	for _, tt := range tests {
		f.mu.Lock()
		f.lookups = nil
		f.mu.Unlock()
		got, err := r.Resolve(ctx, tt.user)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: Resolve = %q, %v; want %q, %v", tt.user, got, err, tt.want, tt.wantErr)
		}
		if l := strings.Join(f.lookups, "|"); l != tt.lookups {
			t.Errorf("%s: lookups %s, want %s", tt.user, l, tt.lookups)
		}
		if m, _, _ := st.GetMapping(ctx, tt.user); !strings.Contains(m.Detail, tt.detail) {
			t.Errorf("%s: stored %+v, want detail %q", tt.user, m, tt.detail)
		}
	}
}

// A UPN lookup that failed for another reason (throttled, unreachable) ends
// discovery without caching anything: a later attempt tries again.
func TestUPNLookupFailureIsNotCached(t *testing.T) {
	r, st, _, f, _ := setup(t)
	f.upnErr = func(string) error { return &bridge.TransientError{Reason: "graph 503"} }
	_, err := r.Resolve(context.Background(), "UMAIL0001")
	var tr *bridge.TransientError
	if !errors.As(err, &tr) {
		t.Fatalf("err = %v, want the transient error passed on", err)
	}
	if len(f.lookups) != 1 {
		t.Fatalf("lookups after a failed UPN lookup: %v", f.lookups)
	}
	if _, ok, _ := st.GetMapping(context.Background(), "UMAIL0001"); ok {
		t.Fatal("a failed lookup was cached")
	}
}

func TestNegativeCacheOff(t *testing.T) {
	r, _, dir, f, _ := setup(t, func(o *Options) { o.NegativeTTL = new(time.Duration(0)) })
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		_, err := r.Resolve(ctx, "UUNKNOWN1")
		var later *bridge.RetryLaterError
		if !errors.Is(err, bridge.ErrUnmapped) || errors.As(err, &later) {
			t.Fatalf("lookup %d: err = %v, want unmapped and no retry scheduled", i, err)
		}
		if dir.calls != i || f.count() != 3*i {
			t.Fatalf("lookup %d cost %d Slack and %d Graph calls in all, want %d and %d", i, dir.calls, f.count(), i, 3*i)
		}
	}
	// A user never mirrored is looked at again too (a bot stays a bot, but a
	// deleted user may come back).
	r.Resolve(ctx, "UDELETED1")
	r.Resolve(ctx, "UDELETED1")
	if dir.calls != 5 {
		t.Fatalf("Slack calls = %d, want 5", dir.calls)
	}
}

func TestNegativeTTLSet(t *testing.T) {
	r, _, dir, _, c := setup(t, func(o *Options) { o.NegativeTTL = new(10 * time.Minute) })
	ctx := context.Background()
	r.Resolve(ctx, "UUNKNOWN1")
	c.add(9 * time.Minute)
	_, err := r.Resolve(ctx, "UUNKNOWN1")
	var later *bridge.RetryLaterError
	if !errors.As(err, &later) || later.After != time.Minute || dir.calls != 1 {
		t.Fatalf("err = %v after %d Slack calls, want a retry in 1m from the cache", err, dir.calls)
	}
	c.add(time.Minute)
	r.Resolve(ctx, "UUNKNOWN1")
	if dir.calls != 2 {
		t.Fatalf("the miss was not looked for again after 10m")
	}
}

// TestResolveReadTrustsOnlyItsOwnStore: a mapping read with a claim stands
// in for the resolver's own read only when it came from the resolver's
// store; one read from another store (another namespace, say) is read
// again, and "none found" there runs discovery as Resolve would.
func TestResolveReadTrustsOnlyItsOwnStore(t *testing.T) {
	r, st, dir, f, c := setup(t)
	ctx := context.Background()
	other, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	admin := bridge.Mapping{SlackUserID: "UUPN00001", EntraID: idB, Source: bridge.SourceAdmin, FoundAt: c.now()}
	if err := st.SetMapping(ctx, admin, c.now()); err != nil {
		t.Fatal(err)
	}
	// From the resolver's store: taken as read, with no lookup or read.
	read := &bridge.MappingRead{From: st, Found: true, Mapping: bridge.Mapping{SlackUserID: "UUPN00001", EntraID: idD, Source: bridge.SourceAdmin, FoundAt: c.now()}}
	if got, err := r.ResolveRead(ctx, "UUPN00001", read); err != nil || got != idD {
		t.Fatalf("ResolveRead from its own store = %q, %v; want the mapping read (%s)", got, err, idD)
	}
	// From another store: the resolver reads its own (the admin's idB).
	read.From = other
	if got, err := r.ResolveRead(ctx, "UUPN00001", read); err != nil || got != idB {
		t.Fatalf("ResolveRead from another store = %q, %v; want the resolver's own mapping %s", got, err, idB)
	}
	// None found in its own store: discovery, as Resolve.
	none := &bridge.MappingRead{From: st}
	if got, err := r.ResolveRead(ctx, "UMAIL0001", none); err != nil || got != idB {
		t.Fatalf("ResolveRead of no mapping = %q, %v; want discovery's %s", got, err, idB)
	}
	if dir.calls+f.count() == 0 {
		t.Fatal("no lookup for a user with no mapping")
	}
	if got, err := r.ResolveRead(ctx, "UUPN00001", nil); err != nil || got != idB {
		t.Fatalf("ResolveRead with nothing read = %q, %v; want %s", got, err, idB)
	}
}
