package postgres

import (
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Argument helpers: a zero value is SQL NULL.

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func dateArg(d etl.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt64(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
