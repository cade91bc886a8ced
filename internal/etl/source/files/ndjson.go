package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

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
	// lineSlack is what a line may hold beyond full-size loaded values: keys,
	// punctuation, escapes and other keys.
	lineSlack = 64 << 10
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
	size  int
	clipd bool
}

// NDJSONReader streams the records of one landing NDJSON file in the BigQuery export
// form (domain.md §2): one JSON object per line, keys = column names. Lines are read
// whole (up to a limit) and split into members with jsontext (encoding/json/v2's
// token layer); what a line may hold is what encoding/json accepts.
//
// Semantics, all documented behaviour:
//   - Keys match column names case-insensitively (ASCII). Unknown keys are ignored
//     with one warning per file. A loaded column's key repeated in one object (in any
//     case) is an invalid_value row fault: the value is ambiguous.
//   - A missing key or null is NULL (""); a string is its decoded text; a number is its
//     literal text exactly as written ("12.50" stays "12.50", 1e3 stays "1e3"); true
//     and false are "true" and "false".
//   - A nested object or array as the value of a loaded column is an invalid_value row
//     fault.
//   - A leading UTF-8 BOM is stripped. Blank lines (only spaces, tabs, CR) are
//     skipped. A line that is not one valid JSON object (as json.Valid judges it: bad
//     syntax, an object spanning lines, data after the object, nesting deeper than
//     encoding/json's limit) is a structural error naming file and line: such a file
//     is not NDJSON.
//   - A string with invalid UTF-8 or a NUL (\u0000) in a loaded column is an
//     invalid_utf8 row fault; unpaired surrogate escapes become U+FFFD, as in
//     encoding/json. A value longer than MaxFieldBytes is field_too_large.
//   - A line longer than len(columns) × MaxFieldBytes + 64 KiB is a field_too_large
//     row fault with no column, whatever it holds (unless it is blank): it is read to
//     its end without being held in memory beyond that limit.
//   - NDJSON has no header, so there is no missing-required-column check: a file
//     cannot show that a column is absent rather than NULL in every row (an export
//     may omit NULL keys). An absent column is NULL, and the converter rejects the
//     rows where that column is NOT NULL (missing_value).
//   - Memory is bounded by the line limit; Raw keeps each loaded column up to
//     MaxFieldBytes, other values up to 4 KiB each, and no more than the table's
//     width plus 64 of them.
//
// Fields lifetime: as CSVReader (valid until the next Next with the same Record; the
// strings themselves never alias a reader buffer and may be kept).
type NDJSONReader struct {
	in      input
	t       *etl.Table
	max     int
	maxLine int64
	colIdx  map[string]int
	closers []io.Closer
	started bool
	done    bool
	err     error

	unknownSet   map[string]struct{}
	unknownNames []string
	unknownCount int

	// the line being read
	recLine int64
	lineLen int64        // its length without '\n', even when not all of it was kept
	eol     bool         // it ended with '\n' (not at end of file)
	spill   [][]byte     // its start, when longer than the read buffer
	long    []byte       // spill joined
	lr      bytes.Reader // for encoding/json's diagnosis of an invalid line

	// the line's tokenizer: a bytes.Buffer lets jsontext read the line in place
	dec   jsontext.Decoder
	lb    bytes.Buffer
	dopts []jsontext.Options

	// the record being parsed
	rb, kb  []byte
	key     []byte // a key's decoded text, when it differs from the text as written
	lower   []byte // a key lowered (ASCII) for the column lookup
	pairs   []pair
	vals    []int // column → pair index, -1 absent
	npairs  int
	fault   *etl.Fault
	pending []pendingKey // unknown keys of the line, noted once it proves valid
	pb      []byte       // their text
}

// pendingKey is an unknown key in pb, remembered until its line is known to be valid.
type pendingKey struct {
	key     span
	clipped bool
}

// NewNDJSONReader reads a landing NDJSON file from r until ctx ends; name is the path
// named in records and errors.
func NewNDJSONReader(ctx context.Context, r io.Reader, name string, t *etl.Table, opts Options) *NDJSONReader {
	return newNDJSONReader(ctx, r, name, t, opts)
}

