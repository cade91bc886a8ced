package etl

import (
	"context"
	"fmt"
	"time"
)

// DryRunner is implemented by sources that can price a read before running it
// (BigQuery dry runs).
type DryRunner interface {
	DryRunBytes(ctx context.Context, t *Table, w Window) (int64, error)
}

// TablePlan is what `run-pipeline --plan` says a run would do with one table.
type TablePlan struct {
	Table       string     `json:"table"`
	Mode        string     `json:"mode"`
	Watermark   *time.Time `json:"watermark"`
	WindowFrom  *time.Time `json:"window_from"`
	WindowTo    *time.Time `json:"window_to"`
	Parts       []PartPlan `json:"parts"`
	BytesToRead int64      `json:"bytes_to_read"`
	DryRunBytes *int64     `json:"bigquery_dry_run_bytes"`
	WouldSkip   SkipReason `json:"would_skip,omitempty"`
}

// PartPlan is one part of a TablePlan.
type PartPlan struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	New  bool   `json:"new_or_changed"`
	// Incomplete marks an unchanged file read again: it held rows beyond the last window.
	Incomplete bool `json:"incomplete,omitempty"`
	Read       bool `json:"would_read"`
}

// PlanTable says what a run would read of t, by the loader's own rules, writing
// nothing.
func PlanTable(ctx context.Context, store RawStore, src Source, t *Table, lc LoadConfig, now time.Time) (TablePlan, error) {
	tp := TablePlan{Table: t.Name, Mode: t.Mode.String(), Parts: []PartPlan{}}
	hwm, ok, err := store.Watermark(ctx, t.Name)
	if err != nil {
		return tp, err
	}
	if ok {
		tp.Watermark = &hwm
	}
	w := WindowFor(t, hwm, ok, now, lc.Lookback[t.Name], lc.InitialFrom[t.Name])
	if !w.From.IsZero() {
		tp.WindowFrom = &w.From
	}
	if !w.To.IsZero() {
		tp.WindowTo = &w.To
	}
	parts, err := src.Parts(ctx, t)
	if err != nil {
		return tp, fmt.Errorf("plan %s: %w", t.Name, err)
	}
	landed := map[string]LandedFile{}
	if src.Kind() == SourceDir {
		if landed, err = store.LandedFiles(ctx, t.Name); err != nil {
			return tp, err
		}
		if parts, err = HashCandidates(ctx, src, parts, landed); err != nil {
			return tp, fmt.Errorf("plan %s: %w", t.Name, err)
		}
	}
	// The loader's own rule, so the plan lists exactly the files a run would read.
	read, _ := PartsToRead(t, parts, landed)
	toRead := map[string]bool{}
	for _, p := range read {
		toRead[p.Name] = true
		tp.BytesToRead += p.Size
	}
	for _, p := range parts {
		old, seen := landed[p.Name]
		isNew := !seen || !old.Same(p)
		tp.Parts = append(tp.Parts, PartPlan{Name: p.Name, Size: p.Size, New: isNew,
			Incomplete: !isNew && !old.Complete(), Read: toRead[p.Name]})
	}
	switch {
	case len(parts) == 0:
		tp.WouldSkip = SkipNoFiles
	case src.Kind() == SourceDir && len(read) == 0:
		tp.WouldSkip = SkipUnchangedFiles
	}
	if dr, ok := src.(DryRunner); ok {
		n, err := dr.DryRunBytes(ctx, t, w)
		if err != nil {
			return tp, fmt.Errorf("plan %s: dry run: %w", t.Name, err)
		}
		tp.DryRunBytes = &n
	}
	return tp, nil
}
