package postgres

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
)

var demoAsOf = etl.NewDate(2025, time.July, 15)

func demoDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synthetic.Generate(context.Background(), synthetic.Options{OutDir: dir, AsOf: demoAsOf}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTransformDemoInvariants checks the invariants of domain.md §8 on `pulso demo
// --scale small` loaded through the real loader and transformed incrementally, then
// that a rerun changes nothing and a --full-rebuild gives the same tables.
func TestTransformDemoInvariants(t *testing.T) {
	t.Parallel()
	dir := demoDir(t)
	e := newTFEnv(t)
	e.load(dir, demoAsOf)
	e.transform(demoAsOf, tfOpts{})

	// zero runs a query that must return 0 (a count of violations).
	zero := func(name, q string, args ...any) {
		t.Helper()
		if n := e.int(q, args...); n != 0 {
			t.Errorf("invariant %s: %d violations", name, n)
		}
	}
	if n := e.int(`SELECT count(*) FROM mart.dashboard_data`); n < 100 {
		t.Fatalf("only %d dashboard rows", n)
	}
	zero("1", `SELECT count(*) FROM mart.dashboard_data WHERE NOT (clientes <= cuentas AND cuentas_gestionables <= cuentas
		AND cuentas_gestionadas BETWEEN 0 AND cuentas AND cuentas_sg = cuentas - cuentas_gestionadas)`)
	zero("2", `SELECT count(*) FROM mart.dashboard_data WHERE NOT (cuentas_cd + cuentas_ci + cuentas_sc = cuentas_gestionadas
		AND cuentas_pdp <= cuentas_cd AND cuentas_pagadoras <= cuentas AND gestiones_bot + gestiones_call = total_gestiones)`)
	zero("3", `SELECT count(*) FROM mart.v_dashboard_data WHERE NOT (
		cobertura BETWEEN 0 AND 100 AND contacto BETWEEN 0 AND 100 AND cd BETWEEN 0 AND 100 AND ci BETWEEN 0 AND 100
		AND sc BETWEEN 0 AND 100 AND conversion BETWEEN 0 AND 100 AND efectividad BETWEEN 0 AND 100
		AND cierre BETWEEN 0 AND 100 AND pct_recupero BETWEEN 0 AND 100
		AND (total_gestiones = 0) = (cuentas_gestionadas = 0) AND (cuentas_gestionadas = 0 OR intensidad > 0))`)
	zero("4", `SELECT count(*) FROM (
		SELECT d.*, lag(d) OVER w AS p FROM mart.dashboard_data d WINDOW w AS (PARTITION BY archivo, servicio ORDER BY fecha_foto)) x
		WHERE p IS NOT NULL AND NOT (cuentas >= (p).cuentas AND cuentas_gestionables >= (p).cuentas_gestionables
		AND deuda_asig >= (p).deuda_asig AND cuentas_gestionadas >= (p).cuentas_gestionadas
		AND total_gestiones >= (p).total_gestiones AND gestiones_bot >= (p).gestiones_bot AND gestiones_call >= (p).gestiones_call
		AND cuentas_cd >= (p).cuentas_cd AND cuentas_cd + cuentas_ci >= (p).cuentas_cd + (p).cuentas_ci
		AND cuentas_pdp >= (p).cuentas_pdp AND cuentas_pagadoras >= (p).cuentas_pagadoras AND recupero >= (p).recupero)`)
	// 5: recupero re-derived by rescanning (the mart uses running sums), and ≤ deuda_asig.
	zero("5", `SELECT count(*) FROM mart.dashboard_data d WHERE d.recupero <> (
		SELECT COALESCE(sum(pc.monto_cancelado), 0) FROM aux.pago_campana pc
		JOIN aux.asignacion_cuenta ac ON ac.archivo = pc.archivo AND ac.cuenta = pc.cuenta
		WHERE pc.archivo = d.archivo AND ac.servicio = d.servicio AND ac.fecha_asignacion <= d.fecha_foto
		  AND pc.fecha_pago <= d.fecha_foto) OR d.recupero > d.deuda_asig`)
	zero("5 pago_campana ⊆ valid payments in window", `SELECT count(*) FROM aux.pago_campana pc
		JOIN aux.pago_dedup p USING (nro_documento, fecha_pago, monto_cancelado)
		JOIN aux.campana c ON c.archivo = pc.archivo
		WHERE NOT p.es_valido OR pc.fecha_pago NOT BETWEEN c.fecha_apertura AND c.fin`)
	if n := e.int(`SELECT count(*) FROM aux.pago_dedup WHERE times_seen = 2`); n < 1 {
		t.Error("invariant 5: the payment in two files is not one dedup row with times_seen = 2")
	}
	for _, motivo := range []string{"exceso_pagos_dia", "documento_desconocido"} {
		if n := e.int(`SELECT count(*) FROM aux.pago_dedup WHERE motivo_invalidez = $1`, motivo); n < 1 {
			t.Errorf("invariant 5: no %s payment", motivo)
		}
	}
	zero("6 operation", `SELECT count(*) FROM (
		SELECT fecha, canal, count(*) AS n, count(DISTINCT cod_luna) AS c FROM aux.gestiones_unificadas WHERE atribuida GROUP BY 1, 2) g
		FULL JOIN (SELECT fecha_foto, canal, sum(total_gestiones) AS n, sum(clientes_nuevos) AS c FROM mart.operation_data GROUP BY 1, 2) o
		ON o.fecha_foto = g.fecha AND o.canal = g.canal
		WHERE g.n IS DISTINCT FROM o.n`)
	zero("6 clientes", `SELECT count(*) FROM (
		SELECT fecha, count(DISTINCT cod_luna) AS c FROM aux.gestiones_unificadas WHERE atribuida GROUP BY 1) g
		FULL JOIN (SELECT fecha_foto, sum(clientes_nuevos) AS c FROM mart.operation_data GROUP BY 1) o ON o.fecha_foto = g.fecha
		WHERE g.c IS DISTINCT FROM o.c`)
	for _, m := range []string{"mart.operation_attempt_data", "mart.operation_queue_data"} {
		zero("6 "+m, `SELECT count(*) FROM (SELECT fecha_foto, canal, sum(total_gestiones) AS n FROM mart.operation_data GROUP BY 1, 2) o
			FULL JOIN (SELECT fecha_foto, canal, sum(total_gestiones) AS n FROM `+m+` GROUP BY 1, 2) x USING (fecha_foto, canal)
			WHERE o.n IS DISTINCT FROM x.n`)
	}
	zero("7", `SELECT count(*) FROM (SELECT fecha_foto, sum(total_gestiones) AS n FROM mart.operation_data
		WHERE canal = 'CALL_CENTER' GROUP BY 1) o
		FULL JOIN (SELECT fecha_foto, sum(total_gestiones) AS n FROM mart.productivity_data GROUP BY 1) p USING (fecha_foto)
		WHERE o.n IS DISTINCT FROM p.n`)
	zero("8", `SELECT count(*) FROM (SELECT archivo, sum(monto_recuperado) AS m FROM mart.productivity_data GROUP BY 1) p
		JOIN (SELECT archivo, sum(recupero) AS r FROM mart.dashboard_data d
		      WHERE fecha_foto = (SELECT max(fecha_foto) FROM mart.dashboard_data x WHERE x.archivo = d.archivo) GROUP BY 1) d
		USING (archivo) WHERE p.m > d.r`)
	if n := e.int(`SELECT count(*) FROM mart.productivity_data WHERE monto_recuperado > 0`); n < 1 {
		t.Error("invariant 8: no recovery credited at all")
	}
	zero("9", `SELECT count(*) FROM mart.assignment_data WHERE abs(ticket_promedio * cuentas - deuda_asig) > 0.01 * cuentas`)
	// 10: deuda_act re-derived by rescanning: S(a, D) and the debt there.
	zero("10 deuda_act", `SELECT count(*) FROM mart.dashboard_data d WHERE d.deuda_act <> COALESCE((
		SELECT sum(s.monto) FROM aux.asignacion_cuenta ac
		JOIN aux.deuda_snapshot s ON s.cod_cuenta = ac.cuenta AND s.fecha_proceso = (
			SELECT max(s2.fecha_proceso) FROM aux.deuda_snapshot s2 JOIN aux.asignacion_cuenta a2 ON a2.cuenta = s2.cod_cuenta
			WHERE a2.archivo = d.archivo AND s2.fecha_proceso <= d.fecha_foto)
		WHERE ac.archivo = d.archivo AND ac.servicio = d.servicio AND ac.fecha_asignacion <= d.fecha_foto), 0)`)
	zero("10 gestionables", `SELECT count(*) FROM mart.dashboard_data d WHERE d.cuentas_gestionables <> (
		SELECT count(*) FROM aux.asignacion_cuenta ac WHERE ac.archivo = d.archivo AND ac.servicio = d.servicio
		AND ac.fecha_asignacion <= d.fecha_foto AND ac.gestionable AND ac.snap_asig <= d.fecha_foto)`)
	zero("10 no snapshot", `SELECT count(*) FROM aux.asignacion_cuenta WHERE snap_asig IS NULL AND (gestionable OR deuda_asig <> 0)`)
	// 11: from raw, through the campaign key.
	zero("11", `SELECT count(*) FROM (SELECT fecha_foto, archivo, sum(cuentas) AS n FROM mart.dashboard_data GROUP BY 1, 2) d
		WHERE d.n <> (SELECT count(*) FROM (SELECT a.cuenta FROM raw.asignaciones a
			WHERE upper(regexp_replace(a.archivo, '\.txt$', '', 'i')) = upper(d.archivo)
			GROUP BY a.cuenta HAVING min(a.fecha_asignacion) <= d.fecha_foto) x)`)
	zero("12", `SELECT count(*) FROM aux.gestiones_unificadas
		WHERE fecha <> (ts AT TIME ZONE 'UTC' - interval '5 hours')::date
		   OR hora <> extract(hour FROM ts AT TIME ZONE 'UTC' - interval '5 hours')`)
	zero("12 assignments", `SELECT count(*) FROM raw.asignaciones WHERE fecha_asignacion <> (creado_el AT TIME ZONE 'UTC' - interval '5 hours')::date`)
	if n := e.int(`SELECT count(*) FROM aux.gestiones_unificadas WHERE hora >= 19
		AND (ts AT TIME ZONE 'UTC')::date > fecha`); n < 1 {
		t.Error("invariant 12: no late-evening gestión landing on the previous UTC day")
	}
	zero("13 unmapped", `SELECT count(*) FROM aux.gestiones_unificadas WHERE NOT homologada AND (contactabilidad <> 'SIN_CLASIFICAR' OR es_pdp)`)
	zero("13 pdp only on CD", `SELECT count(*) FROM aux.gestiones_unificadas WHERE es_pdp AND NOT es_cd`)
	if n := e.int(`SELECT count(*) FROM aux.gestiones_unificadas g JOIN raw.homologacion_mibotair h
		ON lower(h.n_1) = lower(COALESCE(g.n1, '')) AND lower(h.n_2) = lower(COALESCE(g.n2, '')) AND lower(h.n_3) = lower(COALESCE(g.n3, ''))
		WHERE lower(h.contactabilidad) = 'no contacto' AND g.contactabilidad = 'Contacto No Efectivo'`); n < 1 {
		t.Error("invariant 13: 'No Contacto' gestiones are not CI")
	}
	if n := e.int(`SELECT count(*) FROM aux.gestiones_unificadas g JOIN raw.homologacion_mibotair h
		ON lower(h.n_1) = lower(COALESCE(g.n1, '')) AND lower(h.n_2) = lower(COALESCE(g.n2, '')) AND lower(h.n_3) = lower(COALESCE(g.n3, ''))
		WHERE h.es_pdp AND g.es_ci AND NOT g.es_pdp`); n < 1 {
		t.Error("invariant 13: no gestión of the PDP-flagged CI rule (or its PDP counted)")
	}
	got := e.rows(`SELECT cartera FROM aux.campana ORDER BY cartera`)
	eq(t, got, []string{"ALTAS_NUEVAS", "CUOTA_FRACCIONAMIENTO", "TEMPRANA"})
	zero("15", `SELECT count(*) FROM etl.run_table r JOIN etl.run USING (run_id)
		WHERE command = 'load' AND r.status = 'success' AND rows_read <> rows_filtered + rows_rejected + rows_loaded`)

	// 16 and 17: a rerun with the same inputs adds nothing, rewrites nothing and
	// leaves every aux and mart table identical; a full rebuild equals the incremental.
	before := e.checksums()
	hwm := e.rows(`SELECT table_name || ' ' || high_water_mark::text FROM etl.watermark ORDER BY 1`)
	e.loadFull(dir, demoAsOf)
	zero("16 rerun rewrites", `SELECT count(*) FROM etl.run_table WHERE run_id = (SELECT max(run_id) FROM etl.run WHERE command = 'load')
		AND (rows_inserted > 0 OR rows_updated > 0 OR rows_deleted > 0)`)
	eq(t, e.rows(`SELECT table_name || ' ' || high_water_mark::text FROM etl.watermark ORDER BY 1`), hwm)
	res := e.transform(demoAsOf, tfOpts{})
	if res.Rebuilt {
		t.Errorf("17: a transform after an unchanged reload rebuilt %+v", res.Plan)
	}
	eqMap(t, e.checksums(), before)
	e.transform(demoAsOf, tfOpts{full: true})
	eqMap(t, e.checksums(), before)
	e.transform(demoAsOf, tfOpts{full: true})
	eqMap(t, e.checksums(), before)
}

// loadFull reloads every table ignoring the landing-file ledger (same inputs).
func (e *tfEnv) loadFull(dir string, asOf etl.Date) {
	e.t.Helper()
	ctx := context.Background()
	runID, err := startTestRun(ctx, e.store, "load", nil, asOf)
	if err != nil {
		e.t.Fatal(err)
	}
	l := etl.NewLoader(filesSource(dir), e.store)
	for _, tbl := range e.reg.Tables() {
		if _, err := l.LoadTable(ctx, tbl, etl.LoadOptions{RunID: runID, Now: asOf.AddDays(1).Start(), Full: true,
			LoadConfig: etl.LoadConfig{Lookback: map[string]int{tbl.Name: tbl.LookbackDays}, EjecutivosIDCliente: 145, RejectTolerance: 1},
			Logger:     e.log}); err != nil {
			e.t.Fatalf("reload %s: %v", tbl.Name, err)
		}
	}
	if err := e.store.FinishRun(ctx, runID, etl.StatusSuccess, 0, nil); err != nil {
		e.t.Fatal(err)
	}
}

// TestTransformIncrementalEqualsFull replays the demo set day by day as the landing
// directory would fill up (each day's files, loaded and transformed as of that day),
// with the AN campaign first delivered open and closed later, and a homologation rule
// changing mid-way; the end state must equal a --full-rebuild.
func TestTransformIncrementalEqualsFull(t *testing.T) {
	t.Parallel()
	src := demoDir(t)
	land := t.TempDir()
	e := newTFEnv(t)

	calendar, err := os.ReadFile(filepath.Join(src, "calendario.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// The AN campaign as first delivered: still open (no fecha_cierre).
	var openAN []string
	for _, line := range strings.Split(string(calendar), "\n") {
		if strings.Contains(line, "_AN_2025") {
			f := strings.Split(line, ",")
			f[10] = ""
			line = strings.Join(f, ",")
		}
		openAN = append(openAN, line)
	}
	homol, err := os.ReadFile(filepath.Join(src, "homologacion_voicebot.csv"))
	if err != nil {
		t.Fatal(err)
	}

	steps := []etl.Date{
		etl.NewDate(2025, time.June, 3), etl.NewDate(2025, time.June, 6), etl.NewDate(2025, time.June, 11),
		etl.NewDate(2025, time.June, 17), etl.NewDate(2025, time.June, 24),
		// the CF campaign closed on 06-27: its June assignment rows still take the
		// snapshots up to 06-30
		etl.NewDate(2025, time.June, 28), etl.NewDate(2025, time.July, 1),
		etl.NewDate(2025, time.July, 4), etl.NewDate(2025, time.July, 9), etl.NewDate(2025, time.July, 15),
	}
	narrow := 0
	for i, day := range steps {
		copyUpTo(t, src, land, day)
		switch {
		case day.Before(etl.NewDate(2025, time.July, 9)):
			writeFile(t, filepath.Join(land, "calendario.csv"), strings.Join(openAN, "\n"))
		default:
			writeFile(t, filepath.Join(land, "calendario.csv"), string(calendar))
		}
		if i == 4 {
			// A voicebot rule's weight changes: every gestiones day is rebuilt.
			writeFile(t, filepath.Join(land, "homologacion_voicebot.csv"),
				strings.Replace(string(homol), ",1,10\n", ",1,9\n", 1))
		}
		e.load(land, day)
		res := e.transform(day, tfOpts{})
		p := res.Plan
		if i > 0 && i != 4 && (p.Full || p.GestAll || len(p.GestDays) == 0) {
			t.Errorf("step %s: plan is not incremental: all %v, %d gestiones days", day, p.GestAll, len(p.GestDays))
		}
		if len(p.GestDays) > 0 && len(p.GestDays) <= 7 {
			narrow++
		}
		if i == 4 && !p.GestAll {
			t.Errorf("step %s: a homologation change did not rebuild every gestiones day", day)
		}
	}
	if narrow < 3 {
		t.Errorf("only %d steps rebuilt a narrow (≤ 7 days) gestiones slice", narrow)
	}
	// --from/--to on top of the pending changes.
	e.transform(demoAsOf, tfOpts{from: etl.NewDate(2025, time.June, 20), to: etl.NewDate(2025, time.June, 21)})
	incremental := e.checksums()
	e.transform(demoAsOf, tfOpts{full: true})
	eqMap(t, e.checksums(), incremental)
}

// copyUpTo copies the landing files dated on or before day (per-day files under a
// table directory are named YYYY-MM-DD.csv; top-level files are full tables).
func copyUpTo(t *testing.T, src, dst string, day etl.Date) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if !strings.HasSuffix(rel, ".csv") || rel == "calendario.csv" {
			return nil
		}
		if strings.Contains(rel, string(filepath.Separator)) {
			name := strings.TrimSuffix(filepath.Base(rel), ".csv")
			if len(name) >= 10 && name[:10] > day.String() {
				return nil
			}
		}
		target := filepath.Join(dst, rel)
		if _, err := os.Stat(target); err == nil {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func filesSource(dir string) etl.Source {
	return files.New(dir, files.Options{MaxFieldBytes: 1 << 20}, nil)
}

// The transform refreshes what the loads outdated before it plans, without relying on
// autovacuum (off here for the raw tables, as it may be in production): statistics of
// raw tables never analyzed or grown by more than a tenth, and the BRIN summaries of the block
// ranges the loads appended (an unsummarized range matches every day filter).
func TestTransformRefreshesRawStatistics(t *testing.T) {
	t.Parallel()
	e := newTFEnv(t)
	ctx := t.Context()
	for _, tbl := range e.reg.Tables() {
		if _, err := e.pool.Exec(ctx, "ALTER TABLE "+tbl.RawTable()+" SET (autovacuum_enabled = false)"); err != nil {
			t.Fatal(err)
		}
	}
	e.load(demoDir(t), demoAsOf)
	reltuples := func(table string) float64 {
		var n float64
		if err := e.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := reltuples("raw.voicebot_gestiones"); n > 0 {
		t.Fatalf("raw.voicebot_gestiones analyzed before the transform (reltuples %v): the test proves nothing", n)
	}
	e.transform(demoAsOf, tfOpts{})
	for _, tbl := range []string{"raw.voicebot_gestiones", "raw.mibotair_gestiones", "raw.trandeuda"} {
		if n := reltuples(tbl); n < 1000 {
			t.Errorf("%s: reltuples %v after the transform; want it analyzed", tbl, n)
		}
	}
	for _, idx := range []string{"raw.voicebot_gestiones_date_brin", "raw.mibotair_gestiones_date_brin", "raw.trandeuda_fecha_proceso_brin"} {
		var left int64
		if err := e.pool.QueryRow(ctx, `SELECT brin_summarize_new_values($1::regclass)`, idx).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%s: %d block ranges left unsummarized by the transform", idx, left)
		}
	}
}
