// Package analytics holds what the dashboard's analytics endpoints mean, apart from
// HTTP and SQL: the typed, normalised parameters of every request (parsed from a
// query string or a JSON body, validated once), the response shapes, and the KPI
// formulas applied to summed counters.
package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// FieldError names one invalid parameter.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError is every invalid parameter of one request (400 validation_failed).
type ValidationError struct{ Details []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.Field + ": " + d.Message
	}
	return "invalid parameters: " + strings.Join(parts, "; ")
}

// Limits of query lists (api.md §0): more or longer values are a 400, so a request
// cannot make the server sort or hash megabytes.
const (
	MaxListValues = 50
	MaxValueLen   = 200
	// MaxRangeDays bounds evolution and productivity ranges.
	MaxRangeDays = 366
)

// Carteras, Servicios: the enums of the cartera and servicio filters.
var (
	Carteras  = []string{"TEMPRANA", "CUOTA_FRACCIONAMIENTO", "ALTAS_NUEVAS", "OTRAS"}
	Servicios = []string{"MOVIL", "FIJA"}
)

// Periodo aliases, resolved against a reference date.
const (
	PeriodoActual        = "ACTUAL"
	PeriodoAnterior      = "ANTERIOR"
	PeriodoUltimoMes     = "ULTIMO_MES"
	PeriodoUltimos3Meses = "ULTIMOS_3_MESES"
)

// PeriodoAliases in the order the filters endpoint lists them.
var PeriodoAliases = []string{PeriodoActual, PeriodoAnterior, PeriodoUltimoMes, PeriodoUltimos3Meses}

// noFilter values mean "every value" and are dropped from a list.
func noFilter(v string) bool { return v == "" || v == "TODAS" || v == "TODOS" }

// Errors collects field errors while a request is parsed.
type Errors struct{ details []FieldError }

// Add records one invalid field.
func (e *Errors) Add(field, format string, args ...any) {
	e.details = append(e.details, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is nil when nothing was added.
func (e *Errors) Err() error {
	if len(e.details) == 0 {
		return nil
	}
	return &ValidationError{Details: e.details}
}

// SplitList flattens repeated and comma-separated values, trimmed, enforcing the
// list limits. Empty items are kept as "" so callers can treat them as no filter.
func (e *Errors) SplitList(field string, values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			if len(item) > MaxValueLen {
				e.Add(field, "values are at most %d characters", MaxValueLen)
				return nil
			}
			out = append(out, item)
		}
	}
	if len(out) > MaxListValues {
		e.Add(field, "at most %d values", MaxListValues)
		return nil
	}
	return out
}

// Enum normalises a filter list: upper-cased, checked against allowed, no-filter
// values dropped, deduplicated and sorted. nil means no filter.
func (e *Errors) Enum(field string, values []string, allowed []string) []string {
	var out []string
	for _, v := range e.SplitList(field, values) {
		v = strings.ToUpper(v)
		if noFilter(v) {
			continue
		}
		if !slices.Contains(allowed, v) {
			e.Add(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, v)
	}
	return sortedSet(out)
}

// Strings normalises a free list (archivo ids): no-filter values dropped,
// deduplicated and sorted; case is kept.
func (e *Errors) Strings(field string, values []string) []string {
	var out []string
	for _, v := range e.SplitList(field, values) {
		if noFilter(strings.ToUpper(v)) {
			continue
		}
		out = append(out, v)
	}
	return sortedSet(out)
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// Date parses an optional YYYY-MM-DD value; "" is the zero Date.
func (e *Errors) Date(field, s string) etl.Date {
	s = strings.TrimSpace(s)
	if s == "" {
		return etl.Date{}
	}
	d, err := etl.ParseDate(s)
	if err != nil || len(s) != len("2006-01-02") {
		e.Add(field, "%q is not a date (YYYY-MM-DD)", truncate(s))
		return etl.Date{}
	}
	return d
}

// Bool parses an optional boolean; "" gives def.
func (e *Errors) Bool(field, s string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	e.Add(field, "%q is not a boolean (true or false)", truncate(s))
	return def
}

// Month is a calendar month, written YYYY-MM.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, bool) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != len("2006-01") {
		return Month{}, false
	}
	return Month{t.Year(), t.Month()}, true
}

