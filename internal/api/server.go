// Package api is pulso's HTTP API (api.md): the Echo server, its middleware chain,
// authentication, the cache/ETag decorator and thin handlers over the mart readers.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/cache"
)

// Config is serve's configuration (api.md §7), already typed and checked.
type Config struct {
	// Version is the build's version, shown by /health.
	Version     string
	Development bool
	HTTPAddr    string
	// MetricsAddr is the metrics listener; "" serves /metrics on HTTPAddr.
	MetricsAddr string
	// AsOf fixes today (zero: the current Lima date).
	AsOf             etl.Date
	JWTSecret        string
	AccessTTL        time.Duration
	RefreshTTL       time.Duration
	BcryptCost       int
	LoginPerMinute   int
	LoginMaxFailures int
	LockoutDuration  time.Duration
	// TrustedProxies are the addresses (IPs or CIDRs) whose X-Forwarded-For is believed.
	TrustedProxies         []string
	BootstrapAdminEmail    string
	BootstrapAdminPassword string
	CacheEnabled           bool
	// CacheTTL per cached endpoint name (dashboard, operation, …).
	CacheTTL    map[string]time.Duration
	CORSOrigins []string
	HSTS        bool
	DocsEnabled bool
	// StaleAfter marks a table stale; ScheduleInterval gives next_scheduled.
	StaleAfter       time.Duration
	ScheduleInterval time.Duration
	// Holidays are the non-business days (diasHabiles).
	Holidays []etl.Date
	// ReadTimeout, WriteTimeout and ShutdownTimeout default to 15 s, 30 s and 15 s.
	ReadTimeout, WriteTimeout, ShutdownTimeout time.Duration
	// VersionPoll is how often the data version is re-read besides LISTEN (30 s).
	VersionPoll time.Duration
	// HealthProbe is how often PostgreSQL's health flag is refreshed (2 s).
	HealthProbe time.Duration
	// StatementTimeout bounds every request's queries (10 s).
	StatementTimeout time.Duration
	// SourceConfigured says run-pipeline has a source to read (a dir source with a
	// directory, or BigQuery with a project); without one POST /etl/trigger answers 503.
	SourceConfigured bool
	// TriggerExecutable is the pulso binary POST /etl/trigger runs as a child
	// process ("" = this process's own executable).
	TriggerExecutable string
	// TriggerArgs go before "run-pipeline" on the child's command line: the global
	// flags serve was given (--config, --as-of, --source, --dir, …).
	TriggerArgs []string
	// TriggerTimeout bounds how long POST /etl/trigger waits for the child to take
	// the pipeline lock and open its run (10 s).
	TriggerTimeout time.Duration
	// TableLookback and TableInitialFrom are tables.<t>.lookback_days and
	// tables.<t>.initial_from, for the watermarks' next window (registry defaults
	// when absent).
	TableLookback    map[string]int
	TableInitialFrom map[string]time.Time
}

// Deps are the server's collaborators.
type Deps struct {
	Pool  *pgxpool.Pool
	Cache *cache.Cache
	Log   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Registry receives the HTTP metrics (a new registry when nil).
	Registry *prometheus.Registry
	// Tables are the source tables freshness and metrics report, in order.
	Tables []*etl.Table
	// TriggerOutput receives the standard error of the pipelines POST /etl/trigger
	// starts (nil: only kept in memory for the log of a child that fails to start).
	TriggerOutput io.Writer
}

// Server is one API process.
type Server struct {
	cfg     Config
	pool    *pgxpool.Pool
	cache   *cache.Cache
	log     *slog.Logger
	now     func() time.Time
	echo    *echo.Echo
	metrics *metrics
	// dataVersion is V as last seen through LISTEN or the poll.
	dataVersion atomic.Int64
	// cacheNamespace is the database's instance id, read once at start: the first
	// part of every cache key.
	cacheNamespace string
	// pgUp is the in-memory PostgreSQL health flag checked before any cache use.
	pgUp   atomic.Bool
	flight singleflight.Group
	auth   *authenticator
	tables []*etl.Table
	// runs are the pipeline processes POST /etl/trigger started.
	runs *childRuns
}

