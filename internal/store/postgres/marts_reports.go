package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Readers of the assignment, operation and productivity reports (api.md §3.4–§3.6)
// over mart.assignment_data / assignment_clientes, the three operation marts and
// mart.productivity_data. Each endpoint is at most two round trips: a database-
// derived default day ("latest") when the request left it open, then one pgx.Batch
// of a few set-based queries. Parameters are always bound; filter lists travel as
// text[] (NULL = no filter); counters come back summed, money as exact cents
// (NUMERIC(15,2) × 100 is integral); the KPI math is package analytics'.
//
// Filters on the operation and productivity marts, which are keyed by archivo: a
// cartera list selects the archivos of aux.campana with that cartera, an archivo
// list selects archivos directly (both: AND).

// The filter on alias o / p with the cartera list at $2 / $3 and the archivo list at
// $3 / $4 (the statements are constants: only values are bound, nothing is templated).
const (
	rptFilterO23 = `
  AND ($2::text[] IS NULL OR o.archivo IN (SELECT k.archivo FROM aux.campana k WHERE k.cartera = ANY($2::text[])))
  AND ($3::text[] IS NULL OR o.archivo = ANY($3::text[]))`
	rptFilterP23 = `
  AND ($2::text[] IS NULL OR p.archivo IN (SELECT k.archivo FROM aux.campana k WHERE k.cartera = ANY($2::text[])))
  AND ($3::text[] IS NULL OR p.archivo = ANY($3::text[]))`
	rptFilterO34 = `
  AND ($3::text[] IS NULL OR o.archivo IN (SELECT k.archivo FROM aux.campana k WHERE k.cartera = ANY($3::text[])))
  AND ($4::text[] IS NULL OR o.archivo = ANY($4::text[]))`
	rptFilterP34 = `
  AND ($3::text[] IS NULL OR p.archivo IN (SELECT k.archivo FROM aux.campana k WHERE k.cartera = ANY($3::text[])))
  AND ($4::text[] IS NULL OR p.archivo = ANY($4::text[]))`
)

