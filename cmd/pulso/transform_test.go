package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func TestTransformArgv(t *testing.T) {
	var got *transformOptions
	hook := func(a *app) *cobra.Command {
		return newTransformCmd(a, func(_ context.Context, o *transformOptions) error { got = o; return nil })
	}
	cases := []struct {
		name string
		argv []string
		code int
		want *transformOptions
	}{
		{"plain", []string{"transform"}, 0, &transformOptions{Args: []string{}}},
		{"everything", []string{"transform", "--archivo", "A_1", "--archivo", "B,2", "--from", "2025-06-01",
			"--to", "2025-06-07", "--full-rebuild"}, 0, &transformOptions{
			Archivos: []string{"A_1", "B,2"}, From: etl.NewDate(2025, time.June, 1), To: etl.NewDate(2025, time.June, 7),
			FullRebuild: true,
			Args:        []string{"--archivo=A_1,B,2", "--from=2025-06-01", "--full-rebuild=true", "--to=2025-06-07"}}},
		{"from without to", []string{"transform", "--from", "2025-06-01"}, exitUsage, nil},
		{"reversed range", []string{"transform", "--from", "2025-06-08", "--to", "2025-06-01"}, exitUsage, nil},
		{"bad date", []string{"transform", "--from", "2025-13-01", "--to", "2025-06-01"}, exitUsage, nil},
		{"empty archivo", []string{"transform", "--archivo", " "}, exitUsage, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			if code := parse(t, hook, c.argv...); code != c.code {
				t.Fatalf("exit %d, want %d", code, c.code)
			}
			if c.want == nil {
				return
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if !got.From.Equal(c.want.From) || !got.To.Equal(c.want.To) || got.FullRebuild != c.want.FullRebuild ||
				len(got.Archivos) != len(c.want.Archivos) || len(got.Args) != len(c.want.Args) {
				t.Fatalf("options = %+v, want %+v", got, c.want)
			}
			for i := range got.Archivos {
				if got.Archivos[i] != c.want.Archivos[i] {
					t.Fatalf("archivos = %v, want %v", got.Archivos, c.want.Archivos)
				}
			}
			for i := range got.Args {
				if got.Args[i] != c.want.Args[i] {
					t.Fatalf("args = %v, want %v", got.Args, c.want.Args)
				}
			}
		})
	}
}

// A transform with nothing to rebuild says so in one line, with the data version as
// it stands, not a table of skipped steps and a version of 0.
func TestTransformNothingToRebuild(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	pool := openPool(t, url)
	version := mustCount(t, pool, `SELECT version FROM etl.data_version`)
	res := mustRun(t, url, "--as-of", "2025-07-15", "transform")
	want := fmt.Sprintf("transform: nothing to rebuild (pending changes consumed: 0); data version %d unchanged\n", version)
	if res.stdout != want {
		t.Fatalf("stdout %q, want %q", res.stdout, want)
	}
}
