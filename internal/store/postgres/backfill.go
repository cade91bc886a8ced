package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ChunkKey names one (table, chunk) of a backfill.
func ChunkKey(table string, chunkFrom etl.Date) string { return table + "@" + chunkFrom.String() }

// BackfillState returns the flags a backfill run was started with and the chunks that
// succeeded in it or in any run that resumed it.
func (s *Store) BackfillState(ctx context.Context, runID int64) (args []string, succeeded map[string]bool, err error) {
	var command string
	var raw []byte
	err = s.pool.QueryRow(ctx, `SELECT command, args FROM etl.run WHERE run_id = $1`, runID).Scan(&command, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("run %d: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("run %d: %w", runID, err)
	}
	if command != "backfill" {
		return nil, nil, fmt.Errorf("run %d is a %s, not a backfill", runID, command)
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, nil, fmt.Errorf("run %d args: %w", runID, err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT t.step, t.chunk_from FROM etl.run_table t
		WHERE t.status = 'success' AND t.chunk_from IS NOT NULL
		  AND (t.run_id = $1 OR t.run_id IN (
		        SELECT run_id FROM etl.run WHERE command = 'backfill' AND args ? $2))`,
		runID, "--resume="+strconv.FormatInt(runID, 10))
	if err != nil {
		return nil, nil, fmt.Errorf("run %d chunks: %w", runID, err)
	}
	succeeded = map[string]bool{}
	var step string
	var from pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&step, &from}, func() error {
		succeeded[ChunkKey(step, etl.NewDate(from.Time.Year(), from.Time.Month(), from.Time.Day()))] = true
		return nil
	})
	return args, succeeded, err
}
