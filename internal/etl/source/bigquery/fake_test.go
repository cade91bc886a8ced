package bigquery

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

var update = flag.Bool("update", false, "rewrite the request side of the golden REST exchanges")

// The client-level fake: an httptest server answering the BigQuery REST calls the
// official client really makes, from golden exchanges in testdata/rest/<name>.json.
// Each exchange holds the request the client must send (method, path, query string and
// JSON body, normalised: requestId dropped, the random job-id suffix masked) and the
// wire-format response served back. Requests must arrive in the golden order; -update
// rewrites the request side from what the client sent.

type exchange struct {
	Name     string     `json:"name"`
	Request  *goldenReq `json:"request,omitempty"`
	Response goldenResp `json:"response"`
	got      *goldenReq // what arrived, for -update
}

type goldenReq struct {
	Method string            `json:"method"`
	Path   string            `json:"path"`
	Query  map[string]string `json:"query,omitempty"`
	Body   json.RawMessage   `json:"body,omitempty"`
}

type goldenResp struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	// Hang holds the request until the client gives up (timeouts, cancellation).
	Hang bool `json:"hang,omitempty"`
}

type fakeREST struct {
	t    *testing.T
	path string
	mu   sync.Mutex
	ex   []*exchange
	next int
	srv  *httptest.Server
}

func newFakeREST(t *testing.T, name string) *fakeREST {
	t.Helper()
	path := filepath.Join("testdata", "rest", name+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeREST{t: t, path: path}
	if err := json.Unmarshal(data, &f.ex); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if *update {
			f.write()
			return
		}
		if f.next != len(f.ex) && !t.Failed() {
			t.Errorf("%s: %d of %d golden exchanges were requested; next expected: %s", path, f.next, len(f.ex), f.ex[f.next].Name)
		}
	})
	return f
}

func (f *fakeREST) URL() string { return f.srv.URL }

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := normalise(f.t, r)
	f.mu.Lock()
	if f.next >= len(f.ex) {
		f.mu.Unlock()
		f.t.Errorf("%s: unexpected request %s %s %v", f.path, got.Method, got.Path, got.Query)
		writeJSON(w, 500, json.RawMessage(`{"error":{"code":500,"message":"fake: no more exchanges"}}`))
		return
	}
	ex := f.ex[f.next]
	f.next++
	ex.got = got
	if !*update {
		if ex.Request == nil {
			f.t.Errorf("%s: exchange %q has no golden request; run with -update", f.path, ex.Name)
		} else if a, b := canonical(ex.Request), canonical(got); a != b {
			f.t.Errorf("%s: exchange %q: request differs\n got: %s\nwant: %s", f.path, ex.Name, b, a)
		}
	}
	f.mu.Unlock()
	if ex.Response.Hang {
		<-r.Context().Done()
		return
	}
	writeJSON(w, ex.Response.Status, ex.Response.Body)
}

func writeJSON(w http.ResponseWriter, status int, body json.RawMessage) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *fakeREST) write() {
	for _, ex := range f.ex {
		if ex.got != nil {
			ex.Request = ex.got
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(f.ex); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

var jobSuffixRE = regexp.MustCompile(`^(pulso_[a-z_]+_)-?[A-Za-z0-9_-]+$`)

// normalise turns a request into its golden form.
func normalise(t *testing.T, r *http.Request) *goldenReq {
	g := &goldenReq{Method: r.Method, Path: r.URL.Path, Query: map[string]string{}}
	for k, v := range r.URL.Query() {
		switch k {
		case "alt", "prettyPrint":
			continue
		}
		g.Query[k] = strings.Join(v, ",")
	}
	if len(g.Query) == 0 {
		g.Query = nil
	}
	body, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(body)) > 0 {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("request body is not JSON: %v: %s", err, body)
			return g
		}
		delete(v, "requestId")
		if ref, ok := v["jobReference"].(map[string]any); ok {
			if id, ok := ref["jobId"].(string); ok {
				if jobSuffixRE.MatchString(id) {
					ref["jobId"] = jobSuffixRE.ReplaceAllString(id, "${1}<random>")
				} else {
					ref["jobId"] = "<random>" // dry runs: the client's own random id
				}
			}
		}
		g.Body, _ = json.Marshal(v)
	}
	return g
}

// canonical is a comparable text of a golden request (JSON with sorted keys).
func canonical(g *goldenReq) string {
	var body any
	if len(g.Body) > 0 {
		_ = json.Unmarshal(g.Body, &body)
	}
	keys := make([]string, 0, len(g.Query))
	for k := range g.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	q := url.Values{}
	for _, k := range keys {
		q.Set(k, g.Query[k])
	}
	b, _ := json.Marshal(map[string]any{"method": g.Method, "path": g.Path, "query": q.Encode(), "body": body})
	return string(b)
}

// fakeConfig points a Source at the fake (unauthenticated) with fast retries.
func fakeConfig(endpoint string) Config {
	return Config{
		Project: "data-p", BillingProject: "billing-p", Dataset: "ds", UID: "UID1", Location: "US",
		MaximumBytesBilled: 10 << 30, QueryTimeout: 20 * time.Second, MaxRetries: 3,
		EjecutivosIDCliente: 145, Command: "load", RunID: "42",
		Endpoint:     endpoint,
		RetryInitial: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	}
}

func newTestSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(t.Context(), cfg, etl.MustRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readAll reads every record of a table for a window.
func readAll(t *testing.T, s *Source, table string, w etl.Window) ([][]string, error) {
	t.Helper()
	tb, _ := etl.MustRegistry().Table(table)
	parts, err := s.Parts(t.Context(), tb)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, p := range parts {
		rd, err := s.Open(t.Context(), tb, p, w)
		if err != nil {
			return out, err
		}
		var rec etl.Record
		for {
			ok, err := rd.Next(&rec)
			if err != nil {
				rd.Close()
				return out, err
			}
			if !ok {
				break
			}
			if rec.Source != PartPrefix+table || rec.Line != 0 {
				t.Errorf("record source %q line %d, want %q line 0", rec.Source, rec.Line, PartPrefix+table)
			}
			out = append(out, append([]string(nil), rec.Fields...))
		}
		if err := rd.Close(); err != nil {
			return out, err
		}
	}
	return out, nil
}
