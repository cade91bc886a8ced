package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func TestNextSlot(t *testing.T) {
	lima := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, etl.Lima)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	examples := []struct {
		now   string
		every time.Duration
		want  string
	}{
		{"2025-07-15 00:00:00", 3 * time.Hour, "2025-07-15 03:00:00"}, // strictly after
		{"2025-07-15 02:59:59", 3 * time.Hour, "2025-07-15 03:00:00"},
		{"2025-07-15 22:10:00", 3 * time.Hour, "2025-07-16 00:00:00"},
		{"2025-12-31 23:59:00", 24 * time.Hour, "2026-01-01 00:00:00"},
		{"2025-07-15 10:07:30", 15 * time.Minute, "2025-07-15 10:15:00"},
	}
	for _, e := range examples {
		if got := nextSlot(lima(e.now), e.every); !got.Equal(lima(e.want)) {
			t.Errorf("nextSlot(%s, %s) = %s, want %s", e.now, e.every, got.In(etl.Lima), e.want)
		}
	}
	// On generated instants and every allowed interval: the slot is after now, at
	// most one interval away, and a whole number of intervals from Lima midnight.
	rng := rand.New(rand.NewPCG(1, 2))
	intervals := []time.Duration{time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 8 * time.Hour, 24 * time.Hour}
	for range 10_000 {
		now := time.Unix(1_700_000_000+rng.Int64N(200_000_000), rng.Int64N(1e9)).UTC()
		every := intervals[rng.IntN(len(intervals))]
		next := nextSlot(now, every)
		l := next.In(etl.Lima)
		sinceMidnight := l.Sub(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, etl.Lima))
		if !next.After(now) || next.Sub(now) > every || sinceMidnight%every != 0 {
			t.Fatalf("nextSlot(%s, %s) = %s", now, every, l)
		}
	}
}

func TestValidEvery(t *testing.T) {
	for _, ok := range []time.Duration{time.Minute, 3 * time.Hour, 24 * time.Hour} {
		if err := validEvery(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []time.Duration{-time.Hour, 30 * time.Second, 5 * time.Hour, 48 * time.Hour} {
		if err := validEvery(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The scheduler keeps running after a failed run, never overlaps two runs, and
// stops cleanly on cancellation. The clock sits just before a slot, so each wait
// is a few milliseconds.
func TestPipelineEveryKeepsRunningAfterFailures(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	dir := t.TempDir()
	// A structural fault: the table fails (exit 1), every run.
	writeFile(t, filepath.Join(dir, "pagos.csv"), "nro_documento,archivo\n1,a\n")
	slot := nextSlot(time.Now(), time.Minute)
	fakeNow := func() time.Time { return slot.Add(-5 * time.Millisecond) }

	logs := &syncBuffer{}
	a := &app{reg: etl.MustRegistry(), stdout: &bytes.Buffer{}, stderr: logs}
	root := newRootCmd(a)
	for _, c := range root.Commands() {
		if c.Name() == "run-pipeline" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newPipelineCmd(a, func(ctx context.Context, o *pipelineOptions) error {
		return a.runPipelineEvery(ctx, o, fakeNow)
	}))
	root.SetArgs([]string{"--database-url", url, "--log-format", "json", "--as-of", "2025-07-15",
		"run-pipeline", "--source", "dir", "--dir", dir, "--tables", "pagos", "--every", "1m"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	pool := openPool(t, url)
	waitFor(t, pool, `SELECT count(*) FROM etl.run WHERE command = 'run-pipeline' AND status = 'failed' AND exit_code = 1`, 3)
	cancel()
	select {
	case err := <-done:
		// Stopped between runs: 0; during one: that run is cancelled, 130.
		if code := exitCode(ctx, err); code != exitOK && code != exitCancelled {
			t.Fatalf("scheduler ended with exit %d: %v", code, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("scheduler did not stop after cancellation")
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM etl.run WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	overlaps := mustCount(t, pool, `SELECT count(*) FROM etl.run x JOIN etl.run y
		ON x.run_id < y.run_id AND y.started_at < x.finished_at`)
	if overlaps != 0 {
		t.Errorf("%d pairs of runs overlapped", overlaps)
	}
	if out := logs.String(); !strings.Contains(out, `"msg":"scheduled run finished"`) || !strings.Contains(out, `"exit_code":1`) {
		t.Errorf("no scheduled-run log line with the exit code:\n%s", out)
	}
}
