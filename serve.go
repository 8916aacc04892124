package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/graphsync"
	"github.com/statusbridge/statusbridge/mapping"
	"github.com/statusbridge/statusbridge/slackhandler"
)

func runServe(ctx context.Context, env *runEnv, args []string) error {
	cfg, err := loadConfig(env, "serve", "[flags]", args, nil)
	if err != nil {
		return err
	}
	if cfg.get("SLACK_SIGNING_SECRET") == "" && cfg.get("SLACK_APP_TOKEN") == "" {
		return errors.New("SLACK_SIGNING_SECRET is not set: set it to your Slack app's signing secret " +
			"(api.slack.com/apps → Basic Information → App Credentials) to receive events over HTTP, " +
			"or set SLACK_APP_TOKEN (and SLACK_BOT_TOKEN) for Socket Mode")
	}
	if cfg.get("SLACK_APP_TOKEN") != "" && cfg.get("SLACK_BOT_TOKEN") == "" {
		return errors.New("SLACK_BOT_TOKEN is not set: Socket Mode (SLACK_APP_TOKEN) also needs the app's bot token (xoxb-…, OAuth & Permissions)")
	}
	env.stderr = newRedactor(env.stderr, cfg.secrets(env.getenv))
	env.stdout = newRedactor(env.stdout, cfg.secrets(env.getenv))
	log := newLogger(cfg, env.stderr)
	return serve(ctx, cfg, env, log)
}

