package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ErrShrinkGuard refuses a full refresh that would empty or shrink its table too far.
var ErrShrinkGuard = errors.New("full refresh would shrink the table (use --force)")

// Watermark returns a table's high-water mark.
func (s *Store) Watermark(ctx context.Context, table string) (time.Time, bool, error) {
	var hwm *time.Time
	err := s.pool.QueryRow(ctx, `SELECT high_water_mark FROM etl.watermark WHERE table_name = $1`, table).Scan(&hwm)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && hwm == nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("watermark %s: %w", table, err)
	}
	return *hwm, true, nil
}

// LandedFiles returns the landing files a dir-source load committed for a table.
func (s *Store) LandedFiles(ctx context.Context, table string) (map[string]etl.LandedFile, error) {
	rows, err := s.pool.Query(ctx, `SELECT path, size, sha256, max_incremental, read_until
		FROM etl.landing_file WHERE table_name = $1`, table)
	if err != nil {
		return nil, fmt.Errorf("landing files %s: %w", table, err)
	}
	out := map[string]etl.LandedFile{}
	var f etl.LandedFile
	var maxIncr, readUntil *time.Time
	_, err = pgx.ForEachRow(rows, []any{&f.Name, &f.Size, &f.SHA256, &maxIncr, &readUntil}, func() error {
		f.MaxIncr, f.ReadUntil = time.Time{}, time.Time{}
		if maxIncr != nil {
			f.MaxIncr = *maxIncr
		}
		if readUntil != nil {
			f.ReadUntil = *readUntil
		}
		out[f.Name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("landing files %s: %w", table, err)
	}
	return out, nil
}

// BeginStep writes the step's ledger row and opens its load transaction. An
// incremental table that is empty takes the direct path: COPY straight into the raw
// table, since nothing can conflict (a duplicate key within the run aborts it with
// etl.ErrRetryStaged). Everything else goes through a session temp staging table and
// one set-based merge.
func (s *Store) BeginStep(ctx context.Context, st etl.Step) (etl.StepWriter, error) {
	id, err := s.startStep(ctx, st, etl.StatusRunning, "", "")
	if err != nil {
		return nil, err
	}
	w := &stepWriter{s: s, st: st, t: st.Table, stepID: id, batchRows: s.opts.BatchRows,
		q: newTableSQL(st.Table)}
	if err := w.begin(ctx); err != nil {
		w.Abort(ctx, err)
		return nil, fmt.Errorf("begin %s: %w", st.Table.Name, err)
	}
	return w, nil
}

// stepWriter streams one table-window into its transaction.
type stepWriter struct {
	s      *Store
	st     etl.Step
	t      *etl.Table
	q      tableSQL
	stepID int64

	conn   *pgxpool.Conn
	tx     pgx.Tx
	direct bool

	copy      *copyStream
	copyCols  []string        // quoted COPY columns, set by the first row
	bin       []binaryEncoder // their binary encoders (nil: text format)
	batch     int
	batchRows int
	copied    int64

	rejects  bytes.Buffer
	rejW     *bufio.Writer
	rejCount int

	// changes collects pending-change keys on the direct path, where every row is new.
	changes map[[3]string]struct{}
	// changeCol are the row indexes of the change's archivo, day and document (-1:
	// none), changeTS which of them are timestamps (their Lima day is the change).
	changeCol [3]int
	changeTS  [3]bool
	// dayOfHour caches limaDay by the timestamp's text up to the hour.
	dayOfHour map[string]string
}

// maxTrackedChanges bounds the in-memory change set; beyond it the changes are read
// back from the table with one DISTINCT.
const maxTrackedChanges = 100_000

func (w *stepWriter) begin(ctx context.Context) error {
	conn, err := w.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	w.conn = conn
	if w.tx, err = conn.Begin(ctx); err != nil {
		return err
	}
	// The dedup aggregate and the merge join run over the whole window at once; with
	// the default 4 MB they spill to disk and the merge path triples in time.
	if _, err := w.tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
		return err
	}
	if _, err := w.tx.Exec(ctx, `CREATE TEMP TABLE pulso_rej (source text, line_no bigint, column_name text,
		reason text, detail text, record jsonb) ON COMMIT DROP`); err != nil {
		return err
	}
	if w.t.Mode == etl.ModeIncremental && !w.st.NoDirect {
		var empty bool
		if err := w.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+w.q.raw+`)`).Scan(&empty); err != nil {
			return err
		}
		w.direct = empty
	}
	if w.direct {
		w.changes = map[[3]string]struct{}{}
		for i, name := range []string{w.t.Change.Archivo, w.t.Change.Day, w.t.Change.Document} {
			w.changeCol[i] = -1
			if name != "" {
				w.changeCol[i] = w.t.Index(name)
				w.changeTS[i] = w.t.TypeOf(w.changeCol[i]) == etl.TypeTimestamp
			}
		}
		return nil
	}
	_, err = w.tx.Exec(ctx, `CREATE TEMP TABLE pulso_stg (LIKE `+w.q.raw+` INCLUDING DEFAULTS) ON COMMIT DROP;
		ALTER TABLE pulso_stg ADD COLUMN etl_line bigint`)
	return err
}

