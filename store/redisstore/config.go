package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// CheckConfig reads the Redis settings the queue depends on and returns a
// warning for each one that risks losing updates: a maxmemory-policy other
// than noeviction (queue keys may be evicted) and appendonly off (a restart
// loses recent changes). Where CONFIG GET is not allowed (many managed
// Redis services), a warning says the settings could not be checked. The
// error is non-nil only when Redis cannot be reached.
func (s *Store) CheckConfig(ctx context.Context) (warnings []string, err error) {
	var mu sync.Mutex // ForEachMaster runs check concurrently
	check := func(ctx context.Context, c *redis.Client) error {
		var ws []string
		node := c.Options().Addr
		policy, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			var rerr redis.Error
			if !errors.As(err, &rerr) {
				return err
			}
			ws = append(ws, fmt.Sprintf("redis %s: could not check maxmemory-policy and appendonly (CONFIG GET: %v); make sure they are noeviction and yes", node, err))
		} else {
			if p := policy["maxmemory-policy"]; p != "noeviction" {
				ws = append(ws, fmt.Sprintf("redis %s: maxmemory-policy is %q; set it to noeviction, or queued status updates may be evicted and lost", node, p))
			}
			aof, err := c.ConfigGet(ctx, "appendonly").Result()
			if err != nil {
				return err
			}
			if a := aof["appendonly"]; a != "yes" {
				ws = append(ws, fmt.Sprintf("redis %s: appendonly is %q; set it to yes, or a Redis restart loses recent status updates", node, a))
			}
		}
		mu.Lock()
		warnings = append(warnings, ws...)
		mu.Unlock()
		return nil
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, check)
	} else if c, ok := s.rdb.(*redis.Client); ok {
		err = check(ctx, c)
	} else {
		return []string{"redis: unknown client type; could not check maxmemory-policy and appendonly"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis config check: %w", err)
	}
	return warnings, nil
}
