package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulso-cobranzas/pulso/internal/analytics"
	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// etlRoutes are the ETL status and control routes (api.md §4): status and
// watermarks need system.read; trigger, reset and refresh need system.configure.
func (s *Server) etlRoutes() []route {
	read, configure := []string{PermSystemRead}, []string{PermSystemConfigure}
	return []route{
		{method: http.MethodGet, path: apiV1 + "/etl/status", perms: read, handler: s.etlStatus},
		{method: http.MethodGet, path: apiV1 + "/etl/status/table/:table", perms: read, handler: s.etlTableStatus},
		{method: http.MethodGet, path: apiV1 + "/etl/watermarks", perms: read, handler: s.etlWatermarks},
		{method: http.MethodPost, path: apiV1 + "/etl/trigger", perms: configure, handler: s.etlTrigger},
		{method: http.MethodPost, path: apiV1 + "/etl/watermarks/:table/reset", perms: configure, handler: s.etlWatermarkReset},
		{method: http.MethodPost, path: apiV1 + "/refresh", perms: configure, handler: s.dataRefresh},
	}
}

// recentActivity is how many step rows the status routes list.
const recentActivity = 10

// defaultTriggerTimeout bounds the wait for a triggered child to open its run.
const defaultTriggerTimeout = 10 * time.Second

// ---------------------------------------------------------------- status

