package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
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

// source builds the configured row source. Close it with closeSource.
func (a *app) source(ctx context.Context, command string) (etl.Source, error) {
	switch a.cfg.Source.Kind {
	case "dir":
		dir := a.cfg.Source.Dir
		if dir == "" {
			return nil, fmt.Errorf("%w: --source dir needs --dir (or source.dir)", errConfig)
		}
		// One clear refusal instead of the same failure for every table.
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: landing directory %s (--dir or source.dir) is not a directory pulso can read", errConfig, dir)
		}
		if !a.holdsLandingFiles(dir) {
			a.log.Warn("the landing directory holds no landing file: every table will be skipped",
				"dir", dir, "expected", "<table>.csv|.csv.gz|.ndjson or <table>/*.csv|.csv.gz|.ndjson")
		}
		return files.New(dir, files.Options{MaxFieldBytes: a.cfg.Files.MaxFieldBytes}), nil
	case "bigquery":
		// The run id label follows once the session has one (labelRun).
		return a.bigQuerySource(ctx, command, "")
	}
	return nil, fmt.Errorf("%w: unknown source %q", errConfig, a.cfg.Source.Kind)
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

// labelRun tags a BigQuery source's jobs with the run that issues them.
func labelRun(src etl.Source, command string, runID int64) {
	if bs, ok := src.(*bigquery.Source); ok {
		_ = bs.SetRun(command, strconv.FormatInt(runID, 10))
	}
}

// closeSource releases what a source holds (the BigQuery client's connections).
func closeSource(src etl.Source) {
	if c, ok := src.(io.Closer); ok {
		_ = c.Close()
	}
}

func (a *app) loadOptions(runID int64, start time.Time) (etl.LoadOptions, error) {
	lo := etl.LoadOptions{
		RunID: runID, Now: a.now(start),
		Lookback: map[string]int{}, InitialFrom: map[string]time.Time{},
		EjecutivosIDCliente: a.cfg.ETL.EjecutivosIDCliente,
		RejectTolerance:     a.cfg.ETL.RejectTolerance,
		Logger:              a.log,
	}
	for name, tc := range a.cfg.Tables {
		lo.Lookback[name] = tc.LookbackDays
		if tc.InitialFrom != "" {
			from, err := parseInstant(tc.InitialFrom)
			if err != nil {
				return lo, err
			}
			lo.InitialFrom[name] = from
		}
	}
	return lo, nil
}

// parseInstant reads a date (00:00 Lima) or an RFC 3339 timestamp.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := etl.ParseDate(s)
	if err != nil {
		return time.Time{}, err
	}
	return d.Start(), nil
}

func (a *app) runLoad(ctx context.Context, opts *loadOptions) (err error) {
	src, err := a.source(ctx, "load")
	if err != nil {
		return err
	}
	defer closeSource(src)
	tables, _ := a.reg.Select(opts.Tables)
	s, err := a.beginSession(ctx, "load", opts.Args)
	if err != nil {
		return err
	}
	defer func() { s.finish(ctx, err) }()
	labelRun(src, "load", s.runID)
	lo, err := a.loadOptions(s.runID, s.start)
	if err != nil {
		return err
	}
	lo.Full, lo.Force = opts.Full, opts.Force
	prog := a.newProgress()
	lo.Progress = prog
	loader := etl.NewLoader(src, s.store)
	results, err := loader.LoadTables(ctx, tables, 1, lo)
	prog.Wait()
	printSummary(a.stdout, results)
	return err
}

func printSummary(w io.Writer, results []etl.StepResult) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tstatus\twindow\tread\tfiltered\trejected\tloaded\tinserted\tupdated\tunchanged\tdeleted\tduration\trows/s\t")
	for _, r := range results {
		status := r.Status
		if r.SkipReason != "" {
			status += " (" + r.SkipReason + ")"
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

// givenFlags lists the command's own flags as set on the command line, for the run
// ledger, in a form the same command parses back (backfill --resume does). Global
// flags stay out: --database-url may carry a password.
func givenFlags(cmd *cobra.Command) []string {
	args := []string{}
	cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	return args
}
