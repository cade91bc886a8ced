package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulso-cobranzas/pulso/internal/store/cache"
)

// rolePermissions are api.md §1's roles, written out independently of the
// migration's seed so a drift in either fails the matrix.
var rolePermissions = map[string][]string{
	"admin": {PermUserRead, PermUserCreate, PermUserUpdate, PermUserDelete, PermDashboardRead,
		PermReportsRead, PermReportsExport, PermSystemRead, PermSystemConfigure},
	"manager": {PermUserRead, PermDashboardRead, PermReportsRead, PermReportsExport, PermSystemRead},
	"analyst": {PermDashboardRead, PermReportsRead, PermReportsExport},
	"viewer":  {PermDashboardRead},
}

// concretePath fills a route pattern's parameters. The trigger is asked for an
// unknown table, so the matrix checks its permissions without starting a pipeline.
func concretePath(pattern string) string {
	if pattern == apiV1+"/etl/trigger" {
		return pattern + "?tables=nadie"
	}
	path := strings.ReplaceAll(pattern, ":agent_id", url.PathEscape("nadie@pulso.test"))
	path = strings.ReplaceAll(path, ":table", "pagos")
	path = strings.ReplaceAll(path, ":id", uuid.NewString())
	path = strings.ReplaceAll(path, ":role", "viewer")
	return strings.ReplaceAll(path, "/*", "/index.html")
}

// The permission matrix: every route of the routing table × no token and the four
// roles, generated from the table the server is built from, so a new route cannot
// be left out. A role holding the route's permissions is never refused; one lacking
// any of them gets 403; no token gets 401 on every protected route.
func TestPermissionMatrix(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.DocsEnabled = true })
	tokens := map[string]string{}
	for role := range rolePermissions {
		tokens[role] = ts.tokenFor(t, role)
	}
	checked := 0
	for _, r := range ts.Server.routes() {
		path := concretePath(r.path)
		var body any
		if r.method == http.MethodPost {
			body = map[string]any{}
		}
		name := r.method + " " + r.path
		if r.public {
			resp := ts.do(t, r.method, path, "", body, nil)
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s is public but answered %d without a token", name, resp.StatusCode)
			}
			continue
		}
		resp := ts.do(t, r.method, path, "", body, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", name, resp.StatusCode)
		}
		for role, perms := range rolePermissions {
			allowed := true
			for _, p := range r.perms {
				allowed = allowed && slices.Contains(perms, p)
			}
			resp := ts.do(t, r.method, path, tokens[role], body, nil)
			resp.Body.Close()
			switch {
			case allowed && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
				t.Errorf("%s as %s: %d, want it allowed", name, role, resp.StatusCode)
			case !allowed && resp.StatusCode != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", name, role, resp.StatusCode)
			case resp.StatusCode >= 500:
				t.Errorf("%s as %s: %d", name, role, resp.StatusCode)
			}
			checked++
		}
	}
	// format=csv also needs reports.export.
	for _, path := range []string{"/api/v1/dashboard?format=csv", "/api/v1/evolution?format=csv", "/api/v1/productivity?format=csv"} {
		for role, perms := range rolePermissions {
			resp := ts.do(t, http.MethodGet, path, tokens[role], nil, nil)
			resp.Body.Close()
			want := slices.Contains(perms, PermReportsExport)
			if got := resp.StatusCode == http.StatusOK; got != want {
				t.Errorf("GET %s as %s: %d (export permission %v)", path, role, resp.StatusCode, want)
			}
			if want && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Errorf("GET %s: Content-Type %q", path, resp.Header.Get("Content-Type"))
			}
			checked++
		}
	}
	if checked < 80 {
		t.Fatalf("only %d route × role cases checked", checked)
	}
	t.Logf("%d route × role cases", checked)
}

// errorShape decodes and checks the single error shape.
func errorShape(t *testing.T, resp *http.Response) (code string, details []string) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Status, Message, Code, RequestID string
		Details                          []struct{ Field, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	if e.Status != "error" || e.Message == "" || e.Code == "" || e.RequestID == "" ||
		e.RequestID != resp.Header.Get("X-Request-ID") {
		t.Errorf("not the error shape: %s", b)
	}
	for _, d := range e.Details {
		details = append(details, d.Field)
	}
	return e.Code, details
}

