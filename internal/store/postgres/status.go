package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Overall statuses of a Status report (api.md §4, GET /etl/status).
const (
	OverallRunning  = "running"   // the pipeline lock is held
	OverallDegraded = "degraded"  // some table's last step failed or was abandoned
	OverallNeverRun = "never_run" // no table has ever had a step
	OverallHealthy  = "healthy"
)

// StatusOptions configure ReadStatus.
type StatusOptions struct {
	// Tables are the source tables to report, in the order to report them.
	Tables []*etl.Table
	// Now is the reference instant for ages and staleness.
	Now time.Time
	// StaleAfter: a table whose last success is older (or absent) is stale.
	StaleAfter time.Duration
	// ScheduleInterval gives next_scheduled = last success + interval; 0 omits it.
	ScheduleInterval time.Duration
	// Runs is how many recent runs to list (default 10).
	Runs int
}

// Status is a read-only snapshot of the pipeline's state: what `pulso status`
// prints. The JSON field names are a stable contract for scripts.
type Status struct {
	GeneratedAt       time.Time        `json:"generated_at"`
	Status            string           `json:"status"`
	StaleAfterSeconds int64            `json:"stale_after_seconds"`
	Lock              LockStatus       `json:"lock"`
	DataVersion       DataVersion      `json:"data_version"`
	LastTransform     *TransformStatus `json:"last_transform"`
	Tables            []TableStatus    `json:"tables"`
	Runs              []RunStatus      `json:"runs"`
}

// LockStatus tells whether the pipeline lock is held and by whom.
type LockStatus struct {
	Held bool `json:"held"`
	// PID is the holding backend's pid; Holder its application_name
	// ("pulso run 42 run-pipeline"); RunID the run id parsed from it, if any.
	PID    int    `json:"pid"`
	Holder string `json:"holder"`
	RunID  *int64 `json:"run_id"`
}

// DataVersion is etl.data_version's single row.
type DataVersion struct {
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	RunID     *int64    `json:"run_id"`
	Reason    *string   `json:"reason"`
}

// TransformStatus is the most recent run that had transform steps (schema.table).
type TransformStatus struct {
	RunID      int64      `json:"run_id"`
	Status     etl.Status `json:"status"`
	Steps      int        `json:"steps"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// TableStatus is one source table's freshness and last run.
type TableStatus struct {
	Table              string     `json:"table"`
	Mode               string     `json:"mode"`
	HighWaterMark      *time.Time `json:"high_water_mark"`
	WatermarkUpdatedAt *time.Time `json:"watermark_updated_at"`
	LastSuccessAt      *time.Time `json:"last_success_at"`
	// AgeSeconds is now − last success; null when the table never loaded.
	AgeSeconds    *int64     `json:"age_seconds"`
	Stale         bool       `json:"stale"`
	NextScheduled *time.Time `json:"next_scheduled"`
	// The table's last run: the newest run with a step for it. Status folds that
	// run's steps for the table (backfill has one per chunk), worst first; the row
	// counts are their sums.
	LastRunID  *int64      `json:"last_run_id"`
	LastStatus *etl.Status `json:"last_status"`
	LastError  *string     `json:"last_error"`
	// LastSkipReason says why the last run's step read nothing, when it was skipped.
	LastSkipReason *etl.SkipReason `json:"last_skip_reason,omitempty"`
	LastStarted    *time.Time      `json:"last_started_at"`
	LastFinished   *time.Time      `json:"last_finished_at"`
	RowsRead       int64           `json:"rows_read"`
	RowsLoaded     int64           `json:"rows_loaded"`
	RowsRejected   int64           `json:"rows_rejected"`
}

// RunStatus is one etl.run row with its steps. Status is what the run is now taken
// to be: a row still `running` while nobody runs it is shown `abandoned` (the next
// writing command records that); LedgerStatus is what the row says.
type RunStatus struct {
	RunID        int64        `json:"run_id"`
	Command      string       `json:"command"`
	Args         []string     `json:"args"`
	AsOf         *string      `json:"as_of"`
	Status       etl.Status   `json:"status"`
	LedgerStatus etl.Status   `json:"ledger_status"`
	StartedAt    time.Time    `json:"started_at"`
	FinishedAt   *time.Time   `json:"finished_at"`
	ExitCode     *int         `json:"exit_code"`
	Error        *string      `json:"error"`
	Host         *string      `json:"host"`
	PID          *int         `json:"pid"`
	Steps        []StepStatus `json:"steps"`
}

// StepStatus is one etl.run_table row; Status and LedgerStatus as in RunStatus.
type StepStatus struct {
	ID            int64      `json:"id"`
	Step          string     `json:"step"`
	Status        etl.Status `json:"status"`
	LedgerStatus  etl.Status `json:"ledger_status"`
	ChunkFrom     *string    `json:"chunk_from"`
	ChunkTo       *string    `json:"chunk_to"`
	WindowFrom    *time.Time `json:"window_from"`
	WindowTo      *time.Time `json:"window_to"`
	RowsRead      int64      `json:"rows_read"`
	RowsFiltered  int64      `json:"rows_filtered"`
	RowsRejected  int64      `json:"rows_rejected"`
	RowsLoaded    int64      `json:"rows_loaded"`
	RowsInserted  int64      `json:"rows_inserted"`
	RowsUpdated   int64      `json:"rows_updated"`
	RowsUnchanged int64      `json:"rows_unchanged"`
	RowsDeleted   int64      `json:"rows_deleted"`
	HWMBefore     *time.Time `json:"hwm_before"`
	HWMAfter      *time.Time `json:"hwm_after"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	Error         *string    `json:"error"`
	// SkipReason says why a skipped step read nothing.
	SkipReason *etl.SkipReason `json:"skip_reason,omitempty"`
}

