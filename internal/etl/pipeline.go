package etl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// LoadTables loads tables keeping the registry's dependency order, up to parallel at
// once. A failed table lets the others load: the joined error carries every cause
// (rejects above tolerance included) and results come back in the tables' order,
// one per table (status failed or cancelled when it did not complete).
func (l *Loader) LoadTables(ctx context.Context, tables []*Table, parallel int, opts LoadOptions) ([]StepResult, error) {
	if parallel < 1 {
		parallel = 1
	}
	done := make(map[string]chan struct{}, len(tables))
	for _, t := range tables {
		done[t.Name] = make(chan struct{})
	}
	results := make([]StepResult, len(tables))
	errs := make([]error, len(tables))
	var lost atomic.Bool // the database went away: start no further table
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[t.Name])
			// Wait for the selected tables this one depends on, then for a slot.
			for _, dep := range t.DependsOn {
				if ch, ok := done[dep]; ok {
					select {
					case <-ch:
					case <-ctx.Done():
					}
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				results[i], errs[i] = StepResult{Table: t.Name, Status: StatusCancelled}, ctx.Err()
				return
			}
			defer func() { <-sem }()
			if lost.Load() {
				results[i], errs[i] = StepResult{Table: t.Name, Status: StatusCancelled}, fmt.Errorf("load %s: %w", t.Name, ErrNotStarted)
				return
			}
			res, err := l.LoadTable(ctx, t, opts)
			if err != nil && l.store.ConnectionLost(err) {
				lost.Store(true)
			}
			if res.Table == "" {
				res.Table = t.Name
			}
			if err != nil && !errors.Is(err, ErrRejectsAboveTolerance) {
				res.Status = StatusFailed
				if ctx.Err() != nil {
					res.Status = StatusCancelled
				}
			}
			results[i], errs[i] = res, err
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// ErrNotStarted marks a table a run did not start because the database went away
// while an earlier table loaded.
var ErrNotStarted = errors.New("not started: the database connection was lost")

// Failed reports whether some table failed outright (rejects above tolerance still
// count as loaded).
func Failed(results []StepResult) bool {
	for _, r := range results {
		if r.Status == StatusFailed || r.Status == StatusCancelled {
			return true
		}
	}
	return false
}

// Display is progress shown to a person (bars on a terminal, log lines otherwise);
// Wait flushes it before results print.
type Display interface {
	Progress
	Wait()
}

// Report is what a run did, for the command to print.
type Report struct {
	RunID int64
	// ResumeID is the run `backfill --resume` takes: the run itself, or the one it resumed.
	ResumeID  int64
	Loads     []StepResult
	Transform *TransformResult
}

// RunLabeler is implemented by sources that tag their jobs with the run (BigQuery
// labels).
type RunLabeler interface {
	SetRun(command, runID string) error
}

func labelRun(src any, command string, runID int64) {
	if l, ok := src.(RunLabeler); ok {
		_ = l.SetRun(command, fmt.Sprint(runID)) // the values are digits and a command name: always valid labels
	}
}

// loadShown runs LoadTables under a fresh display (none when display is nil).
func loadShown(ctx context.Context, l *Loader, tables []*Table, parallel int, lo LoadOptions,
	display func() Display) ([]StepResult, error) {
	if display == nil {
		return l.LoadTables(ctx, tables, parallel, lo)
	}
	d := display()
	lo.Progress = d
	res, err := l.LoadTables(ctx, tables, parallel, lo)
	d.Wait()
	return res, err
}

func (s *Session) loadOptions(cfg LoadConfig) LoadOptions {
	return LoadOptions{RunID: s.RunID, Now: s.Now(), LoadConfig: cfg, Logger: s.Log}
}

func (s *Session) transformOptions(cfg TransformConfig, full bool) TransformOptions {
	return TransformOptions{RunID: s.RunID, Today: s.Today(), Full: full, TransformConfig: cfg, Logger: s.Log}
}

// LoadRunOptions configure a load run (`pulso load`, `demo --load`).
type LoadRunOptions struct {
	Tables  []*Table
	Full    bool // ignore watermarks and the landing-file ledger
	Force   bool // let a full refresh empty or shrink its table
	Args    []string
	Load    LoadConfig
	Display func() Display
}

// Load loads the tables into the raw layer, one at a time, and transforms nothing.
func (r *Runner) Load(ctx context.Context, src Source, opts LoadRunOptions) (rep Report, err error) {
	s, err := r.Begin(ctx, RunRecord{Command: "load", Args: opts.Args})
	if err != nil {
		return rep, err
	}
	rep.RunID = s.RunID
	defer func() { s.Finish(ctx, err) }()
	labelRun(src, "load", s.RunID)
	lo := s.loadOptions(opts.Load)
	lo.Full, lo.Force = opts.Full, opts.Force
	rep.Loads, err = loadShown(ctx, NewLoader(src, r.Store), opts.Tables, 1, lo, opts.Display)
	return rep, err
}

// TransformRunOptions configure a transform run (`pulso transform`).
type TransformRunOptions struct {
	Archivos    []string
	From, To    Date
	FullRebuild bool
	Args        []string
	Transform   TransformConfig
	// Remote, when set, rebuilds the served tables in full there (transform.engine
	// bigquery); slices and pending changes do not apply.
	Remote ServedBuilder
}

// Transform rebuilds the pending changes plus what the options add.
func (r *Runner) Transform(ctx context.Context, opts TransformRunOptions) (rep Report, err error) {
	s, err := r.Begin(ctx, RunRecord{Command: "transform", Args: opts.Args})
	if err != nil {
		return rep, err
	}
	rep.RunID = s.RunID
	defer func() { s.Finish(ctx, err) }()
	if opts.Remote != nil {
		if len(opts.Archivos) > 0 || !opts.From.IsZero() {
			return rep, fmt.Errorf("%w: the bigquery engine rebuilds every campaign: drop --archivo, --from and --to", ErrInvalidOptions)
		}
		_, tr, err := s.buildServed(ctx, opts.Remote, opts.Transform, "transform")
		if err != nil {
			return rep, err
		}
		rep.Transform = &tr
		return rep, nil
	}
	to := s.transformOptions(opts.Transform, opts.FullRebuild)
	to.Archivos, to.From, to.To = opts.Archivos, opts.From, opts.To
	tr, err := r.Store.Transform(ctx, to)
	if errors.Is(err, ErrUnknownArchivo) {
		return rep, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if err != nil {
		return rep, err
	}
	rep.Transform = &tr
	return rep, nil
}

// PipelineOptions configure run-pipeline.
type PipelineOptions struct {
	Tables []*Table
	// SkipRaw loads nothing and only transforms pending changes.
	SkipRaw     bool
	FullRebuild bool
	// Parallel independent tables load at once.
	Parallel int
	// ContinueOnError transforms even when a table failed.
	ContinueOnError bool
	Args            []string
	Load            LoadConfig
	Transform       TransformConfig
	Display         func() Display
	// Finished, when set, runs with the run's outcome before the lock is released
	// (batch metrics read the ledger's last successes there).
	Finished func(ctx context.Context, rep Report, err error)
	// Remote, when set, replaces the load and the transform: the served tables are
	// rebuilt where the source lives (transform.engine bigquery) and copied in.
	Remote ServedBuilder
}

// Pipeline loads the tables in dependency order, then transforms what changed. A
// failed table lets the others load but skips the transform unless ContinueOnError.
func (r *Runner) Pipeline(ctx context.Context, src Source, opts PipelineOptions) (rep Report, err error) {
	s, err := r.Begin(ctx, RunRecord{Command: "run-pipeline", Args: opts.Args})
	if err != nil {
		return rep, err
	}
	rep.RunID = s.RunID
	defer func() {
		if opts.Finished != nil {
			opts.Finished(ctx, rep, err)
		}
		s.Finish(ctx, err)
	}()
	if opts.Remote != nil {
		loads, tr, err := s.buildServed(ctx, opts.Remote, opts.Transform, "run-pipeline")
		rep.Loads = loads
		if err != nil {
			return rep, err
		}
		rep.Transform = &tr
		return rep, nil
	}
	labelRun(src, "run-pipeline", s.RunID)
	if !opts.FullRebuild {
		if err := s.refuseBackwardsAsOf(ctx, opts.Tables); err != nil {
			return rep, err
		}
	}
	var loadErr error
	if !opts.SkipRaw {
		rep.Loads, loadErr = loadShown(ctx, NewLoader(src, r.Store), opts.Tables, opts.Parallel, s.loadOptions(opts.Load), opts.Display)
		if ctx.Err() != nil {
			return rep, loadErr
		}
		if Failed(rep.Loads) && !opts.ContinueOnError {
			s.Log.Error("a table failed: transform skipped (rerun, or use --continue-on-error)")
			return rep, loadErr
		}
	}
	tr, err := r.Store.Transform(ctx, s.transformOptions(opts.Transform, opts.FullRebuild))
	if err != nil {
		return rep, errors.Join(loadErr, err)
	}
	rep.Transform = &tr
	return rep, loadErr
}

// refuseBackwardsAsOf stops an as-of that puts "now" before a table's watermark: an
// incremental run would read an inverted window (domain.md §3).
func (s *Session) refuseBackwardsAsOf(ctx context.Context, tables []*Table) error {
	if s.r.Clock.AsOf.IsZero() {
		return nil
	}
	now := s.Now()
	for _, t := range tables {
		if t.Mode != ModeIncremental {
			continue
		}
		hwm, ok, err := s.r.Store.Watermark(ctx, t.Name)
		if err != nil {
			return err
		}
		if ok && hwm.After(now) {
			return fmt.Errorf("%w: --as-of %s puts now (%s) before the %s watermark %s: use --full-rebuild, or `pulso watermark reset %s`",
				ErrInvalidOptions, s.r.Clock.AsOf, now.UTC().Format(time.RFC3339), t.Name, hwm.UTC().Format(time.RFC3339), t.Name)
		}
	}
	return nil
}
