package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// writeDemo writes the small synthetic set once per test process.
var writeDemo = sync.OnceValues(func() (string, error) {
	bin, err := buildPulso()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "pulso-demo-")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command(bin, "demo", "--out", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("demo: %v\n%s", err, out)
	}
	return dir, nil
})

func demoSet(t *testing.T) string {
	t.Helper()
	dir, err := writeDemo()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// checksums fingerprints every raw, aux and mart table: full contents ordered, the
// raw tables without their technical etl_* columns (bars.md R1).
func checksums(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	ctx := t.Context()
	rows, err := pool.Query(ctx, `
		SELECT table_schema || '.' || table_name,
		       string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FILTER (WHERE column_name NOT LIKE 'etl\_%')
		FROM information_schema.columns
		WHERE table_schema IN ('raw', 'aux', 'mart')
		  AND (table_schema, table_name) IN (SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type tbl struct{ name, cols string }
	var tables []tbl
	for rows.Next() {
		var x tbl
		if err := rows.Scan(&x.name, &x.cols); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, x)
	}
	if len(tables) < 20 {
		t.Fatalf("only %d raw/aux/mart tables found", len(tables))
	}
	out := map[string]string{}
	for _, x := range tables {
		var sum string
		q := `SELECT count(*) || ':' || COALESCE(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '') FROM (SELECT ` + x.cols + ` FROM ` + x.name + `) r`
		if err := pool.QueryRow(ctx, q).Scan(&sum); err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		out[x.name] = sum
	}
	return out
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, url string, args ...string) result {
	t.Helper()
	res := runBin(t, t.Context(), url, args...)
	if res.code != exitOK {
		t.Fatalf("pulso %v: exit %d\n%s", args, res.code, res.stderr)
	}
	return res
}

// referenceChecksums runs one undisturbed pipeline on its own database.
func referenceChecksums(t *testing.T, dir string) map[string]string {
	t.Helper()
	url := migrated(t)
	mustRun(t, url, pipelineArgs(dir)...)
	return checksums(t, openPool(t, url))
}

// sameChecksums reports every table (with the prefix) whose fingerprint differs.
func sameChecksums(t *testing.T, want, got map[string]string, prefix, what string) {
	t.Helper()
	for name, sum := range want {
		if strings.HasPrefix(name, prefix) && got[name] != sum {
			t.Errorf("%s differs %s", name, what)
		}
	}
}

// startBin starts the binary in the background with extra environment.
func startBin(t *testing.T, url string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(pulsoBin(t), args...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+url, "PULSO_LOG_FORMAT=json"), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &errb
}

// waitFor polls a count query until it reaches min (or 30 s pass).
func waitFor(t *testing.T, pool *pgxpool.Pool, query string, min int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := int(mustCount(t, pool, query))
		if n >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q to reach %d", query, min)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exitedWith fails unless the command ended with the code.
func exitedWith(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, code int) {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Fatalf("exit = %v, want %d\n%s", err, code, stderr.String())
	}
}

func pipelineArgs(dir string, extra ...string) []string {
	return append([]string{"--as-of", "2025-07-15", "run-pipeline", "--source", "dir", "--dir", dir}, extra...)
}

func migrated(t *testing.T) string {
	t.Helper()
	return pgtest.Fresh(t)
}

// R1: kill -9 at random moments, then a normal run: raw and marts equal an undisturbed
// run, and no ledger row stays running.
func TestKill9ThenRerunEqualsUndisturbedRun(t *testing.T) {
	t.Parallel()
	dir := demoSet(t)
	ref := referenceChecksums(t, dir)

	url := migrated(t)
	pool := openPool(t, url)
	// Kill anywhere inside the span of a whole run, as the first one measures it. The
	// seed is logged; PULSO_KILL_SEED replays a failing sequence.
	span := mustRun(t, url, pipelineArgs(dir, "--full-rebuild")...).took
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PULSO_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PULSO_KILL_SEED: %v", err)
		}
	}
	t.Logf("kill seed %d (PULSO_KILL_SEED=%[1]d replays it); a whole run took %s", seed, span)
	rng := rand.New(rand.NewPCG(1, seed))
	const trials = 10
	for i := range trials {
		// Every trial has the whole run to do, so a kill lands inside one: the files
		// read as new again and the transform rebuilds everything.
		mustExec(t, pool, `DELETE FROM etl.landing_file`)
		cmd, _ := startBin(t, url, []string{"PULSO_ETL_BATCH_ROWS=2000"}, pipelineArgs(dir, "--full-rebuild")...)
		delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(span*8/10)))
		time.Sleep(delay)
		err := cmd.Process.Signal(syscall.SIGKILL)
		if errors.Is(err, os.ErrProcessDone) {
			t.Logf("trial %d: the run finished before the kill at %s", i+1, delay)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		// Wait reports how the process ended: the kill, or an exit just before it.
		t.Logf("trial %d: killed after %s (%v)", i+1, delay, cmd.Wait())
	}
	mustRun(t, url, pipelineArgs(dir)...)
	sameChecksums(t, ref, checksums(t, pool), "", "after kill -9 trials and a normal run")
	if running := mustCount(t, pool, `SELECT (SELECT count(*) FROM etl.run WHERE status = 'running') +
		(SELECT count(*) FROM etl.run_table WHERE status = 'running')`); running != 0 {
		t.Fatalf("%d ledger rows still running", running)
	}
	// The kills landed mid-run, at different points: the ledger holds abandoned runs
	// that had got through different numbers of steps.
	abandoned := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE status = 'abandoned'`)
	stages := mustCount(t, pool, `SELECT count(DISTINCT n) FROM (
		SELECT count(s.id) AS n FROM etl.run r LEFT JOIN etl.run_table s USING (run_id)
		WHERE r.status = 'abandoned' GROUP BY r.run_id) x`)
	t.Logf("%d of %d runs abandoned mid-run, at %d different stages", abandoned, trials, stages)
	if abandoned < trials/2 || stages < 2 {
		t.Fatalf("only %d runs abandoned at %d distinct stages: the kills did not land inside runs", abandoned, stages)
	}
}

// R2: two pipelines at once: exactly one runs, the other exits 3 within a second
// naming the holder.
func TestConcurrentPipelinesOneExitsThree(t *testing.T) {
	t.Parallel()
	dir := demoSet(t)
	url := migrated(t)
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runBin(t, context.Background(), url, pipelineArgs(dir)...)
		}()
	}
	wg.Wait()
	ok, locked := 0, 0
	for _, r := range results {
		switch r.code {
		case exitOK:
			ok++
		case exitLocked:
			locked++
			if !strings.Contains(r.stderr, "pulso run ") || !strings.Contains(r.stderr, "run-pipeline") {
				t.Errorf("exit 3 does not name the holder:\n%s", r.stderr)
			}
			if r.took > 3*time.Second {
				t.Errorf("the locked run took %s to give up", r.took)
			}
		}
	}
	// Both may succeed one after the other if the first finished before the second
	// started; the lock must never let them overlap.
	if ok+locked != 2 || ok == 0 {
		t.Fatalf("exit codes %d and %d; want one 0 and one 3 (or two sequential 0s)\n%s\n%s",
			results[0].code, results[1].code, results[0].stderr, results[1].stderr)
	}
}

