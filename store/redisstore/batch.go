package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
)

// batchSize is how many mappings one round trip to Redis carries.
const batchSize = 1000

// scanCount is the COUNT hint of one HSCAN call when streaming mappings.
const scanCount = 500

// SetMappings stores many mappings, each with SetMapping's rules (an admin's
// entry wins over a discovered one, a parked user is un-parked, a new Entra
// id makes a user with a stored change due), pipelining up to batchSize
// script calls per round trip. Each mapping is one atomic step; on an error,
// the mappings stored before it stay stored.
func (s *Store) SetMappings(ctx context.Context, ms []bridge.Mapping, now time.Time) error {
	for _, m := range ms {
		if m.SlackUserID == "" {
			return errors.New("redis set mappings: a mapping has no Slack user id")
		}
	}
	if len(ms) == 0 {
		return nil
	}
	// EVALSHA in a pipeline cannot fall back to EVAL, so the script is loaded
	// first (on every shard of a Cluster).
	if err := setMappingScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("redis set mappings: load script: %w", err)
	}
	clock := s.clock(now)
	for start := 0; start < len(ms); start += batchSize {
		chunk := ms[start:min(start+batchSize, len(ms))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(chunk))
		for i, m := range chunk {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			u := m.SlackUserID
			cmds[i] = setMappingScript.EvalSha(ctx, pipe,
				[]string{s.userKey(u), s.dueKey(), s.parkedKey(), s.mappingsKey()},
				u, clock, b, m.EntraID, string(m.Source))
		}
		if _, err := pipe.Exec(ctx); err != nil && !isNoScript(cmds) {
			return fmt.Errorf("redis set mappings: %w", err)
		}
		for i, c := range cmds {
			if err := c.Err(); err == nil {
				continue
			} else if !redis.HasErrorPrefix(err, "NOSCRIPT") {
				return fmt.Errorf("redis set mappings: %s: %w", chunk[i].SlackUserID, err)
			}
			// The script cache was flushed after the load: this one row again, on its own.
			if err := s.SetMapping(ctx, chunk[i], now); err != nil {
				return err
			}
		}
	}
	return nil
}

// isNoScript reports whether every failed command of a pipeline failed with
// NOSCRIPT, which SetMappings repairs row by row.
func isNoScript(cmds []*redis.Cmd) bool {
	failed := false
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			if !redis.HasErrorPrefix(err, "NOSCRIPT") {
				return false
			}
			failed = true
		}
	}
	return failed
}

// GetMappings returns the mappings of the Slack users that have one, keyed
// by Slack user id, reading up to batchSize users per round trip.
func (s *Store) GetMappings(ctx context.Context, slackUserIDs []string) (map[string]bridge.Mapping, error) {
	out := make(map[string]bridge.Mapping, len(slackUserIDs))
	for start := 0; start < len(slackUserIDs); start += batchSize {
		ids := slackUserIDs[start:min(start+batchSize, len(slackUserIDs))]
		vals, err := s.rdb.HMGet(ctx, s.mappingsKey(), ids...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis get mappings: %w", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			var m bridge.Mapping
			if err := json.Unmarshal([]byte(str), &m); err != nil {
				return nil, fmt.Errorf("redis get mappings %s: %w", ids[i], err)
			}
			out[ids[i]] = m
		}
	}
	return out, nil
}

// EachMapping calls fn with every mapping, in no particular order, reading
// them with HSCAN a page at a time; it stops at fn's first error and returns
// it. Only the Slack user ids already passed to fn are kept in memory (to
// drop the repeats HSCAN may return); a mapping set or deleted meanwhile may
// or may not be seen.
func (s *Store) EachMapping(ctx context.Context, fn func(bridge.Mapping) error) error {
	seen := map[string]struct{}{}
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, s.mappingsKey(), cursor, "", scanCount).Result()
		if err != nil {
			return fmt.Errorf("redis list mappings: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if _, ok := seen[kv[i]]; ok {
				continue
			}
			seen[kv[i]] = struct{}{}
			var m bridge.Mapping
			if err := json.Unmarshal([]byte(kv[i+1]), &m); err != nil {
				return fmt.Errorf("redis list mappings %s: %w", kv[i], err)
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