// copyTarget is the table a step's rows are copied into and its columns: the raw
// table itself on the direct path, the staging table (with source lines) otherwise.
func (w *stepWriter) copyTarget() (table string, cols []string) {
	cols = append(w.t.ColumnNames(), "etl_run_id", "etl_source")
	if w.direct {
		return w.q.raw, cols
	}
	return "pulso_stg", append(cols, "etl_line")
}

func (w *stepWriter) Row(ctx context.Context, r *etl.Row) error {
	if w.copy == nil {
		table, cols := w.copyTarget()
		if w.copyCols == nil {
			bin, err := binaryEncoders(ctx, w.tx, table, cols)
			if err != nil {
				return err
			}
			w.bin, w.copyCols = bin, make([]string, len(cols))
			for i, c := range cols {
				w.copyCols[i] = pgx.Identifier{c}.Sanitize()
			}
		}
		w.copy = startCopy(ctx, w.conn.Conn().PgConn(), table, w.copyCols, w.bin)
	}
	c := w.copy
	n := len(r.Values)
	if w.direct {
		c.startRow(n + 2)
	} else {
		c.startRow(n + 3)
	}
	for i, v := range r.Values {
		if err := c.field(i, v, r.Nulls[i], false); err != nil {
			return err
		}
	}
	if err := c.int(n, w.st.RunID, false); err != nil {
		return err
	}
	if err := c.field(n+1, r.Source, false, w.direct); err != nil {
		return err
	}
	if !w.direct {
		if err := c.int(n+2, r.Line, true); err != nil {
			return err
		}
	}
	if w.changes != nil {
		w.trackChange(r)
	}
	w.batch++
	if w.batch < w.batchRows {
		return nil
	}
	w.batch = 0
	if w.rejCount > 0 {
		return w.endBatch(ctx)
	}
	return ctx.Err()
}

func (w *stepWriter) trackChange(r *etl.Row) {
	var k [3]string
	for i, j := range w.changeCol {
		switch {
		case j < 0:
		case w.changeTS[i]:
			k[i] = w.limaDay(r.Values[j])
		default:
			k[i] = r.Values[j]
		}
	}
	w.changes[k] = struct{}{}
	if len(w.changes) > maxTrackedChanges {
		w.changes = nil // read back with DISTINCT at commit
	}
}

// limaDay is the Lima date of a canonical UTC timestamp. Lima is a whole number of
// hours from UTC, so the date follows from the text up to the hour, which repeats on
// most rows: the answer is kept per hour.
func (w *stepWriter) limaDay(ts string) string {
	if len(ts) < 13 {
		return ts
	}
	hour := ts[:13]
	if d, ok := w.dayOfHour[hour]; ok {
		return d
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts // not canonical: recorded as is, as a change day nothing matches
	}
	d := etl.LimaDate(t).String()
	if w.dayOfHour == nil {
		w.dayOfHour = map[string]string{}
	}
	w.dayOfHour[hour] = d
	return d
}

