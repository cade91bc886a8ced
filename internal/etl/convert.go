package etl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcome is what conversion decided for one record.
type Outcome uint8

const (
	Accepted Outcome = iota
	// Filtered rows are counted as filtered and not recorded (outside the window,
	// identical ejecutivos rows).
	Filtered
	// FilteredRecorded rows failed a source filter: counted as filtered and recorded
	// in etl.reject with a filtered_* reason.
	FilteredRecorded
	// Rejected rows are counted as rejected and recorded in etl.reject.
	Rejected
	// OutsideWindow rows have an incremental value outside the window (or before the
	// part's ReadFrom): filtered in a run, not counted at all in a backfill chunk,
	// whose file rows outside its days belong to other chunks.
	OutsideWindow
)

// ConvertOptions carry the run's parameters that conversion depends on.
type ConvertOptions struct {
	Window              Window // rows whose incremental value falls outside are filtered
	EjecutivosIDCliente int64  // FilterIDCliente keeps rows with this id_cliente
}

// Converter turns records of one table into typed rows: one conversion path for every
// source (domain.md §1–§3). Not safe for concurrent use.
type Converter struct {
	t    *Table
	opts ConvertOptions
	// times holds the parsed instant of each timestamp column of the current row, so
	// derivations, table rules and the watermark never parse it again.
	times []time.Time
	// seen holds the records already accepted for Distinct tables (small: ejecutivos).
	seen map[string]struct{}
	// Warnings collected while converting (lenient peso values), capped.
	warnings []string
	// readFrom: rows of the current part before it were read by an earlier run
	// (Part.ReadFrom) and are filtered.
	readFrom time.Time
	// maxSeen is the greatest incremental value that reached the window check since
	// the last TakeMaxSeen, whether the window accepted or filtered it.
	maxSeen time.Time
}

// NewConverter prepares conversion for one table and run.
func NewConverter(t *Table, opts ConvertOptions) *Converter {
	c := &Converter{t: t, opts: opts, times: make([]time.Time, len(t.Columns))}
	if t.Distinct {
		c.seen = make(map[string]struct{})
	}
	return c
}

// SetReadFrom filters the rows of the next part whose incremental value is before t
// (zero: none): an earlier run read them.
func (c *Converter) SetReadFrom(t time.Time) { c.readFrom = t }

// TakeMaxSeen returns the greatest incremental value that reached the window check
// since the last call (zero when none did) and starts afresh. Asked once per part, it
// tells whether the part held rows beyond the window's end, which a later window owes.
func (c *Converter) TakeMaxSeen() time.Time {
	m := c.maxSeen
	c.maxSeen = time.Time{}
	return m
}

// Warnings returns the distinct conversion warnings so far.
func (c *Converter) Warnings() []string { return c.warnings }

func (c *Converter) warn(msg string) {
	if len(c.warnings) < 20 {
		c.warnings = append(c.warnings, msg)
	}
}

// Convert fills row from rec. For Rejected and FilteredRecorded it fills rej.
func (c *Converter) Convert(rec *Record, row *Row, rej *Reject) Outcome {
	t := c.t
	if rec.Fault != nil {
		*rej = Reject{Source: rec.Source, Line: rec.Line, Column: rec.Fault.Column,
			Reason: rec.Fault.Reason, Detail: rec.Fault.Detail, Record: rec.Raw}
		return Rejected
	}
	if c.seen != nil {
		k := strings.Join(rec.Fields, "\x00")
		if _, dup := c.seen[k]; dup {
			return Filtered
		}
		c.seen[k] = struct{}{}
	}
	row.Reset(t.Width())
	row.Source, row.Line = rec.Source, rec.Line

	// Parse every source column; the first invalid one rejects the row.
	for i := range t.Columns {
		col := &t.Columns[i]
		v, null, err := c.convertValue(i, col, rec.Fields[i])
		if err != nil {
			reason := ReasonInvalidValue
			if errors.Is(err, errNUL) {
				reason = ReasonInvalidUTF8
			}
			c.reject(rec, rej, col.Name, reason, err.Error())
			return Rejected
		}
		row.Values[i], row.Nulls[i] = v, null
	}
	for j, d := range t.Derived {
		src := t.Index(d.From)
		i := len(t.Columns) + j
		if row.Nulls[src] {
			row.Nulls[i] = true
			continue
		}
		switch d.Rule {
		case DeriveLimaDate:
			row.Values[i] = LimaDate(c.times[src]).String()
		case DerivePDPFlag:
			row.Values[i] = strconv.FormatBool(isPDPFlag(row.Values[src]))
		}
	}
	for _, f := range t.Filters {
		if !c.passes(f, row) {
			c.reject(rec, rej, filterColumn(t, f), f.Reason(), "")
			return FilteredRecorded
		}
	}
	for i := range t.Columns {
		if t.Columns[i].NotNull && row.Nulls[i] {
			c.reject(rec, rej, t.Columns[i].Name, ReasonMissingValue, fmt.Sprintf("column %q is required", t.Columns[i].Name))
			return Rejected
		}
	}
	if reason, column, detail := failedCheck(t, row, c.times); reason != "" {
		c.reject(rec, rej, column, reason, detail)
		return Rejected
	}
	if inc := t.IncrementalIndex(); inc >= 0 {
		row.Incr = c.times[inc]
		if row.Incr.Before(c.readFrom) {
			return OutsideWindow
		}
		if row.Incr.After(c.maxSeen) {
			c.maxSeen = row.Incr
		}
		if !c.opts.Window.Contains(row.Incr) {
			return OutsideWindow
		}
	}
	return Accepted
}

