package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// batchSize is how many mappings one transaction writes or reads: enough
// to make a 100,000-row import quick, few enough that serve, sharing the
// file, waits for one transaction at most a moment.
const batchSize = 1000

// SetMappings stores many mappings, each with SetMapping's rules (an admin's
// entry wins over a discovered one, a parked user is un-parked, a new Entra
// id makes a user with a stored change due), batchSize mappings per
// transaction. On an error, the transactions committed before it stay.
func (s *Store) SetMappings(ctx context.Context, ms []bridge.Mapping, now time.Time) error {
	vals := make([][]byte, len(ms))
	for i := range ms {
		if ms[i].SlackUserID == "" {
			return errors.New("set mappings: a mapping has no Slack user id")
		}
		m := ms[i]
		if m.FoundAt.IsZero() {
			m.FoundAt = now
		}
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	for start := 0; start < len(ms); start += batchSize {
		end := min(start+batchSize, len(ms))
		err := s.update(ctx, func(tx txn) error {
			for i := start; i < end; i++ {
				if err := setMappingTx(tx, ms[i], vals[i], now); err != nil && !errors.Is(err, errNoChange) {
					return fmt.Errorf("set mapping of %s: %w", ms[i].SlackUserID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// GetMappings returns the mappings of the Slack users that have one, keyed
// by Slack user id, batchSize users per transaction.
func (s *Store) GetMappings(ctx context.Context, slackUserIDs []string) (map[string]bridge.Mapping, error) {
	out := make(map[string]bridge.Mapping, len(slackUserIDs))
	for start := 0; start < len(slackUserIDs); start += batchSize {
		ids := slackUserIDs[start:min(start+batchSize, len(slackUserIDs))]
		err := s.view(ctx, func(tx txn) error {
			b := tx.Bucket(bMappings)
			for _, id := range ids {
				v := b.Get([]byte(id))
				if v == nil {
					continue
				}
				var m bridge.Mapping
				if err := json.Unmarshal(v, &m); err != nil {
					return fmt.Errorf("decode mapping of %s: %w", id, err)
				}
				out[id] = m
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EachMapping calls fn with every mapping, ordered by Slack user id, and
// stops at fn's first error, returning it. It reads batchSize mappings per
// transaction and calls fn between transactions, so a slow fn never holds
// the file that serve shares; a mapping set or deleted meanwhile may or may
// not be seen.
func (s *Store) EachMapping(ctx context.Context, fn func(bridge.Mapping) error) error {
	var after []byte // the last key passed to fn
	page := make([]bridge.Mapping, 0, batchSize)
	for {
		page = page[:0]
		err := s.view(ctx, func(tx txn) error {
			c := tx.Bucket(bMappings).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(page) < batchSize; k, v = c.Next() {
				var m bridge.Mapping
				if err := json.Unmarshal(v, &m); err != nil {
					return fmt.Errorf("decode mapping of %s: %w", k, err)
				}
				page = append(page, m)
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(page) < batchSize {
			return nil
		}
	}
}
