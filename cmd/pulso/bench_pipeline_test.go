//go:build bench

// Benchmark P5 (and P3 for run-pipeline) of bars.md, run by `make bench-pipeline`: an
// incremental run-pipeline over added files holding ~1% new rows, against the full
// first run of the large synthetic set, in the same run. It prints; it never fails on
// time.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestBenchPipeline(t *testing.T) {
	bin, dbURL := benchSetup(t, "pulso_bench_pipe")
	data := filepath.Join(t.TempDir(), "large")
	t0 := time.Now()
	if out, err := exec.Command(bin, "demo", "--scale", "large", "--out", data).CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	fmt.Printf("large synthetic set generated in %s\n", time.Since(t0).Round(time.Millisecond))

	args := []string{"--as-of", "2025-07-15", "run-pipeline", "--source", "dir", "--dir", data}
	full, fullRSS := runPulso(t, bin, dbURL, args...)

	added := addOnePercent(t, data)
	inc, incRSS := runPulso(t, bin, dbURL, args...)

	fmt.Printf("\n== bars.md P5 / P3 (same run) ==\n")
	fmt.Printf("full first run-pipeline (large):     %s, peak RSS %.1f MB\n", full.Round(time.Millisecond), float64(fullRSS)/1024)
	fmt.Printf("incremental run, %d new rows (~1%%):  %s, peak RSS %.1f MB\n", added, inc.Round(time.Millisecond), float64(incRSS)/1024)
	fmt.Printf("P5 ratio incremental/full: %.1f%% (bar ≤ 10%%, target ≤ 5%%)\n", 100*inc.Seconds()/full.Seconds())
	// Where each run spent its time, from the ledger: raw steps vs transform steps.
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	rows, err := db.Query(context.Background(), `
		SELECT run_id, step LIKE '%.%' AS transform, round(extract(epoch FROM max(finished_at) - min(started_at))::numeric, 1)
		FROM etl.run_table GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var run int64
		var transform bool
		var secs float64
		if err := rows.Scan(&run, &transform, &secs); err != nil {
			t.Fatal(err)
		}
		kind := "load"
		if transform {
			kind = "transform"
		}
		fmt.Printf("  run %d %-9s %.1f s\n", run, kind, secs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The incremental run's steps, slowest first: where a change still costs.
	rows, err = db.Query(context.Background(), `
		SELECT step, status, round(extract(epoch FROM finished_at - started_at)::numeric, 2)
		FROM etl.run_table WHERE run_id = (SELECT max(run_id) FROM etl.run_table)
		ORDER BY finished_at - started_at DESC NULLS LAST LIMIT 12`)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("incremental run, slowest steps:\n")
	for rows.Next() {
		var step, status string
		var secs float64
		if err := rows.Scan(&step, &status, &secs); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("  %-30s %-8s %.2f s\n", step, status, secs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// addOnePercent writes new landing files holding ~1% of the gestiones and payments as
// new rows, shaped like one more delivery: copies of rows of the last few days (new
// uids; payments under a new load file), so the change lands where real ones do.
func addOnePercent(t *testing.T, dir string) int {
	t.Helper()
	total := 0
	for _, table := range []string{"voicebot_gestiones", "mibotair_gestiones", "pagos"} {
		files, _ := filepath.Glob(filepath.Join(dir, table, "*.csv"))
		var header string
		var all int
		var recent []string
		for i, f := range files {
			lines := readLines(t, f)
			header = lines[0]
			all += len(lines) - 1
			if i >= len(files)-3 {
				recent = append(recent, lines[1:]...)
			}
		}
		want := max(all/100, 1)
		stride := max(len(recent)/want, 1)
		var b strings.Builder
		b.WriteString(header + "\n")
		n := 0
		for i := 0; i < len(recent) && n < want; i += stride {
			line := recent[i]
			if table == "pagos" {
				// archivo is the third column: a new load file makes a new raw key.
				parts := strings.SplitN(line, ",", 4)
				parts[2] = "PAGOS_INCREMENT_1"
				b.WriteString(strings.Join(parts, ",") + "\n")
			} else {
				fields := strings.SplitN(line, ",", 2)
				b.WriteString(fmt.Sprintf("inc-%d-%s,%s\n", i, fields[0], fields[1]))
			}
			n++
		}
		if err := os.WriteFile(filepath.Join(dir, table, "9999-increment.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
