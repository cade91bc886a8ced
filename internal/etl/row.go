package etl

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reject reasons recorded in etl.reject (domain.md §2).
const (
	ReasonInvalidValue      = "invalid_value"
	ReasonMissingValue      = "missing_value"
	ReasonWrongFieldCount   = "wrong_field_count"
	ReasonInvalidUTF8       = "invalid_utf8"
	ReasonFieldTooLarge     = "field_too_large"
	ReasonInvalidJSON       = "invalid_json" // an NDJSON line that is not one JSON object
	ReasonDuplicateKey      = "duplicate_key"
	ReasonFutureDate        = "future_date"
	ReasonFilteredMonto     = "filtered_monto"
	ReasonFilteredMotivo    = "filtered_motivo_rechazo"
	ReasonFilteredIDCliente = "filtered_id_cliente"
)

// Record is one row as a source read it, before conversion: Fields are aligned to the
// table's source Columns and "" means NULL (absent column, empty field, JSON null).
type Record struct {
	Source string // file path, or bigquery:<table>
	Line   int64  // 1-based line of the record's start in its file; 0 when there is none
	Fields []string
	// Fault is a row fault the reader itself found (wrong_field_count, invalid_utf8,
	// field_too_large); Fields are then unusable and Raw holds the record as read.
	Fault *Fault
	Raw   []byte // JSON of the record as read, set with Fault
}

// Fault is a per-row fault: the row goes to etl.reject, every other row still loads.
type Fault struct {
	Reason string
	Column string
	Detail string
}

func (f *Fault) Error() string {
	if f.Column != "" {
		return fmt.Sprintf("%s: column %s: %s", f.Reason, f.Column, f.Detail)
	}
	return f.Reason + ": " + f.Detail
}

// Row is a converted row: canonical text per source then derived column (the form
// written to landing files, hashed for change detection and sent to COPY).
type Row struct {
	Values []string
	Nulls  []bool
	// Incr is the incremental column's value (zero for full tables).
	Incr   time.Time
	Source string
	Line   int64
}

// Reset sizes the row for a table, keeping its backing arrays.
func (r *Row) Reset(width int) {
	if cap(r.Values) < width {
		r.Values = make([]string, width)
		r.Nulls = make([]bool, width)
	}
	r.Values = r.Values[:width]
	r.Nulls = r.Nulls[:width]
	clear(r.Values)
	clear(r.Nulls)
	r.Incr = time.Time{}
}

// Reject is a row that did not load, with the reason recorded in etl.reject.
type Reject struct {
	Source string
	Line   int64
	Column string
	Reason string
	Detail string
	Record []byte // JSON object of the record as read
}

// StructuralError is a fault that fails the whole table (missing required column,
// duplicate header, unbalanced quote, truncated gzip, unreadable file): nothing of the
// table commits. It names the file, line and column where known.
type StructuralError struct {
	File   string
	Line   int64
	Column string
	Msg    string
	Err    error
}

func (e *StructuralError) Error() string {
	s := "file " + e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		s += fmt.Sprintf(": column %q", e.Column)
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *StructuralError) Unwrap() error { return e.Err }

// ErrStructural lets callers branch on structural faults with errors.Is.
var ErrStructural = errors.New("structural fault")

// Is makes every StructuralError match ErrStructural.
func (e *StructuralError) Is(target error) bool { return target == ErrStructural }

// Part is one unit a source reads: a landing file, or one BigQuery query.
type Part struct {
	Name   string // path, or bigquery:<table>
	Size   int64
	SHA256 string // hex; empty for BigQuery, and for a file not hashed yet
	// ReadFrom is set on an unchanged landing file read again because it held rows
	// beyond its last window: its rows before ReadFrom were read then, and reading them
	// again could write back an older version of a key a later file has updated.
	ReadFrom time.Time
}

// LandedFile is a landing file a dir-source load committed, as etl.landing_file
// records it.
type LandedFile struct {
	Part
	// MaxIncr is the greatest incremental value among the file's rows that reached the
	// window check, ReadUntil the end of the window the file was read with; zero when
	// unknown (full tables, files recorded before they were kept, unbounded windows).
	MaxIncr, ReadUntil time.Time
}

// Same reports whether p is this file unchanged: same path, size and sha256.
func (f LandedFile) Same(p Part) bool {
	return f.Name == p.Name && f.Size == p.Size && f.SHA256 == p.SHA256
}

// Complete reports whether every row of the file was inside a window that has been
// read. Rows at or after ReadUntil were filtered as beyond that window's end: a later
// window still owes them, so the file must be read again.
func (f LandedFile) Complete() bool {
	return f.MaxIncr.IsZero() || f.ReadUntil.IsZero() || f.MaxIncr.Before(f.ReadUntil)
}

// Hasher is implemented by sources whose parts are files: Parts lists them unhashed
// (one pass over each file is the read itself), and Hash digests a part when the
// sha256 must be known before reading: to tell an unchanged file from a changed one
// of the same path and size.
type Hasher interface {
	Hash(ctx context.Context, p Part) (Part, error)
}

// Digester is implemented by readers that hash their part while reading it; SHA256 is
// the hex digest once the whole part was read (ok false before).
type Digester interface {
	SHA256() (sum string, ok bool)
}

// RecordReader streams the records of one part.
type RecordReader interface {
	// Next fills rec and returns true, or returns false at the end. A non-nil error is
	// structural (or I/O) and fails the table.
	Next(rec *Record) (bool, error)
	// Warnings lists what the reader noticed but did not reject (unknown columns).
	Warnings() []string
	Close() error
}

// Source is what the loader consumes: the landing directory or BigQuery.
type Source interface {
	// Kind is stored in raw.*.etl_source and the ledger.
	Kind() SourceKind
	// Parts lists what there is to read for a table; no parts means the table is skipped.
	Parts(ctx context.Context, t *Table) ([]Part, error)
	// Open reads one part; a source that can push the window down does, others return
	// every record and leave the window to the converter.
	Open(ctx context.Context, t *Table, p Part, w Window) (RecordReader, error)
}
