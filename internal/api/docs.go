package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/api/openapi"
)

// docsRoutes serve the embedded OpenAPI document and Swagger UI (no CDN: the
// dashboard runs on closed networks); docs.enabled=false removes them.
func (s *Server) docsRoutes() []route {
	if !s.cfg.DocsEnabled {
		return nil
	}
	ui := echo.WrapHandler(openapi.SwaggerUI())
	return []route{
		{method: http.MethodGet, path: apiV1 + "/openapi.json", public: true, handler: s.openAPIDocument},
		{method: http.MethodGet, path: "/docs", public: true, handler: ui},
		{method: http.MethodGet, path: "/docs/*", public: true, handler: ui},
	}
}

func (s *Server) openAPIDocument(c echo.Context) error {
	doc, err := openapi.JSON()
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, doc)
}