// MonthOf is the month a date falls in.
func MonthOf(d etl.Date) Month {
	t := d.Start()
	return Month{t.Year(), t.Month()}
}

// AddMonths moves by n months.
func (m Month) AddMonths(n int) Month {
	t := time.Date(m.Year, m.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	return Month{t.Year(), t.Month()}
}

// First and Last are the month's first and last days.
func (m Month) First() etl.Date { return etl.NewDate(m.Year, m.Month, 1) }
func (m Month) Last() etl.Date  { return m.AddMonths(1).First().AddDays(-1) }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, m.Month) }

// MarshalText writes YYYY-MM.
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Periodos parses a periodo list (YYYY-MM or an alias) and resolves the aliases
// against the reference date: sorted distinct months, nil for no filter.
func (e *Errors) Periodos(field string, values []string, ref etl.Date) []Month {
	var out []Month
	cur := MonthOf(ref)
	for _, v := range e.SplitList(field, values) {
		switch u := strings.ToUpper(v); {
		case noFilter(u):
		case u == PeriodoActual:
			out = append(out, cur)
		case u == PeriodoAnterior || u == PeriodoUltimoMes:
			out = append(out, cur.AddMonths(-1))
		case u == PeriodoUltimos3Meses:
			out = append(out, cur.AddMonths(-2), cur.AddMonths(-1), cur)
		default:
			m, ok := ParseMonth(v)
			if !ok {
				e.Add(field, "%q is not a month (YYYY-MM) or one of %s", truncate(v), strings.Join(PeriodoAliases, ", "))
				continue
			}
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b Month) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}

// MonthStrings writes months as YYYY-MM, the form the marts store.
func MonthStrings(ms []Month) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

// Range checks an inclusive day range: from ≤ to and at most MaxRangeDays days.
func (e *Errors) Range(field string, from, to etl.Date, reversed string) {
	if from.IsZero() || to.IsZero() {
		return
	}
	if to.Before(from) {
		e.Add(field, "%s", reversed)
		return
	}
	if DaysBetween(from, to)+1 > MaxRangeDays {
		e.Add(field, "the range spans more than %d days", MaxRangeDays)
	}
}

// DaysBetween is to − from in calendar days.
func DaysBetween(from, to etl.Date) int {
	a, b := from.Start(), to.Start()
	return int(time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC).
		Sub(time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// DecodeBody decodes a JSON body into v; a syntax error or a wrong type is a field
// error naming the field (unknown fields are ignored, api.md §0).
func (e *Errors) DecodeBody(body []byte, v any) bool {
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		e.Add(field, "must be %s", jsonTypeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		e.Add("body", "invalid JSON at byte %d", syntaxErr.Offset)
	default:
		e.Add("body", "invalid JSON: %s", truncate(err.Error()))
	}
	return false
}

func jsonTypeName(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "float64":
		return "a number"
	}
	return "of another type"
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Hash is H of api.md §2: the first 32 hex characters of the SHA-256 of the
// parameters' canonical JSON (keys sorted at every level), so equal requests hash
// equal whichever form (GET or POST) they came in.
func Hash(params any) string {
	b, err := CanonicalJSON(params)
	if err != nil {
		// Parameters are plain structs of strings, numbers and dates: marshalling
		// cannot fail for them, so a failure is a programming error.
		panic(fmt.Sprintf("analytics: parameters do not marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:32]
}

// CanonicalJSON marshals v with object keys sorted at every level.
func CanonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	// encoding/json writes map keys sorted.
	return json.Marshal(generic)
}

// Latest is a day that defaults to one derived from the data (the latest built day):
// it hashes as the token "latest" and is resolved inside the cached computation, so
// the cache key never depends on a database read (api.md §2).
type Latest struct{ etl.Date }

// MarshalText writes the date, or "latest" while unresolved.
func (l Latest) MarshalText() ([]byte, error) {
	if l.IsZero() {
		return []byte("latest"), nil
	}
	return l.Date.MarshalText()
}
