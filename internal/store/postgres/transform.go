package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// transformSQL reads one embedded transform statement.
func transformSQL(name string) (string, error) {
	b, err := fs.ReadFile(pulsosql.Transform, "transform/"+name+".sql")
	if err != nil {
		return "", fmt.Errorf("transform statement %s: %w", name, err)
	}
	return string(b), nil
}

// Transform rebuilds the aux and mart slices the pending changes (and the options)
// call for, in one transaction: aux.campana, the aux slices in domain.md §4 order, the
// marts, etl.campaign_build, the consumed pending changes and, when some slice was
// rebuilt, the data version and its NOTIFY. Each step's ledger row is written
// `running` in its own transaction first and completed inside the data transaction;
// on failure the rows are marked failed (or cancelled) after the rollback.
func (s *Store) Transform(ctx context.Context, opts etl.TransformOptions) (res etl.TransformResult, err error) {
	if err := opts.Validate(); err != nil {
		return res, err
	}
	start := time.Now()
	t := &transformer{s: s, opts: opts, log: opts.Logger}
	defer func() {
		if err != nil {
			t.failSteps(ctx, err)
		}
	}()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("transform: %w", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("transform: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	t.tx = tx
	// The builds hash and sort whole days of gestiones and snapshots at once; JIT
	// compilation costs more than it saves on these one-off statements.
	for _, set := range []string{`SET LOCAL work_mem = '512MB'`, `SET LOCAL maintenance_work_mem = '512MB'`,
		`SET LOCAL jit = off`} {
		if _, err := tx.Exec(ctx, set); err != nil {
			return res, fmt.Errorf("transform: %w", err)
		}
	}
	var lost bool
	if err := t.queryRow(ctx, "q_aux_lost", nil, &lost); err != nil {
		return res, err
	}
	if lost && !opts.Full {
		msg := "the unlogged aux tables were emptied (a PostgreSQL crash, or a restore without their data): rebuilding in full"
		t.log.Warn(msg)
		res.Warnings = append(res.Warnings, msg)
		opts.Full = true
		t.opts = opts
	}
	// A transform usually follows a load that autovacuum has not analyzed yet (or
	// never will: it may be off); stale raw statistics turn the big joins into nested
	// loops and the day-slice filters into full scans.
	stale := etl.MustRegistry().Names() // a full rebuild reads every raw table
	if !opts.Full {
		if stale, err = t.names(ctx, "q_raw_stale"); err != nil {
			return res, err
		}
	}
	for _, tbl := range stale {
		if _, err := tx.Exec(ctx, "ANALYZE "+pgx.Identifier{"raw", tbl}.Sanitize()); err != nil {
			return res, fmt.Errorf("transform: analyze raw.%s: %w", tbl, err)
		}
	}
	var summarized int64
	if err := t.queryRow(ctx, "q_raw_brin_summarize", nil, &summarized); err != nil {
		return res, err
	}
	t.log.Debug("raw statistics refreshed", "analyzed", stale, "brin_ranges_summarized", summarized)
	if err := t.run(ctx, &res); err != nil {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("transform: commit: %w", err)
	}
	t.stepIDs = nil
	res.Steps = t.steps
	res.Duration = time.Since(start)
	return res, nil
}

// AuxLost reports that the unlogged aux tables were emptied after earlier builds
// (q_aux_lost): the next transform rebuilds in full.
func (s *Store) AuxLost(ctx context.Context) (bool, error) {
	q, err := transformSQL("q_aux_lost")
	if err != nil {
		return false, err
	}
	var lost bool
	if err := s.pool.QueryRow(ctx, q).Scan(&lost); err != nil {
		return false, fmt.Errorf("aux tables: %w", err)
	}
	return lost, nil
}

type transformer struct {
	s       *Store
	opts    etl.TransformOptions
	log     *slog.Logger
	tx      pgx.Tx
	maxID   int64 // the last pending change this run consumes
	steps   []etl.TransformStep
	stepIDs []int64 // ledger rows written `running`, not yet completed in tx
}

func (t *transformer) run(ctx context.Context, res *etl.TransformResult) error {
	o := t.opts
	if err := t.queryRow(ctx, "q_pending_max_id", nil, &t.maxID); err != nil {
		return err
	}
	maxID := t.maxID
	changes, n, err := t.pendingChanges(ctx, maxID)
	if err != nil {
		return err
	}
	res.Changes = n
	old, built, builtAsOf, err := t.campaigns(ctx)
	if err != nil {
		return err
	}

	// aux.campana, rebuilt whole every run: the comparison with the old rows finds
	// the changed campaigns.
	if err := t.step(ctx, "aux.campana", stepSlice{}, []stmt{
		{"010_aux_campana_delete", nil}, {"011_aux_campana_insert", []any{date(o.Today)}}}); err != nil {
		return err
	}
	cur, _, _, err := t.campaigns(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, c := range cur {
		known[c.Archivo] = true
	}
	for _, a := range o.Archivos {
		if !known[a] {
			return fmt.Errorf("transform: --archivo %q: %w (not in calendario)", a, etl.ErrUnknownArchivo)
		}
	}
	in := etl.PlanInput{Opts: o, Old: old, New: cur, Built: built, BuiltAsOf: builtAsOf, Changes: changes}
	if days := etl.TrandeudaDays(o, changes); len(days) > 0 && !o.Full {
		if in.TrandeudaPagoDays, err = t.dates(ctx, "q_pago_days_for_trandeuda", []any{dates(days)}); err != nil {
			return err
		}
	}
	if !o.Full {
		if in.TodayPagoDays, err = t.dates(ctx, "q_pago_days_for_today", []any{date(o.Today)}); err != nil {
			return err
		}
	}
	plan := etl.PlanTransform(in)
	res.Plan = plan

	var filtered int64
	if plan.Full || len(plan.Unmatched) > 0 {
		filtered, err = t.unmatched(ctx, plan, res)
		if err != nil {
			return err
		}
	}
	if err := t.execPlan(ctx, &plan, filtered); err != nil {
		return err
	}
	res.Plan = plan
	if !plan.Empty() {
		if _, err := t.exec(ctx, "900_etl_campaign_build_delete", nil); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "901_etl_campaign_build_insert", []any{date(o.Today)}); err != nil {
			return err
		}
		reason := "transform"
		if o.Full {
			reason = "transform --full-rebuild"
		}
		if err := t.queryRow(ctx, "910_etl_data_version_bump", []any{o.RunID, reason}, &res.DataVersion); err != nil {
			return err
		}
		if _, err := t.exec(ctx, "911_etl_data_version_notify", []any{res.DataVersion}); err != nil {
			return err
		}
		res.Rebuilt = true
	} else if err := t.tx.QueryRow(ctx, `SELECT version FROM etl.data_version`).Scan(&res.DataVersion); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	if maxID > 0 {
		if _, err := t.exec(ctx, "q_pending_consume", []any{o.RunID, maxID}); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, "920_aux_intact_mark", nil)
	return err
}

// execPlan runs the aux and mart steps in dependency order. The dashboard starts of
// p are lowered where rebuilt accounts moved (movedAccounts).
func (t *transformer) execPlan(ctx context.Context, p *etl.TransformPlan, filtered int64) error {
	o := t.opts
	today := date(o.Today)
	all := p.Full

	snap := daysSlice(all, p.SnapDays)
	if err := t.step(ctx, "aux.deuda_snapshot", snap, []stmt{
		{"020_aux_deuda_snapshot_delete", []any{all, dates(p.SnapDays)}},
		{"021_aux_deuda_snapshot_insert", []any{all, dates(p.SnapDays), firstDay(p.SnapDays), lastDay(p.SnapDays)}},
	}); err != nil {
		return err
	}
	asig := campaignSlice(all, p.AsigCampaigns)
	asig.filtered = filtered
	diff := !all && len(p.AsigCampaigns) > 0
	if diff {
		if _, err := t.exec(ctx, "q_asignacion_before", []any{p.AsigCampaigns}); err != nil {
			return err
		}
	}
	if err := t.step(ctx, "aux.asignacion_cuenta", asig, []stmt{
		{"030_aux_asignacion_cuenta_delete", []any{all, p.AsigCampaigns}},
		{"031_aux_asignacion_cuenta_insert", []any{all, p.AsigCampaigns}},
	}); err != nil {
		return err
	}
	if diff {
		if err := t.movedAccounts(ctx, p); err != nil {
			return err
		}
	}
	gest := daysSlice(p.GestAll, p.GestDays)
	var tsFrom, tsTo any
	if len(p.GestDays) > 0 {
		tsFrom, tsTo = p.GestDays[0].Start(), p.GestDays[len(p.GestDays)-1].AddDays(1).Start()
	}
	gs, err := t.gestionesSlice(ctx, p)
	if err != nil {
		return err
	}
	if err := t.step(ctx, "aux.gestiones_unificadas", gest, []stmt{
		{"040_aux_gestiones_unificadas_delete", []any{p.GestAll, gs.days, gs.clientDays, gs.clients, gs.canales, gs.uids}},
		{"041_aux_gestiones_unificadas_insert", []any{p.GestAll, gs.days, tsFrom, tsTo, gs.clientDays, gs.clients,
			gs.canales, gs.uids}},
	}); err != nil {
		return err
	}
	if err := t.step(ctx, "aux.gestion_cuenta", gest, []stmt{
		{"050_aux_gestion_cuenta_delete", []any{p.GestAll, gs.days, gs.canales, gs.uids}},
		{"051_aux_gestion_cuenta_insert", []any{p.GestAll, gs.days, gs.canales, gs.uids}},
	}); err != nil {
		return err
	}
	if err := t.step(ctx, "aux.pago_dedup", daysSlice(all, p.PagoDedupDays), []stmt{
		{"060_aux_pago_dedup_delete", []any{all, dates(p.PagoDedupDays)}},
		{"061_aux_pago_dedup_insert", []any{all, dates(p.PagoDedupDays), today, o.MaxPagosDocDia}},
	}); err != nil {
		return err
	}
	if err := t.step(ctx, "aux.pago_campana", daysSlice(all, p.PagoCampanaDays), []stmt{
		{"070_aux_pago_campana_delete", []any{all, dates(p.PagoCampanaDays)}},
		{"071_aux_pago_campana_insert", []any{all, dates(p.PagoCampanaDays)}},
	}); err != nil {
		return err
	}

	archivos := make([]string, len(p.Dashboard))
	froms := make([]pgtype.Date, len(p.Dashboard))
	dash := stepSlice{all: all}
	for i, c := range p.Dashboard {
		archivos[i], froms[i] = c.Archivo, date(c.From)
		dash.archivos = append(dash.archivos, c.Archivo)
		if dash.from.IsZero() || c.From.Before(dash.from) {
			dash.from = c.From
		}
	}
	if len(p.Dashboard) > 0 {
		dash.to = o.Today
	}
	dash.run = all || len(p.Dashboard) > 0
	if err := t.step(ctx, "mart.dashboard_data", dash, []stmt{
		{"080_mart_dashboard_data_delete", []any{all, archivos, froms}},
		{"081_mart_dashboard_data_insert", []any{archivos, froms, today}},
	}); err != nil {
		return err
	}

	assign := campaignSlice(all, p.AssignmentCampaigns)
	periodos, err := t.periodos(ctx, all, p.AssignmentCampaigns)
	if err != nil {
		return err
	}
	if err := t.step(ctx, "mart.assignment_data", assign, []stmt{
		{"090_mart_assignment_data_delete", []any{all, p.AssignmentCampaigns}},
		{"091_mart_assignment_data_insert", []any{all, p.AssignmentCampaigns, today}},
	}); err != nil {
		return err
	}
	if !all && assign.run {
		more, err := t.periodos(ctx, false, p.AssignmentCampaigns)
		if err != nil {
			return err
		}
		periodos = union(periodos, more)
	}
	cli := stepSlice{all: all, run: all || len(periodos) > 0, archivos: periodos}
	if err := t.step(ctx, "mart.assignment_clientes", cli, []stmt{
		{"092_mart_assignment_clientes_delete", []any{all, periodos}},
		{"093_mart_assignment_clientes_insert", []any{all, periodos}},
	}); err != nil {
		return err
	}

	for _, m := range []struct{ step, del, ins string }{
		{"mart.operation_data", "100_mart_operation_data_delete", "101_mart_operation_data_insert"},
		{"mart.operation_attempt_data", "102_mart_operation_attempt_data_delete", "103_mart_operation_attempt_data_insert"},
		{"mart.operation_queue_data", "104_mart_operation_queue_data_delete", "105_mart_operation_queue_data_insert"},
	} {
		if err := t.step(ctx, m.step, gest, []stmt{
			{m.del, []any{p.GestAll, dates(p.GestDays)}},
			{m.ins, []any{p.GestAll, dates(p.GestDays)}},
		}); err != nil {
			return err
		}
	}
	return t.step(ctx, "mart.productivity_data", daysSlice(p.ProdAll, p.ProdDays), []stmt{
		{"110_mart_productivity_data_delete", []any{p.ProdAll, dates(p.ProdDays)}},
		{"111_mart_productivity_data_insert", []any{p.ProdAll, dates(p.ProdDays), o.PDPRecoveryDays}},
	})
}

// gestSlice is what the aux gestiones tables rebuild: whole days, client days and
// single gestiones.
type gestSlice struct {
	days          []pgtype.Date
	clientDays    []pgtype.Date
	clients       []string
	canales, uids []string
}

// maxNarrowGestiones bounds the changed gestiones rebuilt one by one; beyond it (a
// backfill, a first load) their days are rebuilt whole, which is cheaper.
const maxNarrowGestiones = 200_000

// gestionesSlice turns the plan's gestiones days into the aux slice: on a narrow day
// (only gestiones rows changed there) the changed gestiones (q_gestiones_changed) and
// every gestión of their clients that day, before and after the change (intento
// numbers a client's gestiones of a day); the other days whole.
func (t *transformer) gestionesSlice(ctx context.Context, p *etl.TransformPlan) (gestSlice, error) {
	whole := gestSlice{days: dates(p.GestDays)} // never nil: "not one of these days" must be true for none
	if p.GestAll || len(p.GestNarrow) == 0 {
		return whole, nil
	}
	narrow := map[string]bool{}
	for _, d := range p.GestNarrow {
		narrow[d.String()] = true
	}
	rows, err := t.query(ctx, "q_gestiones_changed", []any{t.maxID, p.GestDays[0].Start(),
		p.GestDays[len(p.GestDays)-1].AddDays(1).Start()})
	if err != nil {
		return whole, err
	}
	s := gestSlice{days: []pgtype.Date{}}
	seen := map[string]bool{}
	addClientDay := func(day pgtype.Date, client *string) {
		if !day.Valid || client == nil || !narrow[fromPG(day).String()] {
			return
		}
		k := fromPG(day).String() + "\x00" + *client
		if !seen[k] {
			seen[k] = true
			s.clientDays, s.clients = append(s.clientDays, day), append(s.clients, *client)
		}
	}
	var canal, uid string
	var day, oldDay pgtype.Date
	var client, oldClient *string
	_, err = pgx.ForEachRow(rows, []any{&canal, &uid, &day, &client, &oldDay, &oldClient}, func() error {
		s.canales, s.uids = append(s.canales, canal), append(s.uids, uid)
		addClientDay(day, client)
		addClientDay(oldDay, oldClient)
		return nil
	})
	if err != nil {
		return whole, fmt.Errorf("q_gestiones_changed: %w", err)
	}
	if len(s.uids) > maxNarrowGestiones {
		return whole, nil
	}
	for _, d := range p.GestDays {
		if !narrow[d.String()] {
			s.days = append(s.days, date(d))
		}
	}
	return s, nil
}

// movedAccounts lowers each rebuilt campaign's dashboard start to the first day one of
// its accounts' rows changed (q_asignacion_moved): the dashboard is rebuilt from the
// stored row of the day before its start, so no changed account may count earlier.
func (t *transformer) movedAccounts(ctx context.Context, p *etl.TransformPlan) error {
	rows, err := t.query(ctx, "q_asignacion_moved", []any{p.AsigCampaigns})
	if err != nil {
		return err
	}
	var archivo string
	var day pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&archivo, &day}, func() error {
		p.StartDashboard(archivo, fromPG(day))
		return nil
	})
	if err != nil {
		return fmt.Errorf("q_asignacion_moved: %w", err)
	}
	return nil
}