func newNDJSONReader(ctx context.Context, r io.Reader, name string, t *etl.Table, opts Options) *NDJSONReader {
	nr := &NDJSONReader{in: newInput(ctx, name, r, false, opts), t: t, max: opts.maxField(),
		colIdx: make(map[string]int, len(t.Columns)), unknownSet: map[string]struct{}{},
		vals: make([]int, len(t.Columns)),
		// encoding/json accepts repeated names (a repeated column is a row fault) and
		// invalid UTF-8 (a row fault in a loaded column): jsontext must too.
		dopts: []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}}
	nr.maxLine = math.MaxInt64
	if cols := int64(max(len(t.Columns), 1)); int64(nr.max) <= (math.MaxInt64-lineSlack)/cols {
		nr.maxLine = cols*int64(nr.max) + lineSlack
	}
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
		if err := r.stripBOM(); err != nil {
			r.err = err
			return false, err
		}
	}
	for {
		line, blank, ok, err := r.line()
		if err != nil {
			r.err = err
			return false, err
		}
		if !ok {
			r.done = true
			return false, nil
		}
		switch {
		case blank:
			continue
		case r.lineLen > r.maxLine:
			r.emitLong(rec, line)
			return true, nil
		}
		if err := r.parse(line); err != nil {
			var bad *badLine
			if errors.As(err, &bad) {
				r.emitBad(rec, line, bad.msg)
				return true, nil
			}
			r.err = err
			return false, err
		}
		r.emit(rec)
		return true, nil
	}
}

