package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/statusbridge/statusbridge/store"
)

// openStore opens Redis when REDIS_URL is set, else the embedded store.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (store.Backend, error) {
	return openStoreFor(ctx, cfg, log, false)
}

// openAdmin opens the store for an admin command, which runs beside serve.
func openAdmin(ctx context.Context, cfg config, log *slog.Logger) (store.Backend, error) {
	return openStoreFor(ctx, cfg, log, true)
}

func openStoreFor(ctx context.Context, cfg config, log *slog.Logger, admin bool) (store.Backend, error) {
	n, per, err := parseRate(cfg.get("STATUSBRIDGE_GRAPH_RATE"))
	if err != nil {
		return nil, fmt.Errorf("invalid STATUSBRIDGE_GRAPH_RATE: %v", err)
	}
	return store.Open(ctx, store.Config{
		RedisURL: cfg.get("REDIS_URL"),
		DataDir:  cfg.get("STATUSBRIDGE_DATA_DIR"),
		Rate:     n,
		Per:      per,
		Admin:    admin,
	}, log)
}
