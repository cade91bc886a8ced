package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The hand-checked report set (today = 2025-07-15). Campaigns in aux.campana:
//
//	A RPT_Temprana_20250601 TEMPRANA     B RPT_CF_ANN_20250602 CUOTA_FRACCIONAMIENTO
//	C RPT_AN_20250603       ALTAS_NUEVAS D RPT_Otras_20250701  OTRAS
//
// (byte order of the names: RPT_AN < RPT_CF < RPT_Otras < RPT_Temprana).
const (
	rptA = "RPT_Temprana_20250601"
	rptB = "RPT_CF_ANN_20250602"
	rptC = "RPT_AN_20250603"
	rptD = "RPT_Otras_20250701"
)

var rptToday = etl.NewDate(2025, time.July, 15)

// rptLastRefresh is the newest successful transform step of the seeded ledger.
var rptLastRefresh = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const rptSeedSQL = `
INSERT INTO aux.campana (archivo, fecha_apertura, periodo_date, cartera, periodo, fin, attr_hash) VALUES
 ('RPT_Temprana_20250601', '2025-06-01', '2025-06-01', 'TEMPRANA',              '2025-06', '2025-07-15', 'a'),
 ('RPT_CF_ANN_20250602',   '2025-06-02', '2025-06-01', 'CUOTA_FRACCIONAMIENTO', '2025-06', '2025-07-15', 'b'),
 ('RPT_AN_20250603',       '2025-06-03', '2025-06-01', 'ALTAS_NUEVAS',          '2025-06', '2025-07-15', 'c'),
 ('RPT_Otras_20250701',    '2025-07-01', '2025-07-01', 'OTRAS',                 '2025-07', '2025-07-15', 'd');

-- Assignment. 2025-07: OTRAS 3+1 cuentas 300.00+0.00; TEMPRANA 5+1+2 cuentas
-- 1000.05+99.95+200.00 = 1300.00 (MOVIL 6 cuentas 1100.00); ALTAS_NUEVAS 1 cuenta 0.00.
-- 2025-06: TEMPRANA MOVIL 4 cuentas 800.00; CUOTA_FRACCIONAMIENTO 2 cuentas 150.50.
-- 2025-05: TEMPRANA 1 cuenta 10.00. The clientes column is never read (it is not
-- additive): the sums of it (11 in 2025-07) differ from assignment_clientes (9).
INSERT INTO mart.assignment_data (periodo, archivo, cartera, servicio, fecha_vencimiento, clientes, cuentas,
    cuentas_gestionables, deuda_asig, deuda_actual, ticket_promedio) VALUES
 ('2025-07', 'RPT_Otras_20250701',    'OTRAS',                 'MOVIL', NULL,         2, 3, 3, 300.00, 1, 100.00),
 ('2025-07', 'RPT_Otras_20250701',    'OTRAS',                 'FIJA',  '2025-06-01', 1, 1, 0,   0.00, 0,   0.00),
 ('2025-07', 'RPT_Temprana_20250601', 'TEMPRANA',              'MOVIL', '2025-05-01', 4, 5, 5, 1000.05, 0, 200.01),
 ('2025-07', 'RPT_Temprana_20250601', 'TEMPRANA',              'MOVIL', NULL,         1, 1, 1,  99.95, 0,  99.95),
 ('2025-07', 'RPT_Temprana_20250601', 'TEMPRANA',              'FIJA',  NULL,         2, 2, 2, 200.00, 0, 100.00),
 ('2025-07', 'RPT_AN_20250603',       'ALTAS_NUEVAS',          'FIJA',  NULL,         1, 1, 0,   0.00, 0,   0.00),
 ('2025-06', 'RPT_Temprana_20250601', 'TEMPRANA',              'MOVIL', NULL,         3, 4, 4, 800.00, 0, 200.00),
 ('2025-06', 'RPT_CF_ANN_20250602',   'CUOTA_FRACCIONAMIENTO', 'FIJA',  NULL,         2, 2, 2, 150.50, 0,  75.25),
 ('2025-05', 'RPT_Temprana_20250601', 'TEMPRANA',              'MOVIL', NULL,         1, 1, 1,  10.00, 0,  10.00);

-- Distinct clients per (periodo, cartera subset, servicio subset); '{}' = no filter.
INSERT INTO mart.assignment_clientes (periodo, carteras, servicios, clientes) VALUES
 ('2025-07', '{}', '{}', 9), ('2025-07', '{TEMPRANA}', '{}', 5), ('2025-07', '{OTRAS}', '{}', 2),
 ('2025-07', '{ALTAS_NUEVAS}', '{}', 1), ('2025-07', '{CUOTA_FRACCIONAMIENTO}', '{}', 0),
 ('2025-07', '{OTRAS,TEMPRANA}', '{}', 7),
 ('2025-07', '{}', '{MOVIL}', 6), ('2025-07', '{TEMPRANA}', '{MOVIL}', 4), ('2025-07', '{OTRAS}', '{MOVIL}', 2),
 ('2025-07', '{ALTAS_NUEVAS}', '{MOVIL}', 0), ('2025-07', '{CUOTA_FRACCIONAMIENTO}', '{MOVIL}', 0),
 ('2025-07', '{OTRAS,TEMPRANA}', '{MOVIL}', 6),
 ('2025-06', '{}', '{}', 4), ('2025-06', '{TEMPRANA}', '{}', 3), ('2025-06', '{CUOTA_FRACCIONAMIENTO}', '{}', 2),
 ('2025-06', '{OTRAS}', '{}', 0), ('2025-06', '{ALTAS_NUEVAS}', '{}', 0), ('2025-06', '{OTRAS,TEMPRANA}', '{}', 3),
 ('2025-06', '{}', '{MOVIL}', 3), ('2025-06', '{TEMPRANA}', '{MOVIL}', 3), ('2025-06', '{OTRAS}', '{MOVIL}', 0),
 ('2025-06', '{CUOTA_FRACCIONAMIENTO}', '{MOVIL}', 0), ('2025-06', '{ALTAS_NUEVAS}', '{MOVIL}', 0),
 ('2025-06', '{OTRAS,TEMPRANA}', '{MOVIL}', 3),
 ('2025-05', '{}', '{}', 1), ('2025-05', '{TEMPRANA}', '{}', 1);

-- Operation, 2025-07-10 (the latest day ≤ today; 07-20 is after today):
--  r1 09h VOICEBOT A 10 cd 2 ci 3 pdp 1 cli 6 ctas 7     r2 09h CALL A 4 cd 2 ci 1 pdp 2 cli 1 ctas 1
--  r3 12h CALL D 5 cd 1 ci 0 pdp 0 cli 2 ctas 3         r4 12h VOICEBOT A 1 cd 0 ci 0 pdp 0 cli 0 ctas 0
--  r5 10h VOICEBOT D 1200 cd 300 ci 200 pdp 30 cli 1000 ctas 1100
-- 2025-07-08: only B (CUOTA_FRACCIONAMIENTO). 07-02..07-04: rows for productivity's hourlyTrend.
INSERT INTO mart.operation_data (fecha_foto, hora, canal, archivo, total_gestiones, contactos_efectivos,
    contactos_indirectos, sin_contacto, total_pdp, peso_total, clientes_nuevos, cuentas_nuevas) VALUES
 ('2025-07-10',  9, 'VOICEBOT',    'RPT_Temprana_20250601',   10,   2,   3,   5,  1,  10,    6,    7),
 ('2025-07-10',  9, 'CALL_CENTER', 'RPT_Temprana_20250601',    4,   2,   1,   1,  2,   4,    1,    1),
 ('2025-07-10', 12, 'CALL_CENTER', 'RPT_Otras_20250701',       5,   1,   0,   4,  0,   5,    2,    3),
 ('2025-07-10', 12, 'VOICEBOT',    'RPT_Temprana_20250601',    1,   0,   0,   1,  0,   1,    0,    0),
 ('2025-07-10', 10, 'VOICEBOT',    'RPT_Otras_20250701',    1200, 300, 200, 700, 30, 1200, 1000, 1100),
 ('2025-07-08', 15, 'CALL_CENTER', 'RPT_CF_ANN_20250602',      2,   1,   1,   0,  1,   2,    2,    2),
 ('2025-07-20',  9, 'VOICEBOT',    'RPT_Temprana_20250601',   50,  10,  10,  30,  5,  50,   40,   40),
 ('2025-07-02',  9, 'CALL_CENTER', 'RPT_Temprana_20250601',    6,   2,   1,   3,  1,   6,    3,    3),
 ('2025-07-04',  9, 'CALL_CENTER', 'RPT_Otras_20250701',       4,   1,   0,   3,  1,   4,    2,    2),
 ('2025-07-04', 14, 'CALL_CENTER', 'RPT_Temprana_20250601',    2,   0,   0,   2,  0,   2,    1,    1),
 ('2025-07-03', 11, 'VOICEBOT',    'RPT_Temprana_20250601',   50,   5,   5,  40,  1,  50,   30,   30);

-- Attempts of 2025-07-10: 1 → 8+2 calls, cd 2+1, pdp 1+1; 2 → 3 calls; 10 → 4 calls cd 2 pdp 1;
-- 3 → a row without calls (not listed).
INSERT INTO mart.operation_attempt_data (fecha_foto, canal, archivo, intento, total_gestiones, contactos_efectivos, total_pdp) VALUES
 ('2025-07-10', 'VOICEBOT',    'RPT_Temprana_20250601',  1, 8, 2, 1),
 ('2025-07-10', 'CALL_CENTER', 'RPT_Temprana_20250601',  1, 2, 1, 1),
 ('2025-07-10', 'VOICEBOT',    'RPT_Temprana_20250601',  2, 3, 0, 0),
 ('2025-07-10', 'CALL_CENTER', 'RPT_Otras_20250701',    10, 4, 2, 1),
 ('2025-07-10', 'VOICEBOT',    'RPT_Otras_20250701',     3, 0, 0, 0),
 ('2025-07-08', 'CALL_CENTER', 'RPT_CF_ANN_20250602',    1, 2, 1, 1);

-- Queues of 2025-07-10: SIN_COLA 12; COLA_A 10 (cd 4, pdp 1); COLA_B 7+3 = 10 (cd 3, pdp 2);
-- Q01..Q51 one call each (D, CALL_CENTER): 54 queues, 50 listed.
INSERT INTO mart.operation_queue_data (fecha_foto, canal, archivo, cola, total_gestiones, contactos_efectivos,
    contactos_indirectos, total_pdp) VALUES
 ('2025-07-10', 'VOICEBOT',    'RPT_Temprana_20250601', 'COLA_B',   7, 2, 1, 1),
 ('2025-07-10', 'CALL_CENTER', 'RPT_Temprana_20250601', 'COLA_B',   3, 1, 0, 1),
 ('2025-07-10', 'VOICEBOT',    'RPT_Otras_20250701',    'COLA_A',  10, 4, 0, 1),
 ('2025-07-10', 'VOICEBOT',    'RPT_Temprana_20250601', 'SIN_COLA', 12, 0, 0, 0);
INSERT INTO mart.operation_queue_data (fecha_foto, canal, archivo, cola, total_gestiones, contactos_efectivos,
    contactos_indirectos, total_pdp)
SELECT '2025-07-10', 'CALL_CENTER', 'RPT_Otras_20250701', 'Q' || lpad(i::text, 2, '0'), 1, 0, 0, 0
FROM generate_series(1, 51) AS i;

-- Productivity (07-01..07-05, then abe on 07-06 and a future row on 07-20):
--  ana  Ana Old 07-01 A 10/cd 4/pdp 2/100.00; Ana 07-02 D 5/1/1/0; Ana 07-02 A 2/0/0/0
--  bob  07-01 A 8/3/3/50.00          cai (SIN DNI) 07-04 A 20/5/3/50.00
--  dan  Dan 444 07-05 D 3/1/0/0      dan2 Dan 555 07-05 D 3/1/0/0     abe Zoe 07-06 A 3/1/0/0
INSERT INTO mart.productivity_data (fecha_foto, correo_agente, archivo, nombre_agente, dni_agente, total_gestiones,
    contactos_efectivos, contactos_indirectos, total_pdp, peso_total, monto_recuperado, pagos_atribuidos) VALUES
 ('2025-07-01', 'ana@x.pe',  'RPT_Temprana_20250601', 'Ana Old', '111',     10, 4, 2, 2, 10, 100.00, 1),
 ('2025-07-02', 'ana@x.pe',  'RPT_Otras_20250701',    'Ana',     '111',      5, 1, 1, 1,  5,   0.00, 0),
 ('2025-07-02', 'ana@x.pe',  'RPT_Temprana_20250601', 'Ana',     '111',      2, 0, 0, 0,  2,   0.00, 0),
 ('2025-07-01', 'bob@x.pe',  'RPT_Temprana_20250601', 'Bob',     '222',      8, 3, 0, 3,  8,  50.00, 1),
 ('2025-07-04', 'cai@x.pe',  'RPT_Temprana_20250601', 'Cai',     'SIN DNI', 20, 5, 5, 3, 20,  50.00, 1),
 ('2025-07-05', 'dan@x.pe',  'RPT_Otras_20250701',    'Dan',     '444',      3, 1, 0, 0,  3,   0.00, 0),
 ('2025-07-05', 'dan2@x.pe', 'RPT_Otras_20250701',    'Dan',     '555',      3, 1, 0, 0,  3,   0.00, 0),
 ('2025-07-06', 'abe@x.pe',  'RPT_Temprana_20250601', 'Zoe',     '666',      3, 1, 0, 0,  3,   0.00, 0),
 ('2025-07-20', 'fut@x.pe',  'RPT_Temprana_20250601', 'Fut',     '777',      9, 9, 0, 9,  9, 999.00, 1);`

