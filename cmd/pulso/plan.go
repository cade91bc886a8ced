package main

import (
	"context"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// pipelinePlan is what `run-pipeline --plan` prints: what a run would read and
// rebuild, computed without the lock and without writing anything.
type pipelinePlan struct {
	Source    etl.SourceKind            `json:"source"`
	AsOf      etl.Date                  `json:"as_of,omitzero"`
	Now       time.Time                 `json:"now"`
	Schema    schemaPlan                `json:"schema"`
	Tables    []etl.TablePlan           `json:"tables"`
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
	m, err := postgres.NewMigrator(ctx, url, a.log)
	if err != nil {
		return err
	}
	defer m.Close()
	status, err := m.Status(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	plan := pipelinePlan{Source: a.cfg.Source.Kind, AsOf: a.cfg.AsOf, Now: a.clock().Now(start), Transform: "changed slices",
		Schema: schemaPlan{Version: status.Version, Latest: status.Latest, Pending: status.Pending, Dirty: status.Dirty}}
	if opts.FullRebuild {
		plan.Transform = "full rebuild"
	}
	if err := status.Check(); err != nil {
		plan.Schema.NextStep = err.Error()
		// A schema that is not current has no ledger to plan from.
		return printJSON(a.stdout, plan)
	}
	plan.Schema.OK = true
	store := postgres.NewStore(pool, a.log, postgres.StoreOptions{})
	if lost, err := store.AuxLost(ctx); err != nil {
		return err
	} else if lost {
		plan.Transform = "full rebuild (the unlogged aux tables were emptied)"
	}
	if !opts.SkipRaw {
		tables, _ := a.reg.Select(opts.Tables)
		for _, t := range tables {
			tp, err := etl.PlanTable(ctx, store, src, t, a.cfg.Load(), plan.Now)
			if err != nil {
				return err
			}
			plan.Tables = append(plan.Tables, tp)
		}
	}
	if plan.Pending, err = store.PendingChanges(ctx); err != nil {
		return err
	}
	return printJSON(a.stdout, plan)
}
