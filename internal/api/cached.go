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

// computed is one computation's result, shared by the requests that waited on it:
// the typed value (stamped per response on a shallow copy) and, when the cache is
// on, the stored entry.
type computed struct {
	val     any
	entry   []byte
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
	if b, backend, ok := s.cacheGet(ctx, s.cacheKey(v, endpoint, h)); ok {
		s.metrics.cacheHits.WithLabelValues(string(backend)).Inc()
		c.Response().Header().Set("X-Cache", "hit")
		return respondEntry(c, b, Stamp{CacheStatus: "hit", Elapsed: time.Since(start), Now: s.now()}, render)
	}
	res, err, _ := s.flight.Do(s.cacheKey(v, endpoint, h), func() (any, error) {
		// The computation outlives a cancelled first caller: others may wait on it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StatementTimeout)
		defer cancel()
		val, version, err := s.computeSnapshot(cctx, func(ctx context.Context, snap Snapshot) (any, error) {
			return compute(ctx, snap)
		})
		if err != nil {
			return nil, err
		}
		got := computed{val: val, version: version}
		if s.cfg.CacheEnabled && s.cache != nil {
			body, err := json.Marshal(val)
			if err != nil {
				return nil, fmt.Errorf("%s: encode: %w", endpoint, err)
			}
			got.entry = newEntry(body)
			backend := s.cacheSet(cctx, s.cacheKey(version, endpoint, h), got.entry, s.cfg.CacheTTL[endpoint])
			s.metrics.cacheMisses.WithLabelValues(string(backend)).Inc()
		} else {
			s.metrics.cacheMisses.WithLabelValues("none").Inc()
		}
		return got, nil
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
	st := Stamp{CacheStatus: "miss", Elapsed: time.Since(start), Now: s.now()}
	val := got.val.(T) // a shallow copy: Stamp sets only this response's scalar fields
	if _, volatile := any(&val).(stamper); got.entry != nil && !volatile && render == nil {
		return respondEntry(c, got.entry, st, render)
	}
	return respondValue(c, &val, st, render)
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

// cacheKey is pulso:{instance}:v{V}:s{S}:{endpoint}:{params hash}.
func (s *Server) cacheKey(version int64, endpoint, h string) string {
	return fmt.Sprintf("pulso:%s:v%d:s%d:%s:%s", s.cacheNamespace, version, schemaVersion, endpoint, h)
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

// respondEntry writes a stored entry: as stored when the response has no volatile
// field and no other form (gzip passed through to a client that accepts it, so a
// hit costs no compression), else decoded, stamped and rendered.
func respondEntry[T any](c echo.Context, entry []byte, st Stamp, render func(echo.Context, *T) error) error {
	var val T
	_, volatile := any(&val).(stamper)
	if !volatile && render == nil {
		return writeEntry(c, entry)
	}
	body, err := entryJSON(entry)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("decode cached response: %w", err)
	}
	return respondValue(c, &val, st, render)
}

// respondValue stamps a value's volatile fields and writes it as JSON (compressed
// when large and accepted) or in render's form.
func respondValue[T any](c echo.Context, val *T, st Stamp, render func(echo.Context, *T) error) error {
	if sp, ok := any(val).(stamper); ok {
		sp.Stamp(st)
	}
	if render != nil {
		return render(c, val)
	}
	body, err := json.Marshal(val)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return writeEntry(c, newEntry(body))
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