// proxy forwards TCP to PostgreSQL and can cut every open connection, standing in for
// a server restart without touching the machine's shared server (bars.md R3).
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// R3: every connection cut mid-run (as a restart does): the run fails cleanly with
// exit 1, nothing half-written is visible, and a rerun completes.
func TestConnectionLossMidRunFailsCleanly(t *testing.T) {
	t.Parallel()
	dir := demoSet(t)
	url := migrated(t)
	ref := referenceChecksums(t, dir)

	p := newProxy(t, "127.0.0.1:5432")
	proxied := strings.Replace(url, "127.0.0.1:5432", p.ln.Addr().String(), 1)
	pool := openPool(t, url)
	cmd, errb := startBin(t, proxied, []string{"PULSO_ETL_BATCH_ROWS=2000"}, pipelineArgs(dir)...)
	// Cut once the big table is loading.
	waitFor(t, pool, `SELECT count(*) FROM etl.run_table WHERE step = 'trandeuda' AND status = 'running'`, 1)
	p.cut()
	exitedWith(t, cmd, errb, exitFailure)
	trandeuda := int(mustCount(t, pool, `SELECT count(*) FROM raw.trandeuda`))
	if trandeuda != 0 {
		t.Fatalf("%d trandeuda rows visible after the cut run", trandeuda)
	}
	mustRun(t, url, pipelineArgs(dir)...)
	sameChecksums(t, ref, checksums(t, pool), "", "after the cut and a rerun")
}

