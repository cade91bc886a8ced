package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// pipelinePlan is what `run-pipeline --plan` prints: what a run would read and
// rebuild, computed without the lock and without writing anything.
type pipelinePlan struct {
	Source    string                    `json:"source"`
	AsOf      string                    `json:"as_of,omitempty"`
	Now       time.Time                 `json:"now"`
	Schema    schemaPlan                `json:"schema"`
	Tables    []tablePlan               `json:"tables"`
	Pending   []postgres.PendingSummary `json:"pending_changes"`
	Transform string                    `json:"transform"`
}

type schemaPlan struct {
	Version  uint   `json:"version"`
	Latest   uint   `json:"latest"`
	Pending  int    `json:"pending_migrations"`
	Dirty    bool   `json:"dirty"`
	OK       bool   `json:"ok"`
	NextStep string `json:"next_step,omitempty"`
}

type tablePlan struct {
	Table       string     `json:"table"`
	Mode        string     `json:"mode"`
	Watermark   *time.Time `json:"watermark"`
	WindowFrom  *time.Time `json:"window_from"`
	WindowTo    *time.Time `json:"window_to"`
	Parts       []partPlan `json:"parts"`
	BytesToRead int64      `json:"bytes_to_read"`
	DryRunBytes *int64     `json:"bigquery_dry_run_bytes"`
	WouldSkip   string     `json:"would_skip,omitempty"`
}

type partPlan struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	New  bool   `json:"new_or_changed"`
	// Incomplete marks an unchanged file read again: it held rows beyond the last window.
	Incomplete bool `json:"incomplete,omitempty"`
	Read       bool `json:"would_read"`
}

// dryRunner is implemented by sources that can price a read before running it
// (BigQuery dry runs).
type dryRunner interface {
	DryRunBytes(ctx context.Context, t *etl.Table, w etl.Window) (int64, error)
}

func (a *app) printPlan(ctx context.Context, src etl.Source, opts *pipelineOptions) error {
	url, err := a.requireDatabase()
	if err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := postgres.NewMigrator(url, a.log)
	if err != nil {
		return err
	}
	defer m.Close()
	status, err := m.Status(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	plan := pipelinePlan{Source: a.cfg.Source.Kind, AsOf: a.cfg.AsOf, Now: a.now(start), Transform: "changed slices",
		Schema: schemaPlan{Version: status.Version, Latest: status.Latest, Pending: status.Pending, Dirty: status.Dirty}}
	if opts.FullRebuild {
		plan.Transform = "full rebuild"
	}
	if err := status.Check(); err != nil {
		plan.Schema.NextStep = err.Error()
		// A schema that is not current has no ledger to plan from.
		return writeJSON(a, plan)
	}
	plan.Schema.OK = true
	store := postgres.NewStore(pool, a.log, postgres.StoreOptions{})
	if lost, err := store.AuxLost(ctx); err != nil {
		return err
	} else if lost {
		plan.Transform = "full rebuild (the unlogged aux tables were emptied)"
	}
	if !opts.SkipRaw {
		lo, err := a.loadOptions(1, start)
		if err != nil {
			return err
		}
		tables, _ := a.reg.Select(opts.Tables)
		for _, t := range tables {
			tp, err := planTable(ctx, store, src, t, lo)
			if err != nil {
				return err
			}
			plan.Tables = append(plan.Tables, tp)
		}
	}
	if plan.Pending, err = store.PendingChanges(ctx); err != nil {
		return err
	}
	return writeJSON(a, plan)
}

func planTable(ctx context.Context, store *postgres.Store, src etl.Source, t *etl.Table, lo etl.LoadOptions) (tablePlan, error) {
	tp := tablePlan{Table: t.Name, Mode: t.Mode.String(), Parts: []partPlan{}}
	hwm, ok, err := store.Watermark(ctx, t.Name)
	if err != nil {
		return tp, err
	}
	if ok {
		tp.Watermark = &hwm
	}
	w := etl.WindowFor(t, hwm, ok, lo.Now, lo.Lookback[t.Name], lo.InitialFrom[t.Name])
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
	landed := map[string]etl.LandedFile{}
	if src.Kind() == "dir" {
		if landed, err = store.LandedFiles(ctx, t.Name); err != nil {
			return tp, err
		}
	}
	// The loader's own rule, so the plan lists exactly the files a run would read.
	read, _ := etl.PartsToRead(t, parts, landed)
	toRead := map[string]bool{}
	for _, p := range read {
		toRead[p.Name] = true
		tp.BytesToRead += p.Size
	}
	for _, p := range parts {
		old, seen := landed[p.Name]
		isNew := !seen || !old.Same(p)
		tp.Parts = append(tp.Parts, partPlan{Name: p.Name, Size: p.Size, New: isNew,
			Incomplete: !isNew && !old.Complete(), Read: toRead[p.Name]})
	}
	switch {
	case len(parts) == 0:
		tp.WouldSkip = "no_files"
	case src.Kind() == "dir" && len(read) == 0:
		tp.WouldSkip = "unchanged_files"
	}
	if dr, ok := src.(dryRunner); ok {
		n, err := dr.DryRunBytes(ctx, t, w)
		if err != nil {
			return tp, fmt.Errorf("plan %s: dry run: %w", t.Name, err)
		}
		tp.DryRunBytes = &n
	}
	return tp, nil
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return errors.Join(errors.New("write plan"), err)
	}
	return nil
}
