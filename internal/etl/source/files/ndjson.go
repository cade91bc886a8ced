package files

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

const (
	// maxKeyBytes bounds a kept NDJSON key; longer keys cannot name a column.
	maxKeyBytes = 1024
	// maxUnknownKeys bounds the distinct unknown keys remembered per file.
	maxUnknownKeys = 1000
	// warnKeys is how many unknown names a warning lists.
	warnKeys = 20
	// nestedClip is how much of a nested value Raw keeps.
	nestedClip = 1024
)

type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindNested
)

type pair struct {
	key   span // in kb
	val   span // in rb
	kind  valueKind
	col   int // column index, -1 unknown
	size  int64
	clipd bool
}

// NDJSONReader streams the records of one landing NDJSON file in the BigQuery export
// form (domain.md §2): one JSON object per line, keys = column names.
//
// Semantics, all documented behaviour:
//   - Keys match column names case-insensitively (ASCII). Unknown keys are ignored
//     with one warning per file. A loaded column's key repeated in one object (in any
//     case) is an invalid_value row fault: the value is ambiguous.
//   - A missing key or null is NULL (""); a string is its decoded text; a number is its
//     literal text exactly as written ("12.50" stays "12.50", 1e3 stays "1e3"); true
//     and false are "true" and "false".
//   - A nested object or array as the value of a loaded column is an invalid_value row
//     fault (its syntax is still checked, up to 256 levels deep).
//   - A leading UTF-8 BOM is stripped. Blank lines (only spaces, tabs, CR) are
//     skipped. Anything on a line that is not one JSON object (bad syntax, an object
//     spanning lines, data after the object, a value nested deeper than 256 levels) is
//     a structural error naming file and line: such a file is not NDJSON.
//   - A string with invalid UTF-8 or a NUL (\u0000) in a loaded column is an
//     invalid_utf8 row fault; unpaired surrogate escapes become U+FFFD, as in
//     encoding/json. A value longer than MaxFieldBytes is field_too_large and is not
//     kept in memory beyond the limit.
//   - NDJSON has no header, so there is no missing-required-column check: a file
//     cannot show that a column is absent rather than NULL in every row (an export
//     may omit NULL keys). An absent column is NULL, and the converter rejects the
//     rows where that column is NOT NULL (missing_value).
//   - Memory is bounded per line whatever it holds: each loaded column keeps at most
//     MaxFieldBytes; other values (kept only for Raw) at most 4 KiB each, and no more
//     than the table's width plus 64 of them.
//
// Fields lifetime: as CSVReader (valid until the next Next with the same Record; the
// strings themselves never alias a reader buffer and may be kept).
type NDJSONReader struct {
	in      input
	t       *etl.Table
	max     int
	colIdx  map[string]int
	closers []io.Closer
	started bool
	done    bool
	err     error

	unknownSet   map[string]struct{}
	unknownNames []string
	unknownCount int

	// the record being parsed
	rb, kb  []byte
	lower   []byte
	pairs   []pair
	vals    []int // column → pair index, -1 absent
	npairs  int
	recLine int64
	fault   *etl.Fault
	guess   int
	nest    int // depth inside a nested value

	fstart int
	flen   int64
	flimit int64
	fbuf   *[]byte
}

// NewNDJSONReader reads a landing NDJSON file from r; name is the path named in records
// and errors.
func NewNDJSONReader(r io.Reader, name string, t *etl.Table, opts Options) *NDJSONReader {
	return newNDJSONReader(context.Background(), r, name, t, opts)
}

func newNDJSONReader(ctx context.Context, r io.Reader, name string, t *etl.Table, opts Options) *NDJSONReader {
	nr := &NDJSONReader{in: newInput(ctx, name, r, false, opts), t: t, max: opts.maxField(),
		colIdx: make(map[string]int, len(t.Columns)), unknownSet: map[string]struct{}{},
		vals: make([]int, len(t.Columns))}
	for i, c := range t.Columns {
		nr.colIdx[c.Name] = i
	}
	return nr
}

