package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The hand-checked set (testdata/transform/tiny, as of Friday 2025-06-06):
//
// Campaigns: A = Cartera_Cobranding_Temprana_20250602 (two calendario rows, apertura
// MIN 06-02, open, fecha_trandeuda 06-01; "Cobranding" holds AN inside a word, TEMPRANA
// wins), B = Cartera_Cobranding_AN_20250603 (06-03..06-05, fecha_trandeuda 06-02).
//
// Accounts (cuenta/client/servicio/fecha_asignacion → snap_asig, deuda_asig):
//
//	A 11 L1001 MOVIL ('Movil') 06-02 → 06-01, 150.00 (D11a 100 + D11b 50)
//	A 12 L1001 FIJA  ('HFC')   06-02 → 06-01, 200.00
//	A 21 L1002 MOVIL 06-02 (created 23:30 Lima = 04:30Z on 06-03) → 06-01, 0.50: not gestionable
//	A 31 L1003 FIJA  (NULL)    06-04 → absent on 06-01, first snapshot 06-04: 60.00
//	B 13 L1001 MOVIL 06-03 → 06-02, 300.00 (D13 in two load files counts once)
//	B 41 L1004 FIJA  06-03 ('….TXT') → 06-02, 80.00
//	'Cartera_Desconocida_20250602.txt' matches no campaign: skipped, counted as filtered.
//
// Snapshots 06-01..06-05, none on 06-06 (S(a, 06-06) = 06-05); D11b gone from 06-03,
// D11a 100 → 40 on 06-05.
//
// Gestiones (Lima): vb1 L1001 06-02 10h CI (bot rule 'No Contacto' with a PDP flag: not a
// PDP) → A{11,12}; ma1 L1001 06-03 11h CI, Ana → A{11,12}, B{13}, principal B;
// vb2 L1001 06-03 19:30 (00:30Z on 06-04) CD+PDP → A{11,12}, B{13}: a PDP reaching all
// the client's accounts; ma2 L1002 06-03 10h CD+PDP (codes in lower case), Bob (not in
// ejecutivos) → A{21}; vb3 L1002 06-04 09h SC (NULL queue); vb4 L1003 06-03 CD before its
// assignment: not attributed; ma3 L1003 06-05 10h SC + vb5 12h CI → A{31}: CI beats SC;
// vb6 unknown client, vb7 NULL document, ma4 L1004 06-06 after B closed: not attributed;
// vb8 L1002 06-06 08h unmapped codes → SIN_CLASIFICAR.
//
// Payments: D11b 50 on 06-02 in two files (times_seen 2) → A/11; D11a 60 on 06-04 →
// A/11; D13 100 on 06-06 after B closed → nowhere; D99 unknown document; D41 four
// amounts on 06-04 → exceso_pagos_dia; D21 0.50 on 06-05 → A/21, credited to ma2 (Bob's
// CALL PDP of 06-03, within 7 days).
var tinyAsOf = etl.NewDate(2025, time.June, 6)

const (
	campA = "Cartera_Cobranding_Temprana_20250602"
	campB = "Cartera_Cobranding_AN_20250603"
)

func tinyEnv(t *testing.T) *tfEnv {
	t.Helper()
	e := newTFEnv(t)
	e.load("../../../testdata/transform/tiny", tinyAsOf)
	return e
}

type dashRow struct {
	fecha                           string
	archivo, cartera, servicio      string
	cuentas, clientes, gestionables int
	deudaAsig, deudaAct             string
	gestionadas, total, bot, call   int
	cd, ci, sc, sg, pdp, pagadoras  int
	recupero                        string
}

