package api

// userRoutes are the user administration routes (api.md §5).
func (s *Server) userRoutes() []route { return nil }