// holderRunRE reads the run id from a lock holder's application_name, as
// beginSession labels it ("pulso run 42 load").
var holderRunRE = regexp.MustCompile(`^pulso run (\d+)\b`)

// effectiveStatus is what a ledger status means given the lock: a `running` row is
// abandoned when nobody holds the lock, or when the holder is a different run
// (its beginSession is about to mark it). A holder without a run id (a migration,
// or a run between taking the lock and labelling it) keeps the row running.
func effectiveStatus(recorded etl.Status, runID int64, lock LockStatus) etl.Status {
	if recorded != etl.StatusRunning {
		return recorded
	}
	if !lock.Held || (lock.RunID != nil && *lock.RunID != runID) {
		return etl.StatusAbandoned
	}
	return etl.StatusRunning
}

// statusRank orders statuses worst first.
var statusRank = map[etl.Status]int{
	etl.StatusRunning: 0, etl.StatusFailed: 1, etl.StatusAbandoned: 2, etl.StatusCancelled: 3, etl.StatusSuccess: 4, etl.StatusSkipped: 5,
}

// WorstStatus folds the statuses of several steps (a backfill's chunks, a
// transform's tables) into one: running, failed, abandoned, cancelled, success, skipped.
func WorstStatus(statuses []etl.Status) etl.Status {
	best, rank := etl.Status(""), len(statusRank)+1
	for _, s := range statuses {
		r, ok := statusRank[s]
		if !ok {
			r = len(statusRank)
		}
		if r < rank {
			best, rank = s, r
		}
	}
	return best
}

// ReadStatus takes a consistent snapshot of the ledger, watermarks and data version
// without taking the pipeline lock, so it works while a run holds it. The lock is
// looked at before and after the snapshot; when it changed hands in between, the
// read is repeated so that `running` rows are judged against the right holder.
func ReadStatus(ctx context.Context, pool *pgxpool.Pool, opts StatusOptions) (*Status, error) {
	if opts.Runs <= 0 {
		opts.Runs = 10
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	const attempts = 3
	for i := 0; ; i++ {
		before, err := lockStatus(ctx, pool)
		if err != nil {
			return nil, err
		}
		st, err := readSnapshot(ctx, pool, opts)
		if err != nil {
			return nil, err
		}
		after, err := lockStatus(ctx, pool)
		if err != nil {
			return nil, err
		}
		if before != after && i+1 < attempts {
			continue
		}
		// A lock held at either look means a run may own the running rows.
		lock := after
		if !after.Held && before.Held {
			lock = before
		}
		st.Lock = lock.LockStatus()
		st.derive(opts)
		return st, nil
	}
}

// lockLook is a comparable view of the lock for the before/after check.
type lockLook struct {
	Held   bool
	PID    int
	Holder string
}

func (l lockLook) LockStatus() LockStatus {
	ls := LockStatus{Held: l.Held, PID: l.PID, Holder: l.Holder}
	if m := holderRunRE.FindStringSubmatch(l.Holder); m != nil {
		if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			ls.RunID = &id
		}
	}
	return ls
}

