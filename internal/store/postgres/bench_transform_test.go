//go:build bench

// P4 of bars.md, run by `make bench-transform`: a full `transform --full-rebuild` of
// `pulso demo --scale large`, against the sum of one plain GROUP BY pass over each raw
// table measured in the same run; then an incremental transform after ~1% new
// gestiones and payments. It prints figures and ratios; it never fails on time.
package postgres

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
)

func TestBenchTransform(t *testing.T) {
	dir := os.Getenv("PULSO_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	asOf := demoAsOf
	start := time.Now()
	if _, err := synthetic.Generate(context.Background(), synthetic.Options{OutDir: dir, AsOf: asOf,
		Scale: synthetic.Large}); err != nil {
		t.Fatal(err)
	}
	t.Logf("generate large: %v", time.Since(start).Round(time.Millisecond))
	e := newTFEnv(t)
	start = time.Now()
	e.load(dir, asOf)
	t.Logf("load: %v", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	for _, tbl := range e.reg.Tables() {
		if _, err := e.pool.Exec(ctx, "VACUUM ANALYZE raw."+tbl.Name); err != nil {
			t.Fatal(err)
		}
	}

	// Reference: one plain GROUP BY pass over each raw table, same run, same database.
	refs := map[string]string{
		"calendario":            "archivo",
		"asignaciones":          "archivo",
		"trandeuda":             "fecha_proceso",
		"pagos":                 "fecha_pago",
		"voicebot_gestiones":    "document",
		"mibotair_gestiones":    "document",
		"homologacion_mibotair": "n_1",
		"homologacion_voicebot": "bot_management",
		"ejecutivos":            "id_cliente",
	}
	var ref time.Duration
	for tbl, col := range refs {
		s := time.Now()
		if _, err := e.pool.Exec(ctx, fmt.Sprintf(`SELECT %s, count(*) FROM raw.%s GROUP BY 1`, col, tbl)); err != nil {
			t.Fatal(err)
		}
		ref += time.Since(s)
	}

	full := func(label string) time.Duration {
		s := time.Now()
		res := e.transform(asOf, tfOpts{full: true})
		d := time.Since(s)
		for _, st := range res.Steps {
			t.Logf("  %-28s del %9d ins %9d %8v", st.Step, st.Deleted, st.Inserted, st.Duration.Round(time.Millisecond))
		}
		t.Logf("%s: %v", label, d.Round(time.Millisecond))
		return d
	}
	// The first transform consumes the load's pending changes (everything is new).
	s := time.Now()
	e.transform(asOf, tfOpts{})
	first := time.Since(s)
	fullTime := full("full rebuild")

	// ~1% new gestiones and payments, on the last day, as new landing files.
	nGest := addRows(t, dir, "voicebot_gestiones", "2025-07-15.csv", "2025-07-15_extra.csv", 0.01*1056449*0.65, "x")
	nGest += addRows(t, dir, "mibotair_gestiones", "2025-07-15.csv", "2025-07-15_extra.csv", 0.01*1056449*0.35, "x")
	nPagos := addRows(t, dir, "pagos", "2025-07-15.csv", "2025-07-15_extra.csv", 0.01*53650, "")
	s = time.Now()
	e.load(dir, asOf)
	loadInc := time.Since(s)
	s = time.Now()
	res := e.transform(asOf, tfOpts{})
	inc := time.Since(s)
	for _, st := range res.Steps {
		t.Logf("  %-28s %-8s del %9d ins %9d %8v", st.Step, st.Status, st.Deleted, st.Inserted, st.Duration.Round(time.Millisecond))
	}

	t.Logf("P4 reference (one GROUP BY pass over each raw table): %v", ref.Round(time.Millisecond))
	t.Logf("P4 first transform (all pending changes): %v", first.Round(time.Millisecond))
	t.Logf("P4 full rebuild: %v = %.1fx the reference (bar: < 60 s wall)", fullTime.Round(time.Millisecond),
		fullTime.Seconds()/ref.Seconds())
	t.Logf("incremental: +%d gestiones +%d pagos, load %v, transform %v = %.1f%% of the full rebuild",
		nGest, nPagos, loadInc.Round(time.Millisecond), inc.Round(time.Millisecond), 100*inc.Seconds()/fullTime.Seconds())
}

// addRows writes a new landing file with n copies of rows of an existing file, with a
// new key: uids prefixed (gestiones) or amounts moved by 0.01 (pagos).
func addRows(t *testing.T, dir, table, from, to string, n float64, prefix string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, table, from))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("%s has no %s", table, name)
		return -1
	}
	out := [][]string{head}
	for i := 0; len(out)-1 < int(n); i++ {
		r := append([]string(nil), recs[1+i%(len(recs)-1)]...)
		if prefix != "" {
			c := col("uid")
			r[c] = fmt.Sprintf("%s%d-%s", prefix, i, r[c])
		} else {
			c := col("monto_cancelado")
			var m float64
			fmt.Sscanf(r[c], "%f", &m)
			r[c] = fmt.Sprintf("%.2f", m+0.01*float64(1+i/(len(recs)-1)))
			r[col("archivo")] = strings.TrimSuffix(r[col("archivo")], "_1") + "_9"
		}
		out = append(out, r)
	}
	g, err := os.Create(filepath.Join(dir, table, to))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(g)
	if err := w.WriteAll(out); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	return len(out) - 1
}
