//go:build bench

// Benchmark P5 (and P3 for run-pipeline) of bars.md, run by `make bench-pipeline`: an
// incremental run-pipeline over added files holding ~1% new rows, against the full
// first run of the large synthetic set, in the same run. It prints; it never fails on
// time.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	fmt.Printf("P5 ratio incremental/full: %.1f%% (bar ≤ 10%%)\n", 100*inc.Seconds()/full.Seconds())
}

// addOnePercent writes new landing files holding ~1% of the gestiones and payments as
// new rows (new uids; payments one day later), the shape of one more delivery.
func addOnePercent(t *testing.T, dir string) int {
	t.Helper()
	total := 0
	for _, table := range []string{"voicebot_gestiones", "mibotair_gestiones", "pagos"} {
		files, _ := filepath.Glob(filepath.Join(dir, table, "*.csv"))
		var header string
		var rows []string
		n := 0
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			first := true
			for sc.Scan() {
				line := sc.Text()
				if first {
					header, first = line, false
					continue
				}
				n++
				if n%100 == 0 {
					rows = append(rows, line)
				}
			}
			fh.Close()
		}
		out := filepath.Join(dir, table, "9999-increment.csv")
		var b strings.Builder
		b.WriteString(header + "\n")
		for i, line := range rows {
			fields := strings.SplitN(line, ",", 2)
			switch table {
			case "pagos":
				// archivo is the third column: a new load file makes a new raw key.
				parts := strings.SplitN(line, ",", 4)
				parts[2] = "PAGOS_INCREMENT_1"
				b.WriteString(strings.Join(parts, ",") + "\n")
			default:
				b.WriteString(fmt.Sprintf("inc-%d-%s,%s\n", i, fields[0], fields[1]))
			}
		}
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		total += len(rows)
	}
	return total
}
