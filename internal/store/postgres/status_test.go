package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// opsEnv is a private migrated database for the operator-command queries (status,
// rejects, watermark reset, prune): they read or change committed ledger rows.
type opsEnv struct {
	t     *testing.T
	url   string
	pool  *pgxpool.Pool
	store *Store
	reg   *etl.Registry
	now   time.Time
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	url := pgtest.Fresh(t)
	pool, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &opsEnv{t: t, url: url, pool: pool, reg: etl.MustRegistry(), now: time.Now().UTC().Truncate(time.Second),
		store: NewStore(pool, slog.New(slog.NewTextHandler(io.Discard, nil)), StoreOptions{})}
}

func (e *opsEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.t.Context(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *opsEnv) count(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.t.Context(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// run inserts an etl.run row started `ago` before now; a nil finished leaves it open.
func (e *opsEnv) run(command string, status etl.Status, startedAgo time.Duration, finishedAgo *time.Duration) int64 {
	e.t.Helper()
	var fin any
	if finishedAgo != nil {
		fin = e.now.Add(-*finishedAgo)
	}
	var id int64
	err := e.pool.QueryRow(e.t.Context(), `
		INSERT INTO etl.run (command, args, status, started_at, finished_at, exit_code)
		VALUES ($1, '["--tables=x"]', $2, $3, $4, CASE WHEN $2 = 'running' THEN NULL ELSE 0 END) RETURNING run_id`,
		command, status, e.now.Add(-startedAgo), fin).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

type stepRow struct {
	step                   string
	status                 string
	read, rejected, loaded int64
	finishedAgo            *time.Duration
	chunk                  [2]string
	err                    string
}

func (e *opsEnv) step(runID int64, s stepRow) {
	e.t.Helper()
	var fin, chFrom, chTo, errText any
	if s.finishedAgo != nil {
		fin = e.now.Add(-*s.finishedAgo)
	}
	if s.chunk[0] != "" {
		chFrom, chTo = s.chunk[0], s.chunk[1]
	}
	if s.err != "" {
		errText = s.err
	}
	e.exec(`INSERT INTO etl.run_table (run_id, step, status, rows_read, rows_filtered, rows_rejected, rows_loaded,
	            started_at, finished_at, chunk_from, chunk_to, error)
	        VALUES ($1, $2, $3, $4, 0, $5, $6, COALESCE($7::timestamptz - interval '1 minute', now()), $7, $8, $9, $10)`,
		runID, s.step, s.status, s.read, s.rejected, s.loaded, fin, chFrom, chTo, errText)
}

func ago(d time.Duration) *time.Duration { return &d }

func findTable(t *testing.T, st *Status, name string) TableStatus {
	t.Helper()
	for _, ts := range st.Tables {
		if ts.Table == name {
			return ts
		}
	}
	t.Fatalf("table %s missing from status", name)
	return TableStatus{}
}

func findRun(t *testing.T, st *Status, id int64) RunStatus {
	t.Helper()
	for _, r := range st.Runs {
		if r.RunID == id {
			return r
		}
	}
	t.Fatalf("run %d missing from status", id)
	return RunStatus{}
}

func str[T ~string](p *T) T {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestReadStatus(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := t.Context()

	// run 1, 10 h ago: everything succeeded, pagos with rejects, then a transform.
	r1 := e.run("run-pipeline", "success", 10*time.Hour, ago(9*time.Hour))
	e.step(r1, stepRow{step: "pagos", status: "success", read: 10, rejected: 2, loaded: 8, finishedAgo: ago(9*time.Hour + 30*time.Minute)})
	e.step(r1, stepRow{step: "calendario", status: "success", read: 5, loaded: 5, finishedAgo: ago(9*time.Hour + 20*time.Minute)})
	e.step(r1, stepRow{step: "mart.dashboard_data", status: "success", finishedAgo: ago(9 * time.Hour)})
	// run 2, 1 h ago: calendario fine, pagos failed.
	r2 := e.run("load", "failed", time.Hour, ago(50*time.Minute))
	e.step(r2, stepRow{step: "calendario", status: "success", read: 5, loaded: 5, finishedAgo: ago(55 * time.Minute)})
	e.step(r2, stepRow{step: "pagos", status: "failed", read: 3, finishedAgo: ago(50 * time.Minute), err: "pagos: boom"})
	// run 3, a backfill with two chunks of trandeuda: one good, one failed.
	r3 := e.run("backfill", "failed", 40*time.Minute, ago(30*time.Minute))
	e.step(r3, stepRow{step: "trandeuda", status: "success", read: 7, rejected: 1, loaded: 6, finishedAgo: ago(35 * time.Minute),
		chunk: [2]string{"2025-06-01", "2025-06-07"}})
	e.step(r3, stepRow{step: "trandeuda", status: "failed", read: 4, rejected: 3, loaded: 0, finishedAgo: ago(30 * time.Minute),
		chunk: [2]string{"2025-06-08", "2025-06-14"}, err: "chunk 2 failed"})
	// run 4: killed while loading asignaciones (left running).
	r4 := e.run("run-pipeline", "running", 10*time.Minute, nil)
	e.step(r4, stepRow{step: "asignaciones", status: "running", read: 0})
	e.exec(`INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id) VALUES ('pagos', '2025-07-01T10:00:00Z', $1)`, r1)
	e.exec(`UPDATE etl.data_version SET version = 3, run_id = $1, reason = 'transform'`, r1)

	opts := StatusOptions{Tables: e.reg.Tables(), Now: e.now, StaleAfter: 6 * time.Hour, ScheduleInterval: 3 * time.Hour, Runs: 10}

	t.Run("lock free: running rows show abandoned", func(t *testing.T) {
		st, err := ReadStatus(ctx, e.pool, opts)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lock.Held || st.Status != OverallDegraded {
			t.Fatalf("lock %+v status %s; want free and degraded", st.Lock, st.Status)
		}
		if got := len(st.Tables); got != 9 {
			t.Fatalf("%d tables, want the nine", got)
		}
		for i, tb := range e.reg.Tables() {
			if st.Tables[i].Table != tb.Name || st.Tables[i].Mode != tb.Mode.String() {
				t.Errorf("table %d = %s/%s, want %s/%s", i, st.Tables[i].Table, st.Tables[i].Mode, tb.Name, tb.Mode)
			}
		}
		run4 := findRun(t, st, r4)
		if run4.Status != etl.StatusAbandoned || run4.LedgerStatus != etl.StatusRunning ||
			run4.Steps[0].Status != etl.StatusAbandoned || run4.Steps[0].LedgerStatus != etl.StatusRunning {
			t.Errorf("killed run shows %s/%s, step %s/%s; want abandoned (ledger running)",
				run4.Status, run4.LedgerStatus, run4.Steps[0].Status, run4.Steps[0].LedgerStatus)
		}
		if ids := []int64{st.Runs[0].RunID, st.Runs[1].RunID, st.Runs[2].RunID, st.Runs[3].RunID}; !slices.Equal(ids, []int64{r4, r3, r2, r1}) {
			t.Errorf("runs %v, want newest first", ids)
		}
		if n := len(findRun(t, st, r1).Steps); n != 3 {
			t.Errorf("run 1 has %d steps, want 3", n)
		}
		asig := findTable(t, st, "asignaciones")
		if str(asig.LastStatus) != etl.StatusAbandoned || asig.LastSuccessAt != nil || !asig.Stale || asig.AgeSeconds != nil {
			t.Errorf("asignaciones = %+v; want abandoned, never succeeded, stale", asig)
		}
		pagos := findTable(t, st, "pagos")
		if *pagos.LastRunID != r2 || str(pagos.LastStatus) != etl.StatusFailed || str(pagos.LastError) != "pagos: boom" {
			t.Errorf("pagos last run %d %s %q; want run 2 failed", *pagos.LastRunID, str(pagos.LastStatus), str(pagos.LastError))
		}
		if pagos.LastSuccessAt == nil || !pagos.LastSuccessAt.Equal(e.now.Add(-9*time.Hour-30*time.Minute)) || !pagos.Stale ||
			*pagos.AgeSeconds != int64((9*time.Hour+30*time.Minute)/time.Second) {
			t.Errorf("pagos last success %v age %v stale %v; want 9h30m ago and stale", pagos.LastSuccessAt, pagos.AgeSeconds, pagos.Stale)
		}
		if pagos.HighWaterMark == nil || !pagos.HighWaterMark.Equal(time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("pagos watermark %v", pagos.HighWaterMark)
		}
		if pagos.RowsRejected != 0 || pagos.RowsRead != 3 {
			t.Errorf("pagos counts are of its last run: read %d rejected %d, want 3 and 0", pagos.RowsRead, pagos.RowsRejected)
		}
		cal := findTable(t, st, "calendario")
		if cal.Stale || *cal.AgeSeconds != 55*60 || str(cal.LastStatus) != etl.StatusSuccess || cal.HighWaterMark != nil ||
			!cal.NextScheduled.Equal(e.now.Add(-55*time.Minute+3*time.Hour)) {
			t.Errorf("calendario = %+v; want fresh, 55 min old, next in 2h05m", cal)
		}
		// A backfill's chunks fold into one last run: worst status, summed rows.
		td := findTable(t, st, "trandeuda")
		if str(td.LastStatus) != etl.StatusFailed || td.RowsRead != 11 || td.RowsRejected != 4 || td.RowsLoaded != 6 ||
			str(td.LastError) != "chunk 2 failed" || !td.LastSuccessAt.Equal(e.now.Add(-35*time.Minute)) || td.Stale {
			t.Errorf("trandeuda = %+v; want failed, 11 read, 4 rejected, success 35 min ago", td)
		}
		never := findTable(t, st, "ejecutivos")
		if never.LastRunID != nil || never.LastStatus != nil || !never.Stale {
			t.Errorf("ejecutivos = %+v; want never run, stale", never)
		}
		if st.DataVersion.Version != 3 || *st.DataVersion.RunID != r1 || str(st.DataVersion.Reason) != "transform" {
			t.Errorf("data version %+v", st.DataVersion)
		}
		if st.LastTransform == nil || st.LastTransform.RunID != r1 || st.LastTransform.Status != etl.StatusSuccess || st.LastTransform.Steps != 1 {
			t.Errorf("last transform %+v; want run 1 success", st.LastTransform)
		}
		// Reading is read-only: the ledger still says running.
		if n := e.count(`SELECT count(*) FROM etl.run WHERE status = 'running'`); n != 1 {
			t.Errorf("%d running runs in the ledger after status, want 1 (status must not write)", n)
		}
	})

	t.Run("lock held by the run: it is running", func(t *testing.T) {
		lock, err := AcquirePipelineLock(ctx, e.url, LockOptions{Owner: fmt.Sprintf("pulso run %d run-pipeline", r4)})
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release(context.Background())
		st, err := ReadStatus(ctx, e.pool, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Lock.Held || st.Lock.RunID == nil || *st.Lock.RunID != r4 || st.Lock.PID == 0 || st.Status != OverallRunning {
			t.Fatalf("lock %+v status %s; want held by run %d, running", st.Lock, st.Status, r4)
		}
		if run4 := findRun(t, st, r4); run4.Status != etl.StatusRunning || run4.Steps[0].Status != etl.StatusRunning {
			t.Errorf("live run shows %s", run4.Status)
		}
		if s := str(findTable(t, st, "asignaciones").LastStatus); s != etl.StatusRunning {
			t.Errorf("asignaciones %s, want running", s)
		}
	})

	for _, tc := range []struct {
		holder string
		want   etl.Status
	}{
		{"pulso run 99999 load", etl.StatusAbandoned}, // another run took the lock: ours is dead
		{"pulso migrate", etl.StatusRunning},          // no run id: cannot tell, keep running
	} {
		t.Run("lock held by "+tc.holder, func(t *testing.T) {
			lock, err := AcquirePipelineLock(ctx, e.url, LockOptions{Owner: tc.holder})
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Release(context.Background())
			st, err := ReadStatus(ctx, e.pool, opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Lock.Holder != tc.holder {
				t.Errorf("holder %q, want %q", st.Lock.Holder, tc.holder)
			}
			if got := findRun(t, st, r4).Status; got != tc.want {
				t.Errorf("run %d shows %s, want %s", r4, got, tc.want)
			}
		})
	}

	t.Run("runs limit and stable JSON", func(t *testing.T) {
		o := opts
		o.Runs = 2
		st, err := ReadStatus(ctx, e.pool, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Runs) != 2 || st.Runs[0].RunID != r4 {
			t.Fatalf("runs %d, want the 2 newest", len(st.Runs))
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"generated_at", "status", "stale_after_seconds", "lock", "data_version", "last_transform", "tables", "runs"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("JSON lacks %q", k)
			}
		}
		tbl := doc["tables"].([]any)[0].(map[string]any)
		for _, k := range []string{"table", "mode", "high_water_mark", "last_success_at", "age_seconds", "stale", "last_run_id",
			"last_status", "rows_rejected", "next_scheduled"} {
			if _, ok := tbl[k]; !ok {
				t.Errorf("table JSON lacks %q", k)
			}
		}
	})
}

func TestReadStatusEmptyLedger(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	st, err := ReadStatus(t.Context(), e.pool, StatusOptions{Tables: e.reg.Tables(), Now: e.now, StaleAfter: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != OverallNeverRun || len(st.Runs) != 0 || st.Runs == nil || st.LastTransform != nil || len(st.Tables) != 9 {
		t.Fatalf("empty ledger: %+v", st)
	}
	if st.DataVersion.Version != 0 || str(st.DataVersion.Reason) != "initial" {
		t.Errorf("data version %+v", st.DataVersion)
	}
}

func TestListRejects(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := t.Context()
	ins := func(run int64, table, source string, line int64, reason string, agoMin int) {
		e.exec(`INSERT INTO etl.reject (run_id, table_name, source, line_no, column_name, reason, detail, record, rejected_at)
		        VALUES ($1, $2, $3, $4, 'monto', $5, 'bad', jsonb_build_object('line', $4::bigint), now() - make_interval(mins => $6))`,
			run, table, source, line, reason, agoMin)
	}
	ins(1, "pagos", "pagos.csv", 2, "invalid_value", 30)
	ins(1, "pagos", "pagos.csv", 3, "missing_value", 20)
	ins(2, "pagos", "pagos.csv", 4, "invalid_value", 10)
	ins(2, "trandeuda", "bigquery:batch_x_tran_deuda", 0, "duplicate_key", 5)
	e.exec(`INSERT INTO etl.run (run_id, command, status) OVERRIDING SYSTEM VALUE VALUES (1, 'load', 'success'), (2, 'load', 'success')
		ON CONFLICT DO NOTHING`)
	e.exec(`INSERT INTO etl.reject_run (run_id, table_name, reject_id) SELECT run_id, table_name, id FROM etl.reject`)
	// Run 2 read line 3 again: stored once, under run 1, listed for both.
	e.exec(`INSERT INTO etl.reject_run (run_id, table_name, reject_id) SELECT 2, table_name, id FROM etl.reject WHERE line_no = 3`)

	for _, tc := range []struct {
		name      string
		f         RejectFilter
		wantLines []int64
		wantTotal int64
	}{
		{"all newest first", RejectFilter{}, []int64{0, 4, 3, 2}, 4},
		{"run", RejectFilter{RunID: 1}, []int64{3, 2}, 2},
		{"table", RejectFilter{Table: "pagos"}, []int64{4, 3, 2}, 3},
		{"reason", RejectFilter{Reason: "invalid_value"}, []int64{4, 2}, 2},
		{"table and run", RejectFilter{Table: "pagos", RunID: 2}, []int64{4, 3}, 2},
		{"limit keeps total", RejectFilter{Table: "pagos", Limit: 2}, []int64{4, 3}, 3},
		{"nothing", RejectFilter{Table: "calendario"}, []int64{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := ListRejects(ctx, e.pool, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			lines := []int64{}
			for _, r := range got {
				lines = append(lines, *r.Line)
			}
			if !slices.Equal(lines, tc.wantLines) || total != tc.wantTotal {
				t.Fatalf("lines %v total %d, want %v total %d", lines, total, tc.wantLines, tc.wantTotal)
			}
		})
	}
	got, _, err := ListRejects(ctx, e.pool, RejectFilter{RunID: 1, Reason: "missing_value"})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	r := got[0]
	if r.Table != "pagos" || r.Source != "pagos.csv" || str(r.Column) != "monto" || str(r.Detail) != "bad" ||
		string(r.Record) != `{"line": 3}` || r.RejectedAt.IsZero() {
		t.Errorf("reject = %+v record %s", r, r.Record)
	}
}
