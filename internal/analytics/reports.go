package analytics

// The assignment, operation and productivity reports (api.md §3.4–§3.6): their
// typed parameters (GET query and POST body parse to the same value, so both
// forms hash alike), their response shapes with the exact JSON names of the spec,
// and the KPI math over the summed counters the mart readers return
// (domain.md §5.2–§5.4). Nothing here touches SQL or HTTP.

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ---------------------------------------------------------------------------
// Parameters

// Limits and messages of the reports.
const (
	// MsgRangeReversed is productivity's message for fin < inicio (api.md §3.6).
	MsgRangeReversed = "La fecha de fin debe ser posterior a la fecha de inicio."
	// DefaultRangeDays is the productivity window when fecha_inicio is absent:
	// fecha_fin − 29 days, both ends included.
	DefaultRangeDays = 30
	// MaxQueues bounds queuePerformance.
	MaxQueues = 50
	// MaxAttempt is the last attempt bucket ("10 or more").
	MaxAttempt = 10
)

// Canal values of the operation marts.
const (
	CanalVoicebot   = "VOICEBOT"
	CanalCallCenter = "CALL_CENTER"
)

// Metric types of the productivity heatmap.
const (
	MetricGestiones          = "gestiones"
	MetricContactosEfectivos = "contactosEfectivos"
	MetricCompromisos        = "compromisos"
)

// MetricTypes in the order GET /productivity/metrics lists them.
var MetricTypes = []string{MetricGestiones, MetricContactosEfectivos, MetricCompromisos}

// Operation views: the full report, or the kpis / channelPerformance slice that
// GET /operation/kpis and /operation/channels return.
const (
	OperationViewFull     = ""
	OperationViewKPIs     = "kpis"
	OperationViewChannels = "channels"
)

// AssignmentParams are GET /api/v1/assignment's normalised parameters.
type AssignmentParams struct {
	// FechaActual only selects Periodo's default; it is echoed in the metadata.
	FechaActual etl.Date `json:"fechaActual"`
	// FechaAnterior is optional (zero when absent).
	FechaAnterior   etl.Date `json:"fechaAnterior"`
	Periodo         Month    `json:"periodo"`
	PeriodoAnterior Month    `json:"periodoAnterior"`
	// Cartera, Servicio: sorted sets, nil = no filter.
	Cartera  []string `json:"cartera"`
	Servicio []string `json:"servicio"`
}

// ParseAssignmentQuery reads fecha_actual, fecha_anterior, periodo,
// periodo_anterior, cartera and servicio.
func ParseAssignmentQuery(q url.Values, today etl.Date) (AssignmentParams, error) {
	var e Errors
	p := AssignmentParams{
		FechaActual:   e.Date("fecha_actual", q.Get("fecha_actual")),
		FechaAnterior: e.Date("fecha_anterior", q.Get("fecha_anterior")),
		Cartera:       e.Enum("cartera", q["cartera"], Carteras),
		Servicio:      e.Enum("servicio", q["servicio"], Servicios),
	}
	if p.FechaActual.IsZero() {
		p.FechaActual = today
	}
	p.Periodo = MonthOf(p.FechaActual)
	if m, ok := parseMonthParam(&e, "periodo", q.Get("periodo")); ok {
		p.Periodo = m
	}
	p.PeriodoAnterior = p.Periodo.AddMonths(-1)
	if !p.FechaAnterior.IsZero() {
		p.PeriodoAnterior = MonthOf(p.FechaAnterior)
	}
	if m, ok := parseMonthParam(&e, "periodo_anterior", q.Get("periodo_anterior")); ok {
		p.PeriodoAnterior = m
	}
	return p, e.Err()
}

// parseMonthParam reads an optional YYYY-MM; ok is false when absent or invalid.
func parseMonthParam(e *Errors, field, s string) (Month, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Month{}, false
	}
	m, ok := ParseMonth(s)
	if !ok {
		e.Add(field, "%q is not a month (YYYY-MM)", truncate(s))
	}
	return m, ok
}

// AssignmentSummaryParams are GET /api/v1/assignment/summary's parameters.
type AssignmentSummaryParams struct {
	FechaCorte etl.Date `json:"fechaCorte"`
	Periodo    Month    `json:"periodo"`
}

// ParseAssignmentSummaryQuery reads fecha_corte (default today); the period is its month.
func ParseAssignmentSummaryQuery(q url.Values, today etl.Date) (AssignmentSummaryParams, error) {
	var e Errors
	p := AssignmentSummaryParams{FechaCorte: e.Date("fecha_corte", q.Get("fecha_corte"))}
	if p.FechaCorte.IsZero() {
		p.FechaCorte = today
	}
	p.Periodo = MonthOf(p.FechaCorte)
	return p, e.Err()
}

// OperationParams are GET|POST /api/v1/operation's normalised parameters.
type OperationParams struct {
	// Date is the analysed day; unset ("latest") means the latest fecha_foto ≤ Today
	// in mart.operation_data matching the filters, Today if none.
	Date Latest `json:"date"`
	// Today is set only while Date is unset: the latest day depends on it.
	Today    etl.Date `json:"today"`
	Hourly   bool     `json:"includeHourly"`
	Attempts bool     `json:"includeAttempts"`
	Queues   bool     `json:"includeQueues"`
	Cartera  []string `json:"cartera"`
	Archivo  []string `json:"archivo"`
	// View is OperationViewFull, OperationViewKPIs or OperationViewChannels.
	View string `json:"view,omitempty"`
}

