// Package files reads and writes landing files (domain.md §2): per table
// <dir>/<table>.csv, .csv.gz, .ndjson and <dir>/<table>/*.{csv,csv.gz,ndjson}.
//
// Readers stream with memory bounded by the buffer and the largest record, never by the
// number of rows; they hand out raw text fields aligned to the table's source columns
// and leave typing to etl.Converter.
package files

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// DefaultMaxFieldBytes is files.max_field_bytes: a longer field is a field_too_large
// row fault.
const DefaultMaxFieldBytes = 1 << 20

// Options configure the readers.
type Options struct {
	// MaxFieldBytes bounds one field (files.max_field_bytes); 0 means 1 MiB.
	MaxFieldBytes int `mapstructure:"max_field_bytes"`

	bufSize int // read buffer size for tests (0 = bufSize); at least 16
}

func (o Options) maxField() int {
	if o.MaxFieldBytes <= 0 {
		return DefaultMaxFieldBytes
	}
	return o.MaxFieldBytes
}

func landingExt(name string) string {
	for _, f := range Formats {
		if e := "." + f.Ext(); strings.HasSuffix(name, e) {
			return e
		}
	}
	return ""
}

// IsLandingName reports whether a file name is one the directory source reads: a
// landing extension, not a dot file (temporary files of writers in progress).
func IsLandingName(name string) bool {
	return !strings.HasPrefix(name, ".") && landingExt(name) != ""
}

// Discover lists the landing files of a table in lexicographic path order:
// <dir>/<table>.csv, <dir>/<table>.csv.gz, <dir>/<table>.ndjson and every regular file
// <dir>/<table>/*.{csv,csv.gz,ndjson} (not recursive; names starting with "." are
// skipped, as a shell glob would; extensions are case-sensitive). Anything else is
// ignored. A missing dir is an error; a table with no files gives an empty list.
func Discover(dir string, t *etl.Table) ([]string, error) {
	paths, _, err := discover(dir, t)
	return paths, err
}

// discover is Discover that also lists the dangling symbolic links among the
// landing names: skipped, but worth a warning (a delivery that did not arrive).
func discover(dir string, t *etl.Table) (paths, dangling []string, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("landing directory: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("landing directory %s is not a directory", dir)
	}
	var out []string
	add := func(p string) error {
		ok, err := isRegular(p)
		switch {
		case errors.Is(err, errDangling):
			dangling = append(dangling, p)
		case err != nil:
			return err
		case ok:
			out = append(out, p)
		}
		return nil
	}
	for _, f := range Formats {
		if err := add(filepath.Join(dir, t.Name+"."+f.Ext())); err != nil {
			return nil, nil, err
		}
	}
	sub := filepath.Join(dir, t.Name)
	ents, err := os.ReadDir(sub)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		// A regular file named <table> is not a table directory: ignore it.
		if ok, _ := isRegular(sub); !ok {
			return nil, nil, fmt.Errorf("landing directory: %w", err)
		}
	default:
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") || landingExt(name) == "" || len(name) == len(landingExt(name)) {
				continue
			}
			if err := add(filepath.Join(sub, name)); err != nil {
				return nil, nil, err
			}
		}
	}
	sort.Strings(out)
	return out, dangling, nil
}

// errDangling marks a symbolic link to nothing.
var errDangling = errors.New("dangling symbolic link")

// isRegular reports whether p is (or links to) a regular file; a missing p is false,
// a link to a missing file errDangling.
func isRegular(p string) (bool, error) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if lst, lerr := os.Lstat(p); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
			return false, errDangling
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("landing file: %w", err)
	}
	return st.Mode().IsRegular(), nil
}

// Source is the landing directory as an etl.Source.
type Source struct {
	dir  string
	opts Options
	log  *slog.Logger
}

var _ etl.Source = (*Source)(nil)

// New makes a Source reading the landing directory dir; log (nil: none) hears what
// Parts skips. Parts are named by absolute, cleaned path, the key of the
// landing-file ledger: the same file is the same part whether the directory was
// given relative or absolute.
func New(dir string, opts Options, log *slog.Logger) *Source {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{dir: dir, opts: opts, log: log}
}

// Kind is "dir".
func (s *Source) Kind() etl.SourceKind { return etl.SourceDir }