func serve(ctx context.Context, cfg config, env *runEnv, log *slog.Logger) error {
	publisher, err := newPublisher(cfg, env.getenv, log)
	if err != nil {
		return err
	}

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	if !isDryRun(publisher) {
		if n, err := bridge.ResumeAfterDryRun(ctx, st, time.Now()); err != nil {
			log.Warn("could not resume users a dry run set aside", "err", err)
		} else if n > 0 {
			log.Info("sending the statuses a dry run only logged", "users", n)
		}
	}

	reg := prometheus.NewRegistry()
	metrics := newMetrics(reg, st)

	dir, finder, err := newDiscovery(cfg, env.getenv)
	if err != nil {
		return err
	}
	domains, _ := mapping.ParseDomainMap(cfg.get("STATUSBRIDGE_EMAIL_DOMAIN_MAP"))
	mo := mapping.Options{DomainMap: domains, MaxAge: cfg.duration("STATUSBRIDGE_MAPPING_MAX_AGE"),
		NegativeTTL: new(cfg.duration("STATUSBRIDGE_NEGATIVE_CACHE")), Log: log, Observe: metrics.Mapping}
	if dir != nil && finder != nil {
		mo.Directory, mo.Finder = dir, mapping.NewLimitedFinder(finder, st.limiter)
	} else {
		log.Info("email discovery is off (it needs SLACK_BOT_TOKEN and the Azure settings); only admin-set mappings are used")
	}
	resolver := mapping.New(st, mo)

	engine := &bridge.Engine{
		Queue:     st,
		Resolver:  resolver,
		Publisher: publisher,
		Limiter:   st.limiter,
		Log:       log,
		Observer:  metrics,
		Workers:   cfg.int("STATUSBRIDGE_WORKERS"),
		Lease:     cfg.duration("STATUSBRIDGE_LEASE"),
		Grace:     cfg.duration("STATUSBRIDGE_SHUTDOWN_GRACE"),
	}

	mux := http.NewServeMux()
	if secret := cfg.get("SLACK_SIGNING_SECRET"); secret != "" {
		mux.Handle("/slack/events", slackhandler.NewHandler(secret, engine, slackhandler.WithLogger(log)))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	var socket *slackhandler.SocketRunner
	if appTok := cfg.get("SLACK_APP_TOKEN"); appTok != "" {
		socket = slackhandler.NewSocketRunner(appTok, cfg.get("SLACK_BOT_TOKEN"), cfg.get("SLACK_API_URL"), engine,
			slackhandler.WithSocketLogger(log), slackhandler.WithStaleAfter(cfg.duration("STATUSBRIDGE_SOCKET_STALE_AFTER")),
			slackhandler.WithSocketObserver(newSocketMetrics(reg)))
	}
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "not ready: store unreachable", http.StatusServiceUnavailable)
			return
		}
		if socket != nil && !socket.Connected() {
			http.Error(w, "not ready: Socket Mode is not connected", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	metricsHandler := promhandler(reg)
	servers := []*http.Server{newServer(cfg.get("STATUSBRIDGE_LISTEN"), mux)}
	if addr := cfg.get("STATUSBRIDGE_METRICS_LISTEN"); addr != "" {
		mm := http.NewServeMux()
		mm.Handle("/metrics", metricsHandler)
		servers = append(servers, newServer(addr, mm))
	} else {
		mux.Handle("/metrics", metricsHandler)
	}

	// Listen before anything runs, so a taken port fails start-up clearly.
	var listeners []net.Listener
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("cannot listen on %s: %v (set STATUSBRIDGE_LISTEN / STATUSBRIDGE_METRICS_LISTEN to a free address)", s.Addr, err)
		}
		listeners = append(listeners, ln)
	}

	if every := cfg.duration("STATUSBRIDGE_RECONCILE_INTERVAL"); every > 0 {
		if tok := cfg.get("SLACK_BOT_TOKEN"); tok != "" {
			go reconcileEvery(ctx, every, slackhandler.NewDirectory(tok, cfg.get("SLACK_API_URL")), engine, log)
		} else {
			log.Warn("STATUSBRIDGE_RECONCILE_INTERVAL is set but SLACK_BOT_TOKEN is not: no reconcile passes")
		}
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		engine.Run(workCtx)
	}()
	serveErr := make(chan error, len(servers)+1)
	socketCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	var socketDone chan struct{}
	if socket != nil {
		socketDone = make(chan struct{})
		go func() {
			defer close(socketDone)
			if err := socket.Run(socketCtx); err != nil {
				serveErr <- err
			}
		}()
	}
	for i, s := range servers {
		log.Info("listening", "addr", listeners[i].Addr().String())
		go func() {
			if err := s.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	log.Info("statusbridge started", "version", version, "store", st.kind, "dry_run", isDryRun(publisher),
		"workers", engine.Workers, "http_intake", cfg.get("SLACK_SIGNING_SECRET") != "", "socket_mode", socket != nil)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-serveErr:
		log.Error("stopping", "err", runErr)
	}
	// Reverse order of start-up: stop intake, drain workers, close the store.
	stopSocket()
	if socketDone != nil {
		<-socketDone
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, s := range servers {
		s.Shutdown(sctx)
	}
	cancel()
	stopWork()
	wg.Wait()
	log.Info("stopped")
	return runErr
}

func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

func isDryRun(p bridge.Publisher) bool {
	_, ok := p.(bridge.DryRunPublisher)
	return ok
}

// newPublisher returns the Graph publisher, or a dry-run one when asked for
// or when no Azure settings are given.
func newPublisher(cfg config, getenv func(string) string, log *slog.Logger) (bridge.Publisher, error) {
	if cfg.bool("STATUSBRIDGE_DRY_RUN") {
		log.Warn("dry run: Teams updates are logged, not sent (STATUSBRIDGE_DRY_RUN=true)")
		return bridge.DryRunPublisher{Log: log}, nil
	}
	if !graphsync.Configured(getenv) && !cfg.bool("STATUSBRIDGE_MANAGED_IDENTITY") {
		log.Warn("dry run: no Azure settings (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH); Teams updates are logged, not sent")
		return bridge.DryRunPublisher{Log: log}, nil
	}
	return newGraphClient(cfg, getenv)
}

// newFinder returns the Graph user finder, or nil when Graph is not configured.
func newFinder(cfg config, getenv func(string) string) (*graphsync.Client, error) {
	if !graphsync.Configured(getenv) && !cfg.bool("STATUSBRIDGE_MANAGED_IDENTITY") {
		return nil, nil
	}
	return newGraphClient(cfg, getenv)
}

// newDiscovery returns Slack's directory and Graph's user finder; either is
// nil when its settings are missing.
func newDiscovery(cfg config, getenv func(string) string) (mapping.Directory, mapping.UserFinder, error) {
	finder, err := newFinder(cfg, getenv)
	if err != nil || finder == nil {
		return nil, nil, err
	}
	tok := cfg.get("SLACK_BOT_TOKEN")
	if tok == "" {
		return nil, finder, nil
	}
	return slackhandler.NewDirectory(tok, cfg.get("SLACK_API_URL")), finder, nil
}

func newGraphClient(cfg config, getenv func(string) string) (*graphsync.Client, error) {
	return graphsync.New(graphsync.Config{
		GraphURL:                 cfg.get("STATUSBRIDGE_GRAPH_URL"),
		Scope:                    cfg.get("STATUSBRIDGE_GRAPH_SCOPE"),
		DisableInstanceDiscovery: cfg.bool("STATUSBRIDGE_DISABLE_INSTANCE_DISCOVERY"),
		ManagedIdentity:          cfg.bool("STATUSBRIDGE_MANAGED_IDENTITY"),
	}, getenv)
}