func (c *Converter) reject(rec *Record, rej *Reject, column, reason, detail string) {
	*rej = Reject{Source: rec.Source, Line: rec.Line, Column: column, Reason: reason, Detail: detail,
		Record: RecordJSON(c.t, rec.Fields)}
}

// RecordJSON renders a record as a JSON object in column order, NULL as null.
func RecordJSON(t *Table, fields []string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, col := range t.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(col.Name)
		b.Write(k)
		b.WriteByte(':')
		if i >= len(fields) || fields[i] == "" {
			b.WriteString("null")
			continue
		}
		// jsonb refuses \u0000; json.Marshal already maps invalid UTF-8 to U+FFFD.
		v, _ := json.Marshal(strings.ReplaceAll(fields[i], "\x00", "\uFFFD"))
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (c *Converter) passes(f Filter, row *Row) bool {
	t := c.t
	switch f {
	case FilterPositiveAmount:
		i := t.Index(moneyColumn(t))
		return !row.Nulls[i] && !strings.HasPrefix(row.Values[i], "-") && row.Values[i] != "0.00"
	case FilterNoRejection:
		i := t.Index("motivo_rechazo")
		return row.Nulls[i]
	case FilterIDCliente:
		i := t.Index("id_cliente")
		return !row.Nulls[i] && row.Values[i] == strconv.FormatInt(c.opts.EjecutivosIDCliente, 10)
	}
	return true
}

func moneyColumn(t *Table) string {
	for _, c := range t.Columns {
		if c.Type == TypeMoney {
			return c.Name
		}
	}
	return ""
}

func filterColumn(t *Table, f Filter) string {
	switch f {
	case FilterPositiveAmount:
		return moneyColumn(t)
	case FilterNoRejection:
		return "motivo_rechazo"
	case FilterIDCliente:
		return "id_cliente"
	}
	return ""
}

// failedCheck returns the first of the table's checks the typed row fails.
func failedCheck(t *Table, row *Row, times []time.Time) (reason, column, detail string) {
	for _, ck := range t.Checks {
		c, o := t.Index(ck.Column), t.Index(ck.Other)
		switch ck.Kind {
		case CheckNotBefore:
			// YYYY-MM-DD compares correctly as text.
			if !row.Nulls[c] && !row.Nulls[o] && row.Values[c] < row.Values[o] {
				return ReasonInvalidValue, ck.Column,
					fmt.Sprintf("%s %s is before %s %s", ck.Column, row.Values[c], ck.Other, row.Values[o])
			}
		case CheckNotAfterLimaDateOf:
			if row.Nulls[c] || row.Nulls[o] {
				continue
			}
			if d := LimaDate(times[o]).String(); row.Values[c] > d {
				return ReasonFutureDate, ck.Column,
					fmt.Sprintf("%s %s is after the Lima date of %s %s", ck.Column, row.Values[c], ck.Other, d)
			}
		}
	}
	return "", "", ""
}

func isPDPFlag(s string) bool {
	switch strings.ToUpper(s) {
	case "SI", "SÍ", "1", "TRUE":
		return true
	}
	return false
}

// convertValue turns one field into its canonical text; ("", true, nil) is NULL.
func (c *Converter) convertValue(i int, col *Column, raw string) (string, bool, error) {
	if strings.IndexByte(raw, 0) >= 0 {
		return "", false, errNUL
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		switch {
		case col.BlankAsEmpty:
			return "", false, nil
		case col.NullAs != "":
			return col.NullAs, false, nil
		case col.Type == TypeIntBool:
			return "false", false, nil
		}
		return "", true, nil
	}
	switch col.Type {
	case TypeText:
		if col.Lower {
			s = strings.ToLower(s)
		}
		return s, false, nil
	case TypeIntText:
		v, err := canonicalInteger(s, 0)
		return v, false, err
	case TypeFloatIntText:
		v, err := canonicalFloatInteger(s)
		return v, false, err
	case TypeDate:
		v, err := canonicalDate(s)
		return v, false, err
	case TypeTimestamp:
		t, err := ParseTimestamp(s)
		if err != nil {
			return "", false, err
		}
		c.times[i] = t
		if isCanonicalTimestamp(s) {
			return s, false, nil
		}
		return FormatTimestamp(t), false, nil
	case TypeInteger:
		v, err := canonicalInteger(s, 31)
		return v, false, err
	case TypeMoney:
		v, err := CanonicalMoney(s)
		return v, false, err
	case TypeBool:
		switch strings.ToLower(s) {
		case "true":
			return "true", false, nil
		case "false":
			return "false", false, nil
		}
		return "", false, fmt.Errorf("value %q is not a boolean (true/false)", clip(s))
	case TypeIntBool:
		switch strings.ToLower(s) {
		case "1", "true":
			return "true", false, nil
		case "0", "false":
			return "false", false, nil
		}
		return "", false, fmt.Errorf("value %q is not 1/0/true/false", clip(s))
	case TypeLenientInt:
		v, err := canonicalInteger(s, 31)
		if err != nil {
			c.warn(fmt.Sprintf("column %s: non-integer value %q stored as 1", col.Name, clip(s)))
			return "1", false, nil
		}
		return v, false, nil
	}
	return "", false, fmt.Errorf("column type %v not handled", col.Type)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// canonicalInteger accepts integer text (an integral "12.0" too) and returns it without
// sign noise or leading zeros. bits > 0 bounds the magnitude (31 → PostgreSQL INTEGER).
func canonicalInteger(s string, bits int) (string, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return "", fmt.Errorf("value %q is not an integer", clip(s))
	}
	if d.hasFraction() {
		return "", fmt.Errorf("value %q is not an integer", clip(s))
	}
	out := d.integerText()
	if bits > 0 {
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil || n > 1<<bits-1 || n < -(1<<bits) {
			return "", fmt.Errorf("value %q is out of range for a %d-bit integer", clip(s), bits+1)
		}
	}
	return out, nil
}

// canonicalFloatInteger reads a FLOAT64 carrying an integer (phone numbers, possibly in
// exponent form) as its digits.
func canonicalFloatInteger(s string) (string, error) {
	d, err := parseDecimal(s)
	if err != nil || d.hasFraction() {
		return "", fmt.Errorf("value %q is not an integral number", clip(s))
	}
	return d.integerText(), nil
}

// CanonicalMoney reads decimal or exponent text and rounds it half away from zero to two
// decimals, within NUMERIC(15,2).
func CanonicalMoney(s string) (string, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return "", fmt.Errorf("value %q is not a decimal number", clip(s))
	}
	out, ok := d.money()
	if !ok {
		return "", fmt.Errorf("value %q exceeds NUMERIC(15,2)", clip(s))
	}
	return out, nil
}

