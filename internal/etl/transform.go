package etl

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
)

// TransformOptions configure one transform run (domain.md §6).
type TransformOptions struct {
	RunID int64
	// Today is the Lima date at run start, or --as-of.
	Today Date
	// Full rebuilds every aux and mart table (--full-rebuild).
	Full bool
	// Archivos are rebuilt whole, as if their calendario rows had changed (--archivo).
	Archivos []string
	// From and To (inclusive Lima days, both or neither) rebuild those days of every
	// day-sliced table and the campaigns whose window meets them (--from --to).
	From, To Date
	TransformConfig
	Logger *slog.Logger
}

// TransformConfig is what configuration gives a transform (transform.* keys).
type TransformConfig struct {
	// PDPRecoveryDays is transform.pdp_recovery_days (7): how long after a PDP a
	// payment is credited to it.
	PDPRecoveryDays int `mapstructure:"pdp_recovery_days"`
	// MaxPagosDocDia is transform.max_pagos_doc_dia (3).
	MaxPagosDocDia int `mapstructure:"max_pagos_doc_dia"`
}

// Validate checks the options before any work.
func (o *TransformOptions) Validate() error {
	var errs []error
	if o.RunID <= 0 {
		errs = append(errs, errors.New("transform: run id required"))
	}
	if o.Today.IsZero() {
		errs = append(errs, errors.New("transform: today required"))
	}
	if o.From.IsZero() != o.To.IsZero() {
		errs = append(errs, errors.New("transform: --from and --to go together"))
	}
	if !o.From.IsZero() && o.To.Before(o.From) {
		errs = append(errs, fmt.Errorf("transform: --from %s is after --to %s", o.From, o.To))
	}
	if !o.From.IsZero() && o.To.AddDays(-366*5).After(o.From) {
		errs = append(errs, fmt.Errorf("transform: --from %s --to %s spans more than 5 years", o.From, o.To))
	}
	if o.PDPRecoveryDays < 0 {
		errs = append(errs, fmt.Errorf("transform: pdp_recovery_days %d: want ≥ 0", o.PDPRecoveryDays))
	}
	if o.MaxPagosDocDia < 1 {
		errs = append(errs, fmt.Errorf("transform: max_pagos_doc_dia %d: want ≥ 1", o.MaxPagosDocDia))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("transform: logger required"))
	}
	return errors.Join(errs...)
}

// Campaign is one campaign as aux.campana holds it.
type Campaign struct {
	Archivo  string
	Apertura Date
	Fin      Date // COALESCE(fecha_cierre, today)
	// FechaTrandeuda is the calendario's assignment snapshot day (zero when NULL).
	FechaTrandeuda Date
	AttrHash       string
	// PeriodoEnd is the last day of the campaign's latest periodo (month of
	// fecha_asignacion) in aux.asignacion_cuenta; zero without accounts.
	PeriodoEnd Date
}

// LastDay is the campaign's last built day, LEAST(fin, today); it is before Apertura
// when the campaign has no built day yet.
func (c Campaign) LastDay(today Date) Date { return minDate(c.Fin, today) }

// Change is one collapsed etl.pending_change row: table, archivo (asignaciones, as
// recorded, with its .txt) and day (zero when NULL).
type Change struct {
	Table   string
	Archivo string
	Day     Date
}

// PlanInput is everything the change planner needs; the store reads it inside the
// transform transaction.
type PlanInput struct {
	Opts TransformOptions
	// Old are the campaigns before this run rebuilt aux.campana; New after.
	Old, New []Campaign
	// Built is etl.campaign_build: the last built day per campaign; BuiltAsOf the
	// today of that build (absent when unknown).
	Built, BuiltAsOf map[string]Date
	// Changes are the unconsumed pending changes.
	Changes []Change
	// TrandeudaPagoDays are the payment days whose account lookup the changed
	// trandeuda days can move (read by the store for TrandeudaDays).
	TrandeudaPagoDays []Date
	// TodayPagoDays are the payment days whose fecha_futura verdict today changed
	// (read by the store from aux.pago_dedup).
	TodayPagoDays []Date
}

