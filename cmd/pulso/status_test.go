package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// runCLI runs one invocation in-process against dbURL (passed as a flag, so parallel
// tests need no environment), returning the exit code and both streams.
func runCLI(t *testing.T, dbURL string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(t.Context(), append([]string{"--database-url", dbURL, "--log-format", "json"}, args...), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}

// opsDB is a private migrated database with a pool for seeding ledger rows.
func opsDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.Fresh(t)
	pool, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return url, pool
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustCount(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// seedRun inserts a run (and one step per table) as a killed or finished process
// would have left it.
func seedRun(t *testing.T, pool *pgxpool.Pool, command, status string, steps map[string]string) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(t.Context(), `INSERT INTO etl.run (command, status, finished_at)
		VALUES ($1, $2, CASE WHEN $2 = 'running' THEN NULL ELSE now() END) RETURNING run_id`, command, status).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for step, st := range steps {
		mustExec(t, pool, `INSERT INTO etl.run_table (run_id, step, status, rows_read, rows_rejected, rows_loaded, finished_at)
			VALUES ($1, $2, $3, 10, 1, 9, CASE WHEN $3 = 'running' THEN NULL ELSE now() END)`, id, step, st)
	}
	return id
}

func decodeStatus(t *testing.T, res result) postgres.Status {
	t.Helper()
	if res.code != exitOK {
		t.Fatalf("status: exit %d\n%s", res.code, res.stderr)
	}
	var st postgres.Status
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, res.stdout)
	}
	return st
}

func TestStatusArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		want    statusOptions
		wantErr string
	}{
		{args: nil, want: statusOptions{Output: "text", Runs: 10, MaxSteps: 12}},
		{args: []string{"--output", "json"}, want: statusOptions{Output: "json", Runs: 10, MaxSteps: 12}},
		{args: []string{"-o", "json", "--runs", "3", "--max-steps", "0"}, want: statusOptions{Output: "json", Runs: 3, MaxSteps: 0}},
		{args: []string{"--output", "yaml"}, wantErr: `"yaml": want text or json`},
		{args: []string{"--runs", "0"}, wantErr: "--runs 0"},
		{args: []string{"extra"}, wantErr: "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkArgv(t, tc.args, tc.want, tc.wantErr, newStatusCmd)
		})
	}
}

