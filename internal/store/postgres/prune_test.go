package postgres

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPrune(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := t.Context()
	const day = 24 * time.Hour

	// Ledger: an old finished run goes with its steps; an old run still running, an
	// old finished run with a running step and a recent run stay.
	oldDone := e.run("load", "success", 120*day, ago(119*day))
	e.step(oldDone, stepRow{step: "pagos", status: "success", finishedAgo: ago(119 * day)})
	e.step(oldDone, stepRow{step: "calendario", status: "success", finishedAgo: ago(119 * day)})
	oldFailed := e.run("load", "failed", 100*day, ago(100*day))
	e.step(oldFailed, stepRow{step: "pagos", status: "failed", finishedAgo: ago(100 * day)})
	oldRunning := e.run("backfill", "running", 120*day, nil)
	e.step(oldRunning, stepRow{step: "pagos", status: "running"})
	oddRun := e.run("load", "failed", 120*day, ago(119*day))
	e.step(oddRun, stepRow{step: "pagos", status: "running"})
	recent := e.run("load", "success", 10*day, ago(10*day))
	e.step(recent, stepRow{step: "pagos", status: "success", finishedAgo: ago(10 * day)})

	// State that points at the old run must survive.
	e.exec(`INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id) VALUES ('pagos', now() - interval '119 days', $1)`, oldDone)
	e.exec(`INSERT INTO etl.landing_file (table_name, path, size, sha256, loaded_run_id, loaded_at)
	        VALUES ('pagos', 'pagos/old.csv', 10, repeat('a', 64), $1, now() - interval '119 days')`, oldDone)
	e.exec(`UPDATE etl.data_version SET run_id = $1, updated_at = now() - interval '119 days'`, oldDone)

	// Rejects: one old, one recent.
	e.exec(`INSERT INTO etl.reject (run_id, table_name, source, line_no, reason, record, rejected_at) VALUES
	        ($1, 'pagos', 'a.csv', 1, 'invalid_value', '{}', now() - interval '119 days'),
	        ($2, 'pagos', 'a.csv', 2, 'invalid_value', '{}', now() - interval '10 days')`, oldDone, recent)
	// Pending changes: consumed old (goes), unconsumed old and consumed recently (stay).
	e.exec(`INSERT INTO etl.pending_change (table_name, day, run_id, created_at, consumed_run_id, consumed_at) VALUES
	        ('pagos', '2025-01-01', $1, now() - interval '119 days', $1, now() - interval '119 days'),
	        ('pagos', '2025-01-02', $1, now() - interval '119 days', NULL, NULL),
	        ('pagos', '2025-01-03', $1, now() - interval '119 days', $2, now() - interval '10 days')`, oldDone, recent)
	// Refresh tokens: expired long ago and revoked long ago go; live, recently
	// expired and recently revoked stay.
	var user string
	if err := e.pool.QueryRow(ctx, `INSERT INTO auth.users (email, password_hash, first_name, last_name)
	        VALUES ('a@b.pe', 'x', 'A', 'B') RETURNING id::text`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	e.exec(`INSERT INTO auth.refresh_token (user_id, family_id, token_hash, issued_at, expires_at, revoked_at) VALUES
	        ($1, gen_random_uuid(), 'expired-old',   now() - interval '200 days', now() - interval '193 days', NULL),
	        ($1, gen_random_uuid(), 'revoked-old',   now() - interval '120 days', now() + interval '1 day', now() - interval '100 days'),
	        ($1, gen_random_uuid(), 'live',          now() - interval '1 day',    now() + interval '6 days', NULL),
	        ($1, gen_random_uuid(), 'expired-new',   now() - interval '20 days',  now() - interval '13 days', NULL),
	        ($1, gen_random_uuid(), 'revoked-new',   now() - interval '20 days',  now() + interval '1 day', now() - interval '5 days')`, user)
	// Audit log: three years old goes, one year old stays (even though it is > 90 days).
	e.exec(`INSERT INTO auth.audit_log (at, action) VALUES (now() - interval '3 years', 'user.create'),
	        (now() - interval '1 year', 'user.update'), (now(), 'user.update')`)

	now := time.Now()
	opts := PruneOptions{Before: now.Add(-90 * day), AuditBefore: now.Add(-2 * 365 * day)}
	want := map[string]int64{"etl.run": 2, "etl.run_table": 3, "etl.reject": 1, "etl.pending_change": 1,
		"auth.refresh_token": 2, "auth.audit_log": 1}
	check := func(res PruneResult) {
		t.Helper()
		order := []string{"etl.run", "etl.run_table", "etl.reject", "etl.pending_change", "auth.refresh_token", "auth.audit_log"}
		if len(res.Tables) != len(order) {
			t.Fatalf("result tables %+v", res.Tables)
		}
		for i, c := range res.Tables {
			if c.Table != order[i] || c.Rows != want[c.Table] {
				t.Errorf("%s: %d rows, want %s: %d", c.Table, c.Rows, order[i], want[order[i]])
			}
		}
	}
	totals := func() [6]int64 {
		return [6]int64{e.count(`SELECT count(*) FROM etl.run`), e.count(`SELECT count(*) FROM etl.run_table`),
			e.count(`SELECT count(*) FROM etl.reject`), e.count(`SELECT count(*) FROM etl.pending_change`),
			e.count(`SELECT count(*) FROM auth.refresh_token`), e.count(`SELECT count(*) FROM auth.audit_log`)}
	}

	before := totals()
	dry := opts
	dry.DryRun = true
	res, err := e.store.Prune(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun {
		t.Error("dry run not reported")
	}
	check(res)
	if after := totals(); after != before {
		t.Fatalf("dry run deleted rows: %v → %v", before, after)
	}

	res, err = e.store.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	check(res)
	if after := totals(); after != [6]int64{before[0] - 2, before[1] - 3, before[2] - 1, before[3] - 1, before[4] - 2, before[5] - 1} {
		t.Fatalf("after prune %v (before %v)", after, before)
	}
	for _, id := range []int64{oldRunning, oddRun, recent} {
		if e.count(`SELECT count(*) FROM etl.run WHERE run_id = $1`, id) != 1 {
			t.Errorf("run %d was pruned; it must stay", id)
		}
	}
	for _, id := range []int64{oldDone, oldFailed} {
		if e.count(`SELECT count(*) FROM etl.run WHERE run_id = $1`, id) != 0 {
			t.Errorf("run %d was kept; it is older than the cutoff", id)
		}
	}
	if e.count(`SELECT count(*) FROM etl.watermark WHERE last_run_id = $1`, oldDone) != 1 ||
		e.count(`SELECT count(*) FROM etl.landing_file WHERE loaded_run_id = $1`, oldDone) != 1 ||
		e.count(`SELECT count(*) FROM etl.data_version WHERE run_id = $1`, oldDone) != 1 {
		t.Error("prune touched pipeline state (watermark, landing file or data version)")
	}
	if e.count(`SELECT count(*) FROM etl.pending_change WHERE consumed_run_id IS NULL`) != 1 {
		t.Error("an unconsumed pending change was pruned")
	}
	rows, err := e.pool.Query(ctx, `SELECT token_hash FROM auth.refresh_token ORDER BY token_hash`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 3 || left[0] != "expired-new" || left[1] != "live" || left[2] != "revoked-new" {
		t.Errorf("refresh tokens left %v", left)
	}

	// Again: nothing more to do.
	res, err = e.store.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Tables {
		if c.Rows != 0 {
			t.Errorf("second prune removed %d from %s", c.Rows, c.Table)
		}
	}
}
