package analytics

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// This file is the dashboard family of api.md §3.1–§3.3: the dashboard (typed,
// normalised parameters, grouping and KPIs), the filters lists and the evolution
// series. The store reads counters; everything computed from them is here.

// ---------------------------------------------------------------------------
// Counters and KPIs (domain.md §5.1)

// Counters are the additive counters of mart.dashboard_data for any set of rows
// (clientes is not additive and not here). Money is in cents, so sums stay exact.
type Counters struct {
	Cuentas             int64
	CuentasGestionables int64
	DeudaAsig           int64 // cents
	DeudaAct            int64 // cents
	CuentasGestionadas  int64
	TotalGestiones      int64
	GestionesBot        int64
	GestionesCall       int64
	CuentasCD           int64
	CuentasCI           int64
	CuentasSC           int64
	CuentasSG           int64
	CuentasPDP          int64
	CuentasPagadoras    int64
	Recupero            int64 // cents
}

// Add sums o into c: KPIs are always computed from summed counters.
func (c *Counters) Add(o Counters) {
	c.Cuentas += o.Cuentas
	c.CuentasGestionables += o.CuentasGestionables
	c.DeudaAsig += o.DeudaAsig
	c.DeudaAct += o.DeudaAct
	c.CuentasGestionadas += o.CuentasGestionadas
	c.TotalGestiones += o.TotalGestiones
	c.GestionesBot += o.GestionesBot
	c.GestionesCall += o.GestionesCall
	c.CuentasCD += o.CuentasCD
	c.CuentasCI += o.CuentasCI
	c.CuentasSC += o.CuentasSC
	c.CuentasSG += o.CuentasSG
	c.CuentasPDP += o.CuentasPDP
	c.CuentasPagadoras += o.CuentasPagadoras
	c.Recupero += o.Recupero
}

// The KPIs of domain.md §5.1: percentages ×100 and intensidad to 2 decimals, half
// away from zero, zero denominator → 0.

func (c Counters) Cobertura() Decimal   { return Pct(c.CuentasGestionadas, c.Cuentas) }
func (c Counters) Contacto() Decimal    { return Pct(c.CuentasCD+c.CuentasCI, c.Cuentas) }
func (c Counters) CD() Decimal          { return Pct(c.CuentasCD, c.Cuentas) }
func (c Counters) CI() Decimal          { return Pct(c.CuentasCI, c.Cuentas) }
func (c Counters) SC() Decimal          { return Pct(c.CuentasSC, c.Cuentas) }
func (c Counters) Conversion() Decimal  { return Pct(c.CuentasPDP, c.CuentasCD) }
func (c Counters) Efectividad() Decimal { return Pct(c.CuentasPDP, c.CuentasGestionadas) }
func (c Counters) Cierre() Decimal      { return Pct(c.CuentasPagadoras, c.Cuentas) }
func (c Counters) PctRecupero() Decimal { return Pct(c.Recupero, c.DeudaAsig) }
func (c Counters) Intensidad() Decimal  { return Ratio(c.TotalGestiones, c.CuentasGestionadas) }

// RecuperoAmount is Σ recupero in PEN.
func (c Counters) RecuperoAmount() Decimal { return Money(c.Recupero) }

// Metric is the value of one evolution metric (EvolutionMetricCatalog); an unknown
// name is a programming error caught by the parsers, and gives 0.
func (c Counters) Metric(name string) Decimal {
	switch name {
	case "cobertura":
		return c.Cobertura()
	case "contacto":
		return c.Contacto()
	case "cd":
		return c.CD()
	case "ci":
		return c.CI()
	case "sc":
		return c.SC()
	case "conversion":
		return c.Conversion()
	case "efectividad":
		return c.Efectividad()
	case "cierre":
		return c.Cierre()
	case "pctRecupero":
		return c.PctRecupero()
	case "recupero":
		return c.RecuperoAmount()
	case "intensidad":
		return c.Intensidad()
	}
	return Decimal{}
}

// ---------------------------------------------------------------------------
// Dashboard parameters (api.md §3.1)

// Dimensions of the dashboard and of evolution.
const (
	DimCartera  = "cartera"
	DimServicio = "servicio"
	DimArchivo  = "archivo"
	DimPeriodo  = "periodo"
	DimNone     = "none"
)

// DashboardDimensions are the dimensions a dashboard table can group by.
var DashboardDimensions = []string{DimCartera, DimServicio, DimArchivo, DimPeriodo}

// Response formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// DashboardParams are one dashboard request, validated and normalised (api.md §2):
// the GET and POST forms of one request give equal values and so the same Hash.
type DashboardParams struct {
	Carteras  []string // upper-case enum values, sorted; nil = every cartera
	Servicios []string // likewise
	Archivos  []string // campaign ids as sent, sorted; nil = every campaign
	Periodos  []Month  // resolved against FechaCorte, sorted; nil = every periodo
	// FechaInicio and FechaFin bound the campaigns' windows; both zero (JSON null)
	// when periodo is given without dates, and then no window applies.
	FechaInicio etl.Date
	FechaFin    etl.Date
	// FechaCorte selects each campaign's snapshot (latest fecha_foto ≤ FechaCorte).
	FechaCorte etl.Date
	// Dimensions are 1–2 distinct DashboardDimensions: [0] groups segmentoData,
	// [1] negocioData.
	Dimensions   []string
	IncludeTotal bool
	Format       string // FormatJSON or FormatCSV
	// Ignored names the accepted-but-ignored filters the request sent, as it named
	// them (tramo, vencimiento, rangoDeuda / rango_deuda), for the
	// X-Pulso-Ignored-Filters header. Not part of the hash.
	Ignored []string
}

