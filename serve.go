package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusbridge/statusbridge/bridge"
	"github.com/statusbridge/statusbridge/graphsync"
	"github.com/statusbridge/statusbridge/mapping"
	"github.com/statusbridge/statusbridge/slackhandler"
	"github.com/statusbridge/statusbridge/store"
	"github.com/statusbridge/statusbridge/tracing"
)

// serveLine is serve's command line: every setting but doctor's own.
var serveLine = cmdLine{name: "serve", settings: withoutSetting(allSettings, "STATUSBRIDGE_PUBLIC_URL"), azure: true}

func runServe(ctx context.Context, env *runEnv, args []string) error {
	cfg, pos, err := serveLine.parse(env, args)
	if err != nil {
		return err
	}
	if err := wantArgs("serve", pos, 0, "Usage: statusbridge serve [flags]"); err != nil {
		return err
	}
	if cfg.SlackSigningSecret == "" && cfg.SlackAppToken == "" {
		return errors.New("SLACK_SIGNING_SECRET is not set: set it to your Slack app's signing secret " +
			"(api.slack.com/apps → Basic Information → App Credentials) to receive events over HTTP, " +
			"or set SLACK_APP_TOKEN (and SLACK_BOT_TOKEN) for Socket Mode")
	}
	if cfg.SlackAppToken != "" && cfg.SlackBotToken == "" {
		return errors.New("SLACK_BOT_TOKEN is not set: Socket Mode (SLACK_APP_TOKEN) also needs the app's bot token (xoxb-…, OAuth & Permissions)")
	}
	if err := checkTwoWay(cfg); err != nil {
		return err
	}
	secrets := secretValues(args, env.getenv)
	env.stderr = newRedactor(env.stderr, secrets)
	env.stdout = newRedactor(env.stdout, secrets)
	log := newLogger(cfg, env.stderr)
	for _, w := range cfg.warnings {
		log.Warn(w)
	}
	return serve(ctx, cfg, env, log)
}

// app is what serve wires together.
type app struct {
	cfg       *Config
	log       *slog.Logger
	st        store.Backend
	resolver  *mapping.Resolver
	engine    *bridge.Engine
	reg       *prometheus.Registry
	metrics   *metrics
	socket    *slackhandler.SocketRunner
	handler   *slackhandler.Handler
	controls  *bridge.Controls
	allowOrg  func(team, enterprise string) bool
	servers   []*http.Server
	listeners []net.Listener
	tracer    bridge.Tracer // nil: tracing is off
	twoWay    *twoWay       // nil: Teams → Slack is off
}

