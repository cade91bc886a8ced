package etl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// RawStore is what loading needs from the database (implemented by store/postgres).
type RawStore interface {
	// Watermark returns a table's high-water mark; ok is false when it has none.
	Watermark(ctx context.Context, table string) (hwm time.Time, ok bool, err error)
	// LandedFiles returns the landing files committed for a table, by path.
	LandedFiles(ctx context.Context, table string) (map[string]LandedFile, error)
	// BeginStep opens the transaction that loads one table-window; the ledger step row
	// is written `running` first, in its own transaction.
	BeginStep(ctx context.Context, s Step) (StepWriter, error)
	// SkipStep records a step that had nothing to read.
	SkipStep(ctx context.Context, s Step, reason SkipReason) error
	// FailStep records a step that failed before it could begin (its source could
	// not be listed), so the ledger and status show the failure.
	FailStep(ctx context.Context, s Step, cause error) error
	// ConnectionLost reports whether an error the store returned means the database
	// went away (no further table is started then).
	ConnectionLost(err error) bool
}

// Step is one table-window of a run.
type Step struct {
	RunID  int64
	Table  *Table
	Window Window
	// Chunk names a backfill chunk (zero outside backfills).
	ChunkFrom, ChunkTo Date
	// Parts are what the step reads; dir-source parts are recorded in etl.landing_file.
	Parts      []Part
	SourceKind SourceKind
	HWMBefore  time.Time // zero when the table had none
	// Force lets a full refresh shrink or empty its table.
	Force bool
	// NoDirect forbids the direct-COPY path (set after it met a duplicate key).
	NoDirect bool
	// RecordLanding records the parts in etl.landing_file (dir sources).
	RecordLanding bool
}

// StepWriter receives a step's rows inside its transaction.
type StepWriter interface {
	Row(ctx context.Context, r *Row) error
	Reject(ctx context.Context, r *Reject) error
	// Commit merges, records rejects, changes, landing files, watermark and the ledger
	// row in one transaction.
	Commit(ctx context.Context, c ReadCounts) (StepResult, error)
	// Abort rolls back and records the step failed (or cancelled when ctx is done).
	Abort(ctx context.Context, cause error)
}

// ErrRetryStaged is returned by a StepWriter whose direct COPY into an empty table hit
// a duplicate key: the step is read again through staging, where duplicates are
// resolved and rejected.
var ErrRetryStaged = errors.New("duplicate key during direct load: retry through staging")

// ErrRejectsAboveTolerance marks a run whose newly rejected rows exceeded the
// tolerance in some step: everything committed, the command exits 4.
var ErrRejectsAboveTolerance = errors.New("rejected rows above tolerance")

// ReadCounts are the conversion-side counters of a step.
type ReadCounts struct {
	Read, Filtered, Rejected int64
	MaxIncr                  time.Time // greatest incremental value of accepted rows
	// PartMaxIncr holds, per part name, the greatest incremental value among the rows
	// that reached the window check (recorded in etl.landing_file).
	PartMaxIncr map[string]time.Time
	// Parts are the parts read, with the sha256 their readers computed.
	Parts []Part
}

// StepResult is what a committed step did.
type StepResult struct {
	Table                        string
	Status                       Status // success, skipped (failed, cancelled when the step did not commit)
	SkipReason                   SkipReason
	Window                       Window
	Read, Filtered, Rejected     int64
	Loaded                       int64
	Inserted, Updated, Unchanged int64
	Deleted                      int64
	NewRejects                   int64 // rejects not already recorded by an earlier run
	HWMBefore, HWMAfter          time.Time
	Duration                     time.Duration
	Warnings                     []string
}

// RowsPerSecond of the step's read rate.
func (r StepResult) RowsPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Read) / r.Duration.Seconds()
}

// Progress reports steps as they run; several steps may run at once.
type Progress interface {
	StartStep(table string, totalBytes int64) StepProgress
}

// StepProgress follows one step: rows read so far and bytes of its parts consumed.
type StepProgress interface {
	Advance(rows int64, bytes int64)
	Done(r StepResult, err error)
}

