package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// tfEnv is a private migrated database for transform tests: load a landing directory
// through the real loader, transform, and read the result; any failure fails the test.
type tfEnv struct {
	*replayDB
	t   testing.TB
	reg *etl.Registry
}

func newTFEnv(t testing.TB) *tfEnv {
	t.Helper()
	d, err := newReplayDB(t)
	if err != nil {
		t.Fatal(err)
	}
	return &tfEnv{replayDB: d, t: t, reg: etl.MustRegistry()}
}

// load loads every table of dir (incrementally, landing-file ledger honoured) as of asOf.
func (e *tfEnv) load(dir string, asOf etl.Date) {
	e.t.Helper()
	if err := e.replayDB.load(context.Background(), dir, asOf); err != nil {
		e.t.Fatalf("load as of %s: %v", asOf, err)
	}
}

type tfOpts struct {
	full     bool
	archivos []string
	from, to etl.Date
}

// transform runs one transform as of asOf.
func (e *tfEnv) transform(asOf etl.Date, o tfOpts) etl.TransformResult {
	e.t.Helper()
	res, err := e.tryTransform(asOf, o)
	if err != nil {
		e.t.Fatalf("transform as of %s: %v", asOf, err)
	}
	return res
}

func (e *tfEnv) tryTransform(asOf etl.Date, o tfOpts) (etl.TransformResult, error) {
	return e.replayDB.transform(context.Background(), asOf, o)
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