func serve(ctx context.Context, cfg *Config, env *runEnv, log *slog.Logger) error {
	a := &app{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	tracer, err := tracing.New(ctx, env.getenv)
	if err != nil {
		return err
	}
	if tracer != nil {
		// Exported last, after the workers drained.
		defer flushTraces(tracer, log)
		log = slog.New(tracing.LogHandler(log.Handler()))
		a.log, a.tracer = log, tracer
	}
	publisher, err := newPublisher(cfg, env.getenv, log)
	if err != nil {
		return err
	}
	if a.st, err = openStore(ctx, cfg, log); err != nil {
		return err
	}
	defer a.st.Close()
	a.metrics = newMetrics(a.reg, a.st)
	if a.allowOrg, err = allowedOrg(ctx, cfg, log); err != nil {
		return err
	}
	if err := a.wireEngine(ctx, env, publisher); err != nil {
		return err
	}
	if err := a.wireTwoWay(publisher); err != nil {
		return err
	}
	// The resolver's background re-verifications end before the store closes.
	defer a.resolver.Wait()
	a.wireIntake()
	if err := a.listen(); err != nil {
		return err
	}
	return a.run(ctx)
}

// wireEngine builds the resolver and the engine.
func (a *app) wireEngine(ctx context.Context, env *runEnv, client *graphsync.Client) error {
	cfg, log := a.cfg, a.log
	var publisher bridge.Publisher
	if client != nil {
		publisher = client
	}
	dryRun := client == nil
	if !dryRun {
		if n, err := bridge.ResumeAfterDryRun(ctx, a.st, time.Now()); err != nil {
			log.Warn("could not resume users a dry run set aside", "err", err)
		} else if n > 0 {
			log.Info("sending the statuses a dry run only logged", "users", n)
		}
	}
	dir, finder, err := newDiscovery(cfg, env.getenv)
	if err != nil {
		return err
	}
	mo := mapping.Options{DomainMap: cfg.EmailDomainMap, MaxAge: cfg.MappingMaxAge,
		NegativeTTL: new(cfg.NegativeCache), Log: log, Observe: a.metrics.Mapping, AllowOrg: a.allowOrg}
	if dir != nil && finder != nil {
		mo.Directory, mo.Finder = dir, mapping.NewLimitedFinder(finder, a.st.Limiter())
	} else {
		log.Info("email discovery is off (it needs SLACK_BOT_TOKEN and the Azure settings); only admin-set mappings are used")
	}
	a.resolver = mapping.New(a.st, mo)
	a.engine = &bridge.Engine{
		Queue:      a.st,
		Resolver:   a.resolver,
		Publisher:  publisher,
		DryRun:     dryRun,
		Limiter:    a.st.Limiter(),
		Log:        log,
		Observer:   a.metrics,
		Tracer:     a.tracer,
		Workers:    cfg.Workers,
		MaxWorkers: cfg.WorkersMax,
		Lease:      cfg.Lease,
		Grace:      cfg.ShutdownGrace,
		Owners:     a.st,
		Overwrite:  cfg.TeamsConflict == "overwrite",
		OptIn:      cfg.MirrorDefault == "off",
	}
	if client != nil {
		a.engine.Presence, a.engine.Upcoming = client, a.st
	}
	a.controls = &bridge.Controls{Store: a.st, Submitter: a.engine, OptIn: a.engine.OptIn}
	if cfg.SlackBotToken != "" {
		a.controls.Current = slackhandler.NewDirectory(cfg.SlackBotToken, cfg.SlackAPIURL).Current
	}
	return nil
}

// wireIntake builds the HTTP routes and the Socket Mode runner.
func (a *app) wireIntake() {
	cfg, st := a.cfg, a.st
	mux := http.NewServeMux()
	if cfg.SlackSigningSecret != "" {
		opts := []slackhandler.Option{slackhandler.WithLogger(a.log), slackhandler.WithObserver(a.metrics),
			slackhandler.WithControls(a.controls), slackhandler.WithTracer(a.tracer)}
		if a.allowOrg != nil {
			opts = append(opts, slackhandler.WithOrg(a.allowOrg))
		}
		if cfg.SlackBotToken != "" {
			opts = append(opts, slackhandler.WithHome(cfg.SlackBotToken, cfg.SlackAPIURL))
		}
		a.handler = slackhandler.NewHandler(cfg.SlackSigningSecret, a.engine, opts...)
		mux.Handle("/slack/events", a.handler)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	if cfg.SlackAppToken != "" {
		opts := []slackhandler.SocketOption{slackhandler.WithSocketLogger(a.log), slackhandler.WithStaleAfter(cfg.SocketStaleAfter),
			slackhandler.WithSocketObserver(newSocketMetrics(a.reg)), slackhandler.WithSocketControls(a.controls),
			slackhandler.WithSocketTracer(a.tracer)}
		if a.allowOrg != nil {
			opts = append(opts, slackhandler.WithSocketOrg(a.allowOrg))
		}
		a.socket = slackhandler.NewSocketRunner(cfg.SlackAppToken, cfg.SlackBotToken, cfg.SlackAPIURL, a.engine, opts...)
		registerSocketConnected(a.reg, a.socket.Connected)
	}
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "not ready: store unreachable", http.StatusServiceUnavailable)
			return
		}
		if a.socket != nil && !a.socket.Connected() {
			http.Error(w, "not ready: Socket Mode is not connected", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	metricsHandler := promhandler(a.reg)
	a.servers = []*http.Server{newServer(cfg.Listen, mux)}
	if cfg.MetricsListen != "" {
		mm := http.NewServeMux()
		mm.Handle("/metrics", metricsHandler)
		a.servers = append(a.servers, newServer(cfg.MetricsListen, mm))
	} else {
		mux.Handle("/metrics", metricsHandler)
	}
}

// listen opens every listener before anything runs, so a taken port fails
// start-up clearly.
func (a *app) listen() error {
	for _, s := range a.servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range a.listeners {
				l.Close()
			}
			return fmt.Errorf("cannot listen on %s: %v (set STATUSBRIDGE_LISTEN / STATUSBRIDGE_METRICS_LISTEN to a free address)", s.Addr, err)
		}
		a.listeners = append(a.listeners, ln)
	}
	return nil
}