func (r *NDJSONReader) stripBOM() error {
	in := &r.in
	for in.w-in.r < 3 && !in.eof {
		if err := in.more(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(in.buf[in.r:in.w], []byte("\xef\xbb\xbf")) {
		in.r += 3
	}
	return nil
}

// line reads the next line without its '\n': a slice of the read buffer or of r.long,
// valid until the next call. A line over the limit is read to its end but only its
// start is kept and returned. ok is false at end of input.
func (r *NDJSONReader) line() (line []byte, blank, ok bool, err error) {
	in := &r.in
	r.recLine = in.line
	clear(r.spill)
	r.spill = r.spill[:0]
	var spilled int64
	blank = true
	seen := 0 // bytes after in.r known to hold no '\n'
	for {
		buf := in.buf[in.r:in.w]
		i := bytes.IndexByte(buf[seen:], '\n')
		if i >= 0 || in.eof {
			if i >= 0 {
				buf = buf[:seen+i]
				in.r += seen + i + 1
				in.line++
			} else {
				in.r = in.w
			}
			r.eol = i >= 0
			r.lineLen = spilled + int64(len(buf))
			if !r.eol && r.lineLen == 0 {
				return nil, false, false, nil
			}
			blank = blank && isBlank(buf)
			if len(r.spill) == 0 {
				return buf, blank, true, nil
			}
			keep := r.lineLen
			if keep > r.maxLine {
				keep = rawClip // the start Raw shows, the same whatever the buffer size
			}
			r.long = r.long[:0]
			for _, p := range append(r.spill, buf) {
				if int64(len(r.long)) >= keep {
					break
				}
				r.long = append(r.long, p...)
			}
			return r.long[:min(int64(len(r.long)), keep)], blank, true, nil
		}
		seen = len(buf)
		if in.full() {
			// No '\n' in a full buffer: set its bytes aside while the line is within
			// the limit (and Raw's start is not complete), and only count them beyond.
			if spilled <= max(r.maxLine, rawClip) {
				r.spill = append(r.spill, bytes.Clone(buf))
			}
			spilled += int64(len(buf))
			blank = blank && isBlank(buf)
			in.r, seen = in.w, 0
		}
		if err := in.more(); err != nil {
			return nil, false, false, err
		}
	}
}

// isBlank reports a run of JSON whitespace other than '\n'.
func isBlank(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r")) == 0
}

// emitLong fills rec with the fault of a line over the limit; start is its beginning.
func (r *NDJSONReader) emitLong(rec *etl.Record, start []byte) {
	rec.Source = r.in.name
	rec.Line = r.recLine
	rec.Fields = rec.Fields[:0]
	rec.Fault = &etl.Fault{Reason: etl.ReasonFieldTooLarge,
		Detail: fmt.Sprintf("line of %d bytes exceeds the NDJSON line limit of %d bytes (%d columns × files.max_field_bytes + %d)",
			r.lineLen, r.maxLine, len(r.t.Columns), lineSlack)}
	b := append(make([]byte, 0, rawClip+32), `{"line":`...)
	b = appendJSONString(b, string(start[:min(len(start), rawClip)])+"… (truncated)")
	rec.Raw = append(b, '}')
}

// badLine is a line that is not one JSON object: a row fault (invalid_json), as a
// CSV line with the wrong number of fields is; the next line is read.
type badLine struct{ msg string }

func (b *badLine) Error() string { return b.msg }

func badLinef(format string, args ...any) error { return &badLine{fmt.Sprintf(format, args...)} }

// emitBad fills rec with the fault of a line that is not a JSON object.
func (r *NDJSONReader) emitBad(rec *etl.Record, line []byte, msg string) {
	rec.Source = r.in.name
	rec.Line = r.recLine
	rec.Fields = rec.Fields[:0]
	rec.Fault = &etl.Fault{Reason: etl.ReasonInvalidJSON, Detail: msg}
	b := append(make([]byte, 0, rawClip+32), `{"line":`...)
	text := string(line)
	if len(line) > rawClip {
		text = string(line[:rawClip]) + "… (truncated)"
	}
	b = appendJSONString(b, text)
	rec.Raw = append(b, '}')
}

// parse reads one non-blank line within the limit into pairs.
func (r *NDJSONReader) parse(line []byte) error {
	r.rb, r.kb = r.rb[:0], r.kb[:0]
	r.pairs = r.pairs[:0]
	r.npairs = 0
	r.fault = nil
	r.pending, r.pb = r.pending[:0], r.pb[:0]
	for i := range r.vals {
		r.vals[i] = -1
	}
	if bytes.TrimLeft(line, " \t\r")[0] != '{' {
		return badLinef("the line is not a JSON object")
	}
	if err := r.walk(line); err != nil {
		// encoding/json stays the syntax contract: a line it rejects is reported with
		// its diagnosis; one it accepts that jsontext does not is a bug, not data.
		if !json.Valid(line) {
			return r.invalid(line)
		}
		return r.walkError(err)
	}
	for _, k := range r.pending {
		r.noteUnknown(string(r.pb[k.key.start:k.key.end]), k.clipped)
	}
	return nil
}

// errTrailing reports data after the line's object; encoding/json names it.
var errTrailing = errors.New("data after the JSON object")

// walk splits the line's object into members with jsontext, which checks the syntax
// as it goes: with duplicate names and invalid UTF-8 allowed it accepts what
// json.Valid accepts (FuzzReadNDJSON compares them).
func (r *NDJSONReader) walk(line []byte) error {
	r.lb = *bytes.NewBuffer(line)
	r.dec.Reset(&r.lb, r.dopts...)
	dec := &r.dec
	if _, err := dec.ReadToken(); err != nil { // {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		val, err := dec.ReadValue()
		if err != nil {
			return err
		}
		r.member(r.keyText(name), val)
	}
	if _, err := dec.ReadToken(); err != nil { // }
		return err
	}
	if len(bytes.TrimLeft(dec.UnreadBuffer(), " \t\r")) > 0 {
		return errTrailing
	}
	return nil
}

// keyText decodes an object name as encoding/json does (invalid UTF-8 becomes
// U+FFFD): the text as written when it has no escape and is valid UTF-8.
func (r *NDJSONReader) keyText(name jsontext.Value) []byte {
	text := name[1 : len(name)-1]
	if bytes.IndexByte(text, '\\') < 0 && utf8.Valid(text) {
		return text
	}
	// The name is valid JSON: the only errors left are invalid UTF-8 and unpaired
	// surrogate escapes, both replaced with U+FFFD as encoding/json does.
	r.key, _ = jsontext.AppendUnquote(r.key[:0], name)
	return r.key
}

// skipValue ignores the value decoded into it: decoding only finds where it ends.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// invalid is the fault of a line json.Valid rejects, from encoding/json's own
// diagnosis of it; an object the file ends inside is a truncated file: structural.
func (r *NDJSONReader) invalid(line []byte) error {
	r.lr.Reset(line)
	dec := json.NewDecoder(&r.lr)
	err := dec.Decode(new(skipValue))
	var se *json.SyntaxError
	switch {
	case err == nil:
		if rest := bytes.TrimLeft(line[dec.InputOffset():], " \t\r"); len(rest) > 0 {
			return badLinef("unexpected %s after the JSON object", strconv.QuoteRune(rune(rest[0])))
		}
	case errors.Is(err, io.ErrUnexpectedEOF) && r.eol:
		return badLinef("the JSON object is not closed on its line")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return r.in.structural(r.recLine, "", "not NDJSON: the JSON object is not closed at end of file")
	case errors.As(err, &se):
		return badLinef("%s (byte %d of the line)", se, se.Offset)
	}
	return badLinef("invalid JSON (%v)", err)
}

// walkError reports a line json.Valid accepts but jsontext rejects: a bug, not data.
func (r *NDJSONReader) walkError(err error) error {
	return &etl.StructuralError{File: r.in.name, Line: r.recLine, Msg: "reading a valid JSON object", Err: err}
}

// member records one key and its value as written.
func (r *NDJSONReader) member(key, v []byte) {
	r.npairs++
	col := -1
	clipped := len(key) > maxKeyBytes
	if clipped {
		key = key[:maxKeyBytes]
	} else {
		col = r.lookup(key)
	}
	if col < 0 {
		r.pendUnknown(key, clipped)
	}
	dup := col >= 0 && r.vals[col] >= 0
	if dup {
		r.note(etl.ReasonInvalidValue, col, fmt.Sprintf("key %q appears more than once", key))
	}
	loaded := col >= 0 && !dup
	// Raw keeps a bounded number of the other keys; the rest are only counted.
	if !loaded && len(r.pairs) >= len(r.t.Columns)+extraFields {
		return
	}
	p := pair{kind: kindNumber}
	p.key.start = len(r.kb)
	r.kb = append(r.kb, key...)
	p.key.end = len(r.kb)
	p.val.start = len(r.rb)
	limit := r.max
	if !loaded {
		limit = min(limit, maxIgnored)
	}
	textDetail := ""
	switch v[0] {
	case '"':
		p.kind = kindString
		text := v[1 : len(v)-1]
		if bytes.IndexByte(text, '\\') < 0 {
			r.rb = append(r.rb, text...)
		} else {
			// As for keys, the only errors left replace bad text with U+FFFD, as
			// json.Unmarshal does.
			r.rb, _ = jsontext.AppendUnquote(r.rb, v)
		}
		if loaded {
			textDetail = textFault(text, r.rb[p.val.start:])
		}
	case 't':
		p.kind = kindTrue
	case 'f':
		p.kind = kindFalse
	case 'n':
		p.kind = kindNull
	case '{', '[':
		p.kind = kindNested
		limit = min(limit, nestedClip)
		r.rb = append(r.rb, v...)
		if loaded {
			r.note(etl.ReasonInvalidValue, col, "nested JSON object or array; want a string, number, boolean or null")
		}
	default:
		r.rb = append(r.rb, v...)
	}
	p.size = len(r.rb) - p.val.start
	if p.size > limit {
		p.clipd = true
		r.rb = r.rb[:p.val.start+min(limit, rawClip)]
		if loaded {
			r.note(etl.ReasonFieldTooLarge, col, fmt.Sprintf("value of %d bytes exceeds files.max_field_bytes (%d)", p.size, r.max))
		}
	}
	if textDetail != "" {
		r.note(etl.ReasonInvalidUTF8, col, textDetail)
	}
	p.val.end = len(r.rb)
	r.pairs = append(r.pairs, p)
	if loaded {
		r.vals[col] = len(r.pairs) - 1
	}
}

// textFault describes why a string cannot be stored as PostgreSQL text, or "": its
// text as written holds invalid UTF-8, or its decoded text a NUL.
func textFault(written, decoded []byte) string {
	if !utf8.Valid(written) {
		return badText(written)
	}
	if bytes.IndexByte(decoded, 0) >= 0 {
		return badText(decoded)
	}
	return ""
}

// note keeps the first row fault of a line.
func (r *NDJSONReader) note(reason string, col int, detail string) {
	if r.fault == nil {
		r.fault = &etl.Fault{Reason: reason, Column: r.t.Columns[col].Name, Detail: detail}
	}
}

// lookup maps a key to a column, case-insensitively (ASCII).
func (r *NDJSONReader) lookup(key []byte) int {
	if i, ok := r.colIdx[string(key)]; ok {
		return i
	}
	i := 0
	for i < len(key) && !('A' <= key[i] && key[i] <= 'Z') {
		i++
	}
	if i == len(key) {
		return -1 // already lower case
	}
	r.lower = append(r.lower[:0], key...)
	for ; i < len(r.lower); i++ {
		if c := r.lower[i]; 'A' <= c && c <= 'Z' {
			r.lower[i] = c + 'a' - 'A'
		}
	}
	if i, ok := r.colIdx[string(r.lower)]; ok {
		return i
	}
	return -1
}

// pendUnknown remembers an unknown key not yet noted, for noteUnknown once the line
// proves valid (an invalid line's keys are not warned about). Like the line's other
// buffers, what it keeps is bounded by the line's length.
func (r *NDJSONReader) pendUnknown(key []byte, clipped bool) {
	if _, ok := r.unknownSet[string(key)]; ok || len(r.unknownSet) >= maxUnknownKeys {
		return
	}
	k := pendingKey{key: span{start: len(r.pb)}, clipped: clipped}
	r.pb = append(r.pb, key...)
	k.key.end = len(r.pb)
	r.pending = append(r.pending, k)
}

func (r *NDJSONReader) noteUnknown(key string, clipped bool) {
	if _, ok := r.unknownSet[key]; ok || len(r.unknownSet) >= maxUnknownKeys {
		return
	}
	name := key
	if clipped {
		name += "…"
	}
	r.unknownSet[key] = struct{}{}
	r.unknownCount++
	if len(r.unknownNames) < warnKeys {
		r.unknownNames = append(r.unknownNames, name)
	}
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
