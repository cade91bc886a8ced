//go:build bench

// Benchmarks P1–P3 of bars.md, run by `make bench-load`: the pulso binary against
// `psql \copy` of the same file into an identical keyed table, in the same run. It
// prints ratios; it never fails on time.
package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

const benchTable = "mibotair_gestiones"

func TestBenchLoad(t *testing.T) {
	ctx := context.Background()
	bin, dbURL := benchSetup(t, "pulso_bench_load")
	work := t.TempDir()
	reg := etl.MustRegistry()
	tbl, _ := reg.Table(benchTable)
	// PULSO_BENCH_DIR keeps the generated files between runs (they are deterministic).
	data := os.Getenv("PULSO_BENCH_DIR")
	if data == "" {
		data = work
	}
	dir1M, dir100k := filepath.Join(data, "1m"), filepath.Join(data, "100k")
	start := time.Now()
	writeGestiones(t, tbl, dir1M, 1_000_000)
	writeGestiones(t, tbl, dir100k, 100_000)
	fmt.Printf("landing files ready in %s\n", time.Since(start).Round(time.Millisecond))

	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	benchExec(t, db, "CREATE TABLE public.bench_ref (LIKE raw."+benchTable+" INCLUDING ALL)")
	cols := strings.Join(tbl.ColumnNames()[:len(tbl.Columns)], ", ")
	file1M := filepath.Join(dir1M, benchTable+".csv")

	reset := func() {
		benchExec(t, db, "TRUNCATE raw."+benchTable+", etl.landing_file, etl.watermark, etl.pending_change, etl.reject_run, etl.reject")
		benchExec(t, db, "TRUNCATE public.bench_ref")
		benchExec(t, db, "CHECKPOINT")
	}
	psqlCopy := func() time.Duration {
		t0 := time.Now()
		cmd := exec.Command("psql", dbURL, "-v", "ON_ERROR_STOP=1", "-qc",
			`\copy public.bench_ref (`+cols+`) FROM '`+file1M+`' WITH (FORMAT csv, HEADER true)`)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql copy: %v\n%s", err, out)
		}
		return time.Since(t0)
	}

	trials := 3
	if n, err := strconv.Atoi(os.Getenv("PULSO_BENCH_TRIALS")); err == nil && n > 0 {
		trials = n
	}
	var refs, p1s, p2s []time.Duration
	var rss1M, rss100k int64
	for i := 0; i < trials; i++ {
		reset()
		refs = append(refs, psqlCopy())
		benchExec(t, db, "TRUNCATE public.bench_ref")
		benchExec(t, db, "CHECKPOINT")
		d, rss := runPulso(t, bin, dbURL, "--as-of", "2026-01-01", "load", "--source", "dir", "--dir", dir1M, "--tables", benchTable)
		p1s = append(p1s, d)
		rss1M = max(rss1M, rss)
		benchExec(t, db, "CHECKPOINT")
		d, _ = runPulso(t, bin, dbURL, "--as-of", "2026-01-01", "load", "--source", "dir", "--dir", dir1M, "--tables", benchTable, "--full")
		p2s = append(p2s, d)
	}
	var inserted, updated, unchanged int64
	if err := db.QueryRow(ctx, `SELECT rows_inserted, rows_updated, rows_unchanged FROM etl.run_table
		WHERE step = $1 AND status = 'success' ORDER BY id DESC LIMIT 1`, benchTable).Scan(&inserted, &updated, &unchanged); err != nil {
		t.Fatal(err)
	}
	reset()
	_, rss100k = runPulso(t, bin, dbURL, "--as-of", "2026-01-01", "load", "--source", "dir", "--dir", dir100k, "--tables", benchTable)

	ref, p1, p2 := median(refs), median(p1s), median(p2s)
	fmt.Printf("\n== bars.md P1–P3 (median of %d trials, same run) ==\n", trials)
	fmt.Printf("reference psql \\copy 1M rows into keyed table: %s (%.0f rows/s)\n", ref.Round(time.Millisecond), 1e6/ref.Seconds())
	fmt.Printf("P1 pulso load, empty table:    %s (%.0f rows/s)  ratio %.2fx  (bar ≤ 1.3x)\n", p1.Round(time.Millisecond), 1e6/p1.Seconds(), p1.Seconds()/ref.Seconds())
	fmt.Printf("P2 pulso load --full, merge:   %s  ratio %.2fx  (bar ≤ 2.5x); rows inserted %d, updated %d, unchanged %d (bar: 0 rewritten)\n",
		p2.Round(time.Millisecond), p2.Seconds()/ref.Seconds(), inserted, updated, unchanged)
	fmt.Printf("P3 peak RSS: 100k rows %.1f MB, 1M rows %.1f MB, growth %.1f%% (bar < 20%%, < 200 MB)\n",
		float64(rss100k)/1024, float64(rss1M)/1024, 100*float64(rss1M-rss100k)/float64(rss100k))
	fmt.Printf("trials: psql %v; P1 %v; P2 %v\n", refs, p1s, p2s)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func benchExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// benchSetup builds the binary and creates a migrated database dropped at the end.
