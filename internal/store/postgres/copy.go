package postgres

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// copyStream is one COPY … FROM STDIN fed row by row, in binary format when every
// column has a binary encoder, in text format otherwise. The statement runs in its
// own goroutine reading a pipe, so PostgreSQL ingests one buffer while the caller
// encodes the next: the load runs at the speed of the slower side, not the sum.
type copyStream struct {
	pw   *io.PipeWriter
	w    *bufio.Writer
	done chan copyResult
	// bin holds one encoder per column (nil: text format); cols names them in errors.
	bin  []binaryEncoder
	cols []string
	buf  []byte
}

type copyResult struct {
	tag pgconn.CommandTag
	err error
}

// startCopy starts COPY table (cols) FROM STDIN; bin (one encoder per column, or nil)
// picks the binary format.
func startCopy(ctx context.Context, conn *pgconn.PgConn, table string, cols []string, bin []binaryEncoder) *copyStream {
	pr, pw := io.Pipe()
	s := &copyStream{pw: pw, w: bufio.NewWriterSize(pw, 256<<10), done: make(chan copyResult, 1), bin: bin, cols: cols}
	sql := "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
	if bin != nil {
		sql += " WITH (FORMAT binary)"
		s.w.Write(copyBinaryHeader)
	}
	go func() {
		tag, err := conn.CopyFrom(ctx, pr, sql)
		// Unblock a writer still pushing data after the server gave up.
		pr.CloseWithError(io.ErrClosedPipe)
		s.done <- copyResult{tag, err}
	}()
	return s
}

// startRow begins a row of n values (binary format only needs the count).
func (s *copyStream) startRow(n int) {
	if s.bin != nil {
		s.buf = binary.BigEndian.AppendUint16(s.buf[:0], uint16(n))
	}
}

// field writes value i of the row; null writes NULL. A binary row is assembled in
// buf and written whole with its last value.
func (s *copyStream) field(i int, v string, null bool, last bool) error {
	if s.bin != nil {
		if null {
			s.buf = binary.BigEndian.AppendUint32(s.buf, math.MaxUint32) // length -1
		} else {
			at := len(s.buf)
			b, err := s.bin[i](append(s.buf, 0, 0, 0, 0), v)
			if err != nil {
				return fmt.Errorf("column %s: value %q: %w", s.cols[i], v, err)
			}
			binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
			s.buf = b
		}
		if last {
			s.w.Write(s.buf)
		}
		return nil
	}
	if null {
		s.w.WriteString(`\N`)
	} else {
		writeEscaped(s.w, v)
	}
	if last {
		s.w.WriteByte('\n')
	} else {
		s.w.WriteByte('\t')
	}
	return nil
}

func (s *copyStream) int(i int, v int64, last bool) error {
	var buf [20]byte
	if s.bin != nil {
		return s.field(i, string(strconv.AppendInt(buf[:0], v, 10)), false, last)
	}
	s.w.Write(strconv.AppendInt(buf[:0], v, 10))
	if last {
		s.w.WriteByte('\n')
	} else {
		s.w.WriteByte('\t')
	}
	return nil
}

// finish flushes and waits for the server's verdict.
func (s *copyStream) finish() (int64, error) {
	if s.bin != nil {
		s.w.Write([]byte{0xff, 0xff}) // the file trailer: a field count of -1
	}
	err := s.w.Flush()
	s.pw.CloseWithError(err)
	res := <-s.done
	if res.err != nil {
		return 0, res.err
	}
	if err != nil {
		return 0, err
	}
	return res.tag.RowsAffected(), nil
}

// abort stops the statement without committing anything it sent.
func (s *copyStream) abort(cause error) {
	s.pw.CloseWithError(cause)
	<-s.done
}

// writeEscaped escapes backslash, tab, newline and carriage return, the only bytes
// COPY text format gives a meaning to inside a value.
func writeEscaped(w *bufio.Writer, v string) {
	start := 0
	for i := 0; i < len(v); i++ {
		var esc string
		switch v[i] {
		case '\\':
			esc = `\\`
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		default:
			continue
		}
		w.WriteString(v[start:i])
		w.WriteString(esc)
		start = i + 1
	}
	w.WriteString(v[start:])
}