// ByteCounter is implemented by readers that know how far into their part they are,
// so progress and ETA move within a large file, not only between files.
type ByteCounter interface {
	BytesRead() int64
}

type noProgress struct{}

func (noProgress) StartStep(string, int64) StepProgress { return noProgress{} }
func (noProgress) Advance(int64, int64)                 {}
func (noProgress) Done(StepResult, error)               {}

// LoadOptions configure a raw load.
type LoadOptions struct {
	RunID int64
	// Now is the extraction upper bound (run start, or as_of + 1 day).
	Now time.Time
	// Full ignores watermarks and the landing-file ledger.
	Full bool
	// Force lets full refreshes shrink their tables.
	Force bool
	// Windows overrides the watermark window per table (backfill chunks).
	Window    *Window
	ChunkFrom Date
	ChunkTo   Date
	LoadConfig
	Progress Progress
	Logger   *slog.Logger
}

// LoadConfig is what configuration gives a load (tables.* and etl.* keys).
type LoadConfig struct {
	// Lookback (days) and InitialFrom, per table.
	Lookback            map[string]int
	InitialFrom         map[string]time.Time
	EjecutivosIDCliente int64
	// RejectTolerance is the share of a step's rows that may be newly rejected before
	// the run exits 4.
	RejectTolerance float64
}

// Validate checks the options before any work.
func (o *LoadOptions) Validate() error {
	if o.RunID <= 0 {
		return errors.New("load: run id required")
	}
	if o.Now.IsZero() {
		return errors.New("load: now required")
	}
	if o.RejectTolerance < 0 || o.RejectTolerance > 1 {
		return fmt.Errorf("load: reject tolerance %v out of 0..1", o.RejectTolerance)
	}
	if o.Logger == nil {
		return errors.New("load: logger required")
	}
	return nil
}

// Loader reads tables from a source into the raw layer.
type Loader struct {
	src   Source
	store RawStore
}

// NewLoader wires a source to a raw store.
func NewLoader(src Source, store RawStore) *Loader { return &Loader{src: src, store: store} }

// WindowFor works out a table's read window: [hwm − lookback, now), or
// [initial_from, now) without a watermark; an hwm after now clamps to
// [now − lookback, now), never an inverted window. Full tables read everything.
func WindowFor(t *Table, hwm time.Time, hasHWM bool, now time.Time, lookbackDays int, initialFrom time.Time) Window {
	if t.Mode == ModeFull {
		return Window{}
	}
	lb := time.Duration(lookbackDays) * 24 * time.Hour
	switch {
	case !hasHWM:
		return Window{From: initialFrom, To: now}
	case hwm.After(now):
		return Window{From: now.Add(-lb), To: now}
	default:
		return Window{From: hwm.Add(-lb), To: now}
	}
}