// R7: malformed dates, unknown enums, reversed ranges, huge lists, SQL
// metacharacters, wrong JSON types and oversized bodies answer 400 (413) with the
// error shape and the offending field, never 500; nothing executes as SQL.
func TestBadInputs(t *testing.T) {
	ts := newTestServer(t, nil)
	token := ts.tokenFor(t, "admin")
	huge := strings.Repeat("TEMPRANA,", 10000)
	cases := []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"GET", "/api/v1/dashboard?fecha_corte=2025-13-45", nil, 400, "fecha_corte"},
		{"GET", "/api/v1/dashboard?fecha_corte=15/07/2025", nil, 400, "fecha_corte"},
		{"GET", "/api/v1/dashboard?cartera=PLATINO", nil, 400, "cartera"},
		{"GET", "/api/v1/dashboard?servicio=SATELITAL", nil, 400, "servicio"},
		{"GET", "/api/v1/dashboard?periodo=2025-13", nil, 400, "periodo"},
		{"GET", "/api/v1/dashboard?fecha_inicio=2025-07-10&fecha_fin=2025-07-01", nil, 400, ""},
		{"GET", "/api/v1/dashboard?dimensions=cartera,cartera", nil, 400, "dimensions"},
		{"GET", "/api/v1/dashboard?dimensions=tramo", nil, 400, "dimensions"},
		{"GET", "/api/v1/dashboard?cartera=" + huge, nil, 400, "cartera"},
		{"GET", "/api/v1/dashboard?archivo=" + strings.Repeat("x", 201), nil, 400, "archivo"},
		{"GET", "/api/v1/dashboard?include_total=perhaps", nil, 400, "include_total"},
		{"POST", "/api/v1/dashboard", map[string]any{"filters": map[string]any{"cartera": "TEMPRANA"}}, 400, ""},
		{"POST", "/api/v1/dashboard", map[string]any{"includeTotal": "yes"}, 400, ""},
		{"POST", "/api/v1/dashboard", map[string]any{"fechaCorte": 20250715}, 400, ""},
		{"POST", "/api/v1/dashboard", `{"filters": {`, 400, ""},
		{"POST", "/api/v1/dashboard", `{"x": "` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"GET", "/api/v1/evolution?metrics=felicidad", nil, 400, "metrics"},
		{"GET", "/api/v1/evolution?dimension=zona", nil, 400, "dimension"},
		{"GET", "/api/v1/evolution?fecha_inicio=2024-01-01&fecha_fin=2025-07-15", nil, 400, ""},
		{"POST", "/api/v1/evolution", map[string]any{"fechaInicio": "2025-07-01"}, 400, ""},
		{"GET", "/api/v1/assignment?periodo=2025-7", nil, 400, "periodo"},
		{"GET", "/api/v1/assignment?fecha_actual=yesterday", nil, 400, "fecha_actual"},
		{"GET", "/api/v1/operation?fecha_analisis=2025-02-30", nil, 400, "fecha_analisis"},
		{"GET", "/api/v1/operation?include_hourly=maybe", nil, 400, "include_hourly"},
		{"POST", "/api/v1/operation", map[string]any{}, 400, ""},
		{"GET", "/api/v1/productivity?fecha_inicio=2025-07-10&fecha_fin=2025-07-01", nil, 400, ""},
		{"GET", "/api/v1/productivity?metric_type=sonrisas", nil, 400, "metric_type"},
		{"POST", "/api/v1/productivity", map[string]any{"filtros": []string{"x"}}, 400, ""},
	}
	for _, c := range cases {
		name := c.method + " " + c.path
		if len(name) > 90 {
			name = name[:90] + "…"
		}
		resp := ts.do(t, c.method, c.path, token, c.body, nil)
		if resp.StatusCode != c.status {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, b, c.status)
			continue
		}
		code, fields := errorShape(t, resp)
		switch {
		case c.status == 413 && code != CodePayloadTooLarge:
			t.Errorf("%s: code %s, want payload_too_large", name, code)
		case c.status == 400 && code != CodeValidation && code != CodeBadRequest:
			t.Errorf("%s: code %s", name, code)
		case c.field != "" && !slices.Contains(fields, c.field):
			t.Errorf("%s: details name %v, want %s", name, fields, c.field)
		}
	}

	// SQL metacharacters are values, bound as parameters: they match nothing.
	for _, v := range []string{"' OR 1=1 --", "x'); DROP TABLE mart.dashboard_data; --", `\'; SELECT pg_sleep(5); --`} {
		q := url.Values{"archivo": {v}}
		resp := ts.do(t, http.MethodGet, "/api/v1/dashboard?"+q.Encode(), token, nil, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"segmentoData":[]`) {
			t.Errorf("archivo %q: %d %s, want 200 with no rows", v, resp.StatusCode, b)
		}
	}
	var n int
	if err := ts.Pool.QueryRow(t.Context(), `SELECT count(*) FROM mart.dashboard_data`).Scan(&n); err != nil {
		t.Fatalf("mart.dashboard_data after the metacharacters: %v", err)
	}
}

// The ETag and cache of api.md §2: a miss then a hit, 304 for the current ETag
// before any database access, GET and POST of one request share H, and a data
// version bump (committed with its NOTIFY, as the transform does) is seen by the
// next request: never a stale 200 nor a stale 304.
func TestETagCacheAndVersionBump(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := newTestServerDeps(t, func(c *Config) { c.CacheEnabled = true }, func(d *Deps) {
		c, err := cache.New(cache.Options{Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		d.Cache, d.Registry = c, reg
	})
	token := ts.tokenFor(t, "analyst")
	get := func(path string, hdr map[string]string) *http.Response {
		resp := ts.do(t, http.MethodGet, path, token, nil, hdr)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const path = "/api/v1/dashboard?cartera=TEMPRANA&fecha_corte=2025-07-15"
	first := get(path, nil)
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || first.Header.Get("X-Cache") != "miss" || !strings.HasPrefix(etag, `W/"v0-s1-`) ||
		first.Header.Get("Cache-Control") != "private, no-cache" || first.Header.Get("X-Data-Version") != "0" {
		t.Fatalf("first request: %d %v", first.StatusCode, first.Header)
	}
	if second := get(path, nil); second.Header.Get("X-Cache") != "hit" || second.Header.Get("ETag") != etag {
		t.Fatalf("second request: %v", second.Header)
	}
	// The same request as POST (other spelling, order and case) has the same H.
	resp := ts.do(t, http.MethodPost, "/api/v1/dashboard", token,
		map[string]any{"filters": map[string]any{"cartera": []string{"temprana", "TODAS"}}, "fechaCorte": "2025-07-15"}, nil)
	resp.Body.Close()
	if resp.Header.Get("ETag") != etag || resp.Header.Get("X-Cache") != "hit" {
		t.Fatalf("POST form: ETag %s X-Cache %s, want %s hit", resp.Header.Get("ETag"), resp.Header.Get("X-Cache"), etag)
	}
	if r := get(path, map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified ||
		r.Header.Get("ETag") != etag || r.Header.Get("X-Data-Version") != "0" {
		t.Fatalf("If-None-Match: %d %v", r.StatusCode, r.Header)
	}
	// PostgreSQL down (the health flag): 503 even for a matching ETag.
	ts.Server.pgUp.Store(false)
	if r := ts.do(t, http.MethodGet, path, token, nil, map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("health flag down: %d, want 503", r.StatusCode)
	} else if code, _ := errorShape(t, r); code != CodeUnavailable {
		t.Fatalf("health flag down: code %s", code)
	}
	ts.Server.pgUp.Store(true)

	for i := 1; i <= 20; i++ {
		// The server learns of the commit through LISTEN (api.md §2): wait for that
		// delivery, bounded, then the next request must be fresh. The end-to-end test
		// (cmd/pulso) runs a real transform and requests at once.
		committed := bumpVersion(t, ts)
		for ts.Server.dataVersion.Load() < int64(i) {
			if time.Since(committed) > 2*time.Second {
				t.Fatalf("bump %d: the server still follows version %d 2 s after the commit", i, ts.Server.dataVersion.Load())
			}
			time.Sleep(time.Millisecond)
		}
		r := get(path, map[string]string{"If-None-Match": etag})
		want := fmt.Sprint(i)
		if r.StatusCode != http.StatusOK || r.Header.Get("X-Data-Version") != want || r.Header.Get("X-Cache") != "miss" {
			t.Fatalf("bump %d: %d version %s X-Cache %s, want 200 with version %s computed anew",
				i, r.StatusCode, r.Header.Get("X-Data-Version"), r.Header.Get("X-Cache"), want)
		}
		etag = r.Header.Get("ETag")
		if !strings.HasPrefix(etag, `W/"v`+want+`-s1-`) {
			t.Fatalf("bump %d: ETag %s", i, etag)
		}
	}
	if hits := testutil.ToFloat64(ts.Server.metrics.cacheHits.WithLabelValues("local")); hits != 2 {
		t.Errorf("cache_hits_total{backend=local} = %v, want 2", hits)
	}
}

// bumpVersion commits a data version bump and its NOTIFY in one transaction, as
// the transform's last steps do.
func bumpVersion(t *testing.T, ts *testServer) time.Time {
	t.Helper()
	tx, err := ts.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var v int64
	if err := tx.QueryRow(t.Context(), `UPDATE etl.data_version SET version = version + 1, updated_at = now(),
		reason = 'test' RETURNING version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `SELECT pg_notify($$pulso_data_version$$, $1::bigint::text)`, v); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// Concurrent misses of one key compute once (single flight).
func TestConcurrentMissesComputeOnce(t *testing.T) {
	ts := newTestServerDeps(t, func(c *Config) { c.CacheEnabled = true }, func(d *Deps) {
		c, err := cache.New(cache.Options{Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		d.Cache = c
	})
	token := ts.tokenFor(t, "admin")
	var wg sync.WaitGroup
	var mu sync.Mutex
	caches := map[string]int{}
	for range 16 {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/evolution?fecha_fin=2025-07-15", nil)
			if err != nil {
				panic(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := ts.Client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			caches[fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("X-Cache"))]++
			mu.Unlock()
		})
	}
	wg.Wait()
	misses := testutil.ToFloat64(ts.Server.metrics.cacheMisses.WithLabelValues("local"))
	if misses != 1 {
		t.Fatalf("%v computations for 16 concurrent requests of one key (responses %v), want 1", misses, caches)
	}
}
