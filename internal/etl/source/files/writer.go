package files

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Format is a landing file format (domain.md §2).
type Format uint8

const (
	FormatCSV    Format = iota // <table>.csv
	FormatCSVGz                // <table>.csv.gz: CSV inside a deterministic gzip stream
	FormatNDJSON               // <table>.ndjson: BigQuery NDJSON export form
)

// Formats lists every landing format, .csv.gz before .csv so that the longer
// extension wins when a name is matched against them.
var Formats = []Format{FormatCSVGz, FormatCSV, FormatNDJSON}

// ParseFormat reads a --format value: "csv", "csv.gz" or "ndjson".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "csv":
		return FormatCSV, nil
	case "csv.gz":
		return FormatCSVGz, nil
	case "ndjson":
		return FormatNDJSON, nil
	}
	return 0, fmt.Errorf("unknown landing file format %q (want csv, csv.gz or ndjson)", s)
}

// Ext is the file name extension without the leading dot: "csv", "csv.gz", "ndjson".
func (f Format) Ext() string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatCSVGz:
		return "csv.gz"
	case FormatNDJSON:
		return "ndjson"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

func (f Format) String() string { return f.Ext() }

func (f Format) valid() bool { return f <= FormatNDJSON }

// Writer writes the rows of one table as a landing file: the table's source columns in
// domain.md §1 order, NULL as an empty CSV field or a JSON null.
//
// CSV: a header of the column names, fields quoted only when needed (comma, quote, CR,
// LF, or leading/trailing space), LF line ends. An empty non-NULL string cannot be told
// apart from NULL in a landing file (domain.md §2: empty = NULL): it is written empty
// and reads back as NULL.
//
// NDJSON: one object per line, keys in column order, every non-NULL value a JSON string
// (exact: "12.50" stays "12.50"; the reader accepts numbers too), NULL as null. Invalid
// UTF-8 bytes are written as U+FFFD, since JSON text must be UTF-8.
//
// CSV.gz output is deterministic: the gzip header carries no name and no mtime, so the
// same rows give the same bytes.
//
// Writer buffers its output; Close flushes it (and ends the gzip stream) but does not
// close the underlying io.Writer. Not safe for concurrent use.
type Writer struct {
	t      *etl.Table
	format Format
	bw     *bufio.Writer
	gz     *gzip.Writer
	buf    []byte
	closed bool
	err    error
}

// NewWriter starts a landing file on w; CSV formats write the header at once.
func NewWriter(w io.Writer, t *etl.Table, format Format) (*Writer, error) {
	if !format.valid() {
		return nil, fmt.Errorf("files: unknown format %d", uint8(format))
	}
	if t == nil || len(t.Columns) == 0 {
		return nil, errors.New("files: table without columns")
	}
	wr := &Writer{t: t, format: format}
	dst := w
	if format == FormatCSVGz {
		// A zero Header: no name, no comment, ModTime zero (written as 0), OS unknown.
		gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return nil, err
		}
		wr.gz = gz
		dst = gz
	}
	wr.bw = bufio.NewWriterSize(dst, 64<<10)
	if format != FormatNDJSON {
		b := wr.buf[:0]
		for i, c := range t.Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCSVField(b, c.Name)
		}
		b = append(b, '\n')
		wr.buf = b
		if _, err := wr.bw.Write(b); err != nil {
			return nil, err
		}
	}
	return wr, nil
}

// Write writes one row. values holds the table's source columns in §1 order; a
// converted row's Values (source then derived columns, etl.Table.Width) is accepted
// too and its derived values are not written. nulls, if not nil, has the same length
// and marks NULLs; an empty value is written as NULL either way.
func (w *Writer) Write(values []string, nulls []bool) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("files: write after close")
	}
	n := len(w.t.Columns)
	if len(values) != n && len(values) != w.t.Width() {
		return fmt.Errorf("files: table %s: row has %d values, want %d source columns", w.t.Name, len(values), n)
	}
	if nulls != nil && len(nulls) != len(values) {
		return fmt.Errorf("files: table %s: %d nulls for %d values", w.t.Name, len(nulls), len(values))
	}
	b := w.buf[:0]
	switch w.format {
	case FormatNDJSON:
		b = append(b, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, w.t.Columns[i].Name)
			b = append(b, ':')
			if (nulls != nil && nulls[i]) || values[i] == "" {
				b = append(b, "null"...)
			} else {
				b = appendJSONString(b, values[i])
			}
		}
		b = append(b, '}', '\n')
	default:
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if nulls != nil && nulls[i] {
				continue
			}
			b = appendCSVField(b, values[i])
		}
		if len(b) == 0 {
			// A one-column NULL row: an empty line would be skipped on reading.
			b = append(b, '"', '"')
		}
		b = append(b, '\n')
	}
	w.buf = b
	if _, err := w.bw.Write(b); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Close flushes the buffered rows and ends the gzip stream. It does not close the