// stepSlice is what a step rebuilds: everything, some days or some campaigns.
type stepSlice struct {
	run      bool
	all      bool
	from, to etl.Date
	archivos []string
	filtered int64
}

func daysSlice(all bool, days []etl.Date) stepSlice {
	s := stepSlice{all: all, run: all || len(days) > 0}
	if len(days) > 0 {
		s.from, s.to = days[0], days[len(days)-1]
	}
	return s
}

func campaignSlice(all bool, archivos []string) stepSlice {
	return stepSlice{all: all, run: all || len(archivos) > 0, archivos: archivos}
}

type stmt struct {
	name string
	args []any
}

// bulkAux are the aux tables only the transform reads (the API reads aux.campana and
// the marts) and later steps join on. Emptied whole, they are truncated inside the
// transaction instead of deleted row by row, which would leave millions of dead rows
// and double their indexes for the insert that follows; their indexes are dropped
// with the rows and rebuilt after the insert (one sorted build per index). After a
// large rewrite (more than half the table) their statistics are refreshed inside the
// transaction (ANALYZE sees its own rows) so the next statements are planned for the
// new contents; a day's slice leaves them as they were, as sampling a large table
// costs more than the rest of such a step.
var bulkAux = map[string]bool{
	"aux.deuda_snapshot": true, "aux.asignacion_cuenta": true, "aux.gestiones_unificadas": true,
	"aux.gestion_cuenta": true, "aux.pago_dedup": true, "aux.pago_campana": true,
}

