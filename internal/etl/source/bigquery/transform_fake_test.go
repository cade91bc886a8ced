package bigquery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// TestTransformDryRunRequests checks what a transform dry run sends for every
// statement (the rendered SQL, typed parameters, labels, maximum_bytes_billed, dry
// run, standard SQL) against an httptest server answering jobs.insert, and that each
// statement's bytes come back.
func TestTransformDryRunRequests(t *testing.T) {
	type job struct {
		Configuration struct {
			DryRun bool              `json:"dryRun"`
			Labels map[string]string `json:"labels"`
			Query  struct {
				Query              string `json:"query"`
				UseLegacySQL       *bool  `json:"useLegacySql"`
				MaximumBytesBilled string `json:"maximumBytesBilled"`
				QueryParameters    []struct {
					Name          string          `json:"name"`
					ParameterType json.RawMessage `json:"parameterType"`
					Value         json.RawMessage `json:"parameterValue"`
				} `json:"queryParameters"`
			} `json:"query"`
		} `json:"configuration"`
	}
	var mu sync.Mutex
	var jobs []job
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/projects/proj/jobs") {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var raw map[string]any
		var j job
		body := json.NewDecoder(r.Body)
		if err := body.Decode(&raw); err != nil {
			t.Error(err)
		}
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &j); err != nil {
			t.Error(err)
		}
		mu.Lock()
		jobs = append(jobs, j)
		n := len(jobs)
		mu.Unlock()
		raw["status"] = map[string]any{"state": "DONE"}
		bytes := strconv.Itoa(1000 + n) // per statement, as the JSON string an int64 is
		raw["statistics"] = map[string]any{"totalBytesProcessed": bytes, "query": map[string]any{"totalBytesProcessed": bytes}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(raw)
	}))
	defer srv.Close()

	s := newTestSource(t, Config{Project: "proj", Dataset: "src", TransformDataset: "tds", UID: "U1",
		MaximumBytesBilled: 1 << 30, EjecutivosIDCliente: 145, Command: "run-pipeline", RunID: "42",
		Endpoint: srv.URL, RetryInitial: time.Millisecond, RetryMax: time.Millisecond})
	stats, err := s.Transform(t.Context(), TransformOptions{AsOf: etl.NewDate(2025, time.July, 15),
		PDPRecoveryDays: 7, MaxPagosDocDia: 3, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := LoadTransform(etl.MustRegistry(), s.cfg, "tds")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != len(stmts) || len(jobs) != len(stmts) {
		t.Fatalf("%d stats, %d jobs, want %d", len(stats), len(jobs), len(stmts))
	}
	wantParam := map[string]string{
		ParamAsOf:                `{"type":"DATE"}|{"value":"2025-07-15"}`,
		ParamPDPRecoveryDays:     `{"type":"INT64"}|{"value":"7"}`,
		ParamMaxPagosDocDia:      `{"type":"INT64"}|{"value":"3"}`,
		ParamEjecutivosIDCliente: `{"type":"INT64"}|{"value":"145"}`,
	}
	for i, st := range stmts {
		j := jobs[i]
		c := j.Configuration
		if c.Query.Query != st.SQL {
			t.Errorf("%s: sent SQL differs from the rendered statement", st.Name)
		}
		if !c.DryRun || c.Query.UseLegacySQL == nil || *c.Query.UseLegacySQL || c.Query.MaximumBytesBilled != "1073741824" {
			t.Errorf("%s: dryRun %v useLegacySql %v maximumBytesBilled %q", st.Name, c.DryRun, c.Query.UseLegacySQL, c.Query.MaximumBytesBilled)
		}
		if c.Labels["app"] != "pulso" || c.Labels["command"] != "run-pipeline" || c.Labels["run_id"] != "42" {
			t.Errorf("%s: labels %v", st.Name, c.Labels)
		}
		if len(c.Query.QueryParameters) != len(st.Params) {
			t.Errorf("%s: %d parameters sent, statement uses %v", st.Name, len(c.Query.QueryParameters), st.Params)
		}
		for _, p := range c.Query.QueryParameters {
			if got := string(p.ParameterType) + "|" + string(p.Value); got != wantParam[p.Name] {
				t.Errorf("%s: parameter @%s = %s, want %s", st.Name, p.Name, got, wantParam[p.Name])
			}
		}
		if stats[i].BytesProcessed == 0 || stats[i].Statement != st.Name || stats[i].Table != "proj.tds."+st.Table ||
			stats[i].Rows != 0 || stats[i].BytesBilled != 0 {
			t.Errorf("%s: stat %+v", st.Name, stats[i])
		}
	}
	if stats[2].BytesProcessed != 1003 {
		t.Errorf("third statement bytes %d, want 1003", stats[2].BytesProcessed)
	}
}