// endBatch completes the running COPY, then flushes the batch's rejects: the
// connection carries one COPY at a time. Cancellation is honoured here.
func (w *stepWriter) endBatch(ctx context.Context) error {
	if w.copy != nil {
		n, err := w.copy.finish()
		w.copy = nil
		w.batch = 0
		if err != nil {
			var pgErr *pgconn.PgError
			if w.direct && errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return etl.ErrRetryStaged
			}
			return fmt.Errorf("copy: %w", err)
		}
		w.copied += n
	}
	if err := w.flushRejects(ctx); err != nil {
		return err
	}
	return ctx.Err()
}

func (w *stepWriter) Reject(ctx context.Context, r *etl.Reject) error {
	if w.rejW == nil {
		w.rejW = bufio.NewWriter(&w.rejects)
	}
	b := w.rejW
	writeEscaped(b, r.Source)
	b.WriteByte('\t')
	if r.Line > 0 {
		b.WriteString(strconv.FormatInt(r.Line, 10))
	} else {
		b.WriteString(`\N`)
	}
	for _, v := range []string{r.Column, r.Reason, r.Detail} {
		b.WriteByte('\t')
		if v == "" {
			b.WriteString(`\N`)
		} else {
			writeEscaped(b, strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", ""), "\uFFFD"))
		}
	}
	b.WriteByte('\t')
	writeEscaped(b, jsonbSafe(r.Record))
	b.WriteByte('\n')
	w.rejCount++
	// Bound memory when rows are mostly rejects: close the batch early to flush them.
	if w.rejects.Len() > 4<<20 {
		return w.endBatch(ctx)
	}
	return nil
}

// jsonbSafe makes a record storable as jsonb, which refuses \u0000 and invalid UTF-8.
func jsonbSafe(rec []byte) string {
	if len(rec) == 0 {
		return "{}"
	}
	s := strings.ToValidUTF8(string(rec), "\uFFFD")
	return strings.ReplaceAll(s, `\u0000`, `\uFFFD`)
}

func (w *stepWriter) flushRejects(ctx context.Context) error {
	if w.rejCount == 0 {
		return nil
	}
	if err := w.rejW.Flush(); err != nil {
		return err
	}
	_, err := w.conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(w.rejects.Bytes()),
		"COPY pulso_rej (source, line_no, column_name, reason, detail, record) FROM STDIN")
	w.rejects.Reset()
	w.rejCount = 0
	if err != nil {
		return fmt.Errorf("copy rejects: %w", err)
	}
	return nil
}

