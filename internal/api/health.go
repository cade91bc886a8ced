package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

func (s *Server) root(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"message": "Bienvenido a pulso API", "docs_url": "/docs"})
}

// health is liveness: no I/O.
func (s *Server) health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "healthy", "service": "pulso", "version": s.cfg.Version})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// checkReadiness probes PostgreSQL, the migrations and Redis.
func (s *Server) checkReadiness(ctx context.Context) readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "migrations": "ok", "redis": "disabled"}
	ready := true
	if err := pingPool(ctx, s.pool, 2*time.Second); err != nil {
		checks["postgres"], checks["migrations"] = "down", "unknown"
		ready = false
		s.pgUp.Store(false)
	} else if err := postgres.CheckSchema(ctx, s.pool); err != nil {
		checks["migrations"] = "pending"
		ready = false
	}
	if s.cache != nil {
		checks["redis"] = s.cache.Status(ctx)
	}
	switch {
	case !ready:
		return readiness{Status: "not_ready", Checks: checks}
	case checks["redis"] != "ok":
		return readiness{Status: "degraded", Checks: checks}
	}
	return readiness{Status: "ready", Checks: checks}
}

// ready is readiness: 503 when PostgreSQL is down or migrations are not current.
func (s *Server) ready(c echo.Context) error {
	r := s.checkReadiness(c.Request().Context())
	if r.Status == "not_ready" {
		return c.JSON(http.StatusServiceUnavailable, r)
	}
	return c.JSON(http.StatusOK, r)
}

type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func success(data any) envelope {
	return envelope{Status: "success", Message: "Operation successful", Data: data}
}

// status is GET /api/v1/status.
func (s *Server) status(c echo.Context) error {
	r := s.checkReadiness(c.Request().Context())
	return c.JSON(http.StatusOK, success(map[string]any{
		"api_version":    "v1",
		"status":         r.Status,
		"timestamp":      s.now().UTC().Format(time.RFC3339),
		"service_health": map[string]string{"postgres": r.Checks["postgres"], "redis": r.Checks["redis"]},
		"data_version":   s.dataVersion.Load(),
	}))
}
