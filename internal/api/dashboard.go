package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// dashboardRoutes are api.md §3.1–§3.3: dashboard, filters and evolution.
func (s *Server) dashboardRoutes() []route {
	read := []string{PermDashboardRead}
	return []route{
		{method: http.MethodGet, path: apiV1 + "/dashboard", perms: read, handler: s.dashboardGet},
		{method: http.MethodPost, path: apiV1 + "/dashboard", perms: read, handler: s.dashboardPost},
		{method: http.MethodGet, path: apiV1 + "/filters", perms: read, handler: s.filters},
		{method: http.MethodGet, path: apiV1 + "/evolution", perms: read, handler: s.evolutionGet},
		{method: http.MethodPost, path: apiV1 + "/evolution", perms: read, handler: s.evolutionPost},
		{method: http.MethodGet, path: apiV1 + "/evolution/carteras", perms: read, handler: s.evolutionCarteras},
		{method: http.MethodGet, path: apiV1 + "/evolution/metrics", perms: read, handler: s.evolutionMetrics},
	}
}

// Cache endpoint names (and CacheTTL keys) of this family.
const (
	cacheDashboard = "dashboard"
	cacheFilters   = "filters"
	cacheEvolution = "evolution"
)

func (s *Server) dashboardGet(c echo.Context) error {
	p, err := analytics.ParseDashboardQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return s.serveDashboard(c, p)
}

func (s *Server) dashboardPost(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's 413, or a broken connection
	}
	p, err := analytics.ParseDashboardBody(body, s.today())
	if err != nil {
		return err
	}
	if p.Format, err = queryFormat(c, p.Format); err != nil {
		return err
	}
	return s.serveDashboard(c, p)
}

func (s *Server) serveDashboard(c echo.Context, p analytics.DashboardParams) error {
	if len(p.Ignored) > 0 {
		c.Response().Header().Set("X-Pulso-Ignored-Filters", strings.Join(p.Ignored, ","))
	}
	render, err := csvResponder(c, p.Format, "dashboard.csv", dashboardCSV)
	if err != nil {
		return err
	}
	holidays := s.cfg.Holidays
	return serveCached(s, c, cacheDashboard, p, func(ctx context.Context, snap Snapshot) (analytics.Dashboard, error) {
		return postgres.ReadDashboard(ctx, snap.Tx, p, holidays)
	}, render)
}

// filters is GET /filters: the envelope is what gets cached.
func (s *Server) filters(c echo.Context) error {
	params := struct {
		Resource string `json:"resource"`
	}{"filters"}
	return serveCached(s, c, cacheFilters, params, func(ctx context.Context, snap Snapshot) (envelope, error) {
		f, err := postgres.ReadFilters(ctx, snap.Tx)
		if err != nil {
			return envelope{}, err
		}
		return success(f), nil
	}, nil)
}

func (s *Server) evolutionGet(c echo.Context) error {
	p, err := analytics.ParseEvolutionQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return s.serveEvolution(c, p)
}

func (s *Server) evolutionPost(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	p, err := analytics.ParseEvolutionBody(body, s.today())
	if err != nil {
		return err
	}
	if p.Format, err = queryFormat(c, p.Format); err != nil {
		return err
	}
	return s.serveEvolution(c, p)
}

func (s *Server) serveEvolution(c echo.Context, p analytics.EvolutionParams) error {
	render, err := csvResponder(c, p.Format, "evolution.csv", evolutionCSV)
	if err != nil {
		return err
	}
	return serveCached(s, c, cacheEvolution, p, func(ctx context.Context, snap Snapshot) ([]analytics.EvolutionMetric, error) {
		return postgres.ReadEvolution(ctx, snap.Tx, p)
	}, render)
}

// evolutionCarteras is GET /evolution/carteras, cached with evolution's TTL under
// its own parameters.
func (s *Server) evolutionCarteras(c echo.Context) error {
	params := struct {
		Resource string `json:"resource"`
	}{"evolution/carteras"}
	return serveCached(s, c, cacheEvolution, params, func(ctx context.Context, snap Snapshot) ([]string, error) {
		return postgres.ReadEvolutionCarteras(ctx, snap.Tx)
	}, nil)
}

// evolutionMetrics is GET /evolution/metrics: static, not cached.
func (s *Server) evolutionMetrics(c echo.Context) error {
	return c.JSON(http.StatusOK, success(analytics.EvolutionMetricCatalog))
}