// rptList binds a filter list: nil or empty is SQL NULL (no filter).
func rptList(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

// rptSet binds a filter list as the sorted set mart.assignment_clientes is keyed
// by: the empty array (never NULL) means no filter there.
func rptSet(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// ---------------------------------------------------------------------------
// Assignment

// assignmentSQL sums cuentas and saldo per (periodo, cartera) of the two periods
// ($1) under the cartera ($2) and servicio ($3) filters.
const assignmentSQL = `
SELECT a.periodo, a.cartera, sum(a.cuentas)::bigint, (sum(a.deuda_asig) * 100)::bigint
FROM mart.assignment_data a
WHERE a.periodo = ANY($1::text[])
  AND ($2::text[] IS NULL OR a.cartera = ANY($2::text[]))
  AND ($3::text[] IS NULL OR a.servicio = ANY($3::text[]))
GROUP BY a.periodo, a.cartera`

// assignmentClientesSQL reads the materialised distinct-client counts of the two
// periods ($1) for the servicio set ($3): the row of the whole cartera set ($2) and
// the single-cartera rows. Sets are sorted arrays; '{}' = no filter.
const assignmentClientesSQL = `
SELECT c.periodo, c.carteras, c.clientes::bigint
FROM mart.assignment_clientes c
WHERE c.periodo = ANY($1::text[]) AND c.servicios = $3::text[]
  AND (c.carteras = $2::text[] OR cardinality(c.carteras) = 1)`

// reportMetaSQL is the data version and the last successful transform (the newest
// finished transform step, named schema.table in the ledger).
const reportMetaSQL = `
SELECT (SELECT version FROM etl.data_version),
       (SELECT max(finished_at) FROM etl.run_table WHERE status = 'success' AND step LIKE '%.%')`

// ReadAssignment answers GET /assignment (api.md §3.4).
func ReadAssignment(ctx context.Context, tx pgx.Tx, p analytics.AssignmentParams) (analytics.Assignment, error) {
	cur, prev := p.Periodo.String(), p.PeriodoAnterior.String()
	periodos := []string{cur, prev}
	in := analytics.AssignmentInput{ByCartera: map[string]analytics.AssignmentPair{}}
	// pick returns the counters of a period inside a pair (cur first: the two
	// periods may be equal).
	pick := func(pair *analytics.AssignmentPair, periodo string) []*analytics.AssignmentCounts {
		var out []*analytics.AssignmentCounts
		if periodo == cur {
			out = append(out, &pair.Current)
		}
		if periodo == prev {
			out = append(out, &pair.Previous)
		}
		return out
	}
	var totals analytics.AssignmentPair
	clientes := map[[2]string]int64{} // (periodo, single cartera or "" for the filter set)
	b := &pgx.Batch{}
	b.Queue(assignmentSQL, periodos, rptList(p.Cartera), rptList(p.Servicio)).Query(func(rows pgx.Rows) error {
		var periodo, cartera string
		var cuentas, cents int64
		_, err := pgx.ForEachRow(rows, []any{&periodo, &cartera, &cuentas, &cents}, func() error {
			pair := in.ByCartera[cartera]
			for _, c := range pick(&pair, periodo) {
				c.Cuentas, c.SaldoCents = cuentas, cents
			}
			in.ByCartera[cartera] = pair
			for _, c := range pick(&totals, periodo) {
				c.Cuentas += cuentas
				c.SaldoCents += cents
			}
			return nil
		})
		return err
	})
	filterSet := rptSet(p.Cartera)
	b.Queue(assignmentClientesSQL, periodos, filterSet, rptSet(p.Servicio)).Query(func(rows pgx.Rows) error {
		var periodo string
		var carteras []string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&periodo, &carteras, &n}, func() error {
			if equalSets(carteras, filterSet) {
				clientes[[2]string{periodo, ""}] = n
			}
			if len(carteras) == 1 {
				clientes[[2]string{periodo, carteras[0]}] = n
			}
			return nil
		})
		return err
	})
	var lastRefresh pgtype.Timestamptz
	b.Queue(reportMetaSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&in.DataVersion, &lastRefresh) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return analytics.Assignment{}, fmt.Errorf("read assignment: %w", err)
	}
	if lastRefresh.Valid {
		t := lastRefresh.Time
		in.LastRefresh = &t
	}
	totals.Current.Clientes = clientes[[2]string{cur, ""}]
	totals.Previous.Clientes = clientes[[2]string{prev, ""}]
	in.Current, in.Previous = totals.Current, totals.Previous
	for name, pair := range in.ByCartera {
		pair.Current.Clientes = clientes[[2]string{cur, name}]
		pair.Previous.Clientes = clientes[[2]string{prev, name}]
		in.ByCartera[name] = pair
	}
	return analytics.NewAssignment(p, in), nil
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// assignmentSummarySQL: the period's totals without filters, its number of
// carteras, and its distinct clients (the no-filter row, '{}' × '{}').
const assignmentSummarySQL = `
SELECT COALESCE(sum(a.cuentas), 0)::bigint, COALESCE(sum(a.deuda_asig) * 100, 0)::bigint,
       count(DISTINCT a.cartera)::bigint,
       COALESCE((SELECT c.clientes FROM mart.assignment_clientes c
                 WHERE c.periodo = $1::text AND c.carteras = '{}' AND c.servicios = '{}'), 0)::bigint
FROM mart.assignment_data a
WHERE a.periodo = $1::text`

// ReadAssignmentSummary answers GET /assignment/summary.
func ReadAssignmentSummary(ctx context.Context, tx pgx.Tx, p analytics.AssignmentSummaryParams) (analytics.AssignmentSummary, error) {
	var c analytics.AssignmentCounts
	var carteras int64
	if err := tx.QueryRow(ctx, assignmentSummarySQL, p.Periodo.String()).
		Scan(&c.Cuentas, &c.SaldoCents, &carteras, &c.Clientes); err != nil {
		return analytics.AssignmentSummary{}, fmt.Errorf("read assignment summary: %w", err)
	}
	return analytics.NewAssignmentSummary(p, c, int(carteras)), nil
}

// ---------------------------------------------------------------------------
// Operation

// operationLatestSQL is the latest fecha_foto ≤ today ($1) matching the filters.
const operationLatestSQL = `
SELECT max(o.fecha_foto) FROM mart.operation_data o
WHERE o.fecha_foto <= $1::date` + rptFilterO23