func TestPipelineFailedTableSkipsTransform(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := migrated(t)
	dir := t.TempDir()
	src := demoSet(t)
	// Copy the demo set, breaking one table structurally.
	if out, err := exec.Command("cp", "-r", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	writeFile(t, filepath.Join(dir, "pagos", "9999-zz-broken.csv"), "nro_documento,archivo\nD,P\n")
	res := runBin(t, ctx, url, pipelineArgs(dir, "--metrics-file", filepath.Join(dir, "pulso.prom"))...)
	if res.code != exitFailure || !strings.Contains(res.stderr, "9999-zz-broken.csv: table pagos: missing required column") {
		t.Fatalf("exit %d, want 1 naming the fault\n%s", res.code, res.stderr)
	}
	pool := openPool(t, url)
	var loaded, transformSteps, version int
	loaded = int(mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'success' AND step NOT LIKE '%.%'`))
	transformSteps = int(mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE step LIKE '%.%'`))
	version = int(mustCount(t, pool, `SELECT version FROM etl.data_version`))
	if loaded != 8 || transformSteps != 0 || version != 0 {
		t.Fatalf("loaded %d tables (want 8), %d transform steps (want 0), data version %d (want 0)", loaded, transformSteps, version)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "pulso.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pulso_batch_exit_code 1", `pulso_batch_rows_total{outcome="loaded",table="trandeuda"}`,
		`pulso_batch_last_success_timestamp_seconds{table="calendario"}`} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics file lacks %s:\n%s", want, prom)
		}
	}
	// --continue-on-error transforms what loaded.
	res = runBin(t, ctx, url, pipelineArgs(dir, "--continue-on-error")...)
	if res.code != exitFailure {
		t.Fatalf("--continue-on-error: exit %d, want 1", res.code)
	}
	version = int(mustCount(t, pool, `SELECT version FROM etl.data_version`))
	if version != 1 {
		t.Fatalf("data version %d after --continue-on-error, want 1", version)
	}
}