func lockStatus(ctx context.Context, pool *pgxpool.Pool) (lockLook, error) {
	h, held, err := IsHeld(ctx, pool)
	if err != nil {
		return lockLook{}, err
	}
	return lockLook{Held: held, PID: h.PID, Holder: h.Holder}, nil
}

// readSnapshot reads everything in one repeatable-read transaction.
func readSnapshot(ctx context.Context, pool *pgxpool.Pool, opts StatusOptions) (*Status, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	st := &Status{GeneratedAt: opts.Now.UTC(), StaleAfterSeconds: int64(opts.StaleAfter / time.Second)}
	if err := tx.QueryRow(ctx, `SELECT version, updated_at, run_id, reason FROM etl.data_version`).Scan(
		&st.DataVersion.Version, &st.DataVersion.UpdatedAt, &st.DataVersion.RunID, &st.DataVersion.Reason); err != nil &&
		!errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("status: data version: %w", err)
	}
	if st.Runs, err = recentRuns(ctx, tx, opts.Runs); err != nil {
		return nil, err
	}
	if st.Tables, err = tableStatuses(ctx, tx, opts.Tables); err != nil {
		return nil, err
	}
	if st.LastTransform, err = lastTransform(ctx, tx); err != nil {
		return nil, err
	}
	return st, tx.Commit(ctx)
}