func TestTransformHandChecked(t *testing.T) {
	t.Parallel()
	e := tinyEnv(t)
	res := e.transform(tinyAsOf, tfOpts{})
	if !res.Rebuilt || res.DataVersion != 1 {
		t.Fatalf("rebuilt %v version %d; want true 1", res.Rebuilt, res.DataVersion)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Cartera_Desconocida_20250602.txt (1 rows)") {
		t.Errorf("warnings %v; want the unmatched archivo named", res.Warnings)
	}

	t.Run("campana", func(t *testing.T) {
		got := e.rows(`SELECT archivo, fecha_apertura::text, COALESCE(fecha_cierre::text, '-'), estado_cartera, cartera,
			periodo, fin::text FROM aux.campana ORDER BY archivo`)
		want := []string{
			campB + " 2025-06-03 2025-06-05 CERRADA ALTAS_NUEVAS 2025-06 2025-06-05",
			campA + " 2025-06-02 - ABIERTA_2 TEMPRANA 2025-06 2025-06-06",
		}
		eq(t, got, want)
	})

	t.Run("asignacion_cuenta", func(t *testing.T) {
		got := e.rows(`SELECT archivo, cuenta, cod_luna, fecha_asignacion::text, servicio, COALESCE(snap_asig::text, '-'),
			deuda_asig::text, gestionable::text FROM aux.asignacion_cuenta ORDER BY archivo, cuenta`)
		want := []string{
			campB + " 13 1001 2025-06-03 MOVIL 2025-06-02 300.00 true",
			campB + " 41 1004 2025-06-03 FIJA 2025-06-02 80.00 true",
			campA + " 11 1001 2025-06-02 MOVIL 2025-06-01 150.00 true",
			campA + " 12 1001 2025-06-02 FIJA 2025-06-01 200.00 true",
			campA + " 21 1002 2025-06-02 MOVIL 2025-06-01 0.50 false",
			campA + " 31 1003 2025-06-04 FIJA 2025-06-04 60.00 true",
		}
		eq(t, got, want)
		if n := e.int(`SELECT rows_filtered FROM etl.run_table WHERE step = 'aux.asignacion_cuenta' AND status = 'success'`); n != 1 {
			t.Errorf("aux.asignacion_cuenta rows_filtered = %d; want 1", n)
		}
	})

	t.Run("deuda_snapshot", func(t *testing.T) {
		got := e.rows(`SELECT cod_cuenta, fecha_proceso::text, monto::text, n_documentos FROM aux.deuda_snapshot
			WHERE cod_cuenta IN ('11', '13') ORDER BY cod_cuenta, fecha_proceso`)
		want := []string{
			"11 2025-06-01 150.00 2", "11 2025-06-02 150.00 2", "11 2025-06-03 100.00 1", "11 2025-06-04 100.00 1",
			"11 2025-06-05 40.00 1",
			"13 2025-06-02 300.00 1", "13 2025-06-03 300.00 1", "13 2025-06-04 300.00 1", "13 2025-06-05 300.00 1",
		}
		eq(t, got, want)
	})

	t.Run("gestiones_unificadas", func(t *testing.T) {
		got := e.rows(`SELECT canal, gestion_uid, fecha::text, hora, cola, contactabilidad, es_pdp::text, peso,
			homologada::text, COALESCE(archivo_principal, '-'), COALESCE(intento::text, '-'),
			COALESCE(correo_agente, '-'), nombre_agente, COALESCE(dni_agente, '-')
			FROM aux.gestiones_unificadas ORDER BY canal, gestion_uid`)
		want := []string{
			"CALL_CENTER ma1 2025-06-03 11 COLA_B Contacto No Efectivo false 4 true " + campB + " 1 ana@x.pe Ana Agente 111",
			"CALL_CENTER ma2 2025-06-03 10 COLA_B Contacto Efectivo true 10 true " + campA + " 1 bob@x.pe Bob Fuente SIN DNI",
			"CALL_CENTER ma3 2025-06-05 10 COLA_B SIN_CLASIFICAR false 2 true " + campA + " 1 ana@x.pe Ana Agente 111",
			"CALL_CENTER ma4 2025-06-06 10 COLA_B SIN_CLASIFICAR false 1 false - - ana@x.pe Ana Agente 111",
			"VOICEBOT vb1 2025-06-02 10 COLA_A Contacto No Efectivo false 3 true " + campA + " 1 - VOICEBOT -",
			"VOICEBOT vb2 2025-06-03 19 COLA_A Contacto Efectivo true 10 true " + campB + " 2 - VOICEBOT -",
			"VOICEBOT vb3 2025-06-04 9 SIN_COLA SIN_CLASIFICAR false 1 true " + campA + " 1 - VOICEBOT -",
			"VOICEBOT vb4 2025-06-03 10 COLA_A Contacto Efectivo false 5 true - - - VOICEBOT -",
			"VOICEBOT vb5 2025-06-05 12 COLA_A Contacto No Efectivo false 3 true " + campA + " 2 - VOICEBOT -",
			"VOICEBOT vb6 2025-06-04 10 COLA_A Contacto Efectivo true 10 true - - - VOICEBOT -",
			"VOICEBOT vb7 2025-06-04 10 COLA_A Contacto Efectivo true 10 true - - - VOICEBOT -",
			"VOICEBOT vb8 2025-06-06 8 COLA_A SIN_CLASIFICAR false 1 false " + campA + " 1 - VOICEBOT -",
		}
		eq(t, got, want)
		got = e.rows(`SELECT canal, gestion_uid, archivo, cuenta FROM aux.gestion_cuenta ORDER BY 1, 2, 3, 4`)
		want = []string{
			"CALL_CENTER ma1 " + campB + " 13", "CALL_CENTER ma1 " + campA + " 11", "CALL_CENTER ma1 " + campA + " 12",
			"CALL_CENTER ma2 " + campA + " 21", "CALL_CENTER ma3 " + campA + " 31",
			"VOICEBOT vb1 " + campA + " 11", "VOICEBOT vb1 " + campA + " 12",
			"VOICEBOT vb2 " + campB + " 13", "VOICEBOT vb2 " + campA + " 11", "VOICEBOT vb2 " + campA + " 12",
			"VOICEBOT vb3 " + campA + " 21", "VOICEBOT vb5 " + campA + " 31", "VOICEBOT vb8 " + campA + " 21",
		}
		eq(t, got, want)
	})

	t.Run("pagos", func(t *testing.T) {
		got := e.rows(`SELECT nro_documento, fecha_pago::text, monto_cancelado::text, times_seen,
			array_to_string(archivos_origen, '|'), COALESCE(cuenta, '-'), COALESCE(motivo_invalidez, 'valido')
			FROM aux.pago_dedup ORDER BY 1, 2, 3`)
		want := []string{
			"D11a 2025-06-04 60.00 1 PAGOS_2025-06-04_1 11 valido",
			"D11b 2025-06-02 50.00 2 PAGOS_2025-06-02_1|PAGOS_2025-06-02_2 11 valido",
			"D13 2025-06-06 100.00 1 PAGOS_2025-06-06_1 13 valido",
			"D21 2025-06-05 0.50 1 PAGOS_2025-06-05_1 21 valido",
			"D41 2025-06-04 5.00 1 PAGOS_2025-06-04_1 41 exceso_pagos_dia",
			"D41 2025-06-04 6.00 1 PAGOS_2025-06-04_1 41 exceso_pagos_dia",
			"D41 2025-06-04 7.00 1 PAGOS_2025-06-04_1 41 exceso_pagos_dia",
			"D41 2025-06-04 8.00 1 PAGOS_2025-06-04_1 41 exceso_pagos_dia",
			"D99 2025-06-03 10.00 1 PAGOS_2025-06-03_1 - documento_desconocido",
		}
		eq(t, got, want)
		got = e.rows(`SELECT nro_documento, fecha_pago::text, archivo, cuenta, cod_luna FROM aux.pago_campana ORDER BY 1, 2, 3`)
		want = []string{
			"D11a 2025-06-04 " + campA + " 11 1001",
			"D11b 2025-06-02 " + campA + " 11 1001",
			"D21 2025-06-05 " + campA + " 21 1002",
		}
		eq(t, got, want)
	})

	t.Run("dashboard_data", func(t *testing.T) {
		// Worked out by hand from the account table above, day by day.
		const T, AN = "TEMPRANA", "ALTAS_NUEVAS"
		want := []dashRow{
			// A MOVIL: accounts 11, 21.
			{"2025-06-02", campA, T, "MOVIL", 2, 2, 1, "150.50", "150.50", 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, "50.00"},
			{"2025-06-03", campA, T, "MOVIL", 2, 2, 1, "150.50", "100.50", 2, 4, 2, 2, 2, 0, 0, 0, 2, 1, "50.00"},
			{"2025-06-04", campA, T, "MOVIL", 2, 2, 1, "150.50", "100.50", 2, 5, 3, 2, 2, 0, 0, 0, 2, 1, "110.00"},
			{"2025-06-05", campA, T, "MOVIL", 2, 2, 1, "150.50", "40.50", 2, 5, 3, 2, 2, 0, 0, 0, 2, 2, "110.50"},
			{"2025-06-06", campA, T, "MOVIL", 2, 2, 1, "150.50", "40.50", 2, 6, 4, 2, 2, 0, 0, 0, 2, 2, "110.50"},
			// A FIJA: account 12, and 31 from 06-04.
			{"2025-06-02", campA, T, "FIJA", 1, 1, 1, "200.00", "200.00", 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, "0.00"},
			{"2025-06-03", campA, T, "FIJA", 1, 1, 1, "200.00", "200.00", 1, 3, 2, 1, 1, 0, 0, 0, 1, 0, "0.00"},
			{"2025-06-04", campA, T, "FIJA", 2, 2, 2, "260.00", "260.00", 1, 3, 2, 1, 1, 0, 0, 1, 1, 0, "0.00"},
			{"2025-06-05", campA, T, "FIJA", 2, 2, 2, "260.00", "260.00", 2, 5, 3, 2, 1, 1, 0, 0, 1, 0, "0.00"},
			{"2025-06-06", campA, T, "FIJA", 2, 2, 2, "260.00", "260.00", 2, 5, 3, 2, 1, 1, 0, 0, 1, 0, "0.00"},
			// B MOVIL: account 13.
			{"2025-06-03", campB, AN, "MOVIL", 1, 1, 1, "300.00", "300.00", 1, 2, 1, 1, 1, 0, 0, 0, 1, 0, "0.00"},
			{"2025-06-04", campB, AN, "MOVIL", 1, 1, 1, "300.00", "300.00", 1, 2, 1, 1, 1, 0, 0, 0, 1, 0, "0.00"},
			{"2025-06-05", campB, AN, "MOVIL", 1, 1, 1, "300.00", "300.00", 1, 2, 1, 1, 1, 0, 0, 0, 1, 0, "0.00"},
			// B FIJA: account 41, never reached while B was open.
			{"2025-06-03", campB, AN, "FIJA", 1, 1, 1, "80.00", "80.00", 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, "0.00"},
			{"2025-06-04", campB, AN, "FIJA", 1, 1, 1, "80.00", "80.00", 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, "0.00"},
			{"2025-06-05", campB, AN, "FIJA", 1, 1, 1, "80.00", "80.00", 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, "0.00"},
		}
		var wantS []string
		for _, r := range want {
			wantS = append(wantS, fmt.Sprint(r))
		}
		slices.Sort(wantS)
		got := e.rows(`SELECT '{' || concat_ws(' ', fecha_foto, archivo, cartera, servicio, cuentas, clientes,
			cuentas_gestionables, deuda_asig, deuda_act, cuentas_gestionadas, total_gestiones, gestiones_bot,
			gestiones_call, cuentas_cd, cuentas_ci, cuentas_sc, cuentas_sg, cuentas_pdp, cuentas_pagadoras,
			recupero) || '}' FROM mart.dashboard_data`)
		slices.Sort(got)
		eq(t, got, wantS)

		// KPIs of A MOVIL on 06-06 through the view: cobertura 2/2, contacto 2/2, cd 2/2,
		// conversion 2/2, efectividad 2/2, cierre 2/2, pct_recupero 110.50/150.50,
		// intensidad 6/2.
		const kpiCols = `concat_ws(' ', round(cobertura, 4)::float8, round(contacto, 4)::float8, round(cd, 4)::float8,
			round(ci, 4)::float8, round(sc, 4)::float8, round(conversion, 4)::float8, round(efectividad, 4)::float8,
			round(cierre, 4)::float8, round(pct_recupero, 4)::float8, round(intensidad, 4)::float8)`
		kpis := e.rows(`SELECT `+kpiCols+` FROM mart.v_dashboard_data
			WHERE fecha_foto = '2025-06-06' AND archivo = $1 AND servicio = 'MOVIL'`, campA)
		eq(t, kpis, []string{"100 100 100 0 0 100 100 100 73.4219 3"})
		// A FIJA on 06-04: cobertura 1/2 = 50, cd 50, sc 0, conversion 1/1 = 100,
		// efectividad 1/1 = 100, cierre 0, intensidad 3/1.
		kpis = e.rows(`SELECT `+kpiCols+` FROM mart.v_dashboard_data
			WHERE fecha_foto = '2025-06-04' AND archivo = $1 AND servicio = 'FIJA'`, campA)
		eq(t, kpis, []string{"50 50 50 0 0 100 100 0 0 3"})
	})

	t.Run("operation", func(t *testing.T) {
		got := e.rows(`SELECT concat_ws(' ', fecha_foto, hora, canal, archivo, total_gestiones, contactos_efectivos,
			contactos_indirectos, sin_contacto, total_pdp, peso_total, clientes_nuevos, cuentas_nuevas)
			FROM mart.operation_data ORDER BY fecha_foto, hora, canal`)
		want := []string{
			"2025-06-02 10 VOICEBOT " + campA + " 1 0 1 0 0 3 1 2",
			"2025-06-03 10 CALL_CENTER " + campA + " 1 1 0 0 1 10 1 1",
			"2025-06-03 11 CALL_CENTER " + campB + " 1 0 1 0 0 4 1 1",
			"2025-06-03 19 VOICEBOT " + campB + " 1 1 0 0 1 10 0 0",
			"2025-06-04 9 VOICEBOT " + campA + " 1 0 0 1 0 1 1 1",
			"2025-06-05 10 CALL_CENTER " + campA + " 1 0 0 1 0 2 1 1",
			"2025-06-05 12 VOICEBOT " + campA + " 1 0 1 0 0 3 0 0",
			"2025-06-06 8 VOICEBOT " + campA + " 1 0 0 1 0 1 1 1",
		}
		eq(t, got, want)
		got = e.rows(`SELECT concat_ws(' ', fecha_foto, canal, archivo, intento, total_gestiones, contactos_efectivos, total_pdp)
			FROM mart.operation_attempt_data WHERE fecha_foto = '2025-06-03' ORDER BY canal, archivo, intento`)
		eq(t, got, []string{
			"2025-06-03 CALL_CENTER " + campB + " 1 1 0 0",
			"2025-06-03 CALL_CENTER " + campA + " 1 1 1 1",
			"2025-06-03 VOICEBOT " + campB + " 2 1 1 1",
		})
		got = e.rows(`SELECT concat_ws(' ', fecha_foto, canal, archivo, cola, total_gestiones)
			FROM mart.operation_queue_data WHERE fecha_foto = '2025-06-04'`)
		eq(t, got, []string{"2025-06-04 VOICEBOT " + campA + " SIN_COLA 1"})
	})

	t.Run("productivity", func(t *testing.T) {
		got := e.rows(`SELECT concat_ws(' ', fecha_foto, correo_agente, archivo, nombre_agente, dni_agente, total_gestiones,
			contactos_efectivos, contactos_indirectos, total_pdp, peso_total, monto_recuperado, pagos_atribuidos)
			FROM mart.productivity_data ORDER BY fecha_foto, correo_agente`)
		want := []string{
			"2025-06-03 ana@x.pe " + campB + " Ana Agente 111 1 0 1 0 4 0.00 0",
			"2025-06-03 bob@x.pe " + campA + " Bob Fuente SIN DNI 1 1 0 1 10 0.50 1",
			"2025-06-05 ana@x.pe " + campA + " Ana Agente 111 1 0 0 0 2 0.00 0",
		}
		eq(t, got, want)
	})

	t.Run("assignment", func(t *testing.T) {
		got := e.rows(`SELECT concat_ws(' ', periodo, archivo, servicio, COALESCE(fecha_vencimiento::text, 'NULL'), clientes,
			cuentas, cuentas_gestionables, deuda_asig, deuda_actual, ticket_promedio)
			FROM mart.assignment_data ORDER BY archivo, servicio, fecha_vencimiento`)
		want := []string{
			"2025-06 " + campB + " FIJA NULL 1 1 1 80.00 80.00 80.00",
			"2025-06 " + campB + " MOVIL 2025-05-15 1 1 1 300.00 300.00 300.00",
			"2025-06 " + campA + " FIJA 2025-04-01 1 1 1 60.00 60.00 60.00",
			"2025-06 " + campA + " FIJA 2025-05-01 1 1 1 200.00 200.00 200.00",
			"2025-06 " + campA + " MOVIL 2025-05-01 1 1 1 150.00 40.00 150.00",
			"2025-06 " + campA + " MOVIL NULL 1 1 0 0.50 0.50 0.50",
		}
		eq(t, got, want)
		if n := e.int(`SELECT count(*) FROM mart.assignment_clientes WHERE periodo = '2025-06'`); n != 64 {
			t.Errorf("assignment_clientes rows = %d; want 64", n)
		}
		for _, c := range []struct {
			carteras, servicios string
			want                int64
		}{
			{"{}", "{}", 4}, {"{TEMPRANA}", "{}", 3}, {"{ALTAS_NUEVAS}", "{MOVIL}", 1}, {"{}", "{FIJA}", 3},
			{"{OTRAS}", "{}", 0}, {"{ALTAS_NUEVAS,TEMPRANA}", "{FIJA,MOVIL}", 4}, {"{TEMPRANA}", "{FIJA}", 2},
		} {
			if n := e.int(`SELECT clientes FROM mart.assignment_clientes WHERE periodo = '2025-06'
				AND carteras = $1::text[] AND servicios = $2::text[]`, c.carteras, c.servicios); n != c.want {
				t.Errorf("clientes %s %s = %d; want %d", c.carteras, c.servicios, n, c.want)
			}
		}
	})

	t.Run("ledger and version", func(t *testing.T) {
		got := e.rows(`SELECT step FROM etl.run_table r JOIN etl.run USING (run_id)
			WHERE command = 'transform' AND r.status = 'success' ORDER BY r.id`)
		eq(t, got, []string{"aux.campana", "aux.deuda_snapshot", "aux.asignacion_cuenta", "aux.gestiones_unificadas",
			"aux.gestion_cuenta", "aux.pago_dedup", "aux.pago_campana", "mart.dashboard_data", "mart.assignment_data",
			"mart.assignment_clientes", "mart.operation_data", "mart.operation_attempt_data",
			"mart.operation_queue_data", "mart.productivity_data"})
		if n := e.int(`SELECT count(*) FROM etl.pending_change WHERE consumed_run_id IS NULL`); n != 0 {
			t.Errorf("%d pending changes left unconsumed", n)
		}
		if n := e.int(`SELECT rows_inserted FROM etl.run_table WHERE step = 'mart.dashboard_data'`); n != 16 {
			t.Errorf("dashboard rows_inserted = %d; want 16", n)
		}
		got = e.rows(`SELECT archivo || ' ' || last_built_day FROM etl.campaign_build ORDER BY archivo`)
		eq(t, got, []string{campB + " 2025-06-05", campA + " 2025-06-06"})
	})

	t.Run("no-op rerun keeps the version", func(t *testing.T) {
		before := e.checksums()
		res := e.transform(tinyAsOf, tfOpts{})
		if res.Rebuilt || res.Changes != 0 {
			t.Errorf("second run rebuilt %v consumed %d; want a no-op", res.Rebuilt, res.Changes)
		}
		if v := e.int(`SELECT version FROM etl.data_version`); v != 1 {
			t.Errorf("data version %d after a no-op; want 1", v)
		}
		eqMap(t, e.checksums(), before)
	})
}

