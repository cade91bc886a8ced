package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// PruneOptions say what prune removes. Before is the cutoff for the ledger, rejects,
// consumed pending changes and dead refresh tokens; AuditBefore for auth.audit_log.
type PruneOptions struct {
	Before      time.Time
	AuditBefore time.Time
	// DryRun counts what would go and deletes nothing.
	DryRun bool
}

// PruneCount is the rows removed (or, in a dry run, that would be) from one table.
type PruneCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// PruneResult lists per table what Prune removed, in a fixed order.
type PruneResult struct {
	Before      time.Time    `json:"before"`
	AuditBefore time.Time    `json:"audit_before"`
	DryRun      bool         `json:"dry_run"`
	Tables      []PruneCount `json:"tables"`
}

// prunable runs: finished before $1 and neither running nor holding a running step.
// Watermarks, landing files and the data version point at runs without foreign keys
// on purpose, so deleting old runs never touches pipeline state.
// The status is a constant spliced in, so every target takes the cutoff alone.
const pruneRunsWhere = `finished_at < $1 AND status <> '` + string(etl.StatusRunning) + `'
	AND NOT EXISTS (SELECT 1 FROM etl.run_table s WHERE s.run_id = etl.run.run_id AND s.status = '` +
	string(etl.StatusRunning) + `')`

// pruneTargets are the tables prune deletes from, with the rows that go. $1 is the
// cutoff (audit_log: the audit cutoff). etl.run_table is reported separately: its
// rows go with their run (ON DELETE CASCADE).
var pruneTargets = []struct{ table, where string }{
	{"etl.run", pruneRunsWhere},
	{"etl.reject", `rejected_at < $1`},
	// Only consumed changes: an unconsumed one is work the transform still owes.
	{"etl.pending_change", `consumed_run_id IS NOT NULL AND consumed_at < $1`},
	{"auth.refresh_token", `expires_at < $1 OR revoked_at < $1`},
	{"auth.audit_log", `at < $1`},
}

// Prune deletes what has aged out, in one transaction: ledger runs (with their
// steps) finished before the cutoff, rejects, consumed pending changes and expired
// or revoked refresh tokens older than it, and audit-log rows older than
// AuditBefore. It never touches a running run, watermarks, landing files, unconsumed
// changes or the data version. Callers hold the pipeline lock unless DryRun.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (PruneResult, error) {
	res := PruneResult{Before: opts.Before.UTC(), AuditBefore: opts.AuditBefore.UTC(), DryRun: opts.DryRun}
	if opts.Before.IsZero() || opts.AuditBefore.IsZero() {
		return res, fmt.Errorf("prune: no cutoff")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var steps int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM etl.run_table
		WHERE run_id IN (SELECT run_id FROM etl.run WHERE `+pruneRunsWhere+`)`, opts.Before).Scan(&steps); err != nil {
		return res, fmt.Errorf("prune etl.run_table: %w", err)
	}
	for _, tg := range pruneTargets {
		cutoff := opts.Before
		if tg.table == "auth.audit_log" {
			cutoff = opts.AuditBefore
		}
		var n int64
		if opts.DryRun {
			err = tx.QueryRow(ctx, `SELECT count(*) FROM `+tg.table+` WHERE (`+tg.where+`)`, cutoff).Scan(&n)
		} else {
			tag, execErr := tx.Exec(ctx, `DELETE FROM `+tg.table+` WHERE (`+tg.where+`)`, cutoff)
			n, err = tag.RowsAffected(), execErr
		}
		if err != nil {
			return res, fmt.Errorf("prune %s: %w", tg.table, err)
		}
		res.Tables = append(res.Tables, PruneCount{Table: tg.table, Rows: n})
		if tg.table == "etl.run" {
			res.Tables = append(res.Tables, PruneCount{Table: "etl.run_table", Rows: steps})
		}
	}
	if opts.DryRun {
		return res, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("prune: commit: %w", err)
	}
	return res, nil
}
