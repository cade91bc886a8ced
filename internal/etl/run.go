package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrInvalidOptions marks a run refused for its options once the ledger could be
// read (an --as-of behind a watermark, a resume of a run that cannot be resumed): the
// caller's usage error, exit 2.
var ErrInvalidOptions = errors.New("invalid options")

// RunRecord is an etl.run row as a run starts.
type RunRecord struct {
	ID      int64
	Command string
	// Args are the flags as typed, for people reading the ledger; Params the typed
	// parameters a later command restores (backfill --resume), nil for none.
	Args     []string
	Params   any
	ResumeOf int64 // the run this one resumes (0: none)
	AsOf     Date
}

// Lock is the held pipeline lock.
type Lock interface {
	Release(ctx context.Context) error
}

// RunStore is what a run's lifecycle needs from the database (store/postgres).
type RunStore interface {
	RawStore
	// ReserveRunID draws the run id before the lock, so a refused command can name it.
	ReserveRunID(ctx context.Context) (int64, error)
	// LockPipeline takes the pipeline lock under owner's name; held by another
	// session, it fails at once (or waits while ctx lives, with wait).
	LockPipeline(ctx context.Context, owner string, wait bool) (Lock, error)
	// MarkAbandoned records runs and steps a killed process left running.
	MarkAbandoned(ctx context.Context) (int64, error)
	StartRun(ctx context.Context, r RunRecord) error
	FinishRun(ctx context.Context, runID int64, status Status, exitCode int, runErr error) error
	Transform(ctx context.Context, opts TransformOptions) (TransformResult, error)
	servedReplacer
}

// Clock fixes a run's "today": the Lima date at its start, or the configured as-of.
type Clock struct {
	AsOf Date
}

// Today is the Lima date at start, or AsOf.
func (c Clock) Today(start time.Time) Date {
	if !c.AsOf.IsZero() {
		return c.AsOf
	}
	return LimaDate(start)
}

// Now is the extraction upper bound: start, or AsOf + 1 day at 00:00 Lima.
func (c Clock) Now(start time.Time) time.Time {
	if !c.AsOf.IsZero() {
		return c.AsOf.AddDays(1).Start()
	}
	return start
}

// Runner gives every writing command the same lifecycle: run id, pipeline lock,
// abandoned runs recorded, a ledger row opened and closed with the outcome.
type Runner struct {
	Store RunStore
	Log   *slog.Logger
	Clock Clock
	// Wait waits for the pipeline lock instead of failing at once.
	Wait bool
	// ExitCode maps a run's error to the process exit code the ledger records.
	ExitCode func(ctx context.Context, err error) int
}

// Session is one command's hold on the pipeline: the lock and its etl.run row.
type Session struct {
	RunID int64
	Start time.Time
	Log   *slog.Logger
	r     *Runner
	lock  Lock
}

// Begin takes the lock and opens the run's ledger row.
func (r *Runner) Begin(ctx context.Context, rec RunRecord) (*Session, error) {
	s := &Session{r: r, Start: time.Now()}
	id, err := r.Store.ReserveRunID(ctx)
	if err != nil {
		return nil, err
	}
	if s.lock, err = r.Store.LockPipeline(ctx, fmt.Sprintf("pulso run %d %s", id, rec.Command), r.Wait); err != nil {
		return nil, err
	}
	if n, err := r.Store.MarkAbandoned(ctx); err != nil {
		s.release(ctx)
		return nil, err
	} else if n > 0 {
		r.Log.Warn("earlier runs ended without finishing; marked abandoned", "runs", n)
	}
	rec.ID, rec.AsOf = id, r.Clock.AsOf
	if err := r.Store.StartRun(ctx, rec); err != nil {
		s.release(ctx)
		return nil, err
	}
	s.RunID, s.Log = id, r.Log.With("run_id", id)
	return s, nil
}

// Today and Now are the run's clock at its start.
func (s *Session) Today() Date    { return s.r.Clock.Today(s.Start) }
func (s *Session) Now() time.Time { return s.r.Clock.Now(s.Start) }

// Finish records the run's outcome and releases the lock.
func (s *Session) Finish(ctx context.Context, runErr error) {
	code := s.r.ExitCode(ctx, runErr)
	if err := s.r.Store.FinishRun(ctx, s.RunID, RunOutcome(ctx, runErr), code, runErr); err != nil {
		s.Log.Error("cannot record the run's end", "error", err)
	}
	s.release(ctx)
}

func (s *Session) release(ctx context.Context) {
	if err := s.lock.Release(context.WithoutCancel(ctx)); err != nil {
		s.r.Log.Warn("pipeline lock release", "error", err)
	}
}

// RunOutcome is the ledger status of a run that ended with err: rejects above
// tolerance still committed everything, so they count as a success.
func RunOutcome(ctx context.Context, err error) Status {
	switch {
	case err == nil || OnlyRejects(err):
		return StatusSuccess
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return StatusCancelled
	}
	return StatusFailed
}

// OnlyRejects reports whether every cause of err is rejects above tolerance.
func OnlyRejects(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !OnlyRejects(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ErrRejectsAboveTolerance)
}

// Do runs fn as one ledger run: for commands whose work is a single store call
// (prune, watermark reset) but that hold the lock and leave a ledger row like any run.
func (r *Runner) Do(ctx context.Context, rec RunRecord, fn func(s *Session) error) (err error) {
	s, err := r.Begin(ctx, rec)
	if err != nil {
		return err
	}
	defer func() { s.Finish(ctx, err) }()
	return fn(s)
}
