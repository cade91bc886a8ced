package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

func TestParseAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"2160h", 2160 * time.Hour, true},
		{"36h30m", 36*time.Hour + 30*time.Minute, true},
		{"90", 0, false},
		{"d", 0, false},
		{"-3d", 0, false},
		{"1.5d", 0, false},
		{"ninety days", 0, false},
	} {
		got, err := parseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAge(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPruneArgs(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for _, tc := range []struct {
		args    []string
		want    pruneOptions
		wantErr string
	}{
		{args: []string{"--older-than", "90d"}, want: pruneOptions{OlderThan: 90 * day, Output: "text", Args: []string{"--older-than=90d"}}},
		{args: []string{"--older-than", "2160h", "--dry-run", "-o", "json"}, want: pruneOptions{OlderThan: 2160 * time.Hour,
			DryRun: true, Output: "json", Args: []string{"--dry-run=true", "--older-than=2160h", "--output=json"}}},
		{args: nil, wantErr: "--older-than is required"},
		{args: []string{"--older-than", "90"}, wantErr: "want Nd (days)"},
		{args: []string{"--older-than", "12h"}, wantErr: "want at least 1d"},
		{args: []string{"--older-than", "90d", "extra"}, wantErr: "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkArgv(t, tc.args, tc.want, tc.wantErr, newPruneCmd)
		})
	}
}

func TestPruneCutoffs(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 7, 15, 12, 0, 0, 0, time.UTC)
	o := pruneOptions{OlderThan: 90 * 24 * time.Hour}
	before, audit := o.cutoffs(now)
	if !before.Equal(now.Add(-90*24*time.Hour)) || !audit.Equal(now.Add(-2*365*24*time.Hour)) {
		t.Errorf("90d: %v %v", before, audit)
	}
	// The audit log is never kept for less than the ledger.
	o.OlderThan = 1000 * 24 * time.Hour
	before, audit = o.cutoffs(now)
	if !audit.Equal(before) {
		t.Errorf("1000d: audit cutoff %v, want %v", audit, before)
	}
}

func TestPruneCommand(t *testing.T) {
	t.Parallel()
	url, pool := opsDB(t)
	ctx := t.Context()
	mustExec(t, pool, `INSERT INTO etl.run (command, status, started_at, finished_at) VALUES
		('load', 'success', now() - interval '100 days', now() - interval '100 days'),
		('load', 'running', now() - interval '100 days', NULL),
		('load', 'success', now() - interval '1 day', now() - interval '1 day')`)
	mustExec(t, pool, `INSERT INTO etl.run_table (run_id, step, status, finished_at)
		SELECT run_id, 'pagos', 'success', finished_at FROM etl.run WHERE finished_at IS NOT NULL`)
	mustExec(t, pool, `INSERT INTO etl.reject (run_id, table_name, source, line_no, reason, record, rejected_at) VALUES
		(1, 'pagos', 'a.csv', 1, 'invalid_value', '{}', now() - interval '100 days'),
		(3, 'pagos', 'a.csv', 2, 'invalid_value', '{}', now() - interval '1 day')`)
	mustExec(t, pool, `INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id) VALUES ('pagos', now() - interval '100 days', 1)`)

	type doc struct {
		DryRun bool                  `json:"dry_run"`
		Tables []postgres.PruneCount `json:"tables"`
	}
	counts := func(res result) map[string]int64 {
		t.Helper()
		if res.code != exitOK {
			t.Fatalf("prune: exit %d\n%s", res.code, res.stderr)
		}
		var d doc
		if err := json.Unmarshal([]byte(res.stdout), &d); err != nil {
			t.Fatalf("%v\n%s", err, res.stdout)
		}
		m := map[string]int64{}
		for _, c := range d.Tables {
			m[c.Table] = c.Rows
		}
		return m
	}
	want := map[string]int64{"etl.run": 1, "etl.run_table": 1, "etl.reject": 1, "etl.pending_change": 0,
		"auth.refresh_token": 0, "auth.audit_log": 0}

	// --dry-run counts, deletes nothing and records no run.
	if got := counts(runCLI(t, url, "prune", "--older-than", "90d", "--dry-run", "-o", "json")); !reflect.DeepEqual(got, want) {
		t.Fatalf("dry run counts %v, want %v", got, want)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run`); n != 3 {
		t.Fatalf("dry run changed the ledger: %d runs", n)
	}

	// Held lock → exit 3.
	lock, err := postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Owner: "pulso run 9 load"})
	if err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, url, "prune", "--older-than", "90d"); res.code != exitLocked {
		t.Fatalf("locked prune: exit %d\n%s", res.code, res.stderr)
	}
	_ = lock.Release(context.Background())

	// The real thing. The old running run is marked abandoned by the session, but it
	// has no finished_at before the cutoff (it is stamped now), so it stays.
	res := runCLI(t, url, "prune", "--older-than", "90d")
	if res.code != exitOK || !strings.Contains(res.stdout, "etl.run") || !strings.Contains(res.stdout, "DELETED") {
		t.Fatalf("prune: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE finished_at < now() - interval '90 days'`); n != 0 {
		t.Errorf("%d old finished runs left", n)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run`); n != 3 { // abandoned, recent, and prune's own run
		t.Errorf("%d runs left, want 3", n)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE command = 'prune' AND status = 'success'`); n != 1 {
		t.Errorf("prune run not recorded")
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.reject`); n != 1 {
		t.Errorf("%d rejects left, want the recent one", n)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.watermark WHERE last_run_id = 1`); n != 1 {
		t.Errorf("prune touched the watermark")
	}
}