// step runs one table's delete and insert and records its ledger row.
func (t *transformer) step(ctx context.Context, name string, sl stepSlice, stmts []stmt) error {
	if name == "aux.campana" {
		sl.run, sl.all = true, true
	}
	rec := etl.TransformStep{Step: name, Status: etl.StatusSkipped, DayFrom: sl.from, DayTo: sl.to, Archivos: sl.archivos}
	if !sl.run {
		t.steps = append(t.steps, rec)
		return t.s.skipTransformStep(ctx, t.opts.RunID, rec)
	}
	rec.Status = etl.StatusSuccess
	rec.Filtered = sl.filtered
	id, err := t.s.startTransformStep(ctx, t.opts.RunID, rec)
	if err != nil {
		return err
	}
	t.stepIDs = append(t.stepIDs, id)
	begin := time.Now()
	var rebuild []string
	for i, st := range stmts {
		var n int64
		var err error
		if i == 0 && sl.all && bulkAux[name] {
			n, rebuild, err = t.truncate(ctx, name)
		} else {
			n, err = t.exec(ctx, st.name, st.args)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, namedViolation(err))
		}
		if i == 0 {
			rec.Deleted = n
		} else {
			rec.Inserted += n
		}
	}
	for _, q := range rebuild {
		if _, err := t.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: rebuild index: %w", name, err)
		}
	}
	if bulkAux[name] {
		var rows float64
		if err := t.tx.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, name).Scan(&rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if changed := float64(rec.Deleted + rec.Inserted); changed > 1000 && (sl.all || rows < 0 || changed > rows/2) {
			if _, err := t.tx.Exec(ctx, "ANALYZE "+name); err != nil {
				return fmt.Errorf("%s: analyze: %w", name, err)
			}
		}
	}
	rec.Duration = time.Since(begin)
	t.log.Info("transform step", "step", name, "deleted", rec.Deleted, "inserted", rec.Inserted,
		"duration_ms", rec.Duration.Milliseconds())
	if _, err := t.tx.Exec(ctx, `
		UPDATE etl.run_table SET status = $5, finished_at = clock_timestamp(), rows_deleted = $2, rows_inserted = $3,
		       rows_filtered = $4
		WHERE id = $1`, id, rec.Deleted, rec.Inserted, rec.Filtered, etl.StatusSuccess); err != nil {
		return fmt.Errorf("%s: ledger: %w", name, err)
	}
	t.steps = append(t.steps, rec)
	return nil
}

