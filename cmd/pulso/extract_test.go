package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery/bqtest"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

func TestExtractArgv(t *testing.T) {
	var got *extractOptions
	hook := func(a *app) *cobra.Command {
		return newExtractCmd(a, func(_ context.Context, o *extractOptions) error { got = o; return nil })
	}
	if code := parse(t, hook, "extract", "--out", "/tmp/x", "--tables", "pagos", "--since", "2025-07-01",
		"--until", "2025-07-02T10:00:00Z", "--format", "ndjson"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got.Out != "/tmp/x" || !slices.Equal(got.Tables, []string{"pagos"}) || got.Format != files.FormatNDJSON ||
		!got.Since.Equal(time.Date(2025, 7, 1, 5, 0, 0, 0, time.UTC)) ||
		!got.Until.Equal(time.Date(2025, 7, 2, 10, 0, 0, 0, time.UTC)) || got.DryRun {
		t.Fatalf("options %+v", got)
	}
	if code := parse(t, hook, "extract", "--dry-run"); code != 0 || !got.DryRun {
		t.Fatalf("--dry-run: exit %d, options %+v", code, got)
	}
	for _, argv := range [][]string{
		{"extract"}, // no --out
		{"extract", "--out", "x", "--format", "parquet"},
		{"extract", "--out", "x", "--since", "yesterday"},
		{"extract", "--out", "x", "--since", "2025-07-02", "--until", "2025-07-01"},
		{"extract", "--out", "x", "--tables", "nope"},
		{"extract", "--out", "x", "stray"},
	} {
		if code := parse(t, hook, argv...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", argv, code)
		}
	}
}

// TestExtractCredentialsErrorBeforeWork: an unreadable credentials file, or no
// Application Default Credentials, fails with exit 2 and a message saying what to do,
// before anything is written.
func TestExtractCredentialsErrorBeforeWork(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	env := []string{"PULSO_SOURCE_KIND=bigquery", "GOOGLE_APPLICATION_CREDENTIALS=" + filepath.Join(out, "missing.json"),
		"HOME=" + t.TempDir(), "CLOUDSDK_CONFIG=" + t.TempDir(), "GCE_METADATA_HOST=127.0.0.1:1"}
	res := runBinWith(t, t.Context(), env, "extract", "--out", out)
	if res.code != exitUsage || !strings.Contains(res.stderr, "Application Default Credentials") {
		t.Fatalf("ADC missing: exit %d\n%s", res.code, res.stderr)
	}
	res = runBinWith(t, t.Context(), append(env, "PULSO_BIGQUERY_CREDENTIALS_FILE=/nonexistent/key.json"), "extract", "--out", out)
	if res.code != exitUsage || !strings.Contains(res.stderr, "bigquery.credentials_file") ||
		!strings.Contains(res.stderr, "/nonexistent/key.json") {
		t.Fatalf("unreadable key: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("out dir created before the credential check: %v", err)
	}
}

// TestExtractBigQueryRoundTrip is the acceptance test: the small synthetic set
// is loaded into the BigQuery emulator; `pulso extract --source bigquery` writes
// landing files; `pulso load --source dir` of those files, `pulso load --source
// bigquery` directly, and `pulso load --source dir` of the synthetic landing files
// leave identical raw tables (every source and derived column, technical etl_*
// columns aside).
func TestExtractBigQueryRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	reg := etl.MustRegistry()
	demo := filepath.Join(t.TempDir(), "demo")
	if _, err := synthetic.Generate(ctx, synthetic.Options{OutDir: demo, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	bqEnv := demoEmulator(t, demo, reg)

	// Dry run: bytes per table and window, nothing written.
	res := runBinWith(t, ctx, bqEnv, "--as-of", "2025-07-15", "--source", "bigquery", "extract", "--dry-run")
	if res.code != exitOK || !strings.Contains(res.stdout, "trandeuda") || !strings.Contains(res.stdout, "total") {
		t.Fatalf("extract --dry-run: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	out := filepath.Join(t.TempDir(), "extracted")
	res = runBinWith(t, ctx, bqEnv, "--as-of", "2025-07-15", "--source", "bigquery", "extract", "--out", out, "--format", "csv.gz")
	if res.code != exitOK {
		t.Fatalf("extract: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var man etl.ExtractManifest
	b, err := os.ReadFile(filepath.Join(out, files.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if len(man.Tables) != len(reg.Tables()) || man.Source != "bigquery" {
		t.Fatalf("manifest: %s", b)
	}
	for _, mt := range man.Tables {
		tb, _ := reg.Table(mt.Table)
		if mt.Rows == 0 || mt.File != mt.Table+".csv.gz" || len(mt.SHA256) != 64 {
			t.Errorf("manifest entry %+v", mt)
		}
		if tb.Mode == etl.ModeIncremental && (mt.MaxIncremental == nil || mt.WindowTo == nil ||
			!mt.WindowTo.Equal(time.Date(2025, 7, 16, 5, 0, 0, 0, time.UTC))) {
			t.Errorf("manifest entry %s: window/max incremental %+v", mt.Table, mt)
		}
	}

	fromFiles, fromExtract, direct := pgtest.Fresh(t), pgtest.Fresh(t), pgtest.Fresh(t)
	load := func(url string, env []string, args ...string) {
		t.Helper()
		res := runBinWith(t, ctx, append(env, "DATABASE_URL="+url), append([]string{"--as-of", "2025-07-15"}, args...)...)
		if res.code != exitOK && res.code != exitRejects {
			t.Fatalf("%v: exit %d\n%s\n%s", args, res.code, res.stdout, res.stderr)
		}
	}
	load(fromFiles, nil, "--source", "dir", "--dir", demo, "load")
	load(fromExtract, nil, "--source", "dir", "--dir", out, "load")
	load(direct, bqEnv, "--source", "bigquery", "load")

	want := rawContents(t, fromFiles, reg)
	for name, url := range map[string]string{"extract → load --source dir": fromExtract, "load --source bigquery": direct} {
		got := rawContents(t, url, reg)
		for _, tb := range reg.Tables() {
			w, g := want[tb.Name], got[tb.Name]
			if len(w) == 0 {
				t.Errorf("%s: no rows loaded from the synthetic files", tb.Name)
			}
			if !slices.Equal(w, g) {
				t.Errorf("%s: raw.%s differs from the synthetic files' load: %d vs %d rows; first difference: %s",
					name, tb.Name, len(g), len(w), firstDiff(g, w))
			}
		}
	}
}

// demoEmulator starts the BigQuery emulator holding the landing files of dir as its
// source tables, and returns the environment pointing pulso at it.
func demoEmulator(t *testing.T, dir string, reg *etl.Registry) []string {
	t.Helper()
	const uid = "UIDE2E"
	tables, err := bqtest.TablesFromDir(t.Context(), dir, reg, func(tb *etl.Table) string {
		return strings.ReplaceAll(tb.BQTable, "{uid}", uid)
	})
	if err != nil {
		t.Fatal(err)
	}
	// pulso_transform (bigquery.transform_dataset's default) for the bigquery engine.
	emu := bqtest.StartT(t, bqtest.Fixture{Project: "pulso-e2e",
		Datasets: []bqtest.Dataset{{ID: "cobranzas", Tables: tables}, {ID: "pulso_transform"}}})
	return []string{"PULSO_BIGQUERY_ENDPOINT=" + emu.Endpoint, "PULSO_BIGQUERY_PROJECT=pulso-e2e",
		"PULSO_BIGQUERY_DATASET=cobranzas", "PULSO_BIGQUERY_UID=" + uid, "PULSO_BIGQUERY_MAX_RETRIES=1"}
}

// rawContents reads every raw table's source and derived columns as row texts, sorted.
func rawContents(t *testing.T, url string, reg *etl.Registry) map[string][]string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	out := map[string][]string{}
	for _, tb := range reg.Tables() {
		cols := make([]string, 0, tb.Width())
		for _, c := range tb.ColumnNames() {
			cols = append(cols, pgx.Identifier{c}.Sanitize())
		}
		q := fmt.Sprintf("SELECT (%s)::text FROM %s ORDER BY 1", strings.Join(cols, ", "), tb.RawTable())
		rows, err := conn.Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out[tb.Name] = texts
	}
	return out
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q vs %q", a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}
