package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/pulso-cobranzas/pulso/internal/store/cache/redistest"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

const (
	serveAdminEmail    = "admin@pulso.test"
	serveAdminPassword = "Admin-Passw0rd"
)

// servedAPI is a `pulso serve` child process on free ports.
type servedAPI struct {
	base, metrics string
	cmd           *exec.Cmd
	stderr        *syncBuffer
	exited        chan error
}

// syncBuffer is a bytes.Buffer the child's stderr and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServe starts `pulso serve --as-of 2025-07-15` on dbURL with a bootstrap admin
// and waits until /health answers; cleanup stops it with SIGTERM.
func startServe(t *testing.T, dbURL string, env ...string) *servedAPI {
	t.Helper()
	httpAddr, metricsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(pulsoBin(t), "--as-of", "2025-07-15", "serve", "--http-addr", httpAddr, "--metrics-addr", metricsAddr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "PULSO_LOG_FORMAT=json",
		"PULSO_JWT_SECRET=e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz",
		"PULSO_BOOTSTRAP_ADMIN_EMAIL="+serveAdminEmail, "PULSO_BOOTSTRAP_ADMIN_PASSWORD="+serveAdminPassword,
		// The policy's cost is 12; the minimum keeps logins fast under -race.
		"PULSO_BCRYPT_COST=4", "REDIS_URL=")
	cmd.Env = append(cmd.Env, env...)
	a := &servedAPI{base: "http://" + httpAddr, metrics: "http://" + metricsAddr, cmd: cmd,
		stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = a.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", tail(a.stderr.String(), 4000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(a.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		select {
		case err := <-a.exited:
			t.Fatalf("serve exited before answering: %v\n%s", err, a.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /health in 30 s\n%s", a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// call sends one request; body nil sends none, anything else goes as JSON.
func (a *servedAPI) call(t *testing.T, method, path, token string, body any, headers ...string) apiResponse {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *servedAPI) mustGet(t *testing.T, path, token string, out any) apiResponse {
	t.Helper()
	r := a.call(t, http.MethodGet, path, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if out != nil {
		r.decode(t, out)
	}
	return r
}

func (a *servedAPI) login(t *testing.T) string {
	t.Helper()
	r := a.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": serveAdminEmail, "password": serveAdminPassword})
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(t, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("login returned no token: %s", r.body)
	}
	return tok.AccessToken
}

func sumInt(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// A supervisor's day against `pulso serve --as-of 2025-07-15` on the demo data: every
// screen's request answers with the numbers the marts hold, and a pipeline commit is
// visible on the next request (no stale 200, no stale 304).
func TestServeSupervisorDay(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	mustRun(t, url, pipelineArgs(demoSet(t))...)
	pool := openPool(t, url)
	api := startServe(t, url)
	token := api.login(t)

	// Filters: the demo's campaigns, newest first, and the snapshot range.
	var filters struct {
		Data struct {
			Archivo            []struct{ Value string } `json:"archivo"`
			FechaMin, FechaMax *string
		} `json:"data"`
	}
	api.mustGet(t, "/api/v1/filters", token, &filters)
	if n := sumInt(t, pool, `SELECT count(DISTINCT archivo) FROM mart.dashboard_data`); int64(len(filters.Data.Archivo)) != n || n == 0 {
		t.Errorf("filters list %d archivos, the mart holds %d", len(filters.Data.Archivo), n)
	}
	if filters.Data.FechaMax == nil || *filters.Data.FechaMax != "2025-07-15" {
		t.Errorf("fechaMax = %v, want 2025-07-15", filters.Data.FechaMax)
	}

	// Dashboard by archivo over June–July: each row's cuentas are those of its
	// campaign's latest snapshot ≤ 2025-07-15.
	var dash struct {
		SegmentoData []struct {
			Name    string `json:"name"`
			Cuentas int64  `json:"cuentas"`
		} `json:"segmentoData"`
	}
	api.mustGet(t, "/api/v1/dashboard?dimensions=archivo&fecha_inicio=2025-06-01&fecha_fin=2025-07-15", token, &dash)
	if len(dash.SegmentoData) != 3 {
		t.Fatalf("dashboard rows = %d, want the demo's 3 campaigns", len(dash.SegmentoData))
	}
	for _, row := range dash.SegmentoData {
		want := sumInt(t, pool, `SELECT sum(cuentas) FROM mart.dashboard_data WHERE archivo = $1
			AND fecha_foto = (SELECT max(fecha_foto) FROM mart.dashboard_data WHERE archivo = $1 AND fecha_foto <= '2025-07-15')`, row.Name)
		if row.Cuentas != want {
			t.Errorf("dashboard %s cuentas = %d, mart holds %d", row.Name, row.Cuentas, want)
		}
	}

	// Operation of the latest day with gestiones: total calls as the mart sums them.
	var op struct {
		Date string `json:"date"`
		KPIs []struct {
			Label string `json:"label"`
			Value string `json:"value"`
		} `json:"kpis"`
		ChannelPerformance []struct {
			Channel string `json:"channel"`
			Calls   int64  `json:"calls"`
		} `json:"channelPerformance"`
	}
	api.mustGet(t, "/api/v1/operation", token, &op)
	day := op.Date
	var calls int64
	for _, ch := range op.ChannelPerformance {
		calls += ch.Calls
	}
	if want := sumInt(t, pool, `SELECT COALESCE(sum(total_gestiones), 0) FROM mart.operation_data WHERE fecha_foto = $1::date`, day); calls != want || want == 0 {
		t.Errorf("operation %s calls = %d, mart holds %d", day, calls, want)
	}

	// Productivity over the last 30 days: the ranking's calls add up to the mart's.
	var prod struct {
		AgentRanking []struct {
			Calls int64 `json:"calls"`
		} `json:"agentRanking"`
		Metadata struct {
			Period struct{ Start, End string } `json:"period"`
		} `json:"metadata"`
	}
	api.mustGet(t, "/api/v1/productivity", token, &prod)
	var agentCalls int64
	for _, a := range prod.AgentRanking {
		agentCalls += a.Calls
	}
	if want := sumInt(t, pool, `SELECT COALESCE(sum(total_gestiones), 0) FROM mart.productivity_data
		WHERE fecha_foto BETWEEN $1::date AND $2::date`, prod.Metadata.Period.Start, prod.Metadata.Period.End); agentCalls != want || want == 0 {
		t.Errorf("productivity calls = %d, mart holds %d", agentCalls, want)
	}

	// Assignment of July: the accounts assigned in the period.
	var asg struct {
		KPIs []struct {
			Label       string  `json:"label"`
			ValorActual float64 `json:"valorActual"`
		} `json:"kpis"`
	}
	api.mustGet(t, "/api/v1/assignment?periodo=2025-06", token, &asg)
	wantCuentas := sumInt(t, pool, `SELECT COALESCE(sum(cuentas), 0) FROM mart.assignment_data WHERE periodo = '2025-06'`)
	found := false
	for _, k := range asg.KPIs {
		if k.Label == "Total Cuentas" {
			found = true
			if int64(k.ValorActual) != wantCuentas || wantCuentas == 0 {
				t.Errorf("assignment Total Cuentas = %v, mart holds %d", k.ValorActual, wantCuentas)
			}
		}
	}
	if !found {
		t.Error("assignment has no Total Cuentas KPI")
	}

	for _, path := range []string{"/api/v1/evolution", "/api/v1/freshness", "/api/v1/status", "/api/v1/auth/me",
		"/api/v1/evolution/carteras", "/api/v1/assignment/summary", "/api/v1/operation/kpis"} {
		api.mustGet(t, path, token, nil)
	}

	// A pipeline commit is visible on the next request. Evolution up to 2025-07-16
	// has no point on the 16th until a transform builds that day.
	const evo = "/api/v1/evolution?fecha_inicio=2025-07-01&fecha_fin=2025-07-16&metrics=cobertura"
	before := api.mustGet(t, evo, token, nil)
	etag := before.header.Get("ETag")
	if etag == "" || before.header.Get("X-Data-Version") == "" {
		t.Fatalf("no ETag or X-Data-Version on a cached endpoint: %v", before.header)
	}
	if r := api.call(t, http.MethodGet, evo, token, nil, "If-None-Match", etag); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Fatalf("If-None-Match with the current ETag: %d %q, want 304 without a body", r.status, r.body)
	}
	if strings.Contains(string(before.body), "2025-07-16") {
		t.Fatal("evolution already has 2025-07-16 before the transform built it")
	}
	mustRun(t, url, "--as-of", "2025-07-16", "transform")
	// The server learns of the commit by LISTEN (api.md §2): its delivery takes well
	// under a millisecond on an idle machine but is not instantaneous, so wait for it
	// (bounded) before the request that must then be fresh.
	waitMetric(t, api, "pulso_data_version", before.header.Get("X-Data-Version"))
	after := api.call(t, http.MethodGet, evo, token, nil, "If-None-Match", etag)
	if after.status != http.StatusOK {
		t.Fatalf("after a pipeline commit the old ETag got %d, want 200 with the new data", after.status)
	}
	if !strings.Contains(string(after.body), "2025-07-16") {
		t.Errorf("the next request after the commit does not show 2025-07-16: %s", after.body)
	}
	if after.header.Get("X-Data-Version") == before.header.Get("X-Data-Version") {
		t.Errorf("X-Data-Version did not move: %s", after.header.Get("X-Data-Version"))
	}
}

// waitMetric polls the metrics listener until the gauge's value differs from old.
func waitMetric(t *testing.T, api *servedAPI, name, old string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(api.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok && v != old {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still %s after 5 s", name, old)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// R5: PostgreSQL stopped under a running server: readiness 503, analytics 503 with
// the error shape, liveness still 200, no crash; it recovers by itself.
func TestServePostgresDown(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	mustRun(t, pg.URL, "migrate", "up")
	api := startServe(t, pg.URL)
	token := api.login(t)
	api.mustGet(t, "/api/v1/filters", token, nil)

	pg.Stop(t, "fast")
	waitStatus(t, api, "/health/ready", http.StatusServiceUnavailable)
	for _, path := range []string{"/api/v1/filters", "/api/v1/dashboard", "/api/v1/operation"} {
		r := api.call(t, http.MethodGet, path, token, nil)
		var body struct{ Status, Code, RequestID string }
		r.decode(t, &body)
		if r.status != http.StatusServiceUnavailable || body.Status != "error" || body.Code != "unavailable" || body.RequestID == "" {
			t.Errorf("GET %s with PostgreSQL down: %d %s, want 503 unavailable in the error shape", path, r.status, r.body)
		}
	}
	if r := api.call(t, http.MethodGet, "/health", "", nil); r.status != http.StatusOK {
		t.Errorf("liveness with PostgreSQL down: %d", r.status)
	}

	pg.Start(t)
	waitStatus(t, api, "/health/ready", http.StatusOK)
	waitStatus(t, api, "/api/v1/filters", http.StatusOK, token)
	select {
	case err := <-api.exited:
		t.Fatalf("serve exited: %v", err)
	default:
	}
}

// waitStatus polls path until it answers status (30 s at most).
func waitStatus(t *testing.T, api *servedAPI, path string, status int, token ...string) {
	t.Helper()
	tok := ""
	if len(token) > 0 {
		tok = token[0]
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := api.call(t, http.MethodGet, path, tok, nil)
		if r.status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d %s after 30 s, want %d", path, r.status, r.body, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// R4: Redis stopped while the server is under load: every request still answers 200,
// readiness says degraded, and the cache resumes when Redis returns.
func TestServeRedisDownUnderLoad(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	mustRun(t, url, pipelineArgs(demoSet(t))...)
	redisSrv := redistest.Start(t)
	api := startServe(t, url, "REDIS_URL="+redisSrv.URL())
	token := api.login(t)
	rdb := redisSrv.Client()

	ctx, stop := context.WithCancel(t.Context())
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	paths := []string{"/api/v1/dashboard", "/api/v1/filters", "/api/v1/operation", "/api/v1/evolution"}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				// Ever new cut dates keep making misses (which write to Redis once it
				// is back) besides the hits the in-process near cache answers.
				cut := time.Date(2025, 7, 15, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -((w*7919 + i) % 2000))
				path := fmt.Sprintf("%s?fecha_corte=%s", paths[(w+i)%len(paths)], cut.Format(time.DateOnly))
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base+path, nil)
				if err != nil {
					panic(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if ctx.Err() != nil {
					return
				}
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	waitKeys(t, rdb, 1)
	redisSrv.Stop()
	waitReady(t, api, "degraded", "down")
	time.Sleep(time.Second) // load runs on while Redis is down
	redisSrv.Restart()      // empty: nothing is saved
	// The cache skips Redis for 10 s after a failure, then writes to it again.
	waitKeys(t, rdb, 1)
	waitReady(t, api, "ready", "ok")
	stop()
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 20 {
		t.Fatalf("%d of %d requests failed while Redis went down and came back", failed.Load(), sent.Load())
	}
}

// waitKeys polls until Redis holds at least min keys (30 s at most).
func waitKeys(t *testing.T, rdb *redis.Client, min int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := rdb.DBSize(t.Context()).Result()
		if err == nil && n >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis holds %d keys (%v) after 30 s, want ≥ %d", n, err, min)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitReady(t *testing.T, api *servedAPI, status, redis string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := api.call(t, http.MethodGet, "/health/ready", "", nil)
		var body struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		r.decode(t, &body)
		if r.status == http.StatusOK && body.Status == status && body.Checks["redis"] == redis {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness still %d %s after 30 s, want %s with redis %s", r.status, r.body, status, redis)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGTERM drains and exits 0.
func TestServeSIGTERMExitsCleanly(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	api := startServe(t, url)
	api.mustGet(t, "/health", "", nil)
	start := time.Now()
	if err := api.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-api.exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, api.stderr)
		}
		api.exited <- nil // for the cleanup
	case <-time.After(16 * time.Second):
		t.Fatalf("serve still running %v after SIGTERM", time.Since(start))
	}
}

// A bootstrap admin whose password fails the policy, or whose email belongs to an
// existing non-admin, stops startup with exit 2 saying why; so does a short secret.
func TestServeBootstrapRulesExitTwo(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	pool := openPool(t, url)
	if _, err := pool.Exec(t.Context(), `INSERT INTO auth.users (email, password_hash, first_name, last_name, role)
		VALUES ('viewer@pulso.test', 'x', 'V', 'W', 'viewer')`); err != nil {
		t.Fatal(err)
	}
	base := []string{"DATABASE_URL=" + url, "PULSO_JWT_SECRET=e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz"}
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"PULSO_BOOTSTRAP_ADMIN_EMAIL=root@pulso.test", "PULSO_BOOTSTRAP_ADMIN_PASSWORD=short"}, "password"},
		{[]string{"PULSO_BOOTSTRAP_ADMIN_EMAIL=viewer@pulso.test", "PULSO_BOOTSTRAP_ADMIN_PASSWORD=Valid-Passw0rd"}, "viewer@pulso.test"},
		{[]string{"PULSO_JWT_SECRET=too-short"}, "PULSO_JWT_SECRET"},
	}
	for _, c := range cases {
		env := append(append([]string{}, base...), c.env...)
		res := runBinWith(t, t.Context(), env, "serve", "--http-addr", freeAddr(t), "--metrics-addr", "")
		if res.code != exitUsage || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 naming %q\n%s", c.env, res.code, c.want, tail(res.stderr, 1500))
		}
	}
	if n := sumInt(t, pool, `SELECT count(*) FROM auth.users WHERE role = 'admin'`); n != 0 {
		t.Errorf("%d admins created by refused startups", n)
	}
}