// namedViolation names the campaign and day of a dashboard row that broke a
// constraint (PostgreSQL's detail holds the failing row, fecha_foto and archivo
// first) and what repairs it: the transaction rolled back, so the pending changes
// that planned it are still there.
func namedViolation(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.TableName != "dashboard_data" || !strings.HasPrefix(pe.Code, "23") {
		return err
	}
	row, ok := strings.CutPrefix(pe.Detail, "Failing row contains (")
	fields := strings.SplitN(row, ", ", 3)
	if !ok || len(fields) < 3 {
		return err
	}
	return fmt.Errorf("campaign %s, day %s: %w (nothing was written and the pending changes are kept; "+
		"`pulso transform --archivo %s` rebuilds the campaign whole)", fields[1], fields[0], err, fields[1])
}

// truncate empties table and drops its indexes (constraints included), returning the
// row count and the statements that recreate them as the catalog defines them.
func (t *transformer) truncate(ctx context.Context, table string) (n int64, rebuild []string, err error) {
	if err := t.tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		return 0, nil, err
	}
	if _, err := t.tx.Exec(ctx, "TRUNCATE "+table); err != nil {
		return 0, nil, err
	}
	rows, err := t.tx.Query(ctx, `
		SELECT CASE WHEN c.oid IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass)
		            ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', $1::text, c.conname) END,
		       CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
		            ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', $1::text, c.conname, pg_get_constraintdef(c.oid)) END
		FROM pg_index i
		LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
		WHERE i.indrelid = $1::regclass
		ORDER BY i.indisprimary DESC, i.indexrelid`, table)
	if err != nil {
		return 0, nil, err
	}
	var drops []string
	for rows.Next() {
		var drop, create string
		if err := rows.Scan(&drop, &create); err != nil {
			return 0, nil, err
		}
		drops, rebuild = append(drops, drop), append(rebuild, create)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	for _, q := range drops {
		if _, err := t.tx.Exec(ctx, q); err != nil {
			return 0, nil, err
		}
	}
	return n, rebuild, nil
}

