package etl

import (
	"context"
	"errors"
	"fmt"
)

// BackfillParams are what a backfill reads: recorded as typed JSON in its ledger row,
// so --resume cuts exactly the same chunks from the same source with the same today.
type BackfillParams struct {
	// From and To are inclusive Lima days.
	From      Date     `json:"from"`
	To        Date     `json:"to"`
	Tables    []string `json:"tables,omitempty"` // empty: every incremental table
	ChunkDays int      `json:"chunk_days"`
	// SkipTransform leaves the transform to the next run.
	SkipTransform bool `json:"skip_transform"`
	// AsOf, Source and Dir are the global options the run was started with.
	AsOf   Date       `json:"as_of"`
	Source SourceKind `json:"source"`
	Dir    string     `json:"dir,omitempty"`
}

// Validate checks the parameters before any work.
func (p *BackfillParams) Validate(reg *Registry) error {
	if p.From.IsZero() || p.To.IsZero() {
		return errors.New("--from and --to are required (inclusive Lima days, YYYY-MM-DD)")
	}
	if p.To.Before(p.From) {
		return fmt.Errorf("--from %s is after --to %s", p.From, p.To)
	}
	if p.ChunkDays < 1 || p.ChunkDays > 366 {
		return fmt.Errorf("--chunk-days %d: want 1..366", p.ChunkDays)
	}
	tables, err := reg.Select(p.Tables)
	if err != nil {
		return err
	}
	if len(p.Tables) > 0 {
		for _, t := range tables {
			if t.Mode == ModeFull {
				return fmt.Errorf("table %s is replaced in full by every run-pipeline; it has no days to backfill", t.Name)
			}
		}
	}
	return nil
}

// Chunk is one slice of a backfill, both days inclusive.
type Chunk struct{ From, To Date }

// Chunks cuts [From, To] into ChunkDays-long slices, the last one shorter.
func (p *BackfillParams) Chunks() []Chunk {
	var out []Chunk
	for d := p.From; !d.After(p.To); d = d.AddDays(p.ChunkDays) {
		end := d.AddDays(p.ChunkDays - 1)
		if end.After(p.To) {
			end = p.To
		}
		out = append(out, Chunk{d, end})
	}
	return out
}

// ChunkKey names one (table, chunk) of a backfill.
type ChunkKey struct {
	Table string
	From  string // the chunk's first day, YYYY-MM-DD
}

// NewChunkKey keys a table's chunk starting on from.
func NewChunkKey(table string, from Date) ChunkKey { return ChunkKey{table, from.String()} }

// BackfillState is what a backfill run left: its parameters, the (table, chunk)
// steps that succeeded in it or in a run resuming it, and whether one of those runs
// finished (nothing left to resume).
type BackfillState struct {
	Params    BackfillParams
	Succeeded map[ChunkKey]bool
	Finished  bool
}

// BackfillOptions configure a backfill run.
type BackfillOptions struct {
	BackfillParams
	// Resume is the run being resumed (0: a new backfill) and Succeeded its chunks
	// that need no rerun.
	Resume    int64
	Succeeded map[ChunkKey]bool
	Args      []string
	Load      LoadConfig
	Transform TransformConfig
	Display   func() Display
}

// Backfill reloads the range chunk by chunk, one ledger step per (table, chunk), then
// transforms the campaigns meeting it. Interrupted, it commits nothing half-done;
// the report's ResumeID names the run to resume.
func (r *Runner) Backfill(ctx context.Context, reg *Registry, src Source, opts BackfillOptions) (rep Report, err error) {
	tables, err := reg.Select(opts.Tables)
	if err != nil {
		return rep, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	s, err := r.Begin(ctx, RunRecord{Command: "backfill", Args: opts.Args, Params: opts.BackfillParams, ResumeOf: opts.Resume})
	if err != nil {
		return rep, err
	}
	rep.RunID, rep.ResumeID = s.RunID, s.RunID
	if opts.Resume > 0 {
		rep.ResumeID = opts.Resume
	}
	labelRun(src, "backfill", s.RunID)
	defer func() { s.Finish(ctx, err) }()

	lo := s.loadOptions(opts.Load)
	loader := NewLoader(src, r.Store)
	chunks := opts.Chunks()
	var errs []error
	for i, c := range chunks {
		var todo []*Table
		for _, t := range tables {
			if t.Mode == ModeIncremental && !opts.Succeeded[NewChunkKey(t.Name, c.From)] {
				todo = append(todo, t)
			}
		}
		if len(todo) == 0 {
			continue
		}
		s.Log.Info("backfill chunk", "chunk", i+1, "of", len(chunks), "from", c.From.String(), "to", c.To.String())
		window := DaysWindow(c.From, c.To)
		clo := lo
		clo.Window, clo.ChunkFrom, clo.ChunkTo = &window, c.From, c.To
		res, err := loadShown(ctx, loader, todo, 1, clo, opts.Display)
		rep.Loads = append(rep.Loads, res...)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	loadErr := errors.Join(errs...)
	if ctx.Err() != nil || opts.SkipTransform || (Failed(rep.Loads) && loadErr != nil) {
		return rep, loadErr
	}
	to := s.transformOptions(opts.Transform, false)
	to.From, to.To = opts.From, opts.To
	tr, err := r.Store.Transform(ctx, to)
	if err != nil {
		return rep, errors.Join(loadErr, err)
	}
	rep.Transform = &tr
	return rep, loadErr
}
