package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// reportRoutes are api.md §3.4–§3.6: assignment, operation and productivity.
func (s *Server) reportRoutes() []route {
	read := []string{PermDashboardRead}
	reports := []string{PermDashboardRead, PermReportsRead}
	return []route{
		{method: http.MethodGet, path: apiV1 + "/assignment", perms: reports, handler: s.assignment},
		{method: http.MethodGet, path: apiV1 + "/assignment/summary", perms: reports, handler: s.assignmentSummary},
		{method: http.MethodGet, path: apiV1 + "/operation", perms: read, handler: s.operationGet},
		{method: http.MethodPost, path: apiV1 + "/operation", perms: read, handler: s.operationPost},
		{method: http.MethodGet, path: apiV1 + "/operation/kpis", perms: read, handler: s.operationKPIs},
		{method: http.MethodGet, path: apiV1 + "/operation/channels", perms: read, handler: s.operationChannels},
		{method: http.MethodGet, path: apiV1 + "/productivity", perms: reports, handler: s.productivityGet},
		{method: http.MethodPost, path: apiV1 + "/productivity", perms: reports, handler: s.productivityPost},
		{method: http.MethodGet, path: apiV1 + "/productivity/metrics", perms: reports, handler: s.productivityMetrics},
		{method: http.MethodGet, path: apiV1 + "/productivity/agents/:agent_id", perms: reports, handler: s.productivityAgent},
	}
}

// Cache endpoint names (and CacheTTL keys) of this family. The summary, the
// operation views and the agent detail share their family's name and TTL; their
// parameters differ, so their H does.
const (
	cacheAssignment   = "assignment"
	cacheOperation    = "operation"
	cacheProductivity = "productivity"
)

// Responses with volatile fields wrap the analytics types so that they implement
// stamper; embedding keeps the JSON flat.
type (
	assignmentResponse        struct{ analytics.Assignment }
	assignmentSummaryResponse struct{ analytics.AssignmentSummary }
	productivityResponse      struct{ analytics.Productivity }
)

func (r *assignmentResponse) Stamp(st Stamp) { r.SetVolatile(st.CacheStatus, st.Elapsed, st.Now) }
func (r *assignmentSummaryResponse) Stamp(st Stamp) {
	r.SetVolatile(st.CacheStatus, st.Elapsed, st.Now)
}
func (r *productivityResponse) Stamp(st Stamp) { r.SetVolatile(st.CacheStatus, st.Elapsed, st.Now) }

// assignment is GET /assignment.
func (s *Server) assignment(c echo.Context) error {
	p, err := analytics.ParseAssignmentQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return serveCached(s, c, cacheAssignment, p, func(ctx context.Context, snap Snapshot) (assignmentResponse, error) {
		a, err := postgres.ReadAssignment(ctx, snap.Tx, p)
		return assignmentResponse{a}, err
	}, nil)
}

// assignmentSummary is GET /assignment/summary.
func (s *Server) assignmentSummary(c echo.Context) error {
	p, err := analytics.ParseAssignmentSummaryQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return serveCached(s, c, cacheAssignment, p, func(ctx context.Context, snap Snapshot) (assignmentSummaryResponse, error) {
		a, err := postgres.ReadAssignmentSummary(ctx, snap.Tx, p)
		return assignmentSummaryResponse{a}, err
	}, nil)
}

func (s *Server) operationGet(c echo.Context) error {
	p, err := analytics.ParseOperationQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return s.serveOperation(c, p)
}

func (s *Server) operationPost(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's 413, or a broken connection
	}
	p, err := analytics.ParseOperationBody(body)
	if err != nil {
		return err
	}
	return s.serveOperation(c, p)
}

func (s *Server) serveOperation(c echo.Context, p analytics.OperationParams) error {
	return serveCached(s, c, cacheOperation, p, func(ctx context.Context, snap Snapshot) (analytics.Operation, error) {
		return postgres.ReadOperation(ctx, snap.Tx, p)
	}, nil)
}

