package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// loadAsOf loads one table of e.dir as a run as of asOf would (window end asOf + 1
// day), logging into logs when it is not nil.
func loadAsOf(e *loadEnv, table string, asOf etl.Date, logs io.Writer) etl.StepResult {
	e.t.Helper()
	ctx := e.t.Context()
	runID, err := startTestRun(ctx, e.store, "load", nil, asOf)
	if err != nil {
		e.t.Fatal(err)
	}
	tbl, ok := e.reg.Table(table)
	if !ok {
		e.t.Fatalf("unknown table %s", table)
	}
	if logs == nil {
		logs = io.Discard
	}
	res, err := etl.NewLoader(files.New(e.dir, files.Options{}, nil), e.store).LoadTable(ctx, tbl, etl.LoadOptions{
		RunID: runID, Now: asOf.AddDays(1).Start(), LoadConfig: etl.LoadConfig{Lookback: map[string]int{table: tbl.LookbackDays},
			EjecutivosIDCliente: 145, RejectTolerance: 1}, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		e.t.Fatalf("load %s as of %s: %v", table, asOf, err)
	}
	if err := e.store.FinishRun(ctx, runID, etl.StatusSuccess, 0, nil); err != nil {
		e.t.Fatal(err)
	}
	return res
}

// rawContents is a raw table's row count and the md5 of its rows (data columns and
// etl_source, in byte order), so two databases loaded differently can be compared.
func rawContents(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, tbl *etl.Table) string {
	t.Helper()
	cols := append(quotedAll(tbl.ColumnNames()), "etl_source")
	row := "ROW(" + strings.Join(cols, ", ") + ")::text"
	var n int64
	var sum string
	if err := q.QueryRow(t.Context(), fmt.Sprintf(`SELECT count(*), md5(COALESCE(string_agg(%s, E'\n' ORDER BY %s COLLATE "C"), ''))
		FROM %s`, row, row, tbl.RawTable())).Scan(&n, &sum); err != nil {
		t.Fatalf("%s: %v", tbl.Name, err)
	}
	return fmt.Sprintf("%d rows md5 %s", n, sum)
}

// TestLandingFileWithLateRowsIsReadAgain: a landing file holding rows beyond the
// window of the run that read it is not done; the next run whose window reaches them
// reads it again and loads them, and only then is the file skipped as unchanged.
func TestLandingFileWithLateRowsIsReadAgain(t *testing.T) {
	t.Parallel()
	d1, d2 := etl.NewDate(2025, 7, 10), etl.NewDate(2025, 7, 15)
	e := newLoadEnv(t)
	e.write("pagos/PAGOS_2025-07-01.csv", pagosHeader+
		"S,A1,PAGOS_A,,10,2025-07-01,2025-07-01 11:00:00\n"+
		"S,A2,PAGOS_A,,20,2025-07-02,2025-07-02 11:00:00\n")
	late := e.write("pagos/PAGOS_2025-07-09.csv", pagosHeader+
		"S,B1,PAGOS_B,,30,2025-07-09,2025-07-09 11:00:00\n"+
		"S,B2,PAGOS_B,,40,2025-07-12,2025-07-12 11:00:00\n"+
		// 23:30 Lima on the 14th: inside as of the 15th, the file's greatest value.
		"S,B3,PAGOS_B,,50,2025-07-14,2025-07-15T04:30:00Z\n"+
		// Rejects are final whatever their date: they never keep the file pending.
		"S,B4,PAGOS_B,,x,2025-07-20,2025-07-20 11:00:00\n"+
		"S,B5,PAGOS_B,,60,2025-07-25,2025-07-20 11:00:00\n")

	res := loadAsOf(e, "pagos", d1, nil)
	if res.Read != 7 || res.Loaded != 3 || res.Filtered != 2 || res.Rejected != 2 {
		t.Fatalf("load as of %s = %+v; want 7 read, 3 loaded, 2 filtered beyond the window, 2 rejected", d1, res)
	}
	var maxIncr, readUntil *time.Time
	if err := e.pool.QueryRow(t.Context(), `SELECT max_incremental, read_until FROM etl.landing_file
		WHERE table_name = 'pagos' AND path = $1`, late).Scan(&maxIncr, &readUntil); err != nil {
		t.Fatal(err)
	}
	wantMax, wantUntil := time.Date(2025, 7, 15, 4, 30, 0, 0, time.UTC), d1.AddDays(1).Start()
	if maxIncr == nil || readUntil == nil || !maxIncr.Equal(wantMax) || !readUntil.Equal(wantUntil) {
		t.Errorf("landing file records max %v read until %v; want %v and %v", maxIncr, readUntil, wantMax, wantUntil)
	}

	var logs bytes.Buffer
	res = loadAsOf(e, "pagos", d2, &logs)
	// Its row read by the first run is not read again (filtered), so it cannot write an
	// older version back over a later file's.
	if res.Status != etl.StatusSuccess || res.Read != 5 || res.Filtered != 1 || res.Loaded != 2 || res.Inserted != 2 ||
		res.Unchanged != 0 || res.Rejected != 2 {
		t.Fatalf("load as of %s = %+v; want the late file alone read again from its last window's end: "+
			"5 read, 1 filtered, 2 inserted, 2 rejected", d2, res)
	}
	if !strings.Contains(logs.String(), "held rows beyond the last window") || !strings.Contains(logs.String(), "files=1") {
		t.Errorf("no info line counting the file read again:\n%s", logs.String())
	}
	if n := e.count(`SELECT count(*) FROM raw.pagos WHERE nro_documento IN ('B2', 'B3')`); n != 2 {
		t.Fatalf("late rows in raw = %d; want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM etl.landing_file WHERE table_name = 'pagos'
		AND max_incremental >= read_until`); n != 0 {
		t.Fatalf("%d landing files still incomplete after a window reaching all their rows", n)
	}

	// The same files loaded once as of d2, in another database.
	once := newLoadEnv(t)
	once.dir = e.dir
	single := loadAsOf(once, "pagos", d2, nil)
	tbl, _ := e.reg.Table("pagos")
	if got, want := rawContents(t, e.pool, tbl), rawContents(t, once.pool, tbl); got != want {
		t.Fatalf("raw.pagos after %s then %s: %s; loaded once as of %s: %s", d1, d2, got, d2, want)
	}
	hwm, _, err := e.store.Watermark(t.Context(), "pagos")
	if err != nil {
		t.Fatal(err)
	}
	if !hwm.Equal(single.HWMAfter) {
		t.Fatalf("watermark %v; loaded once: %v", hwm, single.HWMAfter)
	}

	res = loadAsOf(e, "pagos", d2, nil)
	if res.Status != "skipped" || res.SkipReason != "unchanged_files" {
		t.Fatalf("third load as of %s = %+v; want skipped, unchanged_files", d2, res)
	}
}

// TestLandingReplayMatchesSingleLoad is the demo data set loaded as of 07-10 then
// 07-15, against one load as of 07-15: every raw table ends the same.
func TestLandingReplayMatchesSingleLoad(t *testing.T) {
	t.Parallel()
	dir := demoDir(t)
	replay, once := newTFEnv(t), newTFEnv(t)
	replay.load(dir, etl.NewDate(2025, 7, 10))
	replay.load(dir, demoAsOf)
	once.load(dir, demoAsOf)
	for _, tbl := range replay.reg.Tables() {
		got, want := rawContents(t, replay.pool, tbl), rawContents(t, once.pool, tbl)
		if got != want {
			t.Errorf("%s after 07-10 then 07-15: %s; loaded once as of 07-15: %s", tbl.Name, got, want)
		}
	}
	pending := func(e *tfEnv) map[string]int64 {
		rows, err := e.pool.Query(t.Context(), `SELECT table_name, count(*) FROM etl.landing_file
			WHERE max_incremental >= read_until GROUP BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		var name string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error {
			out[name] = n
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := pending(replay), pending(once); !maps.Equal(got, want) {
		t.Errorf("files still owed rows per table after the replay %v; loaded once %v", got, want)
	}
}

// A table whose landing files cannot be listed (here a symlink loop where its
// directory should be) fails with a ledger row saying why, so status shows the failed
// step instead of "never run".
func TestUnlistableTableRecordsFailedStep(t *testing.T) {
	t.Parallel()
	e := newTFEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	loop := filepath.Join(dir, "voicebot_gestiones")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	runID, err := startTestRun(ctx, e.store, "load", nil, demoAsOf)
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := e.reg.Table("voicebot_gestiones")
	_, loadErr := etl.NewLoader(filesSource(dir), e.store).LoadTable(ctx, tbl, etl.LoadOptions{
		RunID: runID, Now: demoAsOf.AddDays(1).Start(), LoadConfig: etl.LoadConfig{Lookback: map[string]int{tbl.Name: 7}}, Logger: e.log})
	if loadErr == nil {
		t.Fatal("a symlink loop for the table directory loaded")
	}
	var status etl.Status
	var stepErr string
	if err := e.pool.QueryRow(ctx, `SELECT status, error FROM etl.run_table WHERE run_id = $1 AND step = 'voicebot_gestiones'`,
		runID).Scan(&status, &stepErr); err != nil {
		t.Fatalf("no ledger row for the failed table: %v", err)
	}
	if status != etl.StatusFailed || !strings.Contains(stepErr, "voicebot_gestiones") {
		t.Errorf("ledger row %s %q; want failed naming the table (load error: %v)", status, stepErr, loadErr)
	}
}