// TestCartera is the table test of cartera() (invariant 14): OTRAS, AN inside words,
// first match wins, case-insensitive.
func TestCartera(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	ctx := t.Context()
	cases := map[string]string{
		"Cartera_Agencia_Cobranding_Gestion_Temprana_20250602": "TEMPRANA",
		"Cartera_Agencia_Cobranding_Gestion_CF_ANN_20250603":   "CUOTA_FRACCIONAMIENTO",
		"Cartera_Agencia_Cobranding_Gestion_AN_20250610":       "ALTAS_NUEVAS",
		"AN_inicio":                   "ALTAS_NUEVAS",
		"fin-an":                      "ALTAS_NUEVAS",
		"an":                          "ALTAS_NUEVAS",
		"Cartera_Cobranding_20250602": "OTRAS",
		"Cartera_ANUAL_2025":          "OTRAS",
		"Cartera_PLAN2_AN2":           "OTRAS",
		"temprana_cf_ann_an":          "TEMPRANA",
		"x_cf_ann_an":                 "CUOTA_FRACCIONAMIENTO",
		"Gestion AN Junio":            "ALTAS_NUEVAS",
	}
	for archivo := range cases {
		if _, err := tx.Exec(ctx, `INSERT INTO raw.calendario (archivo, fecha_apertura, periodo_date)
			VALUES ($1, '2025-06-02', '2025-06-01')`, archivo); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"010_aux_campana_delete", "011_aux_campana_insert"} {
		q, err := transformSQL(f)
		if err != nil {
			t.Fatal(err)
		}
		args := []any{}
		if strings.HasSuffix(f, "insert") {
			args = append(args, "2025-06-06")
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for archivo, want := range cases {
		var got string
		if err := tx.QueryRow(ctx, `SELECT cartera FROM aux.campana WHERE archivo = $1`, archivo).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("cartera(%q) = %s; want %s", archivo, got, want)
		}
	}
}

// rows returns each result row as its columns joined by spaces.
func (e *tfEnv) rows(q string, args ...any) []string {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		vals, err := r.Values()
		if err != nil {
			return "", err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, " "), nil
	})
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return out
}

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got %d rows:\n  %s\nwant %d rows:\n  %s", len(got), strings.Join(got, "\n  "), len(want),
			strings.Join(want, "\n  "))
	}
}

