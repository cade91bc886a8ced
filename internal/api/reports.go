package api

func (s *Server) reportRoutes() []route { return nil }
