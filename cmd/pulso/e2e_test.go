package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// End-to-end tests run the real binary as a separate process: signals, exit codes
// and the lock are properties of the process, not of a function.

// buildPulso builds the binary once per test process; every e2e test shares it.
var buildPulso = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pulso-e2e-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pulso")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

func pulsoBin(t *testing.T) string {
	t.Helper()
	bin, err := buildPulso()
	if err != nil {
		t.Fatalf("build pulso: %v", err)
	}
	return bin
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func runBin(t *testing.T, ctx context.Context, dbURL string, args ...string) result {
	t.Helper()
	return runBinWith(t, ctx, []string{"DATABASE_URL=" + dbURL}, args...)
}

// runBinWith runs the binary with extra environment (no database unless env has one).
func runBinWith(t *testing.T, ctx context.Context, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, pulsoBin(t), args...)
	cmd.Env = append(append(os.Environ(), "PULSO_LOG_FORMAT=json"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run pulso %v: %v", args, err)
	}
	return res
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLockHeldExitsThreeNamingHolder(t *testing.T) {
	t.Parallel()
	url := pgtest.Fresh(t)
	ctx := t.Context()
	lock, err := postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Owner: "pulso run 41 run-pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(context.Background())
	dir := t.TempDir()
	res := runBin(t, ctx, url, "load", "--dir", dir)
	if res.code != exitLocked {
		t.Fatalf("exit %d, want 3\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "pulso run 41 run-pipeline") {
		t.Fatalf("message does not name the holder:\n%s", res.stderr)
	}
	if res.took > 3*time.Second {
		t.Fatalf("took %s to give up; the bar is about a second plus process start", res.took)
	}

	// --wait waits for the holder, then runs: while the lock is held it keeps trying
	// (its lock connection is there, named after its run) and has opened no run; its
	// run starts after the release.
	pool := openPool(t, url)
	cmd, errb := startBin(t, url, nil, "--wait", "load", "--dir", dir)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name LIKE 'pulso run % load'`, 1)
	select {
	case err := <-exited:
		t.Fatalf("--wait returned while the lock was held: %v\n%s", err, errb)
	default:
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE command = 'load'`); n != 0 {
		t.Fatalf("--wait opened %d run(s) before it had the lock", n)
	}
	var released time.Time
	if err := pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&released); err != nil {
		t.Fatal(err)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("--wait: %v\n%s", err, errb)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE command = 'load' AND status = 'success' AND started_at >= $1`,
		released); n != 1 {
		t.Fatalf("%d successful load runs started after the release, want 1", n)
	}
}

func TestPendingMigrationsRefused(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	res := runBin(t, t.Context(), url, "load", "--dir", t.TempDir())
	if res.code != exitFailure || !strings.Contains(res.stderr, "pulso migrate up") {
		t.Fatalf("exit %d, want 1 with the exact command\n%s", res.code, res.stderr)
	}
	res = runBin(t, t.Context(), url, "migrate", "up")
	if res.code != exitOK {
		t.Fatalf("migrate up: exit %d\n%s", res.code, res.stderr)
	}
	res = runBin(t, t.Context(), url, "migrate", "status")
	if res.code != exitOK || !strings.Contains(res.stdout, "0 pending") {
		t.Fatalf("status: exit %d\n%s", res.code, res.stdout)
	}
}

func TestSIGTERMStopsLoadWithExit130(t *testing.T) {
	t.Parallel()
	url := pgtest.Fresh(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("uid,campaign_name,document,management,sub_management,compromiso,date\n")
	for i := range 400_000 {
		b.WriteString("u")
		b.WriteString(strings.Repeat("0", 3))
		b.WriteString(time.Duration(i).String())
		b.WriteString(",QUEUE,12345678,CONTACTO,PDP,,2025-06-03T15:00:00Z\n")
	}
	writeFile(t, filepath.Join(dir, "voicebot_gestiones.csv"), b.String())

	cmd, errb := startBin(t, url, []string{"PULSO_ETL_BATCH_ROWS=5000"}, "--as-of", "2025-07-15", "load", "--dir", dir,
		"--tables", "voicebot_gestiones")
	// Signal once the load is under way (its step row exists).
	pool := openPool(t, url)
	waitFor(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'running'`, 1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exitedWith(t, cmd, errb, exitCancelled)
	var rows, running, cancelled int
	rows = int(mustCount(t, pool, `SELECT count(*) FROM raw.voicebot_gestiones`))
	running = int(mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'running'`))
	cancelled = int(mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE status = 'cancelled' AND exit_code = 130`))
	if rows != 0 || running != 0 || cancelled != 1 {
		t.Fatalf("after SIGTERM: %d raw rows (want 0), %d running steps (want 0), %d cancelled runs (want 1)", rows, running, cancelled)
	}
}

// The "done when": migrate, demo, load → every table's ledger counts equal the
// manifest's expectations; loading again rewrites nothing.
func TestDemoLoadMatchesManifest(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	dir := t.TempDir()
	ctx := t.Context()
	for _, args := range [][]string{
		{"migrate", "up"},
		{"demo", "--out", dir},
		{"--as-of", "2025-07-15", "load", "--source", "dir", "--dir", dir},
	} {
		if res := runBin(t, ctx, url, args...); res.code != exitOK {
			t.Fatalf("pulso %v: exit %d\n%s", args, res.code, res.stderr)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "_demo_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m synthetic.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for name, tm := range m.Tables {
		var read, filtered, rejected, loaded, rawRows int
		err := pool.QueryRow(ctx, `SELECT rows_read, rows_filtered, rows_rejected, rows_loaded FROM etl.run_table
			WHERE step = $1 AND status = 'success' ORDER BY id LIMIT 1`, name).Scan(&read, &filtered, &rejected, &loaded)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := tm.Load
		if read != want.RowsRead || filtered != want.RowsFiltered || rejected != want.RowsRejected || loaded != want.RowsLoaded {
			t.Errorf("%s: read/filtered/rejected/loaded = %d/%d/%d/%d, manifest says %d/%d/%d/%d", name,
				read, filtered, rejected, loaded, want.RowsRead, want.RowsFiltered, want.RowsRejected, want.RowsLoaded)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM raw.`+name).Scan(&rawRows); err != nil || rawRows != want.RowsLoaded {
			t.Errorf("%s: raw rows = %d (%v), want %d", name, rawRows, err, want.RowsLoaded)
		}
		for reason, n := range want.Rejected {
			got := int(mustCount(t, pool, `SELECT count(*) FROM etl.reject WHERE table_name = $1 AND reason = $2`, name, reason))
			if got != n {
				t.Errorf("%s: %d rejects %s, manifest says %d", name, got, reason, n)
			}
		}
		for reason, n := range want.Filtered {
			if !strings.HasPrefix(reason, "filtered_") {
				continue // identical ejecutivos rows are only counted
			}
			got := int(mustCount(t, pool, `SELECT count(*) FROM etl.reject WHERE table_name = $1 AND reason = $2`, name, reason))
			if got != n {
				t.Errorf("%s: %d recorded %s, manifest says %d", name, got, reason, n)
			}
		}
	}

	for _, extra := range [][]string{nil, {"--full"}} {
		args := append([]string{"--as-of", "2025-07-15", "load", "--source", "dir", "--dir", dir}, extra...)
		if res := runBin(t, ctx, url, args...); res.code != exitOK {
			t.Fatalf("reload %v: exit %d\n%s", extra, res.code, res.stderr)
		}
		var rewritten int
		if err := pool.QueryRow(ctx, `SELECT COALESCE(sum(rows_inserted + rows_updated + rows_deleted), 0)
			FROM etl.run_table WHERE run_id = (SELECT max(run_id) FROM etl.run)`).Scan(&rewritten); err != nil {
			t.Fatal(err)
		}
		if rewritten != 0 {
			t.Fatalf("reload %v rewrote %d rows, want 0", extra, rewritten)
		}
	}
}

// The landing-file ledger knows a file by its absolute path: the same directory
// given relative after absolute reads nothing again.
func TestLandingLedgerKeyIgnoresHowTheDirIsWritten(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	dir := demoSet(t)
	mustRun(t, url, "--as-of", "2025-07-15", "load", "--dir", dir)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, url, "--as-of", "2025-07-15", "load", "--dir", rel)
	pool := openPool(t, url)
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE run_id = 2 AND skip_reason IS DISTINCT FROM 'unchanged_files'`); n != 0 {
		t.Fatalf("%d tables read again when the directory was given as %s", n, rel)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.landing_file WHERE path NOT LIKE '/%'`); n != 0 {
		t.Fatalf("%d landing files recorded by a relative path", n)
	}
}

// R3: PostgreSQL restarts in the middle of a run (a private cluster, fast stop then
// start). The run exits 1 naming the cause; its ledger rows end failed with that cause
// instead of staying running for the next run to call abandoned; no table starts
// after the connection was lost.
func TestServerRestartMidRun(t *testing.T) {
	t.Parallel()
	srv := pgtest.StartPrivate(t)
	mustRun(t, srv.URL, "migrate", "up")
	dir := demoSet(t)
	pool := openPool(t, srv.URL)
	cmd, errb := startBin(t, srv.URL, []string{"PULSO_ETL_BATCH_ROWS=500"}, pipelineArgs(dir, "--parallel", "1")...)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Restart once the first table has loaded and another is on its way.
	waitFor(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'success'`, 1)
	srv.Stop(t, "fast")
	srv.Start(t)
	err := <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("exit %v, want 1\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "terminating connection due to administrator command") &&
		!strings.Contains(errb.String(), "57P01") {
		t.Errorf("stderr does not name the restart:\n%s", errb)
	}
	pool = openPool(t, srv.URL) // the old pool's connections died with the server
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE status = 'failed' AND exit_code = 1 AND error IS NOT NULL`); n != 1 {
		t.Fatalf("%d failed runs with their cause, want 1", n)
	}
	if n := mustCount(t, pool, `SELECT (SELECT count(*) FROM etl.run WHERE status IN ('running', 'abandoned'))
		+ (SELECT count(*) FROM etl.run_table WHERE status IN ('running', 'abandoned'))`); n != 0 {
		t.Fatalf("%d ledger rows left running or abandoned", n)
	}
	started := mustCount(t, pool, `SELECT count(DISTINCT step) FROM etl.run_table`)
	if started >= 9 || !strings.Contains(errb.String(), "not started: the database connection was lost") {
		t.Fatalf("%d tables started of 9; want the tables after the loss not started\n%s", started, errb)
	}
	// The next run finds nothing to call abandoned and loads what was left.
	res := mustRun(t, srv.URL, pipelineArgs(dir)...)
	if strings.Contains(res.stderr, "marked abandoned") {
		t.Errorf("the next run marked runs abandoned:\n%s", res.stderr)
	}
}