// HasWindow reports whether the campaign-window filter applies.
func (p DashboardParams) HasWindow() bool { return !p.FechaInicio.IsZero() }

// MarshalJSON is the canonical form Hash reads: no-filter lists omitted, the window
// dates null when absent, Ignored left out.
func (p DashboardParams) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Cartera      []string  `json:"cartera,omitempty"`
		Servicio     []string  `json:"servicio,omitempty"`
		Archivo      []string  `json:"archivo,omitempty"`
		Periodo      []Month   `json:"periodo,omitempty"`
		FechaInicio  *etl.Date `json:"fechaInicio"`
		FechaFin     *etl.Date `json:"fechaFin"`
		FechaCorte   etl.Date  `json:"fechaCorte"`
		Dimensions   []string  `json:"dimensions"`
		IncludeTotal bool      `json:"includeTotal"`
		Format       string    `json:"format"`
	}{p.Carteras, p.Servicios, p.Archivos, p.Periodos, nullDate(p.FechaInicio), nullDate(p.FechaFin),
		p.FechaCorte, p.Dimensions, p.IncludeTotal, p.Format})
}

func nullDate(d etl.Date) *etl.Date {
	if d.IsZero() {
		return nil
	}
	return &d
}

// Validate checks the invariants of a normalised DashboardParams (what the parsers
// guarantee); the fuzz target holds them to it.
func (p DashboardParams) Validate() error {
	var e Errors
	checkSet(&e, "cartera", p.Carteras, Carteras)
	checkSet(&e, "servicio", p.Servicios, Servicios)
	checkSet(&e, "archivo", p.Archivos, nil)
	if p.Periodos != nil && (len(p.Periodos) == 0 || !slices.IsSortedFunc(p.Periodos, compareMonths)) {
		e.Add("periodo", "not a sorted non-empty set")
	}
	if p.FechaCorte.IsZero() {
		e.Add("fechaCorte", "unset")
	}
	if p.FechaInicio.IsZero() != p.FechaFin.IsZero() {
		e.Add("fechaInicio", "window half set")
	}
	if p.FechaInicio.IsZero() && p.Periodos == nil {
		e.Add("fechaInicio", "no window without periodo")
	}
	if p.FechaFin.Before(p.FechaInicio) {
		e.Add("fechaInicio", "after fechaFin")
	}
	if n := len(p.Dimensions); n < 1 || n > 2 {
		e.Add("dimensions", "%d dimensions", n)
	}
	for i, d := range p.Dimensions {
		if !slices.Contains(DashboardDimensions, d) || slices.Index(p.Dimensions, d) != i {
			e.Add("dimensions", "%q not a distinct dimension", d)
		}
	}
	if p.Format != FormatJSON && p.Format != FormatCSV {
		e.Add("format", "%q", p.Format)
	}
	return e.Err()
}

func checkSet(e *Errors, field string, values, allowed []string) {
	if values == nil {
		return
	}
	if len(values) == 0 || len(values) > MaxListValues || !slices.IsSorted(values) || len(slices.Compact(slices.Clone(values))) != len(values) {
		e.Add(field, "not a sorted non-empty set of at most %d values", MaxListValues)
	}
	for _, v := range values {
		if noFilter(strings.ToUpper(v)) || len(v) > MaxValueLen || (allowed != nil && !slices.Contains(allowed, v)) {
			e.Add(field, "%q not allowed", truncate(v))
		}
	}
}

func compareMonths(a, b Month) int { return strings.Compare(a.String(), b.String()) }

// dashboardInput is a dashboard request before normalisation, whichever form it came
// in, with the field names that form uses for errors.
type dashboardInput struct {
	cartera, servicio, periodo, archivo         []string
	fechaInicio, fechaFin, fechaCorte           string
	dimensions                                  []string
	includeTotal                                string // GET text; POST sets includeTotalSet
	includeTotalBool, includeTotalSet           bool
	format                                      string
	ignored                                     []string
	fCartera, fServicio, fPeriodo, fArchivo     string
	fFechaInicio, fFechaFin, fFechaCorte, fDims string
	fIncludeTotal, fFormat                      string
}

// ParseDashboardQuery reads GET /dashboard's query: cartera, servicio, periodo,
// archivo (repeated or comma lists), fecha_corte, fecha_inicio, fecha_fin,
// dimensions (comma list), include_total, format; tramo, vencimiento and
// rango_deuda (or rangoDeuda) are accepted and ignored. today is the reference day.
func ParseDashboardQuery(q url.Values, today etl.Date) (DashboardParams, error) {
	var e Errors
	in := dashboardInput{
		cartera: q["cartera"], servicio: q["servicio"], periodo: q["periodo"], archivo: q["archivo"],
		fechaInicio: single(&e, q, "fecha_inicio"), fechaFin: single(&e, q, "fecha_fin"),
		fechaCorte: single(&e, q, "fecha_corte"), dimensions: q["dimensions"],
		includeTotal: single(&e, q, "include_total"), format: single(&e, q, "format"),
		fCartera: "cartera", fServicio: "servicio", fPeriodo: "periodo", fArchivo: "archivo",
		fFechaInicio: "fecha_inicio", fFechaFin: "fecha_fin", fFechaCorte: "fecha_corte",
		fDims: "dimensions", fIncludeTotal: "include_total", fFormat: "format",
	}
	for _, name := range []string{"tramo", "vencimiento", "rango_deuda", "rangoDeuda"} {
		if sentQuery(q, name) {
			in.ignored = append(in.ignored, name)
		}
	}
	return normaliseDashboard(&e, in, today)
}

