package api

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// bodyLimit is api.md §0's 64 KiB.
const bodyLimit = "64K"

// newEcho builds the router with the middleware chain of api.md §6, outer to inner:
// request id, recover, access log, metrics, CORS, security headers, gzip, body
// limit; auth is per route (public routes skip it) and the cache/ETag step wraps
// the analytics handlers.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = s.ipExtractor()
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(s.requestIDMiddleware, s.recoverMiddleware, s.accessLog, s.metrics.middleware,
		middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:     s.corsOrigins(),
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions},
			AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, "If-None-Match", echo.HeaderXRequestID},
			ExposeHeaders:    []string{"ETag", "X-Cache", "X-Data-Version", echo.HeaderXRequestID, "X-Pulso-Ignored-Filters"},
			AllowCredentials: false,
		}),
		s.securityHeaders,
		gzipMiddleware,
		middleware.BodyLimit(bodyLimit))
	for _, r := range s.routes() {
		h := r.handler
		if !r.public {
			h = s.requireAuth(r.perms, h)
		}
		e.Add(r.method, r.path, h)
	}
	if s.cfg.MetricsAddr == "" {
		e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	}
	return e
}

// corsOrigins: none configured means same origin only, which CORS expresses by
// allowing no cross origin at all (never "*").
func (s *Server) corsOrigins() []string {
	if len(s.cfg.CORSOrigins) == 0 {
		return []string{"null"}
	}
	return s.cfg.CORSOrigins
}

// ipExtractor believes X-Forwarded-For only from the configured proxies; with none
// the client is the peer address.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range s.cfg.TrustedProxies {
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

const ctxRequestID = "request_id"

// requestIDMiddleware keeps a well-formed incoming X-Request-ID, else draws a UUIDv4.
func (s *Server) requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// recoverMiddleware turns a panic into a logged 500 with the error shape.
func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// accessLog writes one slog record per request after the error handler ran.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request().Method),
			slog.String("route", routeLabel(c)),
			slog.Int("status", c.Response().Status),
			slog.Duration("latency", time.Since(start)),
		}
		if p := principal(c); p != nil {
			attrs = append(attrs, slog.String("user_id", p.UserID))
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// routeLabel is the route pattern (bounded cardinality for logs and metrics).
func routeLabel(c echo.Context) string {
	if p := c.Path(); p != "" && p != "/*" {
		return p
	}
	return "unmatched"
}

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		return next(c)
	}
}

const ctxPrincipal = "principal"

// requireAuth authenticates the bearer token and checks the route's permissions.
func (s *Server) requireAuth(perms []string, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.auth.authenticate(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization))
		if err != nil {
			return err
		}
		c.Set(ctxPrincipal, p)
		for _, perm := range perms {
			if !slices.Contains(p.Permissions, perm) {
				return NewError(http.StatusForbidden, CodeForbidden, "Missing permission "+perm)
			}
		}
		return next(c)
	}
}

// principal is the request's authenticated user (nil on public routes).
func principal(c echo.Context) *Principal {
	p, _ := c.Get(ctxPrincipal).(*Principal)
	return p
}

// hasPermission reports whether the request's user holds perm (format=csv needs
// reports.export on top of the route's permissions).
func hasPermission(c echo.Context, perm string) bool {
	p := principal(c)
	return p != nil && slices.Contains(p.Permissions, perm)
}