func eqMap(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s; want %s", k, got[k], w)
		}
	}
}

// A payment dated after today is fecha_futura (no credit anywhere); once today reaches
// it, an incremental run makes it valid and the result equals a full rebuild.
func TestTransformFechaFutura(t *testing.T) {
	t.Parallel()
	e := tinyEnv(t)
	e.transform(tinyAsOf.AddDays(-1), tfOpts{})
	eq(t, e.rows(`SELECT nro_documento || ' ' || COALESCE(motivo_invalidez, 'valido') FROM aux.pago_dedup
		WHERE fecha_pago = '2025-06-06'`), []string{"D13 fecha_futura"})
	if n := e.int(`SELECT count(*) FROM aux.pago_campana WHERE nro_documento = 'D13'`); n != 0 {
		t.Errorf("a future payment reached aux.pago_campana (%d rows)", n)
	}
	e.transform(tinyAsOf, tfOpts{})
	eq(t, e.rows(`SELECT nro_documento || ' ' || COALESCE(motivo_invalidez, 'valido') FROM aux.pago_dedup
		WHERE fecha_pago = '2025-06-06'`), []string{"D13 valido"})
	incremental := e.checksums()
	e.transform(tinyAsOf, tfOpts{full: true})
	eqMap(t, e.checksums(), incremental)
}