// dashboardBody is POST /dashboard's body (unknown fields ignored, api.md §0).
type dashboardBody struct {
	Filters struct {
		Cartera     []string `json:"cartera"`
		Servicio    []string `json:"servicio"`
		Periodo     []string `json:"periodo"`
		Archivo     []string `json:"archivo"`
		Tramo       []string `json:"tramo"`
		Vencimiento []int    `json:"vencimiento"`
		RangoDeuda  []string `json:"rangoDeuda"`
		FechaInicio string   `json:"fechaInicio"`
		FechaFin    string   `json:"fechaFin"`
	} `json:"filters"`
	FechaCorte   string   `json:"fechaCorte"`
	Dimensions   []string `json:"dimensions"`
	IncludeTotal *bool    `json:"includeTotal"`
	Format       string   `json:"format"`
}

// ParseDashboardBody reads POST /dashboard's JSON body: {filters:{cartera[],
// servicio[], periodo[], archivo[], tramo[], vencimiento[int], rangoDeuda[],
// fechaInicio, fechaFin}, fechaCorte, dimensions, includeTotal, format}. It
// normalises to the same DashboardParams as the equivalent GET.
func ParseDashboardBody(body []byte, today etl.Date) (DashboardParams, error) {
	var e Errors
	var b dashboardBody
	if !e.DecodeBody(body, &b) {
		return DashboardParams{}, e.Err()
	}
	f := b.Filters
	in := dashboardInput{
		cartera: f.Cartera, servicio: f.Servicio, periodo: f.Periodo, archivo: f.Archivo,
		fechaInicio: f.FechaInicio, fechaFin: f.FechaFin, fechaCorte: b.FechaCorte,
		dimensions: b.Dimensions, format: b.Format,
		fCartera: "filters.cartera", fServicio: "filters.servicio", fPeriodo: "filters.periodo", fArchivo: "filters.archivo",
		fFechaInicio: "filters.fechaInicio", fFechaFin: "filters.fechaFin", fFechaCorte: "fechaCorte",
		fDims: "dimensions", fIncludeTotal: "includeTotal", fFormat: "format",
	}
	if b.IncludeTotal != nil {
		in.includeTotalSet, in.includeTotalBool = true, *b.IncludeTotal
	}
	if len(f.Tramo) > 0 {
		in.ignored = append(in.ignored, "tramo")
	}
	if len(f.Vencimiento) > 0 {
		in.ignored = append(in.ignored, "vencimiento")
	}
	if len(f.RangoDeuda) > 0 {
		in.ignored = append(in.ignored, "rangoDeuda")
	}
	return normaliseDashboard(&e, in, today)
}

// normaliseDashboard applies §3.1's defaults and checks: fechaCorte = fechaFin if
// given, else today; fechaInicio, fechaFin default to the first day of fechaCorte's
// month and fechaCorte, except that periodo without dates leaves no window; periodo
// aliases resolve against fechaCorte.
func normaliseDashboard(e *Errors, in dashboardInput, today etl.Date) (DashboardParams, error) {
	p := DashboardParams{Ignored: in.ignored}
	p.Carteras = e.Enum(in.fCartera, in.cartera, Carteras)
	p.Servicios = e.Enum(in.fServicio, in.servicio, Servicios)
	p.Archivos = e.Strings(in.fArchivo, in.archivo)
	inicio := e.Date(in.fFechaInicio, in.fechaInicio)
	fin := e.Date(in.fFechaFin, in.fechaFin)
	corte := e.Date(in.fFechaCorte, in.fechaCorte)
	switch {
	case !corte.IsZero():
	case !fin.IsZero():
		corte = fin
	default:
		corte = today
	}
	p.FechaCorte = corte
	p.Periodos = e.Periodos(in.fPeriodo, in.periodo, corte)
	// periodo without dates: no window (JSON null).
	if noWindow := p.Periodos != nil && inicio.IsZero() && fin.IsZero(); !noWindow {
		if inicio.IsZero() {
			inicio = MonthOf(corte).First()
		}
		if fin.IsZero() {
			fin = corte
		}
		if fin.Before(inicio) {
			e.Add(in.fFechaInicio, "must be on or before %s (%s > %s)", fieldLabel(in.fFechaFin), inicio, fin)
		}
		p.FechaInicio, p.FechaFin = inicio, fin
	}
	p.Dimensions = parseDimensions(e, in.fDims, in.dimensions)
	if in.includeTotalSet {
		p.IncludeTotal = in.includeTotalBool
	} else {
		p.IncludeTotal = e.Bool(in.fIncludeTotal, in.includeTotal, false)
	}
	p.Format = ParseFormat(e, in.fFormat, in.format)
	if err := e.Err(); err != nil {
		return DashboardParams{}, err
	}
	return p, nil
}

func fieldLabel(f string) string { return f[strings.LastIndexByte(f, '.')+1:] }

