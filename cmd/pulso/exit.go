package main

import (
	"context"
	"errors"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// Exit codes (architecture.md §4). When several apply: 130 > 1 > 4 > 0.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitLocked    = 3
	exitRejects   = 4
	exitCancelled = 130
)

// usageError marks bad flags or arguments: exit 2 with usage printed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

// isConfigError reports a configuration fault, or options refused once the ledger
// was read: exit 2 without the usage text (the flags parsed fine).
func isConfigError(err error) bool {
	return errors.Is(err, errConfig) || errors.Is(err, etl.ErrInvalidOptions)
}

// exitCode maps an error to the process exit code in one place. A joined error (one
// per failed table) takes the worst of its causes: 130 > 1 > 4.
func exitCode(ctx context.Context, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitCancelled
	case errors.As(err, &ue) || isConfigError(err):
		return exitUsage
	case errors.Is(err, postgres.ErrLockHeld):
		return exitLocked
	}
	if etl.OnlyRejects(err) {
		return exitRejects
	}
	return exitFailure
}
