package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

const (
	// maxHeaderFields bounds a header row; more is not a landing file.
	maxHeaderFields = 1 << 14
	// extraFields is how many fields beyond the header's a record keeps for its Raw
	// JSON; further ones are only counted.
	extraFields = 64
	// rawClip is how much of an oversized field Raw keeps.
	rawClip = 64
	// maxHeaderName bounds a header field.
	maxHeaderName = 1024
	// maxIgnored bounds a field that feeds no column (kept only for Raw).
	maxIgnored = 4096
)

type span struct{ start, end int }

// CSVReader streams the records of one landing CSV (domain.md §2): RFC 4180, comma,
// '"' quoting (quoted fields may hold commas, quotes as "" and line breaks), LF or
// CRLF line ends, a leading UTF-8 BOM stripped, a required header row.
//
// Choices beyond RFC 4180, all documented behaviour:
//   - Header names are trimmed and matched case-insensitively to the table's source
//     columns, in any order. Unknown names are ignored with one warning per file; an
//     empty name counts as unknown. A missing required column or a repeated name is a
//     structural error, returned by the first call to Next.
//   - Completely empty lines are skipped (they count as lines for numbering).
//   - A CR not followed by LF is data, not a line end; quoted fields keep their bytes
//     exactly (a CRLF inside quotes stays CRLF).
//   - Line numbers count LF bytes: the header is line 1, Record.Line is the line where
//     the record starts.
//   - A quote inside an unquoted field, or anything but a comma, quote or line end
//     after a closing quote, is a structural error naming line and column; so is a
//     quoted field still open at end of file (naming the line where it started).
//   - Row faults (wrong_field_count, field_too_large, invalid_utf8) are checked in that
//     order; field_too_large and invalid_utf8 only for columns that are loaded. A NUL
//     byte is reported as invalid_utf8 (PostgreSQL text cannot hold it).
//   - A field longer than MaxFieldBytes is not kept: beyond the limit its bytes are
//     counted and discarded, so memory stays bounded whatever the file holds.
//
// Fields lifetime: Next writes into rec.Fields, reusing its backing array when it is
// large enough, so the slice's contents are valid until the next call to Next with the
// same Record. The strings themselves are immutable, never alias a reader buffer, and
// may be kept for as long as wanted (each record's fields are substrings of one string
// allocated for that record, so keeping one keeps its record's text alive).
type CSVReader struct {
	in      input
	t       *etl.Table
	max     int
	closers []io.Closer

	started  bool
	done     bool
	err      error
	header   []string // trimmed names as they appear in the file
	colOf    []int    // header position → column index, -1 when ignored
	warnings []string

	// the record being scanned
	rb      []byte
	spans   []span
	nfields int
	big     int   // header position of the first oversized loaded field, or -1
	clipped []int // positions of every oversized field (kept as a prefix, or whole in the fast path)
	bigSize int64
	recLine int64
	fquoted bool
	fstart  int
	flen    int64
	fstore  bool
	flimit  int64
}

// NewCSVReader reads a landing CSV from r until ctx ends; name is the path named in
// records and errors.
func NewCSVReader(ctx context.Context, r io.Reader, name string, t *etl.Table, opts Options) *CSVReader {
	return newCSVReader(ctx, r, name, false, t, opts)
}

func newCSVReader(ctx context.Context, r io.Reader, name string, gz bool, t *etl.Table, opts Options) *CSVReader {
	return &CSVReader{in: newInput(ctx, name, r, gz, opts), t: t, max: opts.maxField(), big: -1}
}

// Warnings lists the unknown columns of the file, once the header has been read.
func (r *CSVReader) Warnings() []string { return r.warnings }

// Close releases the file, if the reader was opened from one.
func (r *CSVReader) Close() error { return closeAll(&r.closers) }

// Next reads the next record; see CSVReader for the semantics.
func (r *CSVReader) Next(rec *etl.Record) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if r.done {
		return false, nil
	}
	if !r.started {
		r.started = true
		if err := r.readHeader(); err != nil {
			r.err = err
			return false, err
		}
	}
	data, ok, err := r.scan()
	if err != nil {
		r.err = err
		return false, err
	}
	if !ok {
		r.done = true
		return false, nil
	}
	r.emit(data, rec)
	return true, nil
}

