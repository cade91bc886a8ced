package postgres

import (
	"bufio"
	"context"
	"io"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// copyStream is one COPY … FROM STDIN in text format fed row by row. The statement
// runs in its own goroutine reading a pipe, so PostgreSQL ingests one buffer while the
// caller encodes the next: the load runs at the speed of the slower side, not the sum.
type copyStream struct {
	pw   *io.PipeWriter
	w    *bufio.Writer
	done chan copyResult
}

type copyResult struct {
	tag pgconn.CommandTag
	err error
}

func startCopy(ctx context.Context, conn *pgconn.PgConn, sql string) *copyStream {
	pr, pw := io.Pipe()
	s := &copyStream{pw: pw, w: bufio.NewWriterSize(pw, 256<<10), done: make(chan copyResult, 1)}
	go func() {
		tag, err := conn.CopyFrom(ctx, pr, sql)
		// Unblock a writer still pushing data after the server gave up.
		pr.CloseWithError(io.ErrClosedPipe)
		s.done <- copyResult{tag, err}
	}()
	return s
}

// field writes one value in COPY text format; null writes \N.
func (s *copyStream) field(v string, null bool, last bool) {
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
}

func (s *copyStream) int(v int64, last bool) {
	var buf [20]byte
	s.w.Write(strconv.AppendInt(buf[:0], v, 10))
	if last {
		s.w.WriteByte('\n')
	} else {
		s.w.WriteByte('\t')
	}
}

// finish flushes and waits for the server's verdict.
func (s *copyStream) finish() (int64, error) {
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
