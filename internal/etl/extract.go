package etl

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Landing receives what `pulso extract` writes: one landing file per table and the
// manifest describing them (source/files writes a directory).
type Landing interface {
	Create(t *Table) (LandingWriter, error)
	WriteManifest(m *ExtractManifest) error
}

// LandingWriter writes one table's landing file; nothing is visible before Close.
type LandingWriter interface {
	Write(fields []string) error
	// Close publishes the file and returns its name, size and sha256 (hashed while
	// written).
	Close() (Part, error)
	Abort()
}

// ExtractManifest describes an extraction: _manifest.json.
type ExtractManifest struct {
	Source     SourceKind      `json:"source"`
	Project    string          `json:"project,omitempty"`
	Dataset    string          `json:"dataset,omitempty"`
	RunID      string          `json:"run_id"`
	AsOf       Date            `json:"as_of,omitzero"`
	Now        time.Time       `json:"now"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Format     string          `json:"format"`
	Tables     []ExtractedFile `json:"tables"`
}

// ExtractedFile is one table's entry in the manifest.
type ExtractedFile struct {
	Table      string     `json:"table"`
	Mode       string     `json:"mode"`
	File       string     `json:"file"`
	WindowFrom *time.Time `json:"window_from"`
	WindowTo   *time.Time `json:"window_to"`
	Rows       int64      `json:"rows"`
	// Skipped counts rows a non-pushdown source returned outside the window, and
	// records its reader could not type (row faults): load would not take them.
	Skipped        int64      `json:"skipped,omitempty"`
	MaxIncremental *time.Time `json:"max_incremental"`
	Bytes          int64      `json:"bytes"`
	SHA256         string     `json:"sha256"`
	DurationMS     int64      `json:"duration_ms"`
}

// ExtractWindow is a table's extraction window: full tables everything; incremental
// tables [since or initial_from, until or now).
func ExtractWindow(t *Table, since, until, initialFrom, now time.Time) (Window, error) {
	if t.Mode == ModeFull {
		return Window{}, nil
	}
	w := Window{From: since, To: until}
	if w.To.IsZero() {
		w.To = now
	}
	if w.From.IsZero() {
		w.From = initialFrom
	}
	if !w.From.IsZero() && !w.From.Before(w.To) {
		return w, fmt.Errorf("%w: extract %s: empty window %s", ErrInvalidOptions, t.Name, w)
	}
	return w, nil
}

// Extract writes each table's records, as the source read them, to the landing
// (money columns in their canonical 2-decimal text, so a dir load converts the same
// text a direct load would), then the manifest. man arrives with its run fields set.
func Extract(ctx context.Context, src Source, tables []*Table, windows map[string]Window, out Landing,
	man ExtractManifest, log *slog.Logger) (ExtractManifest, error) {
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return man, err
		}
		ef, err := extractTable(ctx, src, t, windows[t.Name], out, log)
		if err != nil {
			return man, fmt.Errorf("extract %s %s: %w", t.Name, WindowText(windows[t.Name]), err)
		}
		man.Tables = append(man.Tables, ef)
	}
	man.FinishedAt = time.Now().UTC()
	if err := out.WriteManifest(&man); err != nil {
		return man, fmt.Errorf("extract: %w", err)
	}
	return man, nil
}

// WindowText is a window as extract prints it: "full" for a full table's.
func WindowText(w Window) string {
	if w.IsZero() {
		return "full"
	}
	return w.String()
}

// tableExtract is one table's extraction in progress.
type tableExtract struct {
	t      *Table
	w      Window
	lw     LandingWriter
	fields []string
	money  []bool
	inc    int
	maxInc time.Time
	ef     ExtractedFile
	start  time.Time
	log    *slog.Logger
}

func extractTable(ctx context.Context, src Source, t *Table, w Window, out Landing, log *slog.Logger) (ExtractedFile, error) {
	x := &tableExtract{t: t, w: w, fields: make([]string, len(t.Columns)), money: make([]bool, len(t.Columns)),
		inc: t.IncrementalIndex(), ef: ExtractedFile{Table: t.Name, Mode: t.Mode.String()}, start: time.Now(), log: log}
	for i, c := range t.Columns {
		x.money[i] = c.Type == TypeMoney
	}
	if !w.From.IsZero() {
		from := w.From.UTC()
		x.ef.WindowFrom = &from
	}
	if !w.To.IsZero() {
		to := w.To.UTC()
		x.ef.WindowTo = &to
	}
	log.Info("extract started", "table", t.Name, "window", WindowText(w))
	parts, err := src.Parts(ctx, t)
	if err != nil {
		return x.ef, err
	}
	if x.lw, err = out.Create(t); err != nil {
		return x.ef, err
	}
	defer x.lw.Abort()
	for _, p := range parts {
		if err := x.part(ctx, src, p); err != nil {
			return x.ef, err
		}
	}
	landed, err := x.lw.Close()
	if err != nil {
		return x.ef, err
	}
	x.ef.File, x.ef.Bytes, x.ef.SHA256 = landed.Name, landed.Size, landed.SHA256
	if !x.maxInc.IsZero() {
		m := x.maxInc.UTC()
		x.ef.MaxIncremental = &m
	}
	x.ef.DurationMS = time.Since(x.start).Milliseconds()
	log.Info("extract finished", "table", t.Name, "window", WindowText(w), "rows", x.ef.Rows, "skipped", x.ef.Skipped,
		"file", x.ef.File, "bytes", x.ef.Bytes, "duration_ms", x.ef.DurationMS)
	return x.ef, nil
}

func (x *tableExtract) part(ctx context.Context, src Source, p Part) error {
	rd, err := src.Open(ctx, x.t, p, x.w)
	if err != nil {
		return err
	}
	defer rd.Close()
	var rec Record
	for {
		ok, err := rd.Next(&rec)
		if err != nil {
			return err
		}
		if !ok {
			return rd.Close()
		}
		if err := x.record(&rec); err != nil {
			return err
		}
	}
}

func (x *tableExtract) record(rec *Record) error {
	if rec.Fault != nil {
		x.ef.Skipped++
		return nil
	}
	copy(x.fields, rec.Fields)
	if x.inc >= 0 {
		if s, err := CanonicalTimestamp(rec.Fields[x.inc]); err == nil {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf("canonical timestamp %q: %w", s, err)
			}
			if !x.w.Contains(ts) {
				x.ef.Skipped++ // a source that does not push the window down
				return nil
			}
			if ts.After(x.maxInc) {
				x.maxInc = ts
			}
		}
	}
	for i, m := range x.money {
		if m && x.fields[i] != "" {
			if v, err := CanonicalMoney(x.fields[i]); err == nil {
				x.fields[i] = v
			}
		}
	}
	if err := x.lw.Write(x.fields); err != nil {
		return err
	}
	x.ef.Rows++
	if x.ef.Rows%100000 == 0 {
		x.log.Info("extract progress", "table", x.t.Name, "rows", x.ef.Rows,
			"rows_per_s", int64(float64(x.ef.Rows)/time.Since(x.start).Seconds()))
	}
	return nil
}