// ParseOperationQuery reads fecha_analisis, include_hourly, include_attempts,
// include_queues, cartera and archivo.
func ParseOperationQuery(q url.Values, today etl.Date) (OperationParams, error) {
	var e Errors
	p := OperationParams{
		Date:     Latest{e.Date("fecha_analisis", q.Get("fecha_analisis"))},
		Hourly:   e.Bool("include_hourly", q.Get("include_hourly"), true),
		Attempts: e.Bool("include_attempts", q.Get("include_attempts"), true),
		Queues:   e.Bool("include_queues", q.Get("include_queues"), true),
		Cartera:  e.Enum("cartera", q["cartera"], Carteras),
		Archivo:  e.Strings("archivo", q["archivo"]),
	}
	if p.Date.IsZero() {
		p.Today = today
	}
	return p, e.Err()
}

type operationBody struct {
	Date                   *string `json:"date"`
	IncludeHourlyBreakdown *bool   `json:"includeHourlyBreakdown"`
	IncludeQueueDetails    *bool   `json:"includeQueueDetails"`
	IncludeAttemptAnalysis *bool   `json:"includeAttemptAnalysis"`
	Filters                struct {
		Cartera []string `json:"cartera"`
		Archivo []string `json:"archivo"`
	} `json:"filters"`
}

// ParseOperationBody reads the POST body {date (required), includeHourlyBreakdown,
// includeQueueDetails, includeAttemptAnalysis, filters:{cartera, archivo}}.
func ParseOperationBody(body []byte) (OperationParams, error) {
	var e Errors
	var b operationBody
	if !e.DecodeBody(body, &b) {
		return OperationParams{}, e.Err()
	}
	p := OperationParams{
		Hourly:   rptBool(b.IncludeHourlyBreakdown, true),
		Attempts: rptBool(b.IncludeAttemptAnalysis, true),
		Queues:   rptBool(b.IncludeQueueDetails, true),
		Cartera:  e.Enum("filters.cartera", b.Filters.Cartera, Carteras),
		Archivo:  e.Strings("filters.archivo", b.Filters.Archivo),
	}
	if b.Date == nil || strings.TrimSpace(*b.Date) == "" {
		e.Add("date", "is required")
	} else {
		p.Date = Latest{e.Date("date", *b.Date)}
	}
	return p, e.Err()
}

func rptBool(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// ForView narrows the parameters to a view; the kpis and channels views need none
// of the optional sections, so they are off (and hash as off).
func (p OperationParams) ForView(view string) OperationParams {
	p.View = view
	if view != OperationViewFull {
		p.Hourly, p.Attempts, p.Queues = false, false, false
	}
	return p
}

// Day is the analysed day given the latest matching fecha_foto ≤ Today (zero if none).
func (p OperationParams) Day(latest etl.Date) etl.Date {
	switch {
	case !p.Date.IsZero():
		return p.Date.Date
	case !latest.IsZero():
		return latest
	}
	return p.Today
}

// ProductivityParams are GET|POST /api/v1/productivity's normalised parameters.
type ProductivityParams struct {
	// FechaInicio unset: FechaFin − 29 days, hashed "latest" while FechaFin is.
	FechaInicio Latest `json:"fechaInicio"`
	// FechaFin unset ("latest"): the latest fecha_foto ≤ Today in
	// mart.productivity_data matching cartera and archivo, Today if none.
	FechaFin Latest `json:"fechaFin"`
	// Today is set only while FechaFin is unset.
	Today etl.Date `json:"today"`
	// Agente matches correo_agente case-insensitively or dni_agente ("" = all).
	Agente     string   `json:"agente"`
	Cartera    []string `json:"cartera"`
	Archivo    []string `json:"archivo"`
	MetricType string   `json:"metricType"`
	// Format is FormatJSON or FormatCSV.
	Format string `json:"format"`
}

// ParseProductivityQuery reads fecha_inicio, fecha_fin, agente, cartera, archivo,
// metric_type and format.
func ParseProductivityQuery(q url.Values, today etl.Date) (ProductivityParams, error) {
	var e Errors
	p := ProductivityParams{
		Agente:     rptAgente(&e, "agente", q.Get("agente")),
		Cartera:    e.Enum("cartera", q["cartera"], Carteras),
		Archivo:    e.Strings("archivo", q["archivo"]),
		MetricType: rptMetricType(&e, "metric_type", q.Get("metric_type")),
		Format:     ParseFormat(&e, "format", q.Get("format")),
	}
	p.FechaInicio, p.FechaFin, p.Today = latestRange(&e, q.Get("fecha_inicio"), q.Get("fecha_fin"), today)
	return p, e.Err()
}

type productivityBody struct {
	FechaInicio *string `json:"fecha_inicio"`
	FechaFin    *string `json:"fecha_fin"`
	Agente      *string `json:"agente"`
	Filtros     struct {
		Cartera []string `json:"cartera"`
		Archivo []string `json:"archivo"`
	} `json:"filtros"`
	MetricType *string `json:"metric_type"`
}

// ParseProductivityBody reads the POST body {fecha_inicio, fecha_fin, agente,
// filtros:{cartera, archivo}, metric_type}; format comes from the query string.
func ParseProductivityBody(body []byte, formatParam string, today etl.Date) (ProductivityParams, error) {
	var e Errors
	var b productivityBody
	if !e.DecodeBody(body, &b) {
		return ProductivityParams{}, e.Err()
	}
	p := ProductivityParams{
		Agente:     rptAgente(&e, "agente", rptString(b.Agente)),
		Cartera:    e.Enum("filtros.cartera", b.Filtros.Cartera, Carteras),
		Archivo:    e.Strings("filtros.archivo", b.Filtros.Archivo),
		MetricType: rptMetricType(&e, "metric_type", rptString(b.MetricType)),
		Format:     ParseFormat(&e, "format", formatParam),
	}
	p.FechaInicio, p.FechaFin, p.Today = latestRange(&e, rptString(b.FechaInicio), rptString(b.FechaFin), today)
	return p, e.Err()
}

func rptString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// latestRange parses an optional inclusive range whose end defaults to the latest
// built day: an absent end stays unset (with today, which resolves it), an absent
// start is end − 29 days (unset while the end is). Both given: checked here; one
// left to the data: checked by Range once resolved.
func latestRange(e *Errors, inicio, fin string, today etl.Date) (from, to Latest, t etl.Date) {
	from = Latest{e.Date("fecha_inicio", inicio)}
	to = Latest{e.Date("fecha_fin", fin)}
	if to.IsZero() {
		return from, to, today
	}
	if from.IsZero() {
		from = Latest{to.AddDays(1 - DefaultRangeDays)}
	}
	e.Range("fecha_fin", from.Date, to.Date, MsgRangeReversed)
	return from, to, etl.Date{}
}

// resolveRange fixes a latestRange once the latest built day is known (zero: none,
// so today) and validates it.
func resolveRange(from, to Latest, today, latest etl.Date) (etl.Date, etl.Date, error) {
	end := to.Date
	if end.IsZero() {
		end = latest
		if end.IsZero() {
			end = today
		}
	}
	start := from.Date
	if start.IsZero() {
		start = end.AddDays(1 - DefaultRangeDays)
	}
	var e Errors
	e.Range("fecha_fin", start, end, MsgRangeReversed)
	return start, end, e.Err()
}

// Range resolves the productivity range given the latest matching fecha_foto ≤
// Today (zero if none). An explicit fecha_inicio after the resolved end, or more
// than MaxRangeDays apart, is a ValidationError.
func (p ProductivityParams) Range(latest etl.Date) (from, to etl.Date, err error) {
	return resolveRange(p.FechaInicio, p.FechaFin, p.Today, latest)
}

func rptAgente(e *Errors, field, s string) string {
	s = strings.TrimSpace(s)
	if len(s) > MaxValueLen {
		e.Add(field, "is at most %d characters", MaxValueLen)
		return ""
	}
	if noFilter(strings.ToUpper(s)) {
		return ""
	}
	return s
}

func rptMetricType(e *Errors, field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return MetricGestiones
	}
	for _, m := range MetricTypes {
		if strings.EqualFold(s, m) {
			return m
		}
	}
	e.Add(field, "%q is not one of %s", truncate(s), strings.Join(MetricTypes, ", "))
	return MetricGestiones
}

