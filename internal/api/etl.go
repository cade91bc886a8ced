package api

// etlRoutes are the ETL status and control routes (api.md §4).
func (s *Server) etlRoutes() []route { return nil }