func canonicalDate(s string) (string, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", fmt.Errorf("value %q is not a date (YYYY-MM-DD)", clip(s))
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("value %q is not a valid date", clip(s))
	}
	return s, nil
}

// timestampLayouts are the accepted TIMESTAMP forms; the space forms mean UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 UTC",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
}

// errNUL rejects a value holding a NUL byte: PostgreSQL text cannot store it.
var errNUL = errors.New("value contains a NUL byte")

// ParseTimestamp reads an RFC 3339 or `YYYY-MM-DD HH:MM:SS[.ffffff][ UTC]` timestamp.
func ParseTimestamp(s string) (time.Time, error) {
	if t, ok := parseCanonicalTimestamp(s); ok {
		return t, nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Round(time.Microsecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("value %q is not a timestamp (RFC 3339 or YYYY-MM-DD HH:MM:SS[.ffffff] UTC)", clip(s))
}

// isCanonicalTimestamp reports whether s is already in FormatTimestamp's form:
// YYYY-MM-DDTHH:MM:SS[.f{1,6} without trailing zeros]Z.
func isCanonicalTimestamp(s string) bool {
	n := len(s)
	if n < 20 || s[10] != 'T' || s[n-1] != 'Z' {
		return false
	}
	if n == 20 {
		return true
	}
	frac := s[19 : n-1]
	return len(frac) >= 2 && len(frac) <= 7 && frac[0] == '.' && frac[len(frac)-1] != '0'
}

// parseCanonicalTimestamp is the fast path for the form pulso itself writes (and
// BigQuery exports): fixed positions, digits only, no layout matching.
func parseCanonicalTimestamp(s string) (time.Time, bool) {
	if !isCanonicalTimestamp(s) || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		v := 0
		for i := a; i < b; i++ {
			d := s[i] - '0'
			if d > 9 {
				return 0, false
			}
			v = v*10 + int(d)
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	ns := 0
	if len(s) > 20 {
		frac := s[20 : len(s)-1]
		f, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and the like
	}
	return t, true
}

// CanonicalTimestamp reads an RFC 3339 or `YYYY-MM-DD HH:MM:SS[.ffffff][ UTC]` timestamp
// and writes it as RFC 3339 UTC with microseconds only when non-zero.
func CanonicalTimestamp(s string) (string, error) {
	t, err := ParseTimestamp(s)
	if err != nil {
		return "", err
	}
	return FormatTimestamp(t), nil
}

// FormatTimestamp is the canonical TIMESTAMP text: RFC 3339 UTC, Z, µs when non-zero.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Round(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}