func (r *CSVReader) readHeader() error {
	in := &r.in
	for in.w-in.r < 3 && !in.eof {
		if err := in.more(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(in.buf[in.r:in.w], []byte("\xef\xbb\xbf")) {
		in.r += 3
	}
	data, ok, err := r.scan()
	if err != nil {
		return err
	}
	if !ok {
		return &etl.StructuralError{File: in.name, Msg: fmt.Sprintf("table %s: empty file: a header row is required", r.t.Name)}
	}
	if r.nfields > maxHeaderFields {
		return in.structural(r.recLine, "", "header has %d fields, more than %d", r.nfields, maxHeaderFields)
	}
	if r.big >= 0 {
		return in.structural(r.recLine, r.colName(r.big), "header field exceeds %d bytes", r.limit(r.big))
	}
	r.header = make([]string, r.nfields)
	r.colOf = make([]int, r.nfields)
	seen := make(map[string]bool, r.nfields)
	found := make([]bool, len(r.t.Columns))
	var unknown []string
	for j, sp := range r.spans {
		name := strings.TrimSpace(string(data[sp.start:sp.end]))
		r.header[j] = name
		key := asciiLower(name)
		if key != "" {
			if seen[key] {
				return &etl.StructuralError{File: in.name, Msg: fmt.Sprintf("table %s: duplicate column %q", r.t.Name, name)}
			}
			seen[key] = true
		}
		r.colOf[j] = -1
		for c := range r.t.Columns {
			if r.t.Columns[c].Name == key {
				r.colOf[j] = c
				found[c] = true
				break
			}
		}
		if r.colOf[j] < 0 {
			unknown = append(unknown, name)
		}
	}
	for c, col := range r.t.Columns {
		if col.Required && !found[c] {
			return &etl.StructuralError{File: in.name, Msg: fmt.Sprintf("table %s: missing required column %q", r.t.Name, col.Name)}
		}
	}
	if len(unknown) > 0 {
		r.warnings = append(r.warnings, unknownWarning(in.name, unknown, len(unknown)))
	}
	return nil
}

func unknownWarning(file string, names []string, total int) string {
	var b strings.Builder
	b.WriteString("file ")
	b.WriteString(file)
	b.WriteString(": unknown columns ignored: ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	if total > len(names) {
		fmt.Fprintf(&b, " and %d more", total-len(names))
	}
	return b.String()
}

// asciiLower lower-cases ASCII letters only: column names are ASCII, and matching
// must not let a Unicode case folding (the Kelvin sign, say) name a column.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// storeCap is how many fields of a record are kept.
func (r *CSVReader) storeCap() int {
	if r.header == nil {
		return maxHeaderFields
	}
	return len(r.header) + extraFields
}

// colName names a field position for messages.
func (r *CSVReader) colName(j int) string {
	if j < len(r.header) && r.header[j] != "" {
		return r.header[j]
	}
	return "field " + strconv.Itoa(j+1)
}

// loaded reports whether a field position feeds a column (every header field does).
func (r *CSVReader) loaded(j int) bool {
	return r.header == nil || (j < len(r.colOf) && r.colOf[j] >= 0)
}

// limit is how many bytes of a field position are kept: MaxFieldBytes for a loaded
// field, less for a header name or an ignored field (kept only for Raw). A loaded
// field over its limit is a fault (structural in the header); an ignored one is clipped.
func (r *CSVReader) limit(j int) int {
	switch {
	case r.header == nil:
		return min(r.max, maxHeaderName)
	case r.loaded(j):
		return r.max
	}
	return min(r.max, maxIgnored)
}

// scan reads the next non-blank record. The fields are data[span] for r.spans. data
// is valid until the next scan.
func (r *CSVReader) scan() ([]byte, bool, error) {
	in := &r.in
	searched := 0 // bytes after in.r known to hold no LF
	for {
		avail := in.buf[in.r:in.w]
		if i := bytes.IndexByte(avail[searched:], '\n'); i >= 0 {
			i += searched
			searched = 0
			line := avail[:i]
			if bytes.IndexByte(line, '"') >= 0 {
				return r.scanSlow()
			}
			r.recLine = in.line
			in.r += i + 1
			in.line++
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) == 0 {
				continue
			}
			r.split(line)
			return line, true, nil
		}
		if in.eof || in.full() {
			if in.r == in.w {
				return nil, false, nil
			}
			return r.scanSlow()
		}
		searched = len(avail)
		if err := in.more(); err != nil {
			return nil, false, err
		}
	}
}

// split cuts a quote-free line at its commas, eight bytes at a time.
func (r *CSVReader) split(line []byte) {
	spans := r.spans[:0]
	limit := r.storeCap()
	n, start := 0, 0
	i := 0
	for ; i+8 <= len(line); i += 8 {
		// High bit set in each byte of m that may be a comma: exact for the lowest
		// one, while a borrow can flag a '-' right after a comma, hence the check.
		v := binary.LittleEndian.Uint64(line[i:]) ^ (0x0101010101010101 * ',')
		m := (v - 0x0101010101010101) &^ v & 0x8080808080808080
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			m &= m - 1
			if line[j] != ',' {
				continue
			}
			if n < limit {
				spans = append(spans, span{start, j})
			}
			n++
			start = j + 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == ',' {
			if n < limit {
				spans = append(spans, span{start, i})
			}
			n++
			start = i + 1
		}
	}
	if n < limit {
		spans = append(spans, span{start, len(line)})
	}
	r.spans = spans
	r.nfields = n + 1
	r.big = -1
	r.clipped = r.clipped[:0]
	if len(line) > min(r.max, maxHeaderName) {
		for j, sp := range spans {
			if sp.end-sp.start > r.limit(j) {
				r.clipped = append(r.clipped, j)
				if r.big < 0 && r.loaded(j) {
					r.big, r.bigSize = j, int64(sp.end-sp.start)
				}
			}
		}
	}
}

// special marks the bytes that end an unquoted run.
var special = [256]bool{',': true, '\n': true, '\r': true, '"': true}

// scanSlow assembles a record field by field into r.rb: quoted fields, records longer
// than the buffer, the last line without a line end.
func (r *CSVReader) scanSlow() ([]byte, bool, error) {
	in := &r.in
record:
	r.rb = r.rb[:0]
	r.spans = r.spans[:0]
	r.nfields = 0
	r.big = -1
	r.clipped = r.clipped[:0]
	r.recLine = in.line
	for {
		r.fstart, r.flen, r.fstore, r.fquoted = len(r.rb), 0, r.nfields < r.storeCap(), false
		r.flimit = int64(r.limit(r.nfields))
		if in.r == in.w {
			if err := in.more(); err != nil {
				return nil, false, err
			}
			if in.r == in.w {
				if r.nfields == 0 {
					return nil, false, nil
				}
				r.endField()
				return r.rb, true, nil
			}
		}
		if in.buf[in.r] == '"' {
			r.fquoted = true
			quoteLine := in.line
			in.r++
			for {
				if in.r == in.w {
					if err := in.more(); err != nil {
						return nil, false, err
					}
					if in.r == in.w {
						return nil, false, in.structural(quoteLine, r.colName(r.nfields),
							"unbalanced quote: the quoted field starting on line %d is still open at end of file", quoteLine)
					}
				}
				chunk := in.buf[in.r:in.w]
				i := bytes.IndexByte(chunk, '"')
				if i < 0 {
					in.line += int64(bytes.Count(chunk, nl))
					r.add(chunk)
					in.r = in.w
					continue
				}
				in.line += int64(bytes.Count(chunk[:i], nl))
				r.add(chunk[:i])
				in.r += i + 1
				end, err := r.afterQuote()
				if err != nil {
					return nil, false, err
				}
				switch end {
				case endQuote:
					r.add(quote)
					in.r++
					continue
				case endField:
					r.endField()
				case endRecord:
					r.endField()
					return r.rb, true, nil
				}
				break
			}
			continue
		}
		for {
			if in.r == in.w {
				if err := in.more(); err != nil {
					return nil, false, err
				}
				if in.r == in.w {
					return r.endUnquotedRecord()
				}
			}
			chunk := in.buf[in.r:in.w]
			i := 0
			for i < len(chunk) && !special[chunk[i]] {
				i++
			}
			r.add(chunk[:i])
			in.r += i
			if i == len(chunk) {
				continue
			}
			switch in.buf[in.r] {
			case ',':
				in.r++
				r.endField()
			case '\n':
				in.r++
				in.line++
				if r.blank() {
					goto record
				}
				return r.endUnquotedRecord()
			case '"':
				return nil, false, in.structural(in.line, r.colName(r.nfields), "bare quote in an unquoted field")
			case '\r':
				eol, err := r.crlf()
				if err != nil {
					return nil, false, err
				}
				if !eol {
					r.add(cr)
					in.r++
					continue
				}
				if r.blank() {
					goto record
				}
				return r.endUnquotedRecord()
			}
			break
		}
	}
}

var (
	nl    = []byte{'\n'}
	cr    = []byte{'\r'}
	quote = []byte{'"'}
)

const (
	endQuote = iota
	endField
	endRecord
)

// afterQuote looks at what follows a quote inside a quoted field: a second quote (a
// literal quote, not consumed), a comma (consumed: the field ends), a line end or end
// of file (consumed: the record ends).
func (r *CSVReader) afterQuote() (int, error) {
	in := &r.in
	if in.r == in.w {
		if err := in.more(); err != nil {
			return 0, err
		}
		if in.r == in.w {
			return endRecord, nil
		}
	}
	switch c := in.buf[in.r]; c {
	case '"':
		return endQuote, nil
	case ',':
		in.r++
		return endField, nil
	case '\n':
		in.r++
		in.line++
		return endRecord, nil
	case '\r':
		eol, err := r.crlf()
		if err != nil {
			return 0, err
		}
		if eol {
			return endRecord, nil
		}
		fallthrough
	default:
		return 0, in.structural(in.line, r.colName(r.nfields),
			"unexpected %s after the closing quote of a quoted field", strconv.QuoteRune(rune(c)))
	}
}

// crlf is called at a CR: it consumes CRLF, or a CR at end of file, as a line end and
// reports true; a CR followed by anything else is left in place and reports false.
func (r *CSVReader) crlf() (bool, error) {
	in := &r.in
	if in.r+1 == in.w {
		if err := in.more(); err != nil {
			return false, err
		}
	}
	if in.r+1 == in.w { // CR at end of file
		in.r++
		return true, nil
	}
	if in.buf[in.r+1] == '\n' {
		in.r += 2
		in.line++
		return true, nil
	}
	return false, nil
}

// blank reports a line holding nothing: one unquoted empty field so far.
func (r *CSVReader) blank() bool {
	return r.nfields == 0 && !r.fquoted && r.flen == 0
}

func (r *CSVReader) endUnquotedRecord() ([]byte, bool, error) {
	if r.blank() {
		return nil, false, nil
	}
	r.endField()
	return r.rb, true, nil
}

// add appends bytes to the field being scanned, keeping at most its limit (and only
// a short prefix once it is over the limit).
func (r *CSVReader) add(b []byte) {
	r.flen += int64(len(b))
	if !r.fstore {
		return
	}
	if r.flen <= r.flimit {
		r.rb = append(r.rb, b...)
		return
	}
	keep := r.fstart + rawClip
	if len(r.rb) > keep {
		r.rb = r.rb[:keep]
	} else if len(r.rb) < keep {
		r.rb = append(r.rb, b[:min(len(b), keep-len(r.rb))]...)
	}
}

func (r *CSVReader) endField() {
	if r.fstore {
		r.spans = append(r.spans, span{r.fstart, len(r.rb)})
	}
	if r.flen > r.flimit {
		if r.fstore {
			r.clipped = append(r.clipped, r.nfields)
		}
		if r.big < 0 && r.loaded(r.nfields) {
			r.big, r.bigSize = r.nfields, r.flen
		}
	}
	r.nfields++
}

// emit fills rec from a scanned record.
func (r *CSVReader) emit(data []byte, rec *etl.Record) {
	rec.Source = r.in.name
	rec.Line = r.recLine
	rec.Fault = nil
	rec.Raw = nil
	switch {
	case r.nfields != len(r.header):
		r.fault(rec, &etl.Fault{Reason: etl.ReasonWrongFieldCount,
			Detail: fmt.Sprintf("record has %d fields, the header has %d", r.nfields, len(r.header))}, r.rawFields(data))
		return
	case r.big >= 0:
		r.fault(rec, &etl.Fault{Reason: etl.ReasonFieldTooLarge, Column: r.colName(r.big),
			Detail: fmt.Sprintf("value of %d bytes exceeds files.max_field_bytes (%d)", r.bigSize, r.max)}, r.rawObject(data))
		return
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		for j, sp := range r.spans {
			if r.colOf[j] < 0 {
				continue
			}
			if detail := badText(data[sp.start:sp.end]); detail != "" {
				r.fault(rec, &etl.Fault{Reason: etl.ReasonInvalidUTF8, Column: r.header[j], Detail: detail}, r.rawObject(data))
				return
			}
		}
	}
	s := string(data)
	n := len(r.t.Columns)
	if cap(rec.Fields) >= n {
		rec.Fields = rec.Fields[:n]
		clear(rec.Fields)
	} else {
		rec.Fields = make([]string, n)
	}
	for j, c := range r.colOf {
		if c >= 0 {
			sp := r.spans[j]
			rec.Fields[c] = s[sp.start:sp.end]
		}
	}
}

func (r *CSVReader) fault(rec *etl.Record, f *etl.Fault, raw []byte) {
	rec.Fault = f
	rec.Raw = raw
	rec.Fields = rec.Fields[:0]
}

// badText describes why a value cannot be stored as PostgreSQL text, or "".
func badText(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 && utf8.Valid(b[:i]) {
		return fmt.Sprintf("NUL byte at offset %d (PostgreSQL text cannot hold it)", i)
	}
	for i := 0; i < len(b); {
		c, size := utf8.DecodeRune(b[i:])
		if c == utf8.RuneError && size == 1 {
			return fmt.Sprintf("invalid UTF-8 byte 0x%02x at offset %d", b[i], i)
		}
		if c == 0 {
			return fmt.Sprintf("NUL byte at offset %d (PostgreSQL text cannot hold it)", i)
		}
		i += size
	}
	return ""
}

// rawObject renders the record as read: a JSON object of header name → value (null
// for an empty field), an oversized value clipped.
func (r *CSVReader) rawObject(data []byte) []byte {
	b := make([]byte, 0, len(data)+16*len(r.spans)+2)
	b = append(b, '{')
	for j, sp := range r.spans {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r.header[j])
		b = append(b, ':')
		b = r.appendRawValue(b, j, data[sp.start:sp.end])
	}
	return append(b, '}')
}

// rawFields renders a record whose width does not match the header:
// {"fields":[...]} plus "field_count" when not every field was kept.
func (r *CSVReader) rawFields(data []byte) []byte {
	b := make([]byte, 0, len(data)+4*len(r.spans)+32)
	b = append(b, `{"fields":[`...)
	for j, sp := range r.spans {
		if j > 0 {
			b = append(b, ',')
		}
		b = r.appendRawValue(b, j, data[sp.start:sp.end])
	}
	b = append(b, ']')
	if r.nfields > len(r.spans) {
		b = append(b, `,"field_count":`...)
		b = strconv.AppendInt(b, int64(r.nfields), 10)
	}
	return append(b, '}')
}

func (r *CSVReader) appendRawValue(b []byte, j int, v []byte) []byte {
	if len(v) == 0 {
		return append(b, "null"...)
	}
	if slices.Contains(r.clipped, j) {
		v = v[:min(len(v), rawClip)]
		return appendJSONString(b, string(v)+"… (truncated)")
	}
	return appendJSONString(b, string(v))
}