// AgentParams are GET /api/v1/productivity/agents/{agent_id}'s parameters.
type AgentParams struct {
	// Agent is the correo, lower-cased (correo_agente is stored lower-case).
	Agent       string   `json:"agent"`
	FechaInicio Latest   `json:"fechaInicio"`
	FechaFin    Latest   `json:"fechaFin"`
	Today       etl.Date `json:"today"`
}

// ParseAgentQuery reads the (already URL-decoded) agent id and fecha_inicio,
// fecha_fin with productivity's defaults (the end defaults to the latest built day).
func ParseAgentQuery(agentID string, q url.Values, today etl.Date) (AgentParams, error) {
	var e Errors
	p := AgentParams{Agent: strings.ToLower(strings.TrimSpace(agentID))}
	switch {
	case p.Agent == "":
		e.Add("agent_id", "is required")
	case len(p.Agent) > MaxValueLen:
		e.Add("agent_id", "is at most %d characters", MaxValueLen)
		p.Agent = ""
	}
	p.FechaInicio, p.FechaFin, p.Today = latestRange(&e, q.Get("fecha_inicio"), q.Get("fecha_fin"), today)
	return p, e.Err()
}

// Range resolves the agent range as ProductivityParams.Range does.
func (p AgentParams) Range(latest etl.Date) (from, to etl.Date, err error) {
	return resolveRange(p.FechaInicio, p.FechaFin, p.Today, latest)
}

// ---------------------------------------------------------------------------
// Assignment (api.md §3.4)

// AssignmentCounts are one period's summed counters (money in cents).
type AssignmentCounts struct {
	Clientes   int64
	Cuentas    int64
	SaldoCents int64
}

// AssignmentPair is one cartera in both periods.
type AssignmentPair struct {
	Current, Previous AssignmentCounts
}

// AssignmentInput is what the reader sums: the totals of each period under the
// filters (clientes from mart.assignment_clientes for the filter sets) and the same
// per cartera present in either period (clientes for that one cartera).
type AssignmentInput struct {
	Current, Previous AssignmentCounts
	ByCartera         map[string]AssignmentPair
	LastRefresh       *time.Time
	DataVersion       int64
}

// Assignment is GET /api/v1/assignment's response.
type Assignment struct {
	Status          string             `json:"status"`
	Success         bool               `json:"success"`
	Message         string             `json:"message"`
	CurrentPeriod   string             `json:"currentPeriod"`
	PreviousPeriod  string             `json:"previousPeriod"`
	QueryTime       float64            `json:"queryTime"`
	KPIs            []AssignmentKPI    `json:"kpis"`
	CompositionData []CompositionItem  `json:"compositionData"`
	DetailBreakdown []AssignmentDetail `json:"detailBreakdown"`
	Metadata        AssignmentMetadata `json:"metadata"`
}

// AssignmentKPI is one card: counts have scale 0, currency scale 2, variacion scale 1.
type AssignmentKPI struct {
	Label         string  `json:"label"`
	ValorActual   Decimal `json:"valorActual"`
	ValorAnterior Decimal `json:"valorAnterior"`
	Variacion     Decimal `json:"variacion"`
	ValueType     string  `json:"valueType"`
}

// CompositionItem is one cartera's current saldo.
type CompositionItem struct {
	Name  string  `json:"name"`
	Value Decimal `json:"value"`
}

