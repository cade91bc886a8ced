package main

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

func TestWatermarkResetArgs(t *testing.T) {
	t.Parallel()
	tp := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		args    []string
		want    watermarkResetOptions
		wantErr string
	}{
		{args: []string{"reset", "pagos"}, want: watermarkResetOptions{Table: "pagos", Args: []string{"pagos"}}},
		{args: []string{"reset", "Pagos", "--to", "2025-06-01"}, want: watermarkResetOptions{Table: "pagos",
			To: tp(time.Date(2025, 6, 1, 0, 0, 0, 0, etl.Lima)), Args: []string{"pagos", "--to=2025-06-01"}}},
		{args: []string{"reset", "trandeuda", "--to", "2025-06-01T05:00:00Z"}, want: watermarkResetOptions{Table: "trandeuda",
			To: tp(time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)), Args: []string{"trandeuda", "--to=2025-06-01T05:00:00Z"}}},
		{args: []string{"reset", "calendario"}, wantErr: "calendario is a full-refresh table"},
		{args: []string{"reset", "nope"}, wantErr: `unknown table "nope" (incremental tables: asignaciones, trandeuda, pagos,`},
		{args: []string{"reset", "pagos", "--to", "yesterday"}, wantErr: `--to "yesterday"`},
		{args: []string{"reset", "pagos", "--to", "2999-01-01"}, wantErr: "in the future"},
		{args: []string{"reset"}, wantErr: "accepts 1 arg"},
		{args: []string{"reset", "pagos", "trandeuda"}, wantErr: "accepts 1 arg"},
		{args: []string{}, wantErr: "missing subcommand"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkArgv(t, tc.args, tc.want, tc.wantErr, newWatermarkCmd)
		})
	}
}

func TestWatermarkResetCommand(t *testing.T) {
	t.Parallel()
	url, pool := opsDB(t)
	ctx := t.Context()
	mustExec(t, pool, `INSERT INTO etl.watermark (table_name, high_water_mark) VALUES ('pagos', '2025-07-10T15:00:00Z')`)

	res := runCLI(t, url, "watermark", "reset", "pagos", "--to", "2025-06-01")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "pagos: watermark 2025-07-10T15:00:00Z → 2025-06-01T05:00:00Z") {
		t.Errorf("output does not show previous and new value:\n%s", res.stdout)
	}
	var hwm time.Time
	var lastRun int64
	if err := pool.QueryRow(ctx, `SELECT high_water_mark, last_run_id FROM etl.watermark WHERE table_name = 'pagos'`).Scan(&hwm, &lastRun); err != nil {
		t.Fatal(err)
	}
	if !hwm.Equal(time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("stored watermark %v", hwm)
	}
	// The run is in the ledger, finished, and the watermark names it.
	var cmd string
	var status etl.Status
	var args []string
	if err := pool.QueryRow(ctx, `SELECT command, status, ARRAY(SELECT jsonb_array_elements_text(args)) FROM etl.run WHERE run_id = $1`,
		lastRun).Scan(&cmd, &status, &args); err != nil {
		t.Fatal(err)
	}
	if cmd != "watermark reset" || status != etl.StatusSuccess || !reflect.DeepEqual(args, []string{"pagos", "--to=2025-06-01"}) {
		t.Errorf("ledger row: %s %s %v", cmd, status, args)
	}

	// Absent --to removes it.
	res = runCLI(t, url, "watermark", "reset", "pagos")
	if res.code != exitOK || !strings.Contains(res.stdout, "→ (none)") || !strings.Contains(res.stdout, "initial_from") {
		t.Fatalf("remove: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.watermark WHERE table_name = 'pagos'`); n != 0 {
		t.Errorf("watermark still present")
	}

	// Full tables have none: usage error, nothing recorded.
	runs := mustCount(t, pool, `SELECT count(*) FROM etl.run`)
	res = runCLI(t, url, "watermark", "reset", "ejecutivos")
	if res.code != exitUsage || !strings.Contains(res.stderr, "full-refresh") {
		t.Errorf("full table: exit %d\n%s", res.code, res.stderr)
	}

	// It takes the pipeline lock: held by a run → exit 3 naming it, nothing changes.
	lock, err := postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Owner: "pulso run 77 run-pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(context.Background())
	res = runCLI(t, url, "watermark", "reset", "pagos", "--to", "2025-06-01")
	if res.code != exitLocked || !strings.Contains(res.stderr, "pulso run 77 run-pipeline") {
		t.Errorf("locked: exit %d\n%s", res.code, res.stderr)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.watermark`); n != 0 {
		t.Errorf("watermark written while the lock was held")
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run`); n != runs {
		t.Errorf("%d ledger rows, want %d: refused commands record nothing", n, runs)
	}
}
