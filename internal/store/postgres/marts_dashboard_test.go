package postgres

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The hand-checked data set of the dashboard family (api.md §3.1–§3.3). Every
// expected number below is worked out by hand from these rows in the comments.
//
// Campaigns (aux.campana):
//
//	A CAMP_TEMPRANA_0602  TEMPRANA               apertura 2025-06-02 (Mon) open               periodo 2025-06
//	B CAMP_CF_ANN_0603    CUOTA_FRACCIONAMIENTO  apertura 2025-06-03 (Tue) cierre 2025-06-27  periodo 2025-06
//	C CAMP_AN_0701        ALTAS_NUEVAS           apertura 2025-07-01 (Tue) open               periodo 2025-07
//	D CAMP_OTRAS_0505     OTRAS                  apertura 2025-05-05 (Mon) cierre 2025-05-30  periodo 2025-05
//	E CAMP_SIN_FILAS      OTRAS                  apertura 2025-04-28       cierre 2025-04-30  periodo 2025-04 (no dashboard rows)
//
// mart.dashboard_data rows (sg = cuentas − gestionadas, clientes = cuentas):
//
//	day    camp srv   cuentas gestionables deuda_asig deuda_act gestionadas bot call cd ci sc pdp pagadoras recupero
//	05-30  D    FIJA   4       4            400.00     400.00    2           2   0    1  1  0  1   1         40.00
//	06-26  B    MOVIL  8       8            800.00     700.00    4           4   1    2  1  1  1   1         10.00
//	06-27  A    MOVIL 10       9           1000.00     950.00    4           5   0    2  1  1  0   1         30.00
//	06-27  B    MOVIL  8       8            800.00     650.00    5           5   2    3  1  1  2   2         20.00
//	06-27  B    FIJA   2       1            200.00     200.00    1           1   0    0  0  1  0   0          0.00
//	07-10  A    MOVIL 10       9           1000.00     900.00    6           8   4    3  2  1  1   2        100.00
//	07-10  A    FIJA   5       5            500.00     480.00    0           0   0    0  0  0  0   0          0.00
//	07-10  C    MOVIL  3       3            300.00     300.00    3           3   3    1  1  1  1   1         50.00
//	07-14  A    MOVIL 12      10           1200.00    1000.50    7          10   5    4  2  1  2   3        150.25
//	07-14  A    FIJA   6       6            600.00     570.00    1           1   0    0  1  0  0   0          0.00
//	07-14  C    MOVIL  4       4            400.00     350.00    3           4   3    2  0  1  1   1         50.00
//
// Holidays: 2025-06-07 (Saturday: no effect), 2025-06-20 (Friday), 2025-07-07 (Monday).
const (
	dashCampA = "CAMP_TEMPRANA_0602"
	dashCampB = "CAMP_CF_ANN_0603"
	dashCampC = "CAMP_AN_0701"
	dashCampD = "CAMP_OTRAS_0505"
	dashCampE = "CAMP_SIN_FILAS"
)

var (
	dashToday    = etl.NewDate(2025, time.July, 15)
	dashHolidays = []etl.Date{etl.NewDate(2025, time.June, 7), etl.NewDate(2025, time.June, 20), etl.NewDate(2025, time.July, 7)}
)

type dashSeedRow struct {
	day, archivo, cartera, servicio         string
	cuentas, gestionables                   int
	deudaAsig, deudaAct                     string
	gestionadas, bot, call, cd, ci, sc, pdp int
	pagadoras                               int
	recupero                                string
}

