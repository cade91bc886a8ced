package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The differential test makes domain.md §6's promise a property: for every sequence
// of deliveries and as-of values, each incremental run leaves the aux and mart tables
// equal to a --full-rebuild of the same raw state (built in a second database), and
// the raw tables after the last run equal one run over the final landing directory.

// diffSeeds run in `make test`; a failing random seed of `make fuzz-transform` is
// added here (or its minimised world to diffRegressions).
var diffSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func TestTransformDifferential(t *testing.T) {
	t.Parallel()
	for _, seed := range diffSeeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			w := genWorld(seed)
			if err := replayWorld(t, w); err != nil {
				t.Fatalf("seed %d: %v\n%#v", seed, err, w)
			}
		})
	}
}

// diffRegressions are the delivery sequences that once broke incremental == full.
var diffRegressions = map[string]world{
	// A fecha_trandeuda snapshot delivered after apertura moves snap_asig of the
	// accounts assigned earlier forward to it; rebuilding from the changed day on top
	// of the stored day before counted the old snapshot and the new one (a check
	// constraint violation: gestionables 3 > cuentas 2).
	"snapshot after apertura": {Runs: []delivery{
		{AsOf: "2025-07-02", Files: map[string][]string{
			"calendario.csv":            {"CAMP_X_TEMPRANA_20250701,2025-07-01,2025-07-03,,2025-07-01"},
			"asignaciones/a.csv":        {"100,500,CAMP_X_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z", "101,501,CAMP_X_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z"},
			"trandeuda/0207.csv":        {"100,D1,TRAN_DEUDA_0207_1,,0.50,2025-07-02T12:04:00Z", "101,D2,TRAN_DEUDA_0207_1,,50.00,2025-07-02T12:04:00Z"},
			"homologacion_voicebot.csv": {"TITULAR,PROMESA_PAGO,SI,Contacto Efectivo,1,10"},
		}},
		{AsOf: "2025-07-03", Files: map[string][]string{
			"trandeuda/0307.csv": {"100,D1,TRAN_DEUDA_0307_1,,200.00,2025-07-03T12:04:00Z", "101,D2,TRAN_DEUDA_0307_1,,50.00,2025-07-03T12:04:00Z"},
		}},
	}},
	// The same with one account in the later snapshot: no constraint breaks, but
	// deuda_asig counted 0.50 + 200 + 50.
	"snapshot after apertura, partial": {Runs: []delivery{
		{AsOf: "2025-07-02", Files: map[string][]string{
			"calendario.csv":     {"CAMP_X_TEMPRANA_20250701,2025-07-01,2025-07-03,,2025-07-01"},
			"asignaciones/a.csv": {"100,500,CAMP_X_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z", "101,501,CAMP_X_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z"},
			"trandeuda/0207.csv": {"100,D1,TRAN_DEUDA_0207_1,,0.50,2025-07-02T12:04:00Z", "101,D2,TRAN_DEUDA_0207_1,,50.00,2025-07-02T12:04:00Z"},
		}},
		{AsOf: "2025-07-03", Files: map[string][]string{
			"trandeuda/0307.csv": {"100,D1,TRAN_DEUDA_0307_1,,200.00,2025-07-03T12:04:00Z"},
		}},
	}},
	// --as-of moved back with --full-rebuild, then forward: the moved end of an open
	// window must rebuild snap_asig (the 07-04 snapshot is in it again).
	"as-of back and forward": {Runs: []delivery{
		{AsOf: "2025-07-05", Files: map[string][]string{
			"calendario.csv":     {"CAMP_Y_AN_20250701,2025-07-01,2025-07-01,,2025-07-01"},
			"asignaciones/a.csv": {"200,600,CAMP_Y_AN_20250701.txt,FIJA,2025-05-01,2025-07-01T15:00:00Z"},
			"trandeuda/0407.csv": {"200,D3,TRAN_DEUDA_0407_1,,80.00,2025-07-04T12:04:00Z"},
		}},
		{AsOf: "2025-07-02", Full: true},
		{AsOf: "2025-07-05"},
	}},
	// Rows dated after the run's now (a producer whose clock runs ahead, or an
	// --as-of replay) are filtered, and the file must be read again once they are in
	// the window.
	"rows after now": {Runs: []delivery{
		{AsOf: "2025-07-02", Files: map[string][]string{
			"calendario.csv":            {"CAMP_Z_TEMPRANA_20250701,2025-07-01,2025-07-01,,2025-07-01"},
			"asignaciones/a.csv":        {"300,700,CAMP_Z_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z"},
			"trandeuda/a.csv":           {"300,D4,TRAN_DEUDA_0107_1,,10.00,2025-07-01T12:04:00Z", "300,D4,TRAN_DEUDA_0407_1,,9.00,2025-07-04T12:04:00Z"},
			"voicebot_gestiones/a.csv":  {"vb1,COLA_A,700,TITULAR,PROMESA_PAGO,SI,2025-07-02T15:00:00Z", "vb2,COLA_A,700,TITULAR,PROMESA_PAGO,SI,2025-07-04T15:00:00Z"},
			"pagos/a.csv":               {"D4,PAGOS_2025-07-03_1,,1.00,2025-07-03,2025-07-04T11:00:00Z"},
			"homologacion_voicebot.csv": {"TITULAR,PROMESA_PAGO,SI,Contacto Efectivo,1,10"},
		}},
		{AsOf: "2025-07-05"},
	}},
	// A file read again for its rows beyond the last window must not write back its
	// older rows: vb1 was corrected (a later time, other codes) by a later file.
	"re-read file keeps the newer version": {Runs: []delivery{
		{AsOf: "2025-07-02", Files: map[string][]string{
			"calendario.csv":            {"CAMP_Z_TEMPRANA_20250701,2025-07-01,2025-07-01,,2025-07-01"},
			"asignaciones/a.csv":        {"300,700,CAMP_Z_TEMPRANA_20250701.txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z"},
			"voicebot_gestiones/a.csv":  {"vb1,COLA_A,700,TERCERO,DEJA_MENSAJE,NO,2025-07-02T15:00:00Z", "vb9,COLA_A,700,TITULAR,PROMESA_PAGO,SI,2025-07-09T15:00:00Z"},
			"homologacion_voicebot.csv": {"TITULAR,PROMESA_PAGO,SI,Contacto Efectivo,1,10", "TERCERO,DEJA_MENSAJE,NO,No Contacto,0,3"},
		}},
		{AsOf: "2025-07-03", Files: map[string][]string{
			"voicebot_gestiones/b.csv": {"vb1,COLA_A,700,TITULAR,PROMESA_PAGO,SI,2025-07-02T16:00:00Z"},
		}},
		{AsOf: "2025-07-04"},
		{AsOf: "2025-07-10"},
	}},
}

