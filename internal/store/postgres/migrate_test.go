package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// TestMain is the package's only TestMain: every test in internal/store/postgres
// gets the shared migrated database from pgtest.
func TestMain(m *testing.M) { pgtest.Main(m) }

func openMigrator(t *testing.T, url string) *Migrator {
	t.Helper()
	mg, err := NewMigrator(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("NewMigrator: %v", err)
	}
	t.Cleanup(func() { _ = mg.Close() })
	return mg
}

// openTestMigrator runs migrations from files instead of the embedded set.
func openTestMigrator(t *testing.T, url string, files map[string]string) *Migrator {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["m/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	mg, err := newMigrator(t.Context(), url, nil, fsys, "m")
	if err != nil {
		t.Fatalf("newMigrator: %v", err)
	}
	t.Cleanup(func() { _ = mg.Close() })
	return mg
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func latestEmbedded(t *testing.T) uint {
	t.Helper()
	files, err := listMigrations(pulsosql.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return files[len(files)-1].version
}

// catalog lists every user-visible object (schemas, relations, columns,
// constraints, functions, types) so two states of a database can be compared.
func catalog(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	const q = `
		WITH ns AS (
			SELECT oid, nspname FROM pg_namespace
			WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
			  AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%')
		SELECT 'schema ' || nspname FROM ns
		UNION ALL
		SELECT format('rel %s.%s %s', ns.nspname, c.relname, c.relkind)
		FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
		UNION ALL
		SELECT format('col %s.%s %s %s %s', ns.nspname, c.relname, a.attname,
		              format_type(a.atttypid, a.atttypmod), a.attnotnull)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
		WHERE a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT format('con %s.%s %s', ns.nspname, con.conname, pg_get_constraintdef(con.oid))
		FROM pg_constraint con JOIN ns ON ns.oid = con.connamespace
		UNION ALL
		SELECT format('fn %s.%s(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
		FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
		UNION ALL
		SELECT format('type %s.%s', ns.nspname, ty.typname)
		FROM pg_type ty JOIN ns ON ns.oid = ty.typnamespace
		ORDER BY 1`
	rows, err := pool.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	objs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return objs
}

func TestMigrateUpDownUpIsClean(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	mg := openMigrator(t, url)
	pool := openPool(t, url)
	latest := latestEmbedded(t)

	// Baseline: only golang-migrate's and the migrator's own bookkeeping tables.
	before := catalog(t, pool)

	if err := mg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if v, dirty, err := mg.Version(ctx); err != nil || v != latest || dirty {
		t.Fatalf("after Up: version %d dirty %v err %v; want %d clean", v, dirty, err, latest)
	}
	afterUp := catalog(t, pool)
	if err := mg.Up(ctx); err != nil {
		t.Fatalf("second Up (no change): %v", err)
	}

	if err := mg.Down(ctx, int(latest)); err != nil {
		t.Fatalf("Down all: %v", err)
	}
	if v, dirty, err := mg.Version(ctx); err != nil || v != 0 || dirty {
		t.Fatalf("after Down: version %d dirty %v err %v; want 0 clean", v, dirty, err)
	}
	if afterDown := catalog(t, pool); !slices.Equal(afterDown, before) {
		t.Fatalf("down left objects behind or dropped too much:\n%s", diff(before, afterDown))
	}

	if err := mg.Up(ctx); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	if again := catalog(t, pool); !slices.Equal(again, afterUp) {
		t.Fatalf("second Up differs from the first:\n%s", diff(afterUp, again))
	}

	if err := mg.Down(ctx, 0); err == nil {
		t.Fatal("Down(0) succeeded; want a usage error")
	}
}

// diff lists lines only in a (-) or only in b (+).
func diff(a, b []string) string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, "- "+s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			out = append(out, "+ "+s)
		}
	}
	return strings.Join(out, "\n")
}

