package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
)

var (
	_ bridge.SeenStore = (*Store)(nil)
	_ bridge.Locker    = (*Store)(nil)
)

// seenChunk is how many fields one HMGET or HSET of the seen hash carries,
// and seenRound how many of those go out in one pipelined round trip: a
// round trip of 10,000 records stays well within the store's read and
// write timeouts (1 s by default), so 100,000 accounts take ten.
const (
	seenChunk = 1000
	seenRound = 10
)

func (s *Store) seenKey() string            { return s.key("seen") }
func (s *Store) lockKey(name string) string { return s.key("lock", name) }

// GetSeen returns the seen records of the Entra accounts that have one,
// read with HMGETs of up to 1,000 ids, pipelined 10,000 ids a round trip.
func (s *Store) GetSeen(ctx context.Context, entraIDs []string) (map[string]bridge.Seen, error) {
	out := make(map[string]bridge.Seen)
	for round := 0; round < len(entraIDs); round += seenChunk * seenRound {
		ids := entraIDs[round:min(round+seenChunk*seenRound, len(entraIDs))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, 0, seenRound)
		for i := 0; i < len(ids); i += seenChunk {
			cmds = append(cmds, pipe.HMGet(ctx, s.seenKey(), ids[i:min(i+seenChunk, len(ids))]...))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis get seen: %w", err)
		}
		for c, cmd := range cmds {
			for i, v := range cmd.Val() {
				str, ok := v.(string)
				if !ok {
					continue
				}
				id := ids[c*seenChunk+i]
				var rec bridge.Seen
				if err := json.Unmarshal([]byte(str), &rec); err != nil {
					return nil, fmt.Errorf("redis get seen %s: %w", id, err)
				}
				rec.EntraID = id
				out[id] = rec
			}
		}
	}
	return out, nil
}

// PutSeen stores each record under its EntraID, replacing any there, with
// HSETs of up to 1,000 records, pipelined 10,000 records a round trip. A
// record without an Entra id fails the call before anything is written; a
// failed round trip leaves the records of earlier ones stored (each record
// stands alone, and the next poll writes them again).
func (s *Store) PutSeen(ctx context.Context, seen []bridge.Seen) error {
	fields := make([]any, 0, 2*len(seen))
	for i, r := range seen {
		if r.EntraID == "" {
			return fmt.Errorf("seen record %d has no Entra id", i)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fields = append(fields, r.EntraID, b)
	}
	for round := 0; round < len(fields); round += 2 * seenChunk * seenRound {
		fs := fields[round:min(round+2*seenChunk*seenRound, len(fields))]
		pipe := s.rdb.Pipeline()
		for i := 0; i < len(fs); i += 2 * seenChunk {
			pipe.HSet(ctx, s.seenKey(), fs[i:min(i+2*seenChunk, len(fs))]...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("redis put seen: %w", err)
		}
	}
	return nil
}

// tryLockScript: KEYS lock; ARGV holder, ttl ms. The lock is free, expired
// (Redis dropped the key at its deadline, by Redis's clock) or the holder's:
// it is set to the holder until ttl from now.
var tryLockScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// unlockScript: KEYS lock; ARGV holder. Only the holder's lock is deleted.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// TryLock takes the lock name for holder until ttl from now by Redis's
// clock, or renews it when holder has it; it reports false when another
// holder has it and it has not expired.
func (s *Store) TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := bridge.CheckLock(name, holder, ttl, true); err != nil {
		return false, err
	}
	n, err := tryLockScript.Run(ctx, s.rdb, []string{s.lockKey(name)}, holder, msCeilDur(ttl)).Int64()
	if err != nil {
		return false, fmt.Errorf("redis lock %s: %w", name, err)
	}
	return n == 1, nil
}

// Unlock gives the lock name back if holder has it; it does nothing otherwise.
func (s *Store) Unlock(ctx context.Context, name, holder string) error {
	if err := bridge.CheckLock(name, holder, 0, false); err != nil {
		return err
	}
	if err := unlockScript.Run(ctx, s.rdb, []string{s.lockKey(name)}, holder).Err(); err != nil {
		return fmt.Errorf("redis unlock %s: %w", name, err)
	}
	return nil
}