// run starts the workers, the reconcile loop, Socket Mode and the servers,
// waits for a signal or a fatal error, then shuts down in the reverse order.
func (a *app) run(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	if cfg.ReconcileInterval > 0 {
		if cfg.SlackBotToken != "" {
			// One replica reconciles at a time (a lock in the store).
			r := newReconciler(cfg, a.engine, a.allowOrg)
			r.Lock = a.st
			go r.RunEvery(ctx, cfg.ReconcileInterval, log)
		} else {
			log.Warn("STATUSBRIDGE_RECONCILE_INTERVAL is set but SLACK_BOT_TOKEN is not: no reconcile passes")
		}
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		a.engine.Run(workCtx)
	}()
	twoWayDone := make(chan struct{})
	if a.twoWay != nil {
		twoWayDone = a.twoWay.start(ctx, workCtx)
	} else {
		close(twoWayDone)
	}
	serveErr := make(chan error, len(a.servers)+1)
	socketCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	socketDone := make(chan struct{})
	go func() {
		defer close(socketDone)
		if a.socket == nil {
			return
		}
		if err := a.socket.Run(socketCtx); err != nil {
			serveErr <- err
		}
	}()
	for i, s := range a.servers {
		log.Info("listening", "addr", a.listeners[i].Addr().String())
		go func() {
			if err := s.Serve(a.listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	log.Info("statusbridge started", "version", version, "store", a.st.Kind(), "dry_run", a.engine.DryRun,
		"workers", a.engine.Workers, "workers_max", max(a.engine.Workers, a.engine.MaxWorkers), "http_intake", cfg.SlackSigningSecret != "", "socket_mode", a.socket != nil)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-serveErr:
		log.Error("stopping", "err", runErr)
	}
	// Reverse order of start-up: stop intake, drain workers, close the store.
	stopSocket()
	<-socketDone
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	for _, s := range a.servers {
		s.Shutdown(sctx)
	}
	cancel()
	if a.handler != nil {
		a.handler.Wait()
	}
	stopWork()
	<-workDone
	<-twoWayDone
	log.Info("stopped")
	return runErr
}

// flushTraces exports the spans still buffered, within a few seconds.
func flushTraces(t *tracing.Tracer, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("could not export the last traces", "err", err)
	}
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

// newPublisher returns the Graph publisher, or nil for a dry run: when asked
// for, or when no Azure settings are given.
func newPublisher(cfg *Config, getenv func(string) string, log *slog.Logger) (*graphsync.Client, error) {
	if cfg.DryRun {
		log.Warn("dry run: Teams updates are logged, not sent (STATUSBRIDGE_DRY_RUN=true)")
		return nil, nil
	}
	if !graphsync.Configured(getenv) && !cfg.ManagedIdentity {
		log.Warn("dry run: no Azure settings (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH); Teams updates are logged, not sent")
		return nil, nil
	}
	return newGraphClient(cfg, getenv)
}

// newFinder returns the Graph user finder, or nil when Graph is not configured.
func newFinder(cfg *Config, getenv func(string) string) (*graphsync.Client, error) {
	if !graphsync.Configured(getenv) && !cfg.ManagedIdentity {
		return nil, nil
	}
	return newGraphClient(cfg, getenv)
}

// newDiscovery returns Slack's directory and Graph's user finder; either is
// nil when its settings are missing.
func newDiscovery(cfg *Config, getenv func(string) string) (mapping.Directory, mapping.UserFinder, error) {
	finder, err := newFinder(cfg, getenv)
	if err != nil || finder == nil {
		return nil, nil, err
	}
	if cfg.SlackBotToken == "" {
		return nil, finder, nil
	}
	return slackhandler.NewDirectory(cfg.SlackBotToken, cfg.SlackAPIURL), finder, nil
}

func newGraphClient(cfg *Config, getenv func(string) string) (*graphsync.Client, error) {
	return graphsync.New(graphsync.Config{
		GraphURL:                 cfg.GraphURL,
		Scope:                    cfg.GraphScope,
		DisableInstanceDiscovery: cfg.DisableInstanceDiscovery,
		ManagedIdentity:          cfg.ManagedIdentity,
	}, cfg.azureEnv(getenv))
}