// queryFormat lets a POST ask for CSV as ?format=csv too (the body's "format" field
// is the other way); a query value, when present, wins.
func queryFormat(c echo.Context, bodyFormat string) (string, error) {
	f := c.QueryParam("format")
	if f == "" {
		return bodyFormat, nil
	}
	var e analytics.Errors
	format := analytics.ParseFormat(&e, "format", f)
	return format, e.Err()
}

// csvResponder returns nil for JSON, or a renderer writing the CSV form after checking
// the extra reports.export permission format=csv needs (403 otherwise).
func csvResponder[T any](c echo.Context, format, filename string, records func(*T) [][]string) (func(echo.Context, *T) error, error) {
	if format != analytics.FormatCSV {
		return nil, nil
	}
	if !hasPermission(c, PermReportsExport) {
		return nil, NewError(http.StatusForbidden, CodeForbidden, "Missing permission "+PermReportsExport)
	}
	return func(c echo.Context, v *T) error {
		var buf bytes.Buffer
		buf.WriteString("\ufeff") // UTF-8 BOM
		w := csv.NewWriter(&buf)  // RFC 4180, "," separator
		if err := w.WriteAll(records(v)); err != nil {
			return fmt.Errorf("write %s: %w", filename, err)
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	}, nil
}

// dashboardCSVHeader is the dashboard's CSV form: one line per DataRow, segmentoData
// rows first and then negocioData rows (each table's total row included when asked
// for), the first column "tabla" naming the JSON array the row belongs to
// (segmentoData or negocioData), the other columns the DataRow's JSON fields in
// order, null as an empty field. integralChartData repeats segmentoData's KPIs and
// is not written.
var dashboardCSVHeader = []string{"tabla", "id", "name", "status", "porcentajeDeudaStatus",
	"porcentajeDeudaActStatus", "contactoStatus", "cierreStatus", "intenStatus",
	"cuentas", "porcentajeCuentas", "deudaAsig", "porcentajeDeuda", "deudaAct", "porcentajeDeudaAct",
	"cobertura", "contacto", "cd", "ci", "sc", "cierre", "inten",
	"cdCount", "ciCount", "scCount", "sgCount", "pdpCount", "fracCount", "pdpFracCount",
	"fechaAsignacion", "fechaCierre", "diasGestion", "diasHabiles",
	"recupero", "pctRecupero", "conversion", "efectividad",
	"gestionablesCount", "gestionadasCount", "pagadorasCount", "totalGestiones"}

func dashboardCSV(d *analytics.Dashboard) [][]string {
	out := [][]string{dashboardCSVHeader}
	add := func(tabla string, rows []analytics.DataRow) {
		for _, r := range rows {
			i := strconv.FormatInt
			out = append(out, []string{tabla, r.ID, r.Name, r.Status, r.PorcentajeDeudaStatus,
				r.PorcentajeDeudaActStatus, r.ContactoStatus, r.CierreStatus, r.IntenStatus,
				i(r.Cuentas, 10), r.PorcentajeCuentas.String(), r.DeudaAsig.String(), r.PorcentajeDeuda.String(),
				r.DeudaAct.String(), r.PorcentajeDeudaAct.String(),
				r.Cobertura.String(), r.Contacto.String(), r.CD.String(), r.CI.String(), r.SC.String(),
				r.Cierre.String(), r.Inten.String(),
				i(r.CDCount, 10), i(r.CICount, 10), i(r.SCCount, 10), i(r.SGCount, 10), i(r.PDPCount, 10),
				i(r.FracCount, 10), i(r.PDPFracCount, 10),
				dashCSVDate(r.FechaAsignacion), dashCSVDate(r.FechaCierre), dashCSVInt(r.DiasGestion), dashCSVInt(r.DiasHabiles),
				r.Recupero.String(), r.PctRecupero.String(), r.Conversion.String(), r.Efectividad.String(),
				i(r.GestionablesCount, 10), i(r.GestionadasCount, 10), i(r.PagadorasCount, 10), i(r.TotalGestiones, 10)})
		}
	}
	add("segmentoData", d.SegmentoData)
	add("negocioData", d.NegocioData)
	return out
}

// evolutionCSV is evolution's CSV form: metric,series,day,date,value, one line per
// point, metrics in the requested order, series by name, dates ascending.
func evolutionCSV(ms *[]analytics.EvolutionMetric) [][]string {
	out := [][]string{{"metric", "series", "day", "date", "value"}}
	for _, m := range *ms {
		for _, s := range m.Series {
			for _, pt := range s.Data {
				out = append(out, []string{m.Metric, s.Name, strconv.Itoa(pt.Day), pt.Date.String(), pt.Value.String()})
			}
		}
	}
	return out
}

func dashCSVDate(d *etl.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

func dashCSVInt(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}