// parseDimensions reads 1–2 distinct dimensions, in order (negocio = servicio);
// none given → cartera, servicio.
func parseDimensions(e *Errors, field string, values []string) []string {
	var out []string
	for _, v := range e.SplitList(field, values) {
		v = strings.ToLower(v)
		if v == "" {
			continue
		}
		if v == "negocio" {
			v = DimServicio
		}
		if !slices.Contains(DashboardDimensions, v) {
			e.Add(field, "%q is not one of cartera, servicio (negocio), archivo, periodo", truncate(v))
			return nil
		}
		if slices.Contains(out, v) {
			e.Add(field, "dimensions must be distinct (%q repeated)", v)
			return nil
		}
		out = append(out, v)
	}
	switch {
	case len(out) == 0:
		return []string{DimCartera, DimServicio}
	case len(out) > 2:
		e.Add(field, "one or two dimensions, not %d", len(out))
		return nil
	}
	return out
}

// ParseFormat reads the response format: json (default) or csv, any case.
func ParseFormat(e *Errors, field, s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", FormatJSON:
		return FormatJSON
	case FormatCSV:
		return FormatCSV
	}
	e.Add(field, "%q is not one of json, csv", truncate(s))
	return FormatJSON
}

// single is a query parameter that may be given once.
func single(e *Errors, q url.Values, key string) string {
	vs := q[key]
	if len(vs) > 1 {
		e.Add(key, "give it once, not %d times", len(vs))
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// sentQuery reports a query parameter given with some non-blank value.
func sentQuery(q url.Values, key string) bool {
	for _, v := range q[key] {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Dashboard response (api.md §3.1)

// Dashboard is the bare dashboard response; arrays are never null.
type Dashboard struct {
	SegmentoData      []DataRow    `json:"segmentoData"`
	NegocioData       []DataRow    `json:"negocioData"`
	IntegralChartData []ChartPoint `json:"integralChartData"`
}

// StatusNone is every *Status field's value.
const StatusNone = "none"

// DataRow is one dashboard table row.
type DataRow struct {
	ID                       string  `json:"id"`
	Name                     string  `json:"name"`
	Status                   string  `json:"status"`
	PorcentajeDeudaStatus    string  `json:"porcentajeDeudaStatus"`
	PorcentajeDeudaActStatus string  `json:"porcentajeDeudaActStatus"`
	ContactoStatus           string  `json:"contactoStatus"`
	CierreStatus             string  `json:"cierreStatus"`
	IntenStatus              string  `json:"intenStatus"`
	Cuentas                  int64   `json:"cuentas"`
	PorcentajeCuentas        Decimal `json:"porcentajeCuentas"`
	DeudaAsig                Decimal `json:"deudaAsig"`
	PorcentajeDeuda          Decimal `json:"porcentajeDeuda"`
	DeudaAct                 Decimal `json:"deudaAct"`
	PorcentajeDeudaAct       Decimal `json:"porcentajeDeudaAct"`
	Cobertura                Decimal `json:"cobertura"`
	Contacto                 Decimal `json:"contacto"`
	CD                       Decimal `json:"cd"`
	CI                       Decimal `json:"ci"`
	SC                       Decimal `json:"sc"`
	Cierre                   Decimal `json:"cierre"`
	Inten                    Decimal `json:"inten"`
	CDCount                  int64   `json:"cdCount"`
	CICount                  int64   `json:"ciCount"`
	SCCount                  int64   `json:"scCount"`
	SGCount                  int64   `json:"sgCount"`
	PDPCount                 int64   `json:"pdpCount"`
	FracCount                int64   `json:"fracCount"`
	PDPFracCount             int64   `json:"pdpFracCount"`
	// Only when grouping by archivo, else null.
	FechaAsignacion *etl.Date `json:"fechaAsignacion"`
	FechaCierre     *etl.Date `json:"fechaCierre"`
	DiasGestion     *int      `json:"diasGestion"`
	DiasHabiles     *int      `json:"diasHabiles"`
	// Added fields.
	Recupero          Decimal `json:"recupero"`
	PctRecupero       Decimal `json:"pctRecupero"`
	Conversion        Decimal `json:"conversion"`
	Efectividad       Decimal `json:"efectividad"`
	GestionablesCount int64   `json:"gestionablesCount"`
	GestionadasCount  int64   `json:"gestionadasCount"`
	PagadorasCount    int64   `json:"pagadorasCount"`
	TotalGestiones    int64   `json:"totalGestiones"`
}

// ChartPoint is integralChartData's point for one segmentoData row.
type ChartPoint struct {
	Name              string  `json:"name"`
	Cobertura         Decimal `json:"cobertura"`
	Contacto          Decimal `json:"contacto"`
	ContactoDirecto   Decimal `json:"contactoDirecto"`
	ContactoIndirecto Decimal `json:"contactoIndirecto"`
	TasaDeCierre      Decimal `json:"tasaDeCierre"`
	Intensidad        Decimal `json:"intensidad"`
}

// SnapshotRow is one mart.dashboard_data row at its campaign's snapshot (the
// latest fecha_foto ≤ fechaCorte), with the campaign attributes grouping needs.
type SnapshotRow struct {
	Archivo  string
	Cartera  string
	Servicio string
	Periodo  string // the campaign's YYYY-MM (month of apertura)
	Apertura etl.Date
	Cierre   etl.Date // zero while open
	Snapshot etl.Date // the row's fecha_foto
	Counters
}

func (r SnapshotRow) dimension(dim string) string {
	switch dim {
	case DimCartera:
		return r.Cartera
	case DimServicio:
		return r.Servicio
	case DimArchivo:
		return r.Archivo
	case DimPeriodo:
		return r.Periodo
	}
	return ""
}

// BuildDashboard groups snapshot rows (steps (1)–(3) of §3.1 already applied) by
// the requested dimensions and computes every field from the summed counters
// (step (4)). holidays are the non-business days for diasHabiles.
func BuildDashboard(p DashboardParams, rows []SnapshotRow, holidays []etl.Date) Dashboard {
	out := Dashboard{SegmentoData: []DataRow{}, NegocioData: []DataRow{}, IntegralChartData: []ChartPoint{}}
	if len(p.Dimensions) > 0 {
		var total Counters
		out.SegmentoData, total = dashboardTable(p.Dimensions[0], rows, holidays)
		for _, r := range out.SegmentoData {
			out.IntegralChartData = append(out.IntegralChartData, ChartPoint{Name: r.Name, Cobertura: r.Cobertura,
				Contacto: r.Contacto, ContactoDirecto: r.CD, ContactoIndirecto: r.CI, TasaDeCierre: r.Cierre, Intensidad: r.Inten})
		}
		out.SegmentoData = appendTotal(out.SegmentoData, total, p.IncludeTotal)
	}
	if len(p.Dimensions) > 1 {
		table, total := dashboardTable(p.Dimensions[1], rows, holidays)
		out.NegocioData = appendTotal(table, total, p.IncludeTotal)
	}
	return out
}

// appendTotal adds the {id:"total", name:"Total"} row of a non-empty table.
func appendTotal(table []DataRow, total Counters, include bool) []DataRow {
	if include && len(table) > 0 {
		table = append(table, newDataRow("total", "Total", total, total))
	}
	return table
}

type dashboardGroup struct {
	counters Counters
	first    SnapshotRow // the archivo's campaign attributes (archivo grouping)
}

// dashboardTable groups rows by one dimension, sorted by name, and returns the
// table's summed counters too (the base of every porcentaje* and of the total).
func dashboardTable(dim string, rows []SnapshotRow, holidays []etl.Date) ([]DataRow, Counters) {
	groups := map[string]*dashboardGroup{}
	var total Counters
	for _, r := range rows {
		k := r.dimension(dim)
		g, ok := groups[k]
		if !ok {
			g = &dashboardGroup{first: r}
			groups[k] = g
		}
		g.counters.Add(r.Counters)
		total.Add(r.Counters)
	}
	names := make([]string, 0, len(groups))
	for k := range groups {
		names = append(names, k)
	}
	slices.Sort(names)
	table := make([]DataRow, 0, len(names)+1)
	for _, k := range names {
		g := groups[k]
		row := newDataRow(strings.ToLower(k), k, g.counters, total)
		if dim == DimArchivo {
			apertura, cierre := g.first.Apertura, g.first.Cierre
			row.FechaAsignacion = &apertura
			row.FechaCierre = nullDate(cierre)
			dias := DaysBetween(apertura, g.first.Snapshot) + 1
			habiles := BusinessDays(apertura, g.first.Snapshot, holidays)
			row.DiasGestion, row.DiasHabiles = &dias, &habiles
		}
		table = append(table, row)
	}
	return table, total
}

func newDataRow(id, name string, c, total Counters) DataRow {
	return DataRow{
		ID: id, Name: name,
		Status: StatusNone, PorcentajeDeudaStatus: StatusNone, PorcentajeDeudaActStatus: StatusNone,
		ContactoStatus: StatusNone, CierreStatus: StatusNone, IntenStatus: StatusNone,
		Cuentas:            c.Cuentas,
		PorcentajeCuentas:  Pct(c.Cuentas, total.Cuentas),
		DeudaAsig:          Money(c.DeudaAsig),
		PorcentajeDeuda:    Pct(c.DeudaAsig, total.DeudaAsig),
		DeudaAct:           Money(c.DeudaAct),
		PorcentajeDeudaAct: Pct(c.DeudaAct, total.DeudaAct),
		Cobertura:          c.Cobertura(),
		Contacto:           c.Contacto(),
		CD:                 c.CD(),
		CI:                 c.CI(),
		SC:                 c.SC(),
		Cierre:             c.Cierre(),
		Inten:              c.Intensidad(),
		CDCount:            c.CuentasCD,
		CICount:            c.CuentasCI,
		SCCount:            c.CuentasSC,
		SGCount:            c.CuentasSG,
		PDPCount:           c.CuentasPDP,
		FracCount:          0,
		PDPFracCount:       c.CuentasPDP + 0,
		Recupero:           c.RecuperoAmount(),
		PctRecupero:        c.PctRecupero(),
		Conversion:         c.Conversion(),
		Efectividad:        c.Efectividad(),
		GestionablesCount:  c.CuentasGestionables,
		GestionadasCount:   c.CuentasGestionadas,
		PagadorasCount:     c.CuentasPagadoras,
		TotalGestiones:     c.TotalGestiones,
	}
}

// BusinessDays counts Monday–Friday days in [from, to] (inclusive) that are not
// holidays (domain.md §4); 0 when to < from.
func BusinessDays(from, to etl.Date, holidays []etl.Date) int {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	days := DaysBetween(from, to) + 1
	n := days / 7 * 5
	wd := from.Start().Weekday()
	for i := 0; i < days%7; i++ {
		if d := (int(wd) + i) % 7; d != 0 && d != 6 {
			n++
		}
	}
	seen := map[etl.Date]bool{}
	for _, h := range holidays {
		if h.IsZero() || h.Before(from) || h.After(to) || seen[h] {
			continue
		}
		seen[h] = true
		if wd := h.Start().Weekday(); wd >= 1 && wd <= 5 {
			n--
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Filters (api.md §3.2)

// FilterOption is one {value, label} choice.
type FilterOption struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Filters is /filters' data: the choices of each dashboard filter and the range of
// built days (null when there is none).
type Filters struct {
	Cartera  []FilterOption `json:"cartera"`
	Servicio []FilterOption `json:"servicio"`
	Periodo  []FilterOption `json:"periodo"`
	Archivo  []FilterOption `json:"archivo"`
	FechaMin *etl.Date      `json:"fechaMin"`
	FechaMax *etl.Date      `json:"fechaMax"`
}

var carteraLabels = map[string]string{
	"TEMPRANA": "Temprana", "CUOTA_FRACCIONAMIENTO": "Cuota Fraccionamiento",
	"ALTAS_NUEVAS": "Altas Nuevas", "OTRAS": "Otras",
}

var periodoAliasLabels = map[string]string{
	PeriodoActual: "Mes actual", PeriodoAnterior: "Mes anterior",
	PeriodoUltimoMes: "Último mes", PeriodoUltimos3Meses: "Últimos 3 meses",
}

var mesesES = [...]string{"Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio",
	"Agosto", "Septiembre", "Octubre", "Noviembre", "Diciembre"}

// BuildFilters assembles /filters' data from the database's lists: periodos
// (campaign periodos, newest first), archivos (campaigns with dashboard rows, newest
// apertura first) and the min/max fecha_foto (zero when there are no rows).
func BuildFilters(periodos, archivos []string, fechaMin, fechaMax etl.Date) Filters {
	f := Filters{
		Cartera:  []FilterOption{{"TODAS", "Todas"}},
		Servicio: []FilterOption{{"TODOS", "Todos"}, {"MOVIL", "Móvil"}, {"FIJA", "Fija"}},
		Periodo:  make([]FilterOption, 0, len(PeriodoAliases)+len(periodos)),
		Archivo:  make([]FilterOption, 0, len(archivos)),
		FechaMin: nullDate(fechaMin),
		FechaMax: nullDate(fechaMax),
	}
	for _, c := range Carteras {
		f.Cartera = append(f.Cartera, FilterOption{c, carteraLabels[c]})
	}
	for _, a := range PeriodoAliases {
		f.Periodo = append(f.Periodo, FilterOption{a, periodoAliasLabels[a]})
	}
	for _, p := range periodos {
		label := p
		if m, ok := ParseMonth(p); ok {
			label = fmt.Sprintf("%s %d", mesesES[m.Month-1], m.Year)
		}
		f.Periodo = append(f.Periodo, FilterOption{p, label})
	}
	for _, a := range archivos {
		f.Archivo = append(f.Archivo, FilterOption{a, a})
	}
	return f
}

// ---------------------------------------------------------------------------
// Evolution (api.md §3.3)

// Value types of evolution metrics.
const (
	ValuePercent  = "percent"
	ValueCurrency = "currency"
	ValueNumber   = "number"
)

// EvolutionMetricInfo describes one evolution metric (GET /evolution/metrics).
type EvolutionMetricInfo struct {
	Metric      string `json:"metric"`
	Description string `json:"description"`
	ValueType   string `json:"valueType"`
}

// EvolutionMetricCatalog is the static list of evolution metrics (api.md §3.3,
// formulas of domain.md §5.1).
var EvolutionMetricCatalog = []EvolutionMetricInfo{
	{"cobertura", "Cobertura: cuentas gestionadas / cuentas × 100", ValuePercent},
	{"contacto", "Contactabilidad: cuentas con contacto directo o indirecto / cuentas × 100", ValuePercent},
	{"cd", "Contacto directo: cuentas con contacto efectivo / cuentas × 100", ValuePercent},
	{"ci", "Contacto indirecto: cuentas con contacto no efectivo (sin directo) / cuentas × 100", ValuePercent},
	{"sc", "Sin contacto: cuentas gestionadas sin contacto / cuentas × 100", ValuePercent},
	{"conversion", "Conversión: cuentas con promesa de pago / cuentas con contacto directo × 100", ValuePercent},
	{"efectividad", "Efectividad: cuentas con promesa de pago / cuentas gestionadas × 100", ValuePercent},
	{"cierre", "Cierre: cuentas pagadoras / cuentas × 100", ValuePercent},
	{"pctRecupero", "Porcentaje de recupero: recupero / deuda asignada × 100", ValuePercent},
	{"recupero", "Recupero: monto recuperado (PEN)", ValueCurrency},
	{"intensidad", "Intensidad: gestiones / cuentas gestionadas", ValueNumber},
}

func evolutionMetricInfo(name string) (EvolutionMetricInfo, bool) {
	for _, m := range EvolutionMetricCatalog {
		if strings.EqualFold(m.Metric, name) {
			return m, true
		}
	}
	return EvolutionMetricInfo{}, false
}

// Default metric lists of GET and POST /evolution.
var (
	EvolutionGetMetrics  = []string{"cobertura", "contacto", "cd", "ci", "cierre", "recupero"}
	EvolutionPostMetrics = []string{"cobertura", "contacto", "cierre", "intensidad"}
)

// EvolutionDimensions are evolution's comparison dimensions.
var EvolutionDimensions = []string{DimCartera, DimServicio, DimArchivo, DimPeriodo, DimNone}

// EvolutionParams are one evolution request, validated and normalised.
type EvolutionParams struct {
	Carteras    []string `json:"cartera,omitempty"`
	Servicios   []string `json:"servicio,omitempty"`
	Archivos    []string `json:"archivo,omitempty"`
	FechaInicio etl.Date `json:"fechaInicio"`
	FechaFin    etl.Date `json:"fechaFin"`
	// Metrics in the requested order, distinct, canonical names.
	Metrics []string `json:"metrics"`
	// Dimension is one of EvolutionDimensions.
	Dimension string `json:"dimension"`
	Format    string `json:"format"`
}

// Validate checks the invariants of a normalised EvolutionParams.
func (p EvolutionParams) Validate() error {
	var e Errors
	checkSet(&e, "cartera", p.Carteras, Carteras)
	checkSet(&e, "servicio", p.Servicios, Servicios)
	checkSet(&e, "archivo", p.Archivos, nil)
	if p.FechaInicio.IsZero() || p.FechaFin.IsZero() || p.FechaFin.Before(p.FechaInicio) ||
		DaysBetween(p.FechaInicio, p.FechaFin)+1 > MaxRangeDays {
		e.Add("fechaInicio", "bad range %s..%s", p.FechaInicio, p.FechaFin)
	}
	if len(p.Metrics) == 0 {
		e.Add("metrics", "empty")
	}
	for i, m := range p.Metrics {
		if info, ok := evolutionMetricInfo(m); !ok || info.Metric != m || slices.Index(p.Metrics, m) != i {
			e.Add("metrics", "%q", m)
		}
	}
	if !slices.Contains(EvolutionDimensions, p.Dimension) {
		e.Add("dimension", "%q", p.Dimension)
	}
	if p.Format != FormatJSON && p.Format != FormatCSV {
		e.Add("format", "%q", p.Format)
	}
	return e.Err()
}

type evolutionInput struct {
	cartera, servicio, archivo, metrics []string
	fechaInicio, fechaFin, dimension    string
	format                              string
	post                                bool
	fCartera, fServicio, fArchivo       string
	fInicio, fFin, fMetrics, fDim       string
	fFormat                             string
}

// ParseEvolutionQuery reads GET /evolution's query: cartera, servicio, archivo,
// fecha_inicio (default fin − 29 days), fecha_fin (default today), metrics (comma
// list, default cobertura,contacto,cd,ci,cierre,recupero), dimension (default none),
// format.
func ParseEvolutionQuery(q url.Values, today etl.Date) (EvolutionParams, error) {
	var e Errors
	in := evolutionInput{
		cartera: q["cartera"], servicio: q["servicio"], archivo: q["archivo"], metrics: q["metrics"],
		fechaInicio: single(&e, q, "fecha_inicio"), fechaFin: single(&e, q, "fecha_fin"),
		dimension: single(&e, q, "dimension"), format: single(&e, q, "format"),
		fCartera: "cartera", fServicio: "servicio", fArchivo: "archivo",
		fInicio: "fecha_inicio", fFin: "fecha_fin", fMetrics: "metrics", fDim: "dimension", fFormat: "format",
	}
	return normaliseEvolution(&e, in, today)
}

type evolutionBody struct {
	Filters struct {
		Cartera  []string `json:"cartera"`
		Servicio []string `json:"servicio"`
		Archivo  []string `json:"archivo"`
	} `json:"filters"`
	FechaInicio         string   `json:"fechaInicio"`
	FechaFin            string   `json:"fechaFin"`
	ComparisonDimension string   `json:"comparisonDimension"`
	IncludeMetrics      []string `json:"includeMetrics"`
	Format              string   `json:"format"`
}

// ParseEvolutionBody reads POST /evolution's body: {filters:{cartera, servicio,
// archivo}, fechaInicio, fechaFin (both required), comparisonDimension (default
// cartera), includeMetrics (default cobertura,contacto,cierre,intensidad), format}.
func ParseEvolutionBody(body []byte, today etl.Date) (EvolutionParams, error) {
	var e Errors
	var b evolutionBody
	if !e.DecodeBody(body, &b) {
		return EvolutionParams{}, e.Err()
	}
	in := evolutionInput{
		cartera: b.Filters.Cartera, servicio: b.Filters.Servicio, archivo: b.Filters.Archivo,
		metrics: b.IncludeMetrics, fechaInicio: b.FechaInicio, fechaFin: b.FechaFin,
		dimension: b.ComparisonDimension, format: b.Format, post: true,
		fCartera: "filters.cartera", fServicio: "filters.servicio", fArchivo: "filters.archivo",
		fInicio: "fechaInicio", fFin: "fechaFin", fMetrics: "includeMetrics", fDim: "comparisonDimension", fFormat: "format",
	}
	return normaliseEvolution(&e, in, today)
}

func normaliseEvolution(e *Errors, in evolutionInput, today etl.Date) (EvolutionParams, error) {
	var p EvolutionParams
	p.Carteras = e.Enum(in.fCartera, in.cartera, Carteras)
	p.Servicios = e.Enum(in.fServicio, in.servicio, Servicios)
	p.Archivos = e.Strings(in.fArchivo, in.archivo)
	inicio := e.Date(in.fInicio, in.fechaInicio)
	fin := e.Date(in.fFin, in.fechaFin)
	if in.post {
		if strings.TrimSpace(in.fechaFin) == "" {
			e.Add(in.fFin, "is required")
		}
		if strings.TrimSpace(in.fechaInicio) == "" {
			e.Add(in.fInicio, "is required")
		}
	} else {
		if fin.IsZero() && strings.TrimSpace(in.fechaFin) == "" {
			fin = today
		}
		if inicio.IsZero() && strings.TrimSpace(in.fechaInicio) == "" && !fin.IsZero() {
			inicio = fin.AddDays(-29)
		}
	}
	e.Range(in.fInicio, inicio, fin, fmt.Sprintf("must be on or before %s", fieldLabel(in.fFin)))
	p.FechaInicio, p.FechaFin = inicio, fin

	defaults := EvolutionGetMetrics
	if in.post {
		defaults = EvolutionPostMetrics
	}
	p.Metrics = parseMetrics(e, in.fMetrics, in.metrics, defaults)

	p.Dimension = DimNone
	if in.post {
		p.Dimension = DimCartera
	}
	if d := strings.ToLower(strings.TrimSpace(in.dimension)); d != "" {
		if d == "negocio" {
			d = DimServicio
		}
		if slices.Contains(EvolutionDimensions, d) {
			p.Dimension = d
		} else {
			e.Add(in.fDim, "%q is not one of %s", truncate(in.dimension), strings.Join(EvolutionDimensions, ", "))
		}
	}
	p.Format = ParseFormat(e, in.fFormat, in.format)
	if err := e.Err(); err != nil {
		return EvolutionParams{}, err
	}
	return p, nil
}

// parseMetrics reads a metric list in the requested order, names matched
// case-insensitively, repeats dropped; none → defaults.
func parseMetrics(e *Errors, field string, values, defaults []string) []string {
	var out []string
	for _, v := range e.SplitList(field, values) {
		if v == "" {
			continue
		}
		info, ok := evolutionMetricInfo(v)
		if !ok {
			e.Add(field, "%q is not an evolution metric (see /api/v1/evolution/metrics)", truncate(v))
			continue
		}
		if !slices.Contains(out, info.Metric) {
			out = append(out, info.Metric)
		}
	}
	if len(out) == 0 {
		return slices.Clone(defaults)
	}
	return out
}

// EvolutionMetric is one metric's series (the response is an array of them, in the
// requested order).
type EvolutionMetric struct {
	Metric    string            `json:"metric"`
	ValueType string            `json:"valueType"`
	Series    []EvolutionSeries `json:"series"`
}

// EvolutionSeries is one dimension value's points (or "TODAS").
type EvolutionSeries struct {
	Name string           `json:"name"`
	Data []EvolutionPoint `json:"data"`
}

// EvolutionPoint is the value on one date; day is 1 on fechaInicio.
type EvolutionPoint struct {
	Day   int      `json:"day"`
	Date  etl.Date `json:"date"`
	Value Decimal  `json:"value"`
}

// SeriesAll names the single series of dimension none.
const SeriesAll = "TODAS"

// EvolutionRow is Σ counters of the dashboard rows of one (date, dimension value).
type EvolutionRow struct {
	Date etl.Date
	Key  string // dimension value, SeriesAll for none
	Counters
}

// BuildEvolution turns per-(date, value) counters into the response: one series per
// dimension value sorted by name (exactly one, TODAS, for none), a point for each
// date that has rows, in date order.
func BuildEvolution(p EvolutionParams, rows []EvolutionRow) []EvolutionMetric {
	byKey := map[string][]EvolutionRow{}
	for _, r := range rows {
		k := r.Key
		if p.Dimension == DimNone {
			k = SeriesAll
		}
		byKey[k] = append(byKey[k], r)
	}
	if p.Dimension == DimNone && byKey[SeriesAll] == nil {
		byKey[SeriesAll] = []EvolutionRow{}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		rs := byKey[k]
		slices.SortStableFunc(rs, func(a, b EvolutionRow) int { return a.Date.Start().Compare(b.Date.Start()) })
		// Rows of one (date, key) are summed (the store already groups them).
		merged := rs[:0:0]
		for _, r := range rs {
			if n := len(merged); n > 0 && merged[n-1].Date.Equal(r.Date) {
				merged[n-1].Counters.Add(r.Counters)
				continue
			}
			merged = append(merged, r)
		}
		byKey[k] = merged
	}
	out := make([]EvolutionMetric, 0, len(p.Metrics))
	for _, m := range p.Metrics {
		info, _ := evolutionMetricInfo(m)
		em := EvolutionMetric{Metric: info.Metric, ValueType: info.ValueType, Series: make([]EvolutionSeries, 0, len(keys))}
		for _, k := range keys {
			s := EvolutionSeries{Name: k, Data: make([]EvolutionPoint, 0, len(byKey[k]))}
			for _, r := range byKey[k] {
				s.Data = append(s.Data, EvolutionPoint{Day: DaysBetween(p.FechaInicio, r.Date) + 1,
					Date: r.Date, Value: r.Counters.Metric(info.Metric)})
			}
			em.Series = append(em.Series, s)
		}
		out = append(out, em)
	}
	return out
}