// rptLedgerSQL: the newest successful transform step finished at rptLastRefresh; a
// later failed transform step and a later raw step do not count.
const rptLedgerSQL = `
WITH r AS (INSERT INTO etl.run (command, status) VALUES ('run-pipeline', 'success') RETURNING run_id)
INSERT INTO etl.run_table (run_id, step, status, started_at, finished_at)
SELECT r.run_id, s.step, s.status, s.finished_at - interval '1 minute', s.finished_at FROM r
CROSS JOIN (VALUES ('mart.assignment_data', 'success', '2030-01-02T03:04:05Z'::timestamptz),
                   ('mart.dashboard_data', 'failed', '2030-06-01T00:00:00Z'::timestamptz),
                   ('pagos', 'success', '2031-01-01T00:00:00Z'::timestamptz)) AS s(step, status, finished_at)`

// rptSeed returns a transaction (rolled back at the end of the test) holding only
// the hand-checked set in the tables the readers use, and the data version it sees.
func rptSeed(t *testing.T) (pgx.Tx, int64) {
	t.Helper()
	tx := pgtest.Tx(t)
	ctx := t.Context()
	for _, table := range []string{"mart.assignment_data", "mart.assignment_clientes", "mart.operation_data",
		"mart.operation_attempt_data", "mart.operation_queue_data", "mart.productivity_data", "aux.campana"} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table); err != nil {
			t.Fatalf("clear %s: %v", table, err)
		}
	}
	if _, err := tx.Exec(ctx, rptSeedSQL); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if _, err := tx.Exec(ctx, rptLedgerSQL); err != nil {
		t.Fatalf("seed ledger: %v", err)
	}
	var version int64
	if err := tx.QueryRow(ctx, `SELECT version FROM etl.data_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	return tx, version
}

func rptDay(s string) etl.Date {
	d, err := etl.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func rptQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func money(cents int64) analytics.Decimal { return analytics.Money(cents) }

// dec parses an exact decimal as it appears in JSON ("12.50", "100.0", "7").
func dec(t *testing.T, s string) analytics.Decimal {
	t.Helper()
	var d analytics.Decimal
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// rptEqual compares got and want, printing both as JSON when they differ.
func rptEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s:\ngot  %s\nwant %s", what, g, w)
}

func TestReportsAssignment(t *testing.T) {
	tx, version := rptSeed(t)
	ctx := t.Context()
	read := func(t *testing.T, query string) analytics.Assignment {
		t.Helper()
		p, err := analytics.ParseAssignmentQuery(rptQuery(t, query), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ReadAssignment(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Metadata.LastRefresh == nil || !a.Metadata.LastRefresh.Equal(rptLastRefresh) || a.Metadata.DataVersion != version {
			t.Fatalf("lastRefresh %v dataVersion %d; want %v %d", a.Metadata.LastRefresh, a.Metadata.DataVersion, rptLastRefresh, version)
		}
		a.Metadata.LastRefresh = nil
		return a
	}
	kpi := func(label, cur, prev, variacion, vt string) analytics.AssignmentKPI {
		return analytics.AssignmentKPI{Label: label, ValorActual: dec(t, cur), ValorAnterior: dec(t, prev),
			Variacion: dec(t, variacion), ValueType: vt}
	}
	detail := func(name string, cliA, cliP, ctaA, ctaP, saldoA, saldoP, tickA, tickP int64) analytics.AssignmentDetail {
		return analytics.AssignmentDetail{ID: strings.ToLower(name), Name: name, ClientesActual: cliA, ClientesAnterior: cliP,
			CuentasActual: ctaA, CuentasAnterior: ctaP, SaldoActual: money(saldoA), SaldoAnterior: money(saldoP),
			TicketPromedioActual: money(tickA), TicketPromedioAnterior: money(tickP)}
	}

	t.Run("no filters, default months", func(t *testing.T) {
		a := read(t, "")
		want := analytics.Assignment{Status: "success", Success: true, Message: "Operation successful",
			CurrentPeriod: "2025-07", PreviousPeriod: "2025-06",
			KPIs: []analytics.AssignmentKPI{
				// clientes from assignment_clientes ({} × {}): 9 vs 4 → 5/4 = 125.0
				kpi("Total Clientes", "9", "4", "125.0", "number"),
				// 3+1+5+1+2+1 = 13 vs 4+2 = 6 → 7/6 = 116.67 → 116.7
				kpi("Total Cuentas", "13", "6", "116.7", "number"),
				// 1600.00 vs 950.50 → 649.50/950.50 = 68.33 → 68.3
				kpi("Saldo Total Deuda", "1600.00", "950.50", "68.3", "currency"),
				// 1600.00/13 = 123.0769 → 123.08; 950.50/6 = 158.4167 → 158.42;
				// (123.08 − 158.42)/158.42 = −22.308 → −22.3
				kpi("Ticket Promedio", "123.08", "158.42", "-22.3", "currency"),
			},
			// saldo > 0 only, value desc: ALTAS_NUEVAS (0.00) and CUOTA (0.00 now) left out.
			CompositionData: []analytics.CompositionItem{{Name: "TEMPRANA", Value: money(130000)}, {Name: "OTRAS", Value: money(30000)}},
			// saldoActual desc, then name; CUOTA only in the previous period.
			DetailBreakdown: []analytics.AssignmentDetail{
				detail("TEMPRANA", 5, 3, 8, 4, 130000, 80000, 16250, 20000),    // 1300/8 = 162.50; 800/4 = 200
				detail("OTRAS", 2, 0, 4, 0, 30000, 0, 7500, 0),                 // 300/4 = 75.00; anterior 0/max(0,1)
				detail("ALTAS_NUEVAS", 1, 0, 1, 0, 0, 0, 0, 0),                 // saldo 0: listed, not composed
				detail("CUOTA_FRACCIONAMIENTO", 0, 2, 0, 2, 0, 15050, 0, 7525), // 150.50/2 = 75.25
			},
			Metadata: analytics.AssignmentMetadata{FechaActual: rptToday, PeriodoActual: "2025-07", PeriodoAnterior: "2025-06",
				TotalCarteras: 4, DataVersion: version},
		}
		rptEqual(t, "assignment", a, want)
	})

	t.Run("cartera and servicio subsets", func(t *testing.T) {
		a := read(t, "fecha_actual=2025-07-01&fecha_anterior=2025-06-20&cartera=temprana,OTRAS&servicio=MOVIL")
		anterior := rptDay("2025-06-20")
		want := analytics.Assignment{Status: "success", Success: true, Message: "Operation successful",
			CurrentPeriod: "2025-07", PreviousPeriod: "2025-06",
			KPIs: []analytics.AssignmentKPI{
				// ({OTRAS,TEMPRANA}, {MOVIL}): 6 vs 3 → 100.0
				kpi("Total Clientes", "6", "3", "100.0", "number"),
				// OTRAS MOVIL 3 + TEMPRANA MOVIL 5+1 = 9 vs 4 → 125.0
				kpi("Total Cuentas", "9", "4", "125.0", "number"),
				// 300.00 + 1000.05 + 99.95 = 1400.00 vs 800.00 → 75.0
				kpi("Saldo Total Deuda", "1400.00", "800.00", "75.0", "currency"),
				// 1400/9 = 155.556 → 155.56 vs 200.00 → −44.44/200 = −22.22 → −22.2
				kpi("Ticket Promedio", "155.56", "200.00", "-22.2", "currency"),
			},
			CompositionData: []analytics.CompositionItem{{Name: "TEMPRANA", Value: money(110000)}, {Name: "OTRAS", Value: money(30000)}},
			DetailBreakdown: []analytics.AssignmentDetail{
				// ({TEMPRANA}, {MOVIL}) 4 vs 3; 1100/6 = 183.333 → 183.33
				detail("TEMPRANA", 4, 3, 6, 4, 110000, 80000, 18333, 20000),
				// ({OTRAS}, {MOVIL}) 2 vs 0; 300/3 = 100.00
				detail("OTRAS", 2, 0, 3, 0, 30000, 0, 10000, 0),
			},
			Metadata: analytics.AssignmentMetadata{FechaActual: rptDay("2025-07-01"), FechaAnterior: &anterior,
				PeriodoActual: "2025-07", PeriodoAnterior: "2025-06", TotalCarteras: 2, DataVersion: version},
		}
		rptEqual(t, "assignment filtered", a, want)
	})

	t.Run("previous period empty: variacion 100 or 0", func(t *testing.T) {
		a := read(t, "periodo=2025-05")
		want := []analytics.AssignmentKPI{
			kpi("Total Clientes", "1", "0", "100.0", "number"),
			kpi("Total Cuentas", "1", "0", "100.0", "number"),
			kpi("Saldo Total Deuda", "10.00", "0.00", "100.0", "currency"),
			kpi("Ticket Promedio", "10.00", "0.00", "100.0", "currency"),
		}
		rptEqual(t, "kpis 2025-05", a.KPIs, want)
		if a.PreviousPeriod != "2025-04" || len(a.DetailBreakdown) != 1 || a.DetailBreakdown[0].Name != "TEMPRANA" {
			t.Fatalf("2025-05: %+v", a)
		}
		a = read(t, "periodo=2025-04")
		want = []analytics.AssignmentKPI{
			kpi("Total Clientes", "0", "0", "0.0", "number"),
			kpi("Total Cuentas", "0", "0", "0.0", "number"),
			kpi("Saldo Total Deuda", "0.00", "0.00", "0.0", "currency"),
			kpi("Ticket Promedio", "0.00", "0.00", "0.0", "currency"),
		}
		rptEqual(t, "kpis 2025-04", a.KPIs, want)
		if len(a.DetailBreakdown) != 0 || len(a.CompositionData) != 0 || a.DetailBreakdown == nil || a.CompositionData == nil {
			t.Fatalf("empty period: %+v", a)
		}
	})

	t.Run("summary", func(t *testing.T) {
		p, err := analytics.ParseAssignmentSummaryQuery(rptQuery(t, "fecha_corte=2025-07-10"), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ReadAssignmentSummary(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		// 13 cuentas, 9 clientes, 1600.00, 1600/13 → 123.08, carteras OTRAS, TEMPRANA, ALTAS_NUEVAS.
		rptEqual(t, "summary", s, analytics.AssignmentSummary{FechaCorte: rptDay("2025-07-10"), Periodo: "2025-07",
			TotalCuentas: 13, TotalClientes: 9, SaldoTotal: money(160000), TicketPromedio: money(12308), TotalCarteras: 3})
		p.Periodo = analytics.Month{Year: 2025, Month: time.April}
		s, err = ReadAssignmentSummary(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		if s.TotalCuentas != 0 || s.TotalClientes != 0 || !s.SaldoTotal.IsZero() || !s.TicketPromedio.IsZero() || s.TotalCarteras != 0 {
			t.Fatalf("empty summary %+v", s)
		}
	})
}

func TestReportsOperation(t *testing.T) {
	tx, _ := rptSeed(t)
	ctx := t.Context()
	read := func(t *testing.T, query string) analytics.Operation {
		t.Helper()
		p, err := analytics.ParseOperationQuery(rptQuery(t, query), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		op, err := ReadOperation(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	kpis := func(v ...string) []analytics.OperationKPI {
		labels := []string{"Total Llamadas", "Tasa de Contacto", "Contacto Directo", "Tasa de Cierre", "Intensidad", "Cuentas Gestionadas"}
		out := make([]analytics.OperationKPI, len(v))
		for i := range v {
			out[i] = analytics.OperationKPI{Label: labels[i], Value: v[i]}
		}
		return out
	}
	ch := func(name string, calls, cd, pdp int64, rate string) analytics.ChannelPerformance {
		return analytics.ChannelPerformance{Channel: name, Calls: calls, EffectiveContacts: cd, NonEffectiveContacts: calls - cd,
			PDP: pdp, CierreRate: dec(t, rate)}
	}
	hour := func(h string, calls, cd, pdp int64) analytics.HourlyPerformance {
		return analytics.HourlyPerformance{Hour: h, Calls: calls, EffectiveContacts: cd, NonEffectiveContacts: calls - cd, PDP: pdp}
	}
	queue := func(name string, calls, cd, pdp int64, rate string) analytics.QueuePerformance {
		return analytics.QueuePerformance{QueueName: name, Calls: calls, EffectiveContacts: cd, PDP: pdp, CierreRate: dec(t, rate)}
	}
	qs := func(from, to int) []analytics.QueuePerformance {
		var out []analytics.QueuePerformance
		for i := from; i <= to; i++ {
			out = append(out, queue(fmt.Sprintf("Q%02d", i), 1, 0, 0, "0.00"))
		}
		return out
	}

	t.Run("latest day, no filters", func(t *testing.T) {
		op := read(t, "")
		want := analytics.Operation{
			// 07-20 is after today: the latest day ≤ 07-15 is 07-10.
			Date: rptDay("2025-07-10"),
			// VOICEBOT r1+r4+r5: 1211 calls, cd 302, ci 203, pdp 31, cli 1006, ctas 1107;
			// CALL r2+r3: 9, cd 3, ci 1, pdp 2, cli 3, ctas 4. Total 1220, cd 305, ci 204,
			// pdp 33, cli 1009, ctas 1111: contacto 509/1220 = 41.72%, directo 305/1220 =
			// 25.0%, cierre 33/305 = 10.82%, intensidad 1220/1009 = 1.209.
			KPIs: kpis("1,220", "41.7%", "25.0%", "10.8%", "1.2", "1,111"),
			ChannelPerformance: []analytics.ChannelPerformance{
				ch("Voicebot", 1211, 302, 31, "10.26"), // 31/302 = 10.265
				ch("Call Center", 9, 3, 2, "66.67"),    // 2/3
			},
			// 09h r1+r2, 10h r5, 11h none (zero-filled), 12h r3+r4.
			HourlyPerformance: []analytics.HourlyPerformance{
				hour("09:00", 14, 4, 3), hour("10:00", 1200, 300, 30), hour("11:00", 0, 0, 0), hour("12:00", 6, 1, 0),
			},
			// 1: 10 calls cd 3 pdp 2 → 66.67; 2: 3 calls cd 0 → 0; 3: no calls; 10: cd 2 pdp 1 → 50.
			AttemptEffectiveness: []analytics.AttemptEffectiveness{
				{Attempt: 1, Calls: 10, CierreRate: dec(t, "66.67")},
				{Attempt: 2, Calls: 3, CierreRate: dec(t, "0.00")},
				{Attempt: 10, Calls: 4, CierreRate: dec(t, "50.00")},
			},
			// calls desc, then name; 54 queues → 50: SIN_COLA, COLA_A, COLA_B, Q01..Q47.
			QueuePerformance: append([]analytics.QueuePerformance{
				queue("SIN_COLA", 12, 0, 0, "0.00"), queue("COLA_A", 10, 4, 1, "25.00"), queue("COLA_B", 10, 3, 2, "66.67"),
			}, qs(1, 47)...),
		}
		rptEqual(t, "operation", op, want)
	})

	t.Run("cartera filter on an explicit day, sections off", func(t *testing.T) {
		op := read(t, "fecha_analisis=2025-07-10&cartera=OTRAS&include_hourly=false&include_queues=0")
		// D only: r3 CALL 5/1/0/0 cli 2 ctas 3, r5 VOICEBOT 1200/300/200/30 cli 1000 ctas 1100.
		// 1205 calls; contacto 501/1205 = 41.58%; directo 301/1205 = 24.98%; cierre
		// 30/301 = 9.97%; intensidad 1205/1002 = 1.203; cuentas 1103.
		want := analytics.Operation{Date: rptDay("2025-07-10"),
			KPIs: kpis("1,205", "41.6%", "25.0%", "10.0%", "1.2", "1,103"),
			ChannelPerformance: []analytics.ChannelPerformance{
				ch("Voicebot", 1200, 300, 30, "10.00"), ch("Call Center", 5, 1, 0, "0.00"),
			},
			HourlyPerformance:    []analytics.HourlyPerformance{},
			AttemptEffectiveness: []analytics.AttemptEffectiveness{{Attempt: 10, Calls: 4, CierreRate: dec(t, "50.00")}},
			QueuePerformance:     []analytics.QueuePerformance{},
		}
		rptEqual(t, "operation OTRAS", op, want)
		op = read(t, "fecha_analisis=2025-07-10&cartera=OTRAS&include_attempts=false")
		// COLA_A 10 then Q01..Q49 (50 in all); hours 10 and 12 with 11 zero-filled.
		rptEqual(t, "queues OTRAS", op.QueuePerformance,
			append([]analytics.QueuePerformance{queue("COLA_A", 10, 4, 1, "25.00")}, qs(1, 49)...))
		rptEqual(t, "hours OTRAS", op.HourlyPerformance, []analytics.HourlyPerformance{
			hour("10:00", 1200, 300, 30), hour("11:00", 0, 0, 0), hour("12:00", 5, 1, 0)})
		if len(op.AttemptEffectiveness) != 0 || op.AttemptEffectiveness == nil {
			t.Fatalf("attempts off: %+v", op.AttemptEffectiveness)
		}
	})

	t.Run("latest day follows the filters", func(t *testing.T) {
		// B (CUOTA) has rows only on 07-08: one CALL_CENTER hour; the voicebot channel
		// is still listed with zero calls.
		op := read(t, "cartera=CUOTA_FRACCIONAMIENTO")
		want := analytics.Operation{Date: rptDay("2025-07-08"),
			// 2 calls, cd 1, ci 1, pdp 1, cli 2, ctas 2.
			KPIs: kpis("2", "100.0%", "50.0%", "100.0%", "1.0", "2"),
			ChannelPerformance: []analytics.ChannelPerformance{
				ch("Voicebot", 0, 0, 0, "0.00"), ch("Call Center", 2, 1, 1, "100.00"),
			},
			HourlyPerformance:    []analytics.HourlyPerformance{hour("15:00", 2, 1, 1)},
			AttemptEffectiveness: []analytics.AttemptEffectiveness{{Attempt: 1, Calls: 2, CierreRate: dec(t, "100.00")}},
			QueuePerformance:     []analytics.QueuePerformance{},
		}
		rptEqual(t, "operation CUOTA", op, want)
		// The same filter through the archivo list.
		if op2 := read(t, "archivo="+rptB); !reflect.DeepEqual(op, op2) {
			t.Fatalf("archivo filter %+v", op2)
		}
		// cartera AND archivo: TEMPRANA's archivo is not B → nothing → today.
		for _, q := range []string{"cartera=TEMPRANA&archivo=" + rptB, "archivo=" + rptC, "archivo=" + url.QueryEscape("x' OR '1'='1")} {
			op = read(t, q)
			want := analytics.Operation{Date: rptToday, KPIs: kpis("0", "0.0%", "0.0%", "0.0%", "0.0", "0"),
				ChannelPerformance: []analytics.ChannelPerformance{
					ch("Voicebot", 0, 0, 0, "0.00"), ch("Call Center", 0, 0, 0, "0.00"),
				},
				HourlyPerformance: []analytics.HourlyPerformance{}, AttemptEffectiveness: []analytics.AttemptEffectiveness{},
				QueuePerformance: []analytics.QueuePerformance{}}
			rptEqual(t, "no data "+q, op, want)
		}
	})

	t.Run("explicit day after today and views", func(t *testing.T) {
		op := read(t, "fecha_analisis=2025-07-20")
		if op.Date != rptDay("2025-07-20") || op.KPIs[0].Value != "50" || op.ChannelPerformance[0].Calls != 50 {
			t.Fatalf("07-20: %+v", op)
		}
		p, err := analytics.ParseOperationQuery(rptQuery(t, ""), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		op, err = ReadOperation(ctx, tx, p.ForView(analytics.OperationViewKPIs))
		if err != nil {
			t.Fatal(err)
		}
		if op.Date != rptDay("2025-07-10") || op.KPIs[0].Value != "1,220" || len(op.HourlyPerformance)+len(op.QueuePerformance)+len(op.AttemptEffectiveness) != 0 {
			t.Fatalf("kpis view %+v", op)
		}
	})
}

func TestReportsProductivity(t *testing.T) {
	tx, version := rptSeed(t)
	ctx := t.Context()
	read := func(t *testing.T, query string) analytics.Productivity {
		t.Helper()
		p, err := analytics.ParseProductivityQuery(rptQuery(t, query), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ReadProductivity(ctx, tx, p)
		if err != nil {
			t.Fatal(err)
		}
		if out.Metadata.DataVersion != version {
			t.Fatalf("data_version %d; want %d", out.Metadata.DataVersion, version)
		}
		return out
	}
	day := func(n int, date string, llamadas, compromisos, cents int64) analytics.ProductivityDay {
		return analytics.ProductivityDay{Day: n, Date: rptDay(date), Llamadas: llamadas, Compromisos: compromisos, Recupero: money(cents)}
	}
	rank := func(id string, r int, name string, calls, cd, pdp, cents int64, closing, conversion string, q int) analytics.AgentRank {
		return analytics.AgentRank{ID: id, Rank: r, AgentName: name, Calls: calls, DirectContacts: cd, Commitments: pdp,
			AmountRecovered: money(cents), ClosingRate: dec(t, closing), CommitmentConversion: dec(t, conversion), Quartile: q}
	}
	type dp = analytics.DayPerformance
	perf := func(g, c, p int64) dp { return dp{Gestiones: g, ContactosEfectivos: c, Compromisos: p} }
	heat := func(id, dni, name string, days map[string]dp) analytics.AgentHeatmapRow {
		return analytics.AgentHeatmapRow{ID: id, DNI: dni, AgentName: name, DailyPerformance: days}
	}
	ana := rank("ana@x.pe", 1, "Ana", 17, 5, 3, 10000, "17.65", "60.00", 1) // 3/17 = 17.647; 3/5
	cai := rank("cai@x.pe", 2, "Cai", 20, 5, 3, 5000, "15.00", "60.00", 1)  // 3/20; 3/5
	bob := rank("bob@x.pe", 3, "Bob", 8, 3, 3, 5000, "37.50", "100.00", 2)  // 3/8; 3/3
	dan2 := rank("dan2@x.pe", 4, "Dan", 3, 1, 0, 0, "0.00", "0.00", 3)
	dan := rank("dan@x.pe", 5, "Dan", 3, 1, 0, 0, "0.00", "0.00", 4)
	anaHeat := heat("ana@x.pe", "111", "Ana", map[string]dp{"2025-07-01": perf(10, 4, 2), "2025-07-02": perf(7, 1, 1)})
	caiHeat := heat("cai@x.pe", "SIN DNI", "Cai", map[string]dp{"2025-07-04": perf(20, 5, 3)})
	bobHeat := heat("bob@x.pe", "222", "Bob", map[string]dp{"2025-07-01": perf(8, 3, 3)})
	dan2Heat := heat("dan2@x.pe", "555", "Dan", map[string]dp{"2025-07-05": perf(3, 1, 0)})
	danHeat := heat("dan@x.pe", "444", "Dan", map[string]dp{"2025-07-05": perf(3, 1, 0)})

	t.Run("range, ranking ties, quartiles, heatmap", func(t *testing.T) {
		out := read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05")
		want := analytics.Productivity{
			// 07-01 ana 10 + bob 8, pdp 2+3, 100.00+50.00; 07-02 ana 5+2, pdp 1; 07-03
			// nothing; 07-04 cai; 07-05 dan + dan2.
			DailyTrend: []analytics.ProductivityDay{day(1, "2025-07-01", 18, 5, 15000), day(2, "2025-07-02", 7, 1, 0),
				day(3, "2025-07-03", 0, 0, 0), day(4, "2025-07-04", 20, 3, 5000), day(5, "2025-07-05", 6, 0, 0)},
			// CALL_CENTER hours in range: 09h 6 (07-02) + 4 (07-04) calls, pdp 1+1; 14h 2;
			// the VOICEBOT 11h row does not count; no zero-fill.
			HourlyTrend: []analytics.ProductivityHour{{Hour: "09:00", Llamadas: 10, Compromisos: 2}, {Hour: "14:00", Llamadas: 2}},
			// commitments 3,3,3,0,0; ana > cai on amount (100 vs 50); cai > bob on calls
			// (20 vs 8); dan2 and dan tie on everything including the name: correo in byte
			// order ("dan2@" < "dan@", '2' < '@'). NTILE(4) of 5: 2,1,1,1.
			AgentRanking: []analytics.AgentRank{ana, cai, bob, dan2, dan},
			// Σ gestiones: cai 20, ana 17, bob 8, dan2 3, dan 3 (then rank); only active days;
			// ana's name is her latest day's ("Ana Old" on 07-01).
			AgentHeatmap: []analytics.AgentHeatmapRow{caiHeat, anaHeat, bobHeat, dan2Heat, danHeat},
			Metadata: analytics.ProductivityMetadata{Period: analytics.Period{Start: rptDay("2025-07-01"), End: rptDay("2025-07-05")},
				Filters:     analytics.ProductivityFilters{Cartera: []string{}, Archivo: []string{}, MetricType: "gestiones"},
				TotalAgents: 5, DataVersion: version},
		}
		rptEqual(t, "productivity", out, want)
		// By compromisos: ana, cai, bob tie at 3 → rank order.
		out = read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05&metric_type=compromisos")
		rptEqual(t, "heatmap by compromisos", out.AgentHeatmap, []analytics.AgentHeatmapRow{anaHeat, caiHeat, bobHeat, dan2Heat, danHeat})
		// By contactosEfectivos: ana 5, cai 5 (rank), bob 3, dan2 1, dan 1.
		out = read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05&metric_type=contactosEfectivos")
		rptEqual(t, "heatmap by contactos", out.AgentHeatmap, []analytics.AgentHeatmapRow{anaHeat, caiHeat, bobHeat, dan2Heat, danHeat})
	})

	t.Run("name before correo", func(t *testing.T) {
		// 07-05..07-06: dan2, dan (Dan) and abe (Zoe) tie on every number: name asc puts
		// Zoe last although "abe@" is the smallest correo.
		out := read(t, "fecha_inicio=2025-07-05&fecha_fin=2025-07-06")
		rptEqual(t, "ranking", out.AgentRanking, []analytics.AgentRank{
			rank("dan2@x.pe", 1, "Dan", 3, 1, 0, 0, "0.00", "0.00", 1),
			rank("dan@x.pe", 2, "Dan", 3, 1, 0, 0, "0.00", "0.00", 2),
			rank("abe@x.pe", 3, "Zoe", 3, 1, 0, 0, "0.00", "0.00", 3),
		})
	})

	t.Run("latest end with and without filters", func(t *testing.T) {
		// Latest ≤ 07-15 is abe's 07-06 (07-20 is after today): 30 days 06-07..07-06.
		out := read(t, "")
		if got := out.Metadata.Period; got != (analytics.Period{Start: rptDay("2025-06-07"), End: rptDay("2025-07-06")}) {
			t.Fatalf("period %+v", got)
		}
		if len(out.DailyTrend) != 30 || out.DailyTrend[29] != day(30, "2025-07-06", 3, 0, 0) || out.DailyTrend[0] != day(1, "2025-06-07", 0, 0, 0) {
			t.Fatalf("daily %+v", out.DailyTrend)
		}
		if out.Metadata.TotalAgents != 6 {
			t.Fatalf("agents %d", out.Metadata.TotalAgents)
		}
		// OTRAS (archivo D): latest is 07-05; ana's D row, dan2, dan.
		out = read(t, "cartera=otras")
		if got := out.Metadata.Period; got != (analytics.Period{Start: rptDay("2025-06-06"), End: rptDay("2025-07-05")}) {
			t.Fatalf("period OTRAS %+v", got)
		}
		rptEqual(t, "ranking OTRAS", out.AgentRanking, []analytics.AgentRank{
			rank("ana@x.pe", 1, "Ana", 5, 1, 1, 0, "20.00", "100.00", 1),
			rank("dan2@x.pe", 2, "Dan", 3, 1, 0, 0, "0.00", "0.00", 2),
			rank("dan@x.pe", 3, "Dan", 3, 1, 0, 0, "0.00", "0.00", 3),
		})
		// CALL_CENTER hours on D in range: 07-04 09h 4 calls, 1 pdp.
		rptEqual(t, "hourly OTRAS", out.HourlyTrend, []analytics.ProductivityHour{{Hour: "09:00", Llamadas: 4, Compromisos: 1}})
		rptEqual(t, "filters echo", out.Metadata.Filters,
			analytics.ProductivityFilters{Cartera: []string{"OTRAS"}, Archivo: []string{}, MetricType: "gestiones"})
		// No rows match: today, 30 empty days, no agents.
		out = read(t, "archivo=nothing")
		if out.Metadata.Period.End != rptToday || len(out.DailyTrend) != 30 || len(out.AgentRanking) != 0 ||
			out.AgentRanking == nil || out.AgentHeatmap == nil || len(out.HourlyTrend) != 0 {
			t.Fatalf("no data %+v", out)
		}
		// An explicit start after the latest end is a validation error of the request.
		p, err := analytics.ParseProductivityQuery(rptQuery(t, "fecha_inicio=2025-07-10"), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ReadProductivity(ctx, tx, p)
		var ve *analytics.ValidationError
		if !errors.As(err, &ve) || ve.Details[0].Message != analytics.MsgRangeReversed {
			t.Fatalf("start after latest: %v", err)
		}
	})

	t.Run("agente by correo and by dni", func(t *testing.T) {
		for _, q := range []string{"agente=ANA@X.PE", "agente=111"} {
			out := read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05&"+q)
			rptEqual(t, q+" ranking", out.AgentRanking, []analytics.AgentRank{rank("ana@x.pe", 1, "Ana", 17, 5, 3, 10000, "17.65", "60.00", 1)})
			rptEqual(t, q+" daily", out.DailyTrend, []analytics.ProductivityDay{day(1, "2025-07-01", 10, 2, 10000),
				day(2, "2025-07-02", 7, 1, 0), day(3, "2025-07-03", 0, 0, 0), day(4, "2025-07-04", 0, 0, 0), day(5, "2025-07-05", 0, 0, 0)})
			if out.HourlyTrend == nil || len(out.HourlyTrend) != 0 {
				t.Fatalf("%s: hourlyTrend %+v; want []", q, out.HourlyTrend)
			}
			rptEqual(t, q+" heatmap", out.AgentHeatmap, []analytics.AgentHeatmapRow{anaHeat})
			if a := out.Metadata.Filters.Agente; a == nil || *a != strings.TrimPrefix(q, "agente=") {
				t.Fatalf("%s: agente echo %v", q, a)
			}
		}
		out := read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05&agente="+url.QueryEscape("SIN DNI"))
		if len(out.AgentRanking) != 1 || out.AgentRanking[0].ID != "cai@x.pe" {
			t.Fatalf("dni SIN DNI: %+v", out.AgentRanking)
		}
		out = read(t, "fecha_inicio=2025-07-01&fecha_fin=2025-07-05&agente="+url.QueryEscape("' OR 1=1 --"))
		if len(out.AgentRanking) != 0 {
			t.Fatalf("SQL text matched agents: %+v", out.AgentRanking)
		}
	})
}

func TestReportsAgent(t *testing.T) {
	tx, _ := rptSeed(t)
	ctx := t.Context()
	read := func(t *testing.T, id, query string) (analytics.AgentDetail, error) {
		t.Helper()
		p, err := analytics.ParseAgentQuery(id, rptQuery(t, query), rptToday)
		if err != nil {
			t.Fatal(err)
		}
		return ReadAgent(ctx, tx, p)
	}
	got, err := read(t, "Ana@X.pe", "fecha_inicio=2025-07-01&fecha_fin=2025-07-05")
	if err != nil {
		t.Fatal(err)
	}
	zero := money(0)
	want := analytics.AgentDetail{ID: "ana@x.pe", DNI: "111", AgentName: "Ana",
		Period: analytics.Period{Start: rptDay("2025-07-01"), End: rptDay("2025-07-05")},
		// 10+5+2 calls, cd 4+1, pdp 2+1, 100.00: 3/17 = 17.65, 3/5 = 60.00.
		Totals: analytics.AgentTotals{Calls: 17, DirectContacts: 5, Commitments: 3, AmountRecovered: money(10000),
			ClosingRate: dec(t, "17.65"), CommitmentConversion: dec(t, "60.00")},
		Daily: []analytics.AgentDay{
			{Day: 1, Date: rptDay("2025-07-01"), Gestiones: 10, ContactosEfectivos: 4, Compromisos: 2, Recupero: money(10000)},
			{Day: 2, Date: rptDay("2025-07-02"), Gestiones: 7, ContactosEfectivos: 1, Compromisos: 1, Recupero: zero},
			{Day: 3, Date: rptDay("2025-07-03"), Recupero: zero},
			{Day: 4, Date: rptDay("2025-07-04"), Recupero: zero},
			{Day: 5, Date: rptDay("2025-07-05"), Recupero: zero},
		},
		// A: 10 + 2 calls, pdp 2, 100.00; D: 5 calls, pdp 1.
		ByArchivo: []analytics.AgentArchivo{
			{Archivo: rptA, Calls: 12, Commitments: 2, AmountRecovered: money(10000)},
			{Archivo: rptD, Calls: 5, Commitments: 1, AmountRecovered: zero},
		},
	}
	rptEqual(t, "agent", got, want)

	// Default end: the latest day of any agent (07-06), so 06-07..07-06: same totals.
	got, err = read(t, "ana@x.pe", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Period != (analytics.Period{Start: rptDay("2025-06-07"), End: rptDay("2025-07-06")}) || got.Totals != want.Totals || len(got.Daily) != 30 {
		t.Fatalf("default range %+v", got)
	}
	// Idle in the range: zeros, name from its latest row.
	got, err = read(t, "bob@x.pe", "fecha_inicio=2025-07-10&fecha_fin=2025-07-12")
	if err != nil {
		t.Fatal(err)
	}
	if got.AgentName != "Bob" || got.DNI != "222" || got.Totals.Calls != 0 || len(got.Daily) != 3 || got.ByArchivo == nil || len(got.ByArchivo) != 0 {
		t.Fatalf("idle agent %+v", got)
	}
	// Unknown agent (and a dni is not an agent id): ErrNotFound.
	for _, id := range []string{"nobody@x.pe", "111", "' OR 1=1 --"} {
		if _, err := read(t, id, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %v; want ErrNotFound", id, err)
		}
	}
}
