package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The reads and writes behind the API's ETL routes (api.md §4) that ReadStatus does
// not cover: step listings, the watermark table, the lock holder, a triggered run's
// ledger row and the manual data version bump.

// PipelineLockStatus tells whether the pipeline lock is held and by whom, with the
// holder's run id parsed from its application_name ("pulso run 42 run-pipeline").
func PipelineLockStatus(ctx context.Context, pool *pgxpool.Pool) (LockStatus, error) {
	l, err := lockStatus(ctx, pool)
	if err != nil {
		return LockStatus{}, err
	}
	return l.LockStatus(), nil
}

// HolderRunID is the run id in a lock holder's application_name ("pulso run 42
// load"), nil when it names none.
func HolderRunID(holder string) *int64 {
	return lockLook{Held: true, Holder: holder}.LockStatus().RunID
}

// RunStep is one etl.run_table row with its run id.
type RunStep struct {
	RunID int64 `json:"run_id"`
	StepStatus
}

// RecentSteps lists the newest etl.run_table rows (by id), of one step (a source
// table's name, or a transform step "schema.table") or of every step when step is
// "". A row still `running` is judged against lock as ReadStatus judges it:
// `abandoned` when no run, or another run, holds the lock.
func RecentSteps(ctx context.Context, pool *pgxpool.Pool, step string, limit int, lock LockStatus) ([]RunStep, error) {
	if limit <= 0 {
		limit = 10
	}
	rows, err := pool.Query(ctx, `
		SELECT run_id, id, step, status, chunk_from::text, chunk_to::text, window_from, window_to,
		       rows_read, rows_filtered, rows_rejected, rows_loaded, rows_inserted, rows_updated, rows_unchanged,
		       rows_deleted, hwm_before, hwm_after, started_at, finished_at, error, skip_reason
		FROM etl.run_table
		WHERE ($1::text IS NULL OR step = $1)
		ORDER BY id DESC LIMIT $2`, nullString(step), limit)
	if err != nil {
		return nil, fmt.Errorf("recent steps: %w", err)
	}
	out := []RunStep{}
	var r RunStep
	s := &r.StepStatus
	_, err = pgx.ForEachRow(rows, []any{&r.RunID, &s.ID, &s.Step, &s.LedgerStatus, &s.ChunkFrom, &s.ChunkTo,
		&s.WindowFrom, &s.WindowTo, &s.RowsRead, &s.RowsFiltered, &s.RowsRejected, &s.RowsLoaded, &s.RowsInserted,
		&s.RowsUpdated, &s.RowsUnchanged, &s.RowsDeleted, &s.HWMBefore, &s.HWMAfter, &s.StartedAt, &s.FinishedAt,
		&s.Error, &s.SkipReason}, func() error {
		x := r
		x.Status = effectiveStatus(x.LedgerStatus, x.RunID, lock)
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recent steps: %w", err)
	}
	return out, nil
}

// Watermark is one etl.watermark row.
type Watermark struct {
	Table         string     `json:"table_name"`
	HighWaterMark *time.Time `json:"high_water_mark"`
	LastRunID     *int64     `json:"last_run_id"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Watermarks reads every stored watermark by table name (incremental tables only;
// a table never loaded, or whose watermark was removed, has none).
func Watermarks(ctx context.Context, pool *pgxpool.Pool) (map[string]Watermark, error) {
	rows, err := pool.Query(ctx, `SELECT table_name, high_water_mark, last_run_id, updated_at FROM etl.watermark`)
	if err != nil {
		return nil, fmt.Errorf("watermarks: %w", err)
	}
	out := map[string]Watermark{}
	var w Watermark
	_, err = pgx.ForEachRow(rows, []any{&w.Table, &w.HighWaterMark, &w.LastRunID, &w.UpdatedAt}, func() error {
		out[w.Table] = w
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("watermarks: %w", err)
	}
	return out, nil
}

// LastRunID is the greatest run id recorded so far (0 with an empty ledger). A run
// reserved later has a greater id: ids come from one sequence.
func LastRunID(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var id int64
	if err := pool.QueryRow(ctx, `SELECT COALESCE(max(run_id), 0) FROM etl.run`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last run id: %w", err)
	}
	return id, nil
}

// ProcessRun is the ledger row a process opened.
type ProcessRun struct {
	RunID     int64
	StartedAt time.Time
}

// RunOfProcess finds the run that process pid on host opened after run id after
// (StartRun records both; it runs once the process holds the pipeline lock). ok is
// false while there is none.
func RunOfProcess(ctx context.Context, pool *pgxpool.Pool, host string, pid int, after int64) (ProcessRun, bool, error) {
	var r ProcessRun
	err := pool.QueryRow(ctx, `
		SELECT run_id, started_at FROM etl.run
		WHERE run_id > $1 AND pid = $2 AND host IS NOT DISTINCT FROM $3
		ORDER BY run_id LIMIT 1`, after, pid, host).Scan(&r.RunID, &r.StartedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("run of process %d: %w", pid, err)
	}
	return r, true, nil
}

// BumpDataVersion increments etl.data_version with reason and NOTIFYs
// pulso_data_version with the new version in the same transaction, as the
// transform's last statements do: every cached entry and ETag is superseded. It
// changes no data and takes no lock.
func BumpDataVersion(ctx context.Context, pool *pgxpool.Pool, reason string) (int64, error) {
	bump, err := transformSQL("910_etl_data_version_bump")
	if err != nil {
		return 0, err
	}
	notify, err := transformSQL("911_etl_data_version_notify")
	if err != nil {
		return 0, err
	}
	var v int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, bump, nil, reason).Scan(&v); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, notify, v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bump data version: %w", err)
	}
	return v, nil
}