func benchSetup(t *testing.T, name string) (bin, dbURL string) {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("PULSO_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	bin = filepath.Join(t.TempDir(), "pulso")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dbName := fmt.Sprintf("%s_%d", name, os.Getpid())
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL unreachable (%v): start it with `make services`", err)
	}
	benchExec(t, admin, "CREATE DATABASE "+dbName)
	t.Cleanup(func() {
		benchExec(t, admin, "DROP DATABASE "+dbName+" WITH (FORCE)")
		admin.Close(ctx)
	})
	dbURL = strings.Replace(base, "/postgres?", "/"+dbName+"?", 1)
	runPulso(t, bin, dbURL, "migrate", "up")
	return bin, dbURL
}

// runPulso runs the binary and returns its wall time and peak RSS in KiB.
func runPulso(t *testing.T, bin, dbURL string, args ...string) (time.Duration, int64) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--database-url", dbURL, "--log-format", "json"}, args...)...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		t.Fatalf("pulso %v: %v\n%s", args, err, out)
	}
	return d, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// writeGestiones writes n call-centre gestiones with unique uids, shaped like the real
// export (23 columns, a few NULLs, Lima working hours in UTC).
func writeGestiones(t *testing.T, tbl *etl.Table, dir string, n int) {
	t.Helper()
	path := filepath.Join(dir, benchTable+".csv")
	if _, err := os.Stat(path); err == nil {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := files.NewWriter(bw, tbl, files.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	vals := make([]string, len(tbl.Columns))
	nulls := make([]bool, len(tbl.Columns))
	idx := func(name string) int { return tbl.Index(name) }
	codes := []string{"CONTACTO EFECTIVO", "NO CONTACTO", "CONTACTO NO EFECTIVO"}
	day0 := time.Date(2025, 6, 2, 13, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		clear(nulls)
		ts := day0.Add(time.Duration(rng.IntN(35*24*3600)) * time.Second)
		vals[idx("uid")] = fmt.Sprintf("c%09d-%04x", i, rng.IntN(65536))
		vals[idx("campaign_id")] = fmt.Sprintf("%d", 100+rng.IntN(4))
		vals[idx("campaign_name")] = fmt.Sprintf("COLA_%d", rng.IntN(4))
		vals[idx("document")] = fmt.Sprintf("%08d", rng.IntN(60000))
		vals[idx("management")] = codes[rng.IntN(3)]
		vals[idx("sub_management")] = "SUB " + codes[rng.IntN(3)]
		vals[idx("origin")] = "OUTBOUND"
		vals[idx("n1")] = codes[rng.IntN(3)]
		vals[idx("n2")] = "PROMESA DE PAGO"
		vals[idx("n3")] = "TOTAL"
		vals[idx("observacion")] = "cliente indica que pagara el fin de semana"
		vals[idx("extra")], nulls[idx("extra")] = "", true
		vals[idx("project")] = "TELEFONICA"
		vals[idx("client")] = "145"
		vals[idx("nombre_agente")] = fmt.Sprintf("Agente %02d", rng.IntN(40))
		vals[idx("correo_agente")] = fmt.Sprintf("agente%02d@cobranzas.pe", rng.IntN(40))
		vals[idx("url")] = fmt.Sprintf("https://rec.example/%d.mp3", i)
		vals[idx("phone")] = fmt.Sprintf("9%08d", rng.IntN(1e8))
		vals[idx("date")] = etl.FormatTimestamp(ts)
		vals[idx("fecha_compromiso")] = ts.AddDate(0, 0, 3).Format(time.DateOnly)
		vals[idx("monto_compromiso")] = fmt.Sprintf("%d.%02d", rng.IntN(900), rng.IntN(100))
		vals[idx("weight")] = fmt.Sprintf("%d", 1+rng.IntN(10))
		vals[idx("duracion")] = fmt.Sprintf("%d", rng.IntN(600))
		if err := w.Write(vals, nulls); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}