func (w *stepWriter) Commit(ctx context.Context, c etl.ReadCounts) (res etl.StepResult, err error) {
	defer func() {
		if err != nil {
			w.Abort(ctx, err)
		}
	}()
	if err := w.endBatch(ctx); err != nil {
		return res, err
	}
	phase := w.phaseTimer()
	res = etl.StepResult{Table: w.t.Name, Status: etl.StatusSuccess, Window: w.st.Window,
		Read: c.Read, Filtered: c.Filtered, Rejected: c.Rejected, HWMBefore: w.st.HWMBefore}
	tx := w.tx
	if w.direct {
		res.Loaded, res.Inserted = w.copied, w.copied
		if err := w.recordDirectChanges(ctx); err != nil {
			return res, err
		}
	} else {
		dups, err := w.rejectDuplicates(ctx)
		if err != nil {
			return res, err
		}
		phase("duplicate keys")
		res.Rejected += dups
		if err := w.merge(ctx, &res); err != nil {
			return res, err
		}
		phase("merge")
	}
	if res.Read != res.Filtered+res.Rejected+res.Loaded {
		return res, fmt.Errorf("ledger identity broken: read %d ≠ filtered %d + rejected %d + loaded %d",
			res.Read, res.Filtered, res.Rejected, res.Loaded)
	}
	// A reject already stored by an earlier run keeps its row; this run is linked to
	// it as to the new ones (the INSERT's rows are invisible to the join, hence both).
	if err := tx.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO etl.reject (run_id, table_name, source, line_no, column_name, reason, detail, record)
			SELECT $1, $2, source, line_no, column_name, reason, detail, record FROM pulso_rej
			ON CONFLICT (table_name, source, dedup_key, reason) DO NOTHING
			RETURNING id, reason),
		seen AS (
			SELECT id FROM ins
			UNION
			SELECT r.id FROM pulso_rej p JOIN etl.reject r
			  ON r.table_name = $2 AND r.source = p.source AND r.reason = p.reason
			 AND r.dedup_key = COALESCE(p.line_no::text, md5(p.record::text))),
		link AS (
			INSERT INTO etl.reject_run (run_id, table_name, reject_id)
			SELECT $1, $2, id FROM seen ON CONFLICT DO NOTHING)
		SELECT count(*) FROM ins WHERE reason NOT LIKE 'filtered%'`, w.st.RunID, w.t.Name).Scan(&res.NewRejects); err != nil {
		return res, fmt.Errorf("record rejects: %w", err)
	}
	phase("rejects")
	if w.st.RecordLanding {
		if err := w.recordLanding(ctx, c); err != nil {
			return res, err
		}
	}
	res.HWMAfter = w.st.HWMBefore
	if w.t.Mode == etl.ModeIncremental && !c.MaxIncr.IsZero() {
		if err := tx.QueryRow(ctx, `
			INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id, updated_at)
			VALUES ($1, $2, $3, now())
			ON CONFLICT (table_name) DO UPDATE
			SET high_water_mark = GREATEST(etl.watermark.high_water_mark, EXCLUDED.high_water_mark),
			    last_run_id = EXCLUDED.last_run_id, updated_at = now()
			RETURNING high_water_mark`, w.t.Name, c.MaxIncr, w.st.RunID).Scan(&res.HWMAfter); err != nil {
			return res, fmt.Errorf("watermark: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `
		UPDATE etl.run_table SET status = $11, finished_at = clock_timestamp(),
		       rows_read = $2, rows_filtered = $3, rows_rejected = $4, rows_loaded = $5,
		       rows_inserted = $6, rows_updated = $7, rows_unchanged = $8, rows_deleted = $9, hwm_after = $10
		WHERE id = $1`, w.stepID, res.Read, res.Filtered, res.Rejected, res.Loaded,
		res.Inserted, res.Updated, res.Unchanged, res.Deleted, timeArg(res.HWMAfter), etl.StatusSuccess); err != nil {
		return res, fmt.Errorf("ledger: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	phase("commit")
	w.release(ctx)
	return res, nil
}

// phaseTimer logs, at debug level, how long each commit phase took: where a slow
// load spends its time.
func (w *stepWriter) phaseTimer() func(string) {
	last := time.Now()
	return func(name string) {
		w.s.log.Debug("load phase", "table", w.t.Name, "phase", name, "ms", time.Since(last).Milliseconds())
		last = time.Now()
	}
}

// rejectDuplicates keeps, per upsert key, the row with the greatest incremental value
// and then the greatest row text; the others become duplicate_key rejects.
func (w *stepWriter) rejectDuplicates(ctx context.Context) (int64, error) {
	tag, err := w.tx.Exec(ctx, w.q.dedup)
	if err != nil {
		return 0, fmt.Errorf("duplicate keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// merge applies staging to the raw table, touching only new or changed rows, and
// records their pending changes (old and new values).
func (w *stepWriter) merge(ctx context.Context, res *etl.StepResult) error {
	tx := w.tx
	if _, err := tx.Exec(ctx, `ANALYZE pulso_stg`); err != nil {
		return err
	}
	var before int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM pulso_stg`).Scan(&res.Loaded); err != nil {
		return err
	}
	if w.t.Mode == etl.ModeFull {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+w.q.raw).Scan(&before); err != nil {
			return err
		}
		if err := w.shrinkGuard(before, res.Loaded); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, w.q.mergeFull, w.st.RunID).Scan(&res.Inserted, &res.Updated, &res.Deleted); err != nil {
			return fmt.Errorf("replace: %w", err)
		}
		if res.Inserted+res.Updated+res.Deleted > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO etl.pending_change (table_name, run_id) VALUES ($1, $2)`,
				w.t.Name, w.st.RunID); err != nil {
				return err
			}
		}
	} else {
		if err := tx.QueryRow(ctx, w.q.mergeIncremental, w.st.RunID, w.t.Name).Scan(&res.Inserted, &res.Updated); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	res.Unchanged = res.Loaded - res.Inserted - res.Updated
	return nil
}

func (w *stepWriter) shrinkGuard(before, after int64) error {
	if w.st.Force || before == 0 {
		return nil
	}
	if after == 0 {
		return fmt.Errorf("%w: %s has %d rows and the source has none", ErrShrinkGuard, w.t.Name, before)
	}
	if float64(before-after) > w.s.opts.MaxShrinkRatio*float64(before) {
		return fmt.Errorf("%w: %s would go from %d to %d rows (more than %.0f%% fewer)",
			ErrShrinkGuard, w.t.Name, before, after, w.s.opts.MaxShrinkRatio*100)
	}
	return nil
}

func (w *stepWriter) recordDirectChanges(ctx context.Context) error {
	if w.changes == nil {
		_, err := w.tx.Exec(ctx, w.q.changesFromRaw, w.st.RunID, w.t.Name)
		return err
	}
	if len(w.changes) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(w.changes))
	for k := range w.changes {
		rows = append(rows, []any{w.t.Name, nullString(k[0]), nullString(k[1]), nullString(k[2]), w.st.RunID})
	}
	_, err := w.tx.CopyFrom(ctx, pgx.Identifier{"etl", "pending_change"},
		[]string{"table_name", "archivo", "day", "nro_documento", "run_id"}, pgx.CopyFromRows(rows))
	return err
}

// recordLanding records the step's parts with the greatest incremental value each
// held and the end of the window they were read with: a part holding rows beyond that
// end is read again by a later run (etl.LandedFile.Complete).
func (w *stepWriter) recordLanding(ctx context.Context, c etl.ReadCounts) error {
	batch := &pgx.Batch{}
	for _, p := range c.Parts {
		if p.SHA256 == "" {
			return fmt.Errorf("landing file %s: read without its sha256", p.Name)
		}
		batch.Queue(`
			INSERT INTO etl.landing_file (table_name, path, size, sha256, loaded_run_id, loaded_at,
			                              max_incremental, read_until)
			VALUES ($1, $2, $3, $4, $5, now(), $6, $7)
			ON CONFLICT (table_name, path) DO UPDATE
			SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, loaded_run_id = EXCLUDED.loaded_run_id,
			    loaded_at = now(), max_incremental = EXCLUDED.max_incremental, read_until = EXCLUDED.read_until`,
			w.t.Name, p.Name, p.Size, p.SHA256, w.st.RunID, timeArg(c.PartMaxIncr[p.Name]), timeArg(w.st.Window.To))
	}
	if err := w.tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("landing files: %w", err)
	}
	return nil
}

// Abort rolls the step back and records why; nothing of it stays visible.
func (w *stepWriter) Abort(ctx context.Context, cause error) {
	if w.copy != nil {
		w.copy.abort(cause)
		w.copy = nil
	}
	if w.tx != nil {
		_ = w.tx.Rollback(context.WithoutCancel(ctx))
	}
	w.release(ctx)
	switch {
	case errors.Is(cause, etl.ErrRetryStaged):
		w.s.deleteStep(ctx, w.stepID)
	case errors.Is(cause, context.Canceled) || ctx.Err() != nil:
		w.s.failStep(ctx, w.stepID, etl.StatusCancelled, cause)
	default:
		w.s.failStep(ctx, w.stepID, etl.StatusFailed, cause)
	}
}

func (w *stepWriter) release(ctx context.Context) {
	w.tx = nil
	if w.conn != nil {
		// A connection whose COPY was cut may be in any state: drop it, don't reuse it.
		if w.conn.Conn().PgConn().IsBusy() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = w.conn.Conn().Close(cctx) // closing a broken connection: its error changes nothing
			cancel()
		}
		w.conn.Release()
		w.conn = nil
	}
}