// Warnings names the unknown keys seen so far, in one warning for the file.
func (r *NDJSONReader) Warnings() []string {
	if r.unknownCount == 0 {
		return nil
	}
	return []string{unknownWarning(r.in.name, r.unknownNames, r.unknownCount)}
}

// Close releases the file, if the reader was opened from one.
func (r *NDJSONReader) Close() error { return closeAll(&r.closers) }

// Next reads the next record; see NDJSONReader for the semantics.
func (r *NDJSONReader) Next(rec *etl.Record) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if r.done {
		return false, nil
	}
	if !r.started {
		r.started = true
		if err := r.ensure(3); err != nil {
			r.err = err
			return false, err
		}
		if bytes.HasPrefix(r.in.buf[r.in.r:r.in.w], []byte("\xef\xbb\xbf")) {
			r.in.r += 3
		}
	}
	ok, err := r.parse()
	if err != nil {
		r.err = err
		return false, err
	}
	if !ok {
		r.done = true
		return false, nil
	}
	r.checkText()
	r.emit(rec)
	return true, nil
}

func (r *NDJSONReader) peek() (byte, bool, error) {
	in := &r.in
	if in.r == in.w {
		if err := in.more(); err != nil {
			return 0, false, err
		}
		if in.r == in.w {
			return 0, false, nil
		}
	}
	return in.buf[in.r], true, nil
}

// ws skips spaces, tabs and CRs and peeks at the next byte (a LF is returned).
func (r *NDJSONReader) ws() (byte, bool, error) {
	in := &r.in
	for {
		for in.r < in.w {
			switch c := in.buf[in.r]; c {
			case ' ', '\t', '\r':
				in.r++
			default:
				return c, true, nil
			}
		}
		c, ok, err := r.peek()
		if !ok || err != nil {
			return c, ok, err
		}
	}
}

// ensure makes n bytes available unless the file ends first.
func (r *NDJSONReader) ensure(n int) error {
	in := &r.in
	for in.w-in.r < n && !in.eof {
		if err := in.more(); err != nil {
			return err
		}
	}
	return nil
}

// syntax is the structural error for an unexpected byte (ok=false: end of file).
func (r *NDJSONReader) syntax(c byte, ok bool, want string) error {
	switch {
	case !ok:
		return r.in.structural(r.recLine, "", "not NDJSON: the JSON object is not closed at end of file")
	case c == '\n':
		return r.in.structural(r.recLine, "", "not NDJSON: the JSON object is not closed on its line")
	}
	return r.in.structural(r.recLine, "", "not NDJSON: unexpected %s in the JSON object, want %s", strconv.QuoteRune(rune(c)), want)
}

// parse reads one object line into pairs; false at end of file.
func (r *NDJSONReader) parse() (bool, error) {
	in := &r.in
	var c byte
	var ok bool
	var err error
	for {
		c, ok, err = r.ws()
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
		if c != '\n' {
			break
		}
		in.r++
		in.line++
	}
	r.recLine = in.line
	r.rb, r.kb = r.rb[:0], r.kb[:0]
	r.pairs = r.pairs[:0]
	r.npairs = 0
	r.fault = nil
	r.guess = 0
	for i := range r.vals {
		r.vals[i] = -1
	}
	if c != '{' {
		return false, in.structural(r.recLine, "", "not NDJSON: the line is not a JSON object")
	}
	in.r++
	if c, ok, err = r.ws(); err != nil {
		return false, err
	}
	if ok && c == '}' {
		in.r++
	} else {
		for {
			if !ok || c != '"' {
				return false, r.syntax(c, ok, "a string key")
			}
			in.r++
			if err := r.member(); err != nil {
				return false, err
			}
			if c, ok, err = r.ws(); err != nil {
				return false, err
			}
			if ok && c == ',' {
				in.r++
				if c, ok, err = r.ws(); err != nil {
					return false, err
				}
				continue
			}
			if ok && c == '}' {
				in.r++
				break
			}
			return false, r.syntax(c, ok, `"," or "}"`)
		}
	}
	if c, ok, err = r.ws(); err != nil {
		return false, err
	}
	if ok {
		if c != '\n' {
			return false, in.structural(r.recLine, "", "not NDJSON: unexpected %s after the JSON object", strconv.QuoteRune(rune(c)))
		}
		in.r++
		in.line++
	}
	return true, nil
}

