// Package store opens statusbridge's persistence: the Redis store
// (store/redisstore) when a Redis URL is given, else the embedded single-file
// store (store/embedded). Both implement Backend, the one contract every
// backend keeps, and both pass the conformance suite in store/storetest.
//
// A third backend is one new folder whose type implements Backend (checked at
// compile time below), one case in Open, and a test that runs storetest.Run
// against it green. Backends never import this package; it imports them.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/store/embedded"
	"github.com/statusbridge/statusbridge/store/redisstore"
)

// Backend is everything a statusbridge store implements.
type Backend interface {
	bridge.Queue
	bridge.Admin
	bridge.MappingStore
	bridge.OwnershipStore
	bridge.ChoiceStore
	bridge.Upcoming
	bridge.SeenStore
	bridge.Locker
	MappingBatch
	// Limiter returns a client of the store's one Graph rate budget: every
	// limiter of one store (and, for a shared store, of every replica) draws
	// on the same budget, and a Penalize through one holds back all.
	Limiter() bridge.Limiter
	// FixedLimiter returns a client of the fixed rate name, n calls per per
	// spread evenly, shared like Limiter by every client of that name and
	// apart from the Graph budget (for Slack's per-token limits).
	FixedLimiter(name string, n int, per time.Duration) bridge.Limiter
	// Kind names the backend ("redis", "embedded") for logs and metrics.
	Kind() string
	// Ping checks that the store answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store; later calls fail with an error, and a second
	// Close is harmless. A namespace's Close does nothing (see Namespace).
	Close() error
}

// Namespace returns a second, separate set of records of b (its own queue,
// admin view, mappings, owned records, choices, seen records and locks) over
// b's connection or file; closing it leaves b open, and it shares b's
// limiters.
// name is 1 to 32 lower-case letters, digits or '-'.
func Namespace(b Backend, name string) (Backend, error) {
	switch s := b.(type) {
	case *redisstore.Store:
		ns, err := s.Namespace(name)
		if err != nil {
			return nil, err
		}
		return ns, nil
	case *embedded.Store:
		ns, err := s.Namespace(name)
		if err != nil {
			return nil, err
		}
		return ns, nil
	}
	return nil, fmt.Errorf("store namespace %q: the %T backend has no namespaces", name, b)
}

// ConfigChecker is implemented by backends that can check their server's
// settings; each warning names a setting that risks losing updates.
type ConfigChecker interface {
	CheckConfig(ctx context.Context) ([]string, error)
}

var (
	_ Backend       = (*redisstore.Store)(nil)
	_ ConfigChecker = (*redisstore.Store)(nil)
	_ Backend       = (*embedded.Store)(nil)
)

// Config selects and sets up a backend.
type Config struct {
	// RedisURL selects the Redis store; empty selects the embedded store.
	RedisURL string
	// DataDir is the embedded store's directory.
	DataDir string
	// Rate calls per Per is where the adaptive Graph rate starts (0 means the
	// backend's default); it never falls below Rate/4.
	Rate int
	Per  time.Duration
	// RateMax calls per Per is the ceiling the Graph rate may rise to while
	// Graph accepts (0 or less than Rate means Rate: a fixed rate).
	RateMax int
	// Admin opens the store for an admin command that runs beside serve:
	// Redis must answer at once, and the embedded store is opened shared.
	Admin bool
}

// Open opens the backend cfg selects. For serve (cfg.Admin false), a Redis
// that is down yet is tolerated (intake answers 503 and workers wait), but
// refused credentials stop start-up, and the Redis settings are checked and
// warned about in log. Errors name the setting to fix.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RedisURL != "" {
		return openRedis(ctx, cfg, log)
	}
	opts := []embedded.Option{embedded.WithRate(cfg.Rate, cfg.Per), embedded.WithRateMax(cfg.RateMax)}
	if cfg.Admin {
		opts = append(opts, embedded.Shared())
	}
	st, err := embedded.Open(cfg.DataDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("STATUSBRIDGE_DATA_DIR: %v", err)
	}
	return st, nil
}

func openRedis(ctx context.Context, cfg Config, log *slog.Logger) (Backend, error) {
	opts := []redisstore.Option{redisstore.WithLimit(sharedLimit(cfg.Rate, cfg.RateMax, cfg.Per))}
	if !cfg.Admin {
		// serve starts while Redis is down: intake answers 503 and the
		// workers wait until it is back. Admin commands fail at once.
		opts = append(opts, redisstore.Lazy())
	}
	st, err := redisstore.Open(ctx, cfg.RedisURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %v", err)
	}
	if cfg.Admin {
		return st, nil
	}
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
	return st, nil
}

// sharedLimit turns the rate settings into the shared limiter's: it starts
// at n calls per period and may rise to ceiling. The limiter keeps every
// window of one period within the rate in force, bursts included.
func sharedLimit(n, ceiling int, per time.Duration) redisstore.LimiterConfig {
	return redisstore.LimiterConfig{Rate: n, Max: max(n, ceiling), Period: per}
}

// refusedCredentials reports whether Redis answered that the URL's
// credentials are wrong, a setting to fix rather than an outage to wait out.
func refusedCredentials(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password")
}