// CampaignFrom is a campaign's dashboard start: its rows from From on are replaced.
type CampaignFrom struct {
	Archivo string
	From    Date
}

// TransformPlan says which slice of every aux and mart table to rebuild. A table with
// All set is rebuilt whole; otherwise exactly its listed days or campaigns.
type TransformPlan struct {
	Full bool
	// SnapDays: aux.deuda_snapshot fecha_proceso days.
	SnapDays []Date
	// AsigCampaigns: aux.asignacion_cuenta campaigns (gone ones are only deleted).
	AsigCampaigns []string
	// GestAll / GestDays: aux.gestiones_unificadas, aux.gestion_cuenta and the three
	// operation marts.
	GestAll  bool
	GestDays []Date
	// GestNarrow are the GestDays whose only change is gestiones rows: the aux
	// gestiones tables rebuild there only the changed gestiones and the other
	// gestiones of their clients that day (the marts still rebuild the whole day).
	GestNarrow []Date
	// PagoDedupDays: aux.pago_dedup; PagoCampanaDays (a superset): aux.pago_campana.
	PagoDedupDays   []Date
	PagoCampanaDays []Date
	// Dashboard: mart.dashboard_data per campaign from its start day.
	Dashboard []CampaignFrom
	// AssignmentCampaigns: mart.assignment_data (and their periodos' assignment_clientes).
	AssignmentCampaigns []string
	// ProdAll / ProdDays: mart.productivity_data.
	ProdAll  bool
	ProdDays []Date
	// Unmatched lists pending asignaciones archivos that match no campaign.
	Unmatched []string
}

// Empty reports a plan that rebuilds nothing: the run is a no-op and caches stay valid.
func (p *TransformPlan) Empty() bool {
	return !p.Full && len(p.SnapDays) == 0 && len(p.AsigCampaigns) == 0 && !p.GestAll &&
		len(p.GestDays) == 0 && len(p.PagoDedupDays) == 0 && len(p.PagoCampanaDays) == 0 &&
		len(p.Dashboard) == 0 && len(p.AssignmentCampaigns) == 0 && !p.ProdAll && len(p.ProdDays) == 0
}

// StartDashboard rebuilds a campaign's dashboard from day on at the latest.
func (p *TransformPlan) StartDashboard(archivo string, day Date) {
	i := slices.IndexFunc(p.Dashboard, func(c CampaignFrom) bool { return c.Archivo == archivo })
	switch {
	case i < 0:
		p.Dashboard = append(p.Dashboard, CampaignFrom{archivo, day})
		slices.SortFunc(p.Dashboard, func(x, y CampaignFrom) int { return strings.Compare(x.Archivo, y.Archivo) })
	case day.Before(p.Dashboard[i].From):
		p.Dashboard[i].From = day
	}
}

// Tables whose changes the planner understands.
const (
	changeCalendario = "calendario"
	changeAsign      = "asignaciones"
	changeTrandeuda  = "trandeuda"
	changePagos      = "pagos"
	changeVoicebot   = "voicebot_gestiones"
	changeMibotair   = "mibotair_gestiones"
	changeHomolMA    = "homologacion_mibotair"
	changeHomolVB    = "homologacion_voicebot"
	changeEjecutivos = "ejecutivos"
)

var txtSuffix = regexp.MustCompile(`(?i)\.txt$`)

// CampaignKey is the calendario archivo an asignaciones archivo names, upper-cased for
// the case-insensitive match: a trailing .txt (any case) is stripped (domain.md §4).
func CampaignKey(asignacionesArchivo string) string {
	return strings.ToUpper(txtSuffix.ReplaceAllString(asignacionesArchivo, ""))
}

// TrandeudaDays are the deuda_snapshot days to rebuild: trandeuda changes plus
// --from..--to (every day of a full rebuild is rebuilt anyway).
func TrandeudaDays(opts TransformOptions, changes []Change) []Date {
	s := daySet{}
	for _, c := range changes {
		if c.Table == changeTrandeuda && !c.Day.IsZero() {
			s.add(c.Day)
		}
	}
	if !opts.From.IsZero() {
		s.addRange(opts.From, opts.To)
	}
	return s.sorted()
}