// operationKPIs is GET /operation/kpis: the kpis array alone.
func (s *Server) operationKPIs(c echo.Context) error {
	p, err := analytics.ParseOperationQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	p = p.ForView(analytics.OperationViewKPIs)
	return serveCached(s, c, cacheOperation, p, func(ctx context.Context, snap Snapshot) ([]analytics.OperationKPI, error) {
		op, err := postgres.ReadOperation(ctx, snap.Tx, p)
		return op.KPIs, err
	}, nil)
}

// operationChannels is GET /operation/channels: the channelPerformance array alone.
func (s *Server) operationChannels(c echo.Context) error {
	p, err := analytics.ParseOperationQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	p = p.ForView(analytics.OperationViewChannels)
	return serveCached(s, c, cacheOperation, p, func(ctx context.Context, snap Snapshot) ([]analytics.ChannelPerformance, error) {
		op, err := postgres.ReadOperation(ctx, snap.Tx, p)
		return op.ChannelPerformance, err
	}, nil)
}

func (s *Server) productivityGet(c echo.Context) error {
	p, err := analytics.ParseProductivityQuery(c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	return s.serveProductivity(c, p)
}

// productivityPost reads the snake_case body; format=csv comes in the query string.
func (s *Server) productivityPost(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	p, err := analytics.ParseProductivityBody(body, c.QueryParam("format"), s.today())
	if err != nil {
		return err
	}
	return s.serveProductivity(c, p)
}

func (s *Server) serveProductivity(c echo.Context, p analytics.ProductivityParams) error {
	render, err := csvResponder(c, p.Format, "productividad.csv", productivityCSV)
	if err != nil {
		return err
	}
	return serveCached(s, c, cacheProductivity, p, func(ctx context.Context, snap Snapshot) (productivityResponse, error) {
		r, err := postgres.ReadProductivity(ctx, snap.Tx, p)
		return productivityResponse{r}, err
	}, render)
}

// productivityCSVHeader is productivity's CSV form: the agentRanking, one line per
// agent in rank order, with the AgentRank JSON fields as columns (the trends, the
// heatmap and the metadata are not written).
var productivityCSVHeader = []string{"rank", "id", "agentName", "calls", "directContacts", "commitments",
	"amountRecovered", "closingRate", "commitmentConversion", "quartile"}

func productivityCSV(r *productivityResponse) [][]string {
	out := [][]string{productivityCSVHeader}
	for _, a := range r.AgentRanking {
		i := strconv.FormatInt
		out = append(out, []string{strconv.Itoa(a.Rank), a.ID, a.AgentName, i(a.Calls, 10), i(a.DirectContacts, 10),
			i(a.Commitments, 10), a.AmountRecovered.String(), a.ClosingRate.String(),
			a.CommitmentConversion.String(), strconv.Itoa(a.Quartile)})
	}
	return out
}

// productivityMetrics is GET /productivity/metrics: static, not cached.
func (s *Server) productivityMetrics(c echo.Context) error {
	return c.JSON(http.StatusOK, analytics.ProductivityMetrics())
}

// productivityAgent is GET /productivity/agents/{agent_id}; the id is the agent's
// correo, URL-encoded.
func (s *Server) productivityAgent(c echo.Context) error {
	id := c.Param("agent_id")
	// Echo matches on the escaped path when the URL has one, so the parameter is
	// still encoded then (correo%40dominio); otherwise it is already decoded.
	if c.Request().URL.RawPath != "" {
		dec, err := url.PathUnescape(id)
		if err != nil {
			return &analytics.ValidationError{Details: []analytics.FieldError{
				{Field: "agent_id", Message: "is not a valid URL-encoded value"}}}
		}
		id = dec
	}
	p, err := analytics.ParseAgentQuery(id, c.QueryParams(), s.today())
	if err != nil {
		return err
	}
	err = serveCached(s, c, cacheProductivity, p, func(ctx context.Context, snap Snapshot) (analytics.AgentDetail, error) {
		return postgres.ReadAgent(ctx, snap.Tx, p)
	}, nil)
	if errors.Is(err, postgres.ErrNotFound) {
		return NewError(http.StatusNotFound, CodeNotFound, "Agent not found")
	}
	return err
}
