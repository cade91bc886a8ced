package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
)

// engine is the transform engine a command runs with: its --engine, else
// transform.engine.
func (a *app) engine(flag string) string {
	if flag != "" {
		return flag
	}
	return a.cfg.Transform.Engine
}

func checkEngineFlag(flag string) error {
	if flag != "" && !validEngine(flag) {
		return fmt.Errorf("--engine %q: want %s or %s", flag, enginePostgres, engineBigQuery)
	}
	return nil
}

// remotePlan is `run-pipeline --plan` with the bigquery engine: the dry-run bytes of
// every transform statement. Nothing loads into the raw layer.
type remotePlan struct {
	Engine     string                `json:"engine"`
	Dataset    string                `json:"dataset"`
	AsOf       string                `json:"as_of"`
	Statements []remotePlanStatement `json:"statements"`
	TotalBytes int64                 `json:"total_bytes_processed"`
	Served     []string              `json:"served_tables"`
	Note       string                `json:"note,omitempty"`
}

type remotePlanStatement struct {
	Statement      string `json:"statement"`
	Table          string `json:"table"`
	BytesProcessed int64  `json:"bytes_processed"`
}

// printRemotePlan prices the BigQuery transform by dry runs. A statement reading a
// table an earlier one creates can only be priced once that table exists (after a
// first run); the plan then says so.
func (a *app) printRemotePlan(ctx context.Context, src *bigquery.Source) error {
	today := a.clock().Today(time.Now())
	stats, err := src.Transform(ctx, bigquery.TransformOptions{Dataset: a.cfg.BigQuery.TransformDataset, AsOf: today,
		PDPRecoveryDays: a.cfg.Transform.PDPRecoveryDays, MaxPagosDocDia: a.cfg.Transform.MaxPagosDocDia, DryRun: true})
	plan := remotePlan{Engine: engineBigQuery, Dataset: a.cfg.BigQuery.TransformDataset, AsOf: today.String()}
	for _, st := range stats {
		plan.Statements = append(plan.Statements, remotePlanStatement{Statement: st.Statement, Table: st.Table, BytesProcessed: st.BytesProcessed})
		plan.TotalBytes += st.BytesProcessed
	}
	if err != nil {
		// Typically a statement reading a table an earlier one creates, before any run.
		a.log.Debug("bigquery transform dry run stopped", "error", err)
		plan.Note = fmt.Sprintf("%d statements priced; the next could not be dry-run (%s): a statement reading a table "+
			"an earlier one creates is priced once a first run has created it", len(stats), shortError(err))
	}
	plan.Served = etl.ServedTables
	return printJSON(a.stdout, plan)
}

// shortError is the first line of err, at most 200 bytes: the emulator and BigQuery
// repeat the whole statement in some messages.
func shortError(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}