// AssignmentDetail is one cartera in both periods.
type AssignmentDetail struct {
	ID                     string  `json:"id"`
	Name                   string  `json:"name"`
	ClientesActual         int64   `json:"clientesActual"`
	ClientesAnterior       int64   `json:"clientesAnterior"`
	CuentasActual          int64   `json:"cuentasActual"`
	CuentasAnterior        int64   `json:"cuentasAnterior"`
	SaldoActual            Decimal `json:"saldoActual"`
	SaldoAnterior          Decimal `json:"saldoAnterior"`
	TicketPromedioActual   Decimal `json:"ticketPromedioActual"`
	TicketPromedioAnterior Decimal `json:"ticketPromedioAnterior"`
}

// AssignmentMetadata describes the request and the data.
type AssignmentMetadata struct {
	FechaActual     etl.Date   `json:"fechaActual"`
	FechaAnterior   *etl.Date  `json:"fechaAnterior"`
	PeriodoActual   string     `json:"periodoActual"`
	PeriodoAnterior string     `json:"periodoAnterior"`
	TotalCarteras   int        `json:"totalCarteras"`
	LastRefresh     *time.Time `json:"lastRefresh"`
	DataVersion     int64      `json:"dataVersion"`
}

// KPI cards use the value types ValueNumber and ValueCurrency.

// SuccessMessage is the message of enveloped analytics responses.
const SuccessMessage = "Operation successful"

// NewAssignment applies §3.4's formulas to the summed counters.
func NewAssignment(p AssignmentParams, in AssignmentInput) Assignment {
	cur, prev := in.Current, in.Previous
	a := Assignment{
		Status: "success", Success: true, Message: SuccessMessage,
		CurrentPeriod: p.Periodo.String(), PreviousPeriod: p.PeriodoAnterior.String(),
		KPIs: []AssignmentKPI{
			countKPI("Total Clientes", cur.Clientes, prev.Clientes),
			countKPI("Total Cuentas", cur.Cuentas, prev.Cuentas),
			moneyKPI("Saldo Total Deuda", cur.SaldoCents, prev.SaldoCents),
			moneyKPI("Ticket Promedio", ticketCents(cur), ticketCents(prev)),
		},
		CompositionData: []CompositionItem{},
		DetailBreakdown: []AssignmentDetail{},
		Metadata: AssignmentMetadata{
			FechaActual: p.FechaActual, PeriodoActual: p.Periodo.String(),
			PeriodoAnterior: p.PeriodoAnterior.String(), LastRefresh: rptUTC(in.LastRefresh),
			DataVersion: in.DataVersion,
		},
	}
	if !p.FechaAnterior.IsZero() {
		d := p.FechaAnterior
		a.Metadata.FechaAnterior = &d
	}
	type row struct {
		name string
		AssignmentPair
	}
	rows := make([]row, 0, len(in.ByCartera))
	for name, pair := range in.ByCartera {
		rows = append(rows, row{name, pair})
	}
	// saldoActual desc, then name.
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(cmp.Compare(y.Current.SaldoCents, x.Current.SaldoCents), strings.Compare(x.name, y.name))
	})
	for _, r := range rows {
		a.DetailBreakdown = append(a.DetailBreakdown, AssignmentDetail{
			ID: strings.ToLower(r.name), Name: r.name,
			ClientesActual: r.Current.Clientes, ClientesAnterior: r.Previous.Clientes,
			CuentasActual: r.Current.Cuentas, CuentasAnterior: r.Previous.Cuentas,
			SaldoActual: Money(r.Current.SaldoCents), SaldoAnterior: Money(r.Previous.SaldoCents),
			TicketPromedioActual:   Money(ticketCents(r.Current)),
			TicketPromedioAnterior: Money(ticketCents(r.Previous)),
		})
		// Same order as the breakdown: value desc, then name.
		if r.Current.SaldoCents > 0 {
			a.CompositionData = append(a.CompositionData, CompositionItem{Name: r.name, Value: Money(r.Current.SaldoCents)})
		}
	}
	a.Metadata.TotalCarteras = len(a.DetailBreakdown)
	return a
}

// ticketCents is saldo / max(cuentas, 1) in cents, half away from zero.
func ticketCents(c AssignmentCounts) int64 {
	return Quotient(c.SaldoCents, max(c.Cuentas, 1), 1, 0).unscaled
}

func countKPI(label string, cur, prev int64) AssignmentKPI {
	return AssignmentKPI{Label: label, ValorActual: Decimal{cur, 0}, ValorAnterior: Decimal{prev, 0},
		Variacion: Variacion(cur, prev), ValueType: ValueNumber}
}

func moneyKPI(label string, cur, prev int64) AssignmentKPI {
	return AssignmentKPI{Label: label, ValorActual: Money(cur), ValorAnterior: Money(prev),
		Variacion: Variacion(cur, prev), ValueType: ValueCurrency}
}

// Variacion is (actual − anterior) / anterior × 100 to 1 decimal, half away from
// zero; anterior = 0 gives 100 when actual > 0, else 0. Money compares in cents (the
// displayed values), counts as they are.
func Variacion(actual, anterior int64) Decimal {
	if anterior == 0 {
		if actual > 0 {
			return Decimal{1000, 1}
		}
		return Decimal{0, 1}
	}
	return Quotient(actual-anterior, anterior, 100, 1)
}

// SetVolatile fills queryTime (seconds) per response.
func (a *Assignment) SetVolatile(_ string, elapsed time.Duration, _ time.Time) {
	a.QueryTime = rptSeconds(elapsed)
}

