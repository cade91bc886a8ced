package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/api/openapi"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/cache"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// ---------------------------------------------------------------- helpers

var etlValidator = sync.OnceValues(openapi.NewValidator)

// etlResp is one response, its body read.
type etlResp struct {
	status int
	header http.Header
	body   []byte
}

func (r etlResp) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorOf decodes the error shape and checks status and code.
func (r etlResp) wantError(t *testing.T, status int, code string) errorBody {
	t.Helper()
	var e errorBody
	r.decode(t, &e)
	if r.status != status || e.Code != code || e.Status != "error" || e.Message == "" || e.RequestID == "" {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
	return e
}

// call sends a request and holds its response to the OpenAPI document.
func (ts *testServer) etlCall(t *testing.T, method, path, token string, body any, headers ...string) etlResp {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	resp := ts.do(t, method, path, token, body, h)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := etlValidator()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateResponse(httptest.NewRequest(method, path, nil), resp.StatusCode, resp.Header, b); err != nil {
		t.Errorf("%s %s: the %d response does not match the OpenAPI document: %v\n%s", method, path, resp.StatusCode, err, b)
	}
	return etlResp{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *testServer) etlDBURL() string { return ts.Pool.Config().ConnString() }

// holdLock takes the pipeline lock under owner until the test ends (or release).
func (ts *testServer) etlHoldLock(t *testing.T, owner string) (release func()) {
	t.Helper()
	l, err := postgres.AcquirePipelineLock(t.Context(), ts.etlDBURL(), postgres.LockOptions{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = l.Release(context.Background()) }) }
	t.Cleanup(release)
	return release
}

// ledgerStep is a run_table row to insert.
type ledgerStep struct {
	step           string
	status         etl.Status
	loaded         int64
	rejected       int64
	inserted       int64
	err            string
	start          time.Time
	took           time.Duration // 0 with status running: not finished
	hwmBefore, hwm *time.Time
}

// insertRun records a run and its steps as a command would have, returning its id.
func (ts *testServer) etlInsertRun(t *testing.T, command string, status etl.Status, steps ...ledgerStep) int64 {
	t.Helper()
	ctx := t.Context()
	var id int64
	var finished any
	if status != etl.StatusRunning {
		finished = time.Now()
	}
	if err := ts.Pool.QueryRow(ctx, `INSERT INTO etl.run (command, status, finished_at, host, pid)
		VALUES ($1, $2, $3, 'test', 1) RETURNING run_id`, command, status, finished).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		var fin any
		if s.status != etl.StatusRunning {
			fin = s.start.Add(s.took)
		}
		var errText any
		if s.err != "" {
			errText = s.err
		}
		if _, err := ts.Pool.Exec(ctx, `INSERT INTO etl.run_table (run_id, step, status, rows_read, rows_loaded,
			rows_rejected, rows_inserted, error, started_at, finished_at, hwm_before, hwm_after)
			VALUES ($1, $2, $3, $4::bigint + $5::bigint, $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, s.step, s.status, s.loaded, s.rejected, s.inserted, errText, s.start, fin, s.hwmBefore, s.hwm); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (ts *testServer) etlSetWatermark(t *testing.T, table string, hwm time.Time, runID int64) {
	t.Helper()
	if _, err := ts.Pool.Exec(t.Context(), `INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id)
		VALUES ($1, $2, $3) ON CONFLICT (table_name) DO UPDATE SET high_water_mark = $2, last_run_id = $3`,
		table, hwm, runID); err != nil {
		t.Fatal(err)
	}
}

type statusBody struct {
	Status             string           `json:"status"`
	LastUpdated        *time.Time       `json:"last_updated"`
	TotalTables        int              `json:"total_tables"`
	SuccessfulTables   int              `json:"successful_tables"`
	FailedTables       int              `json:"failed_tables"`
	RunningExtractions int              `json:"running_extractions"`
	DataVersion        int64            `json:"data_version"`
	Tables             []tableStateBody `json:"tables"`
	RecentActivity     []activityBody   `json:"recent_activity"`
}

type tableStateBody struct {
	TableName       string     `json:"table_name"`
	Mode            string     `json:"mode"`
	Status          string     `json:"status"`
	LastExtracted   *time.Time `json:"last_extracted"`
	LastSuccessAt   *time.Time `json:"last_success_at"`
	RowsLoaded      *int64     `json:"rows_loaded"`
	RowsRejected    *int64     `json:"rows_rejected"`
	DurationSeconds *float64   `json:"duration_seconds"`
	ErrorMessage    *string    `json:"error_message"`
	Stale           bool       `json:"stale"`
	NextScheduled   *time.Time `json:"next_scheduled"`
}

type activityBody struct {
	RunID     int64     `json:"run_id"`
	TableName string    `json:"table_name"`
	Status    string    `json:"status"`
	Timestamp time.Time `json:"timestamp"`
	Records   int64     `json:"records"`
	Duration  *float64  `json:"duration"`
}

func (b statusBody) table(t *testing.T, name string) tableStateBody {
	t.Helper()
	for _, tb := range b.Tables {
		if tb.TableName == name {
			return tb
		}
	}
	t.Fatalf("no table %s in %+v", name, b.Tables)
	return tableStateBody{}
}

func (ts *testServer) etlStatus(t *testing.T, token string) statusBody {
	t.Helper()
	r := ts.etlCall(t, http.MethodGet, "/api/v1/etl/status", token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("etl/status: %d %s", r.status, r.body)
	}
	var b statusBody
	r.decode(t, &b)
	return b
}

func etlSameInstant(a *time.Time, b time.Time) bool {
	return a != nil && a.Sub(b).Abs() < time.Millisecond
}

// ---------------------------------------------------------------- status

// An empty ledger: never_run, the nine tables each never run, no activity.
func TestETLStatusNeverRun(t *testing.T) {
	ts := newTestServer(t, nil)
	b := ts.etlStatus(t, ts.tokenFor(t, "manager"))
	if b.Status != "never_run" || b.TotalTables != 9 || b.SuccessfulTables != 0 || b.FailedTables != 0 ||
		b.RunningExtractions != 0 || b.DataVersion != 0 || b.LastUpdated != nil || len(b.RecentActivity) != 0 {
		t.Fatalf("empty ledger: %+v", b)
	}
	want := etl.MustRegistry().Names()
	for i, tb := range b.Tables {
		if tb.TableName != want[i] || tb.Status != "never_run" || tb.LastSuccessAt != nil || tb.RowsLoaded != nil ||
			tb.DurationSeconds != nil || !tb.Stale || tb.NextScheduled != nil {
			t.Errorf("table %d: %+v, want %s never run and stale", i, tb, want[i])
		}
	}
}

// healthy after a run whose steps all succeeded; degraded once a table's last step
// failed; running while the lock is held (the test holds it as the run's process
// would); a running row nobody holds the lock for is abandoned.
func TestETLStatusHealthyDegradedRunning(t *testing.T) {
	ts := newTestServer(t, nil)
	token := ts.tokenFor(t, "admin")
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	hwm := time.Date(2025, 7, 14, 20, 0, 0, 0, time.UTC)
	var steps []ledgerStep
	for i, name := range etl.MustRegistry().Names() {
		st := ledgerStep{step: name, status: etl.StatusSuccess, loaded: int64(10 * (i + 1)), rejected: int64(i),
			start: start.Add(time.Duration(i) * time.Second), took: 1500 * time.Millisecond}
		if name == "pagos" {
			st.hwm = &hwm
		}
		steps = append(steps, st)
	}
	steps = append(steps, ledgerStep{step: "mart.dashboard_data", status: etl.StatusSuccess, inserted: 42,
		start: start.Add(20 * time.Second), took: 2 * time.Second})
	run1 := ts.etlInsertRun(t, "run-pipeline", etl.StatusSuccess, steps...)
	ts.etlSetWatermark(t, "pagos", hwm, run1)

	b := ts.etlStatus(t, token)
	if b.Status != "healthy" || b.SuccessfulTables != 9 || b.FailedTables != 0 || b.RunningExtractions != 0 {
		t.Fatalf("after a successful run: %+v", b)
	}
	pagos := b.table(t, "pagos")
	pi := slices.Index(etl.MustRegistry().Names(), "pagos")
	pagosStart := start.Add(time.Duration(pi) * time.Second)
	if pagos.Status != "success" || pagos.Mode != "incremental" || !etlSameInstant(pagos.LastExtracted, hwm) ||
		!etlSameInstant(pagos.LastSuccessAt, pagosStart.Add(1500*time.Millisecond)) ||
		pagos.RowsLoaded == nil || *pagos.RowsLoaded != int64(10*(pi+1)) || *pagos.RowsRejected != int64(pi) ||
		pagos.DurationSeconds == nil || *pagos.DurationSeconds != 1.5 || pagos.ErrorMessage != nil || pagos.Stale ||
		!etlSameInstant(pagos.NextScheduled, pagosStart.Add(1500*time.Millisecond+3*time.Hour)) {
		t.Errorf("pagos: %+v", pagos)
	}
	if e := b.table(t, "ejecutivos"); e.Mode != "full" || e.LastExtracted != nil {
		t.Errorf("ejecutivos: %+v", e)
	}
	lastLoad := start.Add(8*time.Second + 1500*time.Millisecond)
	if !etlSameInstant(b.LastUpdated, lastLoad) {
		t.Errorf("last_updated %v, want the newest success %v", b.LastUpdated, lastLoad)
	}
	if len(b.RecentActivity) != 10 {
		t.Fatalf("recent_activity has %d entries, want 10 of the 10 steps", len(b.RecentActivity))
	}
	if a := b.RecentActivity[0]; a.RunID != run1 || a.TableName != "mart.dashboard_data" || a.Status != "success" ||
		a.Records != 42 || a.Duration == nil || *a.Duration != 2 || !a.Timestamp.Equal(start.Add(22*time.Second)) {
		t.Errorf("newest activity %+v", a)
	}
	if a := b.RecentActivity[9]; a.TableName != etl.MustRegistry().Names()[0] {
		t.Errorf("oldest listed activity %+v, want the first table's load (the ten newest steps)", a)
	}

	// A later run whose pagos step failed: degraded, pagos failed with its error,
	// its last success still the first run's.
	run2 := ts.etlInsertRun(t, "run-pipeline", etl.StatusFailed, ledgerStep{step: "pagos", status: etl.StatusFailed,
		err: "extract pagos: boom", start: time.Now().Add(-time.Minute), took: time.Second})
	b = ts.etlStatus(t, token)
	pagos = b.table(t, "pagos")
	if b.Status != "degraded" || b.FailedTables != 1 || b.SuccessfulTables != 8 || pagos.Status != "failed" ||
		pagos.ErrorMessage == nil || *pagos.ErrorMessage != "extract pagos: boom" ||
		!etlSameInstant(pagos.LastSuccessAt, pagosStart.Add(1500*time.Millisecond)) || b.RecentActivity[0].RunID != run2 {
		t.Fatalf("after a failed pagos step: status %s failed %d pagos %+v", b.Status, b.FailedTables, pagos)
	}

	// A run in progress: its process holds the lock, named after the run.
	run3 := ts.etlInsertRun(t, "run-pipeline", etl.StatusRunning, ledgerStep{step: "trandeuda", status: etl.StatusRunning,
		start: time.Now()})
	release := ts.etlHoldLock(t, fmt.Sprintf("pulso run %d run-pipeline", run3))
	b = ts.etlStatus(t, token)
	if b.Status != "running" || b.RunningExtractions != 1 || b.table(t, "trandeuda").Status != "running" {
		t.Fatalf("while run %d holds the lock: %s, %d running, trandeuda %+v", run3, b.Status, b.RunningExtractions,
			b.table(t, "trandeuda"))
	}
	if a := b.RecentActivity[0]; a.RunID != run3 || a.Status != "running" || a.Duration != nil {
		t.Errorf("running activity %+v", a)
	}
	// Its process gone without finishing (the lock released): abandoned.
	release()
	b = ts.etlStatus(t, token)
	if b.Status != "degraded" || b.table(t, "trandeuda").Status != "abandoned" || b.RecentActivity[0].Status != "abandoned" {
		t.Fatalf("after the holder left: %s trandeuda %+v", b.Status, b.table(t, "trandeuda"))
	}
}

// One table's entry and its last ten steps, newest first; unknown tables are 404.
func TestETLTableStatus(t *testing.T) {
	ts := newTestServer(t, nil)
	token := ts.tokenFor(t, "manager")
	base := time.Now().Add(-2 * time.Hour)
	var last int64
	for i := range 12 {
		last = ts.etlInsertRun(t, "load", etl.StatusSuccess,
			ledgerStep{step: "pagos", status: etl.StatusSuccess, loaded: int64(i), start: base.Add(time.Duration(i) * time.Minute), took: time.Second},
			ledgerStep{step: "trandeuda", status: etl.StatusSuccess, loaded: 100, start: base.Add(time.Duration(i) * time.Minute), took: time.Second})
	}
	r := ts.etlCall(t, http.MethodGet, "/api/v1/etl/status/table/PAGOS", token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("table status: %d %s", r.status, r.body)
	}
	var d struct {
		tableStateBody
		RecentActivity []activityBody `json:"recent_activity"`
	}
	r.decode(t, &d)
	if d.TableName != "pagos" || d.Status != "success" || d.RowsLoaded == nil || *d.RowsLoaded != 11 || len(d.RecentActivity) != 10 {
		t.Fatalf("pagos detail: %s", r.body)
	}
	for i, a := range d.RecentActivity {
		if a.TableName != "pagos" || a.Records != int64(11-i) || a.RunID != last-int64(i) {
			t.Errorf("step %d: %+v, want pagos of run %d with %d rows", i, a, last-int64(i), 11-i)
		}
	}
	for _, path := range []string{"/api/v1/etl/status/table/nadie", "/api/v1/etl/status/table/mart.dashboard_data"} {
		ts.etlCall(t, http.MethodGet, path, token, nil).wantError(t, http.StatusNotFound, CodeNotFound)
	}
}

// pulso_etl_last_success_timestamp{table} is on /metrics once a table loaded.
func TestETLLastSuccessMetric(t *testing.T) {
	ts := newTestServer(t, nil)
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	ts.etlInsertRun(t, "run-pipeline", etl.StatusSuccess, ledgerStep{step: "pagos", status: etl.StatusSuccess, loaded: 3,
		start: start, took: 2 * time.Second})
	resp := ts.do(t, http.MethodGet, "/metrics", "", nil, nil)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	const series = `pulso_etl_last_success_timestamp{table="pagos"} `
	var got []string
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "pulso_etl_last_success_timestamp") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], series) {
		t.Fatalf("metrics lines %q, want one for pagos (only pagos has loaded)", got)
	}
	var v float64
	if _, err := fmt.Sscanf(strings.TrimPrefix(got[0], series), "%g", &v); err != nil ||
		int64(v) != start.Add(2*time.Second).Unix() {
		t.Fatalf("metric value %q, want %d", got[0], start.Add(2*time.Second).Unix())
	}
}

// ---------------------------------------------------------------- watermarks

type watermarkBody struct {
	TableName      string     `json:"table_name"`
	HighWaterMark  *time.Time `json:"high_water_mark"`
	LookbackDays   int        `json:"lookback_days"`
	NextWindowFrom *time.Time `json:"next_window_from"`
	UpdatedAt      *time.Time `json:"updated_at"`
	LastRunID      *int64     `json:"last_run_id"`
}

func (ts *testServer) etlWatermarks(t *testing.T, token string) map[string]watermarkBody {
	t.Helper()
	r := ts.etlCall(t, http.MethodGet, "/api/v1/etl/watermarks", token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("watermarks: %d %s", r.status, r.body)
	}
	var list []watermarkBody
	r.decode(t, &list)
	var names []string
	out := map[string]watermarkBody{}
	for _, w := range list {
		names = append(names, w.TableName)
		out[w.TableName] = w
	}
	var want []string
	for _, tb := range etl.MustRegistry().IncrementalTables() {
		want = append(want, tb.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("watermarks list %v, want the incremental tables %v", names, want)
	}
	return out
}

// The incremental tables' watermarks with their lookback (configured or the
// registry's) and the start of the next window: hwm − lookback, initial_from
// without a watermark, null when unbounded.
func TestETLWatermarks(t *testing.T) {
	initial := time.Date(2025, 5, 1, 5, 0, 0, 0, time.UTC)
	ts := newTestServer(t, func(c *Config) {
		c.TableLookback = map[string]int{"pagos": 5}
		c.TableInitialFrom = map[string]time.Time{"trandeuda": initial}
	})
	reg := etl.MustRegistry()
	hwm := time.Date(2025, 7, 10, 15, 30, 0, 0, time.UTC)
	run := ts.etlInsertRun(t, "load", etl.StatusSuccess)
	ts.etlSetWatermark(t, "pagos", hwm, run)
	ts.etlSetWatermark(t, "asignaciones", hwm, run)
	w := ts.etlWatermarks(t, ts.tokenFor(t, "manager"))

	p := w["pagos"]
	if !etlSameInstant(p.HighWaterMark, hwm) || p.LookbackDays != 5 || !etlSameInstant(p.NextWindowFrom, hwm.AddDate(0, 0, -5)) ||
		p.UpdatedAt == nil || p.LastRunID == nil || *p.LastRunID != run {
		t.Errorf("pagos: %+v", p)
	}
	asig, _ := reg.Table("asignaciones")
	if a := w["asignaciones"]; a.LookbackDays != asig.LookbackDays ||
		!etlSameInstant(a.NextWindowFrom, hwm.Add(-time.Duration(asig.LookbackDays)*24*time.Hour)) {
		t.Errorf("asignaciones: %+v, want the registry's lookback %d", a, asig.LookbackDays)
	}
	if tr := w["trandeuda"]; tr.HighWaterMark != nil || tr.UpdatedAt != nil || tr.LastRunID != nil ||
		!etlSameInstant(tr.NextWindowFrom, initial) {
		t.Errorf("trandeuda without a watermark: %+v, want the next window from initial_from", tr)
	}
	if v := w["voicebot_gestiones"]; v.HighWaterMark != nil || v.NextWindowFrom != nil {
		t.Errorf("voicebot_gestiones: %+v, want no watermark and an unbounded window", v)
	}
}

// A reset moves or removes the watermark under the pipeline lock and is recorded
// as a run, as the CLI does; 404 for unknown tables, 400 for bad input, 409 while a
// run holds the lock.
func TestETLWatermarkReset(t *testing.T) {
	ts := newTestServer(t, nil)
	token := ts.tokenFor(t, "admin")
	ctx := t.Context()
	to := time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)

	type resetBody struct {
		TableName     string     `json:"table_name"`
		Previous      *time.Time `json:"previous"`
		HighWaterMark *time.Time `json:"high_water_mark"`
	}
	r := ts.etlCall(t, http.MethodPost, "/api/v1/etl/watermarks/pagos/reset", token, map[string]any{"to": "2025-06-01T00:00:00-05:00"})
	var b resetBody
	r.decode(t, &b)
	if r.status != http.StatusOK || b.TableName != "pagos" || b.Previous != nil || !etlSameInstant(b.HighWaterMark, to) {
		t.Fatalf("reset to %v: %d %s", to, r.status, r.body)
	}
	var runID int64
	var command, status string
	var args []string
	var exit *int
	if err := ts.Pool.QueryRow(ctx, `SELECT run_id, command, status, exit_code, args FROM etl.run ORDER BY run_id DESC LIMIT 1`).
		Scan(&runID, &command, &status, &exit, &args); err != nil {
		t.Fatal(err)
	}
	if command != "watermark reset" || status != "success" || exit == nil || *exit != 0 ||
		!slices.Equal(args, []string{"pagos", "--to=2025-06-01T05:00:00Z"}) {
		t.Errorf("ledger: run %d %s %s exit %v args %v", runID, command, status, exit, args)
	}
	w := ts.etlWatermarks(t, token)["pagos"]
	if !etlSameInstant(w.HighWaterMark, to) || w.LastRunID == nil || *w.LastRunID != runID {
		t.Errorf("watermark after the reset: %+v, want %v by run %d", w, to, runID)
	}

	// Without `to` the watermark is removed.
	r = ts.etlCall(t, http.MethodPost, "/api/v1/etl/watermarks/pagos/reset", token, nil)
	b = resetBody{}
	r.decode(t, &b)
	if r.status != http.StatusOK || !etlSameInstant(b.Previous, to) || b.HighWaterMark != nil {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	if w := ts.etlWatermarks(t, token)["pagos"]; w.HighWaterMark != nil {
		t.Errorf("pagos still has a watermark: %+v", w)
	}

	ts.etlCall(t, http.MethodPost, "/api/v1/etl/watermarks/nadie/reset", token, map[string]any{}).wantError(t, http.StatusNotFound, CodeNotFound)
	for _, c := range []struct {
		path string
		body any
	}{
		{"/api/v1/etl/watermarks/ejecutivos/reset", map[string]any{}},
		{"/api/v1/etl/watermarks/pagos/reset", map[string]any{"to": "ayer"}},
		{"/api/v1/etl/watermarks/pagos/reset", map[string]any{"to": time.Now().Add(time.Hour).Format(time.RFC3339)}},
		{"/api/v1/etl/watermarks/pagos/reset", map[string]any{"to": 20250601}},
		{"/api/v1/etl/watermarks/pagos/reset", `{"to": `},
	} {
		resp := ts.do(t, http.MethodPost, c.path, token, c.body, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %v: %d, want 400", c.path, c.body, resp.StatusCode)
		}
		resp.Body.Close()
	}

	// A run holds the lock: 409 conflict naming it, and nothing changes.
	ts.etlSetWatermark(t, "pagos", to, runID)
	ts.etlHoldLock(t, "pulso run 99 backfill")
	e := ts.etlCall(t, http.MethodPost, "/api/v1/etl/watermarks/pagos/reset", token, nil).wantError(t, http.StatusConflict, CodeConflict)
	if !strings.Contains(e.Message, "run 99") {
		t.Errorf("409 message %q does not name run 99", e.Message)
	}
	if w := ts.etlWatermarks(t, token)["pagos"]; !etlSameInstant(w.HighWaterMark, to) {
		t.Errorf("the refused reset changed the watermark: %+v", w)
	}
}

// ---------------------------------------------------------------- refresh

// A refresh bumps the data version with its NOTIFY (reason manual_refresh): the next
// dashboard request with the previous ETag gets 200 under the new version. force
// also empties the in-process cache; without it older entries stay until their TTL.
func TestRefreshBumpsVersion(t *testing.T) {
	ts := newTestServerDeps(t, func(c *Config) { c.CacheEnabled = true }, func(d *Deps) {
		c, err := cache.New(cache.Options{Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		d.Cache = c
	})
	token := ts.tokenFor(t, "admin")
	ctx := t.Context()
	const path = "/api/v1/dashboard?fecha_corte=2025-07-15"
	first := ts.etlCall(t, http.MethodGet, path, token, nil)
	etag := first.header.Get("ETag")
	if first.status != http.StatusOK || first.header.Get("X-Data-Version") != "0" || etag == "" {
		t.Fatalf("first dashboard: %d %v", first.status, first.header)
	}
	if r := ts.etlCall(t, http.MethodGet, path, token, nil); r.header.Get("X-Cache") != "hit" {
		t.Fatalf("second dashboard: X-Cache %s, want hit", r.header.Get("X-Cache"))
	}
	// The key of the cached entry: pulso:{instance}:v{V}:s{S}:dashboard:{H}, H from the ETag.
	h := etag[strings.LastIndex(etag, "-")+1 : len(etag)-1]
	cached := func(v int64) bool {
		_, _, ok := ts.Server.cache.Get(ctx, ts.Server.cacheKey(v, "dashboard", h))
		return ok
	}

	// Listen as another server would.
	conn, err := pgx.Connect(ctx, ts.etlDBURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN pulso_data_version"); err != nil {
		t.Fatal(err)
	}

	type refreshBody struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		Data    struct {
			Status      string    `json:"status"`
			Force       bool      `json:"force"`
			Timestamp   time.Time `json:"timestamp"`
			DataVersion int64     `json:"dataVersion"`
		} `json:"data"`
	}
	r := ts.etlCall(t, http.MethodPost, "/api/v1/refresh", token, nil)
	var rb refreshBody
	r.decode(t, &rb)
	if r.status != http.StatusOK || rb.Status != "success" || rb.Message == "" || rb.Data.Status != "refresh_initiated" ||
		rb.Data.Force || rb.Data.DataVersion != 1 || rb.Data.Timestamp.IsZero() {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := conn.WaitForNotification(nctx)
	cancel()
	if err != nil || n.Payload != "1" {
		t.Fatalf("NOTIFY pulso_data_version: %v %v, want payload 1", n, err)
	}
	var reason string
	var runID *int64
	if err := ts.Pool.QueryRow(ctx, `SELECT reason, run_id FROM etl.data_version`).Scan(&reason, &runID); err != nil ||
		reason != "manual_refresh" || runID != nil {
		t.Fatalf("etl.data_version: reason %q run %v (%v)", reason, runID, err)
	}
	for ts.Server.dataVersion.Load() < 1 { // already observed by the refresh itself
		time.Sleep(time.Millisecond)
	}
	next := ts.etlCall(t, http.MethodGet, path, token, nil, "If-None-Match", etag)
	if next.status != http.StatusOK || next.header.Get("X-Data-Version") != "1" || next.header.Get("X-Cache") != "miss" ||
		next.header.Get("ETag") == etag {
		t.Fatalf("after the refresh, the old ETag: %d version %s X-Cache %s", next.status,
			next.header.Get("X-Data-Version"), next.header.Get("X-Cache"))
	}
	if !cached(0) || !cached(1) {
		t.Fatal("without force the in-process cache should keep its entries (superseded by the version)")
	}

	r = ts.etlCall(t, http.MethodPost, "/api/v1/refresh?force=true", token, nil)
	rb = refreshBody{}
	r.decode(t, &rb)
	if r.status != http.StatusOK || !rb.Data.Force || rb.Data.DataVersion != 2 {
		t.Fatalf("forced refresh: %d %s", r.status, r.body)
	}
	if cached(0) || cached(1) {
		t.Fatal("force did not clear the in-process cache")
	}
	if r := ts.etlCall(t, http.MethodGet, path, token, nil); r.header.Get("X-Data-Version") != "2" || r.header.Get("X-Cache") != "miss" {
		t.Fatalf("after the forced refresh: version %s X-Cache %s", r.header.Get("X-Data-Version"), r.header.Get("X-Cache"))
	}
	ts.etlCall(t, http.MethodPost, "/api/v1/refresh?force=maybe", token, nil).wantError(t, http.StatusBadRequest, CodeValidation)
	// Without a cache at all, force is harmless.
	plain := newTestServer(t, nil)
	if r := plain.etlCall(t, http.MethodPost, "/api/v1/refresh?force=1", plain.tokenFor(t, "admin"), nil); r.status != http.StatusOK {
		t.Fatalf("forced refresh without a cache: %d %s", r.status, r.body)
	}
}

// ---------------------------------------------------------------- trigger

// The trigger's refusals, none of which starts a process (the executable does not
// exist, so a start would answer 500): 503 without a source, 400 for unknown
// tables or contradictory options, 409 etl_running naming the holder's run id.
func TestTriggerRefusals(t *testing.T) {
	noSource := newTestServer(t, func(c *Config) { c.TriggerExecutable = "/nonexistent/pulso" })
	noSource.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", noSource.tokenFor(t, "admin"), map[string]any{}).
		wantError(t, http.StatusServiceUnavailable, CodeUnavailable)

	ts := newTestServer(t, func(c *Config) {
		c.SourceConfigured = true
		c.TriggerExecutable = "/nonexistent/pulso"
	})
	token := ts.tokenFor(t, "admin")
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"tables": []string{"pagos", "nadie"}}, "tables"},
		{map[string]any{"tables": []string{"pagos"}, "skip_raw": true}, "tables"},
		{map[string]any{"tables": "pagos"}, "tables"},
		{map[string]any{"full_rebuild": "yes"}, "full_rebuild"},
	} {
		e := ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", token, c.body).wantError(t, http.StatusBadRequest, CodeValidation)
		if e.Details == nil || e.Details[0].Field != c.field {
			t.Errorf("%v: details %+v, want field %s", c.body, e.Details, c.field)
		}
	}
	ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger?tables=nadie", token, nil).wantError(t, http.StatusBadRequest, CodeValidation)
	ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", ts.tokenFor(t, "manager"), nil).wantError(t, http.StatusForbidden, CodeForbidden)

	ts.etlHoldLock(t, "pulso run 77 run-pipeline")
	e := ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", token, map[string]any{"full_rebuild": true}).
		wantError(t, http.StatusConflict, CodeETLRunning)
	if !strings.Contains(e.Message, "run 77") {
		t.Errorf("409 message %q does not name run 77", e.Message)
	}
}

// Environment of the stand-in pipeline (runTriggerHelper).
const (
	envHelperMode = "PULSO_TEST_TRIGGER_HELPER"
	envHelperDB   = "PULSO_TEST_TRIGGER_HELPER_DB"
)

// runTriggerHelper is the trigger's child when the test binary stands in for pulso
// (TestMain runs it instead of the tests when envHelperMode is set): it behaves as
// `pulso run-pipeline` does towards the API: reserve a run id, take the lock as
// "pulso run N run-pipeline", open its run (recording its args), and on SIGTERM
// record the run cancelled and exit 130. Mode exit3 exits 3 at once, as a run that
// lost the lock does.
func runTriggerHelper(mode string) {
	if mode == "exit3" {
		os.Exit(3)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := postgres.Open(ctx, os.Getenv(envHelperDB))
	if err != nil {
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	runner := &etl.Runner{Store: postgres.NewStore(pool, log, postgres.StoreOptions{}), Log: log, ExitCode: ledgerExitCode}
	args := os.Args[slices.Index(os.Args, "run-pipeline")+1:]
	sess, err := runner.Begin(ctx, etl.RunRecord{Command: "run-pipeline", Args: args})
	if errors.Is(err, postgres.ErrLockHeld) {
		os.Exit(3)
	}
	if err != nil {
		os.Exit(1)
	}
	select {
	case <-ctx.Done():
		sess.Finish(ctx, ctx.Err())
		os.Exit(130)
	case <-time.After(time.Minute):
		sess.Finish(ctx, nil)
		os.Exit(0)
	}
}

// processGone reports whether pid no longer exists (reaped, not a zombie).
func etlProcessGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// The trigger starts a child process (the test binary as a stand-in pipeline) and
// answers 202 with the run id the child opened under the lock, found by its pid;
// status shows it running, a second trigger and a reset get 409; shutdown sends the
// child SIGTERM and waits: it records its run cancelled, exits 130 and is reaped.
func TestTriggerStartsChildAndStopsItOnShutdown(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.SourceConfigured = true
		c.TriggerExecutable = os.Args[0]
	})
	t.Setenv(envHelperMode, "run")
	t.Setenv(envHelperDB, ts.etlDBURL())
	token := ts.tokenFor(t, "admin")
	ctx := t.Context()

	r := ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", token, map[string]any{"tables": []string{"PAGOS", "calendario"}, "full_rebuild": true})
	var tr struct {
		RunID           int64     `json:"run_id"`
		Status          string    `json:"status"`
		TablesRequested []string  `json:"tables_requested"`
		StartedAt       time.Time `json:"started_at"`
	}
	r.decode(t, &tr)
	if r.status != http.StatusAccepted || tr.RunID == 0 || tr.Status != "started" ||
		!slices.Equal(tr.TablesRequested, []string{"calendario", "pagos"}) || tr.StartedAt.IsZero() {
		t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	var pid int
	var args []string
	var status string
	if err := ts.Pool.QueryRow(ctx, `SELECT pid, args, status FROM etl.run WHERE run_id = $1`, tr.RunID).Scan(&pid, &args, &status); err != nil {
		t.Fatal(err)
	}
	if status != "running" || !slices.Equal(args, []string{"--tables=calendario,pagos", "--full-rebuild"}) {
		t.Errorf("the child's run: %s args %v", status, args)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	if b := ts.etlStatus(t, token); b.Status != "running" {
		t.Errorf("etl/status while the child runs: %s", b.Status)
	}
	e := ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", token, nil).wantError(t, http.StatusConflict, CodeETLRunning)
	if !strings.Contains(e.Message, fmt.Sprintf("run %d", tr.RunID)) {
		t.Errorf("second trigger: %q does not name run %d", e.Message, tr.RunID)
	}
	ts.etlCall(t, http.MethodPost, "/api/v1/etl/watermarks/pagos/reset", token, nil).wantError(t, http.StatusConflict, CodeConflict)

	// Shutdown: SIGTERM, then the wait Run does within its drain.
	start := time.Now()
	ts.Server.runs.terminate()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ts.Server.runs.wait(wctx)
	cancel()
	if !etlProcessGone(pid) {
		t.Fatalf("child %d still exists %v after the shutdown", pid, time.Since(start))
	}
	var exit *int
	if err := ts.Pool.QueryRow(ctx, `SELECT status, exit_code FROM etl.run WHERE run_id = $1`, tr.RunID).Scan(&status, &exit); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || exit == nil || *exit != 130 {
		t.Errorf("the stopped run: %s exit %v, want cancelled 130", status, exit)
	}
	// A draining server starts nothing.
	ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", token, nil).wantError(t, http.StatusServiceUnavailable, CodeUnavailable)
}

// A child that loses the lock to a run that started after the check exits 3: 409.
func TestTriggerChildLostLock(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.SourceConfigured = true
		c.TriggerExecutable = os.Args[0]
	})
	t.Setenv(envHelperMode, "exit3")
	ts.etlCall(t, http.MethodPost, "/api/v1/etl/trigger", ts.tokenFor(t, "admin"), nil).wantError(t, http.StatusConflict, CodeETLRunning)
}
