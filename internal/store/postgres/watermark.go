package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ErrNoWatermark refuses a watermark reset on a full-refresh table, which has none.
var ErrNoWatermark = errors.New("full-refresh table has no watermark")

// WatermarkReset is the outcome of ResetWatermark, shaped like the API's answer
// (api.md §4, POST /etl/watermarks/{table}/reset). A nil HighWaterMark means removed:
// the next run reads from tables.<t>.initial_from.
type WatermarkReset struct {
	Table         string     `json:"table_name"`
	Previous      *time.Time `json:"previous"`
	HighWaterMark *time.Time `json:"high_water_mark"`
}

// ResetWatermark moves an incremental table's high-water mark to *to, back or
// forward, or removes it when to is nil. It is the one explicit way to move a
// watermark back (domain.md §3); callers hold the pipeline lock. runID, when not 0,
// is recorded as the watermark's last run.
func (s *Store) ResetWatermark(ctx context.Context, t *etl.Table, to *time.Time, runID int64) (WatermarkReset, error) {
	res := WatermarkReset{Table: t.Name}
	if t.Mode != etl.ModeIncremental {
		return res, fmt.Errorf("watermark reset %s: %w", t.Name, ErrNoWatermark)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("watermark reset %s: %w", t.Name, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	err = tx.QueryRow(ctx, `SELECT high_water_mark FROM etl.watermark WHERE table_name = $1 FOR UPDATE`,
		t.Name).Scan(&res.Previous)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("watermark reset %s: read: %w", t.Name, err)
	}
	if to == nil {
		_, err = tx.Exec(ctx, `DELETE FROM etl.watermark WHERE table_name = $1`, t.Name)
	} else {
		v := to.UTC()
		res.HighWaterMark = &v
		_, err = tx.Exec(ctx, `
			INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id, updated_at)
			VALUES ($1, $2, $3, now())
			ON CONFLICT (table_name) DO UPDATE
			SET high_water_mark = EXCLUDED.high_water_mark, last_run_id = EXCLUDED.last_run_id, updated_at = now()`,
			t.Name, v, nullInt64(runID))
	}
	if err != nil {
		return res, fmt.Errorf("watermark reset %s: write: %w", t.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("watermark reset %s: commit: %w", t.Name, err)
	}
	return res, nil
}

// LandedFileCount is how many landing files a dir-source load recorded for a table:
// those files are skipped by the next load unless they change or `load --full`.
func (s *Store) LandedFileCount(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM etl.landing_file WHERE table_name = $1`, table).Scan(&n); err != nil {
		return 0, fmt.Errorf("landing files %s: %w", table, err)
	}
	return n, nil
}
