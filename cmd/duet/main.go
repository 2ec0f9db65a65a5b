// Command duet serves the collaborative coding-interview pad: pages, API, WebSocket
// hub and the embedded browser assets, from one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"duet/accounts"
	"duet/bus/redisbus"
	"duet/collab"
	"duet/collab/replay"
	"duet/handlers"
	"duet/metrics"
	"duet/questions"
	"duet/static"
	"duet/store"
	"duet/store/postgres"
	"duet/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "duet:", err)
		os.Exit(1)
	}
}

// run is the whole program: it returns when ctx is cancelled and the server has shut
// down, or when it cannot start.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "store" {
		return runStore(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "user" {
		return runUser(ctx, args[1:], getenv, os.Stdin, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.healthcheck {
		return probe(ctx, cfg.addr)
	}
	logger := newLogger(cfg, stderr)
	// Metrics only when they are served: without them the hub and the store run
	// with no observer at all.
	var m *metrics.Metrics
	var observer collab.Observer
	var observeCommit func(int, time.Duration)
	if cfg.metricsAddr != "" {
		m = metrics.New()
		observer, observeCommit = m, m.ObserveCommit
	}

	st, err := openStore(ctx, cfg, observeCommit, logger)
	if err != nil {
		return err
	}
	// The store closes last: after the hub has shut down (every accepted update is
	// stored before it is broadcast, and the hub saves snapshots as it goes) and the
	// janitor has stopped. Close commits what is still queued.
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	}()
	janitorCtx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		purgeIdle(janitorCtx, st, cfg.sessionTTL, logger)
	}()
	defer func() {
		stopJanitor()
		<-janitorDone
	}()
	var bus collab.Bus
	if cfg.bus == "redis" {
		// go-redis logs (reconnections, mostly) through a logger of its own: into
		// duet's, as warnings, rather than unstructured lines on stderr.
		redis.SetLogger(redisLogger{logger})
		rb, err := redisbus.Open(ctx, cfg.redisURL, redisbus.Options{Logger: logger})
		if err != nil {
			return fmt.Errorf("open the bus: %w", err)
		}
		// Closed after the hub has shut down (deferred calls run in reverse): its
		// last events are published first.
		defer rb.Close()
		bus = rb
		logger.Info("bus opened", "bus", "redis")
	}
	hub := collab.NewHub(collab.HubConfig{Store: st, Logger: logger, Limits: cfg.limits, Observer: observer, Bus: bus})
	library, err := questions.NewLibrary(st, collab.Languages())
	if err != nil {
		return err
	}

	// Accounts only with sign-in: without it nobody has one (and making the
	// service costs a password hash).
	var accts handlers.Accounts // a nil *accounts.Service would not be a nil interface
	var svc *accounts.Service
	if cfg.auth != handlers.AuthNone {
		svc = accounts.New(st, accounts.Options{})
		accts = svc
		signInsDone := make(chan struct{})
		go func() {
			defer close(signInsDone)
			purgeSignIns(janitorCtx, svc, logger)
		}()
		defer func() { // runs before the janitor's own deferred stop
			stopJanitor()
			<-signInsDone
		}()
	}
	var oidc handlers.OIDC
	if cfg.auth == handlers.AuthOIDC {
		o, err := accounts.NewOIDC(ctx, svc, accounts.OIDCConfig{
			Issuer: cfg.oidc.issuer, ClientID: cfg.oidc.clientID, ClientSecret: cfg.oidc.clientSecret,
			RedirectURL: cfg.oidc.redirectURL, EmailDomain: cfg.oidc.emailDomain,
		})
		if err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
		oidc = o
	}

	assets, err := static.New(static.Embedded())
	if err != nil {
		// A binary built without its assets still serves the API and the pages, so
		// it can be tried and probed; the pages then lack their scripts and styles.
		logger.Error("browser assets unusable: pages will have no scripts or styles", "err", err)
		assets = &static.Dist{}
	}
	h, err := handlers.New(handlers.Config{
		Sessions:       hub,
		Sockets:        hub,
		Replays:        replay.New(st),
		Questions:      library,
		Owners:         hub,
		Notes:          hub,
		Logger:         logger,
		BaseURL:        cfg.baseURL,
		Origins:        cfg.origins,
		BodyLimit:      cfg.bodyLimit,
		BodyTimeout:    cfg.bodyTimeout,
		Limits:         cfg.addressLimits,
		TrustedProxies: cfg.trustedProxies,
		Static:         assets,
		Compression:    cfg.compression,
		Auth:           cfg.auth,
		Accounts:       accts,
		OIDC:           oidc,
		Interviews:     hub,
	})
	if err != nil {
		return err
	}
	if m != nil {
		m.WatchHub(hub)
		h = m.Streams(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Hijacked WebSocket connections are not tracked by Shutdown; the hub closes them
	// with 1001 (going away) as soon as shutdown begins, and is waited for below.
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
		defer cancel()
		hub.Shutdown(ctx)
	})

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.baseURL)
	if cfg.baseURL == "" {
		logger.Warn("BASE_URL is not set: share links are built from the Host header of each request, " +
			"which is wrong behind a proxy that rewrites it and is whatever the client sends. " +
			"Set -base-url to duet's public address, such as https://pad.example.com")
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if m != nil {
		stopMetrics, err := serveMetrics(cfg, m, logger, serveErr)
		if err != nil {
			srv.Close()
			return err
		}
		defer stopMetrics()
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// This waits for the hook's call too: its snapshots are stored before the store closes.
	if err := hub.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// serveMetrics serves /metrics (and the profiler with -pprof) on the metrics
// listener, apart from the public one; a failure to serve goes to serveErr. The
// function it returns stops it.
func serveMetrics(cfg config, m *metrics.Metrics, logger *slog.Logger, serveErr chan<- error) (stop func(), err error) {
	ln, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (metrics): %w", cfg.metricsAddr, err)
	}
	logger.Info("metrics listening", "addr", ln.Addr().String(), "pprof", cfg.pprof)
	srv := &http.Server{
		Handler:           m.Handler(cfg.pprof),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			select {
			case serveErr <- fmt.Errorf("metrics: %w", err):
			default:
			}
		}
	}()
	return func() { srv.Close() }, nil
}