// LoadTable loads one table and returns its step result. A table whose rows were
// rejected above tolerance returns its result and ErrRejectsAboveTolerance.
func (l *Loader) LoadTable(ctx context.Context, t *Table, opts LoadOptions) (StepResult, error) {
	if err := opts.Validate(); err != nil {
		return StepResult{}, err
	}
	log := opts.Logger.With("table", t.Name)
	start := time.Now()
	step := Step{RunID: opts.RunID, Table: t, SourceKind: l.src.Kind(), Force: opts.Force,
		ChunkFrom: opts.ChunkFrom, ChunkTo: opts.ChunkTo}

	var hwm time.Time
	var hasHWM bool
	if t.Mode == ModeIncremental {
		var err error
		if hwm, hasHWM, err = l.store.Watermark(ctx, t.Name); err != nil {
			return StepResult{}, fmt.Errorf("load %s: %w", t.Name, err)
		}
	}
	step.HWMBefore = hwm
	switch {
	case opts.Window != nil && t.Mode == ModeIncremental:
		step.Window = *opts.Window
	case opts.Full && t.Mode == ModeIncremental:
		step.Window = Window{From: opts.InitialFrom[t.Name], To: opts.Now}
	default:
		step.Window = WindowFor(t, hwm, hasHWM, opts.Now, opts.Lookback[t.Name], opts.InitialFrom[t.Name])
	}

	parts, err := l.src.Parts(ctx, t)
	if err != nil {
		return l.fail(ctx, step, fmt.Errorf("load %s: list source: %w", t.Name, err))
	}
	if len(parts) == 0 {
		return l.skip(ctx, step, SkipNoFiles, start, log)
	}
	// A backfill chunk keeps only its days of each file, so it must not mark the files
	// as loaded: the incremental run still owes them their other days.
	if step.SourceKind == SourceDir && opts.Window == nil {
		step.RecordLanding = true
		if !opts.Full {
			landed, err := l.store.LandedFiles(ctx, t.Name)
			if err != nil {
				return l.fail(ctx, step, fmt.Errorf("load %s: %w", t.Name, err))
			}
			if parts, err = HashCandidates(ctx, l.src, parts, landed); err != nil {
				return l.fail(ctx, step, fmt.Errorf("load %s: %w", t.Name, err))
			}
			var reread int
			parts, reread = PartsToRead(t, parts, landed)
			if len(parts) == 0 {
				return l.skip(ctx, step, SkipUnchangedFiles, start, log)
			}
			if reread > 0 {
				log.Info("reading unchanged files again: they held rows beyond the last window", "files", reread)
			}
		}
	}
	step.Parts = parts

	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	var total int64
	for _, p := range step.Parts {
		total += p.Size
	}
	prog := opts.Progress.StartStep(t.Name, total)
	res, err := l.loadParts(ctx, step, opts, prog, log)
	if errors.Is(err, ErrRetryStaged) {
		log.Info("duplicate keys in an empty-table load: reading again through staging")
		step.NoDirect = true
		res, err = l.loadParts(ctx, step, opts, prog, log)
	}
	res.Duration = time.Since(start)
	prog.Done(res, err)
	if err != nil {
		return res, err
	}
	log.Info("table loaded", "window", res.Window.String(), "read", res.Read, "filtered", res.Filtered,
		"rejected", res.Rejected, "loaded", res.Loaded, "inserted", res.Inserted, "updated", res.Updated,
		"unchanged", res.Unchanged, "deleted", res.Deleted, "duration_ms", res.Duration.Milliseconds())
	if res.Read > 0 && float64(res.NewRejects) > opts.RejectTolerance*float64(res.Read) {
		return res, fmt.Errorf("load %s: %d of %d rows newly rejected (tolerance %.0f%%): %w",
			t.Name, res.NewRejects, res.Read, opts.RejectTolerance*100, ErrRejectsAboveTolerance)
	}
	return res, nil
}

// PartsToRead keeps the parts that are new, changed, or unchanged but incomplete (they
// held rows beyond the window they were read with); reread counts the latter. A
// full-mode table reads all of its parts when any one changed, since its contents are
// replaced as a whole.
func PartsToRead(t *Table, parts []Part, landed map[string]LandedFile) (read []Part, reread int) {
	for _, p := range parts {
		old, ok := landed[p.Name]
		switch {
		case !ok || !old.Same(p):
			read = append(read, p)
		case !old.Complete():
			p.ReadFrom = old.ReadUntil
			read = append(read, p)
			reread++
		}
	}
	if t.Mode == ModeFull && len(read) > 0 {
		return parts, reread
	}
	return read, reread
}

// HashCandidates digests the parts a landed file of the same path and size could
// make unchanged; the others are new or changed whatever their content, and are
// hashed while they are read.
func HashCandidates(ctx context.Context, src Source, parts []Part, landed map[string]LandedFile) ([]Part, error) {
	h, ok := src.(Hasher)
	if !ok {
		return parts, nil
	}
	out := make([]Part, len(parts))
	for i, p := range parts {
		if old, seen := landed[p.Name]; seen && old.Size == p.Size && p.SHA256 == "" {
			var err error
			if p, err = h.Hash(ctx, p); err != nil {
				return nil, err
			}
		}
		out[i] = p
	}
	return out, nil
}

// fail records a step that failed before its transaction began and returns cause.
func (l *Loader) fail(ctx context.Context, step Step, cause error) (StepResult, error) {
	if err := l.store.FailStep(ctx, step, cause); err != nil {
		return StepResult{}, errors.Join(cause, err)
	}
	return StepResult{Table: step.Table.Name, Status: StatusFailed, Window: step.Window, HWMBefore: step.HWMBefore}, cause
}

