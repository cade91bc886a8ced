package api

func (s *Server) dashboardRoutes() []route { return nil }