// backend is what every store of duet keeps: sessions, the question library,
// accounts and the lists of interviews.
type backend interface {
	store.Store
	store.Questions
	store.Accounts
	store.Interviews
}

// openStore opens the configured store: the SQLite file in the data folder, the
// PostgreSQL database, or memory. observeCommit, if not nil, is told of every commit
// of a durable store.
func openStore(ctx context.Context, cfg config, observeCommit func(int, time.Duration), logger *slog.Logger) (backend, error) {
	switch cfg.store {
	case "memory":
		logger.Info("store opened: sessions are lost when duet stops", "store", "memory")
		return store.NewMemoryWithLimits(cfg.storeLimits), nil
	case "postgres":
		st, err := postgres.Open(ctx, cfg.databaseURL, postgres.Options{MaxConns: cfg.databasePool, ObserveBatch: observeCommit, Limits: cfg.storeLimits})
		if err != nil {
			return nil, fmt.Errorf("open the store: %w", err)
		}
		logger.Info("store opened", "store", "postgres", "database", st.Database(), "pool", st.MaxConns())
		return st, nil
	}
	path := filepath.Join(cfg.dataDir, "duet.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Sync: cfg.sync, CommitEvery: cfg.commitEvery, ObserveCommit: observeCommit, Limits: cfg.storeLimits})
	if err != nil {
		return nil, fmt.Errorf("open the store: %w", err)
	}
	logger.Info("store opened", "store", "sqlite", "path", path, "sync", cfg.sync)
	return st, nil
}

// purgeInterval is how often idle sessions are looked for.
const purgeInterval = time.Hour

// purgeIdle deletes the sessions idle for longer than ttl, with their history, at
// once and then every purgeInterval, until ctx ends. A ttl of 0 keeps everything.
func purgeIdle(ctx context.Context, st store.Store, ttl time.Duration, logger *slog.Logger) {
	if ttl <= 0 {
		return
	}
	tick := time.NewTicker(purgeInterval)
	defer tick.Stop()
	for {
		n, err := st.PurgeIdle(ctx, time.Now().Add(-ttl))
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("purge idle sessions", "err", err)
		case n > 0:
			logger.Info("purged idle sessions", "count", n, "idle_for", ttl.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// purgeSignIns deletes expired sign-ins at once and then every purgeInterval,
// until ctx ends: a signed-in browser's credential is useless once expired, and the
// table should not grow with every sign-in ever made.
func purgeSignIns(ctx context.Context, a *accounts.Service, logger *slog.Logger) {
	tick := time.NewTicker(purgeInterval)
	defer tick.Stop()
	for {
		if n, err := a.Purge(ctx); err != nil && ctx.Err() == nil {
			logger.Error("purge expired sign-ins", "err", err)
		} else if n > 0 {
			logger.Info("purged expired sign-ins", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// probe asks the duet listening on addr for /health; the container image has no
// curl, so the binary checks itself.
func probe(ctx context.Context, addr string) error {
	host, port, _ := net.SplitHostPort(addr) // validated by parseConfig
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/health", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /health answered %s", res.Status)
	}
	return nil
}

// redisLogger is go-redis's logger writing to duet's.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.logger.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