func seedDashboard(t *testing.T, tx pgx.Tx) {
	t.Helper()
	ctx := t.Context()
	// The shared database may hold other tests' committed rows: start from empty
	// inside this (rolled back) transaction.
	for _, q := range []string{`DELETE FROM mart.dashboard_data`, `DELETE FROM aux.campana`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	camps := []struct{ archivo, cartera, apertura, cierre string }{
		{dashCampA, "TEMPRANA", "2025-06-02", ""},
		{dashCampB, "CUOTA_FRACCIONAMIENTO", "2025-06-03", "2025-06-27"},
		{dashCampC, "ALTAS_NUEVAS", "2025-07-01", ""},
		{dashCampD, "OTRAS", "2025-05-05", "2025-05-30"},
		{dashCampE, "OTRAS", "2025-04-28", "2025-04-30"},
	}
	for _, c := range camps {
		var cierre any
		if c.cierre != "" {
			cierre = c.cierre
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO aux.campana (archivo, fecha_apertura, fecha_cierre, periodo_date, cartera, periodo, fin, attr_hash)
			VALUES ($1, $2::date, $3::date, date_trunc('month', $2::date)::date, $4, to_char($2::date, 'YYYY-MM'),
			        COALESCE($3::date, '2025-07-15'::date), 'test')`,
			c.archivo, c.apertura, cierre, c.cartera); err != nil {
			t.Fatalf("insert campana %s: %v", c.archivo, err)
		}
	}
	rows := []dashSeedRow{
		{"2025-05-30", dashCampD, "OTRAS", "FIJA", 4, 4, "400.00", "400.00", 2, 2, 0, 1, 1, 0, 1, 1, "40.00"},
		{"2025-06-26", dashCampB, "CUOTA_FRACCIONAMIENTO", "MOVIL", 8, 8, "800.00", "700.00", 4, 4, 1, 2, 1, 1, 1, 1, "10.00"},
		{"2025-06-27", dashCampA, "TEMPRANA", "MOVIL", 10, 9, "1000.00", "950.00", 4, 5, 0, 2, 1, 1, 0, 1, "30.00"},
		{"2025-06-27", dashCampB, "CUOTA_FRACCIONAMIENTO", "MOVIL", 8, 8, "800.00", "650.00", 5, 5, 2, 3, 1, 1, 2, 2, "20.00"},
		{"2025-06-27", dashCampB, "CUOTA_FRACCIONAMIENTO", "FIJA", 2, 1, "200.00", "200.00", 1, 1, 0, 0, 0, 1, 0, 0, "0.00"},
		{"2025-07-10", dashCampA, "TEMPRANA", "MOVIL", 10, 9, "1000.00", "900.00", 6, 8, 4, 3, 2, 1, 1, 2, "100.00"},
		{"2025-07-10", dashCampA, "TEMPRANA", "FIJA", 5, 5, "500.00", "480.00", 0, 0, 0, 0, 0, 0, 0, 0, "0.00"},
		{"2025-07-10", dashCampC, "ALTAS_NUEVAS", "MOVIL", 3, 3, "300.00", "300.00", 3, 3, 3, 1, 1, 1, 1, 1, "50.00"},
		{"2025-07-14", dashCampA, "TEMPRANA", "MOVIL", 12, 10, "1200.00", "1000.50", 7, 10, 5, 4, 2, 1, 2, 3, "150.25"},
		{"2025-07-14", dashCampA, "TEMPRANA", "FIJA", 6, 6, "600.00", "570.00", 1, 1, 0, 0, 1, 0, 0, 0, "0.00"},
		{"2025-07-14", dashCampC, "ALTAS_NUEVAS", "MOVIL", 4, 4, "400.00", "350.00", 3, 4, 3, 2, 0, 1, 1, 1, "50.00"},
	}
	for _, r := range rows {
		if _, err := tx.Exec(ctx, `
			INSERT INTO mart.dashboard_data (fecha_foto, archivo, cartera, servicio, cuentas, clientes,
				cuentas_gestionables, deuda_asig, deuda_act, cuentas_gestionadas, total_gestiones, gestiones_bot,
				gestiones_call, cuentas_cd, cuentas_ci, cuentas_sc, cuentas_sg, cuentas_pdp, cuentas_pagadoras, recupero)
			VALUES ($1::date, $2, $3, $4, $5::int, $5::int, $6, $7::numeric, $8::numeric, $9::int, $10::int + $11::int,
				$10::int, $11::int, $12, $13, $14, $5::int - $9::int, $15, $16, $17::numeric)`,
			r.day, r.archivo, r.cartera, r.servicio, r.cuentas, r.gestionables, r.deudaAsig, r.deudaAct,
			r.gestionadas, r.bot, r.call, r.cd, r.ci, r.sc, r.pdp, r.pagadoras, r.recupero); err != nil {
			t.Fatalf("insert dashboard_data %+v: %v", r, err)
		}
	}
}

// wantRow is one expected DataRow; every JSON field of the row is checked against it.
type wantRow struct {
	id, name                                               string
	cuentas                                                int64
	pctCuentas, deudaAsig, pctDeuda, deudaAct, pctDeudaAct string
	cobertura, contacto, cd, ci, sc, cierre, inten         string
	cdN, ciN, scN, sgN, pdpN                               int64
	archivo                                                *wantArchivo // nil: the four fields are null
	recupero, pctRecupero, conversion, efectividad         string
	gestionables, gestionadas, pagadoras, totalGestiones   int64
}

type wantArchivo struct {
	fechaAsignacion, fechaCierre string // "" = null
	diasGestion, diasHabiles     int
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (w wantRow) fields(t *testing.T) map[string]string {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	m := map[string]string{
		"id": jsonText(t, w.id), "name": jsonText(t, w.name),
		"status": `"none"`, "porcentajeDeudaStatus": `"none"`, "porcentajeDeudaActStatus": `"none"`,
		"contactoStatus": `"none"`, "cierreStatus": `"none"`, "intenStatus": `"none"`,
		"cuentas": i(w.cuentas), "porcentajeCuentas": w.pctCuentas, "deudaAsig": w.deudaAsig,
		"porcentajeDeuda": w.pctDeuda, "deudaAct": w.deudaAct, "porcentajeDeudaAct": w.pctDeudaAct,
		"cobertura": w.cobertura, "contacto": w.contacto, "cd": w.cd, "ci": w.ci, "sc": w.sc,
		"cierre": w.cierre, "inten": w.inten,
		"cdCount": i(w.cdN), "ciCount": i(w.ciN), "scCount": i(w.scN), "sgCount": i(w.sgN),
		"pdpCount": i(w.pdpN), "fracCount": "0", "pdpFracCount": i(w.pdpN),
		"fechaAsignacion": "null", "fechaCierre": "null", "diasGestion": "null", "diasHabiles": "null",
		"recupero": w.recupero, "pctRecupero": w.pctRecupero, "conversion": w.conversion,
		"efectividad": w.efectividad, "gestionablesCount": i(w.gestionables),
		"gestionadasCount": i(w.gestionadas), "pagadorasCount": i(w.pagadoras), "totalGestiones": i(w.totalGestiones),
	}
	if a := w.archivo; a != nil {
		m["fechaAsignacion"] = jsonText(t, a.fechaAsignacion)
		if a.fechaCierre != "" {
			m["fechaCierre"] = jsonText(t, a.fechaCierre)
		}
		m["diasGestion"], m["diasHabiles"] = strconv.Itoa(a.diasGestion), strconv.Itoa(a.diasHabiles)
	}
	return m
}

// assertObjects compares JSON objects field by field: same key set, same JSON text.
func assertObjects(t *testing.T, what string, got json.RawMessage, want []map[string]string) {
	t.Helper()
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(got, &objs); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if string(got) == "null" {
		t.Fatalf("%s is null, want an array", what)
	}
	if len(objs) != len(want) {
		t.Fatalf("%s: %d objects, want %d: %s", what, len(objs), len(want), got)
	}
	for i, o := range objs {
		w := want[i]
		for k, v := range w {
			gv, ok := o[k]
			if !ok {
				t.Errorf("%s[%d]: missing field %q", what, i, k)
				continue
			}
			if string(gv) != v {
				t.Errorf("%s[%d] (%s).%s = %s, want %s", what, i, o["name"], k, gv, v)
			}
		}
		for k := range o {
			if _, ok := w[k]; !ok {
				t.Errorf("%s[%d]: unexpected field %q", what, i, k)
			}
		}
	}
}

type wantDashboard struct {
	segmento, negocio []wantRow
}

func assertDashboard(t *testing.T, got analytics.Dashboard, want wantDashboard, includeTotal bool) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 {
		t.Errorf("dashboard has fields %v, want segmentoData, negocioData, integralChartData", slices.Sorted(mapKeys(top)))
	}
	rows := func(ws []wantRow) []map[string]string {
		out := make([]map[string]string, 0, len(ws))
		for _, w := range ws {
			out = append(out, w.fields(t))
		}
		return out
	}
	assertObjects(t, "segmentoData", top["segmentoData"], rows(want.segmento))
	assertObjects(t, "negocioData", top["negocioData"], rows(want.negocio))
	// integralChartData: one point per segmentoData row, the total excluded.
	var chart []map[string]string
	for i, w := range want.segmento {
		if includeTotal && i == len(want.segmento)-1 {
			if w.id != "total" {
				t.Fatalf("test bug: the last segmento row is %q, not the total", w.id)
			}
			continue
		}
		chart = append(chart, map[string]string{"name": jsonText(t, w.name), "cobertura": w.cobertura,
			"contacto": w.contacto, "contactoDirecto": w.cd, "contactoIndirecto": w.ci,
			"tasaDeCierre": w.cierre, "intensidad": w.inten})
	}
	if chart == nil {
		chart = []map[string]string{}
	}
	assertObjects(t, "integralChartData", top["integralChartData"], chart)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestReadDashboard(t *testing.T) {
	tx := pgtest.Tx(t)
	seedDashboard(t, tx)

	get := func(q string) func() (analytics.DashboardParams, error) {
		return func() (analytics.DashboardParams, error) {
			v, err := url.ParseQuery(q)
			if err != nil {
				return analytics.DashboardParams{}, err
			}
			return analytics.ParseDashboardQuery(v, dashToday)
		}
	}
	post := func(body string) func() (analytics.DashboardParams, error) {
		return func() (analytics.DashboardParams, error) {
			return analytics.ParseDashboardBody([]byte(body), dashToday)
		}
	}

	// Case 1 (defaults, today 2025-07-15): fechaCorte 07-15, window [07-01, 07-15].
	// A's window [06-02, 07-15] and C's [07-01, 07-15] overlap it; B's [06-03, 06-27]
	// and D's [05-05, 05-30] do not. Snapshots: A and C → 07-14. Rows: A MOVIL, A FIJA,
	// C MOVIL of 07-14.
	//   ALTAS_NUEVAS = C:      cuentas 4, gestionables 4, asig 400.00, act 350.00, gestionadas 3,
	//                          gestiones 7, cd 2, ci 0, sc 1, sg 1, pdp 1, pagadoras 1, recupero 50.00
	//   TEMPRANA = A MOVIL+FIJA: cuentas 12+6=18, gestionables 10+6=16, asig 1800.00,
	//                          act 1000.50+570.00=1570.50, gestionadas 7+1=8, gestiones 15+1=16,
	//                          cd 4, ci 2+1=3, sc 1, sg 5+5=10, pdp 2, pagadoras 3, recupero 150.25
	//   table Σ: cuentas 22, gestionables 20, asig 2200.00, act 1920.50, gestionadas 11,
	//            gestiones 23, cd 6, ci 3, sc 2, sg 11, pdp 3, pagadoras 4, recupero 200.25
	altasNuevas714 := wantRow{id: "altas_nuevas", name: "ALTAS_NUEVAS", cuentas: 4,
		pctCuentas: "18.18",                     // 4/22 ×100 = 18.1818
		deudaAsig:  "400.00", pctDeuda: "18.18", // 400/2200 ×100 = 18.1818
		deudaAct: "350.00", pctDeudaAct: "18.22", // 350/1920.50 ×100 = 18.2244
		cobertura: "75.00",                          // 3/4
		contacto:  "50.00",                          // (2+0)/4
		cd:        "50.00", ci: "0.00", sc: "25.00", // 2/4, 0/4, 1/4
		cierre: "25.00", // 1/4
		inten:  "2.33",  // 7/3 = 2.333
		cdN:    2, ciN: 0, scN: 1, sgN: 1, pdpN: 1,
		recupero: "50.00", pctRecupero: "12.50", // 50/400
		conversion: "50.00", efectividad: "33.33", // 1/2, 1/3
		gestionables: 4, gestionadas: 3, pagadoras: 1, totalGestiones: 7}
	temprana714 := wantRow{id: "temprana", name: "TEMPRANA", cuentas: 18,
		pctCuentas: "81.82",                      // 18/22 = 81.818
		deudaAsig:  "1800.00", pctDeuda: "81.82", // 1800/2200
		deudaAct: "1570.50", pctDeudaAct: "81.78", // 1570.50/1920.50 = 81.7756
		cobertura: "44.44",                          // 8/18 = 44.444
		contacto:  "38.89",                          // (4+3)/18 = 38.888
		cd:        "22.22", ci: "16.67", sc: "5.56", // 4/18, 3/18 = 16.666, 1/18 = 5.555
		cierre: "16.67", // 3/18
		inten:  "2.00",  // 16/8
		cdN:    4, ciN: 3, scN: 1, sgN: 10, pdpN: 2,
		recupero: "150.25", pctRecupero: "8.35", // 150.25/1800 = 8.3472
		conversion: "50.00", efectividad: "25.00", // 2/4, 2/8
		gestionables: 16, gestionadas: 8, pagadoras: 3, totalGestiones: 16}
	total714 := wantRow{id: "total", name: "Total", cuentas: 22,
		pctCuentas: "100.00", deudaAsig: "2200.00", pctDeuda: "100.00", deudaAct: "1920.50", pctDeudaAct: "100.00",
		cobertura: "50.00",                          // 11/22
		contacto:  "40.91",                          // 9/22 = 40.909
		cd:        "27.27", ci: "13.64", sc: "9.09", // 6/22 = 27.272, 3/22 = 13.636, 2/22 = 9.090
		cierre: "18.18", // 4/22
		inten:  "2.09",  // 23/11 = 2.0909
		cdN:    6, ciN: 3, scN: 2, sgN: 11, pdpN: 3,
		recupero: "200.25", pctRecupero: "9.10", // 200.25/2200 = 9.1022
		conversion: "50.00", efectividad: "27.27", // 3/6, 3/11 = 27.27
		gestionables: 20, gestionadas: 11, pagadoras: 4, totalGestiones: 23}
	// FIJA = A FIJA 07-14 (C has no FIJA): cuentas 6, gestionables 6, asig 600, act 570,
	// gestionadas 1, gestiones 1, cd 0, ci 1, sc 0, sg 5, pdp 0, pagadoras 0, recupero 0.
	fija714 := wantRow{id: "fija", name: "FIJA", cuentas: 6,
		pctCuentas: "27.27", deudaAsig: "600.00", pctDeuda: "27.27", // 6/22, 600/2200
		deudaAct: "570.00", pctDeudaAct: "29.68", // 570/1920.50 = 29.6798
		cobertura: "16.67", contacto: "16.67", cd: "0.00", ci: "16.67", sc: "0.00", // 1/6, (0+1)/6, 0, 1/6, 0
		cierre: "0.00", inten: "1.00", // 0/6, 1/1
		cdN: 0, ciN: 1, scN: 0, sgN: 5, pdpN: 0,
		recupero: "0.00", pctRecupero: "0.00", // 0/600
		conversion: "0.00", efectividad: "0.00", // 0/0 → 0 (zero denominator), 0/1
		gestionables: 6, gestionadas: 1, pagadoras: 0, totalGestiones: 1}
	// MOVIL = A MOVIL + C MOVIL of 07-14: cuentas 12+4=16, gestionables 14, asig 1600,
	// act 1350.50, gestionadas 10, gestiones 22, cd 6, ci 2, sc 2, sg 6, pdp 3, pagadoras 4,
	// recupero 200.25.
	movil714 := wantRow{id: "movil", name: "MOVIL", cuentas: 16,
		pctCuentas: "72.73", deudaAsig: "1600.00", pctDeuda: "72.73", // 16/22 = 72.727
		deudaAct: "1350.50", pctDeudaAct: "70.32", // 1350.50/1920.50 = 70.3202
		cobertura: "62.50", contacto: "50.00", cd: "37.50", ci: "12.50", sc: "12.50", // 10/16, 8/16, 6/16, 2/16, 2/16
		cierre: "25.00", inten: "2.20", // 4/16, 22/10
		cdN: 6, ciN: 2, scN: 2, sgN: 6, pdpN: 3,
		recupero: "200.25", pctRecupero: "12.52", // 200.25/1600 = 12.515625, half away from zero
		conversion: "50.00", efectividad: "30.00", // 3/6, 3/10
		gestionables: 14, gestionadas: 10, pagadoras: 4, totalGestiones: 22}

	// Case 2: periodo 2025-06 without dates → no window, so the closed B counts although
	// the default window (July) would exclude it. Campaigns A, B; snapshots A 07-14,
	// B 06-27 (its latest ≤ 07-15). Grouped by archivo, sorted: CAMP_CF_ANN_0603 (B),
	// CAMP_TEMPRANA_0602 (A).
	//   B = MOVIL+FIJA 06-27: cuentas 8+2=10, gestionables 9, asig 1000.00, act 650+200=850.00,
	//       gestionadas 5+1=6, gestiones 7+1=8, cd 3, ci 1, sc 1+1=2, sg 4, pdp 2, pagadoras 2, recupero 20.00
	//   table Σ: cuentas 28, asig 2800.00, act 2420.50
	archivoB := wantRow{id: "camp_cf_ann_0603", name: dashCampB, cuentas: 10,
		pctCuentas: "35.71", deudaAsig: "1000.00", pctDeuda: "35.71", // 10/28 = 35.714, 1000/2800
		deudaAct: "850.00", pctDeudaAct: "35.12", // 850/2420.50 = 35.1167
		cobertura: "60.00", contacto: "40.00", cd: "30.00", ci: "10.00", sc: "20.00", // 6/10, 4/10, 3/10, 1/10, 2/10
		cierre: "20.00", inten: "1.33", // 2/10, 8/6 = 1.333
		cdN: 3, ciN: 1, scN: 2, sgN: 4, pdpN: 2,
		// apertura 06-03 .. snapshot 06-27: 25 calendar days; business days Tue 06-03..Fri
		// 06-27 = 4+5+5+5 = 19, minus the Friday holiday 06-20 = 18.
		archivo:  &wantArchivo{fechaAsignacion: "2025-06-03", fechaCierre: "2025-06-27", diasGestion: 25, diasHabiles: 18},
		recupero: "20.00", pctRecupero: "2.00", // 20/1000
		conversion: "66.67", efectividad: "33.33", // 2/3, 2/6
		gestionables: 9, gestionadas: 6, pagadoras: 2, totalGestiones: 8}
	archivoA := temprana714
	archivoA.id, archivoA.name = "camp_temprana_0602", dashCampA
	archivoA.pctCuentas, archivoA.pctDeuda = "64.29", "64.29" // 18/28 = 64.2857, 1800/2800
	archivoA.pctDeudaAct = "64.88"                            // 1570.50/2420.50 = 64.8833
	// apertura 06-02 .. snapshot 07-14: 29 days of June + 14 of July = 43; business
	// days: June 5+5+5+5+1 = 21, July 4+5+1 = 10, 31 minus holidays 06-20 (Fri) and
	// 07-07 (Mon) = 29 (06-07 is a Saturday); open → fechaCierre null.
	archivoA.archivo = &wantArchivo{fechaAsignacion: "2025-06-02", diasGestion: 43, diasHabiles: 29}

	// Case 3: fechaCorte 07-11 selects the earlier snapshot 07-10 of A and C; window
	// [07-01, 07-11] keeps A and C. Rows: A MOVIL, A FIJA, C MOVIL of 07-10.
	//   2025-06 = A: cuentas 15, gestionables 14, asig 1500, act 1380, gestionadas 6,
	//           gestiones 12, cd 3, ci 2, sc 1, sg 4+5=9, pdp 1, pagadoras 2, recupero 100.00
	//   2025-07 = C: cuentas 3, gestionables 3, asig 300, act 300, gestionadas 3, gestiones 6,
	//           cd 1, ci 1, sc 1, sg 0, pdp 1, pagadoras 1, recupero 50.00
	//   table Σ: cuentas 18, asig 1800, act 1680
	periodo06 := wantRow{id: "2025-06", name: "2025-06", cuentas: 15,
		pctCuentas: "83.33", deudaAsig: "1500.00", pctDeuda: "83.33", // 15/18, 1500/1800
		deudaAct: "1380.00", pctDeudaAct: "82.14", // 1380/1680 = 82.1428
		cobertura: "40.00", contacto: "33.33", cd: "20.00", ci: "13.33", sc: "6.67", // 6/15, 5/15, 3/15, 2/15, 1/15
		cierre: "13.33", inten: "2.00", // 2/15, 12/6
		cdN: 3, ciN: 2, scN: 1, sgN: 9, pdpN: 1,
		recupero: "100.00", pctRecupero: "6.67", // 100/1500 = 6.666
		conversion: "33.33", efectividad: "16.67", // 1/3, 1/6
		gestionables: 14, gestionadas: 6, pagadoras: 2, totalGestiones: 12}
	periodo07 := wantRow{id: "2025-07", name: "2025-07", cuentas: 3,
		pctCuentas: "16.67", deudaAsig: "300.00", pctDeuda: "16.67", // 3/18, 300/1800
		deudaAct: "300.00", pctDeudaAct: "17.86", // 300/1680 = 17.857
		cobertura: "100.00", contacto: "66.67", cd: "33.33", ci: "33.33", sc: "33.33", // 3/3, 2/3, 1/3 ×3
		cierre: "33.33", inten: "2.00", // 1/3, 6/3
		cdN: 1, ciN: 1, scN: 1, sgN: 0, pdpN: 1,
		recupero: "50.00", pctRecupero: "16.67", // 50/300
		conversion: "100.00", efectividad: "33.33", // 1/1, 1/3
		gestionables: 3, gestionadas: 3, pagadoras: 1, totalGestiones: 6}
	carteraAN710, carteraTE710 := periodo07, periodo06
	carteraAN710.id, carteraAN710.name = "altas_nuevas", "ALTAS_NUEVAS"
	carteraTE710.id, carteraTE710.name = "temprana", "TEMPRANA"

	// Case 4: servicio FIJA with the defaults: only A FIJA of 07-14 (C has no FIJA), so
	// the table's Σ is that row and every share is 100.
	fijaOnly := fija714
	fijaOnly.pctCuentas, fijaOnly.pctDeuda, fijaOnly.pctDeudaAct = "100.00", "100.00", "100.00"
	temprFija := fijaOnly
	temprFija.id, temprFija.name = "temprana", "TEMPRANA"

	// Case 5: periodo ACTUAL with dates 06-20..06-30: fechaCorte = fechaFin = 06-30, so
	// ACTUAL = 2025-06 (against fechaCorte, not today's July): A and B, whose windows
	// [06-02, 06-30] and [06-03, 06-27] overlap [06-20, 06-30]. Snapshots ≤ 06-30: both
	// 06-27. Rows: A MOVIL, B MOVIL, B FIJA of 06-27.
	//   FIJA = B FIJA: cuentas 2, gestionables 1, asig 200, act 200, gestionadas 1, gestiones 1,
	//          cd 0, ci 0, sc 1, sg 1, pdp 0, pagadoras 0, recupero 0
	//   MOVIL = A+B: cuentas 18, gestionables 17, asig 1800, act 950+650=1600, gestionadas 9,
	//          gestiones 5+7=12, cd 5, ci 2, sc 2, sg 9, pdp 2, pagadoras 3, recupero 50.00
	//   Σ: cuentas 20, gestionables 18, asig 2000, act 1800, gestionadas 10, gestiones 13,
	//      cd 5, ci 2, sc 3, sg 10, pdp 2, pagadoras 3, recupero 50.00
	fija627 := wantRow{id: "fija", name: "FIJA", cuentas: 2,
		pctCuentas: "10.00", deudaAsig: "200.00", pctDeuda: "10.00", // 2/20, 200/2000
		deudaAct: "200.00", pctDeudaAct: "11.11", // 200/1800
		cobertura: "50.00", contacto: "0.00", cd: "0.00", ci: "0.00", sc: "50.00", // 1/2, 0, 0, 0, 1/2
		cierre: "0.00", inten: "1.00", // 0/2, 1/1
		cdN: 0, ciN: 0, scN: 1, sgN: 1, pdpN: 0,
		recupero: "0.00", pctRecupero: "0.00",
		conversion: "0.00", efectividad: "0.00", // 0/0 → 0, 0/1
		gestionables: 1, gestionadas: 1, pagadoras: 0, totalGestiones: 1}
	movil627 := wantRow{id: "movil", name: "MOVIL", cuentas: 18,
		pctCuentas: "90.00", deudaAsig: "1800.00", pctDeuda: "90.00", // 18/20, 1800/2000
		deudaAct: "1600.00", pctDeudaAct: "88.89", // 1600/1800 = 88.888
		cobertura: "50.00", contacto: "38.89", cd: "27.78", ci: "11.11", sc: "11.11", // 9/18, 7/18, 5/18, 2/18, 2/18
		cierre: "16.67", inten: "1.33", // 3/18, 12/9 = 1.333
		cdN: 5, ciN: 2, scN: 2, sgN: 9, pdpN: 2,
		recupero: "50.00", pctRecupero: "2.78", // 50/1800 = 2.777
		conversion: "40.00", efectividad: "22.22", // 2/5, 2/9
		gestionables: 17, gestionadas: 9, pagadoras: 3, totalGestiones: 12}
	total627 := wantRow{id: "total", name: "Total", cuentas: 20,
		pctCuentas: "100.00", deudaAsig: "2000.00", pctDeuda: "100.00", deudaAct: "1800.00", pctDeudaAct: "100.00",
		cobertura: "50.00", contacto: "35.00", cd: "25.00", ci: "10.00", sc: "15.00", // 10/20, 7/20, 5/20, 2/20, 3/20
		cierre: "15.00", inten: "1.30", // 3/20, 13/10
		cdN: 5, ciN: 2, scN: 3, sgN: 10, pdpN: 2,
		recupero: "50.00", pctRecupero: "2.50", // 50/2000
		conversion: "40.00", efectividad: "20.00", // 2/5, 2/10
		gestionables: 18, gestionadas: 10, pagadoras: 3, totalGestiones: 13}

	tests := []struct {
		name         string
		parse        func() (analytics.DashboardParams, error)
		want         wantDashboard
		includeTotal bool
	}{
		{"defaults cartera x servicio with total (GET)", get("include_total=true"),
			wantDashboard{segmento: []wantRow{altasNuevas714, temprana714, total714}, negocio: []wantRow{fija714, movil714, total714}}, true},
		{"defaults with total (POST)", post(`{"includeTotal":true}`),
			wantDashboard{segmento: []wantRow{altasNuevas714, temprana714, total714}, negocio: []wantRow{fija714, movil714, total714}}, true},
		{"negocio alias, servicio first, no total", get("dimensions=negocio,cartera"),
			wantDashboard{segmento: []wantRow{fija714, movil714}, negocio: []wantRow{altasNuevas714, temprana714}}, false},
		{"archivo, periodo without dates", get("periodo=2025-06&dimensions=archivo"),
			wantDashboard{segmento: []wantRow{archivoB, archivoA}, negocio: []wantRow{}}, false},
		{"archivo, periodo without dates (POST)", post(`{"filters":{"periodo":["2025-06"]},"dimensions":["archivo"]}`),
			wantDashboard{segmento: []wantRow{archivoB, archivoA}, negocio: []wantRow{}}, false},
		{"fechaCorte selects the earlier snapshot, periodo x cartera", post(`{"fechaCorte":"2025-07-11","dimensions":["periodo","cartera"]}`),
			wantDashboard{segmento: []wantRow{periodo06, periodo07}, negocio: []wantRow{carteraAN710, carteraTE710}}, false},
		// fechaCorte equal to a snapshot day selects that day (latest fecha_foto ≤ fechaCorte).
		{"fechaCorte on a snapshot day", get("fecha_corte=2025-07-10&dimensions=periodo,cartera"),
			wantDashboard{segmento: []wantRow{periodo06, periodo07}, negocio: []wantRow{carteraAN710, carteraTE710}}, false},
		// An open campaign's window ends at fechaCorte (07-10), not at today or aux fin:
		// A [06-02, 07-10] and C [07-01, 07-10] miss [07-12, 07-14].
		{"open window ends at fechaCorte", get("fecha_corte=2025-07-10&fecha_inicio=2025-07-12&fecha_fin=2025-07-14"),
			wantDashboard{segmento: []wantRow{}, negocio: []wantRow{}}, false},
		{"servicio filter", get("servicio=fija"),
			wantDashboard{segmento: []wantRow{temprFija}, negocio: []wantRow{fijaOnly}}, false},
		{"periodo alias with dates resolves against fechaCorte", get("periodo=ACTUAL&fecha_inicio=2025-06-20&fecha_fin=2025-06-30&dimensions=servicio&include_total=1"),
			wantDashboard{segmento: []wantRow{fija627, movil627, total627}, negocio: []wantRow{}}, true},
		{"cartera filter", get("cartera=altas_nuevas&dimensions=cartera"),
			wantDashboard{segmento: []wantRow{func() wantRow {
				w := altasNuevas714 // alone in its table: every share is 100
				w.pctCuentas, w.pctDeuda, w.pctDeudaAct = "100.00", "100.00", "100.00"
				return w
			}()}, negocio: []wantRow{}}, false},
		{"no match → empty arrays, no total row", get("archivo=NO_EXISTE&include_total=true"),
			wantDashboard{segmento: []wantRow{}, negocio: []wantRow{}}, true},
		{"campaign without a snapshot ≤ fechaCorte is absent", get("fecha_corte=2025-05-29&fecha_inicio=2025-05-01"),
			wantDashboard{segmento: []wantRow{}, negocio: []wantRow{}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.parse()
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := ReadDashboard(t.Context(), tx, p, dashHolidays)
			if err != nil {
				t.Fatalf("ReadDashboard: %v", err)
			}
			assertDashboard(t, got, tc.want, tc.includeTotal)
		})
	}

	t.Run("empty result marshals as empty arrays", func(t *testing.T) {
		p, err := analytics.ParseDashboardQuery(url.Values{"archivo": {"NO_EXISTE"}}, dashToday)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadDashboard(t.Context(), tx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := jsonText(t, got); s != `{"segmentoData":[],"negocioData":[],"integralChartData":[]}` {
			t.Errorf("empty dashboard = %s", s)
		}
	})

	t.Run("closed campaign window uses fecha_cierre, open uses fechaCorte", func(t *testing.T) {
		// Window [06-28, 06-30]: B closed 06-27 does not overlap; A (open, window up to
		// fechaCorte 06-30) does, with its 06-27 snapshot (the latest ≤ 06-30).
		p, err := analytics.ParseDashboardQuery(url.Values{"fecha_inicio": {"2025-06-28"}, "fecha_fin": {"2025-06-30"},
			"dimensions": {"archivo"}}, dashToday)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadDashboard(t.Context(), tx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.SegmentoData) != 1 || got.SegmentoData[0].Name != dashCampA || got.SegmentoData[0].Cuentas != 10 {
			t.Fatalf("segmentoData = %+v, want only %s with its 06-27 row (10 cuentas)", got.SegmentoData, dashCampA)
		}
	})
}

func TestReadFilters(t *testing.T) {
	tx := pgtest.Tx(t)
	seedDashboard(t, tx)
	got, err := ReadFilters(t.Context(), tx)
	if err != nil {
		t.Fatal(err)
	}
	// periodos: every campaign's, newest first (E's 2025-04 included although it has no
	// rows); archivos: campaigns with rows, newest apertura first (C 07-01, B 06-03,
	// A 06-02, D 05-05; E has none); fecha_foto spans 05-30 .. 07-14.
	want := `{"cartera":[{"value":"TODAS","label":"Todas"},{"value":"TEMPRANA","label":"Temprana"},` +
		`{"value":"CUOTA_FRACCIONAMIENTO","label":"Cuota Fraccionamiento"},{"value":"ALTAS_NUEVAS","label":"Altas Nuevas"},` +
		`{"value":"OTRAS","label":"Otras"}],` +
		`"servicio":[{"value":"TODOS","label":"Todos"},{"value":"MOVIL","label":"Móvil"},{"value":"FIJA","label":"Fija"}],` +
		`"periodo":[{"value":"ACTUAL","label":"Mes actual"},{"value":"ANTERIOR","label":"Mes anterior"},` +
		`{"value":"ULTIMO_MES","label":"Último mes"},{"value":"ULTIMOS_3_MESES","label":"Últimos 3 meses"},` +
		`{"value":"2025-07","label":"Julio 2025"},{"value":"2025-06","label":"Junio 2025"},` +
		`{"value":"2025-05","label":"Mayo 2025"},{"value":"2025-04","label":"Abril 2025"}],` +
		`"archivo":[{"value":"CAMP_AN_0701","label":"CAMP_AN_0701"},{"value":"CAMP_CF_ANN_0603","label":"CAMP_CF_ANN_0603"},` +
		`{"value":"CAMP_TEMPRANA_0602","label":"CAMP_TEMPRANA_0602"},{"value":"CAMP_OTRAS_0505","label":"CAMP_OTRAS_0505"}],` +
		`"fechaMin":"2025-05-30","fechaMax":"2025-07-14"}`
	if s := jsonText(t, got); s != want {
		t.Errorf("filters =\n%s\nwant\n%s", s, want)
	}

	carteras, err := ReadEvolutionCarteras(t.Context(), tx)
	if err != nil {
		t.Fatal(err)
	}
	// E (OTRAS) has no rows but D (OTRAS) does.
	if want := []string{"ALTAS_NUEVAS", "CUOTA_FRACCIONAMIENTO", "OTRAS", "TEMPRANA"}; !slices.Equal(carteras, want) {
		t.Errorf("evolution carteras = %v, want %v", carteras, want)
	}

	t.Run("empty", func(t *testing.T) {
		for _, q := range []string{`DELETE FROM mart.dashboard_data`, `DELETE FROM aux.campana`} {
			if _, err := tx.Exec(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadFilters(t.Context(), tx)
		if err != nil {
			t.Fatal(err)
		}
		s := jsonText(t, got)
		if !strings.Contains(s, `"archivo":[],"fechaMin":null,"fechaMax":null}`) ||
			!strings.Contains(s, `{"value":"ULTIMOS_3_MESES","label":"Últimos 3 meses"}],"archivo"`) {
			t.Errorf("empty filters = %s: want only the aliases, archivo [] and null dates", s)
		}
		carteras, err := ReadEvolutionCarteras(t.Context(), tx)
		if err != nil {
			t.Fatal(err)
		}
		if carteras == nil || len(carteras) != 0 || jsonText(t, carteras) != "[]" {
			t.Errorf("empty evolution carteras = %#v, want []", carteras)
		}
	})
}

func TestReadEvolution(t *testing.T) {
	tx := pgtest.Tx(t)
	seedDashboard(t, tx)

	get := func(q string) func() (analytics.EvolutionParams, error) {
		return func() (analytics.EvolutionParams, error) {
			v, err := url.ParseQuery(q)
			if err != nil {
				return analytics.EvolutionParams{}, err
			}
			return analytics.ParseEvolutionQuery(v, dashToday)
		}
	}
	post := func(body string) func() (analytics.EvolutionParams, error) {
		return func() (analytics.EvolutionParams, error) {
			return analytics.ParseEvolutionBody([]byte(body), dashToday)
		}
	}
	tests := []struct {
		name  string
		parse func() (analytics.EvolutionParams, error)
		want  string
	}{
		// TODAS over 06-26..07-14, metrics in the requested order. Days with rows: 06-26
		// (day 1), 06-27 (day 2), 07-10 (day 15 = 14 days after 06-26, +1), 07-14 (day 19);
		// 06-28..07-09 and 07-11..07-13 have none and are omitted; D's 05-30 is outside.
		//   06-26: B MOVIL: cuentas 8, cd+ci 2+1=3, gestionadas 4, gestiones 5, recupero 10.00
		//          contacto 3/8 = 37.50, intensidad 5/4 = 1.25
		//   06-27: A MOVIL + B MOVIL + B FIJA: cuentas 10+8+2=20, cd+ci 3+4+0=7,
		//          gestionadas 4+5+1=10, gestiones 5+7+1=13, recupero 30+20+0=50.00
		//          contacto 7/20 = 35.00, intensidad 13/10 = 1.30
		//   07-10: A MOVIL + A FIJA + C MOVIL: cuentas 10+5+3=18, cd+ci 5+0+2=7,
		//          gestionadas 6+0+3=9, gestiones 12+0+6=18, recupero 100+0+50=150.00
		//          contacto 7/18 = 38.89, intensidad 18/9 = 2.00
		//   07-14: cuentas 12+6+4=22, cd+ci 6+1+2=9, gestionadas 7+1+3=11, gestiones 15+1+7=23,
		//          recupero 150.25+0+50=200.25; contacto 9/22 = 40.91, intensidad 23/11 = 2.09
		{"TODAS, metric order, omitted days", get("fecha_inicio=2025-06-26&fecha_fin=2025-07-14&metrics=contacto,recupero,intensidad"),
			`[{"metric":"contacto","valueType":"percent","series":[{"name":"TODAS","data":[` +
				`{"day":1,"date":"2025-06-26","value":37.50},{"day":2,"date":"2025-06-27","value":35.00},` +
				`{"day":15,"date":"2025-07-10","value":38.89},{"day":19,"date":"2025-07-14","value":40.91}]}]},` +
				`{"metric":"recupero","valueType":"currency","series":[{"name":"TODAS","data":[` +
				`{"day":1,"date":"2025-06-26","value":10.00},{"day":2,"date":"2025-06-27","value":50.00},` +
				`{"day":15,"date":"2025-07-10","value":150.00},{"day":19,"date":"2025-07-14","value":200.25}]}]},` +
				`{"metric":"intensidad","valueType":"number","series":[{"name":"TODAS","data":[` +
				`{"day":1,"date":"2025-06-26","value":1.25},{"day":2,"date":"2025-06-27","value":1.30},` +
				`{"day":15,"date":"2025-07-10","value":2.00},{"day":19,"date":"2025-07-14","value":2.09}]}]}]`},
		// POST defaults to dimension cartera; servicio MOVIL over 06-27..07-10; series by name.
		//   ALTAS_NUEVAS: 07-10 (day 14) C MOVIL pagadoras 1/3 = 33.33
		//   CUOTA_FRACCIONAMIENTO: 06-27 (day 1) B MOVIL 2/8 = 25.00
		//   TEMPRANA: 06-27 A MOVIL 1/10 = 10.00; 07-10 (day 14) A MOVIL 2/10 = 20.00
		{"cartera series (POST default dimension), servicio filter", post(`{"filters":{"servicio":["MOVIL"]},"fechaInicio":"2025-06-27","fechaFin":"2025-07-10","includeMetrics":["cierre"]}`),
			`[{"metric":"cierre","valueType":"percent","series":[` +
				`{"name":"ALTAS_NUEVAS","data":[{"day":14,"date":"2025-07-10","value":33.33}]},` +
				`{"name":"CUOTA_FRACCIONAMIENTO","data":[{"day":1,"date":"2025-06-27","value":25.00}]},` +
				`{"name":"TEMPRANA","data":[{"day":1,"date":"2025-06-27","value":10.00},{"day":14,"date":"2025-07-10","value":20.00}]}]}]`},
		// periodo series over 07-10..07-14:
		//   2025-06 (A, MOVIL+FIJA): 07-10 recupero 100/asig 1500 = 6.67; 07-14 150.25/1800 = 8.35 (day 5)
		//   2025-07 (C): 07-10 50/300 = 16.67; 07-14 50/400 = 12.50
		{"periodo series", get("fecha_inicio=2025-07-10&fecha_fin=2025-07-14&metrics=pctRecupero&dimension=periodo"),
			`[{"metric":"pctRecupero","valueType":"percent","series":[` +
				`{"name":"2025-06","data":[{"day":1,"date":"2025-07-10","value":6.67},{"day":5,"date":"2025-07-14","value":8.35}]},` +
				`{"name":"2025-07","data":[{"day":1,"date":"2025-07-10","value":16.67},{"day":5,"date":"2025-07-14","value":12.50}]}]}]`},
		// servicio series on 06-27 only: FIJA = B FIJA, conversion pdp 0 / cd 0 → 0 (zero
		// denominator); MOVIL = A + B MOVIL, pdp 0+2 / cd 2+3 = 2/5 = 40.00.
		{"servicio series, zero denominator", get("fecha_inicio=2025-06-27&fecha_fin=2025-06-27&metrics=conversion&dimension=negocio"),
			`[{"metric":"conversion","valueType":"percent","series":[` +
				`{"name":"FIJA","data":[{"day":1,"date":"2025-06-27","value":0.00}]},` +
				`{"name":"MOVIL","data":[{"day":1,"date":"2025-06-27","value":40.00}]}]}]`},
		// archivo series on 07-14, carteras TEMPRANA and ALTAS_NUEVAS:
		//   CAMP_AN_0701 (C): cd 2/4 = 50.00; CAMP_TEMPRANA_0602 (A): cd (4+0)/(12+6) = 22.22
		{"archivo series, cartera filter", get("fecha_inicio=2025-07-14&fecha_fin=2025-07-14&metrics=cd&dimension=archivo&cartera=temprana,ALTAS_NUEVAS"),
			`[{"metric":"cd","valueType":"percent","series":[` +
				`{"name":"CAMP_AN_0701","data":[{"day":1,"date":"2025-07-14","value":50.00}]},` +
				`{"name":"CAMP_TEMPRANA_0602","data":[{"day":1,"date":"2025-07-14","value":22.22}]}]}]`},
		// archivo filter, GET defaults: fecha_fin today 07-15, fecha_inicio 07-15 − 29 = 06-16,
		// so 06-26 is day 11 and 06-27 day 12 (B's only days); metrics cobertura, contacto,
		// cd, ci, cierre, recupero.
		//   06-26: cuentas 8, gestionadas 4 → 50.00; cd+ci 3 → 37.50; cd 2 → 25.00; ci 1 → 12.50;
		//          pagadoras 1 → 12.50; recupero 10.00
		//   06-27: MOVIL+FIJA cuentas 10, gestionadas 6 → 60.00; cd+ci 4 → 40.00; cd 3 → 30.00;
		//          ci 1 → 10.00; pagadoras 2 → 20.00; recupero 20.00
		{"GET defaults, archivo filter", get("archivo=" + dashCampB),
			`[{"metric":"cobertura","valueType":"percent","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":50.00},{"day":12,"date":"2025-06-27","value":60.00}]}]},` +
				`{"metric":"contacto","valueType":"percent","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":37.50},{"day":12,"date":"2025-06-27","value":40.00}]}]},` +
				`{"metric":"cd","valueType":"percent","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":25.00},{"day":12,"date":"2025-06-27","value":30.00}]}]},` +
				`{"metric":"ci","valueType":"percent","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":12.50},{"day":12,"date":"2025-06-27","value":10.00}]}]},` +
				`{"metric":"cierre","valueType":"percent","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":12.50},{"day":12,"date":"2025-06-27","value":20.00}]}]},` +
				`{"metric":"recupero","valueType":"currency","series":[{"name":"TODAS","data":[{"day":11,"date":"2025-06-26","value":10.00},{"day":12,"date":"2025-06-27","value":20.00}]}]}]`},
		{"empty range, none: one empty TODAS series", get("fecha_inicio=2024-01-01&fecha_fin=2024-01-31&metrics=cobertura"),
			`[{"metric":"cobertura","valueType":"percent","series":[{"name":"TODAS","data":[]}]}]`},
		{"empty range, cartera: no series", post(`{"fechaInicio":"2024-01-01","fechaFin":"2024-01-31","includeMetrics":["sc"]}`),
			`[{"metric":"sc","valueType":"percent","series":[]}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.parse()
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := ReadEvolution(t.Context(), tx, p)
			if err != nil {
				t.Fatalf("ReadEvolution: %v", err)
			}
			if s := jsonText(t, got); s != tc.want {
				t.Errorf("evolution =\n%s\nwant\n%s", s, tc.want)
			}
		})
	}
}
