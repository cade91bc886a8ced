package api

import (
	"net/http"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/store/cache"
	"github.com/pulso-cobranzas/pulso/internal/store/cache/redistest"
)

// Servers on two databases sharing one Redis, at the same data version, asked the same
// question: each computes its own answer (the database's instance id prefixes every
// key), while a second server on the same database is served the first one's entry.
func TestCacheKeysNamespacedByDatabase(t *testing.T) {
	redisSrv := redistest.Start(t)
	serverOn := func(shareWith *testServer, newInstance bool) *testServer {
		return newTestServerDeps(t, func(c *Config) { c.CacheEnabled = true }, func(d *Deps) {
			if shareWith != nil {
				d.Pool = shareWith.Pool
			}
			if newInstance {
				// Test databases are clones of one migrated template, which copies the
				// id; a database migrated on its own draws one.
				if _, err := d.Pool.Exec(t.Context(), `UPDATE etl.data_version SET instance_id = gen_random_uuid()`); err != nil {
					t.Fatal(err)
				}
			}
			c, err := cache.New(cache.Options{Enabled: true, RedisURL: redisSrv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			d.Cache = c
		})
	}
	const path = "/api/v1/dashboard?fecha_corte=2025-07-15"
	xCache := func(ts *testServer) string {
		t.Helper()
		r := ts.etlCall(t, http.MethodGet, path, ts.tokenFor(t, "viewer"), nil)
		if r.status != http.StatusOK || r.header.Get("X-Data-Version") != "0" {
			t.Fatalf("dashboard: %d %v", r.status, r.header)
		}
		return r.header.Get("X-Cache")
	}

	a := serverOn(nil, false)
	if got := xCache(a); got != "miss" {
		t.Fatalf("first request on A: X-Cache %q, want miss", got)
	}
	if got := xCache(serverOn(a, false)); got != "hit" {
		t.Fatalf("a second server on A's database: X-Cache %q, want hit (from Redis)", got)
	}
	b := serverOn(nil, true)
	if a.Server.cacheNamespace == b.Server.cacheNamespace || b.Server.cacheNamespace == "" {
		t.Fatalf("instance ids: A %q, B %q", a.Server.cacheNamespace, b.Server.cacheNamespace)
	}
	if got := xCache(b); got != "miss" {
		t.Fatalf("a server on another database: X-Cache %q, want miss (never A's entry)", got)
	}
}
