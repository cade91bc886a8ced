package main

import (
	"encoding/json"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// The CronJob and the analyst's backfill with --source bigquery, against the emulator
// holding the small synthetic set: the plan prices every table with a dry run and
// writes nothing; run-pipeline and a chunked backfill end exactly where the same
// commands end from the landing files, and a second run-pipeline changes nothing.
func TestPipelineAndBackfillFromBigQuery(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := demoSet(t)
	reg := etl.MustRegistry()
	bqEnv := demoEmulator(t, dir, reg)
	ref := referenceChecksums(t, dir)
	bq := func(url string, args ...string) result {
		t.Helper()
		res := runBinWith(t, ctx, append(bqEnv, "DATABASE_URL="+url),
			append([]string{"--as-of", "2025-07-15", "--source", "bigquery"}, args...)...)
		if res.code != exitOK {
			t.Fatalf("pulso %v: exit %d\n%s\n%s", args, res.code, res.stdout, res.stderr)
		}
		return res
	}

	url := migrated(t)
	pool := openPool(t, url)
	var plan pipelinePlan
	if err := json.Unmarshal([]byte(bq(url, "run-pipeline", "--plan").stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Source != "bigquery" || len(plan.Tables) != len(reg.Tables()) {
		t.Fatalf("plan: source %q, %d tables", plan.Source, len(plan.Tables))
	}
	for _, tp := range plan.Tables {
		if tp.DryRunBytes == nil || *tp.DryRunBytes <= 0 {
			t.Errorf("plan %s: no BigQuery dry-run bytes", tp.Table)
		}
	}
	var runs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM etl.run`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("--plan wrote %d runs (%v)", runs, err)
	}

	bq(url, "run-pipeline")
	got := checksums(t, pool)
	sameChecksums(t, ref, got, "", "after run-pipeline --source bigquery from the landing files' run")
	bq(url, "run-pipeline")
	sameChecksums(t, got, checksums(t, pool), "", "on a second run-pipeline --source bigquery")

	// Backfill in 14-day chunks: each chunk is its own windowed query.
	url = migrated(t)
	bq(url, "load", "--tables", "calendario,homologacion_mibotair,homologacion_voicebot,ejecutivos")
	bq(url, "backfill", "--from", "2025-05-25", "--to", "2025-07-15", "--chunk-days", "14")
	pool = openPool(t, url)
	var chunks int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM etl.run_table WHERE chunk_from IS NOT NULL AND status = 'success'`).
		Scan(&chunks); err != nil || chunks != 20 {
		t.Fatalf("%d successful chunk rows (%v); want 4 chunks × 5 tables", chunks, err)
	}
	sameChecksums(t, ref, checksums(t, pool), "", "after backfill --source bigquery from the landing files' run")
}