// A crash empties every unlogged table (the aux builds and aux.intact); the next
// transform, with nothing pending, notices and rebuilds in full.
func TestTransformRebuildsLostAuxTables(t *testing.T) {
	t.Parallel()
	e := tinyEnv(t)
	e.transform(tinyAsOf, tfOpts{})
	want := e.checksums()
	if res := e.transform(tinyAsOf, tfOpts{}); res.Rebuilt {
		t.Fatalf("nothing changed, yet rebuilt: %+v", res.Plan)
	}
	var unlogged string
	if err := e.pool.QueryRow(t.Context(), `SELECT string_agg(oid::regclass::text, ', ' ORDER BY oid) FROM pg_class
		WHERE relnamespace = 'aux'::regnamespace AND relkind = 'r' AND relpersistence = 'u'`).Scan(&unlogged); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unlogged, "aux.intact") || !strings.Contains(unlogged, "aux.gestiones_unificadas") {
		t.Fatalf("unlogged aux tables: %s", unlogged)
	}
	if _, err := e.pool.Exec(t.Context(), "TRUNCATE "+unlogged); err != nil {
		t.Fatal(err)
	}
	res := e.transform(tinyAsOf, tfOpts{})
	if !res.Plan.Full || len(res.Warnings) == 0 {
		t.Fatalf("after losing the aux tables: full %v, warnings %v", res.Plan.Full, res.Warnings)
	}
	eqMap(t, e.checksums(), want)
	if res := e.transform(tinyAsOf, tfOpts{}); res.Rebuilt {
		t.Fatalf("rebuilt again after the recovery: %+v", res.Plan)
	}
}