func (l *Loader) skip(ctx context.Context, step Step, reason SkipReason, start time.Time, log *slog.Logger) (StepResult, error) {
	if err := l.store.SkipStep(ctx, step, reason); err != nil {
		return StepResult{}, fmt.Errorf("load %s: %w", step.Table.Name, err)
	}
	log.Info("table skipped", "reason", reason)
	return StepResult{Table: step.Table.Name, Status: StatusSkipped, SkipReason: reason, Window: step.Window,
		HWMBefore: step.HWMBefore, HWMAfter: step.HWMBefore, Duration: time.Since(start)}, nil
}

// loadParts streams every part through conversion into one step transaction.
func (l *Loader) loadParts(ctx context.Context, step Step, opts LoadOptions, prog StepProgress, log *slog.Logger) (StepResult, error) {
	t := step.Table
	w, err := l.store.BeginStep(ctx, step)
	if err != nil {
		return StepResult{}, fmt.Errorf("load %s: %w", t.Name, err)
	}
	conv := NewConverter(t, ConvertOptions{Window: step.Window, EjecutivosIDCliente: opts.EjecutivosIDCliente})
	counts := ReadCounts{PartMaxIncr: map[string]time.Time{}, Parts: make([]Part, 0, len(step.Parts))}
	var warnings []string
	fail := func(err error) (StepResult, error) {
		w.Abort(ctx, err)
		if errors.Is(err, ErrRetryStaged) {
			return StepResult{}, err
		}
		return StepResult{}, fmt.Errorf("load %s: %w", t.Name, err)
	}
	var rec Record
	var row Row
	var rej Reject
	var doneBytes int64
	chunk := !step.ChunkFrom.IsZero()
	for _, p := range step.Parts {
		conv.SetReadFrom(p.ReadFrom)
		rd, err := l.src.Open(ctx, t, p, step.Window)
		if err != nil {
			return fail(err)
		}
		counter, _ := rd.(ByteCounter)
		for {
			ok, err := rd.Next(&rec)
			if err != nil {
				rd.Close()
				return fail(err)
			}
			if !ok {
				break
			}
			counts.Read++
			switch conv.Convert(&rec, &row, &rej) {
			case OutsideWindow:
				if chunk {
					counts.Read--
				} else {
					counts.Filtered++
				}
			case Accepted:
				if row.Incr.After(counts.MaxIncr) {
					counts.MaxIncr = row.Incr
				}
				err = w.Row(ctx, &row)
			case Filtered:
				counts.Filtered++
			case FilteredRecorded:
				counts.Filtered++
				err = w.Reject(ctx, &rej)
			case Rejected:
				counts.Rejected++
				err = w.Reject(ctx, &rej)
			}
			if err != nil {
				rd.Close()
				return fail(err)
			}
			if counts.Read%8192 == 0 {
				at := doneBytes
				if counter != nil {
					at += counter.BytesRead()
				}
				prog.Advance(counts.Read, at)
			}
		}
		warnings = append(warnings, rd.Warnings()...)
		if d, ok := rd.(Digester); ok {
			if sum, whole := d.SHA256(); whole {
				p.SHA256 = sum
			}
		}
		if err := rd.Close(); err != nil {
			return fail(err)
		}
		counts.Parts = append(counts.Parts, p)
		if m := conv.TakeMaxSeen(); !m.IsZero() {
			counts.PartMaxIncr[p.Name] = m
		}
		doneBytes += p.Size
		prog.Advance(counts.Read, doneBytes)
	}
	warnings = append(warnings, conv.Warnings()...)
	for _, msg := range warnings {
		log.Warn(msg)
	}
	res, err := w.Commit(ctx, counts)
	if err != nil {
		if errors.Is(err, ErrRetryStaged) {
			return StepResult{}, err
		}
		return res, fmt.Errorf("load %s: %w", t.Name, err)
	}
	res.Warnings = warnings
	return res, nil
}