// AssignmentSummary is GET /api/v1/assignment/summary's response.
type AssignmentSummary struct {
	FechaCorte     etl.Date  `json:"fechaCorte"`
	Periodo        string    `json:"periodo"`
	TotalCuentas   int64     `json:"totalCuentas"`
	TotalClientes  int64     `json:"totalClientes"`
	SaldoTotal     Decimal   `json:"saldoTotal"`
	TicketPromedio Decimal   `json:"ticketPromedio"`
	TotalCarteras  int       `json:"totalCarteras"`
	Timestamp      time.Time `json:"timestamp"`
}

// NewAssignmentSummary applies the formulas to the period's totals (no filter) and
// the number of carteras with rows in it.
func NewAssignmentSummary(p AssignmentSummaryParams, c AssignmentCounts, carteras int) AssignmentSummary {
	return AssignmentSummary{FechaCorte: p.FechaCorte, Periodo: p.Periodo.String(),
		TotalCuentas: c.Cuentas, TotalClientes: c.Clientes, SaldoTotal: Money(c.SaldoCents),
		TicketPromedio: Money(ticketCents(c)), TotalCarteras: carteras}
}

// SetVolatile fills timestamp (the response's time) per response.
func (s *AssignmentSummary) SetVolatile(_ string, _ time.Duration, now time.Time) {
	s.Timestamp = now.UTC()
}

// ---------------------------------------------------------------------------
// Operation (api.md §3.5)

// OperationCounts are summed operation_data counters.
type OperationCounts struct {
	Calls, CD, CI, PDP, Clientes, Cuentas int64
}

// Add sums counters.
func (c OperationCounts) Add(o OperationCounts) OperationCounts {
	return OperationCounts{c.Calls + o.Calls, c.CD + o.CD, c.CI + o.CI, c.PDP + o.PDP,
		c.Clientes + o.Clientes, c.Cuentas + o.Cuentas}
}

// HourCounts, AttemptCounts, QueueCounts are summed counters of one hour, attempt
// bucket or queue.
type HourCounts struct {
	Hour           int
	Calls, CD, PDP int64
}

type AttemptCounts struct {
	Attempt        int
	Calls, CD, PDP int64
}

type QueueCounts struct {
	Name           string
	Calls, CD, PDP int64
}

// OperationInput is what the reader sums for one day; a nil section was not read.
type OperationInput struct {
	Date     etl.Date
	ByCanal  map[string]OperationCounts
	Hourly   []HourCounts
	Attempts []AttemptCounts
	Queues   []QueueCounts
}

// Operation is GET|POST /api/v1/operation's response.
type Operation struct {
	Date                 etl.Date               `json:"date"`
	KPIs                 []OperationKPI         `json:"kpis"`
	ChannelPerformance   []ChannelPerformance   `json:"channelPerformance"`
	HourlyPerformance    []HourlyPerformance    `json:"hourlyPerformance"`
	AttemptEffectiveness []AttemptEffectiveness `json:"attemptEffectiveness"`
	QueuePerformance     []QueuePerformance     `json:"queuePerformance"`
}

// OperationKPI is one formatted card.
type OperationKPI struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

type ChannelPerformance struct {
	Channel              string  `json:"channel"`
	Calls                int64   `json:"calls"`
	EffectiveContacts    int64   `json:"effectiveContacts"`
	NonEffectiveContacts int64   `json:"nonEffectiveContacts"`
	PDP                  int64   `json:"pdp"`
	CierreRate           Decimal `json:"cierreRate"`
}

type HourlyPerformance struct {
	Hour                 string `json:"hour"`
	Calls                int64  `json:"calls"`
	EffectiveContacts    int64  `json:"effectiveContacts"`
	NonEffectiveContacts int64  `json:"nonEffectiveContacts"`
	PDP                  int64  `json:"pdp"`
}

type AttemptEffectiveness struct {
	Attempt    int     `json:"attempt"`
	Calls      int64   `json:"calls"`
	CierreRate Decimal `json:"cierreRate"`
}

type QueuePerformance struct {
	QueueName         string  `json:"queueName"`
	Calls             int64   `json:"calls"`
	EffectiveContacts int64   `json:"effectiveContacts"`
	PDP               int64   `json:"pdp"`
	CierreRate        Decimal `json:"cierreRate"`
}

// Channel labels, in response order.
var channelLabels = []struct{ canal, label string }{
	{CanalVoicebot, "Voicebot"},
	{CanalCallCenter, "Call Center"},
}

