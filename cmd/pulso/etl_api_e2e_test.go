package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// The ETL control API against the real binary: `pulso serve` with a dir source
// starts `pulso run-pipeline` as a child process.

// etlAPIServe starts serve on a fresh database with the demo set as its dir source.
func etlAPIServe(t *testing.T) (*servedAPI, *pgxpool.Pool, string) {
	t.Helper()
	url := migrated(t)
	dir := demoSet(t)
	api := startServe(t, url, "PULSO_SOURCE_KIND=dir", "PULSO_SOURCE_DIR="+dir)
	return api, openPool(t, url), api.login(t)
}

// blockMarts holds mart.dashboard_data exclusively, so a pipeline's transform waits
// (holding the pipeline lock) until release: the run is observably in progress.
func blockMarts(t *testing.T, pool *pgxpool.Pool) (release func()) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE mart.dashboard_data IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = tx.Rollback(context.Background()) }
	t.Cleanup(release)
	return release
}

type triggered struct {
	RunID           int64     `json:"run_id"`
	Status          string    `json:"status"`
	TablesRequested []string  `json:"tables_requested"`
	StartedAt       time.Time `json:"started_at"`
}

func (a *servedAPI) trigger(t *testing.T, token string, body any) triggered {
	t.Helper()
	r := a.call(t, http.MethodPost, "/api/v1/etl/trigger", token, body)
	if r.status != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	var tr triggered
	r.decode(t, &tr)
	if tr.RunID == 0 || tr.Status != "started" || tr.StartedAt.IsZero() {
		t.Fatalf("trigger: %s", r.body)
	}
	return tr
}

type etlStatusBody struct {
	Status         string `json:"status"`
	RecentActivity []struct {
		RunID  int64  `json:"run_id"`
		Status string `json:"status"`
	} `json:"recent_activity"`
}

func runRow(t *testing.T, pool *pgxpool.Pool, runID int64) (status string, exit *int, pid int, command string) {
	t.Helper()
	err := pool.QueryRow(t.Context(), `SELECT status, exit_code, COALESCE(pid, 0), command FROM etl.run WHERE run_id = $1`, runID).
		Scan(&status, &exit, &pid, &command)
	if errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("run %d is not in the ledger", runID)
	}
	if err != nil {
		t.Fatal(err)
	}
	return status, exit, pid, command
}

// pidGone reports whether no process pid exists any more (exited and reaped).
func pidGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// A trigger answers 202 with the child's run id; status shows the run in progress
// and a second trigger gets 409 etl_running naming it; once it finishes the run is in
// recent_activity, the ledger says success, the data version moved (the next
// dashboard response under the old ETag is a 200 with a new X-Data-Version) and
// /metrics has each table's last success.
func TestETLAPITriggerRunsPipeline(t *testing.T) {
	t.Parallel()
	api, pool, token := etlAPIServe(t)
	before := api.mustGet(t, "/api/v1/dashboard", token, nil)
	etag := before.header.Get("ETag")
	if before.header.Get("X-Data-Version") != "0" || etag == "" {
		t.Fatalf("before any run: X-Data-Version %q ETag %q", before.header.Get("X-Data-Version"), etag)
	}

	release := blockMarts(t, pool)
	tr := api.trigger(t, token, map[string]any{})
	if want := []string{"homologacion_mibotair", "homologacion_voicebot", "ejecutivos", "calendario", "asignaciones",
		"trandeuda", "pagos", "voicebot_gestiones", "mibotair_gestiones"}; !slices.Equal(tr.TablesRequested, want) {
		t.Errorf("tables_requested %v, want all nine", tr.TablesRequested)
	}
	status, _, pid, command := runRow(t, pool, tr.RunID)
	if status != "running" || command != "run-pipeline" || pid == 0 || pid == api.cmd.Process.Pid {
		t.Fatalf("run %d: %s %s pid %d (serve is %d): want run-pipeline running in a child process",
			tr.RunID, status, command, pid, api.cmd.Process.Pid)
	}
	var st etlStatusBody
	api.mustGet(t, "/api/v1/etl/status", token, &st)
	if st.Status != "running" {
		t.Errorf("etl/status while run %d holds the lock: %s", tr.RunID, st.Status)
	}
	r := api.call(t, http.MethodPost, "/api/v1/etl/trigger", token, map[string]any{"full_rebuild": true})
	var e struct{ Code, Message string }
	r.decode(t, &e)
	if r.status != http.StatusConflict || e.Code != "etl_running" || !strings.Contains(e.Message, fmt.Sprintf("run %d", tr.RunID)) {
		t.Errorf("second trigger while run %d runs: %d %s", tr.RunID, r.status, r.body)
	}

	release()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		api.mustGet(t, "/api/v1/etl/status", token, &st)
		if st.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still running after 2 min", tr.RunID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Status != "healthy" || !slices.ContainsFunc(st.RecentActivity, func(a struct {
		RunID  int64  `json:"run_id"`
		Status string `json:"status"`
	}) bool {
		return a.RunID == tr.RunID && a.Status == "success"
	}) {
		t.Errorf("etl/status after the run: %+v, want healthy with run %d in recent_activity", st, tr.RunID)
	}
	// The server reaps the child and logs its exit code.
	for !pidGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the finished child %d was never reaped", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status, exit, _, _ := runRow(t, pool, tr.RunID); status != "success" || exit == nil || *exit != 0 {
		t.Errorf("run %d in the ledger: %s exit %v, want success 0", tr.RunID, status, exit)
	}
	if !strings.Contains(api.stderr.String(), `"exit_code":0`) {
		t.Errorf("serve did not log the child's exit code")
	}

	after := api.call(t, http.MethodGet, "/api/v1/dashboard", token, nil, "If-None-Match", etag)
	v, err := strconv.Atoi(after.header.Get("X-Data-Version"))
	if after.status != http.StatusOK || err != nil || v < 1 {
		t.Errorf("dashboard with the old ETag after the run: %d X-Data-Version %q, want 200 with a newer version",
			after.status, after.header.Get("X-Data-Version"))
	}

	if !strings.Contains(api.metricsBody(t), `pulso_etl_last_success_timestamp{table="pagos"}`) {
		t.Errorf("/metrics has no pulso_etl_last_success_timestamp for pagos after a successful run")
	}
}

