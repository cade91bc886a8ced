package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/store/cache"
)

// schemaVersion is S of api.md §2: bump it with any change to a cached response's
// shape, so no client or cache keeps an old shape.
const schemaVersion = 1

// Snapshot is what a cached computation reads: one read-only REPEATABLE READ
// transaction and the data version that transaction sees.
type Snapshot struct {
	Tx          pgx.Tx
	DataVersion int64
}

// Stamp carries a response's volatile fields, filled per response after the cache.
type Stamp struct {
	CacheStatus string // "hit" or "miss"
	Elapsed     time.Duration
	Now         time.Time
}

// stamper is implemented by responses with volatile fields (queryTime,
// execution_time_seconds, cache_status, generated_at).
type stamper interface{ Stamp(Stamp) }

type computed struct {
	body    []byte
	version int64
}

// serveCached is the cache/ETag step of api.md §2 around one analytics computation:
// PostgreSQL's health flag, then the ETag of (V, S, H) with 304 before any database
// access, then the cache, then one computation per key in a REPEATABLE READ snapshot,
// stored under the version that snapshot read. render writes a non-JSON form
// (CSV); nil writes JSON.
func serveCached[T any](s *Server, c echo.Context, endpoint string, params any,
	compute func(context.Context, Snapshot) (T, error), render func(echo.Context, *T) error) error {
	start := time.Now()
	if !s.pgUp.Load() {
		return errUnavailable
	}
	h := analytics.Hash(params)
	v := s.dataVersion.Load()
	etag := s.setCacheHeaders(c, v, h)
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	ctx := c.Request().Context()
	if b, backend, ok := s.cacheGet(ctx, cacheKey(v, endpoint, h)); ok {
		s.metrics.cacheHits.WithLabelValues(string(backend)).Inc()
		c.Response().Header().Set("X-Cache", "hit")
		return respondCached(c, b, Stamp{CacheStatus: "hit", Elapsed: time.Since(start), Now: s.now()}, render)
	}
	res, err, _ := s.flight.Do(cacheKey(v, endpoint, h), func() (any, error) {
		// The computation outlives a cancelled first caller: others may wait on it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StatementTimeout)
		defer cancel()
		val, version, err := s.computeSnapshot(cctx, func(ctx context.Context, snap Snapshot) (any, error) {
			return compute(ctx, snap)
		})
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("%s: encode: %w", endpoint, err)
		}
		backend := s.cacheSet(cctx, cacheKey(version, endpoint, h), body, s.cfg.CacheTTL[endpoint])
		s.metrics.cacheMisses.WithLabelValues(string(backend)).Inc()
		return computed{body: body, version: version}, nil
	})
	if err != nil {
		// An error answer (404, 400, 503) is not a representation of the data.
		hdr := c.Response().Header()
		for _, h := range []string{"ETag", "Cache-Control", "X-Data-Version"} {
			hdr.Del(h)
		}
		return err
	}
	got := res.(computed)
	if got.version != v {
		s.setCacheHeaders(c, got.version, h)
	}
	c.Response().Header().Set("X-Cache", "miss")
	return respondCached(c, got.body, Stamp{CacheStatus: "miss", Elapsed: time.Since(start), Now: s.now()}, render)
}

// computeSnapshot runs f in one read-only REPEATABLE READ transaction that first
// reads the data version, so a response is stored under the version it reflects.
func (s *Server) computeSnapshot(ctx context.Context, f func(context.Context, Snapshot) (any, error)) (any, int64, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var version int64
	if err := tx.QueryRow(ctx, `SELECT version FROM etl.data_version`).Scan(&version); err != nil {
		return nil, 0, fmt.Errorf("read data version: %w", err)
	}
	s.observeVersion(version)
	val, err := f(ctx, Snapshot{Tx: tx, DataVersion: version})
	if err != nil {
		return nil, 0, err
	}
	return val, version, nil
}

func (s *Server) setCacheHeaders(c echo.Context, version int64, h string) string {
	etag := fmt.Sprintf(`W/"v%d-s%d-%s"`, version, schemaVersion, h)
	hdr := c.Response().Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "private, no-cache")
	hdr.Set("X-Data-Version", strconv.FormatInt(version, 10))
	return etag
}

func cacheKey(version int64, endpoint, h string) string {
	return fmt.Sprintf("pulso:v%d:s%d:%s:%s", version, schemaVersion, endpoint, h)
}

func (s *Server) cacheGet(ctx context.Context, key string) ([]byte, cache.Backend, bool) {
	if !s.cfg.CacheEnabled || s.cache == nil {
		return nil, "", false
	}
	return s.cache.Get(ctx, key)
}

func (s *Server) cacheSet(ctx context.Context, key string, body []byte, ttl time.Duration) cache.Backend {
	if !s.cfg.CacheEnabled || s.cache == nil {
		return "none"
	}
	return s.cache.Set(ctx, key, body, ttl)
}

// respondCached writes a stored body: as is when the response has no volatile field
// and no other form, else decoded, stamped and rendered.
func respondCached[T any](c echo.Context, body []byte, st Stamp, render func(echo.Context, *T) error) error {
	var val T
	_, volatile := any(&val).(stamper)
	if !volatile && render == nil {
		return c.JSONBlob(http.StatusOK, body)
	}
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("decode cached response: %w", err)
	}
	if sp, ok := any(&val).(stamper); ok {
		sp.Stamp(st)
	}
	if render != nil {
		return render(c, &val)
	}
	return c.JSON(http.StatusOK, &val)
}

// etagMatches implements If-None-Match for weak ETags: "*" or any listed tag.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == etag || "W/"+tag == etag {
			return true
		}
	}
	return false
}
