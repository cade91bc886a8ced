package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ReplaceServed replaces every table the API reads (etl.ServedTables) with the
// tables another engine built, in one transaction that also bumps and announces the
// data version, so the API and its cache see all of the new marts at once or none
// of them. The copy goes through the loads' COPY path; the marts' constraints check
// what arrives. The PostgreSQL engine's aux tables no longer match the marts
// afterwards: aux.intact is cleared, and its next transform rebuilds in full. Each
// source table the engine read gets a successful step row (rows read), as a load
// would, for status, freshness and the batch metrics.
func (s *Store) ReplaceServed(ctx context.Context, runID int64, b etl.Built, reason string) (res etl.TransformResult, err error) {
	tables := b.Tables
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	if !slices.Equal(names, etl.ServedTables) {
		return res, fmt.Errorf("replace served tables: got %v, want %v", names, etl.ServedTables)
	}
	start := time.Now()
	tr := &transformer{s: s, log: s.log}
	defer func() {
		if err != nil {
			tr.failSteps(ctx, err)
		}
	}()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("replace served tables: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("replace served tables: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, t := range tables {
		rec := etl.TransformStep{Step: t.Name, Status: etl.StatusSuccess}
		id, err := s.startTransformStep(ctx, runID, rec)
		if err != nil {
			return res, err
		}
		tr.stepIDs = append(tr.stepIDs, id)
		begin := time.Now()
		tag, err := tx.Exec(ctx, "DELETE FROM "+t.Name)
		if err != nil {
			return res, fmt.Errorf("%s: %w", t.Name, err)
		}
		rec.Deleted = tag.RowsAffected()
		if rec.Inserted, err = copyBuilt(ctx, conn, tx, t); err != nil {
			return res, fmt.Errorf("%s: %w", t.Name, namedViolation(err))
		}
		rec.Duration = time.Since(begin)
		if _, err := tx.Exec(ctx, `UPDATE etl.run_table SET status = $4, finished_at = clock_timestamp(),
			rows_deleted = $2, rows_inserted = $3 WHERE id = $1`, id, rec.Deleted, rec.Inserted, etl.StatusSuccess); err != nil {
			return res, fmt.Errorf("%s: ledger: %w", t.Name, err)
		}
		s.log.Info("served table replaced", "table", t.Name, "deleted", rec.Deleted, "inserted", rec.Inserted,
			"duration_ms", rec.Duration.Milliseconds())
		res.Steps = append(res.Steps, rec)
	}
	for _, r := range b.Reads {
		if _, err := tx.Exec(ctx, `INSERT INTO etl.run_table (run_id, step, status, rows_read, finished_at)
			VALUES ($1, $2, $3, $4, clock_timestamp())`, runID, r.Table, etl.StatusSuccess, r.Rows); err != nil {
			return res, fmt.Errorf("ledger step %s: %w", r.Table, err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM aux.intact`); err != nil {
		return res, fmt.Errorf("replace served tables: %w", err)
	}
	bump, err := transformSQL("910_etl_data_version_bump")
	if err != nil {
		return res, err
	}
	if err := tx.QueryRow(ctx, bump, runID, reason).Scan(&res.DataVersion); err != nil {
		return res, fmt.Errorf("data version: %w", err)
	}
	notify, err := transformSQL("911_etl_data_version_notify")
	if err != nil {
		return res, err
	}
	if _, err := tx.Exec(ctx, notify, res.DataVersion); err != nil {
		return res, fmt.Errorf("data version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("replace served tables: commit: %w", err)
	}
	tr.stepIDs = nil
	res.Rebuilt = true
	res.Duration = time.Since(start)
	return res, nil
}

// copyBuilt streams a built table's rows into its (emptied) table in tx.
func copyBuilt(ctx context.Context, conn interface{ Conn() *pgx.Conn }, tx pgx.Tx, t etl.BuiltTable) (int64, error) {
	bin, err := binaryEncoders(ctx, tx, t.Name, t.Columns)
	if err != nil {
		return 0, err
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	c := startCopy(ctx, conn.Conn().PgConn(), t.Name, cols, bin)
	for {
		row, err := t.Rows.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && len(row) != len(cols) {
			err = fmt.Errorf("a row of %d values for %d columns", len(row), len(cols))
		}
		if err != nil {
			c.abort(err)
			return 0, err
		}
		c.startRow(len(row))
		for i, v := range row {
			text, null, err := servedText(v)
			if err == nil {
				err = c.field(i, text, null, i == len(row)-1)
			}
			if err != nil {
				err = fmt.Errorf("column %s: %w", t.Columns[i], err)
				c.abort(err)
				return 0, err
			}
		}
	}
	return c.finish()
}

// servedText is a built value as the COPY path's canonical text.
func servedText(v any) (text string, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", true, nil
	case string:
		return x, false, nil
	case int64:
		return strconv.FormatInt(x, 10), false, nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	case etl.Date:
		return x.String(), false, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), false, nil
	case *big.Rat:
		s, err := ratText(x)
		return s, false, err
	case []string:
		return arrayLiteral(x), false, nil
	}
	return "", false, fmt.Errorf("value %v of type %T", v, v)
}

// ratText is an exact decimal's plain text ("-12.5"); BigQuery's NUMERIC has 9
// fractional digits, BIGNUMERIC 38.
func ratText(r *big.Rat) (string, error) {
	if r.IsInt() {
		return r.Num().String(), nil
	}
	// In lowest terms, r is a finite decimal iff its denominator divides some 10^k.
	ten, pow, rem := big.NewInt(10), big.NewInt(1), new(big.Int)
	for digits := 1; digits <= 38; digits++ {
		pow.Mul(pow, ten)
		if rem.Mod(pow, r.Denom()).Sign() == 0 {
			return r.FloatString(digits), nil
		}
	}
	return "", fmt.Errorf("%s is not a decimal of at most 38 fractional digits", r.RatString())
}

// arrayLiteral is a text[] value in PostgreSQL's array input syntax, every element
// quoted.
func arrayLiteral(elems []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