// etlTableState is one source table's entry (EtlTableState in the OpenAPI document).
type etlTableState struct {
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

// etlActivity is one step row: a source table's load or a transform step.
type etlActivity struct {
	RunID     int64     `json:"run_id"`
	TableName string    `json:"table_name"`
	Status    string    `json:"status"`
	Timestamp time.Time `json:"timestamp"`
	Records   int64     `json:"records"`
	Duration  *float64  `json:"duration"`
}

type etlStatusResponse struct {
	Status             string          `json:"status"`
	LastUpdated        *time.Time      `json:"last_updated"`
	TotalTables        int             `json:"total_tables"`
	SuccessfulTables   int             `json:"successful_tables"`
	FailedTables       int             `json:"failed_tables"`
	RunningExtractions int             `json:"running_extractions"`
	DataVersion        int64           `json:"data_version"`
	Tables             []etlTableState `json:"tables"`
	RecentActivity     []etlActivity   `json:"recent_activity"`
}

type etlTableDetail struct {
	etlTableState
	RecentActivity []etlActivity `json:"recent_activity"`
}

// statusNeverRun is a table's status before its first step.
const statusNeverRun = "never_run"

// readStatusOf reads the tables' freshness and the newest run only: none of the
// API's status answers or the metrics scrape lists more runs.
func (s *Server) readStatusOf(ctx context.Context, tables []*etl.Table) (*postgres.Status, error) {
	return postgres.ReadStatus(ctx, s.pool, postgres.StatusOptions{Tables: tables, Now: s.now(),
		StaleAfter: s.cfg.StaleAfter, ScheduleInterval: s.cfg.ScheduleInterval, Runs: 1})
}

// etlStatus is GET /api/v1/etl/status.
func (s *Server) etlStatus(c echo.Context) error {
	if !s.pgUp.Load() {
		return errUnavailable
	}
	ctx := c.Request().Context()
	st, err := s.readStatusOf(ctx, s.tables)
	if err != nil {
		return err
	}
	steps, err := postgres.RecentSteps(ctx, s.pool, "", recentActivity, st.Lock)
	if err != nil {
		return err
	}
	out := etlStatusResponse{Status: st.Status, TotalTables: len(st.Tables), DataVersion: st.DataVersion.Version,
		Tables: make([]etlTableState, len(st.Tables)), RecentActivity: activities(steps)}
	for i, t := range st.Tables {
		out.Tables[i] = tableState(t)
		switch out.Tables[i].Status {
		case string(etl.StatusSuccess), string(etl.StatusSkipped):
			out.SuccessfulTables++
		case string(etl.StatusFailed), string(etl.StatusAbandoned):
			out.FailedTables++
		case string(etl.StatusRunning):
			out.RunningExtractions++
		}
		if t.LastSuccessAt != nil && (out.LastUpdated == nil || t.LastSuccessAt.After(*out.LastUpdated)) {
			out.LastUpdated = utc(t.LastSuccessAt)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// etlTableStatus is GET /api/v1/etl/status/table/:table.
func (s *Server) etlTableStatus(c echo.Context) error {
	t, err := s.tableParam(c)
	if err != nil {
		return err
	}
	if !s.pgUp.Load() {
		return errUnavailable
	}
	ctx := c.Request().Context()
	st, err := s.readStatusOf(ctx, []*etl.Table{t})
	if err != nil {
		return err
	}
	steps, err := postgres.RecentSteps(ctx, s.pool, t.Name, recentActivity, st.Lock)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, etlTableDetail{etlTableState: tableState(st.Tables[0]), RecentActivity: activities(steps)})
}

// tableParam resolves :table against the registry (404 when unknown).
func (s *Server) tableParam(c echo.Context) (*etl.Table, error) {
	name := strings.ToLower(strings.TrimSpace(c.Param("table")))
	for _, t := range s.tables {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, NewError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("Unknown table %q (known: %s)",
		truncateName(name), strings.Join(s.tableNames(), ", ")))
}

func (s *Server) tableNames() []string {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.Name
	}
	return names
}

func truncateName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func tableState(t postgres.TableStatus) etlTableState {
	out := etlTableState{TableName: t.Table, Mode: t.Mode, Status: statusNeverRun,
		LastExtracted: utc(t.HighWaterMark), LastSuccessAt: utc(t.LastSuccessAt), ErrorMessage: t.LastError,
		Stale: t.Stale, NextScheduled: utc(t.NextScheduled)}
	if t.LastStatus != nil {
		out.Status = string(*t.LastStatus)
		loaded, rejected := t.RowsLoaded, t.RowsRejected
		out.RowsLoaded, out.RowsRejected = &loaded, &rejected
		if t.LastStarted != nil && t.LastFinished != nil {
			out.DurationSeconds = seconds(t.LastFinished.Sub(*t.LastStarted))
		}
	}
	return out
}

// activities turns step rows into activity entries, newest first. records are the
// rows a load wrote (rows_loaded) or a transform step inserted.
func activities(steps []postgres.RunStep) []etlActivity {
	out := make([]etlActivity, 0, len(steps))
	for _, st := range steps {
		a := etlActivity{RunID: st.RunID, TableName: st.Step, Status: string(st.Status),
			Timestamp: st.StartedAt.UTC(), Records: st.RowsLoaded}
		if strings.Contains(st.Step, ".") {
			a.Records = st.RowsInserted
		}
		if st.FinishedAt != nil {
			a.Timestamp = st.FinishedAt.UTC()
			a.Duration = seconds(st.FinishedAt.Sub(st.StartedAt))
		}
		out = append(out, a)
	}
	return out
}

// seconds is d in seconds to the millisecond, never negative.
func seconds(d time.Duration) *float64 {
	v := math.Round(max(d, 0).Seconds()*1000) / 1000
	return &v
}

// ---------------------------------------------------------------- watermarks

type etlWatermark struct {
	TableName      string     `json:"table_name"`
	HighWaterMark  *time.Time `json:"high_water_mark"`
	LookbackDays   int        `json:"lookback_days"`
	NextWindowFrom *time.Time `json:"next_window_from"`
	UpdatedAt      *time.Time `json:"updated_at"`
	LastRunID      *int64     `json:"last_run_id"`
}

// etlWatermarks is GET /api/v1/etl/watermarks: one entry per incremental table (the
// full-refresh tables have no watermark), in load order.
func (s *Server) etlWatermarks(c echo.Context) error {
	if !s.pgUp.Load() {
		return errUnavailable
	}
	marks, err := postgres.Watermarks(c.Request().Context(), s.pool)
	if err != nil {
		return err
	}
	now := etl.Clock{AsOf: s.cfg.AsOf}.Now(s.now())
	out := []etlWatermark{}
	for _, t := range s.tables {
		if t.Mode != etl.ModeIncremental {
			continue
		}
		lb := t.LookbackDays
		if v, ok := s.cfg.TableLookback[t.Name]; ok {
			lb = v
		}
		w := etlWatermark{TableName: t.Name, LookbackDays: lb}
		m, ok := marks[t.Name]
		if ok {
			w.HighWaterMark, w.LastRunID = utc(m.HighWaterMark), m.LastRunID
			w.UpdatedAt = utc(&m.UpdatedAt)
		}
		hasHWM := ok && m.HighWaterMark != nil
		var hwm time.Time
		if hasHWM {
			hwm = *m.HighWaterMark
		}
		if win := etl.WindowFor(t, hwm, hasHWM, now, lb, s.cfg.TableInitialFrom[t.Name]); !win.From.IsZero() {
			from := win.From.UTC()
			w.NextWindowFrom = &from
		}
		out = append(out, w)
	}
	return c.JSON(http.StatusOK, out)
}

type watermarkResetRequest struct {
	To *string `json:"to"`
}

// etlWatermarkReset is POST /api/v1/etl/watermarks/:table/reset: what `pulso
// watermark reset` does, under the pipeline lock taken without waiting (409 while a
// run holds it) and recorded in the ledger as a run.
func (s *Server) etlWatermarkReset(c echo.Context) error {
	t, err := s.tableParam(c)
	if err != nil {
		return err
	}
	var req watermarkResetRequest
	if err := decodeAuthBody(c, &req); err != nil {
		return err
	}
	var v analytics.Errors
	if t.Mode != etl.ModeIncremental {
		v.Add("table", "%s is a full-refresh table and has no watermark", t.Name)
	}
	var to *time.Time
	if req.To != nil && strings.TrimSpace(*req.To) != "" {
		ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*req.To))
		switch {
		case err != nil:
			v.Add("to", "want an RFC 3339 timestamp such as 2025-06-01T05:00:00Z")
		case ts.After(s.now()):
			v.Add("to", "%s is in the future", ts.UTC().Format(time.RFC3339))
		default:
			u := ts.UTC()
			to = &u
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if !s.pgUp.Load() {
		return errUnavailable
	}
	// The reset is short; it completes (and is recorded) even if the client leaves.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), s.cfg.StatementTimeout)
	defer cancel()
	args := []string{t.Name}
	if to != nil {
		args = append(args, "--to="+to.Format(time.RFC3339Nano))
	}
	store := postgres.NewStore(s.pool, s.log, postgres.StoreOptions{})
	runner := &etl.Runner{Store: store, Log: s.log, Clock: etl.Clock{AsOf: s.cfg.AsOf}, ExitCode: ledgerExitCode}
	var res postgres.WatermarkReset
	err = runner.Do(ctx, etl.RunRecord{Command: "watermark reset", Args: args}, func(sess *etl.Session) error {
		var err error
		if res, err = store.ResetWatermark(ctx, t, to, sess.RunID); err != nil {
			return err
		}
		attrs := []any{"table", t.Name, "previous", res.Previous, "high_water_mark", res.HighWaterMark,
			"request_id", requestID(c)}
		if p := principal(c); p != nil {
			attrs = append(attrs, "user_id", p.UserID)
		}
		sess.Log.Info("watermark reset through the API", attrs...)
		return nil
	})
	var held *postgres.LockHeldError
	if errors.As(err, &held) {
		return NewError(http.StatusConflict, CodeConflict, "Cannot reset the watermark now: "+
			holderText(held.Holder, postgres.HolderRunID(held.Holder))+"; try again when it finishes")
	}
	if err != nil {
		return err
	}
	res.Previous, res.HighWaterMark = utc(res.Previous), utc(res.HighWaterMark)
	return c.JSON(http.StatusOK, res)
}

// ledgerExitCode is the exit code the ledger records for a run the API process
// makes itself (a watermark reset), as the CLI would exit.
func ledgerExitCode(ctx context.Context, err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return 130
	case errors.Is(err, postgres.ErrLockHeld):
		return 3
	}
	return 1
}

// holderText names the lock holder: its run id when it has one.
func holderText(holder string, runID *int64) string {
	switch {
	case runID != nil:
		return fmt.Sprintf("run %d holds the pipeline lock (%s)", *runID, holder)
	case holder != "":
		return fmt.Sprintf("%q holds the pipeline lock", holder)
	}
	return "another session holds the pipeline lock"
}

// errETLRunning is 409 etl_running naming the lock's holder.
func errETLRunning(lock postgres.LockStatus) *Error {
	msg := "A pipeline run is in progress: " + holderText(lock.Holder, lock.RunID)
	if !lock.Held {
		msg = "Another pipeline run took the pipeline lock first"
	}
	return NewError(http.StatusConflict, CodeETLRunning, msg)
}

// ---------------------------------------------------------------- trigger

type triggerRequest struct {
	Tables      []string `json:"tables"`
	SkipRaw     *bool    `json:"skip_raw"`
	FullRebuild *bool    `json:"full_rebuild"`
}

type triggerResponse struct {
	RunID           int64     `json:"run_id"`
	Status          string    `json:"status"`
	TablesRequested []string  `json:"tables_requested"`
	StartedAt       time.Time `json:"started_at"`
}

// triggerOptions are a validated trigger: the tables in load order (empty with
// skip_raw) and the run-pipeline flags.
type triggerOptions struct {
	tables      []string
	all         bool
	skipRaw     bool
	fullRebuild bool
}

func (o triggerOptions) args() []string {
	args := []string{"run-pipeline"}
	if !o.all && len(o.tables) > 0 {
		args = append(args, "--tables="+strings.Join(o.tables, ","))
	}
	if o.skipRaw {
		args = append(args, "--skip-raw")
	}
	if o.fullRebuild {
		args = append(args, "--full-rebuild")
	}
	return args
}

// parseTrigger reads the body, and the same fields as query parameters (as
// /refresh takes force): the body wins where both are given.
func (s *Server) parseTrigger(c echo.Context) (triggerOptions, error) {
	var req triggerRequest
	if err := decodeAuthBody(c, &req); err != nil {
		return triggerOptions{}, err
	}
	var v analytics.Errors
	q := c.QueryParams()
	names := req.Tables
	if names == nil {
		names = q["tables"]
	}
	var o triggerOptions
	o.skipRaw = v.Bool("skip_raw", q.Get("skip_raw"), false)
	o.fullRebuild = v.Bool("full_rebuild", q.Get("full_rebuild"), false)
	if req.SkipRaw != nil {
		o.skipRaw = *req.SkipRaw
	}
	if req.FullRebuild != nil {
		o.fullRebuild = *req.FullRebuild
	}
	want := map[string]bool{}
	for _, n := range v.SplitList("tables", names) {
		n = strings.ToLower(n)
		if n == "" {
			continue
		}
		if !slices.Contains(s.tableNames(), n) {
			v.Add("tables", "unknown table %q (known: %s)", truncateName(n), strings.Join(s.tableNames(), ", "))
			continue
		}
		want[n] = true
	}
	if o.skipRaw && len(want) > 0 {
		v.Add("tables", "skip_raw loads no table: drop tables")
	}
	if err := v.Err(); err != nil {
		return o, err
	}
	o.all = len(want) == 0
	o.tables = []string{}
	if !o.skipRaw {
		for _, n := range s.tableNames() {
			if o.all || want[n] {
				o.tables = append(o.tables, n)
			}
		}
	}
	return o, nil
}

// etlTrigger is POST /api/v1/etl/trigger: it starts `pulso run-pipeline` as a child
// process and answers 202 with the run id the child opened once it holds the
// pipeline lock. The API process never runs the pipeline itself.
func (s *Server) etlTrigger(c echo.Context) error {
	opts, err := s.parseTrigger(c)
	if err != nil {
		return err
	}
	if !s.cfg.SourceConfigured {
		return NewError(http.StatusServiceUnavailable, CodeUnavailable,
			"No source is configured for the pipeline (source.kind dir with source.dir, or bigquery)")
	}
	if !s.pgUp.Load() {
		return errUnavailable
	}
	ctx := c.Request().Context()
	if err := s.runs.acquire(ctx); err != nil {
		return err
	}
	defer s.runs.release()
	lock, err := postgres.PipelineLockStatus(ctx, s.pool)
	if err != nil {
		return err
	}
	if lock.Held {
		return errETLRunning(lock)
	}
	// The child's run id is greater than every id recorded now.
	floor, err := postgres.LastRunID(ctx, s.pool)
	if err != nil {
		return err
	}
	args := append(slices.Clone(s.cfg.TriggerArgs), opts.args()...)
	ch, err := s.runs.start(s.cfg.TriggerExecutable, args)
	if err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return apiErr
		}
		return fmt.Errorf("start the pipeline: %w", err)
	}
	run, err := s.awaitRun(ctx, ch, floor)
	if err != nil {
		return err
	}
	s.log.Info("pipeline triggered", "run_id", run.RunID, "pid", ch.pid, "args", args, "request_id", requestID(c))
	return c.JSON(http.StatusAccepted, triggerResponse{RunID: run.RunID, Status: "started",
		TablesRequested: opts.tables, StartedAt: run.StartedAt.UTC()})
}