// hashOnly lists the statements planned with sorts and nested loops disabled: their
// slice parameters (unnest of the campaign arrays) make the planner expect a handful
// of rows, so it sorts and groups millions of text keys where a hash aggregate takes a
// fraction of the time, and loops over an index per client where one hash join reads
// the table once. What the plan cannot do otherwise (the running-sum window, the
// lateral per-day lookups) still runs.
var hashOnly = map[string]bool{"041_aux_gestiones_unificadas_insert": true, "081_mart_dashboard_data_insert": true}

func (t *transformer) exec(ctx context.Context, name string, args []any) (int64, error) {
	q, err := transformSQL(name)
	if err != nil {
		return 0, err
	}
	if hashOnly[name] {
		if _, err := t.tx.Exec(ctx, `SET LOCAL enable_sort = off; SET LOCAL enable_nestloop = off`); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	}
	tag, err := t.tx.Exec(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if hashOnly[name] {
		if _, err := t.tx.Exec(ctx, `SET LOCAL enable_sort = on; SET LOCAL enable_nestloop = on`); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	}
	return tag.RowsAffected(), nil
}

func (t *transformer) queryRow(ctx context.Context, name string, args []any, dst ...any) error {
	q, err := transformSQL(name)
	if err != nil {
		return err
	}
	if err := t.tx.QueryRow(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...).Scan(dst...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (t *transformer) query(ctx context.Context, name string, args []any) (pgx.Rows, error) {
	q, err := transformSQL(name)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

func (t *transformer) pendingChanges(ctx context.Context, maxID int64) ([]etl.Change, int64, error) {
	rows, err := t.query(ctx, "q_pending_changes", []any{maxID})
	if err != nil {
		return nil, 0, err
	}
	var out []etl.Change
	var total int64
	var table string
	var archivo *string
	var day pgtype.Date
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&table, &archivo, &day, &n}, func() error {
		c := etl.Change{Table: table}
		if archivo != nil {
			c.Archivo = *archivo
		}
		if day.Valid {
			c.Day = fromPG(day)
		}
		out = append(out, c)
		total += n
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("pending changes: %w", err)
	}
	return out, total, nil
}

// campaigns reads aux.campana and etl.campaign_build: the campaigns, their last built
// days and the today of those builds (only where known).
func (t *transformer) campaigns(ctx context.Context) (out []etl.Campaign, built, builtAsOf map[string]etl.Date, err error) {
	rows, err := t.query(ctx, "q_campaigns", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var c etl.Campaign
	var apertura, fin, trandeuda, lastBuilt, periodoEnd pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&c.Archivo, &apertura, &fin, &trandeuda, &c.AttrHash, &lastBuilt, &periodoEnd}, func() error {
		c.Apertura, c.Fin, c.FechaTrandeuda, c.PeriodoEnd = fromPG(apertura), fromPG(fin), fromPG(trandeuda), fromPG(periodoEnd)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("campaigns: %w", err)
	}
	built, builtAsOf = map[string]etl.Date{}, map[string]etl.Date{}
	rows, err = t.query(ctx, "q_campaign_build", nil)
	if err != nil {
		return nil, nil, nil, err
	}
	var archivo, hash string
	var asOf pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&archivo, &lastBuilt, &hash, &asOf}, func() error {
		built[archivo] = fromPG(lastBuilt)
		if asOf.Valid {
			builtAsOf[archivo] = fromPG(asOf)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("campaign build: %w", err)
	}
	return out, built, builtAsOf, nil
}

func (t *transformer) names(ctx context.Context, name string) ([]string, error) {
	rows, err := t.query(ctx, name, nil)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func (t *transformer) dates(ctx context.Context, name string, args []any) ([]etl.Date, error) {
	rows, err := t.query(ctx, name, args)
	if err != nil {
		return nil, err
	}
	var out []etl.Date
	var d pgtype.Date
	_, err = pgx.ForEachRow(rows, []any{&d}, func() error {
		out = append(out, fromPG(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// unmatched finds the asignaciones archivos matching no campaign, warns naming them
// and returns how many raw rows they hold (the step's rows_filtered).
func (t *transformer) unmatched(ctx context.Context, p etl.TransformPlan, res *etl.TransformResult) (int64, error) {
	rows, err := t.query(ctx, "q_unmatched_asignaciones", []any{p.Full, p.Unmatched})
	if err != nil {
		return 0, err
	}
	var names []string
	var total int64
	var archivo string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&archivo, &n}, func() error {
		names = append(names, fmt.Sprintf("%s (%d rows)", archivo, n))
		total += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unmatched asignaciones: %w", err)
	}
	if len(names) > 0 {
		msg := "asignaciones rows matching no calendario campaign skipped: " + strings.Join(names, ", ")
		res.Warnings = append(res.Warnings, msg)
		t.log.Warn(msg)
	}
	return total, nil
}

// periodos lists the assignment periodos of the campaigns (all when all).
func (t *transformer) periodos(ctx context.Context, all bool, archivos []string) ([]string, error) {
	if all || len(archivos) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT periodo FROM mart.assignment_data WHERE archivo = ANY ($1::text[]) ORDER BY 1`,
		archivos)
	if err != nil {
		return nil, fmt.Errorf("assignment periodos: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("assignment periodos: %w", err)
	}
	return out, nil
}

// failSteps closes the ledger rows of a rolled-back transform.
func (t *transformer) failSteps(ctx context.Context, cause error) {
	status := etl.StatusFailed
	if errors.Is(cause, context.Canceled) || ctx.Err() != nil {
		status = etl.StatusCancelled
	}
	for _, id := range t.stepIDs {
		t.s.failStep(ctx, id, status, cause)
	}
}

// startTransformStep writes a transform step's ledger row `running`, in its own
// transaction, so a killed run leaves a trace the next run marks abandoned. Like
// startStep, it never leaves a committed row the caller has no id for.
func (s *Store) startTransformStep(ctx context.Context, runID int64, rec etl.TransformStep) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", rec.Step, err)
	}
	var id int64
	err := s.pool.QueryRow(context.WithoutCancel(ctx), `
		INSERT INTO etl.run_table (run_id, step, status, day_from, day_to, archivos)
		VALUES ($1, $2, $6, $3, $4, $5) RETURNING id`,
		runID, rec.Step, dateArg(rec.DayFrom), dateArg(rec.DayTo), nilIfEmpty(rec.Archivos), etl.StatusRunning).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger step %s: %w", rec.Step, err)
	}
	return id, nil
}

// skipTransformStep records a step whose table no change reached.
func (s *Store) skipTransformStep(ctx context.Context, runID int64, rec etl.TransformStep) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO etl.run_table (run_id, step, status, skip_reason, finished_at)
		VALUES ($1, $2, $3, $4, now())`, runID, rec.Step, etl.StatusSkipped, etl.SkipNothingChanged)
	if err != nil {
		return fmt.Errorf("ledger step %s: %w", rec.Step, err)
	}
	return nil
}

func nilIfEmpty(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range slices.Concat(a, b) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// date converts a day to a pgtype.Date (NULL when zero).
func date(d etl.Date) pgtype.Date {
	if d.IsZero() {
		return pgtype.Date{}
	}
	t := d.Start()
	return pgtype.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

func dates(ds []etl.Date) []pgtype.Date {
	out := make([]pgtype.Date, len(ds))
	for i, d := range ds {
		out[i] = date(d)
	}
	return out
}

func firstDay(ds []etl.Date) pgtype.Date {
	if len(ds) == 0 {
		return pgtype.Date{}
	}
	return date(ds[0])
}

func lastDay(ds []etl.Date) pgtype.Date {
	if len(ds) == 0 {
		return pgtype.Date{}
	}
	return date(ds[len(ds)-1])
}

func fromPG(d pgtype.Date) etl.Date {
	if !d.Valid {
		return etl.Date{}
	}
	return etl.NewDate(d.Time.Year(), d.Time.Month(), d.Time.Day())
}
