package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pulso-cobranzas/pulso/internal/api"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/cache"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

type serveOptions struct {
	httpAddr    string
	metricsAddr string
}

func newServeCmd(a *app, runF func(*serveOptions) error) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboard API (Echo) over the marts",
		Long: `Serve the dashboard JSON API on http.addr (:8000) and Prometheus metrics on
metrics.addr (:9090; empty serves /metrics on the main listener). Analytics answer
from the marts through a Redis cache (redis.url; an in-process cache without it)
keyed on the data version, so a pipeline commit is visible on the next request.
SIGTERM drains in-flight requests for up to 15 s.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flags().Lookup("http-addr"); f.Changed {
				a.cfg.HTTP.Addr = opts.httpAddr
			}
			if f := cmd.Flags().Lookup("metrics-addr"); f.Changed {
				a.cfg.Metrics.Addr = opts.metricsAddr
			}
			if runF != nil {
				return runF(opts)
			}
			return a.serve(cmd)
		},
	}
	cmd.Flags().StringVar(&opts.httpAddr, "http-addr", ":8000", "API listener (http.addr)")
	cmd.Flags().StringVar(&opts.metricsAddr, "metrics-addr", ":9090", "metrics listener; empty = the API listener (metrics.addr)")
	return cmd
}

func (a *app) serve(cmd *cobra.Command) error {
	ctx := cmd.Context()
	tuneGC()
	if a.cfg.Database.URL == "" {
		return fmt.Errorf("%w: database.url (DATABASE_URL) is required", errConfig)
	}
	pool, err := postgres.Open(ctx, a.cfg.Database.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		return err
	}
	// go-redis reports every failed dial through its own process-wide logger: at
	// debug level, so a Redis outage does not print a line per request (the cache
	// logs the outage once per back-off).
	redis.SetLogger(redisLogger{a.log})
	c, err := cache.New(cache.Options{RedisURL: a.cfg.Redis.URL, Enabled: a.cfg.Cache.Enabled,
		LocalMaxEntries: a.cfg.Cache.LocalMaxEntries, Log: a.log})
	if err != nil {
		return fmt.Errorf("%w: redis.url: %v", errConfig, err)
	}
	defer func() { _ = c.Close() }()
	cfg := a.apiConfig()
	cfg.TriggerArgs = triggerArgs(cmd)
	srv, err := api.New(cfg, api.Deps{Pool: pool, Cache: c, Log: a.log,
		Registry: prometheus.NewRegistry(), Tables: a.reg.Tables(), TriggerOutput: a.stderr})
	if err != nil {
		return configErr(err)
	}
	return configErr(srv.Run(ctx))
}

// configErr maps the server's configuration faults (secret, bootstrap admin) to exit 2.
func configErr(err error) error {
	if errors.Is(err, api.ErrConfig) {
		return fmt.Errorf("%w: %v", errConfig, err)
	}
	return err
}

func (a *app) apiConfig() api.Config {
	c := a.cfg
	perMinute, _ := parseLoginRate(c.Login.Rate) // checked by Validate
	lc := c.Load()
	return api.Config{
		Version:                version,
		Development:            strings.EqualFold(c.Env, "development"),
		HTTPAddr:               c.HTTP.Addr,
		MetricsAddr:            c.Metrics.Addr,
		AsOf:                   c.AsOf,
		JWTSecret:              c.JWT.Secret,
		AccessTTL:              c.JWT.AccessTTL,
		RefreshTTL:             c.JWT.RefreshTTL,
		BcryptCost:             c.Bcrypt.Cost,
		LoginPerMinute:         perMinute,
		LoginMaxFailures:       c.Login.MaxFailures,
		LockoutDuration:        c.Lockout.Duration,
		TrustedProxies:         c.TrustedProxies,
		BootstrapAdminEmail:    c.Bootstrap.AdminEmail,
		BootstrapAdminPassword: c.Bootstrap.AdminPassword,
		CacheEnabled:           c.Cache.Enabled,
		CacheTTL:               c.Cache.TTL.byEndpoint(),
		CORSOrigins:            c.CORS.Origins,
		HSTS:                   c.HSTS,
		DocsEnabled:            c.Docs.Enabled,
		StaleAfter:             c.StaleAfter,
		ScheduleInterval:       c.ScheduleInterval,
		Holidays:               c.Transform.Holidays,
		SourceConfigured:       c.sourceConfigured(),
		TableLookback:          lc.Lookback,
		TableInitialFrom:       lc.InitialFrom,
	}
}

// sourceConfigured says run-pipeline has a source to read, so POST /etl/trigger may
// start one: a dir source needs a directory, BigQuery a project.
func (c *Config) sourceConfigured() bool {
	switch c.Source.Kind {
	case etl.SourceDir:
		return strings.TrimSpace(c.Source.Dir) != ""
	case etl.SourceBigQuery:
		return strings.TrimSpace(c.BigQuery.Project) != ""
	}
	return false
}

// triggerArgs are the global flags serve was given (--config, --database-url,
// --as-of, --source, --dir, logging), as the argv before "run-pipeline" of the
// pipelines POST /etl/trigger starts: the child reads the same configuration, and
// the environment it inherits. --wait is left out: a triggered run never queues
// for the lock.
func triggerArgs(cmd *cobra.Command) []string {
	args := []string{}
	cmd.Root().PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed || f.Name == "wait" {
			return
		}
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	return args
}

func (t CacheTTLConfig) byEndpoint() map[string]time.Duration {
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	return map[string]time.Duration{
		"dashboard": sec(t.Dashboard), "operation": sec(t.Operation), "evolution": sec(t.Evolution),
		"filters": sec(t.Filters), "assignment": sec(t.Assignment), "productivity": sec(t.Productivity),
	}
}

// parseLoginRate reads "N/min", "N/s", "N/h" or a bare N (per minute) as attempts
// per minute.
func parseLoginRate(s string) (int, error) {
	num, unit, found := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 {
		return 0, errors.New("want a positive count such as 10/min")
	}
	if !found {
		return n, nil
	}
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "s", "sec", "second":
		return n * 60, nil
	case "m", "min", "minute":
		return n, nil
	case "h", "hour":
		return max(1, n/60), nil
	}
	return 0, fmt.Errorf("unit %q: want s, min or h", unit)
}

func validProxy(p string) bool {
	if _, _, err := net.ParseCIDR(p); err == nil {
		return true
	}
	return net.ParseIP(p) != nil
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// The API's live heap is small (a few MB: pools, the near cache) and its garbage is
// per request, so the default GOGC=100 collects every few MB under load and the
// collections show in the tail latency. Unless the operator set them, collect at 4x
// the live heap, with a soft limit that keeps the process well inside a 150 MB
// container budget (the runtime collects harder as it nears the limit).
const (
	serveGCPercent   = 400
	serveMemoryLimit = 100 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