// NewOperation applies §3.5's formulas.
func NewOperation(in OperationInput) Operation {
	var total OperationCounts
	for _, c := range in.ByCanal {
		total = total.Add(c)
	}
	op := Operation{
		Date: in.Date,
		KPIs: []OperationKPI{
			{"Total Llamadas", FormatCount(total.Calls)},
			{"Tasa de Contacto", Quotient(total.CD+total.CI, total.Calls, 100, 1).String() + "%"},
			{"Contacto Directo", Quotient(total.CD, total.Calls, 100, 1).String() + "%"},
			{"Tasa de Cierre", Quotient(total.PDP, total.CD, 100, 1).String() + "%"},
			{"Intensidad", Quotient(total.Calls, total.Clientes, 1, 1).String()},
			{"Cuentas Gestionadas", FormatCount(total.Cuentas)},
		},
		ChannelPerformance:   make([]ChannelPerformance, 0, len(channelLabels)),
		HourlyPerformance:    []HourlyPerformance{},
		AttemptEffectiveness: []AttemptEffectiveness{},
		QueuePerformance:     []QueuePerformance{},
	}
	for _, ch := range channelLabels {
		c := in.ByCanal[ch.canal]
		op.ChannelPerformance = append(op.ChannelPerformance, ChannelPerformance{Channel: ch.label,
			Calls: c.Calls, EffectiveContacts: c.CD, NonEffectiveContacts: c.Calls - c.CD, PDP: c.PDP,
			CierreRate: Pct(c.PDP, c.CD)})
	}
	// Hours from the first to the last with gestiones, zero-filled.
	byHour := map[int]HourCounts{}
	first, last := 24, -1
	for _, h := range in.Hourly {
		if h.Calls <= 0 || h.Hour < 0 || h.Hour > 23 {
			continue
		}
		byHour[h.Hour] = h
		first, last = min(first, h.Hour), max(last, h.Hour)
	}
	for hour := first; hour <= last; hour++ {
		h := byHour[hour]
		op.HourlyPerformance = append(op.HourlyPerformance, HourlyPerformance{Hour: HourLabel(hour),
			Calls: h.Calls, EffectiveContacts: h.CD, NonEffectiveContacts: h.Calls - h.CD, PDP: h.PDP})
	}
	attempts := slices.Clone(in.Attempts)
	slices.SortFunc(attempts, func(x, y AttemptCounts) int { return cmp.Compare(x.Attempt, y.Attempt) })
	for _, a := range attempts {
		if a.Calls <= 0 || a.Attempt < 1 || a.Attempt > MaxAttempt {
			continue
		}
		op.AttemptEffectiveness = append(op.AttemptEffectiveness, AttemptEffectiveness{Attempt: a.Attempt,
			Calls: a.Calls, CierreRate: Pct(a.PDP, a.CD)})
	}
	queues := slices.Clone(in.Queues)
	slices.SortFunc(queues, func(x, y QueueCounts) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), strings.Compare(x.Name, y.Name))
	})
	for _, q := range queues {
		if len(op.QueuePerformance) == MaxQueues {
			break
		}
		op.QueuePerformance = append(op.QueuePerformance, QueuePerformance{QueueName: q.Name, Calls: q.Calls,
			EffectiveContacts: q.CD, PDP: q.PDP, CierreRate: Pct(q.PDP, q.CD)})
	}
	return op
}

// FormatCount writes an integer with ',' thousands separators: 12,345.
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// HourLabel writes an hour as "HH:00".
func HourLabel(h int) string {
	return strconv.Itoa(h/10) + strconv.Itoa(h%10) + ":00"
}

// ---------------------------------------------------------------------------
// Productivity (api.md §3.6, domain.md §5.4)

// AgentDayCounts are one agent's summed productivity_data counters on one day
// (money in cents); Name and DNI are that day's.
type AgentDayCounts struct {
	Correo, Name, DNI string
	Date              etl.Date
	Calls, CD, PDP    int64
	RecoveredCents    int64
}

// ProductivityInput is what the reader sums over the resolved range.
type ProductivityInput struct {
	From, To  etl.Date
	AgentDays []AgentDayCounts
	// Hourly is CALL_CENTER operation_data by hour (nil when agente is set).
	Hourly      []HourCounts
	DataVersion int64
}

// Productivity is GET|POST /api/v1/productivity's response.
type Productivity struct {
	DailyTrend   []ProductivityDay    `json:"dailyTrend"`
	HourlyTrend  []ProductivityHour   `json:"hourlyTrend"`
	AgentRanking []AgentRank          `json:"agentRanking"`
	AgentHeatmap []AgentHeatmapRow    `json:"agentHeatmap"`
	Metadata     ProductivityMetadata `json:"metadata"`
}

type ProductivityDay struct {
	Day         int      `json:"day"`
	Date        etl.Date `json:"date"`
	Llamadas    int64    `json:"llamadas"`
	Compromisos int64    `json:"compromisos"`
	Recupero    Decimal  `json:"recupero"`
}

type ProductivityHour struct {
	Hour        string `json:"hour"`
	Llamadas    int64  `json:"llamadas"`
	Compromisos int64  `json:"compromisos"`
}

// AgentRank is one agent's row of the ranking.
type AgentRank struct {
	ID                   string  `json:"id"`
	Rank                 int     `json:"rank"`
	AgentName            string  `json:"agentName"`
	Calls                int64   `json:"calls"`
	DirectContacts       int64   `json:"directContacts"`
	Commitments          int64   `json:"commitments"`
	AmountRecovered      Decimal `json:"amountRecovered"`
	ClosingRate          Decimal `json:"closingRate"`
	CommitmentConversion Decimal `json:"commitmentConversion"`
	Quartile             int     `json:"quartile"`
}

type AgentHeatmapRow struct {
	ID        string `json:"id"`
	DNI       string `json:"dni"`
	AgentName string `json:"agentName"`
	// DailyPerformance has keys (YYYY-MM-DD) only for the agent's active days.
	DailyPerformance DailyPerformance `json:"dailyPerformance"`
}

// DailyPerformance is an agent's heatmap row by day. It writes its own JSON: the
// heatmap is most of a productivity response (agents × days), and the generic map
// encoding (reflection, then sorting the keys) dominated its cost.
type DailyPerformance map[string]DayPerformance

