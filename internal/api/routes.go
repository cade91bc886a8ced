package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Permissions of api.md §1.
const (
	PermUserRead        = "user.read"
	PermUserCreate      = "user.create"
	PermUserUpdate      = "user.update"
	PermUserDelete      = "user.delete"
	PermDashboardRead   = "dashboard.read"
	PermReportsRead     = "reports.read"
	PermReportsExport   = "reports.export"
	PermSystemRead      = "system.read"
	PermSystemConfigure = "system.configure"
)

// route is one row of the routing table: every route's method, path and the
// permissions it needs are here, so a permission matrix test reads the same table
// the server is built from. Public routes need no token.
type route struct {
	method  string
	path    string
	public  bool
	perms   []string
	handler echo.HandlerFunc
}

const apiV1 = "/api/v1"

// routes is the whole API.
func (s *Server) routes() []route {
	rs := []route{
		{method: http.MethodGet, path: "/", public: true, handler: s.root},
		{method: http.MethodGet, path: "/health", public: true, handler: s.health},
		{method: http.MethodGet, path: "/health/ready", public: true, handler: s.ready},
		{method: http.MethodGet, path: apiV1 + "/health", public: true, handler: s.ready},
		{method: http.MethodGet, path: apiV1 + "/status", perms: []string{PermDashboardRead}, handler: s.status},
		{method: http.MethodGet, path: apiV1 + "/freshness", perms: []string{PermDashboardRead}, handler: s.freshness},
	}
	rs = append(rs, s.docsRoutes()...)
	rs = append(rs, s.authRoutes()...)
	rs = append(rs, s.analyticsRoutes()...)
	rs = append(rs, s.userRoutes()...)
	rs = append(rs, s.etlRoutes()...)
	return rs
}
