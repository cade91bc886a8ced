package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Readers of the dashboard family (api.md §3.1–§3.3) over mart.dashboard_data and
// aux.campana. Each is one query with bound parameters (filter lists as text[],
// NULL = no filter); counters come back summed, money as exact cents (NUMERIC(15,2)
// × 100 is integral), and every KPI is computed in Go by package analytics.

// dashboardRowCols and dashboardSumCols are the counter columns in
// analytics.Counters order, of one row or summed over a group; money as cents.
const (
	dashboardRowCols = `
	d.cuentas::bigint, d.cuentas_gestionables::bigint,
	(d.deuda_asig * 100)::bigint, (d.deuda_act * 100)::bigint,
	d.cuentas_gestionadas::bigint, d.total_gestiones::bigint,
	d.gestiones_bot::bigint, d.gestiones_call::bigint,
	d.cuentas_cd::bigint, d.cuentas_ci::bigint, d.cuentas_sc::bigint,
	d.cuentas_sg::bigint, d.cuentas_pdp::bigint, d.cuentas_pagadoras::bigint,
	(d.recupero * 100)::bigint`
	dashboardSumCols = `
	sum(d.cuentas)::bigint, sum(d.cuentas_gestionables)::bigint,
	(sum(d.deuda_asig) * 100)::bigint, (sum(d.deuda_act) * 100)::bigint,
	sum(d.cuentas_gestionadas)::bigint, sum(d.total_gestiones)::bigint,
	sum(d.gestiones_bot)::bigint, sum(d.gestiones_call)::bigint,
	sum(d.cuentas_cd)::bigint, sum(d.cuentas_ci)::bigint, sum(d.cuentas_sc)::bigint,
	sum(d.cuentas_sg)::bigint, sum(d.cuentas_pdp)::bigint, sum(d.cuentas_pagadoras)::bigint,
	(sum(d.recupero) * 100)::bigint`
)

func dashboardCounterDests(c *analytics.Counters) []any {
	return []any{&c.Cuentas, &c.CuentasGestionables, &c.DeudaAsig, &c.DeudaAct,
		&c.CuentasGestionadas, &c.TotalGestiones, &c.GestionesBot, &c.GestionesCall,
		&c.CuentasCD, &c.CuentasCI, &c.CuentasSC, &c.CuentasSG, &c.CuentasPDP, &c.CuentasPagadoras, &c.Recupero}
}

// dashboardSQL is steps (1)–(3) of api.md §3.1, one query: the campaigns matching
// cartera ($2), archivo ($3), periodo ($4) and, unless $5 is NULL, whose window
// [apertura, COALESCE(fecha_cierre, fechaCorte)] overlaps [$5, $6]; each one's
// snapshot = its latest fecha_foto ≤ fechaCorte ($1) (an index-only max over
// (archivo, fecha_foto); none → the campaign is absent); the dashboard_data rows of
// that day, filtered by servicio ($7). At most two rows per campaign come back (one
// per servicio), so grouping by the dimensions happens in Go.
const dashboardSQL = `
SELECT d.archivo, d.cartera, d.servicio, c.periodo, c.fecha_apertura, c.fecha_cierre, d.fecha_foto,
	` + dashboardRowCols + `
FROM aux.campana c
CROSS JOIN LATERAL (
	SELECT max(x.fecha_foto) AS fecha_foto
	FROM mart.dashboard_data x
	WHERE x.archivo = c.archivo AND x.fecha_foto <= $1::date
) s
JOIN mart.dashboard_data d ON d.archivo = c.archivo AND d.fecha_foto = s.fecha_foto
WHERE ($2::text[] IS NULL OR c.cartera = ANY($2::text[]))
  AND ($3::text[] IS NULL OR c.archivo = ANY($3::text[]))
  AND ($4::text[] IS NULL OR c.periodo = ANY($4::text[]))
  AND ($5::date IS NULL OR (c.fecha_apertura <= $6::date AND COALESCE(c.fecha_cierre, $1::date) >= $5::date))
  AND ($7::text[] IS NULL OR d.servicio = ANY($7::text[]))
ORDER BY d.archivo, d.servicio`