// status reads while another run holds the lock; a run left `running` by a dead
// process shows as abandoned once the lock is free, and the next writing command
// records it so in the ledger.
func TestStatusCommand(t *testing.T) {
	t.Parallel()
	url, pool := opsDB(t)
	ctx := t.Context()

	st := decodeStatus(t, runCLI(t, url, "status", "--output", "json"))
	if st.Status != postgres.OverallNeverRun || len(st.Tables) != 9 || len(st.Runs) != 0 {
		t.Fatalf("fresh database: status %s, %d tables, %d runs", st.Status, len(st.Tables), len(st.Runs))
	}

	done := seedRun(t, pool, "load", "success", map[string]string{"pagos": "success", "calendario": "success"})
	dead := seedRun(t, pool, "run-pipeline", "running", map[string]string{"pagos": "running"})

	// The lock is held by the dead run's successor-to-be, a live run: status still
	// answers at once and names it.
	lock, err := postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Owner: fmt.Sprintf("pulso run %d run-pipeline", dead)})
	if err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, url, "status", "-o", "json")
	st = decodeStatus(t, res)
	if !st.Lock.Held || st.Lock.Holder != fmt.Sprintf("pulso run %d run-pipeline", dead) || st.Status != postgres.OverallRunning {
		t.Fatalf("lock %+v status %s; want held by run %d", st.Lock, st.Status, dead)
	}
	if st.Runs[0].RunID != dead || st.Runs[0].Status != etl.StatusRunning {
		t.Fatalf("live run shows %+v", st.Runs[0])
	}
	if res.took > 5*time.Second {
		t.Errorf("status took %s while the lock was held; it must not wait for it", res.took)
	}
	text := runCLI(t, url, "status")
	if text.code != exitOK || !strings.Contains(text.stdout, "held by") || !strings.Contains(text.stdout, "RUNNING") {
		t.Fatalf("text status while locked: exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}
	_ = lock.Release(context.Background())

	// Lock free: the process is gone, the row is abandoned (the ledger still says running).
	st = decodeStatus(t, runCLI(t, url, "status", "-o", "json"))
	if st.Lock.Held || st.Runs[0].Status != etl.StatusAbandoned || st.Runs[0].LedgerStatus != etl.StatusRunning ||
		st.Runs[0].Steps[0].Status != etl.StatusAbandoned || st.Status != postgres.OverallDegraded {
		t.Fatalf("after the lock freed: %s, run %+v", st.Status, st.Runs[0])
	}
	for _, tb := range st.Tables {
		switch tb.Table {
		case "pagos":
			if *tb.LastRunID != dead || *tb.LastStatus != etl.StatusAbandoned || tb.Stale || tb.RowsRejected != 1 {
				t.Errorf("pagos = %+v; want last run %d abandoned, fresh from run %d, 1 rejected", tb, dead, done)
			}
		case "calendario":
			if *tb.LastRunID != done || *tb.LastStatus != etl.StatusSuccess || tb.Stale {
				t.Errorf("calendario = %+v", tb)
			}
		case "asignaciones":
			if tb.LastRunID != nil || !tb.Stale {
				t.Errorf("asignaciones = %+v; want never run and stale", tb)
			}
		}
	}
	text = runCLI(t, url, "status")
	if !strings.Contains(text.stdout, "abandoned (ledger: running)") || !strings.Contains(text.stdout, "DEGRADED") {
		t.Errorf("text status does not show the abandoned run:\n%s", text.stdout)
	}

	// A writing command takes the lock and records the abandonment.
	if res := runCLI(t, url, "watermark", "reset", "pagos"); res.code != exitOK {
		t.Fatalf("watermark reset: exit %d\n%s", res.code, res.stderr)
	}
	st = decodeStatus(t, runCLI(t, url, "status", "-o", "json"))
	for _, r := range st.Runs {
		if r.RunID == dead && (r.LedgerStatus != etl.StatusAbandoned || r.Status != etl.StatusAbandoned) {
			t.Errorf("dead run after a writing command: %s/%s, want abandoned in the ledger", r.Status, r.LedgerStatus)
		}
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs still running", n)
	}
}

// A real process killed with SIGKILL leaves its run `running`; status shows it as
// abandoned because the lock died with the process.
func TestStatusShowsKilledProcessAbandoned(t *testing.T) {
	t.Parallel()
	url, pool := opsDB(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("uid,campaign_name,document,management,sub_management,compromiso,date\n")
	for i := range 300_000 {
		fmt.Fprintf(&b, "k%d,QUEUE,12345678,CONTACTO,PDP,,2025-06-03T15:00:00Z\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "voicebot_gestiones.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pulsoBin(t), "--log-format", "json", "--as-of", "2025-07-15", "load", "--dir", dir,
		"--tables", "voicebot_gestiones")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "PULSO_ETL_BATCH_ROWS=5000")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'running'`) == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("load never started:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The server notices the dead connection (and frees its lock) shortly after.
	deadline = time.Now().Add(10 * time.Second)
	for {
		st := decodeStatus(t, runCLI(t, url, "status", "-o", "json"))
		if !st.Lock.Held {
			if len(st.Runs) != 1 || st.Runs[0].Status != etl.StatusAbandoned || st.Runs[0].LedgerStatus != etl.StatusRunning {
				t.Fatalf("killed run shows %+v", st.Runs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lock still held 10 s after the holder was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStatusStepLinesFoldTransform(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 7, 15, 12, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	reason := etl.SkipUnchangedFiles
	from, to := "2025-06-01", "2025-06-07"
	steps := []postgres.StepStatus{
		{Step: "calendario", Status: etl.StatusSkipped, SkipReason: &reason, StartedAt: t0, FinishedAt: at(0)},
		{Step: "pagos", Status: "success", RowsRead: 10, RowsRejected: 1, RowsLoaded: 9, StartedAt: t0, FinishedAt: at(2),
			ChunkFrom: &from, ChunkTo: &to},
		{Step: "aux.campana", Status: "success", StartedAt: *at(3), FinishedAt: at(4)},
		{Step: "mart.dashboard_data", Status: "failed", StartedAt: *at(4), FinishedAt: at(9)},
	}
	got := stepLines(steps, t0.Add(time.Minute))
	want := []stepLine{
		{name: "calendario", status: "skipped (unchanged_files)", took: "0ms", read: "0", rejected: "0", loaded: "0"},
		{name: "pagos [2025-06-01..2025-06-07]", status: "success", took: "2.0s", read: "10", rejected: "1", loaded: "9"},
		{name: "transform (2 steps)", status: "failed", took: "6.0s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines\n%+v\nwant\n%+v", got, want)
	}
}