// PlanTransform works out the slices to rebuild from the pending changes, the campaign
// windows before and after this run, the last built days and the options, following
// the table of domain.md §6. Every rule errs towards rebuilding more: the result must
// always equal a full rebuild.
func PlanTransform(in PlanInput) TransformPlan {
	o := in.Opts
	pl := planner{today: o.Today, recovery: o.PDPRecoveryDays, from: map[string]Date{},
		asig: map[string]bool{}, assign: map[string]bool{}, gest: daySet{}, gestA: daySet{},
		dedup: daySet{}, pcamp: daySet{}, snap: daySet{}}
	old := map[string]Campaign{}
	for _, c := range in.Old {
		old[c.Archivo] = c
	}
	cur := map[string]Campaign{}
	byKey := map[string]Campaign{}
	for _, c := range in.New {
		cur[c.Archivo] = c
		byKey[strings.ToUpper(c.Archivo)] = c
	}
	pl.cur = in.New

	if o.Full {
		p := TransformPlan{Full: true, GestAll: true, ProdAll: true}
		for _, c := range in.New {
			p.Dashboard = append(p.Dashboard, CampaignFrom{c.Archivo, c.Apertura})
			p.AsigCampaigns = append(p.AsigCampaigns, c.Archivo)
			p.AssignmentCampaigns = append(p.AssignmentCampaigns, c.Archivo)
		}
		return p
	}

	// Calendario: compared row by row, new vs old (a full-table change record only
	// says "something changed"; the comparison says what).
	for _, n := range in.New {
		c, had := old[n.Archivo]
		switch {
		case !had || c.AttrHash != n.AttrHash || !c.Apertura.Equal(n.Apertura):
			pl.wholeCampaign(n)
			if had {
				pl.gestA.addRange(c.Apertura, c.Fin)
				pl.pcamp.addRange(c.Apertura, c.Fin)
				pl.start(n.Archivo, c.Apertura)
			}
		case !c.Fin.Equal(n.Fin):
			// Only today moved the end of an open window: the days between the two ends
			// change attribution for this campaign, and snap_asig (searched up to fin)
			// may move; the store lowers the start to the earliest moved snap_asig.
			lo, hi := minDate(c.Fin, n.Fin).AddDays(1), maxDate(c.Fin, n.Fin)
			pl.asig[n.Archivo] = true
			pl.gestA.addRange(lo, hi)
			pl.pcamp.addRange(lo, hi)
			pl.start(n.Archivo, lo)
		}
	}
	var gone []Campaign
	for _, c := range in.Old {
		if _, ok := cur[c.Archivo]; !ok {
			gone = append(gone, c)
		}
	}
	for _, c := range gone {
		pl.asig[c.Archivo] = true
		pl.gestA.addRange(c.Apertura, c.Fin)
		pl.pcamp.addRange(c.Apertura, c.Fin)
		pl.from[c.Archivo] = c.Apertura
	}
	for a := range in.Built {
		if _, ok := cur[a]; !ok {
			if _, wasOld := old[a]; !wasOld {
				pl.from[a] = NewDate(1, 1, 1) // built once, gone since: drop every row
			}
		}
	}

	var unmatched []string
	seenUnmatched := map[string]bool{}
	for _, ch := range in.Changes {
		switch ch.Table {
		case changeAsign:
			if c, ok := byKey[CampaignKey(ch.Archivo)]; ok {
				pl.wholeCampaign(c)
			} else if !seenUnmatched[ch.Archivo] {
				seenUnmatched[ch.Archivo] = true
				unmatched = append(unmatched, ch.Archivo)
			}
		case changePagos:
			if !ch.Day.IsZero() {
				pl.dedup.add(ch.Day)
				pl.pcamp.add(ch.Day)
			}
		case changeVoicebot, changeMibotair:
			if !ch.Day.IsZero() {
				pl.gest.add(ch.Day)
			}
		case changeHomolMA, changeHomolVB, changeEjecutivos:
			pl.gestAll = true
		}
	}
	for _, a := range o.Archivos {
		if c, ok := cur[a]; ok {
			pl.wholeCampaign(c)
		}
	}
	asked := daySet{}
	if !o.From.IsZero() {
		asked.addRange(o.From, o.To)
		pl.gestA.addRange(o.From, o.To)
		pl.dedup.addRange(o.From, o.To)
		pl.pcamp.addRange(o.From, o.To)
	}

	// trandeuda: the snapshot days, the accounts of every campaign whose window reaches
	// them (or whose fecha_trandeuda they are), and the payments whose account lookup
	// they can move. A snapshot day can move snap_asig of accounts whose old one is
	// earlier (a fecha_trandeuda snapshot delivered after apertura): the store lowers
	// each campaign's start to the earliest snap_asig that moved.
	snapDays := TrandeudaDays(o, in.Changes)
	for _, d := range snapDays {
		pl.snap.add(d)
	}
	if len(snapDays) > 0 {
		first := snapDays[0]
		for _, c := range in.New {
			if !first.After(c.Fin) || slices.ContainsFunc(snapDays, c.FechaTrandeuda.Equal) {
				pl.asig[c.Archivo] = true
				pl.start(c.Archivo, first)
			}
		}
	}
	for _, d := range slices.Concat(in.TrandeudaPagoDays, in.TodayPagoDays) {
		pl.dedup.add(d)
		pl.pcamp.add(d)
	}

	// Days whose source rows changed reach every campaign whose window holds them.
	if pl.gestAll {
		for _, c := range in.New {
			pl.start(c.Archivo, c.Apertura)
		}
	}
	for _, d := range slices.Concat(pl.gest.sorted(), asked.sorted()) {
		pl.startWindowsHolding(d)
	}
	for _, d := range pl.dedup.sorted() {
		pl.startWindowsHolding(d)
	}

	// New built days, or a window that ended earlier than what was built.
	for _, c := range in.New {
		last := c.LastDay(o.Today)
		b, built := in.Built[c.Archivo]
		switch {
		case last.Before(c.Apertura):
			if built {
				pl.start(c.Archivo, c.Apertura)
			}
		case !built:
			pl.start(c.Archivo, c.Apertura)
		case b.Before(last):
			pl.start(c.Archivo, b.AddDays(1))
		case b.After(last):
			pl.start(c.Archivo, last.AddDays(1))
		}
	}

	p := TransformPlan{SnapDays: pl.snap.sorted(), GestAll: pl.gestAll, Unmatched: unmatched}
	gestDays := daySet{}
	if !pl.gestAll {
		for k, d := range pl.gest {
			gestDays[k] = d
		}
		for k, d := range pl.gestA {
			gestDays[k] = d
		}
		p.GestDays = gestDays.sorted()
		for _, d := range pl.gest.sorted() {
			if _, whole := pl.gestA[d.String()]; !whole {
				p.GestNarrow = append(p.GestNarrow, d)
			}
		}
	}
	p.PagoDedupDays = pl.dedup.sorted()
	for k, d := range pl.dedup {
		pl.pcamp[k] = d
	}
	p.PagoCampanaDays = pl.pcamp.sorted()
	for a := range pl.asig {
		p.AsigCampaigns = append(p.AsigCampaigns, a)
	}
	slices.Sort(p.AsigCampaigns)
	for a, d := range pl.from {
		p.Dashboard = append(p.Dashboard, CampaignFrom{a, d})
		if _, ok := cur[a]; !ok {
			pl.assign[a] = true // gone: its rows are deleted
		}
	}
	slices.SortFunc(p.Dashboard, func(x, y CampaignFrom) int { return strings.Compare(x.Archivo, y.Archivo) })
	// Assignment rows read aux.asignacion_cuenta and, per periodo, the snapshots up to
	// E = LEAST(last day of the periodo, today): a campaign is rebuilt when its
	// accounts were, when a changed snapshot day is on or before its last E, or when
	// today moved while still before its last periodo end (E moved with it).
	for a := range pl.asig {
		pl.assign[a] = true
	}
	for _, c := range in.New {
		prev, known := in.BuiltAsOf[c.Archivo]
		switch {
		case len(snapDays) > 0 && !snapDays[0].After(c.PeriodoEnd):
			pl.assign[c.Archivo] = true
		case !known:
			pl.assign[c.Archivo] = true
		case !prev.Equal(o.Today) && minDate(prev, o.Today).Before(c.PeriodoEnd):
			pl.assign[c.Archivo] = true
		}
	}
	for a := range pl.assign {
		p.AssignmentCampaigns = append(p.AssignmentCampaigns, a)
	}
	slices.Sort(p.AssignmentCampaigns)

	// Productivity: a payment on day d is credited to a gestión of [d − R, d]; a
	// gestiones day d changes the credit of payments it can reach, whose candidates
	// lie in [d − R, d] as well (the latest candidate wins).
	if pl.gestAll {
		p.ProdAll = true
	} else {
		prod := daySet{}
		for _, d := range append(slices.Clone(p.GestDays), p.PagoCampanaDays...) {
			prod.addRange(d.AddDays(-o.PDPRecoveryDays), d)
		}
		p.ProdDays = prod.sorted()
	}
	return p
}

