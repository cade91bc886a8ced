package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Run statuses of etl.run and etl.run_table.
const (
	StatusRunning   = "running"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	StatusCancelled = "cancelled"
	StatusAbandoned = "abandoned"
)

// ReserveRunID draws the next run id before the lock is taken, so the lock's holder
// name can carry it from the first instant (a refused run's id is simply never used).
func (s *Store) ReserveRunID(ctx context.Context) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('etl.run', 'run_id'))`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("reserve run id: %w", err)
	}
	return id, nil
}

// StartRun records a run as running and returns its id. Call it with the pipeline lock
// held, after MarkAbandoned.
func (s *Store) StartRun(ctx context.Context, command string, args []string, asOf etl.Date) (int64, error) {
	return s.StartReservedRun(ctx, 0, command, args, asOf)
}

// StartReservedRun is StartRun with an id from ReserveRunID (0 draws a new one).
func (s *Store) StartReservedRun(ctx context.Context, id int64, command string, args []string, asOf etl.Date) (int64, error) {
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	var asOfArg any
	if !asOf.IsZero() {
		asOfArg = asOf.String()
	}
	err = s.pool.QueryRow(ctx, `
		INSERT INTO etl.run (run_id, command, args, as_of, status, host, pid)
		OVERRIDING SYSTEM VALUE
		VALUES (COALESCE($1, nextval(pg_get_serial_sequence('etl.run', 'run_id'))), $2, $3, $4, 'running', $5, $6)
		RETURNING run_id`,
		nullInt(id), command, argsJSON, asOfArg, host, os.Getpid()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	return id, nil
}

// FinishRun closes a run with its outcome. It uses its own context so a cancelled run
// still records that it was cancelled.
func (s *Store) FinishRun(ctx context.Context, runID int64, status string, exitCode int, runErr error) error {
	var errText any
	if runErr != nil {
		errText = runErr.Error()
	}
	_, err := s.pool.Exec(context.WithoutCancel(ctx), `
		UPDATE etl.run SET status = $2, exit_code = $3, error = $4, finished_at = clock_timestamp()
		WHERE run_id = $1`, runID, status, exitCode, errText)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, err)
	}
	return nil
}

// MarkAbandoned turns runs and steps left `running` by a killed process into
// `abandoned`. Only the lock holder may call it: nobody else can be running.
func (s *Store) MarkAbandoned(ctx context.Context) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `
		UPDATE etl.run_table SET status = 'abandoned', finished_at = clock_timestamp(),
		       error = COALESCE(error, 'process ended without finishing the step')
		WHERE status = 'running'`); err != nil {
		return 0, fmt.Errorf("mark abandoned steps: %w", err)
	}
	tag, err := tx.Exec(ctx, `
		UPDATE etl.run SET status = 'abandoned', finished_at = clock_timestamp(),
		       error = COALESCE(error, 'process ended without finishing the run')
		WHERE status = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("mark abandoned runs: %w", err)
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}

// startStep inserts the step's ledger row as running, in its own transaction, so a
// killed run leaves a trace that the next run turns into `abandoned`.
//
// The row is written whole or not at all as far as the caller knows: a cancellation
// arriving while the INSERT is in flight could otherwise leave a committed `running`
// row whose id the caller never received, and so never closes.
func (s *Store) startStep(ctx context.Context, st etl.Step, status, stepErr string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", st.Table.Name, err)
	}
	var id int64
	err := s.pool.QueryRow(context.WithoutCancel(ctx), `
		INSERT INTO etl.run_table (run_id, step, status, chunk_from, chunk_to, window_from, window_to, hwm_before, error,
		                           finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $3 = 'running' THEN NULL ELSE clock_timestamp() END)
		RETURNING id`,
		st.RunID, st.Table.Name, status, dateArg(st.ChunkFrom), dateArg(st.ChunkTo),
		timeArg(st.Window.From), timeArg(st.Window.To), timeArg(st.HWMBefore), nullString(stepErr)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", st.Table.Name, err)
	}
	return id, nil
}

// SkipStep records a step with nothing to read (no files, nothing changed).
func (s *Store) SkipStep(ctx context.Context, st etl.Step, reason string) error {
	_, err := s.startStep(ctx, st, StatusSkipped, reason)
	return err
}

// FailStep records a step that failed before its transaction began (or cancelled,
// when ctx is done).
func (s *Store) FailStep(ctx context.Context, st etl.Step, cause error) error {
	status := StatusFailed
	if errors.Is(cause, context.Canceled) || ctx.Err() != nil {
		status = StatusCancelled
	}
	_, err := s.startStep(context.WithoutCancel(ctx), st, status, cause.Error())
	return err
}

// failStep records a step's failure after its transaction rolled back.
func (s *Store) failStep(ctx context.Context, id int64, status string, cause error) {
	_, err := s.pool.Exec(context.WithoutCancel(ctx), `
		UPDATE etl.run_table SET status = $2, error = $3, finished_at = clock_timestamp() WHERE id = $1`,
		id, status, cause.Error())
	if err != nil {
		s.log.Error("ledger: cannot record failed step", "step_id", id, "error", err)
	}
}

// deleteStep removes a step row that is about to be retried under the same run.
func (s *Store) deleteStep(ctx context.Context, id int64) {
	if _, err := s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM etl.run_table WHERE id = $1`, id); err != nil {
		s.log.Error("ledger: cannot remove retried step", "step_id", id, "error", err)
	}
}

// LastSuccess returns, per step name, when its last successful step finished. A dir
// source skipping unchanged files checked the table and found it current: that counts.
func (s *Store) LastSuccess(ctx context.Context, steps []string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT step, max(finished_at) FROM etl.run_table
		WHERE (status = 'success' OR (status = 'skipped' AND error = 'unchanged_files')) AND step = ANY($1)
		GROUP BY step`, steps)
	if err != nil {
		return nil, fmt.Errorf("last successes: %w", err)
	}
	out := map[string]time.Time{}
	var step string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&step, &at}, func() error {
		out[step] = at
		return nil
	})
	return out, err
}