// member parses `key": value` (the key's opening quote consumed) and records it.
func (r *NDJSONReader) member() error {
	in := &r.in
	p := pair{col: -1}
	p.key.start = len(r.kb)
	r.begin(&r.kb, maxKeyBytes)
	if err := r.str(); err != nil {
		return err
	}
	p.key.end = len(r.kb)
	keyClipped := r.flen > maxKeyBytes
	if !keyClipped {
		p.col = r.lookup(r.kb[p.key.start:p.key.end])
	}
	c, ok, err := r.ws()
	if err != nil {
		return err
	}
	if !ok || c != ':' {
		return r.syntax(c, ok, `":"`)
	}
	in.r++
	if c, ok, err = r.ws(); err != nil {
		return err
	}
	if !ok {
		return r.syntax(c, ok, "a value")
	}
	p.val.start = len(r.rb)
	dup := p.col >= 0 && r.vals[p.col] >= 0
	// Memory stays bounded whatever the line: a loaded column's first value is kept
	// (up to MaxFieldBytes); other keys only up to a count and size, for Raw.
	store := (p.col >= 0 && !dup) || len(r.pairs) < len(r.t.Columns)+extraFields
	limit := int64(r.max)
	switch {
	case !store:
		limit = 0
	case p.col < 0 || dup:
		limit = min(limit, maxIgnored)
	}
	r.begin(&r.rb, limit)
	switch {
	case c == '"':
		in.r++
		p.kind = kindString
		err = r.str()
	case c == '-' || (c >= '0' && c <= '9'):
		p.kind = kindNumber
		err = r.number()
	case c == 't':
		p.kind = kindTrue
		err = r.literal("true")
	case c == 'f':
		p.kind = kindFalse
		err = r.literal("false")
	case c == 'n':
		p.kind = kindNull
		err = r.literal("null")
	case c == '{' || c == '[':
		p.kind = kindNested
		r.flimit = min(r.flimit, nestedClip)
		err = r.nested()
	default:
		return r.syntax(c, ok, "a JSON value")
	}
	if err != nil {
		return err
	}
	p.val.end = len(r.rb)
	p.size = r.flen
	p.clipd = r.flen > r.flimit
	r.npairs++
	if p.col < 0 {
		r.noteUnknown(r.kb[p.key.start:p.key.end], keyClipped)
	}
	if dup && r.fault == nil {
		r.fault = &etl.Fault{Reason: etl.ReasonInvalidValue, Column: r.t.Columns[p.col].Name,
			Detail: fmt.Sprintf("key %q appears more than once", r.kb[p.key.start:p.key.end])}
	}
	if !store {
		r.kb = r.kb[:p.key.start]
		return nil
	}
	r.pairs = append(r.pairs, p)
	if p.col >= 0 && !dup {
		r.vals[p.col] = len(r.pairs) - 1
		if p.kind == kindNested || p.clipd {
			r.check(&r.pairs[len(r.pairs)-1])
		}
	}
	return nil
}

// check notes the first row fault of a loaded value.
func (r *NDJSONReader) check(p *pair) {
	if r.fault != nil {
		return
	}
	name := r.t.Columns[p.col].Name
	switch {
	case p.kind == kindNested:
		r.fault = &etl.Fault{Reason: etl.ReasonInvalidValue, Column: name,
			Detail: "nested JSON object or array; want a string, number, boolean or null"}
	case p.clipd:
		r.fault = &etl.Fault{Reason: etl.ReasonFieldTooLarge, Column: name,
			Detail: fmt.Sprintf("value of %d bytes exceeds files.max_field_bytes (%d)", p.size, r.max)}
	case p.kind == kindString:
		v := r.rb[p.val.start:p.val.end]
		if detail := badText(v); detail != "" {
			r.fault = &etl.Fault{Reason: etl.ReasonInvalidUTF8, Column: name, Detail: detail}
		}
	}
}