func TestTransformDifferentialRegressions(t *testing.T) {
	t.Parallel()
	for name, w := range diffRegressions {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := replayWorld(t, w); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTransformDifferentialRandom is `make fuzz-transform`: random worlds for
// PULSO_FUZZ_TRANSFORM (a duration; unset, a short round in every `make test`),
// one per CPU at a time, from PULSO_FUZZ_SEED (or
// the clock); a failure prints its seed and its delivery sequence, minimised, ready
// to paste into diffRegressions.
func TestTransformDifferentialRandom(t *testing.T) {
	budget := 5 * time.Second
	if v := os.Getenv("PULSO_FUZZ_TRANSFORM"); v != "" {
		var err error
		if budget, err = time.ParseDuration(v); err != nil {
			t.Fatalf("PULSO_FUZZ_TRANSFORM %q: want a duration such as 60s: %v", v, err)
		}
	}
	start := time.Now()
	first := uint64(start.UnixNano())
	if s := os.Getenv("PULSO_FUZZ_SEED"); s != "" {
		var err error
		if first, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PULSO_FUZZ_SEED: %v", err)
		}
	}
	var next atomic.Uint64
	next.Store(first)
	var worlds, runs atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for time.Since(start) < budget && !t.Failed() {
				seed := next.Add(1) - 1
				w := genWorld(seed)
				err := replayIn(t, w)
				if err != nil {
					t.Errorf("seed %d (PULSO_FUZZ_SEED=%d): %v; minimising", seed, seed, err)
					min, minErr := minimiseWorld(t, w)
					t.Errorf("seed %d minimised (%v):\n%#v", seed, minErr, min)
					return
				}
				worlds.Add(1)
				runs.Add(int64(len(w.Runs)))
			}
		})
	}
	wg.Wait()
	t.Logf("%d worlds, %d runs replayed in %s from seed %d", worlds.Load(), runs.Load(),
		time.Since(start).Round(time.Second), first)
}