// TestClase is the table test of clase() (domain.md §4): case, '_' and '-' read as
// spaces, collapsed spaces and surrounding blanks; accents kept; anything else,
// NULL included, is SIN_CLASIFICAR.
func TestClase(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	ctx := t.Context()
	cases := []struct{ contactabilidad, want string }{
		{"Contacto Efectivo", "Contacto Efectivo"},
		{"CONTACTO_EFECTIVO", "Contacto Efectivo"},
		{"contacto-efectivo", "Contacto Efectivo"},
		{"  Contacto   Efectivo ", "Contacto Efectivo"},
		{"Contacto_ _Efectivo", "Contacto Efectivo"},
		{"CONTACTO_NO_EFECTIVO", "Contacto No Efectivo"},
		{"Contacto No Efectivo", "Contacto No Efectivo"},
		{"No Contacto", "Contacto No Efectivo"},
		{"NO-CONTACTO", "Contacto No Efectivo"},
		{"no_contacto", "Contacto No Efectivo"},
		{"Contácto Efectivo", "SIN_CLASIFICAR"},
		{"ContactoEfectivo", "SIN_CLASIFICAR"},
		{"Sin Respuesta", "SIN_CLASIFICAR"},
		{"", "SIN_CLASIFICAR"},
	}
	for i, c := range cases {
		var contacto any = c.contactabilidad
		if c.contactabilidad == "" {
			contacto = nil
		}
		code := fmt.Sprintf("R%02d", i)
		if _, err := tx.Exec(ctx, `INSERT INTO raw.homologacion_mibotair (n_1, n_2, n_3, contactabilidad, es_pdp, peso)
			VALUES ($1, 'x', 'y', $2, false, 1)`, code, contacto); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO raw.mibotair_gestiones (uid, n1, n2, n3, date, correo_agente)
			VALUES ($1, $2, 'x', 'y', '2025-06-02 15:00Z', 'a@x.pe')`, "g"+code, code); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"040_aux_gestiones_unificadas_delete", "041_aux_gestiones_unificadas_insert"} {
		q, err := transformSQL(f)
		if err != nil {
			t.Fatal(err)
		}
		// everything: no days, client days or gestiones
		args := []any{true, nil, nil, nil, nil, nil}
		if strings.HasSuffix(f, "insert") {
			args = append(args, nil, nil)
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for i, c := range cases {
		var got string
		if err := tx.QueryRow(ctx, `SELECT contactabilidad FROM aux.gestiones_unificadas WHERE gestion_uid = $1`,
			fmt.Sprintf("gR%02d", i)).Scan(&got); err != nil {
			t.Fatalf("%q: %v", c.contactabilidad, err)
		}
		if got != c.want {
			t.Errorf("clase(%q) = %s; want %s", c.contactabilidad, got, c.want)
		}
	}
}