// metricsBody reads the metrics listener.
func (a *servedAPI) metricsBody(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(a.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// SIGTERM to the server while a triggered pipeline runs: the server stops the child
// (SIGTERM) and waits for it within its drain, so no process is left behind, and the
// child's run is recorded cancelled (or finished), never left running.
func TestETLAPITriggerSIGTERMLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	api, pool, token := etlAPIServe(t)
	release := blockMarts(t, pool)
	tr := api.trigger(t, token, map[string]any{"tables": []string{"pagos"}})
	if !slices.Equal(tr.TablesRequested, []string{"pagos"}) {
		t.Errorf("tables_requested %v", tr.TablesRequested)
	}
	_, _, pid, _ := runRow(t, pool, tr.RunID)
	if pid == 0 || pidGone(pid) {
		t.Fatalf("run %d: child pid %d not alive", tr.RunID, pid)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	start := time.Now()
	if err := api.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-api.exited:
		api.exited <- err // for startServe's cleanup
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(16 * time.Second):
		t.Fatalf("serve still running %v after SIGTERM", time.Since(start))
	}
	if !pidGone(pid) {
		t.Fatalf("the triggered child %d outlived the server (%v after SIGTERM)", pid, time.Since(start))
	}
	release()
	status, exit, _, _ := runRow(t, pool, tr.RunID)
	code := "none"
	if exit != nil {
		code = strconv.Itoa(*exit)
	}
	t.Logf("run %d after the server's SIGTERM: %s, exit %s; serve exited %v after the signal", tr.RunID, status, code,
		time.Since(start).Round(time.Millisecond))
	switch {
	case status == "cancelled" && exit != nil && *exit == 130:
	case status == "success":
	default:
		t.Errorf("run %d after the server's SIGTERM: %s exit %v, want cancelled (130) or finished", tr.RunID, status, exit)
	}
	if !strings.Contains(api.stderr.String(), `"exit_code":130`) && status == "cancelled" {
		t.Errorf("serve did not log the child's exit 130:\n%s", tail(api.stderr.String(), 3000))
	}
}

// The metrics listener reports pulso_etl_last_success_timestamp once a triggered
// run loaded the tables.
func TestETLAPITriggerMetrics(t *testing.T) {
	t.Parallel()
	api, pool, token := etlAPIServe(t)
	if strings.Contains(api.metricsBody(t), "pulso_etl_last_success_timestamp{") {
		t.Fatal("a table has a last success before any run")
	}
	tr := api.trigger(t, token, map[string]any{"tables": []string{"calendario", "pagos"}})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if status, _, _, _ := runRow(t, pool, tr.RunID); status != "running" {
			if status != "success" {
				t.Fatalf("run %d: %s", tr.RunID, status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still running after 2 min", tr.RunID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	body := api.metricsBody(t)
	for _, table := range []string{"calendario", "pagos"} {
		if !strings.Contains(body, `pulso_etl_last_success_timestamp{table="`+table+`"}`) {
			t.Errorf("no pulso_etl_last_success_timestamp for %s:\n%s", table, body)
		}
	}
}

// The triggered child gets serve's global flags (not --wait, not serve's own), in a
// form run-pipeline parses.
func TestTriggerArgsFromServeFlags(t *testing.T) {
	a := &app{reg: etl.MustRegistry(), stdout: io.Discard, stderr: io.Discard}
	serve, _, err := newRootCmd(a).Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.ParseFlags([]string{"--as-of", "2025-07-15", "--config=pulso.yaml", "--wait", "--http-addr", ":0",
		"--dir", "/data/landing", "--source", "dir"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"--as-of=2025-07-15", "--config=pulso.yaml", "--dir=/data/landing", "--source=dir"}
	if got := triggerArgs(serve); !slices.Equal(got, want) {
		t.Fatalf("triggerArgs = %v, want %v", got, want)
	}
}

// A source is configured when run-pipeline could open one.
func TestTriggerSourceConfigured(t *testing.T) {
	for _, c := range []struct {
		kind       etl.SourceKind
		dir, proj  string
		configured bool
	}{
		{etl.SourceDir, "", "mibot-222814", false},
		{etl.SourceDir, "/data/landing", "", true},
		{etl.SourceBigQuery, "", "mibot-222814", true},
		{etl.SourceBigQuery, "/data/landing", "", false},
	} {
		cfg := &Config{}
		cfg.Source.Kind, cfg.Source.Dir, cfg.BigQuery.Project = c.kind, c.dir, c.proj
		if got := cfg.sourceConfigured(); got != c.configured {
			t.Errorf("%+v: configured %v", c, got)
		}
	}
}