// ReadDashboard answers the dashboard (api.md §3.1) for normalised params; holidays
// are the non-business days for diasHabiles.
func ReadDashboard(ctx context.Context, tx pgx.Tx, p analytics.DashboardParams, holidays []etl.Date) (analytics.Dashboard, error) {
	var inicio, fin pgtype.Date
	if p.HasWindow() {
		inicio, fin = date(p.FechaInicio), date(p.FechaFin)
	}
	rows, err := tx.Query(ctx, dashboardSQL, date(p.FechaCorte), dashFilter(p.Carteras), dashFilter(p.Archivos),
		dashFilter(analytics.MonthStrings(p.Periodos)), inicio, fin, dashFilter(p.Servicios))
	if err != nil {
		return analytics.Dashboard{}, fmt.Errorf("read dashboard: %w", err)
	}
	var out []analytics.SnapshotRow
	for rows.Next() {
		var r analytics.SnapshotRow
		var apertura, cierre, foto pgtype.Date
		dest := append([]any{&r.Archivo, &r.Cartera, &r.Servicio, &r.Periodo, &apertura, &cierre, &foto},
			dashboardCounterDests(&r.Counters)...)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return analytics.Dashboard{}, fmt.Errorf("read dashboard: %w", err)
		}
		r.Apertura, r.Cierre, r.Snapshot = fromPG(apertura), fromPG(cierre), fromPG(foto)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return analytics.Dashboard{}, fmt.Errorf("read dashboard: %w", err)
	}
	return analytics.BuildDashboard(p, out, holidays), nil
}

// filtersSQL gathers every list of /filters in one round trip: the range of built
// days, the distinct campaign periodos (newest first) and the campaigns that have
// dashboard rows (newest apertura first, then archivo).
const filtersSQL = `
SELECT (SELECT min(fecha_foto) FROM mart.dashboard_data),
       (SELECT max(fecha_foto) FROM mart.dashboard_data),
       ARRAY(SELECT DISTINCT periodo FROM aux.campana ORDER BY periodo DESC),
       ARRAY(SELECT c.archivo FROM aux.campana c
             WHERE EXISTS (SELECT 1 FROM mart.dashboard_data d WHERE d.archivo = c.archivo)
             ORDER BY c.fecha_apertura DESC, c.archivo COLLATE "C")`

// ReadFilters answers /filters' data (api.md §3.2).
func ReadFilters(ctx context.Context, tx pgx.Tx) (analytics.Filters, error) {
	var fmin, fmax pgtype.Date
	var periodos, archivos []string
	if err := tx.QueryRow(ctx, filtersSQL).Scan(&fmin, &fmax, &periodos, &archivos); err != nil {
		return analytics.Filters{}, fmt.Errorf("read filters: %w", err)
	}
	return analytics.BuildFilters(periodos, archivos, fromPG(fmin), fromPG(fmax)), nil
}

// evolutionSQL sums the counters of every dashboard row per (fecha_foto, dimension
// value) in [$1, $2] matching the filters; the dimension ($3) picks the grouping
// value with a CASE over a bound parameter ('none' → TODAS), so the statement never
// changes. The primary key (fecha_foto, …) serves the date range.
const evolutionSQL = `
SELECT d.fecha_foto,
	CASE $3::text
		WHEN 'cartera' THEN d.cartera
		WHEN 'servicio' THEN d.servicio
		WHEN 'archivo' THEN d.archivo
		WHEN 'periodo' THEN c.periodo
		ELSE 'TODAS'
	END AS k,
	` + dashboardSumCols + `
FROM mart.dashboard_data d
JOIN aux.campana c ON c.archivo = d.archivo
WHERE d.fecha_foto BETWEEN $1::date AND $2::date
  AND ($4::text[] IS NULL OR d.cartera = ANY($4::text[]))
  AND ($5::text[] IS NULL OR d.servicio = ANY($5::text[]))
  AND ($6::text[] IS NULL OR d.archivo = ANY($6::text[]))
GROUP BY 1, 2
ORDER BY 2, 1`

// ReadEvolution answers /evolution (api.md §3.3) for normalised params.
func ReadEvolution(ctx context.Context, tx pgx.Tx, p analytics.EvolutionParams) ([]analytics.EvolutionMetric, error) {
	rows, err := tx.Query(ctx, evolutionSQL, date(p.FechaInicio), date(p.FechaFin), p.Dimension,
		dashFilter(p.Carteras), dashFilter(p.Servicios), dashFilter(p.Archivos))
	if err != nil {
		return nil, fmt.Errorf("read evolution: %w", err)
	}
	var out []analytics.EvolutionRow
	for rows.Next() {
		var r analytics.EvolutionRow
		var foto pgtype.Date
		if err := rows.Scan(append([]any{&foto, &r.Key}, dashboardCounterDests(&r.Counters)...)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read evolution: %w", err)
		}
		r.Date = fromPG(foto)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read evolution: %w", err)
	}
	return analytics.BuildEvolution(p, out), nil
}

// ReadEvolutionCarteras lists the distinct carteras that have dashboard rows, sorted
// (GET /evolution/carteras); never nil.
func ReadEvolutionCarteras(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var out []string
	if err := tx.QueryRow(ctx,
		`SELECT ARRAY(SELECT DISTINCT cartera COLLATE "C" FROM mart.dashboard_data ORDER BY 1)`).Scan(&out); err != nil {
		return nil, fmt.Errorf("read evolution carteras: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// dashFilter binds a filter list: nil or empty is SQL NULL (no filter).
func dashFilter(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}
