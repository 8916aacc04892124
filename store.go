package main

import (
	"context"
	"log/slog"

	"github.com/statusbridge/statusbridge/store"
)

// openStore opens the store for serve: Redis when REDIS_URL is set, else the
// embedded store.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (store.Backend, error) {
	return store.Open(ctx, storeConfig(cfg, false), log)
}

// openAdmin opens the store for an admin command, which runs beside serve.
func openAdmin(ctx context.Context, cfg *Config, log *slog.Logger) (store.Backend, error) {
	return store.Open(ctx, storeConfig(cfg, true), log)
}

func storeConfig(cfg *Config, admin bool) store.Config {
	// The ceiling in calls per the starting rate's period.
	rateMax := int(int64(cfg.GraphRateMax.N) * int64(cfg.GraphRate.Per) / int64(max(cfg.GraphRateMax.Per, 1)))
	return store.Config{RedisURL: cfg.RedisURL, DataDir: cfg.DataDir, Rate: cfg.GraphRate.N, Per: cfg.GraphRate.Per, RateMax: rateMax, Admin: admin}
}
