// Package mapping finds the Entra ID object id of a Slack user.
//
// Resolution order:
//  1. An entry an admin set. It always wins.
//  2. A discovered entry that is still fresh. An older one is still used, and
//     re-verified in the background.
//  3. A cached negative entry (no match, or a user never mirrored) that is
//     still fresh.
//  4. Discovery: Slack's users.info gives the profile email; an optional
//     domain rewrite maps it to the tenant's domain; Graph finds the user by
//     UPN, then by mail, then by proxyAddresses. The result, found or not, is
//     stored with its source and time.
//
// It never guesses: two Entra users matching one address give no mapping.
package mapping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// Directory is Slack's user directory.
type Directory interface {
	SlackUser(ctx context.Context, id string) (bridge.SlackUser, error)
}

// UserFinder finds Entra users through Graph.
type UserFinder interface {
	// UserByID looks a user up by object id or userPrincipalName; bridge.ErrNotFound when none.
	UserByID(ctx context.Context, idOrUPN string) (bridge.EntraUser, error)
	UsersByMail(ctx context.Context, mail string) ([]bridge.EntraUser, error)
	UsersByProxyAddress(ctx context.Context, addr string) ([]bridge.EntraUser, error)
}

// Options configures discovery. A nil Directory or Finder turns discovery off:
// then only admin-set entries map users.
type Options struct {
	Directory Directory
	Finder    UserFinder
	// DomainMap rewrites Slack email domains to tenant domains, such as
	// corp.com → corp.onmicrosoft.com.
	DomainMap map[string]string
	// MaxAge is when a discovered entry is re-verified (default 7 days).
	MaxAge time.Duration
	// NegativeTTL is how long a miss is cached (default 1 hour).
	NegativeTTL time.Duration
	Log         *slog.Logger
	// Observe, when set, counts lookups by result: hit, miss, discovered, ambiguous, skipped.
	Observe func(result string)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Resolver implements bridge.Resolver over a mapping store.
type Resolver struct {
	store bridge.MappingStore
	o     Options

	mu        sync.Mutex
	verifying map[string]bool
	wg        sync.WaitGroup
}

var _ bridge.Resolver = (*Resolver)(nil)

// New returns a Resolver that reads and writes mappings in store.
func New(store bridge.MappingStore, o Options) *Resolver {
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Observe == nil {
		o.Observe = func(string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Resolver{store: store, o: o, verifying: map[string]bool{}}
}

// Discovers reports whether discovery by email is on.
func (r *Resolver) Discovers() bool { return r.o.Directory != nil && r.o.Finder != nil }

// Resolve returns the Entra object id of a Slack user, bridge.ErrUnmapped when
// none is known, or bridge.ErrSkipped for a user that is never mirrored.
func (r *Resolver) Resolve(ctx context.Context, slackUserID string) (string, error) {
	m, ok, err := r.store.GetMapping(ctx, slackUserID)
	if err != nil {
		return "", err
	}
	now := r.o.Now()
	if ok {
		switch m.Source {
		case bridge.SourceAdmin:
			r.o.Observe("hit")
			return m.EntraID, nil
		case bridge.SourceEmail:
			r.o.Observe("hit")
			if now.Sub(m.FoundAt) >= r.o.MaxAge && r.Discovers() {
				r.reverify(m)
			}
			return m.EntraID, nil
		case bridge.SourceNone, bridge.SourceSkipped:
			if now.Sub(m.FoundAt) < r.o.NegativeTTL || !r.Discovers() {
				r.o.Observe("miss")
				return "", r.negative(m, now)
			}
		}
	}
	if !r.Discovers() {
		r.o.Observe("miss")
		return "", bridge.ErrUnmapped
	}
	found, err := r.Discover(ctx, slackUserID, nil)
	if err != nil {
		return "", err
	}
	if err := r.store.SetMapping(ctx, found, now); err != nil {
		return "", err
	}
	switch found.Source {
	case bridge.SourceEmail:
		r.o.Observe("discovered")
		r.o.Log.Info("mapping discovered", "user", slackUserID, "entra_id", found.EntraID, "how", found.Detail)
		return found.EntraID, nil
	case bridge.SourceSkipped:
		r.o.Observe("skipped")
		r.o.Log.Info("user is not mirrored", "user", slackUserID, "why", found.Detail)
	default:
		if strings.HasPrefix(found.Detail, "ambiguous") {
			r.o.Observe("ambiguous")
		} else {
			r.o.Observe("miss")
		}
		r.o.Log.Warn("no Entra user found", "user", slackUserID, "why", found.Detail)
	}
	return "", r.negative(found, now)
}

// negative turns a negative entry into the resolver's error. A user with no
// Entra match yet is tried again when the entry expires (a new hire's account
// may appear meanwhile); without discovery, it waits for an admin's mapping.
func (r *Resolver) negative(m bridge.Mapping, now time.Time) error {
	if m.Source == bridge.SourceSkipped {
		return fmt.Errorf("%w: %s", bridge.ErrSkipped, m.Detail)
	}
	err := fmt.Errorf("%w: %s", bridge.ErrUnmapped, m.Detail)
	if !r.Discovers() {
		return err
	}
	after := m.FoundAt.Add(r.o.NegativeTTL).Sub(now)
	if after < time.Second {
		after = time.Second
	}
	return &bridge.RetryLaterError{After: after, Reason: "no Entra user yet: " + m.Detail, Err: err}
}

// reverify re-runs discovery for an old entry in the background, once at a time per user.
func (r *Resolver) reverify(old bridge.Mapping) {
	r.mu.Lock()
	if r.verifying[old.SlackUserID] {
		r.mu.Unlock()
		return
	}
	r.verifying[old.SlackUserID] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.verifying, old.SlackUserID)
			r.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		found, err := r.Discover(ctx, old.SlackUserID, nil)
		if err != nil {
			r.o.Log.Warn("could not re-verify mapping; keeping it", "user", old.SlackUserID, "err", err)
			return
		}
		// An admin may have set an entry meanwhile: it wins.
		cur, ok, err := r.store.GetMapping(ctx, old.SlackUserID)
		if err != nil || (ok && cur.Source == bridge.SourceAdmin) {
			return
		}
		if found.EntraID != old.EntraID {
			r.o.Log.Info("mapping changed on re-verification", "user", old.SlackUserID, "old", old.EntraID, "new", found.EntraID, "how", found.Detail)
		}
		if err := r.store.SetMapping(ctx, found, r.o.Now()); err != nil {
			r.o.Log.Warn("could not store re-verified mapping", "user", old.SlackUserID, "err", err)
		}
	}()
}

// Wait waits for background re-verifications to finish.
func (r *Resolver) Wait() { r.wg.Wait() }

// Discover runs discovery for one Slack user without storing anything. It
// returns the entry that would be stored: Source email with the Entra id, or a
// negative entry (SourceNone, SourceSkipped) saying why. explain, when set,
// hears each step. An error means discovery could not finish (throttled,
// unreachable) and nothing should be cached.
func (r *Resolver) Discover(ctx context.Context, slackUserID string, explain func(string)) (bridge.Mapping, error) {
	say := func(format string, args ...any) {
		if explain != nil {
			explain(fmt.Sprintf(format, args...))
		}
	}
	now := r.o.Now().UTC()
	result := func(src bridge.MappingSource, entra, detail string) bridge.Mapping {
		return bridge.Mapping{SlackUserID: slackUserID, EntraID: entra, Source: src, Detail: detail, FoundAt: now}
	}
	if !r.Discovers() {
		return bridge.Mapping{}, errors.New("discovery is off: it needs SLACK_BOT_TOKEN and the Azure settings")
	}
	u, err := r.o.Directory.SlackUser(ctx, slackUserID)
	if errors.Is(err, bridge.ErrNotFound) {
		say("Slack users.info: no such user")
		return result(bridge.SourceSkipped, "", "not found in Slack"), nil
	}
	if err != nil {
		say("Slack users.info failed: %v", err)
		return bridge.Mapping{}, fmt.Errorf("slack users.info: %w", err)
	}
	say("Slack users.info: team %s, email %q, bot %v, deleted %v, guest %v, external %v", u.TeamID, u.Email, u.Bot, u.Deleted, u.Guest, u.External)
	switch {
	case u.Bot || slackUserID == "USLACKBOT":
		return result(bridge.SourceSkipped, "", "bot user"), nil
	case u.Deleted:
		return result(bridge.SourceSkipped, "", "deleted in Slack"), nil
	case u.External:
		return result(bridge.SourceSkipped, "", "Slack Connect user from another organisation"), nil
	case u.Email == "":
		return result(bridge.SourceSkipped, "", "no email in Slack (the app needs the users:read.email scope)"), nil
	}
	addr := RewriteDomain(u.Email, r.o.DomainMap)
	if addr != strings.ToLower(u.Email) {
		say("domain rewrite: %s → %s", u.Email, addr)
	}
	pick := func(how string, us []bridge.EntraUser) (bridge.Mapping, bool) {
		switch len(us) {
		case 0:
			say("Graph %s: no match", how)
			return bridge.Mapping{}, false
		case 1:
			if us[0].AccountEnabled != nil && !*us[0].AccountEnabled {
				say("Graph %s: %s, but the account is disabled", how, us[0].ID)
				return result(bridge.SourceSkipped, "", "Entra account "+us[0].ID+" is disabled"), true
			}
			say("Graph %s: %s (%s)", how, us[0].ID, us[0].UserPrincipalName)
			return result(bridge.SourceEmail, us[0].ID, how+" "+addr), true
		}
		ids := make([]string, len(us))
		for i, x := range us {
			ids[i] = x.ID
		}
		say("Graph %s: %d users match: %s", how, len(us), strings.Join(ids, ", "))
		return result(bridge.SourceNone, "", fmt.Sprintf("ambiguous: %d Entra users match %s by %s", len(us), addr, how)), true
	}
	eu, err := r.o.Finder.UserByID(ctx, addr)
	switch {
	case err == nil:
		if m, ok := pick("upn", []bridge.EntraUser{eu}); ok {
			return m, nil
		}
	case errors.Is(err, bridge.ErrNotFound):
		say("Graph upn: no user %s", addr)
	default:
		say("Graph upn lookup failed: %v", err)
		return bridge.Mapping{}, fmt.Errorf("graph user lookup: %w", err)
	}
	us, err := r.o.Finder.UsersByMail(ctx, addr)
	if err != nil {
		say("Graph mail lookup failed: %v", err)
		return bridge.Mapping{}, fmt.Errorf("graph mail lookup: %w", err)
	}
	if m, ok := pick("mail", us); ok {
		return m, nil
	}
	us, err = r.o.Finder.UsersByProxyAddress(ctx, addr)
	if err != nil {
		say("Graph proxyAddresses lookup failed: %v", err)
		return bridge.Mapping{}, fmt.Errorf("graph proxyAddresses lookup: %w", err)
	}
	if m, ok := pick("proxyAddresses", us); ok {
		return m, nil
	}
	return result(bridge.SourceNone, "", "no Entra user with UPN, mail or proxy address "+addr), nil
}

// RewriteDomain lower-cases an email address and replaces its domain when the
// map names it.
func RewriteDomain(email string, domains map[string]string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	if to, ok := domains[domain]; ok {
		return local + "@" + to
	}
	return email
}

// ParseDomainMap reads "corp.com=corp.onmicrosoft.com,eu.corp.com=corp.onmicrosoft.com".
func ParseDomainMap(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		from, to = strings.ToLower(strings.TrimSpace(from)), strings.ToLower(strings.TrimSpace(to))
		if !ok || !validDomain(from) || !validDomain(to) {
			return nil, fmt.Errorf("want slack-domain=tenant-domain pairs separated by commas, such as corp.com=corp.onmicrosoft.com; got %q", pair)
		}
		if _, dup := out[from]; dup {
			return nil, fmt.Errorf("domain %s is mapped twice", from)
		}
		out[from] = to
	}
	return out, nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