func TestPipelinePlanWritesNothingAndAsOfGuard(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := demoSet(t)
	url := migrated(t)
	pool := openPool(t, url)
	res := runBin(t, ctx, url, pipelineArgs(dir, "--plan")...)
	if res.code != exitOK || !strings.Contains(res.stdout, `"bytes_to_read"`) {
		t.Fatalf("--plan: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// The schema is reported once, as it is.
	var plan map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.stdout), &plan); err != nil {
		t.Fatalf("--plan output: %v", err)
	}
	var schema struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal(plan["schema"], &schema); err != nil || !schema.OK {
		t.Errorf("--plan schema %s (%v): want ok on a migrated database", plan["schema"], err)
	}
	for _, k := range []string{"schema_ok", "schema_next_step"} {
		if _, ok := plan[k]; ok {
			t.Errorf("--plan prints %q next to schema: %s", k, plan[k])
		}
	}
	var runs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM etl.run`).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 0 {
		t.Fatalf("--plan wrote %d runs", runs)
	}
	mustRun(t, url, pipelineArgs(dir)...)
	// An as-of before the data's watermarks would read an inverted window.
	res = runBin(t, ctx, url, "--as-of", "2025-06-10", "run-pipeline", "--dir", dir)
	if res.code != exitUsage || !strings.Contains(res.stderr, "watermark") {
		t.Fatalf("backwards --as-of: exit %d, want 2\n%s", res.code, res.stderr)
	}
	// A second run with the same inputs changes no raw, aux or mart row.
	before := checksums(t, pool)
	mustRun(t, url, pipelineArgs(dir)...)
	sameChecksums(t, before, checksums(t, pool), "", "on a rerun with the same inputs")
}

// Backfill: chunk ledger rows, an interrupt that prints the resume command, and a
// resume that finishes only what was left, ending where a plain load ends.
func TestBackfillInterruptAndResume(t *testing.T) {
	t.Parallel()
	dir := demoSet(t)
	url := migrated(t)
	ref := referenceChecksums(t, dir)

	pool := openPool(t, url)
	mustRun(t, url, "--as-of", "2025-07-15", "load", "--dir", dir,
		"--tables", "calendario,homologacion_mibotair,homologacion_voicebot,ejecutivos")
	cmd, errb := startBin(t, url, nil, "--as-of", "2025-07-15", "backfill", "--from", "2025-05-25", "--to", "2025-07-15",
		"--chunk-days", "4", "--skip-transform", "--dir", dir)
	waitFor(t, pool, `SELECT count(*) FROM etl.run_table WHERE chunk_from IS NOT NULL AND status = 'success'`, 7)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, cmd, errb, exitCancelled)
	runID := mustCount(t, pool, `SELECT run_id FROM etl.run WHERE command = 'backfill'`)
	wantHint := fmt.Sprintf("pulso backfill --resume %d", runID)
	if !strings.Contains(errb.String(), wantHint) {
		t.Fatalf("no resume hint %q in:\n%s", wantHint, errb.String())
	}
	doneBefore := int(mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE run_id = $1 AND status = 'success'`, runID))

	// Exactly the command printed: the run's own range, chunks, --skip-transform,
	// --as-of and landing directory are restored from its typed parameters.
	mustRun(t, url, "backfill", "--resume", fmt.Sprint(runID))
	resumeID := mustCount(t, pool, `SELECT run_id FROM etl.run WHERE resume_of = $1 AND status = 'success'`, runID)
	if asOf := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE run_id = $1 AND as_of = '2025-07-15'`, resumeID); asOf != 1 {
		t.Error("the resume did not run with the original --as-of")
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE run_id = $1 AND step LIKE '%.%'`, resumeID); n != 0 {
		t.Errorf("the resume ran %d transform steps; the original said --skip-transform", n)
	}
	// A finished backfill has nothing left: say so, start no run.
	res := runBin(t, t.Context(), url, "backfill", "--resume", fmt.Sprint(runID))
	if res.code != exitOK || !strings.Contains(res.stdout, "nothing to resume") {
		t.Fatalf("second resume: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE run_id > $1`, resumeID); n != 0 {
		t.Errorf("a resume of a finished backfill started %d run(s)", n)
	}
	var chunks, resumed int
	chunks = int(mustCount(t, pool, `SELECT count(DISTINCT (step, chunk_from)) FROM etl.run_table WHERE chunk_from IS NOT NULL AND status = 'success'`))
	resumed = int(mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE run_id > $1 AND chunk_from IS NOT NULL`, runID))
	// 2025-05-25..2025-07-15 is 52 days: 13 chunks of 4 days, five tables.
	if chunks != 65 || resumed != 65-doneBefore {
		t.Fatalf("%d distinct successful chunks (want 65); the resume ran %d (want %d)", chunks, resumed, 65-doneBefore)
	}
	sameChecksums(t, ref, checksums(t, pool), "raw.", "after backfill from a plain run")

	// A chunk counts what it read in its days: over the 13 chunks a table's rows are
	// read about once (those rejected or filtered before their day is known, in every
	// chunk), not 13 times.
	man, err := synthetic.ReadManifest(filepath.Join(dir, synthetic.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"asignaciones", "trandeuda", "pagos", "voicebot_gestiones", "mibotair_gestiones"} {
		read := mustCount(t, pool, `SELECT COALESCE(sum(rows_read), 0) FROM etl.run_table
			WHERE step = $1 AND chunk_from IS NOT NULL AND status = 'success'`, table)
		if rows := int64(man.Tables[table].Rows); read < rows/2 || read > 2*rows {
			t.Errorf("%s: the chunks read %d rows in all; the files hold %d", table, read, rows)
		}
	}
}

func TestPipelinePushesBatchMetrics(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var method, path, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		method, path, body = r.Method, r.URL.Path, string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	url := migrated(t)
	res := runBin(t, t.Context(), url, pipelineArgs(demoSet(t), "--pushgateway", srv.URL)...)
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if method != http.MethodPut || path != "/metrics/job/pulso_run_pipeline" {
		t.Fatalf("push went to %s %s", method, path)
	}
	// The push uses the protobuf exposition by default; the names travel as strings.
	for _, name := range []string{"pulso_batch_exit_code", "pulso_batch_rows_total", "pulso_batch_duration_seconds",
		"pulso_batch_last_success_timestamp_seconds", "mibotair_gestiones"} {
		if !strings.Contains(body, name) {
			t.Errorf("pushed metrics lack %s", name)
		}
	}
}
