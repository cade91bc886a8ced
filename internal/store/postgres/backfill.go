package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// BackfillState returns the parameters a backfill run was started with and the
// chunks that succeeded in it or in any run that resumed it.
func (s *Store) BackfillState(ctx context.Context, runID int64) (etl.BackfillState, error) {
	var st etl.BackfillState
	var command string
	var raw []byte
	var resumeOf *int64
	err := s.pool.QueryRow(ctx, `
		SELECT command, params, resume_of,
		       EXISTS (SELECT 1 FROM etl.run WHERE (run_id = $1 OR resume_of = $1) AND status = $2)
		FROM etl.run WHERE run_id = $1`, runID, etl.StatusSuccess).Scan(&command, &raw, &resumeOf, &st.Finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("%w: run %d: %w", etl.ErrInvalidOptions, runID, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("run %d: %w", runID, err)
	}
	switch {
	case command != "backfill":
		return st, fmt.Errorf("%w: run %d is a %s, not a backfill", etl.ErrInvalidOptions, runID, command)
	case resumeOf != nil:
		return st, fmt.Errorf("%w: run %d resumed run %d: resume %[3]d instead", etl.ErrInvalidOptions, runID, *resumeOf)
	case raw == nil:
		return st, fmt.Errorf("%w: run %d recorded no parameters to resume from", etl.ErrInvalidOptions, runID)
	}
	if err := json.Unmarshal(raw, &st.Params); err != nil {
		return st, fmt.Errorf("run %d parameters: %w", runID, err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT t.step, t.chunk_from FROM etl.run_table t
		WHERE t.status = $2 AND t.chunk_from IS NOT NULL
		  AND (t.run_id = $1 OR t.run_id IN (SELECT run_id FROM etl.run WHERE resume_of = $1))`,
		runID, etl.StatusSuccess)
	if err != nil {
		return st, fmt.Errorf("run %d chunks: %w", runID, err)
	}
	st.Succeeded = map[etl.ChunkKey]bool{}
	var step string
	var from pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&step, &from}, func() error {
		st.Succeeded[etl.NewChunkKey(step, fromPG(from))] = true
		return nil
	})
	return st, err
}
