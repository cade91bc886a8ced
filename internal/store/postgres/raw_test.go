package postgres

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// loadEnv is a private migrated database with a store and a landing directory.
type loadEnv struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *Store
	dir   string
	reg   *etl.Registry
	runs  int64
}

func newLoadEnv(t *testing.T) *loadEnv {
	t.Helper()
	url := pgtest.Fresh(t)
	pool, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &loadEnv{t: t, pool: pool, dir: t.TempDir(), reg: etl.MustRegistry(),
		store: NewStore(pool, log, StoreOptions{BatchRows: 3, MaxShrinkRatio: 0.5})}
}

func (e *loadEnv) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

type loadCase struct {
	full, force bool
	// strict applies the default 5% reject tolerance; tiny fixtures otherwise trip it.
	strict bool
	src    etl.Source
	ctx    context.Context
}

// load runs one table through a new run and returns its result.
func (e *loadEnv) load(table string, c loadCase) (etl.StepResult, error) {
	e.t.Helper()
	ctx := c.ctx
	if ctx == nil {
		ctx = e.t.Context()
	}
	runID, err := startTestRun(e.t.Context(), e.store, "load", nil, etl.Date{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.runs = runID
	tbl, ok := e.reg.Table(table)
	if !ok {
		e.t.Fatalf("unknown table %s", table)
	}
	src := c.src
	if src == nil {
		src = files.New(e.dir, files.Options{MaxFieldBytes: 1 << 20}, nil)
	}
	tolerance := 1.0
	if c.strict {
		tolerance = 0.05
	}
	return etl.NewLoader(src, e.store).LoadTable(ctx, tbl, etl.LoadOptions{
		RunID: runID, Now: time.Date(2025, 7, 16, 5, 0, 0, 0, time.UTC), Full: c.full, Force: c.force,
		LoadConfig: etl.LoadConfig{Lookback: map[string]int{table: tbl.LookbackDays}, EjecutivosIDCliente: 145,
			RejectTolerance: tolerance}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func (e *loadEnv) count(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.t.Context(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

type rejectRow struct {
	line   int64
	column string
	reason string
}

func (e *loadEnv) rejects(table string) []rejectRow {
	e.t.Helper()
	rows, err := e.pool.Query(e.t.Context(), `SELECT COALESCE(line_no, 0), COALESCE(column_name, ''), reason
		FROM etl.reject WHERE table_name = $1 ORDER BY line_no, reason`, table)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []rejectRow
	for rows.Next() {
		var r rejectRow
		if err := rows.Scan(&r.line, &r.column, &r.reason); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

const pagosHeader = "cod_sistema,nro_documento,archivo,motivo_rechazo,monto_cancelado,fecha_pago,creado_el\n"

func TestLoadIncrementalIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	e.write("pagos/PAGOS_2025-06-03_1.csv", pagosHeader+
		"S,D1,PAGOS_1,,10.005,2025-06-03,2025-06-04 11:00:00\n"+
		"S,D2,PAGOS_1,,25,2025-06-03,2025-06-04 11:00:00\n"+
		"S,D3,PAGOS_1,,0,2025-06-03,2025-06-04 11:00:00\n"+
		"S,D4,PAGOS_1,DEVUELTO,5,2025-06-03,2025-06-04 11:00:00\n"+
		"S,D5,PAGOS_1,,7.5,2025-06-04,2025-06-05T11:00:00Z\n")
	res, err := e.load("pagos", loadCase{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 5 || res.Filtered != 2 || res.Rejected != 0 || res.Loaded != 3 || res.Inserted != 3 {
		t.Fatalf("first load = %+v", res)
	}
	if got := e.count(`SELECT count(*) FROM raw.pagos WHERE nro_documento = 'D1' AND monto_cancelado = 10.01`); got != 1 {
		t.Fatal("money not rounded half away from zero")
	}
	wantHWM := time.Date(2025, 6, 5, 11, 0, 0, 0, time.UTC)
	if !res.HWMAfter.Equal(wantHWM) {
		t.Fatalf("hwm = %v, want the greatest creado_el %v", res.HWMAfter, wantHWM)
	}
	if got := e.rejects("pagos"); len(got) != 2 || got[0].reason != etl.ReasonFilteredMonto || got[1].reason != etl.ReasonFilteredMotivo {
		t.Fatalf("filtered rows not recorded: %+v", got)
	}
	if e.count(`SELECT count(*) FROM etl.pending_change WHERE table_name = 'pagos'`) != 3 {
		t.Fatal("pending changes missing")
	}

	// An unchanged file is skipped.
	res, err = e.load("pagos", loadCase{})
	if err != nil || res.Status != "skipped" || res.SkipReason != "unchanged_files" {
		t.Fatalf("second load = %+v, %v", res, err)
	}
	// --full reads it again and rewrites nothing; rejects are not recorded twice.
	res, err = e.load("pagos", loadCase{full: true})
	if err != nil || res.Loaded != 3 || res.Inserted != 0 || res.Updated != 0 || res.Unchanged != 3 || res.NewRejects != 0 {
		t.Fatalf("--full load = %+v, %v", res, err)
	}
	if n := e.count(`SELECT count(*) FROM etl.reject WHERE table_name = 'pagos'`); n != 2 {
		t.Fatalf("rejects after reload = %d, want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM etl.run_table WHERE step = 'pagos' AND status = 'success'
		AND rows_read <> rows_filtered + rows_rejected + rows_loaded`); n != 0 {
		t.Fatal("ledger identity broken")
	}
	if !res.HWMAfter.Equal(wantHWM) {
		t.Fatalf("hwm moved on a rerun: %v", res.HWMAfter)
	}
}

func TestLoadMergeRecordsOldAndNewChanges(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	head := "uid,campaign_name,document,management,sub_management,compromiso,date\n"
	e.write("voicebot_gestiones.csv", head+
		"u1,Q1,111,CONTACTO,PDP,,2025-06-03T15:00:00Z\n"+
		"u2,Q1,222,NO CONTESTA,,,2025-06-03T16:00:00Z\n")
	if _, err := e.load("voicebot_gestiones", loadCase{}); err != nil {
		t.Fatal(err)
	}
	// u1 moves to another Lima day (04:00 UTC on the 5th is the 4th in Lima); u3 is new.
	e.write("voicebot_gestiones.csv", head+
		"u1,Q1,111,CONTACTO,PDP,,2025-06-05T04:00:00Z\n"+
		"u2,Q1,222,NO CONTESTA,,,2025-06-03T16:00:00Z\n"+
		"u3,Q2,333,CONTACTO,,,2025-06-06T16:00:00Z\n")
	res, err := e.load("voicebot_gestiones", loadCase{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 1 || res.Unchanged != 1 {
		t.Fatalf("merge = %+v", res)
	}
	rows, err := e.pool.Query(t.Context(), `SELECT day::text FROM etl.pending_change WHERE run_id = $1 ORDER BY day`, e.runs)
	if err != nil {
		t.Fatal(err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(days, ",") != "2025-06-03,2025-06-04,2025-06-06" {
		t.Fatalf("pending days = %v, want old day, new Lima day and the insert's day", days)
	}
}

func TestLoadDuplicateKeysKeepGreatestIncremental(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	head := "uid,campaign_name,document,management,sub_management,compromiso,date\n"
	// Direct path (empty table) meets the duplicate and retries through staging.
	e.write("voicebot_gestiones/a.csv", head+"u1,OLD,111,A,,,2025-06-03T15:00:00Z\nu2,Q,2,A,,,2025-06-03T15:00:00Z\n")
	e.write("voicebot_gestiones/b.csv", head+"u1,NEW,111,A,,,2025-06-03T18:00:00Z\n")
	res, err := e.load("voicebot_gestiones", loadCase{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loaded != 2 || res.Rejected != 1 || res.Read != 3 {
		t.Fatalf("result = %+v", res)
	}
	if n := e.count(`SELECT count(*) FROM raw.voicebot_gestiones WHERE uid = 'u1' AND campaign_name = 'NEW'`); n != 1 {
		t.Fatal("the row with the greatest date must win")
	}
	got := e.rejects("voicebot_gestiones")
	if len(got) != 1 || got[0].reason != etl.ReasonDuplicateKey || got[0].line != 2 {
		t.Fatalf("rejects = %+v", got)
	}
	if n := e.count(`SELECT count(*) FROM etl.run_table WHERE run_id = $1`, e.runs); n != 1 {
		t.Fatalf("the retried direct attempt left %d ledger rows, want 1", n)
	}
}

// Every R6 row fault rejects its row with a reason while the valid rows load.
func TestLoadRowFaultsRejectOnlyTheirRows(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	big := strings.Repeat("x", 10<<20)
	e.write("pagos.csv", "\ufeff"+strings.ReplaceAll(pagosHeader, "\n", "\r\n")+
		"S,OK1,P,,10,2025-06-03,2025-06-04 11:00:00\r\n"+ // 2 ok
		"S,BAD1,P,,abc,2025-06-03,2025-06-04 11:00:00\r\n"+ // 3 wrong type
		"S,BAD2,P,,10,2025-02-30,2025-06-04 11:00:00\r\n"+ // 4 bad date
		"S,,P,,10,2025-06-03,2025-06-04 11:00:00\r\n"+ // 5 empty key
		"S,NEG,P,,-4,2025-06-03,2025-06-04 11:00:00\r\n"+ // 6 negative amount (filtered)
		"S,FUT,P,,10,2025-06-09,2025-06-04 11:00:00\r\n"+ // 7 future payment
		"S,OK2,P,,10,2025-06-03,2025-06-04 11:00:00\r\n"+ // 8 ok
		"S,OK2,P,,10,2025-06-03,2025-06-04 10:00:00\r\n"+ // 9 duplicate key (older)
		"S,UTF\xff,P,,10,2025-06-03,2025-06-04 11:00:00\r\n"+ // 10 invalid UTF-8
		"S,"+big+",P,,10,2025-06-03,2025-06-04 11:00:00\r\n"+ // 11 field too large
		"S,SHORT,P\r\n"+ // 12 wrong field count
		"S,OK3,P,,\"1,5\",2025-06-03,2025-06-04 11:00:00\r\n") // 13 "1,5" is not a number
	res, err := e.load("pagos", loadCase{strict: true})
	if !errors.Is(err, etl.ErrRejectsAboveTolerance) {
		t.Fatalf("err = %v, want rejects above tolerance (exit 4)", err)
	}
	if res.Loaded != 2 || res.Read != 12 || res.Filtered != 1 || res.Rejected != 9 {
		t.Fatalf("result = %+v", res)
	}
	want := []rejectRow{
		{3, "monto_cancelado", etl.ReasonInvalidValue},
		{4, "fecha_pago", etl.ReasonInvalidValue},
		{5, "nro_documento", etl.ReasonMissingValue},
		{6, "monto_cancelado", etl.ReasonFilteredMonto},
		{7, "fecha_pago", etl.ReasonFutureDate},
		{9, "", etl.ReasonDuplicateKey},
		{10, "nro_documento", etl.ReasonInvalidUTF8},
		{11, "nro_documento", etl.ReasonFieldTooLarge},
		{12, "", etl.ReasonWrongFieldCount},
		{13, "monto_cancelado", etl.ReasonInvalidValue},
	}
	got := e.rejects("pagos")
	if len(got) != len(want) {
		t.Fatalf("rejects = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reject %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := e.count(`SELECT count(*) FROM raw.pagos WHERE nro_documento IN ('OK1', 'OK2')`); n != 2 {
		t.Fatalf("valid rows loaded = %d, want 2", n)
	}
}

// A malformed NDJSON line is a row reject (invalid_json) with its line number, as a
// CSV line with the wrong number of fields is: the other lines load.
func TestLoadMalformedNDJSONLineIsARowReject(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	e.write("pagos.ndjson", `{"nro_documento":"OK1","archivo":"P","monto_cancelado":10,"fecha_pago":"2025-06-03","creado_el":"2025-06-04T11:00:00Z"}`+"\n"+
		`{"nro_documento":"BAD","archivo":"P",`+"\n"+
		`["not", "an", "object"]`+"\n"+
		`{"nro_documento":"OK2","archivo":"P","monto_cancelado":10,"fecha_pago":"2025-06-03","creado_el":"2025-06-04T11:00:00Z"}`+"\n")
	res, err := e.load("pagos", loadCase{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loaded != 2 || res.Read != 4 || res.Rejected != 2 {
		t.Fatalf("result = %+v", res)
	}
	want := []rejectRow{{2, "", etl.ReasonInvalidJSON}, {3, "", etl.ReasonInvalidJSON}}
	if got := e.rejects("pagos"); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("rejects = %+v, want %+v", got, want)
	}
}

// Structural faults fail the table naming file and line; nothing of it commits.
func TestLoadStructuralFaultsCommitNothing(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(pagosHeader + strings.Repeat("S,D1,P,,10,2025-06-03,2025-06-04 11:00:00\n", 2000)))
	_ = zw.Close()
	truncated := gz.Bytes()[:gz.Len()/2]

	cases := []struct {
		name, file, content, want string
	}{
		{"missing required column", "pagos.csv", "nro_documento,archivo,fecha_pago,creado_el,motivo_rechazo\nD1,P,2025-06-03,2025-06-04 11:00:00,\n",
			`table pagos: missing required column "monto_cancelado"`},
		{"unbalanced quote", "pagos.csv", pagosHeader + "S,D1,P,,10,2025-06-03,2025-06-04 11:00:00\nS,\"D2,P,,10,2025-06-03,2025-06-04 11:00:00\n", ":3"},
		{"truncated gzip", "pagos.csv.gz", string(truncated), "pagos.csv.gz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newLoadEnv(t)
			// A good earlier file in the same table: nothing of the table may commit.
			e.write("pagos/a_good.csv", pagosHeader+"S,G1,P,,10,2025-06-03,2025-06-04 11:00:00\n")
			e.write(c.file, c.content)
			_, err := e.load("pagos", loadCase{})
			if !errors.Is(err, etl.ErrStructural) {
				t.Fatalf("err = %v, want a structural fault", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("err = %q, want it to name %q and %q", err, c.file, c.want)
			}
			if n := e.count(`SELECT count(*) FROM raw.pagos`); n != 0 {
				t.Fatalf("%d rows committed", n)
			}
			if n := e.count(`SELECT count(*) FROM etl.landing_file`) + e.count(`SELECT count(*) FROM etl.watermark`) +
				e.count(`SELECT count(*) FROM etl.reject`) + e.count(`SELECT count(*) FROM etl.pending_change`); n != 0 {
				t.Fatalf("%d state rows committed", n)
			}
			if n := e.count(`SELECT count(*) FROM etl.run_table WHERE status = 'failed' AND error LIKE '%' || $1 || '%'`, c.file); n != 1 {
				t.Fatal("the ledger does not record the failed step with its error")
			}
		})
	}
}

func TestFullRefreshShrinkGuard(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	head := "archivo,fecha_apertura,fecha_trandeuda,fecha_cierre,periodo_date\n"
	e.write("calendario.csv", head+
		"A,2025-06-02,2025-06-01,,2025-06-01\nB,2025-06-03,2025-06-02,2025-06-27,2025-06-01\n"+
		"C,2025-06-10,2025-06-09,2025-07-08,2025-06-01\nD,2025-06-11,2025-06-10,,2025-06-01\n"+
		"E,2025-06-11,2025-06-10,2025-06-01,2025-06-01\n") // E closes before it opens
	res, err := e.load("calendario", loadCase{})
	if err != nil || res.Loaded != 4 || res.Rejected != 1 {
		t.Fatalf("first = %+v, %v", res, err)
	}
	if got := e.rejects("calendario"); len(got) != 1 || got[0].column != "fecha_cierre" || got[0].reason != etl.ReasonInvalidValue {
		t.Fatalf("rejects = %+v", got)
	}
	// Same content in a rewritten file: read again (full tables re-read on change) but nothing rewritten.
	e.write("calendario.csv", head+
		"A,2025-06-02,2025-06-01,,2025-06-01\nB,2025-06-03,2025-06-02,2025-06-27,2025-06-01\n"+
		"C,2025-06-10,2025-06-09,2025-07-08,2025-06-01\nD,2025-06-11,2025-06-10,,2025-06-01\n")
	res, err = e.load("calendario", loadCase{})
	if err != nil || res.Inserted+res.Updated+res.Deleted != 0 || res.Unchanged != 4 {
		t.Fatalf("identical refresh = %+v, %v", res, err)
	}
	// Shrinking from 4 rows to 1 is refused and changes nothing.
	e.write("calendario.csv", head+"A,2025-06-02,2025-06-01,2025-06-30,2025-06-01\n")
	if _, err = e.load("calendario", loadCase{}); !errors.Is(err, ErrShrinkGuard) {
		t.Fatalf("err = %v, want the shrink guard", err)
	}
	if n := e.count(`SELECT count(*) FROM raw.calendario`); n != 4 {
		t.Fatalf("rows after refused refresh = %d", n)
	}
	// An empty source is refused too.
	e.write("calendario.csv", head)
	if _, err = e.load("calendario", loadCase{}); !errors.Is(err, ErrShrinkGuard) {
		t.Fatalf("empty source: err = %v, want the shrink guard", err)
	}
	// --force replaces: one updated, three deleted, one change recorded.
	e.write("calendario.csv", head+"A,2025-06-02,2025-06-01,2025-06-30,2025-06-01\n")
	res, err = e.load("calendario", loadCase{force: true})
	if err != nil || res.Updated != 1 || res.Deleted != 3 || res.Inserted != 0 {
		t.Fatalf("forced = %+v, %v", res, err)
	}
	if n := e.count(`SELECT count(*) FROM raw.calendario WHERE fecha_cierre = '2025-06-30'`); n != 1 {
		t.Fatal("forced refresh not applied")
	}
	if n := e.count(`SELECT count(*) FROM etl.pending_change WHERE table_name = 'calendario' AND run_id = $1`, e.runs); n != 1 {
		t.Fatal("a changed full table records one pending change")
	}
}

// cancelAfter cancels the load's context once n records were handed out.
type cancelAfter struct {
	etl.Source
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Open(ctx context.Context, t *etl.Table, p etl.Part, w etl.Window) (etl.RecordReader, error) {
	rd, err := c.Source.Open(ctx, t, p, w)
	return &cancelReader{RecordReader: rd, c: c}, err
}

type cancelReader struct {
	etl.RecordReader
	c *cancelAfter
}

func (r *cancelReader) Next(rec *etl.Record) (bool, error) {
	r.c.n--
	if r.c.n == 0 {
		r.c.cancel()
	}
	return r.RecordReader.Next(rec)
}

func TestLoadCancelledCommitsNothing(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	var b strings.Builder
	b.WriteString(pagosHeader)
	for i := range 500 {
		b.WriteString("S,D" + strings.Repeat("9", i%7) + string(rune('a'+i%26)) + time.Duration(i).String() + ",P,,10,2025-06-03,2025-06-04 11:00:00\n")
	}
	e.write("pagos.csv", b.String())
	ctx, cancel := context.WithCancel(t.Context())
	src := &cancelAfter{Source: files.New(e.dir, files.Options{MaxFieldBytes: 1 << 20}, nil), n: 100, cancel: cancel}
	_, err := e.load("pagos", loadCase{src: src, ctx: ctx})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancellation", err)
	}
	if n := e.count(`SELECT count(*) FROM raw.pagos`); n != 0 {
		t.Fatalf("%d rows committed by a cancelled load", n)
	}
	if n := e.count(`SELECT count(*) FROM etl.run_table WHERE status = 'cancelled'`); n != 1 {
		t.Fatal("cancelled step not recorded")
	}
	// The next run loads everything.
	res, err := e.load("pagos", loadCase{})
	if err != nil || res.Loaded != 500 {
		t.Fatalf("rerun = %+v, %v", res, err)
	}
}

func TestMarkAbandoned(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	ctx := t.Context()
	id, err := startTestRun(ctx, e.store, "run-pipeline", []string{"--x"}, etl.NewDate(2025, 7, 15))
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := e.reg.Table("pagos")
	if _, err := e.store.startStep(ctx, etl.Step{RunID: id, Table: tbl}, etl.StatusRunning, "", ""); err != nil {
		t.Fatal(err)
	}
	n, err := e.store.MarkAbandoned(ctx)
	if err != nil || n != 1 {
		t.Fatalf("MarkAbandoned = %d, %v", n, err)
	}
	if c := e.count(`SELECT count(*) FROM etl.run_table WHERE status = 'running'`) + e.count(`SELECT count(*) FROM etl.run WHERE status = 'running'`); c != 0 {
		t.Fatal("running rows left")
	}
}

// startTestRun opens a run's ledger row as a Runner would (without the lock).
func startTestRun(ctx context.Context, s *Store, command string, args []string, asOf etl.Date) (int64, error) {
	id, err := s.ReserveRunID(ctx)
	if err != nil {
		return 0, err
	}
	return id, s.StartRun(ctx, etl.RunRecord{ID: id, Command: command, Args: args, AsOf: asOf})
}