// MarshalJSON writes the days in key (date) order, as encoding/json would.
func (d DailyPerformance) MarshalJSON() ([]byte, error) {
	if d == nil {
		return []byte("null"), nil
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 2+len(d)*72)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		v := d[k]
		b = strconv.AppendQuote(b, k)
		b = append(b, `:{"gestiones":`...)
		b = strconv.AppendInt(b, v.Gestiones, 10)
		b = append(b, `,"contactosEfectivos":`...)
		b = strconv.AppendInt(b, v.ContactosEfectivos, 10)
		b = append(b, `,"compromisos":`...)
		b = strconv.AppendInt(b, v.Compromisos, 10)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

type DayPerformance struct {
	Gestiones          int64 `json:"gestiones"`
	ContactosEfectivos int64 `json:"contactosEfectivos"`
	Compromisos        int64 `json:"compromisos"`
}

// Period is an inclusive day range.
type Period struct {
	Start etl.Date `json:"start"`
	End   etl.Date `json:"end"`
}

// ProductivityFilters echo the normalised filters.
type ProductivityFilters struct {
	Cartera    []string `json:"cartera"`
	Archivo    []string `json:"archivo"`
	Agente     *string  `json:"agente"`
	MetricType string   `json:"metric_type"`
}

type ProductivityMetadata struct {
	Period               Period              `json:"period"`
	Filters              ProductivityFilters `json:"filters"`
	GeneratedAt          time.Time           `json:"generated_at"`
	ExecutionTimeSeconds float64             `json:"execution_time_seconds"`
	TotalAgents          int                 `json:"total_agents"`
	CacheStatus          string              `json:"cache_status"`
	DataVersion          int64               `json:"data_version"`
}

// agentTotals is one agent summed over the range.
type agentTotals struct {
	correo, name, dni string
	lastDay           etl.Date
	calls, cd, pdp    int64
	cents             int64
	days              map[string]DayPerformance
}

// NewProductivity applies §3.6 and §5.4: trend, ranking (commitments desc,
// amountRecovered desc, calls desc, agentName asc, correo asc; quartile NTILE(4)),
// and heatmap (rows by Σ metric_type desc, then rank).
func NewProductivity(p ProductivityParams, in ProductivityInput) Productivity {
	out := Productivity{
		DailyTrend:   []ProductivityDay{},
		HourlyTrend:  []ProductivityHour{},
		AgentRanking: []AgentRank{},
		AgentHeatmap: []AgentHeatmapRow{},
		Metadata: ProductivityMetadata{
			Period: Period{in.From, in.To},
			Filters: ProductivityFilters{Cartera: rptList(p.Cartera), Archivo: rptList(p.Archivo),
				MetricType: p.MetricType},
			DataVersion: in.DataVersion,
		},
	}
	if p.Agente != "" {
		a := p.Agente
		out.Metadata.Filters.Agente = &a
	}
	type dayTotals struct{ calls, pdp, cents int64 }
	byDay := map[etl.Date]dayTotals{}
	agents := map[string]*agentTotals{}
	for _, r := range in.AgentDays {
		d := byDay[r.Date]
		byDay[r.Date] = dayTotals{d.calls + r.Calls, d.pdp + r.PDP, d.cents + r.RecoveredCents}
		a := agents[r.Correo]
		if a == nil {
			a = &agentTotals{correo: r.Correo, days: map[string]DayPerformance{}}
			agents[r.Correo] = a
		}
		if a.lastDay.IsZero() || r.Date.After(a.lastDay) {
			a.lastDay, a.name, a.dni = r.Date, r.Name, r.DNI
		}
		a.calls += r.Calls
		a.cd += r.CD
		a.pdp += r.PDP
		a.cents += r.RecoveredCents
		if r.Calls > 0 {
			key := r.Date.String()
			dp := a.days[key]
			a.days[key] = DayPerformance{dp.Gestiones + r.Calls, dp.ContactosEfectivos + r.CD, dp.Compromisos + r.PDP}
		}
	}
	if !in.From.IsZero() && !in.To.Before(in.From) {
		for d, i := in.From, 1; !d.After(in.To); d, i = d.AddDays(1), i+1 {
			t := byDay[d]
			out.DailyTrend = append(out.DailyTrend, ProductivityDay{Day: i, Date: d, Llamadas: t.calls,
				Compromisos: t.pdp, Recupero: Money(t.cents)})
		}
	}
	hours := slices.Clone(in.Hourly)
	slices.SortFunc(hours, func(x, y HourCounts) int { return cmp.Compare(x.Hour, y.Hour) })
	for _, h := range hours {
		if h.Calls > 0 || h.PDP > 0 {
			out.HourlyTrend = append(out.HourlyTrend, ProductivityHour{Hour: HourLabel(h.Hour), Llamadas: h.Calls, Compromisos: h.PDP})
		}
	}
	ranked := make([]*agentTotals, 0, len(agents))
	for _, a := range agents {
		ranked = append(ranked, a)
	}
	slices.SortFunc(ranked, compareAgents)
	rank := make(map[string]int, len(ranked))
	for i, a := range ranked {
		rank[a.correo] = i + 1
		out.AgentRanking = append(out.AgentRanking, AgentRank{ID: a.correo, Rank: i + 1, AgentName: a.name,
			Calls: a.calls, DirectContacts: a.cd, Commitments: a.pdp, AmountRecovered: Money(a.cents),
			ClosingRate: Pct(a.pdp, a.calls), CommitmentConversion: Pct(a.pdp, a.cd),
			Quartile: NTile(i, len(ranked), 4)})
	}
	heat := slices.Clone(ranked)
	metric := func(a *agentTotals) int64 {
		switch p.MetricType {
		case MetricContactosEfectivos:
			return a.cd
		case MetricCompromisos:
			return a.pdp
		}
		return a.calls
	}
	slices.SortStableFunc(heat, func(x, y *agentTotals) int {
		return cmp.Or(cmp.Compare(metric(y), metric(x)), cmp.Compare(rank[x.correo], rank[y.correo]))
	})
	for _, a := range heat {
		out.AgentHeatmap = append(out.AgentHeatmap, AgentHeatmapRow{ID: a.correo, DNI: a.dni, AgentName: a.name,
			DailyPerformance: a.days})
	}
	out.Metadata.TotalAgents = len(ranked)
	return out
}

func compareAgents(x, y *agentTotals) int {
	return cmp.Or(
		cmp.Compare(y.pdp, x.pdp),
		cmp.Compare(y.cents, x.cents),
		cmp.Compare(y.calls, x.calls),
		strings.Compare(x.name, y.name),
		strings.Compare(x.correo, y.correo))
}

// NTile is SQL's NTILE(buckets) for the 0-based position i of n ordered rows: bucket
// sizes differ by at most one, the larger buckets first.
func NTile(i, n, buckets int) int {
	if n <= 0 || buckets <= 0 || i < 0 || i >= n {
		return 0
	}
	size, extra := n/buckets, n%buckets
	if i < extra*(size+1) {
		return i/(size+1) + 1
	}
	return extra + (i-extra*(size+1))/size + 1
}

func rptList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetVolatile fills generated_at, execution_time_seconds and cache_status.
func (p *Productivity) SetVolatile(cacheStatus string, elapsed time.Duration, now time.Time) {
	p.Metadata.CacheStatus = cacheStatus
	p.Metadata.ExecutionTimeSeconds = rptSeconds(elapsed)
	p.Metadata.GeneratedAt = now.UTC()
}

// ProductivityMetricsList is GET /api/v1/productivity/metrics (static).
type ProductivityMetricsList struct {
	HeatmapMetrics []string `json:"heatmap_metrics"`
	TrendMetrics   []string `json:"trend_metrics"`
	RankingMetrics []string `json:"ranking_metrics"`
}

// ProductivityMetrics lists the metric names of each productivity section.
func ProductivityMetrics() ProductivityMetricsList {
	return ProductivityMetricsList{
		HeatmapMetrics: slices.Clone(MetricTypes),
		TrendMetrics:   []string{"llamadas", "compromisos", "recupero"},
		RankingMetrics: []string{"calls", "directContacts", "commitments", "amountRecovered", "closingRate", "commitmentConversion"},
	}
}

// AgentArchivoCounts are one agent's counters in one archivo over the range.
type AgentArchivoCounts struct {
	Archivo        string
	Calls, PDP     int64
	RecoveredCents int64
}

// AgentInput is what the reader returns for one agent.
type AgentInput struct {
	Correo, Name, DNI string
	From, To          etl.Date
	Days              []AgentDayCounts
	ByArchivo         []AgentArchivoCounts
}

// AgentDetail is GET /api/v1/productivity/agents/{agent_id}'s response.
type AgentDetail struct {
	ID        string         `json:"id"`
	DNI       string         `json:"dni"`
	AgentName string         `json:"agentName"`
	Period    Period         `json:"period"`
	Totals    AgentTotals    `json:"totals"`
	Daily     []AgentDay     `json:"daily"`
	ByArchivo []AgentArchivo `json:"byArchivo"`
}

type AgentTotals struct {
	Calls                int64   `json:"calls"`
	DirectContacts       int64   `json:"directContacts"`
	Commitments          int64   `json:"commitments"`
	AmountRecovered      Decimal `json:"amountRecovered"`
	ClosingRate          Decimal `json:"closingRate"`
	CommitmentConversion Decimal `json:"commitmentConversion"`
}

type AgentDay struct {
	Day                int      `json:"day"`
	Date               etl.Date `json:"date"`
	Gestiones          int64    `json:"gestiones"`
	ContactosEfectivos int64    `json:"contactosEfectivos"`
	Compromisos        int64    `json:"compromisos"`
	Recupero           Decimal  `json:"recupero"`
}

type AgentArchivo struct {
	Archivo         string  `json:"archivo"`
	Calls           int64   `json:"calls"`
	Commitments     int64   `json:"commitments"`
	AmountRecovered Decimal `json:"amountRecovered"`
}

// NewAgentDetail sums the agent's days: daily holds every date of the range
// (zero-filled, like dailyTrend); byArchivo is by calls desc, then archivo.
func NewAgentDetail(in AgentInput) AgentDetail {
	out := AgentDetail{ID: in.Correo, DNI: in.DNI, AgentName: in.Name, Period: Period{in.From, in.To},
		Daily: []AgentDay{}, ByArchivo: []AgentArchivo{}}
	byDay := map[etl.Date]DayPerformance{}
	centsByDay := map[etl.Date]int64{}
	var calls, cd, pdp, cents int64
	for _, r := range in.Days {
		d := byDay[r.Date]
		byDay[r.Date] = DayPerformance{d.Gestiones + r.Calls, d.ContactosEfectivos + r.CD, d.Compromisos + r.PDP}
		centsByDay[r.Date] += r.RecoveredCents
		calls, cd, pdp, cents = calls+r.Calls, cd+r.CD, pdp+r.PDP, cents+r.RecoveredCents
	}
	out.Totals = AgentTotals{Calls: calls, DirectContacts: cd, Commitments: pdp, AmountRecovered: Money(cents),
		ClosingRate: Pct(pdp, calls), CommitmentConversion: Pct(pdp, cd)}
	if !in.From.IsZero() && !in.To.Before(in.From) {
		for d, i := in.From, 1; !d.After(in.To); d, i = d.AddDays(1), i+1 {
			t := byDay[d]
			out.Daily = append(out.Daily, AgentDay{Day: i, Date: d, Gestiones: t.Gestiones,
				ContactosEfectivos: t.ContactosEfectivos, Compromisos: t.Compromisos, Recupero: Money(centsByDay[d])})
		}
	}
	arch := slices.Clone(in.ByArchivo)
	slices.SortFunc(arch, func(x, y AgentArchivoCounts) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), strings.Compare(x.Archivo, y.Archivo))
	})
	for _, a := range arch {
		out.ByArchivo = append(out.ByArchivo, AgentArchivo{Archivo: a.Archivo, Calls: a.Calls,
			Commitments: a.PDP, AmountRecovered: Money(a.RecoveredCents)})
	}
	return out
}

// ---------------------------------------------------------------------------

func rptSeconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }

func rptUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