func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	a, b := openMigrator(t, url), openMigrator(t, url)

	start := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, mg := range []*Migrator{a, b} {
		wg.Go(func() {
			<-start
			errs[i] = mg.Up(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrLockHeld) {
			t.Errorf("Up #%d: %v; want nil or a lock error", i, err)
		}
	}
	v, dirty, err := a.Version(ctx)
	if err != nil || v != latestEmbedded(t) || dirty {
		t.Fatalf("final version %d dirty %v err %v; want %d clean", v, dirty, err, latestEmbedded(t))
	}
}

func TestSchemaObjectsExist(t *testing.T) {
	t.Parallel()
	pool := pgtest.DB(t)
	tests := []struct {
		schema, name, kind string
	}{
		{"etl", "run", "BASE TABLE"},
		{"etl", "run_table", "BASE TABLE"},
		{"etl", "reject", "BASE TABLE"},
		{"etl", "reject_pagos", "BASE TABLE"},
		{"etl", "landing_file", "BASE TABLE"},
		{"etl", "pending_change", "BASE TABLE"},
		{"etl", "watermark", "BASE TABLE"},
		{"etl", "data_version", "BASE TABLE"},
		{"etl", "campaign_build", "BASE TABLE"},
		{"raw", "calendario", "BASE TABLE"},
		{"raw", "mibotair_gestiones", "BASE TABLE"},
		{"aux", "campana", "BASE TABLE"},
		{"aux", "deuda_snapshot", "BASE TABLE"},
		{"aux", "asignacion_cuenta", "BASE TABLE"},
		{"aux", "gestiones_unificadas", "BASE TABLE"},
		{"aux", "gestion_cuenta", "BASE TABLE"},
		{"aux", "pago_dedup", "BASE TABLE"},
		{"aux", "pago_campana", "BASE TABLE"},
		{"mart", "dashboard_data", "BASE TABLE"},
		{"mart", "assignment_data", "BASE TABLE"},
		{"mart", "assignment_clientes", "BASE TABLE"},
		{"mart", "operation_data", "BASE TABLE"},
		{"mart", "operation_attempt_data", "BASE TABLE"},
		{"mart", "operation_queue_data", "BASE TABLE"},
		{"mart", "productivity_data", "BASE TABLE"},
		{"mart", "v_dashboard_data", "VIEW"},
		{"mart", "v_operation_data", "VIEW"},
		{"mart", "v_productivity_data", "VIEW"},
		{"auth", "roles", "BASE TABLE"},
		{"auth", "users", "BASE TABLE"},
		{"auth", "refresh_token", "BASE TABLE"},
		{"auth", "audit_log", "BASE TABLE"},
	}
	for _, tc := range tests {
		t.Run(tc.schema+"."+tc.name, func(t *testing.T) {
			var kind string
			err := pool.QueryRow(t.Context(), `SELECT table_type FROM information_schema.tables
				WHERE table_schema = $1 AND table_name = $2`, tc.schema, tc.name).Scan(&kind)
			if err != nil || kind != tc.kind {
				t.Fatalf("got %q, %v; want %s", kind, err, tc.kind)
			}
		})
	}

	var partitions int
	if err := pool.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_inherits WHERE inhparent = 'etl.reject'::regclass`).Scan(&partitions); err != nil || partitions != 9 {
		t.Errorf("etl.reject partitions = %d, %v; want 9 (one per source table)", partitions, err)
	}
	if err := CheckSchema(t.Context(), pool); err != nil {
		t.Errorf("CheckSchema on the migrated database: %v", err)
	}
}

// pgType is the PostgreSQL type a source column converts to (domain.md §1).
func pgType(typ etl.Type) string {
	switch typ {
	case etl.TypeDate:
		return "date"
	case etl.TypeTimestamp:
		return "timestamp with time zone"
	case etl.TypeInteger, etl.TypeLenientInt:
		return "integer"
	case etl.TypeMoney:
		return "numeric(15,2)"
	case etl.TypeBool, etl.TypeIntBool:
		return "boolean"
	}
	return "text"
}

// TestRawTablesMatchRegistry keeps the raw DDL and the loader's table registry in
// step: column order and types, NOT NULL, and the key as <table>_pkey.
func TestRawTablesMatchRegistry(t *testing.T) {
	t.Parallel()
	pool := pgtest.DB(t)
	reg, err := etl.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range reg.Tables() {
		t.Run(tbl.Name, func(t *testing.T) {
			rows, err := pool.Query(t.Context(), `
				SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
				FROM pg_attribute a
				WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
				ORDER BY a.attnum`, tbl.RawTable())
			if err != nil {
				t.Fatal(err)
			}
			type column struct {
				name, typ string
				notNull   bool
			}
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
				var c column
				return c, r.Scan(&c.name, &c.typ, &c.notNull)
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []column
			for _, c := range tbl.Columns {
				// Blank-as-empty keys and NULL-substituted columns are never NULL either.
				nn := c.NotNull || c.BlankAsEmpty || c.NullAs != "" || c.Type == etl.TypeIntBool
				want = append(want, column{c.Name, pgType(c.Type), nn})
			}
			for _, d := range tbl.Derived {
				want = append(want, column{d.Name, pgType(d.Type), true})
			}
			want = append(want,
				column{"etl_run_id", "bigint", false},
				column{"etl_source", "text", false},
				column{"etl_loaded_at", "timestamp with time zone", true})
			if !slices.Equal(got, want) {
				t.Errorf("columns\n got %v\nwant %v", got, want)
			}

			var pkey []string
			err = pool.QueryRow(t.Context(), `
				SELECT array_agg(a.attname ORDER BY k.ord)
				FROM pg_constraint c
				CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
				WHERE c.conrelid = $1::regclass AND c.contype = 'p' AND c.conname = $2`,
				tbl.RawTable(), tbl.Name+"_pkey").Scan(&pkey)
			if err != nil || !slices.Equal(pkey, tbl.Key) {
				t.Errorf("%s_pkey = %v, %v; want %v", tbl.Name, pkey, err, tbl.Key)
			}
		})
	}
}

// TestSchemaRules checks the constraints and seeds other code relies on, each in a
// rolled-back transaction on the shared database.
func TestSchemaRules(t *testing.T) {
	t.Parallel()
	// exec runs stmts in a savepoint and returns the first error.
	exec := func(ctx context.Context, tx pgx.Tx, stmts ...string) error {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := sp.Exec(ctx, s); err != nil {
				_ = sp.Rollback(ctx)
				return err
			}
		}
		return sp.Commit(ctx)
	}
	count := func(t *testing.T, tx pgx.Tx, q string) int {
		t.Helper()
		var n int
		if err := tx.QueryRow(t.Context(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	const reject = `INSERT INTO etl.reject (run_id, table_name, source, line_no, reason, record) VALUES `
	const dedup = ` ON CONFLICT (table_name, source, dedup_key, reason) DO NOTHING`
	const dash = `INSERT INTO mart.dashboard_data (fecha_foto, archivo, cartera, servicio, cuentas, clientes,
		cuentas_gestionables, deuda_asig, deuda_act, cuentas_gestionadas, total_gestiones, gestiones_bot,
		gestiones_call, cuentas_cd, cuentas_ci, cuentas_sc, cuentas_sg, cuentas_pdp, cuentas_pagadoras, recupero) VALUES `

	tests := []struct {
		name    string
		stmts   []string
		wantErr bool
		check   func(t *testing.T, tx pgx.Tx)
	}{
		{
			name: "reject dedup by line number",
			stmts: []string{
				reject + `(1, 'pagos', 'f.csv', 7, 'invalid_value', '{"a":1}')` + dedup,
				reject + `(2, 'pagos', 'f.csv', 7, 'invalid_value', '{"a":2}')` + dedup,
				reject + `(2, 'pagos', 'f.csv', 7, 'missing_value', '{"a":2}')` + dedup,
			},
			check: func(t *testing.T, tx pgx.Tx) {
				if n := count(t, tx, `SELECT count(*) FROM etl.reject_pagos WHERE source = 'f.csv'`); n != 2 {
					t.Errorf("rows = %d; want 2 (one per reason)", n)
				}
			},
		},
		{
			name: "reject dedup by record hash without line",
			stmts: []string{
				reject + `(1, 'trandeuda', 'bigquery:t', NULL, 'duplicate_key', '{"k":"x"}')` + dedup,
				reject + `(2, 'trandeuda', 'bigquery:t', NULL, 'duplicate_key', '{"k":"x"}')` + dedup,
				reject + `(2, 'trandeuda', 'bigquery:t', NULL, 'duplicate_key', '{"k":"y"}')` + dedup,
			},
			check: func(t *testing.T, tx pgx.Tx) {
				if n := count(t, tx, `SELECT count(*) FROM etl.reject WHERE table_name = 'trandeuda'`); n != 2 {
					t.Errorf("rows = %d; want 2 (one per distinct record)", n)
				}
			},
		},
		{
			name:    "reject needs a known table",
			stmts:   []string{reject + `(1, 'nope', 'f.csv', 1, 'invalid_value', '{}')`},
			wantErr: true,
		},
		{
			name:    "reject reason is checked",
			stmts:   []string{reject + `(1, 'pagos', 'f.csv', 1, 'whatever', '{}')`},
			wantErr: true,
		},
		{
			name: "data version is one row at 0",
			check: func(t *testing.T, tx pgx.Tx) {
				if n := count(t, tx, `SELECT count(*) FROM etl.data_version WHERE version = 0`); n != 1 {
					t.Errorf("data_version rows at 0 = %d; want 1", n)
				}
			},
		},
		{
			name:    "data version refuses a second row",
			stmts:   []string{`INSERT INTO etl.data_version (id, version) VALUES (false, 1)`},
			wantErr: true,
		},
		{
			name: "roles seeded",
			check: func(t *testing.T, tx pgx.Tx) {
				if n := count(t, tx, `SELECT count(*) FROM auth.roles`); n != 4 {
					t.Errorf("roles = %d; want 4", n)
				}
				if n := count(t, tx, `SELECT count(*) FROM auth.roles WHERE name = 'admin'
					AND 'system.configure' = ANY (permissions) AND cardinality(permissions) = 9`); n != 1 {
					t.Error("admin lacks its 9 permissions")
				}
				if n := count(t, tx, `SELECT count(*) FROM auth.roles WHERE name = 'viewer'
					AND permissions = ARRAY['dashboard.read']`); n != 1 {
					t.Error("viewer permissions wrong")
				}
			},
		},
		{
			name: "email unique among live users only",
			stmts: []string{
				`INSERT INTO auth.users (email, password_hash, first_name, last_name) VALUES ('a@x.pe', 'h', 'A', 'B')`,
				`UPDATE auth.users SET deleted_at = now(), is_active = false WHERE email = 'a@x.pe'`,
				`INSERT INTO auth.users (email, password_hash, first_name, last_name) VALUES ('a@x.pe', 'h', 'A', 'B')`,
			},
			check: func(t *testing.T, tx pgx.Tx) {
				if err := exec(t.Context(), tx, `INSERT INTO auth.users (email, password_hash, first_name, last_name)
					VALUES ('A@X.pe', 'h', 'A', 'B')`); err == nil {
					t.Error("second live user with the same email (any case) accepted")
				}
			},
		},
		{
			name:    "user role must exist",
			stmts:   []string{`INSERT INTO auth.users (email, password_hash, first_name, last_name, role) VALUES ('r@x.pe', 'h', 'A', 'B', 'root')`},
			wantErr: true,
		},
		{
			name: "assignment_data: NULL due dates are one group",
			stmts: []string{
				`INSERT INTO mart.assignment_data VALUES ('2025-06', 'A', 'OTRAS', 'FIJA', NULL, 1, 1, 1, 10, 10, 10)`,
				`INSERT INTO mart.assignment_data VALUES ('2025-06', 'A', 'OTRAS', 'FIJA', NULL, 1, 1, 1, 10, 10, 10)`,
			},
			wantErr: true,
		},
		{
			name:    "assignment_clientes arrays must be sorted sets",
			stmts:   []string{`INSERT INTO mart.assignment_clientes VALUES ('2025-06', ARRAY['TEMPRANA','OTRAS'], ARRAY['FIJA'], 3)`},
			wantErr: true,
		},
		{
			name: "assignment_clientes accepts sorted and empty arrays",
			stmts: []string{
				`INSERT INTO mart.assignment_clientes VALUES ('2025-06', ARRAY['OTRAS','TEMPRANA'], ARRAY['FIJA','MOVIL'], 3)`,
				`INSERT INTO mart.assignment_clientes VALUES ('2025-06', '{}', '{}', 3)`,
			},
		},
		{
			name: "dashboard view ratios, zero denominator is 0",
			stmts: []string{
				dash + `('2025-06-10', 'A', 'OTRAS', 'FIJA', 4, 3, 4, 200, 150, 2, 5, 3, 2, 0, 1, 1, 2, 0, 1, 50)`,
			},
			check: func(t *testing.T, tx pgx.Tx) {
				var cobertura, conversion, pctRecupero, intensidad float64
				err := tx.QueryRow(t.Context(), `SELECT cobertura, conversion, pct_recupero, intensidad
					FROM mart.v_dashboard_data WHERE archivo = 'A'`).Scan(&cobertura, &conversion, &pctRecupero, &intensidad)
				if err != nil {
					t.Fatal(err)
				}
				if cobertura != 50 || conversion != 0 || pctRecupero != 25 || intensidad != 2.5 {
					t.Errorf("cobertura %v conversion %v pct_recupero %v intensidad %v; want 50 0 25 2.5",
						cobertura, conversion, pctRecupero, intensidad)
				}
			},
		},
		{
			name:    "dashboard counters must add up",
			stmts:   []string{dash + `('2025-06-10', 'A', 'OTRAS', 'FIJA', 4, 3, 4, 200, 150, 2, 5, 3, 2, 1, 1, 1, 2, 0, 1, 50)`},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx := pgtest.Tx(t)
			err := exec(t.Context(), tx, tc.stmts...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, tx)
			}
		})
	}
}

func TestStatusAndCheckSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	mg := openMigrator(t, url)
	pool := openPool(t, url)
	latest := latestEmbedded(t)

	st, err := mg.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 0 || st.Dirty || st.Pending != len(st.Migrations) || st.Latest != latest {
		t.Fatalf("empty database status = %+v", st)
	}
	assertSchemaErr(t, CheckSchema(ctx, pool), ErrPendingMigrations, "pulso migrate up")

	if err := mg.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mg.Down(ctx, 2); err != nil {
		t.Fatal(err)
	}
	st, err = mg.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := len(st.Migrations)
	if st.Pending != 2 || st.Version != st.Migrations[n-3].Version {
		t.Fatalf("after down 2: pending %d version %d; want 2, %d", st.Pending, st.Version, st.Migrations[n-3].Version)
	}
	for i, m := range st.Migrations {
		if want := i < n-2; m.Applied != want || m.Name == "" {
			t.Errorf("migration %d %q applied = %v; want %v", m.Version, m.Name, m.Applied, want)
		}
	}
	assertSchemaErr(t, CheckSchema(ctx, pool), ErrPendingMigrations, "pulso migrate up")

	if err := mg.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := CheckSchema(ctx, pool); err != nil {
		t.Fatalf("CheckSchema after Up: %v", err)
	}
}

func assertSchemaErr(t *testing.T, err, sentinel error, command string) {
	t.Helper()
	var se *SchemaError
	if !errors.Is(err, sentinel) || !errors.As(err, &se) || se.Command != command || !strings.Contains(err.Error(), command) {
		t.Fatalf("err = %v; want %v naming %q", err, sentinel, command)
	}
}

func TestDirtyStateRecovery(t *testing.T) {
	t.Parallel()
	const ok1, ok2, boom = "CREATE TABLE t1 (id int);", "CREATE TABLE t2 (id int);", "CREATE TABLE t_fail (id int); SELECT 1/0;"
	tests := []struct {
		name  string
		files map[string]string
		// run brings the database into a dirty state.
		run         func(ctx context.Context, mg *Migrator) error
		wantVersion uint // recorded (dirty) version
		wantForce   uint
	}{
		{
			name:        "failed up",
			files:       map[string]string{"1_a.up.sql": ok1, "1_a.down.sql": "DROP TABLE t1;", "2_b.up.sql": boom, "2_b.down.sql": ""},
			run:         func(ctx context.Context, mg *Migrator) error { return mg.Up(ctx) },
			wantVersion: 2, wantForce: 1,
		},
		{
			name:        "failed first up",
			files:       map[string]string{"1_a.up.sql": boom, "1_a.down.sql": ""},
			run:         func(ctx context.Context, mg *Migrator) error { return mg.Up(ctx) },
			wantVersion: 1, wantForce: 0,
		},
		{
			name:  "failed down",
			files: map[string]string{"1_a.up.sql": ok1, "1_a.down.sql": "DROP TABLE t1;", "2_b.up.sql": ok2, "2_b.down.sql": "DROP TABLE t2; " + boom},
			run: func(ctx context.Context, mg *Migrator) error {
				if err := mg.Up(ctx); err != nil {
					return fmt.Errorf("setup: %w", err)
				}
				return mg.Down(ctx, 1)
			},
			wantVersion: 1, wantForce: 2, // the down rolled back: t2 is still there
		},
		{
			name:  "failed down of the first migration",
			files: map[string]string{"1_a.up.sql": ok1, "1_a.down.sql": "DROP TABLE t1; " + boom},
			run: func(ctx context.Context, mg *Migrator) error {
				if err := mg.Up(ctx); err != nil {
					return fmt.Errorf("setup: %w", err)
				}
				return mg.Down(ctx, 1)
			},
			wantVersion: 0, wantForce: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			mg := openTestMigrator(t, pgtest.Empty(t), tc.files)
			err := tc.run(ctx, mg)
			if err == nil || strings.Contains(err.Error(), "setup") {
				t.Fatalf("run: %v; want a migration failure", err)
			}
			t.Logf("failure reported as: %v", err)
			st, err := mg.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("pulso migrate force %d", tc.wantForce)
			if !st.Dirty || st.Version != tc.wantVersion || st.ForceVersion != tc.wantForce || st.Recovery != want {
				t.Fatalf("status = %+v; want dirty at %d, recovery %q", st, tc.wantVersion, want)
			}
			if err := mg.Up(ctx); !errors.Is(err, ErrDirtySchema) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Up on a dirty schema: %v; want ErrDirtySchema naming %q", err, want)
			}
			if err := mg.Force(ctx, int(tc.wantForce)); err != nil {
				t.Fatalf("Force(%d): %v", tc.wantForce, err)
			}
			if v, dirty, err := mg.Version(ctx); err != nil || dirty || v != tc.wantForce {
				t.Fatalf("after force: version %d dirty %v err %v", v, dirty, err)
			}
		})
	}
}

func TestSimulatedDirtyStatusNamesForce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	mg := openMigrator(t, url)
	pool := openPool(t, url)
	if err := mg.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mg.Force(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE public.schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	st, err := mg.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Dirty || st.Version != 3 || st.Recovery != "pulso migrate force 2" {
		t.Fatalf("status = %+v; want dirty at 3 with recovery %q", st, "pulso migrate force 2")
	}
	for _, m := range st.Migrations {
		if m.Dirty != (m.Version == 3) || m.Applied != (m.Version <= 2) {
			t.Errorf("migration %d: applied %v dirty %v", m.Version, m.Applied, m.Dirty)
		}
	}
	assertSchemaErr(t, CheckSchema(ctx, pool), ErrDirtySchema, "pulso migrate force 2")
	if err := mg.Force(ctx, 99); err == nil {
		t.Error("Force to an unknown version succeeded")
	}
}

func TestUpStopsOnCancel(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	// Migration 1 waits for an advisory lock the test holds: the test cancels while it
	// is running, then lets it finish (no timing involved).
	files := map[string]string{
		"1_slow.up.sql": "SELECT pg_advisory_lock(4242); SELECT pg_advisory_unlock(4242); CREATE TABLE s1 (id int);",
		"2_next.up.sql": "CREATE TABLE s2 (id int);",
	}
	mg := openTestMigrator(t, url, files)
	pool := openPool(t, url)
	holder, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mg.Up(ctx) }()
	for {
		var waiting bool
		if err := pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event = 'advisory' AND query LIKE '%pg_advisory_lock(4242)%'
			  AND pid <> pg_backend_pid())`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Up returned %v before migration 1 ran", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_unlock(4242)`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Up = %v; want context.Canceled", err)
	}
	// The running migration completed; the next one never started.
	if v, dirty, err := mg.Version(t.Context()); err != nil || v != 1 || dirty {
		t.Fatalf("version %d dirty %v err %v; want 1 clean", v, dirty, err)
	}
	if err := mg.Up(t.Context()); err != nil {
		t.Fatalf("Up after the cancelled one: %v", err)
	}
	if v, _, err := mg.Version(t.Context()); err != nil || v != 2 {
		t.Fatalf("version %d err %v; want 2", v, err)
	}
}

