package etl

import (
	"fmt"
	"time"
)

// Lima is America/Lima: UTC−5 all year, no DST (domain.md §0).
var Lima = time.FixedZone("America/Lima", -5*60*60)

// Date is a Lima calendar day, the one type every user-facing day travels as.
type Date struct{ t time.Time }

// NewDate builds a Date from its parts.
func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, Lima)} }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Lima)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// LimaDate is the Lima calendar day of an instant.
func LimaDate(t time.Time) Date {
	l := t.In(Lima)
	return NewDate(l.Year(), l.Month(), l.Day())
}

// Start is the day's first instant (00:00 Lima).
func (d Date) Start() time.Time { return d.t }

// AddDays moves the day by n days.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// IsZero reports an unset date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before, After and Equal compare days.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }
func (d Date) After(o Date) bool  { return d.t.After(o.t) }
func (d Date) Equal(o Date) bool  { return d.t.Equal(o.t) }

// String is YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// MarshalText writes YYYY-MM-DD (empty for the zero day), so a Date travels typed
// through JSON (backfill resume parameters) and configuration.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD; empty text is the zero day.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Window is a half-open interval of instants [From, To); a zero From is unbounded below.
type Window struct {
	From time.Time
	To   time.Time
}

// DaysWindow turns inclusive Lima days [from, to] into [from 00:00, to+1 00:00).
func DaysWindow(from, to Date) Window {
	return Window{From: from.Start(), To: to.AddDays(1).Start()}
}

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	if !w.From.IsZero() && t.Before(w.From) {
		return false
	}
	return w.To.IsZero() || t.Before(w.To)
}

// IsZero reports an unbounded window (full tables).
func (w Window) IsZero() bool { return w.From.IsZero() && w.To.IsZero() }

func (w Window) String() string {
	f := "-inf"
	if !w.From.IsZero() {
		f = w.From.UTC().Format(time.RFC3339)
	}
	t := "+inf"
	if !w.To.IsZero() {
		t = w.To.UTC().Format(time.RFC3339)
	}
	return "[" + f + ", " + t + ")"
}