type planner struct {
	today    Date
	recovery int
	cur      []Campaign
	from     map[string]Date
	asig     map[string]bool
	assign   map[string]bool
	gestAll  bool
	gest     daySet // days whose gestiones rows changed: every campaign holding them
	gestA    daySet // days rebuilt whole: a campaign's attribution, or --from --to
	dedup    daySet // payment days whose raw rows (or account lookup) changed
	pcamp    daySet // payment days whose campaign attribution is rebuilt
	snap     daySet
}

// wholeCampaign rebuilds a campaign as if its calendario row had changed.
func (pl *planner) wholeCampaign(c Campaign) {
	pl.asig[c.Archivo] = true
	pl.gestA.addRange(c.Apertura, c.Fin)
	pl.pcamp.addRange(c.Apertura, c.Fin)
	pl.start(c.Archivo, c.Apertura)
}

// start lowers a campaign's dashboard start day.
func (pl *planner) start(archivo string, d Date) {
	if f, ok := pl.from[archivo]; !ok || d.Before(f) {
		pl.from[archivo] = d
	}
}

func (pl *planner) startWindowsHolding(d Date) {
	for _, c := range pl.cur {
		if !d.Before(c.Apertura) && !d.After(c.Fin) {
			pl.start(c.Archivo, d)
		}
	}
}