// checkText looks for invalid UTF-8 or NUL in the loaded string values, once per
// record over all of them, and per value only when something is wrong.
func (r *NDJSONReader) checkText() {
	if r.fault != nil || (utf8.Valid(r.rb) && bytes.IndexByte(r.rb, 0) < 0) {
		return
	}
	for _, pi := range r.vals {
		if pi >= 0 && r.pairs[pi].kind == kindString {
			r.check(&r.pairs[pi])
			if r.fault != nil {
				return
			}
		}
	}
}

// lookup maps a key to a column, case-insensitively; keys usually come in column
// order, so the next column is tried first.
func (r *NDJSONReader) lookup(key []byte) int {
	cols := r.t.Columns
	if r.guess < len(cols) && string(key) == cols[r.guess].Name {
		r.guess++
		return r.guess - 1
	}
	r.lower = r.lower[:0]
	for _, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		r.lower = append(r.lower, c)
	}
	if i, ok := r.colIdx[string(r.lower)]; ok {
		r.guess = i + 1
		return i
	}
	return -1
}

func (r *NDJSONReader) noteUnknown(key []byte, clipped bool) {
	if _, ok := r.unknownSet[string(key)]; ok || len(r.unknownSet) >= maxUnknownKeys {
		return
	}
	name := string(key)
	if clipped {
		name += "…"
	}
	r.unknownSet[string(key)] = struct{}{}
	r.unknownCount++
	if len(r.unknownNames) < warnKeys {
		r.unknownNames = append(r.unknownNames, name)
	}
}

// begin starts a value or key in buf, keeping at most limit bytes of it.
func (r *NDJSONReader) begin(buf *[]byte, limit int64) {
	r.fbuf = buf
	r.fstart = len(*buf)
	r.flen = 0
	r.flimit = limit
}

// add appends to the current value; beyond the limit bytes are only counted, and a
// short prefix is kept.
func (r *NDJSONReader) add(b []byte) {
	r.flen += int64(len(b))
	buf := *r.fbuf
	if r.flen <= r.flimit {
		*r.fbuf = append(buf, b...)
		return
	}
	keep := r.fstart + int(min(r.flimit, rawClip))
	if len(buf) > keep {
		buf = buf[:keep]
	} else if len(buf) < keep {
		buf = append(buf, b[:min(len(b), keep-len(buf))]...)
	}
	*r.fbuf = buf
}

func (r *NDJSONReader) addByte(c byte) {
	b := [1]byte{c}
	r.add(b[:])
}

// str reads a JSON string whose opening quote is consumed.
func (r *NDJSONReader) str() error {
	in := &r.in
	for {
		if in.r == in.w {
			c, ok, err := r.peek()
			if err != nil {
				return err
			}
			if !ok {
				return r.syntax(c, ok, "")
			}
		}
		chunk := in.buf[in.r:in.w]
		i := 0
		for i < len(chunk) && !strSpecial[chunk[i]] {
			i++
		}
		r.add(chunk[:i])
		in.r += i
		if i == len(chunk) {
			continue
		}
		switch c := chunk[i]; {
		case c == '"':
			in.r++
			return nil
		case c == '\\':
			if err := r.ensure(12); err != nil {
				return err
			}
			if in.w-in.r < 2 {
				return r.syntax(0, false, "")
			}
			var dec [utf8.UTFMax]byte
			n := 2
			d := dec[:1]
			switch e := in.buf[in.r+1]; e {
			case '"', '\\', '/':
				dec[0] = e
			case 'b':
				dec[0] = '\b'
			case 'f':
				dec[0] = '\f'
			case 'n':
				dec[0] = '\n'
			case 'r':
				dec[0] = '\r'
			case 't':
				dec[0] = '\t'
			case 'u':
				rr := hex4(in.buf[in.r+2 : min(in.r+6, in.w)])
				if rr < 0 {
					return in.structural(r.recLine, "", "not NDJSON: invalid \\u escape in a JSON string")
				}
				n = 6
				if utf16.IsSurrogate(rr) {
					rr2 := rune(-1)
					if in.w-in.r >= 12 && in.buf[in.r+6] == '\\' && in.buf[in.r+7] == 'u' {
						rr2 = hex4(in.buf[in.r+8 : in.r+12])
					}
					if pair := utf16.DecodeRune(rr, rr2); pair != utf8.RuneError {
						rr, n = pair, 12
					} else {
						rr = utf8.RuneError
					}
				}
				d = utf8.AppendRune(dec[:0], rr)
			default:
				return in.structural(r.recLine, "", "not NDJSON: invalid escape %s in a JSON string", strconv.QuoteRune(rune(e)))
			}
			if r.nest > 0 {
				d = in.buf[in.r : in.r+n] // nested text is kept as written
			}
			r.add(d)
			in.r += n
		case c == '\n':
			return r.syntax(c, true, "")
		default:
			return in.structural(r.recLine, "", "not NDJSON: control character %s in a JSON string", strconv.QuoteRune(rune(c)))
		}
	}
}

