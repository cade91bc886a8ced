package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
)

// Error codes of api.md §0.
const (
	CodeValidation      = "validation_failed"
	CodeBadRequest      = "bad_request"
	CodeUnauthorized    = "unauthorized"
	CodeInvalidToken    = "invalid_token"
	CodeTokenExpired    = "token_expired"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeETLRunning      = "etl_running"
	CodePayloadTooLarge = "payload_too_large"
	CodeAccountLocked   = "account_locked"
	CodeRateLimited     = "rate_limited"
	CodeInternal        = "internal"
	CodeUnavailable     = "unavailable"
)

// Error is an API error: a status, a code of §0 and a message safe to show.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []analytics.FieldError
	// Header is set on the response (Retry-After).
	Header http.Header
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError builds an API error.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// errUnavailable: PostgreSQL is down or a statement ran out of time.
var errUnavailable = NewError(http.StatusServiceUnavailable, CodeUnavailable, "The database is unavailable; try again shortly")

// errorBody is the single error shape (api.md §0).
type errorBody struct {
	Status    string                 `json:"status"`
	Message   string                 `json:"message"`
	Code      string                 `json:"code"`
	RequestID string                 `json:"requestId"`
	Details   []analytics.FieldError `json:"details,omitempty"`
}

// toAPIError maps any error a handler returns onto the error shape; what is not an
// API error is a 500 whose text never reaches the client.
func toAPIError(err error) (*Error, bool) {
	var apiErr *Error
	var valErr *analytics.ValidationError
	var httpErr *echo.HTTPError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &apiErr):
		return apiErr, false
	case errors.As(err, &valErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: "Invalid request parameters", Details: valErr.Details}, false
	case errors.As(err, &httpErr):
		return fromEchoError(httpErr), false
	case errors.As(err, &pgErr) && pgErr.Code == "57014", // statement timeout
		errors.Is(err, context.DeadlineExceeded), pgconn.SafeToRetry(err), isConnectError(err):
		return errUnavailable, true
	}
	return NewError(http.StatusInternalServerError, CodeInternal, "Internal server error"), true
}

func isConnectError(err error) bool {
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || pgconn.Timeout(err)
}

func fromEchoError(e *echo.HTTPError) *Error {
	switch e.Code {
	case http.StatusNotFound:
		return NewError(e.Code, CodeNotFound, "Not found")
	case http.StatusMethodNotAllowed:
		return NewError(e.Code, CodeBadRequest, "Method not allowed")
	case http.StatusRequestEntityTooLarge:
		return NewError(e.Code, CodePayloadTooLarge, "The request body exceeds 64 KiB")
	case http.StatusUnauthorized:
		return NewError(e.Code, CodeUnauthorized, "Authentication required")
	case http.StatusForbidden:
		return NewError(e.Code, CodeForbidden, "Forbidden")
	case http.StatusTooManyRequests:
		return NewError(e.Code, CodeRateLimited, "Too many requests")
	case http.StatusServiceUnavailable:
		return errUnavailable
	}
	if e.Code >= 400 && e.Code < 500 {
		return NewError(e.Code, CodeBadRequest, "Bad request")
	}
	return NewError(http.StatusInternalServerError, CodeInternal, "Internal server error")
}

// errorHandler writes every error in the one shape; internals are logged, not sent.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	apiErr, logIt := toAPIError(err)
	if isConnectError(err) {
		// Lower the health flag now rather than at the next probe: until PostgreSQL
		// answers again, analytics must not serve from the cache (api.md §6).
		s.pgUp.Store(false)
	}
	if logIt {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(c)), slog.String("route", c.Path()), slog.Any("error", err))
	}
	for k, vs := range apiErr.Header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	body := errorBody{Status: "error", Message: apiErr.Message, Code: apiErr.Code,
		RequestID: requestID(c), Details: apiErr.Details}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(apiErr.Status)
	} else {
		err = c.JSON(apiErr.Status, body)
	}
	if err != nil {
		s.log.Warn("writing error response", "error", err)
	}
}
