package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// parse runs argv through the root command with the given subcommand's runF hook,
// with no database: flags → options, validation and exit codes only.
func parse(t *testing.T, sub func(a *app) *cobra.Command, argv ...string) int {
	t.Helper()
	clearPulsoEnv(t)
	a := &app{reg: etl.MustRegistry(), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	root := newRootCmd(a)
	for _, c := range root.Commands() {
		if c.Name() == argv[0] {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(sub(a))
	root.SetArgs(argv)
	return exitCode(context.Background(), root.Execute())
}

func TestLoadArgv(t *testing.T) {
	var got *loadOptions
	hook := func(a *app) *cobra.Command {
		return newLoadCmd(a, func(_ context.Context, o *loadOptions) error { got = o; return nil })
	}
	if code := parse(t, hook, "load", "--tables", "pagos,trandeuda", "--full", "--force"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := &loadOptions{Tables: []string{"pagos", "trandeuda"}, Full: true, Force: true,
		Args: []string{"--force=true", "--full=true", "--tables=pagos,trandeuda"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("options = %+v, want %+v", got, want)
	}
	if code := parse(t, hook, "load", "--tables", "pagoss"); code != exitUsage {
		t.Fatalf("unknown table: exit %d, want 2", code)
	}
}

func TestPipelineArgv(t *testing.T) {
	var got *pipelineOptions
	hook := func(a *app) *cobra.Command {
		return newPipelineCmd(a, func(_ context.Context, o *pipelineOptions) error { got = o; return nil })
	}
	cases := []struct {
		argv []string
		code int
		want func(o *pipelineOptions) bool
	}{
		{[]string{"run-pipeline"}, 0, func(o *pipelineOptions) bool { return o.Parallel == 2 && !o.Plan }},
		{[]string{"run-pipeline", "--parallel", "4", "--plan", "--full-rebuild", "--continue-on-error"}, 0,
			func(o *pipelineOptions) bool { return o.Parallel == 4 && o.Plan && o.FullRebuild && o.ContinueOnError }},
		{[]string{"run-pipeline", "--metrics-file", "/tmp/x.prom", "--pushgateway", "http://pg:9091"}, 0,
			func(o *pipelineOptions) bool {
				return o.MetricsFile == "/tmp/x.prom" && o.Pushgateway == "http://pg:9091"
			}},
		{[]string{"run-pipeline", "--every", "3h"}, 0, func(o *pipelineOptions) bool { return o.Every == 3*time.Hour }},
		{[]string{"run-pipeline", "--every", "5h"}, exitUsage, nil},
		{[]string{"run-pipeline", "--every", "3h", "--plan"}, exitUsage, nil},
		{[]string{"run-pipeline", "--parallel", "0"}, exitUsage, nil},
		{[]string{"run-pipeline", "--skip-raw", "--tables", "pagos"}, exitUsage, nil},
		{[]string{"run-pipeline", "--tables", "nope"}, exitUsage, nil},
		{[]string{"run-pipeline", "stray"}, exitUsage, nil},
	}
	for _, c := range cases {
		got = nil
		if code := parse(t, hook, c.argv...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.argv, code, c.code)
			continue
		}
		if c.want != nil && (got == nil || !c.want(got)) {
			t.Errorf("%v: options %+v", c.argv, got)
		}
	}
}

func TestBackfillArgv(t *testing.T) {
	var got *backfillOptions
	hook := func(a *app) *cobra.Command {
		return newBackfillCmd(a, func(_ context.Context, o *backfillOptions) error { got = o; return nil })
	}
	if code := parse(t, hook, "backfill", "--from", "2025-06-01", "--to", "2025-06-30", "--chunk-days", "10", "--tables", "pagos"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got.From != etl.NewDate(2025, 6, 1) || got.To != etl.NewDate(2025, 6, 30) || got.ChunkDays != 10 {
		t.Fatalf("options = %+v", got)
	}
	chunks := got.Chunks()
	if len(chunks) != 3 || chunks[2].From != etl.NewDate(2025, 6, 21) || chunks[2].To != etl.NewDate(2025, 6, 30) {
		t.Fatalf("chunks = %+v", chunks)
	}
	for _, argv := range [][]string{
		{"backfill", "--from", "2025-06-30", "--to", "2025-06-01"},
		{"backfill", "--from", "2025-06-01"},
		{"backfill", "--from", "2025-13-01", "--to", "2025-06-01"},
		{"backfill", "--from", "2025-06-01", "--to", "2025-06-02", "--tables", "calendario"},
		{"backfill", "--from", "2025-06-01", "--to", "2025-06-02", "--chunk-days", "0"},
		// a resume restores the run's own options: another one would be silently dropped
		{"backfill", "--resume", "3", "--skip-transform"},
	} {
		if code := parse(t, hook, argv...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", argv, code)
		}
	}
	if code := parse(t, hook, "backfill", "--resume", "42"); code != 0 || got.Resume != 42 {
		t.Fatalf("--resume alone: exit %d, %+v", code, got)
	}
}

func TestDemoArgv(t *testing.T) {
	var got *demoOptions
	hook := func(a *app) *cobra.Command {
		return newDemoCmd(a, func(_ context.Context, o *demoOptions) error { got = o; return nil })
	}
	if code := parse(t, hook, "demo", "--out", "/tmp/x", "--scale", "large", "--seed", "7", "--format", "csv.gz"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got.Out != "/tmp/x" || got.Scale != "large" || got.Seed != 7 || got.Format != "csv.gz" {
		t.Fatalf("options = %+v", got)
	}
	for _, argv := range [][]string{{"demo"}, {"demo", "--out", "x", "--scale", "huge"}, {"demo", "--out", "x", "--format", "xml"}} {
		if code := parse(t, hook, argv...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", argv, code)
		}
	}
}

// checkArgv runs one command from argv to its options through its runF hook: the
// options it would run with, or the error it refuses with.
func checkArgv[T any](t *testing.T, args []string, want T, wantErr string,
	newCmd func(*app, func(context.Context, *T) error) *cobra.Command) {
	t.Helper()
	var got *T
	cmd := newCmd(&app{reg: etl.MustRegistry()}, func(_ context.Context, o *T) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("options = %+v, want %+v", *got, want)
	}
}

// A mistyped command is a usage error (exit 2) like a bad flag, and --version answers
// as `pulso version` does.
func TestUnknownCommandAndVersionFlag(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"lod"}, &out, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), `unknown command "lod"`) {
		t.Errorf("pulso lod: exit %d, want %d\n%s", code, exitUsage, errb.String())
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out.Reset()
		if code := run(t.Context(), args, &out, &errb); code != exitOK || out.String() != "pulso "+version+"\n" {
			t.Errorf("pulso %v: exit %d, output %q; want 0 and %q", args, code, out.String(), "pulso "+version+"\n")
		}
	}
}
