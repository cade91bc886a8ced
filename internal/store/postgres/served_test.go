package postgres

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// memRows serves rows from memory.
type memRows struct{ rows [][]any }

func (m *memRows) Next(context.Context) ([]any, error) {
	if len(m.rows) == 0 {
		return nil, io.EOF
	}
	r := m.rows[0]
	m.rows = m.rows[1:]
	return r, nil
}

// builtFrom reads a served table back as another engine would hand it over: each
// value as one of the types etl.TableRows allows.
func builtFrom(t *testing.T, e *tfEnv, table string) etl.BuiltTable {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	bt := etl.BuiltTable{Name: table}
	for _, f := range rows.FieldDescriptions() {
		bt.Columns = append(bt.Columns, f.Name)
	}
	var data [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int16:
				vals[i] = int64(x)
			case int32:
				vals[i] = int64(x)
			case pgtype.Numeric:
				r := new(big.Rat).SetInt(x.Int)
				exp := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(x.Exp, -x.Exp))), nil))
				if x.Exp < 0 {
					r.Quo(r, exp)
				} else {
					r.Mul(r, exp)
				}
				vals[i] = r
			case time.Time:
				if rows.FieldDescriptions()[i].DataTypeOID == pgtype.DateOID {
					vals[i] = etl.NewDate(x.Year(), x.Month(), x.Day())
				}
			case []any:
				s := make([]string, len(x))
				for j, el := range x {
					s[j] = el.(string)
				}
				vals[i] = s
			}
		}
		data = append(data, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	bt.Rows = &memRows{rows: data}
	return bt
}

// servedFingerprints fingerprints every served table's whole contents.
func servedFingerprints(t *testing.T, e *tfEnv) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range etl.ServedTables {
		var sum string
		var n int64
		if err := e.pool.QueryRow(context.Background(), fmt.Sprintf(
			`SELECT count(*), COALESCE(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM %s t`, table)).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		out[table] = fmt.Sprintf("%d rows %s", n, sum)
	}
	return out
}

// Handing the PostgreSQL engine's own served tables to ReplaceServed (on a database
// whose marts were emptied) gives them back exactly, with the version bumped and
// announced once, the ledger steps succeeded and the aux tables marked for a full
// rebuild; a bad row in the fifth table leaves everything as it was.
func TestReplaceServed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := demoDir(t)
	src := newTFEnv(t)
	src.load(dir, demoAsOf)
	src.transform(demoAsOf, tfOpts{})
	want := servedFingerprints(t, src)
	built := func() []etl.BuiltTable {
		var out []etl.BuiltTable
		for _, table := range etl.ServedTables {
			out = append(out, builtFrom(t, src, table))
		}
		return out
	}

	dst := newTFEnv(t)
	dst.load(dir, demoAsOf)
	dst.transform(demoAsOf, tfOpts{})
	for _, table := range etl.ServedTables {
		if _, err := dst.pool.Exec(ctx, "DELETE FROM "+table); err != nil {
			t.Fatal(err)
		}
	}
	emptied := servedFingerprints(t, dst)
	listen, err := pgx.Connect(ctx, dst.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close(ctx)
	if _, err := listen.Exec(ctx, "LISTEN pulso_data_version"); err != nil {
		t.Fatal(err)
	}
	before := dst.int(`SELECT version FROM etl.data_version`)

	// A constraint broken in the fifth table: nothing of the first four commits.
	bad := built()
	rows := bad[4].Rows.(*memRows).rows
	rows[0] = append([]any(nil), rows[0]...)
	rows[0][0] = "not a date"
	runID, err := startTestRun(ctx, dst.store, "run-pipeline", nil, demoAsOf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.store.ReplaceServed(ctx, runID, etl.Built{Tables: bad}, "test"); err == nil || !strings.Contains(err.Error(), bad[4].Name) {
		t.Fatalf("a bad row in %s: err %v, want one naming the table", bad[4].Name, err)
	}
	if got := servedFingerprints(t, dst); fmt.Sprint(got) != fmt.Sprint(emptied) {
		t.Fatal("a failed replacement changed the served tables")
	}
	if v := dst.int(`SELECT version FROM etl.data_version`); v != before {
		t.Fatalf("a failed replacement moved the data version %d → %d", before, v)
	}
	if n := dst.int(`SELECT count(*) FROM etl.run_table WHERE run_id = $1 AND status = 'running'`, runID); n != 0 {
		t.Fatalf("%d steps left running after a failed replacement", n)
	}

	if _, err := dst.store.ReplaceServed(ctx, runID, etl.Built{Tables: built()[1:]}, "test"); err == nil {
		t.Fatal("a replacement without aux.campana was accepted")
	}

	res, err := dst.store.ReplaceServed(ctx, runID, etl.Built{Tables: built(), Reads: []etl.SourceRead{{Table: "pagos", Rows: 42}}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := servedFingerprints(t, dst); fmt.Sprint(got) != fmt.Sprint(want) {
		for table, sum := range want {
			if got[table] != sum {
				t.Errorf("%s: %s, want %s", table, got[table], sum)
			}
		}
	}
	if !res.Rebuilt || res.DataVersion != before+1 || len(res.Steps) != len(etl.ServedTables) {
		t.Fatalf("result: rebuilt %v, version %d (want %d), %d steps", res.Rebuilt, res.DataVersion, before+1, len(res.Steps))
	}
	if n := dst.int(`SELECT count(*) FROM etl.run_table WHERE run_id = $1 AND status = 'success' AND step = ANY($2)`,
		runID, etl.ServedTables); n != int64(len(etl.ServedTables)) {
		t.Fatalf("%d successful ledger steps, want %d", n, len(etl.ServedTables))
	}
	if n := dst.int(`SELECT count(*) FROM etl.run_table WHERE run_id = $1 AND step = 'pagos' AND status = 'success' AND rows_read = 42`, runID); n != 1 {
		t.Fatalf("%d successful pagos read steps, want 1", n)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	note, err := listen.WaitForNotification(waitCtx)
	if err != nil || note.Payload != fmt.Sprint(before+1) {
		t.Fatalf("notification: %v %v, want version %d", note, err, before+1)
	}
	lost, err := dst.store.AuxLost(ctx)
	if err != nil || !lost {
		t.Fatalf("aux lost after a replacement: %v %v, want true (the next PostgreSQL transform rebuilds in full)", lost, err)
	}
}

func TestServedText(t *testing.T) {
	cases := []struct {
		in   any
		want string
		null bool
	}{
		{nil, "", true},
		{big.NewRat(1, 8), "0.125", false},
		{big.NewRat(-25, 2), "-12.5", false},
		{big.NewRat(12345, 100), "123.45", false},
		{big.NewRat(7, 1), "7", false},
		{[]string{"A", `b"c\d`}, `{"A","b\"c\\d"}`, false},
		{int64(-3), "-3", false},
		{etl.NewDate(2025, time.July, 15), "2025-07-15", false},
		{time.Date(2025, 7, 15, 10, 0, 0, 5000, time.FixedZone("x", -5*3600)), "2025-07-15T15:00:00.000005Z", false},
	}
	for _, c := range cases {
		got, null, err := servedText(c.in)
		if err != nil || got != c.want || null != c.null {
			t.Errorf("servedText(%v) = %q, %v, %v; want %q, %v", c.in, got, null, err, c.want, c.null)
		}
	}
	for _, bad := range []any{big.NewRat(1, 3), int32(1), struct{}{}} {
		if _, _, err := servedText(bad); err == nil {
			t.Errorf("servedText(%v) accepted", bad)
		}
	}
}
