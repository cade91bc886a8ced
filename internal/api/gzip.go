package api

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// gzipMinLength is api.md §6's threshold: smaller bodies go out as they are.
const gzipMinLength = 1024

// Entries are what the cache stores: a tag byte, then the JSON, gzipped when it is
// large enough to be sent compressed, so a cache hit is written without compressing
// anything.
const (
	entryJSONTag = 'j'
	entryGzipTag = 'z'
)

var gzipWriters = sync.Pool{New: func() any {
	// BestSpeed: for JSON it compresses nearly as well as the default level at a
	// fraction of the CPU, which a busy API spends better elsewhere.
	w, err := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return w
}}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}

// newEntry tags a JSON body, compressing it from gzipMinLength on.
func newEntry(body []byte) []byte {
	if len(body) < gzipMinLength {
		return append([]byte{entryJSONTag}, body...)
	}
	return append([]byte{entryGzipTag}, gzipBytes(body)...)
}

// entryJSON is an entry's JSON.
func entryJSON(entry []byte) ([]byte, error) {
	if len(entry) == 0 {
		return nil, fmt.Errorf("empty cache entry")
	}
	switch entry[0] {
	case entryJSONTag:
		return entry[1:], nil
	case entryGzipTag:
		zr, err := gzip.NewReader(bytes.NewReader(entry[1:]))
		if err != nil {
			return nil, fmt.Errorf("cache entry: %w", err)
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("cache entry: unknown tag %q", entry[0])
}

// writeEntry writes an entry as a 200 JSON response: a gzip entry as is to a client
// that accepts gzip, decompressed to one that does not.
func writeEntry(c echo.Context, entry []byte) error {
	if len(entry) > 0 && entry[0] == entryGzipTag && acceptsGzip(c.Request()) {
		h := c.Response().Header()
		h.Set(echo.HeaderContentEncoding, "gzip")
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, entry[1:])
	}
	body, err := entryJSON(entry)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, body)
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get(echo.HeaderAcceptEncoding), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// gzipMiddleware compresses bodies of at least gzipMinLength bytes for clients that
// accept gzip. A handler that wrote an already encoded body (a cached gzip entry)
// set Content-Encoding itself and passes through untouched.
func gzipMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !acceptsGzip(c.Request()) {
			return next(c)
		}
		res := c.Response()
		gw := &gzipResponseWriter{ResponseWriter: res.Writer}
		res.Writer = gw
		defer func() { res.Writer = gw.ResponseWriter }()
		err := next(c)
		if ferr := gw.finish(); err == nil {
			err = ferr
		}
		return err
	}
}

// gzipResponseWriter holds the status and the first bytes until it knows whether
// the body reaches gzipMinLength.
type gzipResponseWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte
	zw      *gzip.Writer
	through bool // headers sent: plain or pre-encoded body
}

func (w *gzipResponseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *gzipResponseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	switch {
	case w.zw != nil:
		return w.zw.Write(b)
	case w.through:
		return w.ResponseWriter.Write(b)
	case w.Header().Get(echo.HeaderContentEncoding) != "":
		w.through = true
		w.ResponseWriter.WriteHeader(w.status)
		return w.ResponseWriter.Write(b)
	}
	w.buf = append(w.buf, b...)
	if len(w.buf) < gzipMinLength {
		return len(b), nil
	}
	h := w.Header()
	h.Set(echo.HeaderContentEncoding, "gzip")
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	h.Del(echo.HeaderContentLength)
	w.ResponseWriter.WriteHeader(w.status)
	w.zw = gzipWriters.Get().(*gzip.Writer)
	w.zw.Reset(w.ResponseWriter)
	if _, err := w.zw.Write(w.buf); err != nil {
		return 0, err
	}
	w.buf = nil
	return len(b), nil
}

// finish ends the body: closes the gzip stream, or sends what was held back.
func (w *gzipResponseWriter) finish() error {
	switch {
	case w.zw != nil:
		err := w.zw.Close()
		gzipWriters.Put(w.zw)
		w.zw = nil
		return err
	case w.through || w.status == 0:
		return nil
	}
	w.ResponseWriter.WriteHeader(w.status)
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.ResponseWriter.Write(w.buf)
	return err
}

func (w *gzipResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
