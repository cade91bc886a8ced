package bigquery

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery/bqtest"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
)

// The emulator tier: github.com/goccy/bigquery-emulator v0.8.1 (a real BigQuery REST
// server over ZetaSQL/SQLite) runs every sql/bigquery/*.sql through the official
// client. Its fixture holds the small synthetic set (dataset "synthetic", loaded from
// the landing files `pulso demo` writes) and hand-made edge rows (dataset "edge").
// A missing emulator binary fails these tests; they never skip.

const (
	emuProject = "pulso-emu"
	emuUID     = "UIDTEST"
)

var (
	emu        *bqtest.Emulator
	emuErr     error
	demoDir    string
	edgeTables map[string]bqtest.Table
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "pulso-bq-emu-")
		if err != nil {
			emuErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		emu, emuErr = startEmulator(dir)
		defer emu.Stop()
		return m.Run()
	}()
	os.Exit(code)
}

func startEmulator(dir string) (*bqtest.Emulator, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := os.Stat(bqtest.BinaryPath()); err != nil {
		return nil, fmt.Errorf("%w (looked at %s)", bqtest.ErrNoEmulator, bqtest.BinaryPath())
	}
	reg := etl.MustRegistry()
	demoDir = dir + "/demo"
	if _, err := synthetic.Generate(ctx, synthetic.Options{OutDir: demoDir, Registry: reg}); err != nil {
		return nil, err
	}
	name := func(t *etl.Table) string { return strings.ReplaceAll(t.BQTable, "{uid}", emuUID) }
	syn, err := bqtest.TablesFromDir(ctx, demoDir, reg, name)
	if err != nil {
		return nil, err
	}
	edge := edgeFixture(reg, name)
	edgeTables = map[string]bqtest.Table{}
	for _, t := range edge {
		edgeTables[t.Logical.Name] = t
	}
	return bqtest.Start(ctx, dir, bqtest.Fixture{Project: emuProject, Datasets: []bqtest.Dataset{
		{ID: "synthetic", Tables: syn}, {ID: "edge", Tables: edge},
	}})
}

func needEmulator(t *testing.T) *bqtest.Emulator {
	t.Helper()
	if emuErr != nil {
		t.Fatalf("bigquery emulator: %v", emuErr)
	}
	return emu
}

