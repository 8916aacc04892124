package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// Durability says in one line what a crash or failover of Redis can lose:
// it reads appendonly, appendfsync and the replication role of the node
// the store talks to (the first master on a cluster).
func (s *Store) Durability(ctx context.Context) (string, error) {
	var c *redis.Client
	switch r := s.rdb.(type) {
	case *redis.Client:
		c = r
	case *redis.ClusterClient:
		err := r.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
			if c == nil {
				c = m
			}
			return nil
		})
		if err != nil || c == nil {
			return "", fmt.Errorf("redis durability: %v", err)
		}
	default:
		return "unknown Redis client: durability not checked", nil
	}
	cfg, err := c.ConfigGet(ctx, "append*").Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return "CONFIG GET is not allowed here: ask the Redis provider what a crash or failover can lose", nil
		}
		return "", fmt.Errorf("redis durability: %w", err)
	}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", fmt.Errorf("redis durability: %w", err)
	}
	return DurabilityLine(cfg["appendonly"], cfg["appendfsync"], infoField(info, "role"), infoField(info, "connected_slaves")), nil
}

// DurabilityLine explains what a crash or failover loses under the given
// Redis settings.
func DurabilityLine(appendonly, appendfsync, role, replicas string) string {
	var crash string
	switch {
	case appendonly != "yes":
		crash = "appendonly no: a Redis crash or restart loses every change since the last RDB snapshot"
	case appendfsync == "always":
		crash = "appendfsync always: a Redis crash loses no acknowledged change"
	case appendfsync == "no":
		crash = "appendfsync no: a Redis crash may lose the last ~30 s of acknowledged changes (the OS flushes)"
	default:
		crash = "appendfsync everysec: a Redis crash may lose up to about 1 s of acknowledged changes"
	}
	repl := "no replicas: a lost Redis host loses the queue"
	if role == "slave" || role == "replica" {
		repl = "connected to a replica, not the master"
	} else if replicas != "" && replicas != "0" {
		repl = fmt.Sprintf("%s replica(s): a failover may lose changes not yet replicated (replication is asynchronous)", replicas)
	}
	return crash + "; " + repl
}

func infoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