func TestUpCancelWhileWaitingForMigrationLock(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	files := map[string]string{"1_slow.up.sql": "SELECT pg_sleep(2);"}
	holder, waiter := openTestMigrator(t, url, files), openTestMigrator(t, url, files)
	pool := openPool(t, url)

	done := make(chan error, 1)
	go func() { done <- holder.Up(context.Background()) }()
	// Wait until the holder runs its migration, i.e. holds golang-migrate's lock.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("holder never started its migration")
		}
	}

	// golang-migrate marks the version dirty while the migration runs: that is a
	// migration in progress, not a failure to recover from with force.
	st, err := waiter.Status(t.Context())
	if err != nil || st.Dirty || !st.InProgress || st.Recovery != "" {
		t.Fatalf("status during a migration = %+v, %v; want in progress, not dirty", st, err)
	}
	if err := CheckSchema(t.Context(), pool); !errors.Is(err, ErrPendingMigrations) || errors.Is(err, ErrDirtySchema) {
		t.Fatalf("CheckSchema during a migration = %v; want ErrPendingMigrations", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = waiter.Up(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting Up = %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("cancelled Up returned after %v; want it to stop waiting promptly", d)
	}
	if err := <-done; err != nil {
		t.Fatalf("holder Up: %v", err)
	}
}