// daySet is a set of days keyed by their text.
type daySet map[string]Date

func (s daySet) add(d Date) { s[d.String()] = d }

// addRange adds from..to inclusive (nothing when to < from).
func (s daySet) addRange(from, to Date) {
	for d := from; !d.After(to); d = d.AddDays(1) {
		s.add(d)
	}
}

func (s daySet) sorted() []Date {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Date, len(keys))
	for i, k := range keys {
		out[i] = s[k]
	}
	return out
}

func minDate(a, b Date) Date {
	if b.Before(a) {
		return b
	}
	return a
}

func maxDate(a, b Date) Date {
	if b.After(a) {
		return b
	}
	return a
}

// ErrUnknownArchivo is returned for a --archivo that names no calendario campaign.
var ErrUnknownArchivo = errors.New("unknown archivo")

// TransformStep is what one aux or mart table's rebuild did, as the ledger records it.
type TransformStep struct {
	Step           string // schema.table
	Status         Status // success or skipped
	DayFrom, DayTo Date
	Archivos       []string
	Filtered       int64 // asignaciones rows matching no campaign (aux.asignacion_cuenta)
	Deleted        int64
	Inserted       int64
	Duration       time.Duration
}

// TransformResult is what a transform run did.
type TransformResult struct {
	Plan        TransformPlan
	Steps       []TransformStep
	Changes     int64 // pending-change rows consumed
	Rebuilt     bool  // some slice was rebuilt: the data version moved
	DataVersion int64 // after the transform (unchanged when nothing was rebuilt)
	Warnings    []string
	Duration    time.Duration
}