// replayIn replays w in a subtest of its own, so its databases are dropped as soon as
// it ends, and returns the difference it found.
func replayIn(t *testing.T, w world) error {
	var err error
	t.Run(fmt.Sprint("seed", w.Seed), func(t *testing.T) { err = replayWorld(t, w) })
	return err
}

// replayWorld replays w's runs into a private database (load every table, transform,
// as run-pipeline does) and after each run compares the aux and mart tables with a
// full rebuild of the same raw rows in a second database. At the end the raw tables
// must equal one load of the final landing directory. Errors describe the first
// difference.
func replayWorld(t testing.TB, w world) error {
	ctx := context.Background()
	inc, err := newReplayDB(t)
	if err != nil {
		return err
	}
	ref, err := newReplayDB(t)
	if err != nil {
		return err
	}
	land := t.TempDir()
	lines := map[string][]string{}
	for i, r := range w.Runs {
		asOf, err := etl.ParseDate(r.AsOf)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		if err := writeLanding(land, r.Files, lines); err != nil {
			return err
		}
		if err := inc.load(ctx, land, asOf); err != nil {
			return fmt.Errorf("run %d (as of %s): %w", i, r.AsOf, err)
		}
		if _, err := inc.transform(ctx, asOf, tfOpts{full: r.Full}); err != nil {
			return fmt.Errorf("run %d (as of %s): incremental transform: %w", i, r.AsOf, err)
		}
		if err := copyRaw(ctx, inc.pool, ref.pool); err != nil {
			return err
		}
		if _, err := ref.transform(ctx, asOf, tfOpts{full: true}); err != nil {
			return fmt.Errorf("run %d (as of %s): full rebuild: %w", i, r.AsOf, err)
		}
		for _, tb := range derivedTables {
			if err := sameRows(ctx, inc.pool, ref.pool, tb.name, tb.order); err != nil {
				return fmt.Errorf("run %d (as of %s, full %v): incremental ≠ full rebuild: %w", i, r.AsOf, r.Full, err)
			}
		}
	}
	// Raw: one load of everything delivered, as of the last run.
	once, err := newReplayDB(t)
	if err != nil {
		return err
	}
	asOf, err := etl.ParseDate(w.Runs[len(w.Runs)-1].AsOf)
	if err != nil {
		return err
	}
	if err := once.load(ctx, land, asOf); err != nil {
		return fmt.Errorf("single load: %w", err)
	}
	for _, tbl := range etl.MustRegistry().Tables() {
		cols := strings.Join(tbl.ColumnNames(), ", ")
		q := fmt.Sprintf("SELECT %s FROM %s", cols, tbl.RawTable())
		if err := sameRows(ctx, inc.pool, once.pool, "("+q+")", cols); err != nil {
			return fmt.Errorf("raw after the last run ≠ one load of every file: %w", err)
		}
	}
	return nil
}

