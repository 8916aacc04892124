package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
	redisstore "github.com/statusbridge/statusbridge/store/redis"
)

// backend is what every store implements.
type backend interface {
	bridge.Queue
	bridge.Admin
	bridge.MappingStore
	Ping(ctx context.Context) error
	Close() error
}

// openedStore is a store with what serve needs beside it.
type openedStore struct {
	backend
	kind    string
	limiter bridge.Limiter
}

// openStore opens Redis when REDIS_URL is set, else the embedded store.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (*openedStore, error) {
	return openStoreFor(ctx, cfg, log, false)
}

// openAdmin opens the store for an admin command, which runs beside serve.
func openAdmin(ctx context.Context, cfg *Config, log *slog.Logger) (*openedStore, error) {
	return openStoreFor(ctx, cfg, log, true)
}

func openStoreFor(ctx context.Context, cfg *Config, log *slog.Logger, admin bool) (*openedStore, error) {
	n, per := cfg.GraphRate.N, cfg.GraphRate.Per
	if url := cfg.RedisURL; url != "" {
		var opts []redisstore.Option
		if !admin {
			// serve starts while Redis is down: intake answers 503 and the
			// workers wait until it is back. Admin commands fail at once.
			opts = append(opts, redisstore.Lazy())
		}
		st, err := redisstore.Open(ctx, url, opts...)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %v", err)
		}
		if !admin {
			if err := st.Ping(ctx); err != nil {
				if refusedCredentials(err) {
					st.Close()
					return nil, fmt.Errorf("REDIS_URL: Redis refused the credentials (%v): correct the user name and password in REDIS_URL", err)
				}
				log.Warn("Redis is not reachable yet; Slack gets 503 and workers wait until it is", "err", err)
			}
			if warnings, err := st.CheckConfig(ctx); err != nil {
				log.Warn("could not check the Redis configuration", "err", err)
			} else {
				for _, w := range warnings {
					log.Warn("Redis configuration: " + w)
				}
			}
		}
		return &openedStore{backend: st, kind: "redis", limiter: st.NewLimiter(sharedLimit(n, per))}, nil
	}
	dir := cfg.DataDir
	var opts []embedded.Option
	if admin {
		opts = append(opts, embedded.Shared())
	}
	st, err := embedded.Open(dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("STATUSBRIDGE_DATA_DIR: %v", err)
	}
	return &openedStore{backend: st, kind: "embedded", limiter: st.Limiter(n, per)}, nil
}

// sharedLimit turns "n calls per period" into the shared limiter's settings so
// that no window of one period ever holds more than n calls, bursts included.
func sharedLimit(n int, per time.Duration) redisstore.LimiterConfig {
	burst := max(1, n/20)
	if n <= burst {
		return redisstore.LimiterConfig{Rate: n, Period: per, Burst: 1}
	}
	return redisstore.LimiterConfig{Rate: n - burst, Period: per, Burst: burst}
}

// refusedCredentials reports whether Redis answered that the URL's
// credentials are wrong, a setting to fix rather than an outage to wait out.
func refusedCredentials(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password")
}