func emuSource(t *testing.T, dataset string, pageSize int) *Source {
	e := needEmulator(t)
	return newTestSource(t, Config{
		Project: e.Project, Dataset: dataset, UID: emuUID, QueryTimeout: 2 * time.Minute,
		MaxRetries: 2, EjecutivosIDCliente: 145, Command: "test", RunID: "1",
		Endpoint: e.Endpoint, PageSize: pageSize,
		RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
}

// edgeFixture holds, per table, a row with every column NULL except those the window
// and filters need, plus boundary rows: incremental values on both sides of Lima and
// UTC midnights, and filter values on both sides of the pushed-down predicates.
func edgeFixture(reg *etl.Registry, name func(*etl.Table) string) []bqtest.Table {
	var out []bqtest.Table
	for _, t := range reg.Tables() {
		ft := bqtest.Table{Logical: t, ID: name(t)}
		row := func(set map[string]string) []string {
			r := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				r[i] = set[c.Name]
			}
			return r
		}
		keep := map[string]string{}
		if t.Incremental != "" {
			keep[t.Incremental] = "2025-06-03T12:00:00Z"
		}
		if m := moneyColumn(t); m != "" && slices.Contains(t.Filters, etl.FilterPositiveAmount) {
			keep[m] = "10.5"
		}
		if slices.Contains(t.Filters, etl.FilterIDCliente) {
			keep["id_cliente"] = "145"
		}
		ft.Rows = append(ft.Rows, row(keep)) // NULL in every other column
		if t.Incremental != "" {
			for i, ts := range []string{
				"2025-06-03T04:59:59.999999Z", // 23:59:59.999999 Lima on 06-02: before the window
				"2025-06-03T05:00:00Z",        // 00:00 Lima 06-03: the window's first instant
				"2025-06-04T00:00:00Z",        // UTC midnight, 19:00 Lima 06-03: inside
				"2025-06-04T04:59:59.999999Z", // last instant of Lima 06-03: inside
				"2025-06-04T05:00:00Z",        // 00:00 Lima 06-04: the window's end, excluded
			} {
				set := map[string]string{t.Incremental: ts}
				for k, v := range keep {
					if k != t.Incremental {
						set[k] = v
					}
				}
				set[markColumn(t)] = fmt.Sprintf("boundary-%d", i)
				ft.Rows = append(ft.Rows, row(set))
			}
		}
		if m := moneyColumn(t); m != "" && slices.Contains(t.Filters, etl.FilterPositiveAmount) {
			for i, v := range []struct{ monto, motivo string }{
				{"0", ""}, {"0.004", ""}, {"0.005", ""}, {"0.0049999", ""}, {"-3", ""}, {"", ""},
				{"7", "  "}, {"7", "RECHAZADO"}, {"7", " x "},
			} {
				set := map[string]string{m: v.monto, "motivo_rechazo": v.motivo, t.Incremental: "2025-06-03T12:00:00Z"}
				set[markColumn(t)] = fmt.Sprintf("filter-%d", i)
				ft.Rows = append(ft.Rows, row(set))
			}
		}
		if slices.Contains(t.Filters, etl.FilterIDCliente) {
			ft.Rows = append(ft.Rows,
				row(map[string]string{"correo_name": "a@x.pe", "nombre": "A", "id_cliente": "146"}),
				row(map[string]string{"correo_name": "b@x.pe", "nombre": "B", "id_cliente": "145"}),
				row(map[string]string{"correo_name": "b@x.pe", "nombre": "B", "id_cliente": "145"}),
				row(map[string]string{"correo_name": "c@x.pe", "nombre": "C"}),
			)
		}
		out = append(out, ft)
	}
	return out
}

// outcome is what the one conversion path makes of a set of records.
type outcome struct {
	accepted              []string // canonical values, sorted
	filtered, filteredRec int
	rejected              []string // reason+column, sorted
}

func convertAll(t *etl.Table, recs [][]string, w etl.Window) outcome {
	conv := etl.NewConverter(t, etl.ConvertOptions{Window: w, EjecutivosIDCliente: 145})
	var o outcome
	var row etl.Row
	var rej etl.Reject
	for _, f := range recs {
		rec := etl.Record{Fields: f}
		switch conv.Convert(&rec, &row, &rej) {
		case etl.Accepted:
			o.accepted = append(o.accepted, strings.Join(row.Values, "|")+fmt.Sprint(row.Nulls))
		case etl.Filtered, etl.OutsideWindow:
			o.filtered++
		case etl.FilteredRecorded:
			o.filteredRec++
		case etl.Rejected:
			o.rejected = append(o.rejected, rej.Reason+":"+rej.Column)
		}
	}
	sort.Strings(o.accepted)
	sort.Strings(o.rejected)
	return o
}

func fileRecords(t *testing.T, tb *etl.Table) [][]string {
	t.Helper()
	src := files.New(demoDir, files.Options{}, nil)
	parts, err := src.Parts(t.Context(), tb)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, p := range parts {
		rd, err := src.Open(t.Context(), tb, p, etl.Window{})
		if err != nil {
			t.Fatal(err)
		}
		var rec etl.Record
		for {
			ok, err := rd.Next(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			out = append(out, slices.Clone(rec.Fields))
		}
		rd.Close()
	}
	return out
}

// TestEmulatorEveryQueryMatchesFiles runs every extraction query over the synthetic
// set, in pages of 3,000 rows (trandeuda: 9 pages, voicebot 2), and checks that the one conversion
// path gives the same accepted rows and the same rejects as the landing files, the
// rows the files record as filtered_* never arriving from BigQuery (filters pushed
// down, @id_cliente and DISTINCT included).
func TestEmulatorEveryQueryMatchesFiles(t *testing.T) {
	s := emuSource(t, "synthetic", 3000)
	for _, tb := range etl.MustRegistry().Tables() {
		t.Run(tb.Name, func(t *testing.T) {
			bqRecs, err := readAll(t, s, tb.Name, etl.Window{})
			if err != nil {
				t.Fatal(err)
			}
			fileRecs := fileRecords(t, tb)
			got, want := convertAll(tb, bqRecs, etl.Window{}), convertAll(tb, fileRecs, etl.Window{})
			if got.filteredRec != 0 {
				t.Errorf("%d rows from BigQuery failed a source filter: the query did not push it down", got.filteredRec)
			}
			if !slices.Equal(got.accepted, want.accepted) {
				t.Errorf("accepted rows differ: BigQuery %d, files %d", len(got.accepted), len(want.accepted))
				for _, d := range diff(got.accepted, want.accepted, 5) {
					t.Log(d)
				}
			}
			if !slices.Equal(got.rejected, want.rejected) {
				t.Errorf("rejects differ:\nBigQuery %v\n   files %v", got.rejected, want.rejected)
			}
			wantRead := len(fileRecs) - want.filteredRec
			if tb.Distinct {
				wantRead -= want.filtered // identical rows collapse in the query
			}
			if len(bqRecs) != wantRead {
				t.Errorf("BigQuery returned %d rows, want %d (files %d, %d filtered)", len(bqRecs), wantRead, len(fileRecs), want.filteredRec)
			}
			if len(want.accepted) == 0 {
				t.Error("the synthetic set has no accepted rows for this table")
			}
		})
	}
}

func diff(a, b []string, n int) []string {
	var out []string
	am := map[string]int{}
	for _, x := range a {
		am[x]++
	}
	for _, x := range b {
		am[x]--
	}
	for k, v := range am {
		if v != 0 && len(out) < n {
			out = append(out, fmt.Sprintf("%+d × %s", v, k))
		}
	}
	return out
}

// TestEmulatorWindowsAndNulls: the window [Lima 06-03 00:00, Lima 06-04 00:00) keeps
// exactly its boundary rows (first instant in, end out, UTC midnight in); a row NULL in
// every other column arrives as "" in each; the filters keep exactly the rows the file
// source keeps.
func TestEmulatorWindowsAndNulls(t *testing.T) {
	s := emuSource(t, "edge", 0)
	w := limaWindow("2025-06-03", "2025-06-04")
	for _, tb := range etl.MustRegistry().Tables() {
		t.Run(tb.Name, func(t *testing.T) {
			got, err := readAll(t, s, tb.Name, w)
			if err != nil {
				t.Fatal(err)
			}
			fx := edgeTables[tb.Name]
			// What BigQuery must return: the fixture rows inside the window (for
			// incremental tables) that pass the source filters, as the file path decides.
			var want [][]string
			conv := etl.NewConverter(tb, etl.ConvertOptions{Window: w, EjecutivosIDCliente: 145})
			seen := map[string]bool{}
			for _, r := range fx.Rows {
				rec := etl.Record{Fields: slices.Clone(r)}
				var row etl.Row
				var rej etl.Reject
				if conv.Convert(&rec, &row, &rej) == etl.FilteredRecorded {
					continue
				}
				if i := tb.IncrementalIndex(); i >= 0 {
					ts, _ := time.Parse(time.RFC3339Nano, r[i])
					if !w.Contains(ts) {
						continue
					}
				}
				if tb.Distinct {
					k := strings.Join(r, "\x00")
					if seen[k] {
						continue
					}
					seen[k] = true
				}
				want = append(want, r)
			}
			sortRows(got)
			sortRows(want)
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("rows\n got %q\nwant %q", got, want)
			}
			nulls := 0
			for _, r := range got {
				n := 0
				for _, v := range r {
					if v == "" {
						n++
					}
				}
				nulls = max(nulls, n)
			}
			if nulls < len(tb.Columns)-3 {
				t.Errorf("no row came back NULL in (nearly) every column: at most %d of %d", nulls, len(tb.Columns))
			}
		})
	}
}

func sortRows(rs [][]string) {
	sort.Slice(rs, func(i, j int) bool { return slices.Compare(rs[i], rs[j]) < 0 })
}

// TestEmulatorDryRun: the dry-run path runs against the emulator's jobs.insert.
func TestEmulatorDryRun(t *testing.T) {
	s := emuSource(t, "synthetic", 0)
	for _, name := range []string{"pagos", "ejecutivos"} {
		tb, _ := etl.MustRegistry().Table(name)
		est, err := s.DryRun(t.Context(), tb, limaWindow("2025-06-01", "2025-07-16"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if est.Bytes < 0 {
			t.Fatalf("%s: %d bytes", name, est.Bytes)
		}
	}
}

func moneyColumn(t *etl.Table) string {
	for _, c := range t.Columns {
		if c.Type == etl.TypeMoney {
			return c.Name
		}
	}
	return ""
}

// markColumn is a STRING column free to label edge rows.
func markColumn(t *etl.Table) string {
	for _, c := range t.Columns {
		if bqtest.BQType(c) == "STRING" && c.Name != "motivo_rechazo" {
			return c.Name
		}
	}
	return t.Columns[0].Name
}
