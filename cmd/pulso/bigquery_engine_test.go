package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// servedChecksums fingerprints the tables the API reads. aux.campana's attr_hash is
// the PostgreSQL engine's change detection (md5 of its row text), not served.
func servedChecksums(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range etl.ServedTables {
		var n int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), COALESCE(md5(string_agg(r, E'\n' ORDER BY r)), '')
			FROM (SELECT (to_jsonb(t) - 'attr_hash')::text AS r FROM %s t) x`, table)
		if err := pool.QueryRow(t.Context(), q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		out[table] = fmt.Sprintf("%d rows, %s", n, sum)
	}
	return out
}

// transform.engine bigquery against the emulator holding the small synthetic set:
// --plan prices the transform statements by dry runs and writes nothing; run-pipeline
// loads no raw row, builds the aux and mart layers in BigQuery and leaves every
// served table equal, row for row, to run-pipeline with the PostgreSQL engine on the
// same files and as-of; switching back to the PostgreSQL engine rebuilds in full.
func TestRunPipelineBigQueryEngine(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := demoSet(t)
	bqEnv := demoEmulator(t, dir, etl.MustRegistry())
	refURL := migrated(t)
	mustRun(t, refURL, pipelineArgs(dir)...)
	want := servedChecksums(t, openPool(t, refURL))

	url := migrated(t)
	pool := openPool(t, url)
	bq := func(args ...string) result {
		t.Helper()
		res := runBinWith(t, ctx, append(bqEnv, "DATABASE_URL="+url), append([]string{"--as-of", "2025-07-15"}, args...)...)
		if res.code != exitOK {
			t.Fatalf("pulso %v: exit %d\n%s\n%s", args, res.code, res.stdout, res.stderr)
		}
		return res
	}
	var plan remotePlan
	if err := json.Unmarshal([]byte(bq("run-pipeline", "--engine", "bigquery", "--plan").stdout), &plan); err != nil {
		t.Fatal(err)
	}
	// Before any run only the statements reading source tables can be dry-run (the
	// emulator prices CREATE TABLE … AS SELECT at 0 bytes; BigQuery does not).
	if plan.Engine != engineBigQuery || len(plan.Statements) < len(etl.MustRegistry().Tables()) {
		t.Fatalf("plan: %+v", plan)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run`); n != 0 {
		t.Fatalf("--plan wrote %d runs", n)
	}

	out := bq("run-pipeline", "--engine", "bigquery").stdout
	got := servedChecksums(t, pool)
	for _, table := range etl.ServedTables {
		if got[table] != want[table] {
			t.Errorf("%s: bigquery engine %s, postgres engine %s", table, got[table], want[table])
		}
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM raw.mibotair_gestiones`); n != 0 {
		t.Errorf("the bigquery engine loaded %d raw rows", n)
	}
	if v := mustCount(t, pool, `SELECT version FROM etl.data_version`); v != 1 {
		t.Errorf("data version %d after one bigquery-engine run, want 1", v)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'success' AND step LIKE 'mart.%'`); n != 7 {
		t.Errorf("%d successful mart steps in the ledger, want 7", n)
	}
	// Each source table read counts as its successful step (status, freshness).
	names := etl.MustRegistry().Names()
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run_table WHERE status = 'success' AND rows_read > 0
		AND step = ANY($1)`, names); n != int64(len(names)) {
		t.Errorf("%d source tables with a successful read step, want %d", n, len(names))
	}
	if !strings.Contains(out, "mibotair_gestiones") || !strings.Contains(out, "mart.dashboard_data") {
		t.Errorf("the run's summary lacks the source reads or the served tables:\n%s", out)
	}

	// Once a run has created every table, the plan prices every statement.
	var again remotePlan
	if err := json.Unmarshal([]byte(bq("run-pipeline", "--engine", "bigquery", "--plan").stdout), &again); err != nil {
		t.Fatal(err)
	}
	if again.Note != "" || len(again.Statements) <= len(plan.Statements) {
		t.Errorf("plan after a run: %d statements (before: %d), note %q", len(again.Statements), len(plan.Statements), again.Note)
	}

	// Back to the PostgreSQL engine: its aux tables never saw the BigQuery build, so
	// its first transform rebuilds in full and ends where the reference run ended.
	res := bq("run-pipeline", "--source", "dir", "--dir", dir)
	if got := servedChecksums(t, pool); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after switching back to the postgres engine:\n%v\nwant\n%v\n%s", got, want, res.stderr)
	}
}
