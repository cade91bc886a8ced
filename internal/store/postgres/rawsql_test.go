package postgres

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the generated output")

const rawSQLGoldenDir = "testdata/rawsql"

// rawSQLKinds are the statements newTableSQL generates, with arguments of the Go
// types raw.go binds to each and the number of columns it scans from the result.
var rawSQLKinds = []struct {
	name string
	sql  func(tableSQL) string
	args func(*etl.Table) []any
	cols int
}{
	{"dedup", func(q tableSQL) string { return q.dedup }, func(*etl.Table) []any { return nil }, 0},
	{"merge_incremental", func(q tableSQL) string { return q.mergeIncremental },
		func(t *etl.Table) []any { return []any{int64(1), t.Name} }, 2},
	{"merge_full", func(q tableSQL) string { return q.mergeFull },
		func(*etl.Table) []any { return []any{int64(1)} }, 3},
	{"changes_from_raw", func(q tableSQL) string { return q.changesFromRaw },
		func(t *etl.Table) []any { return []any{int64(1), t.Name} }, 0},
}

func rawSQLGoldenName(table, kind string) string { return table + "." + kind + ".sql" }

// TestRawSQLGolden pins the text of every generated statement of every registry
// table, so a generator change shows up as a reviewed diff of the SQL it produces.
// Run with -update to rewrite the files.
func TestRawSQLGolden(t *testing.T) {
	t.Parallel()
	want := map[string]bool{}
	for _, tbl := range etl.MustRegistry().Tables() {
		q := newTableSQL(tbl)
		for _, k := range rawSQLKinds {
			name := rawSQLGoldenName(tbl.Name, k.name)
			want[name] = true
			// A trailing newline keeps the files well-formed text; the statement is the rest.
			got := k.sql(q) + "\n"
			path := filepath.Join(rawSQLGoldenDir, name)
			if *update {
				if err := os.MkdirAll(rawSQLGoldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: %v (run go test -run TestRawSQLGolden -update)", name, err)
				continue
			}
			if string(b) != got {
				t.Errorf("%s differs from the generated statement (-golden +generated; -update rewrites it):\n%s",
					name, lineDiff(string(b), got))
			}
		}
	}
	// A golden file nothing generates any more would pin SQL that no longer exists.
	entries, err := os.ReadDir(rawSQLGoldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if want[e.Name()] {
			continue
		}
		if *update {
			if err := os.Remove(filepath.Join(rawSQLGoldenDir, e.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: stale golden file, no table and statement kind generates it (-update removes it)", e.Name())
	}
}

// TestRawSQLPrepares checks that every generated statement is valid SQL against the
// migrated schema, in the session raw.go runs it in (its temp staging and reject
// tables, created by stepWriter.begin itself): parsed and described with the
// parameter and result counts raw.go binds and scans, and planned by EXPLAIN with
// arguments of the same Go types. Nothing is executed; the transaction rolls back.
func TestRawSQLPrepares(t *testing.T) {
	t.Parallel()
	store := NewStore(pgtest.DB(t), slog.New(slog.NewTextHandler(io.Discard, nil)), StoreOptions{})
	for _, tbl := range etl.MustRegistry().Tables() {
		t.Run(tbl.Name, func(t *testing.T) {
			ctx := t.Context()
			// NoDirect: the direct path of an empty incremental table creates no staging table.
			w := &stepWriter{s: store, t: tbl, st: etl.Step{Table: tbl, NoDirect: true}, q: newTableSQL(tbl)}
			t.Cleanup(func() {
				if w.tx != nil {
					if err := w.tx.Rollback(context.Background()); err != nil {
						t.Errorf("rollback: %v", err)
					}
				}
				w.release(context.Background())
			})
			if err := w.begin(ctx); err != nil {
				t.Fatalf("begin: %v", err)
			}
			for _, k := range rawSQLKinds {
				sql, args := k.sql(w.q), k.args(tbl)
				// The unnamed statement: replaced by the next Parse, nothing to deallocate.
				sd, err := w.tx.Conn().PgConn().Prepare(ctx, "", sql, nil)
				if err != nil {
					t.Errorf("%s: prepare: %v\n%s", k.name, err, sql)
					continue
				}
				if len(sd.ParamOIDs) != len(args) {
					t.Errorf("%s: %d parameters; raw.go binds %d", k.name, len(sd.ParamOIDs), len(args))
				}
				if len(sd.Fields) != k.cols {
					t.Errorf("%s: %d result columns; raw.go scans %d", k.name, len(sd.Fields), k.cols)
				}
				// Planning catches what parse analysis defers to the planner (e.g. an
				// ON CONFLICT target with no matching unique index).
				rows, err := w.tx.Query(ctx, "EXPLAIN "+sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
				if err != nil {
					t.Errorf("%s: explain: %v\n%s", k.name, err, sql)
					continue
				}
				plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Errorf("%s: explain: %v\n%s", k.name, err, sql)
					continue
				}
				if len(plan) == 0 {
					t.Errorf("%s: EXPLAIN returned no plan", k.name)
				}
			}
		})
	}
}

// lineDiff is a line diff of a and b (longest common subsequence): "-" lines only in
// a, "+" lines only in b, "  " lines in both, three of them around each change and
// "…" for the rest. Tabs are shown as → so indentation changes are visible. (The
// package's diff helper compares line sets, blind to order and repeats.)
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	show := func(s string) string { return strings.ReplaceAll(s, "\t", "→") }
	var out []string
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, "  "+show(x[i]))
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+show(x[i]))
			i++
		default:
			out = append(out, "+ "+show(y[j]))
			j++
		}
	}
	// Keep three lines of context around each change.
	const around = 3
	keep := make([]bool, len(out))
	for k, l := range out {
		if !strings.HasPrefix(l, "  ") {
			for c := max(0, k-around); c <= min(len(out)-1, k+around); c++ {
				keep[c] = true
			}
		}
	}
	var shown []string
	for k, l := range out {
		switch {
		case keep[k]:
			shown = append(shown, l)
		case k == 0 || keep[k-1]:
			shown = append(shown, "  …")
		}
	}
	return strings.Join(shown, "\n")
}

func TestRawSQLLineDiff(t *testing.T) {
	t.Parallel()
	got := lineDiff("a\nb\nc\n", "a\nB\nc\nd\n")
	want := []string{"  a", "- b", "+ B", "  c", "+ d", "  "}
	if !slices.Equal(strings.Split(got, "\n"), want) {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if got := lineDiff("\tx", "  x"); got != "- →x\n+   x" {
		t.Errorf("lineDiff of an indentation change: %q", got)
	}
	long := "1\n2\n3\n4\n5\n6\n7\n8\n9"
	got = lineDiff(long, strings.Replace(long, "8", "eight", 1))
	want = []string{"  …", "  5", "  6", "  7", "- 8", "+ eight", "  9"}
	if !slices.Equal(strings.Split(got, "\n"), want) {
		t.Errorf("lineDiff context:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
