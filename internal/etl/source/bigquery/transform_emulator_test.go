package bigquery

import (
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/api/iterator"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// transformAsOf is the --as-of of the equality test: the synthetic set's last day.
var transformAsOf = etl.NewDate(2025, time.July, 15)

// TestTransformEmulatorEqualsPostgres runs the GoogleSQL transform in the emulator over
// the small synthetic set (dataset "synthetic") and the PostgreSQL transform (full
// rebuild) over the same landing files loaded by the real loader, both as of
// 2025-07-15, and compares every table the BigQuery transform builds (aux and mart)
// row for row: NUMERIC as 2-decimal text, dates as YYYY-MM-DD, timestamps in UTC,
// arrays as {a,b}, NULL as NULL.
func TestTransformEmulatorEqualsPostgres(t *testing.T) {
	e := needEmulator(t)
	ctx := t.Context()
	start := time.Now()

	pg := postgresMarts(t, demoDir, transformAsOf)
	t.Logf("postgres load + transform: %s", time.Since(start).Round(time.Millisecond))

	const dataset = "pulso_transform_eq"
	s := newTestSource(t, Config{
		Project: e.Project, Dataset: "synthetic", TransformDataset: dataset, UID: emuUID,
		QueryTimeout: 10 * time.Minute, // the emulator joins by nested loops
		MaxRetries:   2, EjecutivosIDCliente: 145, Command: "test", RunID: "1", Endpoint: e.Endpoint,
		RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
	if err := s.client.Dataset(dataset).Create(ctx, &bq.DatasetMetadata{}); err != nil {
		t.Fatalf("create dataset: %v", err)
	}
	bqStart := time.Now()
	stats, err := s.Transform(ctx, TransformOptions{
		AsOf: transformAsOf, PDPRecoveryDays: 7, MaxPagosDocDia: 3,
	})
	for _, st := range stats {
		t.Logf("%-32s %6d rows %10d bytes %s", st.Statement, st.Rows, st.BytesProcessed, st.Elapsed.Round(time.Millisecond))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bigquery transform in the emulator: %s", time.Since(bqStart).Round(time.Millisecond))

	compared := 0
	for _, st := range stats {
		name := st.Table[strings.LastIndex(st.Table, ".")+1:]
		schema, table, ok := strings.Cut(name, "_")
		if !ok || (schema != "aux" && schema != "mart") {
			continue
		}
		pgTable := schema + "." + table
		cols := pg.columns(t, pgTable)
		if len(cols) == 0 {
			t.Fatalf("%s: no such PostgreSQL table", pgTable)
		}
		want := pg.rows(t, pgTable, cols)
		got := bqRows(t, s, st.Table, cols)
		compareRows(t, name, cols, got, want)
		compared++
	}
	if compared == 0 {
		t.Fatal("no aux or mart table compared")
	}
	t.Logf("compared %d tables in %s", compared, time.Since(start).Round(time.Millisecond))
}

// pgColumn is one column of a PostgreSQL aux or mart table and its SQL type.
type pgColumn struct{ name, typ string }

type pgMarts struct{ pool *pgxpool.Pool }

// postgresMarts loads dir into a fresh migrated database with the real loader and
// runs a full PostgreSQL transform as of asOf.
func postgresMarts(t *testing.T, dir string, asOf etl.Date) *pgMarts {
	t.Helper()
	ctx := t.Context()
	pool, err := postgres.Open(ctx, pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := postgres.NewStore(pool, log, postgres.StoreOptions{BatchRows: 50000, MaxShrinkRatio: 0.5})
	run := func(command string, f func(runID int64) error) {
		t.Helper()
		id, err := store.ReserveRunID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.StartRun(ctx, etl.RunRecord{ID: id, Command: command, AsOf: asOf}); err != nil {
			t.Fatal(err)
		}
		ferr := f(id)
		status := etl.StatusSuccess
		if ferr != nil {
			status = etl.StatusFailed
		}
		if err := store.FinishRun(ctx, id, status, 0, ferr); err != nil {
			t.Fatal(err)
		}
		if ferr != nil {
			t.Fatalf("%s: %v", command, ferr)
		}
	}
	run("load", func(runID int64) error {
		l := etl.NewLoader(files.New(dir, files.Options{MaxFieldBytes: 1 << 20}, nil), store)
		for _, tbl := range etl.MustRegistry().Tables() {
			if _, err := l.LoadTable(ctx, tbl, etl.LoadOptions{
				RunID: runID, Now: asOf.AddDays(1).Start(), Force: true, Logger: log,
				LoadConfig: etl.LoadConfig{Lookback: map[string]int{tbl.Name: tbl.LookbackDays},
					EjecutivosIDCliente: 145, RejectTolerance: 1},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	run("transform", func(runID int64) error {
		_, err := store.Transform(ctx, etl.TransformOptions{RunID: runID, Today: asOf, Full: true,
			TransformConfig: etl.TransformConfig{PDPRecoveryDays: 7, MaxPagosDocDia: 3}, Logger: log})
		return err
	})
	return &pgMarts{pool: pool}
}

// columns lists a table's columns but attr_hash (a digest of PostgreSQL row text).
func (p *pgMarts) columns(t *testing.T, table string) []pgColumn {
	t.Helper()
	schema, name, _ := strings.Cut(table, ".")
	rows, err := p.pool.Query(t.Context(), `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 AND column_name <> 'attr_hash' ORDER BY ordinal_position`, schema, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []pgColumn
	for rows.Next() {
		var c pgColumn
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rows reads a table with every column as normalised text.
func (p *pgMarts) rows(t *testing.T, table string, cols []pgColumn) [][]string {
	t.Helper()
	sel := make([]string, len(cols))
	for i, c := range cols {
		switch c.typ {
		case "numeric":
			sel[i] = fmt.Sprintf("round(%s, 2)::text", c.name)
		case "timestamp with time zone":
			sel[i] = fmt.Sprintf(`to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`, c.name)
		default:
			sel[i] = c.name + "::text"
		}
	}
	rows, err := p.pool.Query(t.Context(), "SELECT "+strings.Join(sel, ", ")+" FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]*string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			r[i] = "NULL"
			if v != nil {
				r[i] = *v
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// bqRows reads the columns of a BigQuery table as normalised text.
func bqRows(t *testing.T, s *Source, table string, cols []pgColumn) [][]string {
	t.Helper()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	it, err := s.client.Query("SELECT " + strings.Join(names, ", ") + " FROM `" + table + "`").Read(t.Context())
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	var out [][]string
	for {
		var row []bq.Value
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		r := make([]string, len(row))
		for i, v := range row {
			r[i] = bqText(v)
		}
		out = append(out, r)
	}
	return out
}

func bqText(v bq.Value) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case *big.Rat:
		return x.FloatString(2)
	case civil.Date:
		return x.String()
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000000")
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case []bq.Value:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = bqText(e)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%v", v)
}

// compareRows compares two row sets as sorted lists and reports the first differences.
func compareRows(t *testing.T, table string, cols []pgColumn, got, want [][]string) {
	t.Helper()
	join := func(rs [][]string) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = strings.Join(r, " | ")
		}
		slices.Sort(out)
		return out
	}
	g, w := join(got), join(want)
	if slices.Equal(g, w) {
		t.Logf("%s: %d rows equal", table, len(g))
		return
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	var missing, extra []string
	gi, wi := 0, 0
	for gi < len(g) || wi < len(w) {
		switch {
		case wi >= len(w) || (gi < len(g) && g[gi] < w[wi]):
			extra = append(extra, g[gi])
			gi++
		case gi >= len(g) || w[wi] < g[gi]:
			missing = append(missing, w[wi])
			wi++
		default:
			gi++
			wi++
		}
	}
	t.Errorf("%s: bigquery %d rows, postgres %d; %d only in postgres, %d only in bigquery\ncolumns: %s\nonly in postgres:\n  %s\nonly in bigquery:\n  %s",
		table, len(g), len(w), len(missing), len(extra), strings.Join(names, " | "),
		strings.Join(missing[:min(len(missing), 5)], "\n  "), strings.Join(extra[:min(len(extra), 5)], "\n  "))
}