// The day's sums: per canal (kpis and channels), per hour, per attempt bucket and
// per queue (calls desc, then name in byte order, at most $4). $1 day, $2
// carteras, $3 archivos.
const (
	operationCanalSQL = `
SELECT o.canal, sum(o.total_gestiones)::bigint, sum(o.contactos_efectivos)::bigint,
       sum(o.contactos_indirectos)::bigint, sum(o.total_pdp)::bigint,
       sum(o.clientes_nuevos)::bigint, sum(o.cuentas_nuevas)::bigint
FROM mart.operation_data o
WHERE o.fecha_foto = $1::date` + rptFilterO23 + `
GROUP BY o.canal`
	operationHourSQL = `
SELECT o.hora::int, sum(o.total_gestiones)::bigint, sum(o.contactos_efectivos)::bigint, sum(o.total_pdp)::bigint
FROM mart.operation_data o
WHERE o.fecha_foto = $1::date` + rptFilterO23 + `
GROUP BY o.hora
ORDER BY o.hora`
	operationAttemptSQL = `
SELECT o.intento::int, sum(o.total_gestiones)::bigint, sum(o.contactos_efectivos)::bigint, sum(o.total_pdp)::bigint
FROM mart.operation_attempt_data o
WHERE o.fecha_foto = $1::date` + rptFilterO23 + `
GROUP BY o.intento
ORDER BY o.intento`
	operationQueueSQL = `
SELECT o.cola, sum(o.total_gestiones)::bigint, sum(o.contactos_efectivos)::bigint, sum(o.total_pdp)::bigint
FROM mart.operation_queue_data o
WHERE o.fecha_foto = $1::date` + rptFilterO23 + `
GROUP BY o.cola
ORDER BY 2 DESC, o.cola COLLATE "C"
LIMIT $4::int`
)

