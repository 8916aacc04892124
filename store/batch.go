package store

import (
	"context"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// MappingBatch reads and writes many mappings at once, for admin commands
// over a whole directory (a 100,000-row import, an export).
type MappingBatch interface {
	// SetMappings stores each mapping with SetMapping's rules, many per round
	// trip; on an error, the mappings stored before it stay stored.
	SetMappings(ctx context.Context, ms []bridge.Mapping, now time.Time) error
	// GetMappings returns the mappings of those of slackUserIDs that have
	// one, keyed by Slack user id.
	GetMappings(ctx context.Context, slackUserIDs []string) (map[string]bridge.Mapping, error)
	// EachMapping calls fn with every mapping, a page at a time, without
	// holding them all in memory; it stops at fn's first error and returns it.
	EachMapping(ctx context.Context, fn func(bridge.Mapping) error) error
}
