package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// PendingSummary is what the unconsumed etl.pending_change rows of one table say the
// next transform will rebuild.
type PendingSummary struct {
	Table    string   `json:"table"`
	Changes  int64    `json:"changes"`
	DayFrom  *string  `json:"day_from"`
	DayTo    *string  `json:"day_to"`
	Days     int64    `json:"days"`
	Archivos []string `json:"archivos,omitempty"`
}

// PendingChanges summarises the changes waiting for the transform, per table.
func (s *Store) PendingChanges(ctx context.Context) ([]PendingSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT table_name, count(*), min(day), max(day), count(DISTINCT day),
		       COALESCE(array_agg(DISTINCT archivo ORDER BY archivo) FILTER (WHERE archivo IS NOT NULL), '{}')
		FROM etl.pending_change WHERE consumed_run_id IS NULL
		GROUP BY table_name ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("pending changes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingSummary, error) {
		var p PendingSummary
		var from, to pgtype.Date
		if err := r.Scan(&p.Table, &p.Changes, &from, &to, &p.Days, &p.Archivos); err != nil {
			return p, err
		}
		p.DayFrom, p.DayTo = dateText(from), dateText(to)
		return p, nil
	})
}

func dateText(d pgtype.Date) *string {
	if !d.Valid {
		return nil
	}
	s := d.Time.Format("2006-01-02")
	return &s
}
