package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// bufSize is the read buffer of a reader. A record whose line fits in it is sliced
// straight out of it (the fast path); longer ones are assembled field by field.
const bufSize = 128 << 10

// errFileChanged is returned by sizeCheck when a file ends at another size than the
// one Parts listed (it was still being written, or replaced).
var errFileChanged = errors.New("file changed since it was listed")

// input is the buffered byte stream under a reader: it tracks the physical line of the
// read position and turns read failures into structural errors naming file and line.
type input struct {
	ctx  context.Context
	name string
	src  io.Reader
	gz   bool
	buf  []byte
	r, w int
	eof  bool
	err  error // sticky read failure of src
	line int64 // 1-based physical line at position r
}

func newInput(ctx context.Context, name string, src io.Reader, gz bool, opts Options) input {
	size := bufSize
	if opts.bufSize > 0 {
		size = max(opts.bufSize, 16)
	}
	return input{ctx: ctx, name: name, src: src, gz: gz, buf: make([]byte, size), line: 1}
}

// more reads at least one more byte into the buffer, compacting it first. It returns
// nil with eof set when the stream ended, or a structural error. It must not be called
// with a full buffer.
func (in *input) more() error {
	if in.err != nil {
		return in.readError(in.err)
	}
	if in.eof {
		return nil
	}
	if in.r > 0 {
		n := copy(in.buf, in.buf[in.r:in.w])
		in.w = n
		in.r = 0
	}
	if err := in.ctx.Err(); err != nil {
		in.err = err
		return err
	}
	for empty := 0; ; empty++ {
		n, err := in.src.Read(in.buf[in.w:])
		in.w += n
		if err == io.EOF {
			in.eof = true
			return nil
		}
		if err != nil {
			in.err = err
			if n > 0 {
				// Let the caller use what came before the failure; the next call fails,
				// naming the line reached by then.
				return nil
			}
			return in.readError(err)
		}
		if n > 0 {
			return nil
		}
		if empty > 100 {
			in.err = io.ErrNoProgress
			return in.readError(in.err)
		}
	}
}

// full reports a buffer holding no room for more bytes.
func (in *input) full() bool { return in.r == 0 && in.w == len(in.buf) }

func (in *input) readError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "read error"
	switch {
	case errors.Is(err, errFileChanged):
		msg = "file changed while it was read"
	case in.gz:
		msg = fmt.Sprintf("gzip stream truncated or corrupt (last complete line %d)", in.line-1)
	}
	return &etl.StructuralError{File: in.name, Line: in.line, Msg: msg, Err: err}
}

// structural builds a structural error at a line and column of this input.
func (in *input) structural(line int64, column, format string, args ...any) error {
	return &etl.StructuralError{File: in.name, Line: line, Column: column, Msg: fmt.Sprintf(format, args...)}
}

// sizeCheck counts the bytes of a file and turns its EOF into errFileChanged when the
// count differs from the size Parts listed.
type sizeCheck struct {
	r    io.Reader
	n    int64
	want int64
}

func (s *sizeCheck) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err == io.EOF && s.n != s.want {
		return n, fmt.Errorf("%w: %d bytes read, %d listed", errFileChanged, s.n, s.want)
	}
	if err == nil && s.n > s.want {
		return n, fmt.Errorf("%w: more than the %d bytes listed", errFileChanged, s.want)
	}
	return n, err
}