// awaitRun waits (bounded) until the child holds the pipeline lock, seen as the
// ledger row it opens right after taking it (etl.run records the process's host and
// pid), or until it exits. A child that lost the lock race exits 3: 409 naming the
// holder. One that neither opens a run nor exits in time is stopped.
func (s *Server) awaitRun(ctx context.Context, ch *child, floor int64) (postgres.ProcessRun, error) {
	timeout := s.cfg.TriggerTimeout
	if timeout <= 0 {
		timeout = defaultTriggerTimeout
	}
	host, _ := os.Hostname()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	look := func() (postgres.ProcessRun, bool, error) {
		run, ok, err := postgres.RunOfProcess(ctx, s.pool, host, ch.pid, floor)
		if ok {
			ch.runID.Store(run.RunID)
		}
		return run, ok, err
	}
	for {
		if run, ok, err := look(); err != nil || ok {
			return run, err
		}
		select {
		case <-ch.done:
			// It may have opened its run and ended between two looks.
			if run, ok, err := look(); err != nil || ok {
				return run, err
			}
			return postgres.ProcessRun{}, s.childFailed(ctx, ch)
		case <-deadline.C:
			ch.signal(syscall.SIGTERM)
			s.log.Warn("the triggered pipeline did not open its run in time: stopped", "pid", ch.pid,
				"timeout", timeout.String())
			return postgres.ProcessRun{}, NewError(http.StatusServiceUnavailable, CodeUnavailable,
				fmt.Sprintf("The pipeline did not start within %s and was stopped; see the server log", timeout))
		case <-ctx.Done():
			// The client left; the child goes on, reaped and logged by the server.
			return postgres.ProcessRun{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// childFailed explains a child that exited without opening a run.
func (s *Server) childFailed(ctx context.Context, ch *child) error {
	switch ch.code {
	case 3: // lost the lock to a run that started after our check
		lock, err := postgres.PipelineLockStatus(ctx, s.pool)
		if err != nil {
			return err
		}
		return errETLRunning(lock)
	case 130:
		return errShuttingDown
	case 2:
		return NewError(http.StatusServiceUnavailable, CodeUnavailable,
			"The pipeline refused the server's configuration (exit 2); see the server log")
	}
	return fmt.Errorf("the triggered pipeline (pid %d) exited %d before opening a run", ch.pid, ch.code)
}

// ---------------------------------------------------------------- refresh

type refreshData struct {
	Status      string    `json:"status"`
	Force       bool      `json:"force"`
	Timestamp   time.Time `json:"timestamp"`
	DataVersion int64     `json:"dataVersion"`
}

// dataRefresh is POST /api/v1/refresh?force=bool: it bumps the data version (and
// NOTIFYs it, so every server follows), superseding every cached entry and ETag;
// force also empties this process's in-memory cache. It never runs the ETL.
func (s *Server) dataRefresh(c echo.Context) error {
	var v analytics.Errors
	force := v.Bool("force", c.QueryParam("force"), false)
	if err := v.Err(); err != nil {
		return err
	}
	if !s.pgUp.Load() {
		return errUnavailable
	}
	version, err := postgres.BumpDataVersion(c.Request().Context(), s.pool, "manual_refresh")
	if err != nil {
		return err
	}
	s.observeVersion(version)
	if force && s.cache != nil {
		s.cache.ClearLocal()
	}
	attrs := []any{"data_version", version, "force", force, "request_id", requestID(c)}
	if p := principal(c); p != nil {
		attrs = append(attrs, "user_id", p.UserID)
	}
	s.log.Info("manual refresh", attrs...)
	msg := fmt.Sprintf("Refresh initiated: data version %d supersedes every cached response", version)
	return c.JSON(http.StatusOK, envelope{Status: "success", Message: msg, Data: refreshData{
		Status: "refresh_initiated", Force: force, Timestamp: s.now().UTC().Truncate(time.Second), DataVersion: version}})
}
