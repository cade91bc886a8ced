package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// tfEnv is a private migrated database for transform tests: load a landing directory
// through the real loader, transform, and read the result.
type tfEnv struct {
	t     testing.TB
	pool  *pgxpool.Pool
	store *Store
	reg   *etl.Registry
	log   *slog.Logger
}

func newTFEnv(t testing.TB) *tfEnv {
	t.Helper()
	url := pgtest.Fresh(t)
	pool, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &tfEnv{t: t, pool: pool, reg: etl.MustRegistry(), log: log,
		store: NewStore(pool, log, StoreOptions{BatchRows: 50000, MaxShrinkRatio: 0.5})}
}

// load loads every table of dir (incrementally, landing-file ledger honoured) as of asOf.
func (e *tfEnv) load(dir string, asOf etl.Date) {
	e.t.Helper()
	ctx := context.Background()
	runID, err := e.store.StartRun(ctx, "load", nil, asOf)
	if err != nil {
		e.t.Fatal(err)
	}
	src := files.New(dir, files.Options{MaxFieldBytes: 1 << 20})
	l := etl.NewLoader(src, e.store)
	for _, tbl := range e.reg.Tables() {
		lb := map[string]int{tbl.Name: tbl.LookbackDays}
		_, err := l.LoadTable(ctx, tbl, etl.LoadOptions{
			RunID: runID, Now: asOf.AddDays(1).Start(), Lookback: lb, EjecutivosIDCliente: 145,
			RejectTolerance: 1, Logger: e.log, Force: true,
		})
		if err != nil {
			e.t.Fatalf("load %s: %v", tbl.Name, err)
		}
	}
	if err := e.store.FinishRun(ctx, runID, StatusSuccess, 0, nil); err != nil {
		e.t.Fatal(err)
	}
}

type tfOpts struct {
	full     bool
	archivos []string
	from, to etl.Date
}

// transform runs one transform as of asOf.
func (e *tfEnv) transform(asOf etl.Date, o tfOpts) TransformResult {
	e.t.Helper()
	res, err := e.tryTransform(asOf, o)
	if err != nil {
		e.t.Fatalf("transform as of %s: %v", asOf, err)
	}
	return res
}

func (e *tfEnv) tryTransform(asOf etl.Date, o tfOpts) (TransformResult, error) {
	ctx := context.Background()
	runID, err := e.store.StartRun(ctx, "transform", nil, asOf)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.store.Transform(ctx, etl.TransformOptions{
		RunID: runID, Today: asOf, Full: o.full, Archivos: o.archivos, From: o.from, To: o.to,
		PDPRecoveryDays: 7, MaxPagosDocDia: 3, Logger: e.log,
	})
	status := StatusSuccess
	if err != nil {
		status = StatusFailed
	}
	if ferr := e.store.FinishRun(ctx, runID, status, 0, err); ferr != nil {
		e.t.Fatal(ferr)
	}
	return res, err
}

// derivedTables are every aux and mart table with their full-row ordering keys.
var derivedTables = []struct{ name, order string }{
	{"aux.campana", "archivo"},
	{"aux.deuda_snapshot", "cod_cuenta, fecha_proceso"},
	{"aux.asignacion_cuenta", "archivo, cuenta"},
	{"aux.gestiones_unificadas", "canal, gestion_uid"},
	{"aux.gestion_cuenta", "canal, gestion_uid, archivo, cuenta"},
	{"aux.pago_dedup", "nro_documento, fecha_pago, monto_cancelado"},
	{"aux.pago_campana", "nro_documento, fecha_pago, monto_cancelado, archivo"},
	{"mart.dashboard_data", "fecha_foto, archivo, cartera, servicio"},
	{"mart.assignment_data", "periodo, archivo, cartera, servicio, fecha_vencimiento"},
	{"mart.assignment_clientes", "periodo, carteras, servicios"},
	{"mart.operation_data", "fecha_foto, hora, canal, archivo"},
	{"mart.operation_attempt_data", "fecha_foto, canal, archivo, intento"},
	{"mart.operation_queue_data", "fecha_foto, canal, archivo, cola"},
	{"mart.productivity_data", "fecha_foto, correo_agente, archivo"},
}

// checksums returns, per aux and mart table, its row count and the md5 of its full
// contents ordered by key (byte order).
func (e *tfEnv) checksums() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, tb := range derivedTables {
		var n int64
		var sum string
		// Order by the key columns in byte order, then the whole row text.
		q := fmt.Sprintf(`SELECT count(*), md5(COALESCE(string_agg(r::text, E'\n' ORDER BY %s), ''))
			FROM %s r`, collateC(tb.order), tb.name)
		if err := e.pool.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
			e.t.Fatalf("%s: %v", tb.name, err)
		}
		out[tb.name] = fmt.Sprintf("%d rows md5 %s", n, sum)
	}
	return out
}

func collateC(order string) string {
	var out string
	for i, c := range splitComma(order) {
		if i > 0 {
			out += ", "
		}
		out += "r." + c + "::text COLLATE \"C\""
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		switch r {
		case ',':
			out = append(out, cur)
			cur = ""
		case ' ':
		default:
			cur += string(r)
		}
	}
	return append(out, cur)
}

func (e *tfEnv) int(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}