func recentRuns(ctx context.Context, tx pgx.Tx, limit int) ([]RunStatus, error) {
	rows, err := tx.Query(ctx, `
		SELECT run_id, command, args, as_of::text, started_at, finished_at, status, exit_code, error, host, pid
		FROM etl.run ORDER BY run_id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("status: runs: %w", err)
	}
	runs := []RunStatus{}
	var r RunStatus
	var args []byte
	_, err = pgx.ForEachRow(rows, []any{&r.RunID, &r.Command, &args, &r.AsOf, &r.StartedAt, &r.FinishedAt,
		&r.LedgerStatus, &r.ExitCode, &r.Error, &r.Host, &r.PID}, func() error {
		run := r
		run.Args = []string{}
		if err := json.Unmarshal(args, &run.Args); err != nil {
			run.Args = []string{string(args)}
		}
		run.Steps = []StepStatus{}
		runs = append(runs, run)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("status: runs: %w", err)
	}
	if len(runs) == 0 {
		return runs, nil
	}
	ids := make([]int64, len(runs))
	byID := make(map[int64]*RunStatus, len(runs))
	for i := range runs {
		ids[i] = runs[i].RunID
		byID[runs[i].RunID] = &runs[i]
	}
	rows, err = tx.Query(ctx, `
		SELECT run_id, id, step, status, chunk_from::text, chunk_to::text, window_from, window_to,
		       rows_read, rows_filtered, rows_rejected, rows_loaded, rows_inserted, rows_updated, rows_unchanged,
		       rows_deleted, hwm_before, hwm_after, started_at, finished_at, error, skip_reason
		FROM etl.run_table WHERE run_id = ANY($1) ORDER BY run_id, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("status: steps: %w", err)
	}
	var s StepStatus
	var runID int64
	_, err = pgx.ForEachRow(rows, []any{&runID, &s.ID, &s.Step, &s.LedgerStatus, &s.ChunkFrom, &s.ChunkTo,
		&s.WindowFrom, &s.WindowTo, &s.RowsRead, &s.RowsFiltered, &s.RowsRejected, &s.RowsLoaded, &s.RowsInserted,
		&s.RowsUpdated, &s.RowsUnchanged, &s.RowsDeleted, &s.HWMBefore, &s.HWMAfter, &s.StartedAt, &s.FinishedAt,
		&s.Error, &s.SkipReason}, func() error {
		r := byID[runID]
		r.Steps = append(r.Steps, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("status: steps: %w", err)
	}
	return runs, nil
}

// tableStatuses reads, per table: its watermark, its last success and its last run
// (the newest run with a step for it) with that run's steps folded.
func tableStatuses(ctx context.Context, tx pgx.Tx, tables []*etl.Table) ([]TableStatus, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	rows, err := tx.Query(ctx, `
		SELECT t.name, w.high_water_mark, w.updated_at, s.at,
		       l.run_id, r.statuses, r.errors, r.skip_reason, r.started_at, r.finished_at,
		       COALESCE(r.rows_read, 0), COALESCE(r.rows_loaded, 0), COALESCE(r.rows_rejected, 0)
		FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord)
		LEFT JOIN etl.watermark w ON w.table_name = t.name
		LEFT JOIN LATERAL (
		    SELECT max(finished_at) AS at FROM etl.run_table
		    WHERE step = t.name AND `+checkedCurrent+`) s ON true
		LEFT JOIN LATERAL (
		    SELECT run_id FROM etl.run_table WHERE step = t.name ORDER BY id DESC LIMIT 1) l ON true
		LEFT JOIN LATERAL (
		    SELECT array_agg(status ORDER BY id) AS statuses,
		           array_agg(error ORDER BY id DESC) FILTER (WHERE error IS NOT NULL) AS errors,
		           (array_agg(skip_reason ORDER BY id DESC) FILTER (WHERE skip_reason IS NOT NULL))[1] AS skip_reason,
		           min(started_at) AS started_at,
		           CASE WHEN bool_and(finished_at IS NOT NULL) THEN max(finished_at) END AS finished_at,
		           sum(rows_read)::bigint AS rows_read, sum(rows_loaded)::bigint AS rows_loaded,
		           sum(rows_rejected)::bigint AS rows_rejected
		    FROM etl.run_table WHERE run_id = l.run_id AND step = t.name) r ON l.run_id IS NOT NULL
		ORDER BY t.ord`, names, etl.StatusSuccess, etl.StatusSkipped, etl.SkipUnchangedFiles)
	if err != nil {
		return nil, fmt.Errorf("status: tables: %w", err)
	}
	out := make([]TableStatus, 0, len(tables))
	var ts TableStatus
	var statuses []etl.Status
	var errs []string
	_, err = pgx.ForEachRow(rows, []any{&ts.Table, &ts.HighWaterMark, &ts.WatermarkUpdatedAt, &ts.LastSuccessAt,
		&ts.LastRunID, &statuses, &errs, &ts.LastSkipReason, &ts.LastStarted, &ts.LastFinished, &ts.RowsRead, &ts.RowsLoaded,
		&ts.RowsRejected}, func() error {
		t := ts
		t.Mode = tables[len(out)].Mode.String()
		if len(statuses) > 0 {
			w := WorstStatus(statuses)
			t.LastStatus = &w
		}
		if len(errs) > 0 {
			e := errs[0]
			t.LastError = &e
		}
		out = append(out, t)
		statuses, errs = nil, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("status: tables: %w", err)
	}
	return out, nil
}

// lastTransform folds the transform steps (named schema.table) of the newest run
// that has any.
func lastTransform(ctx context.Context, tx pgx.Tx) (*TransformStatus, error) {
	var ts TransformStatus
	var statuses []etl.Status
	err := tx.QueryRow(ctx, `
		SELECT run_id, array_agg(status), count(*), min(started_at),
		       CASE WHEN bool_and(finished_at IS NOT NULL) THEN max(finished_at) END
		FROM etl.run_table
		WHERE run_id = (SELECT run_id FROM etl.run_table WHERE step LIKE '%.%' ORDER BY id DESC LIMIT 1)
		  AND step LIKE '%.%'
		GROUP BY run_id`).Scan(&ts.RunID, &statuses, &ts.Steps, &ts.StartedAt, &ts.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("status: last transform: %w", err)
	}
	ts.Status = WorstStatus(statuses)
	return &ts, nil
}

// derive applies the lock to `running` rows and computes ages, staleness and the
// overall status.
func (st *Status) derive(opts StatusOptions) {
	runStatus := map[int64]etl.Status{}
	for i := range st.Runs {
		r := &st.Runs[i]
		r.Status = effectiveStatus(r.LedgerStatus, r.RunID, st.Lock)
		runStatus[r.RunID] = r.Status
		for j := range r.Steps {
			s := &r.Steps[j]
			s.Status = effectiveStatus(s.LedgerStatus, r.RunID, st.Lock)
		}
	}
	if st.LastTransform != nil {
		st.LastTransform.Status = effectiveStatus(st.LastTransform.Status, st.LastTransform.RunID, st.Lock)
	}
	degraded, anyRun := false, false
	for i := range st.Tables {
		t := &st.Tables[i]
		if t.LastStatus != nil && t.LastRunID != nil {
			s := effectiveStatus(*t.LastStatus, *t.LastRunID, st.Lock)
			t.LastStatus = &s
			anyRun = true
			if s == etl.StatusFailed || s == etl.StatusAbandoned {
				degraded = true
			}
		}
		t.Stale = true
		if t.LastSuccessAt != nil {
			age := int64(opts.Now.Sub(*t.LastSuccessAt) / time.Second)
			t.AgeSeconds = &age
			t.Stale = opts.Now.Sub(*t.LastSuccessAt) > opts.StaleAfter
			if opts.ScheduleInterval > 0 {
				next := t.LastSuccessAt.Add(opts.ScheduleInterval)
				t.NextScheduled = &next
			}
		}
	}
	switch {
	case st.Lock.Held:
		st.Status = OverallRunning
	case degraded:
		st.Status = OverallDegraded
	case !anyRun:
		st.Status = OverallNeverRun
	default:
		st.Status = OverallHealthy
	}
}

// RejectFilter selects etl.reject rows; zero values select everything.
type RejectFilter struct {
	RunID  int64
	Table  string
	Reason string
	// Limit caps the rows returned (newest first); 0 = no cap.
	Limit int
}

// Reject is one etl.reject row.
type Reject struct {
	ID         int64           `json:"id"`
	RunID      int64           `json:"run_id"` // the run that first stored it
	Table      string          `json:"table"`
	Source     string          `json:"source"`
	Line       *int64          `json:"line"`
	Column     *string         `json:"column"`
	Reason     string          `json:"reason"`
	Detail     *string         `json:"detail"`
	Record     json.RawMessage `json:"record"`
	RejectedAt time.Time       `json:"rejected_at"`
}

// ListRejects returns the rejects matching f, newest first, and how many match in
// all (the list may be capped by f.Limit).
func ListRejects(ctx context.Context, pool *pgxpool.Pool, f RejectFilter) ([]Reject, int64, error) {
	args := []any{nullInt64(f.RunID), nullString(f.Table), nullString(f.Reason)}
	const where = ` WHERE ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM etl.reject_run l
		      WHERE l.run_id = $1 AND l.table_name = etl.reject.table_name AND l.reject_id = etl.reject.id))
		  AND ($2::text IS NULL OR table_name = $2)
		  AND ($3::text IS NULL OR reason = $3)`
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, fmt.Errorf("rejects: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM etl.reject`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("rejects: count: %w", err)
	}
	var limit any
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := tx.Query(ctx, `
		SELECT id, run_id, table_name, source, line_no, column_name, reason, detail, record, rejected_at
		FROM etl.reject`+where+`
		ORDER BY rejected_at DESC, id DESC LIMIT $4`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("rejects: %w", err)
	}
	out := []Reject{}
	var r Reject
	var rec []byte
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.RunID, &r.Table, &r.Source, &r.Line, &r.Column, &r.Reason,
		&r.Detail, &rec, &r.RejectedAt}, func() error {
		x := r
		x.Record = json.RawMessage(append([]byte(nil), rec...))
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("rejects: %w", err)
	}
	return out, total, tx.Commit(ctx)
}
