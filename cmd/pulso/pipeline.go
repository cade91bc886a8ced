package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

type pipelineOptions struct {
	Tables          []string
	SkipRaw         bool
	Plan            bool
	FullRebuild     bool
	Parallel        int
	ContinueOnError bool
	MetricsFile     string
	Pushgateway     string
	Args            []string
}

func (o *pipelineOptions) Validate() error {
	if o.Parallel < 1 || o.Parallel > 9 {
		return fmt.Errorf("--parallel %d: want 1..9", o.Parallel)
	}
	if o.SkipRaw && len(o.Tables) > 0 {
		return errors.New("--skip-raw loads no table: drop --tables")
	}
	return nil
}

func newPipelineCmd(a *app, runF func(context.Context, *pipelineOptions) error) *cobra.Command {
	opts := &pipelineOptions{}
	cmd := &cobra.Command{
		Use:   "run-pipeline",
		Short: "Load every table, then transform what changed (the scheduled job)",
		Long: `Takes the pipeline lock, refuses a stale or dirty schema, loads the source tables in
dependency order (up to --parallel at once), transforms the changed campaign days and
bumps the data version. A failed table lets the others load but skips the transform
(unless --continue-on-error) and exits 1. --plan prints what a run would do as JSON
and writes nothing.`,
		Example: `  pulso run-pipeline --source dir --dir /data/landing
  pulso run-pipeline --plan
  pulso run-pipeline --full-rebuild --metrics-file /var/lib/node_exporter/pulso.prom`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return usageErr(err)
			}
			if _, err := a.reg.Select(opts.Tables); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runPipeline(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.Tables, "tables", nil, "tables to load (comma-separated; default all)")
	f.BoolVar(&opts.SkipRaw, "skip-raw", false, "load nothing; only transform pending changes")
	f.BoolVar(&opts.Plan, "plan", false, "print the plan as JSON and write nothing")
	f.BoolVar(&opts.FullRebuild, "full-rebuild", false, "rebuild every aux and mart table")
	f.IntVar(&opts.Parallel, "parallel", 2, "independent tables loaded at once")
	f.BoolVar(&opts.ContinueOnError, "continue-on-error", false, "transform even when a table failed")
	f.StringVar(&opts.MetricsFile, "metrics-file", "", "write batch metrics here (Prometheus text format, node-exporter textfile)")
	f.StringVar(&opts.Pushgateway, "pushgateway", "", "push batch metrics to this Pushgateway URL")
	return cmd
}

func (a *app) runPipeline(ctx context.Context, opts *pipelineOptions) (err error) {
	var src etl.Source
	if !opts.SkipRaw {
		if src, err = a.source(ctx, "run-pipeline"); err != nil {
			return err
		}
		defer closeSource(src)
	}
	if opts.Plan {
		return a.printPlan(ctx, src, opts)
	}
	tables, _ := a.reg.Select(opts.Tables)
	s, err := a.beginSession(ctx, "run-pipeline", opts.Args)
	if err != nil {
		return err
	}
	var results []etl.StepResult
	var tr *postgres.TransformResult
	defer func() {
		s.finish(ctx, err)
		a.writeBatchMetrics(ctx, opts, results, tr, exitCode(ctx, err))
	}()
	labelRun(src, "run-pipeline", s.runID)
	if !opts.FullRebuild {
		if err := a.refuseBackwardsAsOf(ctx, s, tables); err != nil {
			return err
		}
	}

	var loadErr error
	if !opts.SkipRaw {
		lo, err := a.loadOptions(s.runID, s.start)
		if err != nil {
			return err
		}
		prog := a.newProgress()
		lo.Progress = prog
		results, loadErr = etl.NewLoader(src, s.store).LoadTables(ctx, tables, opts.Parallel, lo)
		prog.Wait()
		printSummary(a.stdout, results)
		if ctx.Err() != nil {
			return loadErr
		}
		if etl.Failed(results) && !opts.ContinueOnError {
			a.log.Error("a table failed: transform skipped (rerun, or use --continue-on-error)")
			return loadErr
		}
	}
	res, err := s.store.Transform(ctx, a.transformOptions(s, opts.FullRebuild))
	if err != nil {
		return errors.Join(loadErr, err)
	}
	tr = &res
	printTransformSummary(a.stdout, res)
	return loadErr
}

// refuseBackwardsAsOf stops an --as-of that puts "now" before a table's watermark: an
// incremental run would read an inverted window (domain.md §3). Exit 2.
func (a *app) refuseBackwardsAsOf(ctx context.Context, s *session, tables []*etl.Table) error {
	if a.cfg.AsOf == "" {
		return nil
	}
	now := a.now(s.start)
	for _, t := range tables {
		if t.Mode != etl.ModeIncremental {
			continue
		}
		hwm, ok, err := s.store.Watermark(ctx, t.Name)
		if err != nil {
			return err
		}
		if ok && hwm.After(now) {
			return usageErr(fmt.Errorf("--as-of %s puts now (%s) before the %s watermark %s: use --full-rebuild, or `pulso watermark reset %s`",
				a.cfg.AsOf, now.UTC().Format(time.RFC3339), t.Name, hwm.UTC().Format(time.RFC3339), t.Name))
		}
	}
	return nil
}

func (a *app) transformOptions(s *session, full bool) etl.TransformOptions {
	holidays := make([]etl.Date, 0, len(a.cfg.Transform.Holidays))
	for _, h := range a.cfg.Transform.Holidays {
		d, _ := etl.ParseDate(h) // validated at config load
		holidays = append(holidays, d)
	}
	return etl.TransformOptions{
		RunID: s.runID, Today: a.today(s.start), Full: full, Holidays: holidays,
		PDPRecoveryDays: a.cfg.Transform.PDPRecoveryDays, MaxPagosDocDia: a.cfg.Transform.MaxPagosDocDia,
		Logger: a.log,
	}
}

func printTransformSummary(w io.Writer, res postgres.TransformResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transform step\tstatus\tdays\tarchivos\tdeleted\tinserted\tduration\t")
	for _, st := range res.Steps {
		days := "-"
		if !st.DayFrom.IsZero() {
			days = st.DayFrom.String() + ".." + st.DayTo.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", st.Step, st.Status, days, len(st.Archivos),
			st.Deleted, st.Inserted, st.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Fprintf(w, "pending changes consumed: %d; data version: %d (rebuilt: %t)\n", res.Changes, res.DataVersion, res.Rebuilt)
}
