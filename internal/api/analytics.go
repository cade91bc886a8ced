package api

// analyticsRoutes are the dashboard's read endpoints (api.md §3).
func (s *Server) analyticsRoutes() []route {
	return append(s.dashboardRoutes(), s.reportRoutes()...)
}