// New builds a server; Run starts it.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Pool == nil {
		return nil, errors.New("api: a database pool is required")
	}
	setDefaults(&cfg)
	s := &Server{cfg: cfg, pool: deps.Pool, cache: deps.Cache, log: deps.Log, now: deps.Now, tables: deps.Tables}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.runs = newChildRuns(s.log, deps.TriggerOutput)
	if s.now == nil {
		s.now = time.Now
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg, s)
	auth, err := newAuthenticator(s)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	s.echo = s.newEcho()
	return s, nil
}

// defaultCacheTTL are api.md §2's TTLs per cached endpoint.
var defaultCacheTTL = map[string]time.Duration{
	"dashboard": 30 * time.Minute, "operation": 30 * time.Minute, "evolution": time.Hour,
	"filters": time.Hour, "assignment": 2 * time.Hour, "productivity": 2 * time.Hour,
}

func setDefaults(cfg *Config) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ReadTimeout, 15*time.Second)
	def(&cfg.WriteTimeout, 30*time.Second)
	def(&cfg.ShutdownTimeout, 15*time.Second)
	def(&cfg.VersionPoll, 30*time.Second)
	def(&cfg.HealthProbe, 2*time.Second)
	def(&cfg.StatementTimeout, 10*time.Second)
	def(&cfg.AccessTTL, 30*time.Minute)
	def(&cfg.RefreshTTL, 7*24*time.Hour)
	def(&cfg.LockoutDuration, 30*time.Minute)
	def(&cfg.StaleAfter, 6*time.Hour)
	def(&cfg.ScheduleInterval, 3*time.Hour)
	ttl := map[string]time.Duration{}
	for name, d := range defaultCacheTTL {
		ttl[name] = d
		if v := cfg.CacheTTL[name]; v > 0 {
			ttl[name] = v
		}
	}
	cfg.CacheTTL = ttl
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	if cfg.LoginPerMinute == 0 {
		cfg.LoginPerMinute = 10
	}
	if cfg.LoginMaxFailures == 0 {
		cfg.LoginMaxFailures = 5
	}
}

// Handler is the API as an http.Handler (tests drive it with httptest).
func (s *Server) Handler() http.Handler { return s.echo }

// today is the Lima date requests default to: --as-of when set.
func (s *Server) today() etl.Date {
	if !s.cfg.AsOf.IsZero() {
		return s.cfg.AsOf
	}
	return etl.LimaDate(s.now())
}

// Prepare reads the data version, checks the bootstrap admin and starts following
// the version and PostgreSQL's health until ctx ends. Run calls it; tests that
// drive Handler call it themselves.
func (s *Server) Prepare(ctx context.Context) error {
	if err := s.bootstrapAdmin(ctx); err != nil {
		return err
	}
	if err := s.pool.QueryRow(ctx, `SELECT instance_id::text FROM etl.data_version`).Scan(&s.cacheNamespace); err != nil {
		return fmt.Errorf("read the database's instance id: %w", err)
	}
	if err := s.refreshVersion(ctx); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	s.pgUp.Store(true)
	go s.followVersion(ctx)
	go s.probeHealth(ctx)
	return nil
}

// Run serves until ctx ends, then drains in-flight requests (≤ ShutdownTimeout).
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.Prepare(ctx); err != nil {
		return err
	}
	servers := []*http.Server{s.httpServer(s.cfg.HTTPAddr, s.echo)}
	if s.cfg.MetricsAddr != "" {
		servers = append(servers, s.httpServer(s.cfg.MetricsAddr, s.metrics.handler()))
	}
	listeners := make([]net.Listener, 0, len(servers))
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return fmt.Errorf("listen %s: %w", srv.Addr, err)
		}
		listeners = append(listeners, ln)
		s.log.Info("listening", "addr", ln.Addr().String())
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("shutting down", "drain", s.cfg.ShutdownTimeout.String())
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer stop()
	// Triggered pipelines get SIGTERM now (they record themselves cancelled) and
	// are waited for within the same drain as the requests.
	s.runs.terminate()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			serveErr = errors.Join(serveErr, fmt.Errorf("shutdown %s: %w", srv.Addr, err))
		}
	}
	s.runs.wait(shutdownCtx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

func (s *Server) httpServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