// writeLanding applies a run's files to the landing directory: a table directory's
// file grows by the delivered lines (a file rewritten with more rows, as a producer
// appending to it would), a top-level file (a full table) is replaced.
func writeLanding(dir string, files map[string][]string, lines map[string][]string) error {
	for path, add := range files {
		table := tableOf(path)
		header, ok := worldHeaders[table]
		if !ok {
			return fmt.Errorf("landing file %s: unknown table %q", path, table)
		}
		if strings.Contains(path, "/") {
			lines[path] = append(lines[path], add...)
		} else {
			lines[path] = slices.Clone(add)
		}
		body := header + "\n"
		for _, l := range lines[path] {
			body += l + "\n"
		}
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// replayDB is a private migrated database driven without a testing.T, so a replay
// can fail softly while a world is being minimised.
type replayDB struct {
	pool  *pgxpool.Pool
	store *Store
	log   *slog.Logger
}

func newReplayDB(t testing.TB) (*replayDB, error) {
	pool, err := Open(context.Background(), pgtest.Fresh(t))
	if err != nil {
		return nil, err
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &replayDB{pool: pool, log: log,
		store: NewStore(pool, log, StoreOptions{BatchRows: 50000, MaxShrinkRatio: 0.5})}, nil
}

// load loads every table of dir incrementally as of asOf, as run-pipeline does.
func (d *replayDB) load(ctx context.Context, dir string, asOf etl.Date) error {
	runID, err := startTestRun(ctx, d.store, "load", nil, asOf)
	if err != nil {
		return err
	}
	l := etl.NewLoader(filesSource(dir), d.store)
	var errs []error
	for _, tbl := range etl.MustRegistry().Tables() {
		_, err := l.LoadTable(ctx, tbl, etl.LoadOptions{
			RunID: runID, Now: asOf.AddDays(1).Start(), LoadConfig: etl.LoadConfig{Lookback: map[string]int{tbl.Name: tbl.LookbackDays},
				EjecutivosIDCliente: 145, RejectTolerance: 1}, Logger: d.log, Force: true,
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	err = errors.Join(errs...)
	if ferr := d.store.FinishRun(ctx, runID, etl.StatusSuccess, 0, err); ferr != nil {
		return ferr
	}
	return err
}

// transform runs one transform as of asOf, recorded as a run.
func (d *replayDB) transform(ctx context.Context, asOf etl.Date, o tfOpts) (etl.TransformResult, error) {
	runID, err := startTestRun(ctx, d.store, "transform", nil, asOf)
	if err != nil {
		return etl.TransformResult{}, err
	}
	res, err := d.store.Transform(ctx, etl.TransformOptions{RunID: runID, Today: asOf, Full: o.full,
		Archivos: o.archivos, From: o.from, To: o.to, TransformConfig: etl.TransformConfig{PDPRecoveryDays: 7, MaxPagosDocDia: 3}, Logger: d.log})
	status := etl.StatusSuccess
	if err != nil {
		status = etl.StatusFailed
	}
	if ferr := d.store.FinishRun(ctx, runID, status, 0, err); ferr != nil {
		return res, ferr
	}
	return res, err
}

// copyRaw replaces every raw table of dst with src's rows.
func copyRaw(ctx context.Context, src, dst *pgxpool.Pool) error {
	for _, tbl := range etl.MustRegistry().Tables() {
		var buf bytes.Buffer
		sc, err := src.Acquire(ctx)
		if err != nil {
			return err
		}
		_, err = sc.Conn().PgConn().CopyTo(ctx, &buf, "COPY "+tbl.RawTable()+" TO STDOUT")
		sc.Release()
		if err != nil {
			return fmt.Errorf("copy %s out: %w", tbl.RawTable(), err)
		}
		err = pgx.BeginFunc(ctx, dst, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "TRUNCATE "+tbl.RawTable()); err != nil {
				return err
			}
			_, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, "COPY "+tbl.RawTable()+" FROM STDIN")
			return err
		})
		if err != nil {
			return fmt.Errorf("copy %s in: %w", tbl.RawTable(), err)
		}
	}
	return nil
}

// sameRows compares a table's (or a parenthesised query's) full rows, ordered by key,
// in two databases and describes the first difference.
func sameRows(ctx context.Context, a, b *pgxpool.Pool, table, order string) error {
	q := fmt.Sprintf(`SELECT r::text FROM %s r ORDER BY %s, r::text COLLATE "C"`, table, collateC(order))
	read := func(p *pgxpool.Pool) ([]string, error) {
		rows, err := p.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	got, err := read(a)
	if err != nil {
		return err
	}
	want, err := read(b)
	if err != nil {
		return err
	}
	if slices.Equal(got, want) {
		return nil
	}
	lines := strings.Split(diff(got, want), "\n")
	if len(lines) > 12 {
		lines = append(lines[:12], fmt.Sprintf("… %d more", len(lines)-12))
	}
	return fmt.Errorf("%s: %d rows (-) vs %d in the reference (+):\n  %s", table, len(got), len(want),
		strings.Join(lines, "\n  "))
}

// minimiseWorld shrinks a failing world while it still fails: whole runs first
// (their files go to the next run), then delivered lines, in halves, quarters, …
// down to single lines (ddmin). It returns the smallest failing world and its error.
func minimiseWorld(t *testing.T, w world) (world, error) {
	fails := func(c world) error {
		if len(c.Runs) == 0 {
			return nil
		}
		return replayIn(t, c)
	}
	lastErr := fails(w)
	if lastErr == nil {
		return w, errors.New("the failure did not reproduce")
	}
	for i := 0; i < len(w.Runs)-1; {
		c := dropRun(w, i)
		if err := fails(c); err != nil {
			w, lastErr = c, err
			continue
		}
		i++
	}
	type unit struct {
		run  int
		path string
		line int
	}
	var units []unit
	for i, r := range w.Runs {
		for p, ls := range r.Files {
			for j := range ls {
				units = append(units, unit{i, p, j})
			}
		}
	}
	without := func(drop map[unit]bool) world {
		c := world{Seed: w.Seed}
		for i, r := range w.Runs {
			nr := delivery{AsOf: r.AsOf, Full: r.Full, Files: map[string][]string{}}
			for p, ls := range r.Files {
				var kept []string
				for j, l := range ls {
					if !drop[unit{i, p, j}] {
						kept = append(kept, l)
					}
				}
				if len(kept) > 0 || len(ls) == 0 {
					nr.Files[p] = kept
				}
			}
			c.Runs = append(c.Runs, nr)
		}
		return c
	}
	dropped := map[unit]bool{}
	for n := 2; ; {
		live := slices.DeleteFunc(slices.Clone(units), func(u unit) bool { return dropped[u] })
		if len(live) == 0 {
			break
		}
		n = min(n, len(live))
		size := (len(live) + n - 1) / n
		reduced := false
		for s := 0; s < len(live); s += size {
			try := maps.Clone(dropped)
			for _, u := range live[s:min(s+size, len(live))] {
				try[u] = true
			}
			if err := fails(without(try)); err != nil {
				dropped, lastErr, reduced = try, err, true
			}
		}
		if !reduced {
			if size == 1 {
				break
			}
			n *= 2
		}
	}
	return without(dropped), lastErr
}

// dropRun removes run i; its files are delivered with the run after it.
func dropRun(w world, i int) world {
	c := world{Seed: w.Seed}
	for j, r := range w.Runs {
		switch {
		case j == i:
			continue
		case j == i+1:
			files := map[string][]string{}
			for p, ls := range w.Runs[i].Files {
				files[p] = slices.Clone(ls)
			}
			for p, ls := range r.Files {
				if strings.Contains(p, "/") {
					files[p] = append(files[p], ls...)
				} else {
					files[p] = ls
				}
			}
			r = delivery{AsOf: r.AsOf, Full: r.Full, Files: files}
		}
		c.Runs = append(c.Runs, r)
	}
	return c
}

// A transform whose slices break a dashboard constraint anyway (here a stored row
// corrupted by hand, the day before the rebuild starts) names the campaign and day,
// writes nothing and keeps its pending changes; `transform --archivo` repairs it.
func TestTransformConstraintFailureIsRepairable(t *testing.T) {
	t.Parallel()
	const camp = "CAMP_X_TEMPRANA_20250701"
	e := newTFEnv(t)
	land := t.TempDir()
	lines := map[string][]string{}
	deliver := func(asOf etl.Date, files map[string][]string) {
		t.Helper()
		if err := writeLanding(land, files, lines); err != nil {
			t.Fatal(err)
		}
		e.load(land, asOf)
	}
	d2, d3 := etl.NewDate(2025, time.July, 2), etl.NewDate(2025, time.July, 3)
	deliver(d2, map[string][]string{
		"calendario.csv":            {camp + ",2025-07-01,2025-07-01,,2025-07-01"},
		"asignaciones/a.csv":        {"100,500," + camp + ".txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z", "101,501," + camp + ".txt,MOVIL,2025-05-01,2025-07-01T15:00:00Z"},
		"trandeuda/a.csv":           {"100,D1,TRAN_DEUDA_0107_1,,20.00,2025-07-01T12:04:00Z", "101,D2,TRAN_DEUDA_0107_1,,50.00,2025-07-01T12:04:00Z"},
		"voicebot_gestiones/a.csv":  {"vb1,COLA_A,500,TITULAR,PROMESA_PAGO,SI,2025-07-02T15:00:00Z"},
		"homologacion_voicebot.csv": {"TITULAR,PROMESA_PAGO,SI,Contacto Efectivo,1,10"},
	})
	e.transform(d2, tfOpts{})
	// Corrupt the stored 07-02 row, keeping it valid: both accounts managed (SC).
	tag, err := e.pool.Exec(t.Context(), `UPDATE mart.dashboard_data
		SET cuentas_gestionadas = 2, cuentas_sg = 0, cuentas_cd = 0, cuentas_pdp = 0, cuentas_sc = 2
		WHERE archivo = $1 AND fecha_foto = '2025-07-02'`, camp)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("corrupting the stored row: %v (%d rows)", err, tag.RowsAffected())
	}
	// A gestión of 07-03 for the other client: the rebuild starts on 07-03 from the
	// corrupted row and counts 3 managed accounts of 2.
	deliver(d3, map[string][]string{"voicebot_gestiones/a.csv": {"vb2,COLA_A,501,TITULAR,PROMESA_PAGO,SI,2025-07-03T15:00:00Z"}})
	pending := `SELECT count(*) FROM etl.pending_change WHERE consumed_run_id IS NULL`
	before := e.int(pending)
	_, err = e.tryTransform(d3, tfOpts{})
	if err == nil {
		t.Fatal("the corrupted base row went unnoticed")
	}
	for _, want := range []string{"campaign " + camp + ", day 2025-07-03", "dashboard_data_cuentas_check",
		"pulso transform --archivo " + camp} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if after := e.int(pending); before == 0 || after != before {
		t.Errorf("pending changes %d before the failed run, %d after; want the same, > 0", before, after)
	}
	if n := e.int(`SELECT count(*) FROM mart.dashboard_data WHERE fecha_foto = '2025-07-03'`); n != 0 {
		t.Errorf("the failed run wrote %d rows of 07-03", n)
	}
	e.transform(d3, tfOpts{archivos: []string{camp}})
	repaired := e.checksums()
	e.transform(d3, tfOpts{full: true})
	eqMap(t, e.checksums(), repaired)
}

// A seed names one world: a failing seed must replay the same deliveries.
func TestGenWorldIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 7, 1 << 40} {
		if a, b := genWorld(seed).GoString(), genWorld(seed).GoString(); a != b {
			t.Fatalf("seed %d drew two different worlds", seed)
		}
	}
}