// Parts lists the table's landing files (Discover) with their size, unhashed: the
// loader hashes the few it must compare before reading (Hash), and every file it
// reads is hashed by that read. An unlistable file is a structural error.
func (s *Source) Parts(_ context.Context, t *etl.Table) ([]etl.Part, error) {
	paths, dangling, err := discover(s.dir, t)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.Name, err)
	}
	for _, p := range dangling {
		s.log.Warn("landing file skipped: a symbolic link to a missing file", "table", t.Name, "path", p)
	}
	parts := make([]etl.Part, 0, len(paths))
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, &etl.StructuralError{File: p, Msg: "cannot stat", Err: err}
		}
		parts = append(parts, etl.Part{Name: p, Size: st.Size()})
	}
	return parts, nil
}

// Hash streams a part once to fill in its sha256 (and its size as read).
func (s *Source) Hash(ctx context.Context, p etl.Part) (etl.Part, error) {
	f, err := os.Open(p.Name)
	if err != nil {
		return p, &etl.StructuralError{File: p.Name, Msg: "cannot open", Err: err}
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		size += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, &etl.StructuralError{File: p.Name, Msg: "read error", Err: err}
		}
	}
	p.Size, p.SHA256 = size, hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// Open reads one landing file, picking the reader by extension, and hashes it as it
// goes (etl.Digester). The window is not pushed down: every record comes back and
// etl.Converter filters by window. Reading a file that ended at another size than
// Parts listed fails with a structural error, since it changed in between.
func (s *Source) Open(ctx context.Context, t *etl.Table, p etl.Part, _ etl.Window) (etl.RecordReader, error) {
	return openFile(ctx, p.Name, p.Size, t, s.opts)
}

// openFile reads one landing file, picking the reader by extension (.csv, .csv.gz,
// .ndjson); size ≥ 0 is checked against what is read. A file that cannot be opened,
// or a .csv.gz without a gzip header, is a structural error.
func openFile(ctx context.Context, path string, size int64, t *etl.Table, opts Options) (etl.RecordReader, error) {
	ext := landingExt(path)
	if ext == "" {
		return nil, fmt.Errorf("file %s: not a landing file (want .csv, .csv.gz or .ndjson)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &etl.StructuralError{File: path, Msg: "cannot open", Err: err}
	}
	counted := &countingReader{r: f, h: sha256.New()}
	var src io.Reader = counted
	if size >= 0 {
		src = &sizeCheck{r: counted, want: size}
	}
	closers := []io.Closer{f}
	switch ext {
	case ".csv":
		r := newCSVReader(ctx, src, path, false, t, opts)
		r.closers = closers
		return progressReader{r, counted}, nil
	case ".csv.gz":
		zr, err := gzip.NewReader(src)
		if err != nil {
			f.Close()
			return nil, &etl.StructuralError{File: path, Msg: "not a gzip file", Err: err}
		}
		// zr needs no Close: it holds no resources beyond memory, and its Close would
		// only repeat a decompression error Next already returned.
		r := newCSVReader(ctx, zr, path, true, t, opts)
		r.closers = closers
		return progressReader{r, counted}, nil
	default:
		r := newNDJSONReader(ctx, src, path, t, opts)
		r.closers = closers
		return progressReader{r, counted}, nil
	}
}

// countingReader counts the file bytes consumed (compressed bytes for .csv.gz), the
// unit of the part sizes progress and ETA are measured against, and hashes them.
type countingReader struct {
	r   io.Reader
	n   int64
	h   hash.Hash
	eof bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// sum is the file's sha256, reading what the record reader left (a gzip trailer).
func (c *countingReader) sum() (string, error) {
	if !c.eof {
		if _, err := io.Copy(io.Discard, c); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(c.h.Sum(nil)), nil
}

// progressReader adds etl.ByteCounter to a file's record reader.
type progressReader struct {
	etl.RecordReader
	c *countingReader
}

func (p progressReader) BytesRead() int64 { return p.c.n }

// SHA256 is the file's digest, computed by the read (etl.Digester).
func (p progressReader) SHA256() (string, bool) {
	sum, err := p.c.sum()
	return sum, err == nil
}

func closeAll(cs *[]io.Closer) error {
	var errs []error
	list := *cs
	*cs = nil
	for _, c := range list {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
