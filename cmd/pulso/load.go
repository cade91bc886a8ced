package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

type loadOptions struct {
	Tables []string
	Full   bool
	Force  bool
	// Args are the flags as given, recorded in the run ledger.
	Args []string
}

func newLoadCmd(a *app, runF func(context.Context, *loadOptions) error) *cobra.Command {
	opts := &loadOptions{}
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load source rows into the raw layer (no transform)",
		Long: `Reads every table (or --tables) from the source and merges it into raw.*:
incremental tables from their watermark minus the lookback, full tables replaced.
Unchanged landing files are skipped unless --full.`,
		Example: `  pulso load --source dir --dir /tmp/demo
  pulso load --dir /tmp/demo --tables pagos,trandeuda --full`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.reg.Select(opts.Tables); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runLoad(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.Tables, "tables", nil, "tables to load (comma-separated; default all)")
	f.BoolVar(&opts.Full, "full", false, "ignore watermarks and the landing-file ledger: read everything")
	f.BoolVar(&opts.Force, "force", false, "let a full refresh empty or shrink its table")
	return cmd
}

// source builds the row source sc names. Close it with closeSource.
func (a *app) source(ctx context.Context, sc SourceConfig, command string) (etl.Source, error) {
	switch sc.Kind {
	case etl.SourceDir:
		if sc.Dir == "" {
			return nil, fmt.Errorf("%w: --source dir needs --dir (or source.dir)", errConfig)
		}
		// One clear refusal instead of the same failure for every table.
		if st, err := os.Stat(sc.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: landing directory %s (--dir or source.dir) is not a directory pulso can read", errConfig, sc.Dir)
		}
		if !a.holdsLandingFiles(sc.Dir) {
			a.log.Warn("the landing directory holds no landing file: every table will be skipped",
				"dir", sc.Dir, "expected", "<table>.csv|.csv.gz|.ndjson or <table>/*.csv|.csv.gz|.ndjson")
		}
		return files.New(sc.Dir, a.cfg.Files, a.log), nil
	case etl.SourceBigQuery:
		// The run id label follows once the run has one.
		return a.bigQuerySource(ctx, command)
	}
	return nil, fmt.Errorf("%w: unknown source %q", errConfig, sc.Kind)
}

// holdsLandingFiles reports whether dir holds a landing file of some table; a table
// whose files cannot be listed counts as holding some (its load reports why).
func (a *app) holdsLandingFiles(dir string) bool {
	for _, t := range a.reg.Tables() {
		if paths, err := files.Discover(dir, t); err != nil || len(paths) > 0 {
			return true
		}
	}
	return false
}

// closeSource releases what a source holds (the BigQuery client's connections).
func closeSource(src etl.Source) {
	if c, ok := src.(io.Closer); ok {
		_ = c.Close() // nothing was written through it: a failed close loses nothing
	}
}

func (a *app) runLoad(ctx context.Context, opts *loadOptions) error {
	src, err := a.source(ctx, a.cfg.Source, "load")
	if err != nil {
		return err
	}
	defer closeSource(src)
	return a.load(ctx, src, a.clock(), opts)
}

// load runs a load of src with "today" fixed by clock.
func (a *app) load(ctx context.Context, src etl.Source, clock etl.Clock, opts *loadOptions) error {
	tables, _ := a.reg.Select(opts.Tables)
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := a.runner(store, clock).Load(ctx, src, etl.LoadRunOptions{Tables: tables, Full: opts.Full, Force: opts.Force,
		Args: opts.Args, Load: a.cfg.Load(), Display: a.newProgress})
	printSummary(a.stdout, rep.Loads)
	return err
}

func printSummary(w io.Writer, results []etl.StepResult) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tstatus\twindow\tread\tfiltered\trejected\tloaded\tinserted\tupdated\tunchanged\tdeleted\tduration\trows/s\t")
	for _, r := range results {
		status := string(r.Status)
		if r.SkipReason != "" {
			status += " (" + string(r.SkipReason) + ")"
		}
		window := "full"
		if !r.Window.IsZero() {
			window = r.Window.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%.0f\t\n", r.Table, status, window,
			r.Read, r.Filtered, r.Rejected, r.Loaded, r.Inserted, r.Updated, r.Unchanged, r.Deleted,
			r.Duration.Round(time.Millisecond), r.RowsPerSecond())
	}
	tw.Flush()
}
