package postgres

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The binary COPY path must store exactly what the text path stores: random rows of
// every encoded type go through both into twin tables, which must hold the same rows.
func TestCopyBinaryEqualsText(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := openPool(t, pgtest.Fresh(t))
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	const columns = `(ts timestamptz, d date, m numeric(15,2), n numeric, i2 smallint, i4 integer, i8 bigint,
		b boolean, s text, v varchar(40))`
	for _, tbl := range []string{"via_text", "via_binary"} {
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE "+tbl+" "+columns); err != nil {
			t.Fatal(err)
		}
	}
	cols := []string{"ts", "d", "m", "n", "i2", "i4", "i8", "b", "s", "v"}
	bin, err := binaryEncoders(ctx, tx, "via_binary", cols)
	if err != nil || bin == nil {
		t.Fatalf("binary encoders: %v, %v", bin, err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([][]string, 2000)
	for i := range rows {
		rows[i] = randomCopyRow(rng)
	}
	for _, target := range []struct {
		table string
		bin   []binaryEncoder
	}{{"via_text", nil}, {"via_binary", bin}} {
		c := startCopy(ctx, conn.Conn().PgConn(), target.table, cols, target.bin)
		for _, r := range rows {
			c.startRow(len(r))
			for i, v := range r {
				if err := c.field(i, v, v == "", i == len(r)-1); err != nil {
					c.abort(err)
					t.Fatal(err)
				}
			}
		}
		if n, err := c.finish(); err != nil || n != int64(len(rows)) {
			t.Fatalf("copy %s: %d rows, %v", target.table, n, err)
		}
	}
	var diff int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM (TABLE via_text EXCEPT ALL TABLE via_binary) a)
		+ (SELECT count(*) FROM (TABLE via_binary EXCEPT ALL TABLE via_text) b)`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		rs, err := tx.Query(ctx, `SELECT 'text', t.*::text FROM (TABLE via_text EXCEPT ALL TABLE via_binary) t
			UNION ALL SELECT 'binary', b.*::text FROM (TABLE via_binary EXCEPT ALL TABLE via_text) b LIMIT 10`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rs, pgx.RowToStructByPos[struct{ Path, Row string }])
		t.Fatalf("%d rows differ between the text and binary paths (seed %d): %v %v", diff, seed, got, err)
	}
}

// randomCopyRow draws one row of canonical text values ("" is NULL).
func randomCopyRow(rng *rand.Rand) []string {
	maybe := func(v string) string {
		if rng.IntN(8) == 0 {
			return ""
		}
		return v
	}
	ts := time.Unix(rng.Int64N(4e9)-1e9, int64(rng.IntN(1e6))*1e3*int64(rng.IntN(2))).UTC()
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	sign := ""
	if rng.IntN(3) == 0 {
		sign = "-"
	}
	money := sign + strings.TrimLeft(digits(rng.IntN(13)), "0") + "0." + digits(2)
	if rng.IntN(2) == 0 {
		money = sign + digits(1+rng.IntN(12)) + "." + digits(2)
	}
	num := sign + digits(1+rng.IntN(25))
	if rng.IntN(2) == 0 {
		num += "." + digits(1+rng.IntN(12))
	}
	text := []string{"", "plain", "tab\there", "new\nline", `back\slash`, "ñandú €", "\\N"}[rng.IntN(7)]
	return []string{
		maybe(ts.Format(time.RFC3339Nano)),
		maybe(ts.Format(time.DateOnly)),
		maybe(money),
		maybe(num),
		maybe(fmt.Sprint(rng.IntN(65536) - 32768)),
		maybe(fmt.Sprint(rng.Int32() - rng.Int32())),
		maybe(fmt.Sprint(rng.Int64() - rng.Int64()/2)),
		maybe([]string{"true", "false"}[rng.IntN(2)]),
		maybe(text),
		maybe(digits(rng.IntN(40))),
	}
}
