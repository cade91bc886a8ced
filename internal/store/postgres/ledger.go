package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pulso-cobranzas/pulso/internal/etl"
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

// StartRun records a run as running under the id drawn by ReserveRunID. Call it with
// the pipeline lock held, after MarkAbandoned.
func (s *Store) StartRun(ctx context.Context, r etl.RunRecord) error {
	argsJSON, err := json.Marshal(r.Args)
	if err != nil {
		return err
	}
	var params any
	if r.Params != nil {
		if params, err = json.Marshal(r.Params); err != nil {
			return fmt.Errorf("run %d parameters: %w", r.ID, err)
		}
	}
	host, _ := os.Hostname()
	_, err = s.pool.Exec(ctx, `
		INSERT INTO etl.run (run_id, command, args, params, resume_of, as_of, status, host, pid)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.Command, argsJSON, params, nullInt64(r.ResumeOf), dateArg(r.AsOf), etl.StatusRunning, host, os.Getpid())
	if err != nil {
		return fmt.Errorf("start run %d: %w", r.ID, err)
	}
	return nil
}

// FinishRun closes a run with its outcome. It uses its own context so a cancelled run
// still records that it was cancelled.
//
// Steps still marked running end with the run (failed or cancelled, with its error).
// When the server is unreachable (restarting), the end is written again on fresh
// connections for up to finishRetry, so the ledger keeps the real cause instead of
// the next run calling the rows abandoned.
func (s *Store) FinishRun(ctx context.Context, runID int64, status etl.Status, exitCode int, runErr error) error {
	ctx = context.WithoutCancel(ctx)
	var errText any
	stepStatus := etl.StatusFailed
	if runErr != nil {
		errText = runErr.Error()
	}
	if status == etl.StatusCancelled {
		stepStatus = etl.StatusCancelled
	}
	deadline := time.Now().Add(finishRetry)
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `
				UPDATE etl.run_table SET status = $2, finished_at = clock_timestamp(),
				       error = COALESCE(error, $3, 'the run ended before the step')
				WHERE run_id = $1 AND status = $4`, runID, stepStatus, errText, etl.StatusRunning); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `
				UPDATE etl.run SET status = $2, exit_code = $3, error = $4, finished_at = clock_timestamp()
				WHERE run_id = $1`, runID, status, exitCode, errText)
			return err
		})
		if err == nil {
			return nil
		}
		if !ConnectionLost(err) || time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("finish run %d: %w", runID, err)
		}
		s.log.Warn("the database is unreachable: recording the run's end again", "run_id", runID,
			"retry_in", wait.String(), "error", err)
		time.Sleep(wait)
	}
}

// finishRetry bounds how long a run's end waits for the database to come back.
const finishRetry = 2 * time.Minute

// ConnectionLost reports whether err means the database went away (a restart, a
// dropped connection, a server not accepting connections yet), as opposed to an
// error about the data or the statement.
func ConnectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57P01..57P03: shutdown, crash, not accepting yet.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// ConnectionLost is the store's verdict on an error it returned (etl.RawStore).
func (s *Store) ConnectionLost(err error) bool { return ConnectionLost(err) }

// MarkAbandoned turns runs and steps left `running` by a killed process into
// `abandoned`. Only the lock holder may call it: nobody else can be running.
func (s *Store) MarkAbandoned(ctx context.Context) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `
		UPDATE etl.run_table SET status = $1, finished_at = clock_timestamp(),
		       error = COALESCE(error, 'process ended without finishing the step')
		WHERE status = $2`, etl.StatusAbandoned, etl.StatusRunning); err != nil {
		return 0, fmt.Errorf("mark abandoned steps: %w", err)
	}
	tag, err := tx.Exec(ctx, `
		UPDATE etl.run SET status = $1, finished_at = clock_timestamp(),
		       error = COALESCE(error, 'process ended without finishing the run')
		WHERE status = $2`, etl.StatusAbandoned, etl.StatusRunning)
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
func (s *Store) startStep(ctx context.Context, st etl.Step, status etl.Status, skip etl.SkipReason, stepErr string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", st.Table.Name, err)
	}
	var id int64
	err := s.pool.QueryRow(context.WithoutCancel(ctx), `
		INSERT INTO etl.run_table (run_id, step, status, skip_reason, chunk_from, chunk_to, window_from, window_to,
		                           hwm_before, error, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $3 = $11 THEN NULL ELSE clock_timestamp() END)
		RETURNING id`,
		st.RunID, st.Table.Name, status, nullString(string(skip)), dateArg(st.ChunkFrom), dateArg(st.ChunkTo),
		timeArg(st.Window.From), timeArg(st.Window.To), timeArg(st.HWMBefore), nullString(stepErr),
		etl.StatusRunning).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", st.Table.Name, err)
	}
	return id, nil
}

// SkipStep records a step with nothing to read (no files, nothing changed).
func (s *Store) SkipStep(ctx context.Context, st etl.Step, reason etl.SkipReason) error {
	_, err := s.startStep(ctx, st, etl.StatusSkipped, reason, "")
	return err
}

// FailStep records a step that failed before its transaction began (or cancelled,
// when ctx is done).
func (s *Store) FailStep(ctx context.Context, st etl.Step, cause error) error {
	status := etl.StatusFailed
	if errors.Is(cause, context.Canceled) || ctx.Err() != nil {
		status = etl.StatusCancelled
	}
	_, err := s.startStep(context.WithoutCancel(ctx), st, status, "", cause.Error())
	return err
}

// failStep records a step's failure after its transaction rolled back.
func (s *Store) failStep(ctx context.Context, id int64, status etl.Status, cause error) {
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

// checkedCurrent matches the etl.run_table steps that found their table current: a
// success, or a dir source skipping unchanged files. Its parameters are $2..$4:
// etl.StatusSuccess, etl.StatusSkipped, etl.SkipUnchangedFiles.
const checkedCurrent = `(status = $2 OR (status = $3 AND skip_reason = $4))`

// LastSuccess returns, per step name, when its last successful step finished. A dir
// source skipping unchanged files checked the table and found it current: that counts.
func (s *Store) LastSuccess(ctx context.Context, steps []string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT step, max(finished_at) FROM etl.run_table
		WHERE `+checkedCurrent+` AND step = ANY($1)
		GROUP BY step`, steps, etl.StatusSuccess, etl.StatusSkipped, etl.SkipUnchangedFiles)
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