// io.Writer given to NewWriter. Calling Close again is a no-op.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	if w.gz != nil {
		if err := w.gz.Close(); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// FileWriter writes a landing file atomically: rows go to a temporary file (a dot
// file, which Discover ignores) in the same directory, and Close renames it into
// place, so readers never see a half-written landing file.
type FileWriter struct {
	*Writer
	f    *os.File
	sum  *digest
	path string
	done bool
}

// digest hashes and counts the bytes written through it, so a landing file's size
// and sha256 come without reading it back.
type digest struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (d *digest) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// CreateFile starts <dir>/<table>.<ext>; call Write for each row, then Close (or
// Abort to discard the file).
func CreateFile(dir string, t *etl.Table, format Format) (*FileWriter, error) {
	if !format.valid() {
		return nil, fmt.Errorf("files: unknown format %d", uint8(format))
	}
	return CreatePath(filepath.Join(dir, t.Name+"."+format.Ext()), t, format)
}

// CreatePath is CreateFile for any path, such as <dir>/<table>/<name>.<ext> when a
// table's rows are split over several landing files. The path must end in the
// format's extension, since readers are picked by extension; its directory must exist.
func CreatePath(path string, t *etl.Table, format Format) (*FileWriter, error) {
	if !format.valid() {
		return nil, fmt.Errorf("files: unknown format %d", uint8(format))
	}
	if landingExt(path) != "."+format.Ext() {
		return nil, fmt.Errorf("files: %s does not end in .%s", path, format.Ext())
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	sum := &digest{w: f, h: sha256.New()}
	w, err := NewWriter(sum, t, format)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &FileWriter{Writer: w, f: f, sum: sum, path: path}, nil
}

// Path is the final path of the file, <dir>/<table>.<ext>.
func (fw *FileWriter) Path() string { return fw.path }

// Close flushes the rows, syncs the temporary file and renames it to Path. On any
// error the temporary file is removed and Path is left as it was.
func (fw *FileWriter) Close() error {
	if fw.done {
		return nil
	}
	fw.done = true
	err := fw.Writer.Close()
	if err == nil {
		err = fw.f.Chmod(0o644)
	}
	if err == nil {
		err = fw.f.Sync()
	}
	if cerr := fw.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(fw.f.Name(), fw.path)
	}
	if err != nil {
		os.Remove(fw.f.Name())
		return fmt.Errorf("write %s: %w", fw.path, err)
	}
	return nil
}

// Digest is the size and hex sha256 of the file written (complete after Close).
func (fw *FileWriter) Digest() (int64, string) {
	return fw.sum.n, hex.EncodeToString(fw.sum.h.Sum(nil))
}

// Abort discards the temporary file; Path is left as it was. Abort after Close is a
// no-op.
func (fw *FileWriter) Abort() error {
	if fw.done {
		return nil
	}
	fw.done = true
	fw.Writer.closed = true
	fw.f.Close()
	return os.Remove(fw.f.Name())
}

// csvNeedsQuote reports whether a CSV field must be quoted to read back unchanged.
func csvNeedsQuote(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

func appendCSVField(b []byte, s string) []byte {
	if !csvNeedsQuote(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := indexByteString(s, '"')
		if i < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	return append(b, '"')
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 and NUL become U+FFFD
// (PostgreSQL jsonb refuses \u0000), so the result is always valid for jsonb.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case 0:
				b = append(b, "\ufffd"...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break some line-oriented tools.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
