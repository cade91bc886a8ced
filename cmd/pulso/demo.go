package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/synthetic"
)

type demoOptions struct {
	Out    string
	Seed   int64
	Scale  string
	Format string
	Load   bool
	Args   []string
}

func newDemoCmd(a *app, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Write the deterministic synthetic data set as landing files",
		Long: `Writes landing files for the nine source tables plus _demo_manifest.json (seed, as-of,
row counts, the keys of every injected edge case and the expected load counts).
The same --seed and --as-of (default 2025-07-15) give byte-identical files.
--load then loads them into the raw layer with the same as-of.`,
		Example: `  pulso demo --out /tmp/demo
  pulso demo --out /tmp/large --scale large --seed 7
  pulso --as-of 2025-07-15 demo --out /tmp/demo --load`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return usageErr(fmt.Errorf("demo: --out DIR is required"))
			}
			if _, err := synthetic.ParseScale(opts.Scale); err != nil {
				return usageErr(err)
			}
			if _, err := files.ParseFormat(opts.Format); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runDemo(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "directory to write the landing files into")
	f.Int64Var(&opts.Seed, "seed", 42, "random seed")
	f.StringVar(&opts.Scale, "scale", "small", "small (test fixture) or large (benchmark set)")
	f.StringVar(&opts.Format, "format", "csv", "csv, csv.gz or ndjson")
	f.BoolVar(&opts.Load, "load", false, "load the generated files into the raw layer (needs a database)")
	return cmd
}

func (a *app) runDemo(ctx context.Context, opts *demoOptions) error {
	scale, _ := synthetic.ParseScale(opts.Scale)
	format, _ := files.ParseFormat(opts.Format)
	asOf := synthetic.DefaultAsOf()
	if !a.cfg.AsOf.IsZero() {
		asOf = a.cfg.AsOf
	}
	start := time.Now()
	m, err := synthetic.Generate(ctx, synthetic.Options{OutDir: opts.Out, Seed: opts.Seed, AsOf: asOf,
		Scale: scale, Format: format, Registry: a.reg})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	a.log.Info("synthetic data set written", "dir", opts.Out, "seed", opts.Seed, "as_of", asOf.String(),
		"scale", opts.Scale, "duration_ms", time.Since(start).Milliseconds())
	for _, t := range a.reg.Tables() {
		if tm, ok := m.Tables[t.Name]; ok {
			fmt.Fprintf(a.stdout, "%-22s %9d rows in %d file(s)\n", t.Name, tm.Rows, len(tm.Files))
		}
	}
	if !opts.Load {
		return nil
	}
	// The load reads what was just written, "today" pinned to the data set's as-of.
	return a.load(ctx, files.New(opts.Out, a.cfg.Files, a.log), etl.Clock{AsOf: asOf}, &loadOptions{Args: opts.Args})
}