// strSpecial marks the bytes that end a plain run inside a JSON string.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// hex4 decodes four hex digits, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var v rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		v = v<<4 | rune(c)
	}
	return v
}

// number reads a JSON number literal as its exact text, checking the grammar
// -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? as it goes.
func (r *NDJSONReader) number() error {
	in := &r.in
	st := numStart
	var head [24]byte
	nh := 0
	for {
		if in.r == in.w {
			_, ok, err := r.peek()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
		chunk := in.buf[in.r:in.w]
		i := 0
		for ; i < len(chunk); i++ {
			c := chunk[i]
			next := numNext(st, c)
			if nh < len(head) && next != numEnd {
				head[nh] = c
				nh++
			}
			if next == numBad {
				return in.structural(r.recLine, "", "not NDJSON: invalid JSON number %q", head[:nh])
			}
			if next == numEnd {
				break
			}
			st = next
		}
		r.add(chunk[:i])
		in.r += i
		if i < len(chunk) {
			break
		}
	}
	switch st {
	case numZero, numInt, numFrac, numExp:
		return nil
	}
	return in.structural(r.recLine, "", "not NDJSON: invalid JSON number %q", head[:nh])
}

const (
	numStart = iota
	numMinus
	numZero
	numInt
	numDot
	numFrac
	numE
	numESign
	numExp
	numEnd
	numBad
)

// numNext is the number grammar's transition on c: numEnd when c cannot continue a
// number (the caller checks what follows), numBad when c is a number byte out of place.
func numNext(st int, c byte) int {
	switch {
	case c >= '0' && c <= '9':
		switch st {
		case numStart, numMinus:
			if c == '0' {
				return numZero
			}
			return numInt
		case numInt, numFrac, numExp:
			return st
		case numDot:
			return numFrac
		case numE, numESign:
			return numExp
		}
	case c == '-':
		switch st {
		case numStart:
			return numMinus
		case numE:
			return numESign
		}
	case c == '+':
		if st == numE {
			return numESign
		}
	case c == '.':
		if st == numZero || st == numInt {
			return numDot
		}
	case c == 'e' || c == 'E':
		if st == numZero || st == numInt || st == numFrac {
			return numE
		}
	default:
		return numEnd
	}
	return numBad
}

// literal reads true, false or null (kept as text inside a nested value).
func (r *NDJSONReader) literal(lit string) error {
	in := &r.in
	if err := r.ensure(len(lit)); err != nil {
		return err
	}
	if in.w-in.r < len(lit) || string(in.buf[in.r:in.r+len(lit)]) != lit {
		c, ok, _ := r.peek()
		return r.syntax(c, ok, "a JSON value")
	}
	if r.nest > 0 {
		r.add(in.buf[in.r : in.r+len(lit)])
	}
	in.r += len(lit)
	return nil
}

// maxDepth bounds the nesting of a nested value.
const maxDepth = 256

// nested reads an object or array value (at its opening bracket), checking its JSON
// syntax and keeping a clipped copy of its text for Raw.
func (r *NDJSONReader) nested() error {
	in := &r.in
	open := in.buf[in.r]
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	r.nest++
	defer func() { r.nest-- }()
	if r.nest > maxDepth {
		return in.structural(r.recLine, "", "not NDJSON: a value nests deeper than %d levels", maxDepth)
	}
	in.r++
	r.addByte(open)
	c, ok, err := r.ws()
	if err != nil {
		return err
	}
	if ok && c == closer {
		in.r++
		r.addByte(closer)
		return nil
	}
	for {
		if open == '{' {
			if !ok || c != '"' {
				return r.syntax(c, ok, "a string key")
			}
			in.r++
			r.addByte('"')
			if err := r.str(); err != nil {
				return err
			}
			r.addByte('"')
			if c, ok, err = r.ws(); err != nil {
				return err
			}
			if !ok || c != ':' {
				return r.syntax(c, ok, `":"`)
			}
			in.r++
			r.addByte(':')
			if c, ok, err = r.ws(); err != nil {
				return err
			}
		}
		if err := r.value(c, ok); err != nil {
			return err
		}
		if c, ok, err = r.ws(); err != nil {
			return err
		}
		if ok && c == ',' {
			in.r++
			r.addByte(',')
			if c, ok, err = r.ws(); err != nil {
				return err
			}
			continue
		}
		if ok && c == closer {
			in.r++
			r.addByte(closer)
			return nil
		}
		return r.syntax(c, ok, fmt.Sprintf(`"," or "%c"`, closer))
	}
}

// value reads any JSON value inside a nested one.
func (r *NDJSONReader) value(c byte, ok bool) error {
	switch {
	case !ok:
		return r.syntax(c, ok, "a JSON value")
	case c == '"':
		r.in.r++
		r.addByte('"')
		if err := r.str(); err != nil {
			return err
		}
		r.addByte('"')
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '{' || c == '[':
		return r.nested()
	}
	return r.syntax(c, ok, "a JSON value")
}

// emit fills rec from the parsed object.
func (r *NDJSONReader) emit(rec *etl.Record) {
	rec.Source = r.in.name
	rec.Line = r.recLine
	rec.Fault = nil
	rec.Raw = nil
	if r.fault != nil {
		rec.Fault = r.fault
		rec.Raw = r.raw()
		rec.Fields = rec.Fields[:0]
		return
	}
	s := string(r.rb)
	n := len(r.t.Columns)
	if cap(rec.Fields) >= n {
		rec.Fields = rec.Fields[:n]
		clear(rec.Fields)
	} else {
		rec.Fields = make([]string, n)
	}
	for c, pi := range r.vals {
		if pi < 0 {
			continue
		}
		p := &r.pairs[pi]
		switch p.kind {
		case kindString, kindNumber:
			rec.Fields[c] = s[p.val.start:p.val.end]
		case kindTrue:
			rec.Fields[c] = "true"
		case kindFalse:
			rec.Fields[c] = "false"
		}
	}
}

// raw renders the object as read, for a row fault: strings and nested values as JSON
// strings (clipped when oversized), numbers, booleans and null as themselves.
func (r *NDJSONReader) raw() []byte {
	b := make([]byte, 0, len(r.rb)+len(r.kb)+8*len(r.pairs)+2)
	b = append(b, '{')
	for i, p := range r.pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, string(r.kb[p.key.start:p.key.end]))
		b = append(b, ':')
		v := r.rb[p.val.start:p.val.end]
		switch {
		case p.kind == kindNull:
			b = append(b, "null"...)
		case p.kind == kindTrue:
			b = append(b, "true"...)
		case p.kind == kindFalse:
			b = append(b, "false"...)
		case p.clipd:
			b = appendJSONString(b, string(v)+"… (truncated)")
		case p.kind == kindNumber:
			b = append(b, v...)
		default:
			b = appendJSONString(b, string(v))
		}
	}
	if r.npairs > len(r.pairs) {
		b = append(b, `,"…":"`...)
		b = strconv.AppendInt(b, int64(r.npairs-len(r.pairs)), 10)
		b = append(b, ` more keys not kept"`...)
	}
	return append(b, '}')
}
