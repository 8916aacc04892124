// Package mapping finds the Entra ID object id of a Slack user: an entry an
// admin set always wins; otherwise a discovered entry that is still fresh;
// otherwise discovery by email (Slack directory → Graph lookup), whose result,
// found or not, is cached.
package mapping

import (
	"context"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// Resolver implements bridge.Resolver over a mapping store.
type Resolver struct {
	store bridge.MappingStore
	now   func() time.Time
}

var _ bridge.Resolver = (*Resolver)(nil)

// New returns a Resolver that reads mappings from store.
func New(store bridge.MappingStore) *Resolver {
	return &Resolver{store: store, now: time.Now}
}

// Resolve returns the Entra object id for a Slack user, bridge.ErrUnmapped
// when none is known, or bridge.ErrSkipped for users that are never mirrored.
func (r *Resolver) Resolve(ctx context.Context, slackUserID string) (string, error) {
	m, ok, err := r.store.GetMapping(ctx, slackUserID)
	if err != nil {
		return "", err
	}
	if ok && m.EntraID != "" {
		return m.EntraID, nil
	}
	return "", bridge.ErrUnmapped
}