// ReadOperation answers /operation (api.md §3.5); the sections p leaves off are not
// read and come back as [] (the kpis and channels views read only the canal sums).
func ReadOperation(ctx context.Context, tx pgx.Tx, p analytics.OperationParams) (analytics.Operation, error) {
	carteras, archivos := rptList(p.Cartera), rptList(p.Archivo)
	var latest etl.Date
	if p.Date.IsZero() {
		var d pgtype.Date
		if err := tx.QueryRow(ctx, operationLatestSQL, date(p.Today), carteras, archivos).Scan(&d); err != nil {
			return analytics.Operation{}, fmt.Errorf("read operation: latest day: %w", err)
		}
		latest = fromPG(d)
	}
	in := analytics.OperationInput{Date: p.Day(latest), ByCanal: map[string]analytics.OperationCounts{}}
	args := []any{date(in.Date), carteras, archivos}
	b := &pgx.Batch{}
	b.Queue(operationCanalSQL, args...).Query(func(rows pgx.Rows) error {
		var canal string
		var c analytics.OperationCounts
		_, err := pgx.ForEachRow(rows, []any{&canal, &c.Calls, &c.CD, &c.CI, &c.PDP, &c.Clientes, &c.Cuentas}, func() error {
			in.ByCanal[canal] = c
			return nil
		})
		return err
	})
	if p.Hourly {
		b.Queue(operationHourSQL, args...).Query(func(rows pgx.Rows) error {
			var h analytics.HourCounts
			_, err := pgx.ForEachRow(rows, []any{&h.Hour, &h.Calls, &h.CD, &h.PDP}, func() error {
				in.Hourly = append(in.Hourly, h)
				return nil
			})
			return err
		})
	}
	if p.Attempts {
		b.Queue(operationAttemptSQL, args...).Query(func(rows pgx.Rows) error {
			var a analytics.AttemptCounts
			_, err := pgx.ForEachRow(rows, []any{&a.Attempt, &a.Calls, &a.CD, &a.PDP}, func() error {
				in.Attempts = append(in.Attempts, a)
				return nil
			})
			return err
		})
	}
	if p.Queues {
		b.Queue(operationQueueSQL, args[0], args[1], args[2], analytics.MaxQueues).Query(func(rows pgx.Rows) error {
			var q analytics.QueueCounts
			_, err := pgx.ForEachRow(rows, []any{&q.Name, &q.Calls, &q.CD, &q.PDP}, func() error {
				in.Queues = append(in.Queues, q)
				return nil
			})
			return err
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return analytics.Operation{}, fmt.Errorf("read operation %s: %w", in.Date, err)
	}
	return analytics.NewOperation(in), nil
}

// ---------------------------------------------------------------------------
// Productivity

// productivityLatestSQL is the data version and, when $1 (today) is not NULL, the
// latest fecha_foto ≤ $1 in mart.productivity_data matching the filters.
const productivityLatestSQL = `
SELECT (SELECT version FROM etl.data_version),
       (SELECT max(p.fecha_foto) FROM mart.productivity_data p
        WHERE $1::date IS NOT NULL AND p.fecha_foto <= $1::date` + rptFilterP23 + `)`

// productivityAgentDaySQL sums each agent's rows per day in [$1, $2] under the
// filters and the agent ($5: its correo, case-insensitively, or a dni it carries in
// the range). Plain sums hash-aggregate; names come from productivityAgentNameSQL.
const productivityAgentDaySQL = `
SELECT p.correo_agente, p.fecha_foto,
       sum(p.total_gestiones)::bigint, sum(p.contactos_efectivos)::bigint, sum(p.total_pdp)::bigint,
       (sum(p.monto_recuperado) * 100)::bigint
FROM mart.productivity_data p
WHERE p.fecha_foto BETWEEN $1::date AND $2::date` + rptFilterP34 + `
  AND ($5::text IS NULL
       OR p.correo_agente = lower($5::text)
       OR p.correo_agente IN (SELECT x.correo_agente FROM mart.productivity_data x
                              WHERE x.fecha_foto BETWEEN $1::date AND $2::date AND x.dni_agente = $5::text))
GROUP BY p.correo_agente, p.fecha_foto`

// productivityAgentNameSQL is each agent's name and dni in [$1, $2] under the
// filters: those of its latest day, from that day's first archivo (byte order).
const productivityAgentNameSQL = `
SELECT DISTINCT ON (p.correo_agente COLLATE "C") p.correo_agente, p.nombre_agente, p.dni_agente
FROM mart.productivity_data p
WHERE p.fecha_foto BETWEEN $1::date AND $2::date` + rptFilterP34 + `
ORDER BY p.correo_agente COLLATE "C", p.fecha_foto DESC, p.archivo COLLATE "C"`

// productivityHourSQL is CALL_CENTER operation_data per hour over [$1, $2].
const productivityHourSQL = `
SELECT o.hora::int, sum(o.total_gestiones)::bigint, sum(o.total_pdp)::bigint
FROM mart.operation_data o
WHERE o.canal = 'CALL_CENTER' AND o.fecha_foto BETWEEN $1::date AND $2::date` + rptFilterO34 + `
GROUP BY o.hora
ORDER BY o.hora`

// ReadProductivity answers /productivity (api.md §3.6). A range that the resolved
// latest day makes invalid (an explicit fecha_inicio after it, or too long) is an
// *analytics.ValidationError.
func ReadProductivity(ctx context.Context, tx pgx.Tx, p analytics.ProductivityParams) (analytics.Productivity, error) {
	carteras, archivos := rptList(p.Cartera), rptList(p.Archivo)
	var in analytics.ProductivityInput
	var today pgtype.Date
	if p.FechaFin.IsZero() {
		today = date(p.Today)
	}
	var latest pgtype.Date
	if err := tx.QueryRow(ctx, productivityLatestSQL, today, carteras, archivos).Scan(&in.DataVersion, &latest); err != nil {
		return analytics.Productivity{}, fmt.Errorf("read productivity: latest day: %w", err)
	}
	from, to, err := p.Range(fromPG(latest))
	if err != nil {
		return analytics.Productivity{}, err
	}
	in.From, in.To = from, to
	var agente any
	if p.Agente != "" {
		agente = p.Agente
	}
	b := &pgx.Batch{}
	b.Queue(productivityAgentDaySQL, date(from), date(to), carteras, archivos, agente).Query(func(rows pgx.Rows) error {
		var r analytics.AgentDayCounts
		var d pgtype.Date
		_, err := pgx.ForEachRow(rows, []any{&r.Correo, &d, &r.Calls, &r.CD, &r.PDP, &r.RecoveredCents}, func() error {
			r.Date = fromPG(d)
			in.AgentDays = append(in.AgentDays, r)
			return nil
		})
		return err
	})
	type identity struct{ name, dni string }
	names := map[string]identity{}
	b.Queue(productivityAgentNameSQL, date(from), date(to), carteras, archivos).Query(func(rows pgx.Rows) error {
		var correo string
		var id identity
		_, err := pgx.ForEachRow(rows, []any{&correo, &id.name, &id.dni}, func() error {
			names[correo] = id
			return nil
		})
		return err
	})
	if p.Agente == "" {
		b.Queue(productivityHourSQL, date(from), date(to), carteras, archivos).Query(func(rows pgx.Rows) error {
			var h analytics.HourCounts
			_, err := pgx.ForEachRow(rows, []any{&h.Hour, &h.Calls, &h.PDP}, func() error {
				in.Hourly = append(in.Hourly, h)
				return nil
			})
			return err
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return analytics.Productivity{}, fmt.Errorf("read productivity %s..%s: %w", from, to, err)
	}
	for i := range in.AgentDays {
		id := names[in.AgentDays[i].Correo]
		in.AgentDays[i].Name, in.AgentDays[i].DNI = id.name, id.dni
	}
	return analytics.NewProductivity(p, in), nil
}

// agentLatestSQL is the latest fecha_foto ≤ $1 of any agent (the detail's default end).
const agentLatestSQL = `SELECT max(fecha_foto) FROM mart.productivity_data WHERE fecha_foto <= $1::date`

// The agent ($1, lower-case correo) over [$2, $3]: its name and dni (its latest row
// in the range, else its latest row at all; none: unknown agent), its days, and its
// archivos. The index (correo_agente, fecha_foto) serves all three.
const (
	agentIdentitySQL = `
SELECT p.nombre_agente, p.dni_agente
FROM mart.productivity_data p
WHERE p.correo_agente = $1::text
ORDER BY (p.fecha_foto BETWEEN $2::date AND $3::date) DESC, p.fecha_foto DESC, p.archivo COLLATE "C"
LIMIT 1`
	agentDaySQL = `
SELECT p.fecha_foto, sum(p.total_gestiones)::bigint, sum(p.contactos_efectivos)::bigint,
       sum(p.total_pdp)::bigint, (sum(p.monto_recuperado) * 100)::bigint
FROM mart.productivity_data p
WHERE p.correo_agente = $1::text AND p.fecha_foto BETWEEN $2::date AND $3::date
GROUP BY p.fecha_foto`
	agentArchivoSQL = `
SELECT p.archivo, sum(p.total_gestiones)::bigint, sum(p.total_pdp)::bigint, (sum(p.monto_recuperado) * 100)::bigint
FROM mart.productivity_data p
WHERE p.correo_agente = $1::text AND p.fecha_foto BETWEEN $2::date AND $3::date
GROUP BY p.archivo`
)

// ReadAgent answers GET /productivity/agents/{agent_id}; ErrNotFound when the agent
// has no productivity rows at all (an agent idle in the range gets zeros).
func ReadAgent(ctx context.Context, tx pgx.Tx, p analytics.AgentParams) (analytics.AgentDetail, error) {
	var latest etl.Date
	if p.FechaFin.IsZero() {
		var d pgtype.Date
		if err := tx.QueryRow(ctx, agentLatestSQL, date(p.Today)).Scan(&d); err != nil {
			return analytics.AgentDetail{}, fmt.Errorf("read agent: latest day: %w", err)
		}
		latest = fromPG(d)
	}
	from, to, err := p.Range(latest)
	if err != nil {
		return analytics.AgentDetail{}, err
	}
	in := analytics.AgentInput{Correo: p.Agent, From: from, To: to}
	found := false
	args := []any{p.Agent, date(from), date(to)}
	b := &pgx.Batch{}
	b.Queue(agentIdentitySQL, args...).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&in.Name, &in.DNI)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	b.Queue(agentDaySQL, args...).Query(func(rows pgx.Rows) error {
		r := analytics.AgentDayCounts{Correo: p.Agent}
		var d pgtype.Date
		_, err := pgx.ForEachRow(rows, []any{&d, &r.Calls, &r.CD, &r.PDP, &r.RecoveredCents}, func() error {
			r.Date = fromPG(d)
			in.Days = append(in.Days, r)
			return nil
		})
		return err
	})
	b.Queue(agentArchivoSQL, args...).Query(func(rows pgx.Rows) error {
		var a analytics.AgentArchivoCounts
		_, err := pgx.ForEachRow(rows, []any{&a.Archivo, &a.Calls, &a.PDP, &a.RecoveredCents}, func() error {
			in.ByArchivo = append(in.ByArchivo, a)
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return analytics.AgentDetail{}, fmt.Errorf("read agent %s: %w", p.Agent, err)
	}
	if !found {
		return analytics.AgentDetail{}, fmt.Errorf("agent %q: %w", p.Agent, ErrNotFound)
	}
	return analytics.NewAgentDetail(in), nil
}
