// Package mapping finds the Entra ID object id of a Slack user.
//
// Resolution order:
//  1. An entry an admin set. It always wins.
//  2. A discovered entry that is still fresh. An older one is still used, and
//     re-verified in the background.
//  3. A cached negative entry (no match, or a user never mirrored) that is
//     still fresh.
//  4. Discovery: Slack's users.info gives the profile email; a user who is
//     never mirrored (see Mirrored) is cached as skipped; an optional domain
//     rewrite maps the email to the tenant's domain; Graph finds the user by
//     UPN, then by mail, then by proxyAddresses (a UPN Graph cannot take as a
//     path key counts as not found). The result, found or not, is stored
//     with its source and time.
//
// It never guesses: two Entra users matching one address give no mapping.
// The package also holds the CSV format of mapping import and export.
package mapping

import (
	"context"
	"fmt"
	"log/slog"
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
	// AllowOrg, when set, says which Slack workspaces (team ids) and
	// Enterprise Grid orgs (enterprise ids) are mirrored; discovery skips
	// users of any other, whatever their email matches. Nil allows all.
	AllowOrg func(team, enterprise string) bool
	// MaxAge is when a discovered entry is re-verified (default 7 days).
	MaxAge time.Duration
	// NegativeTTL is how long a negative entry (no match, or a user never
	// mirrored) is trusted before discovery tries again. Nil means the
	// default, 1 hour; zero turns the negative cache off: every lookup of
	// such a user runs discovery again, and an unmapped user is not
	// scheduled to be looked for again (it waits for its next change).
	NegativeTTL *time.Duration
	Log         *slog.Logger
	// Observe, when set, counts lookups by outcome.
	Observe func(Outcome)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Resolver implements bridge.Resolver over a mapping store.
type Resolver struct {
	store       bridge.MappingStore
	o           Options
	negativeTTL time.Duration // 0: the negative cache is off

	mu        sync.Mutex
	verifying map[string]bool
	wg        sync.WaitGroup
}

var (
	_ bridge.Resolver     = (*Resolver)(nil)
	_ bridge.ReadResolver = (*Resolver)(nil)
)

// New returns a Resolver that reads and writes mappings in store.
func New(store bridge.MappingStore, o Options) *Resolver {
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Observe == nil {
		o.Observe = func(Outcome) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Resolver{store: store, o: o, negativeTTL: time.Hour, verifying: map[string]bool{}}
	if o.NegativeTTL != nil {
		r.negativeTTL = max(*o.NegativeTTL, 0)
	}
	return r
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
	return r.resolve(ctx, slackUserID, m, ok)
}

// ResolveRead is Resolve with the mapping read already (bridge.ReadResolver);
// a mapping read from another store than the resolver's is read again.
func (r *Resolver) ResolveRead(ctx context.Context, slackUserID string, read *bridge.MappingRead) (string, error) {
	if read == nil || read.From == nil || any(read.From) != any(r.store) {
		return r.Resolve(ctx, slackUserID)
	}
	return r.resolve(ctx, slackUserID, read.Mapping, read.Found)
}

func (r *Resolver) resolve(ctx context.Context, slackUserID string, m bridge.Mapping, ok bool) (string, error) {
	now := r.o.Now()
	if ok {
		switch m.Source {
		case bridge.SourceAdmin:
			r.o.Observe(Hit)
			return m.EntraID, nil
		case bridge.SourceEmail:
			r.o.Observe(Hit)
			if now.Sub(m.FoundAt) >= r.o.MaxAge && r.Discovers() {
				r.reverify(m)
			}
			return m.EntraID, nil
		case bridge.SourceNone, bridge.SourceSkipped:
			if !r.Discovers() || now.Sub(m.FoundAt) < r.negativeTTL {
				r.o.Observe(Miss)
				return "", r.negative(m, now)
			}
		}
	}
	if !r.Discovers() {
		r.o.Observe(Miss)
		return "", bridge.ErrUnmapped
	}
	found, outcome, err := r.Discover(ctx, slackUserID, nil)
	if err != nil {
		return "", err
	}
	if err := r.store.SetMapping(ctx, found, now); err != nil {
		return "", err
	}
	r.o.Observe(outcome)
	switch outcome {
	case Discovered:
		r.o.Log.Info("mapping discovered", "user", slackUserID, "entra_id", found.EntraID, "how", found.Detail)
		return found.EntraID, nil
	case Skipped:
		r.o.Log.Info("user is not mirrored", "user", slackUserID, "why", found.Detail)
	default:
		r.o.Log.Warn("no Entra user found", "user", slackUserID, "why", found.Detail)
	}
	return "", r.negative(found, now)
}

// negative turns a negative entry into the resolver's error. A user with no
// Entra match yet is tried again when the entry expires (a new hire's account
// may appear meanwhile); without discovery or without the negative cache, it
// waits for an admin's mapping or its next change.
func (r *Resolver) negative(m bridge.Mapping, now time.Time) error {
	if m.Source == bridge.SourceSkipped {
		return fmt.Errorf("%w: %s", bridge.ErrSkipped, m.Detail)
	}
	err := fmt.Errorf("%w: %s", bridge.ErrUnmapped, m.Detail)
	if !r.Discovers() || r.negativeTTL == 0 {
		return err
	}
	after := m.FoundAt.Add(r.negativeTTL).Sub(now)
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
		found, _, err := r.Discover(ctx, old.SlackUserID, nil)
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
