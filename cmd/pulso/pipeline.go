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
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
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
	// Every runs the pipeline at every slot of this interval until stopped (0: once).
	Every time.Duration
	// Engine overrides transform.engine.
	Engine string
	Args   []string
}

func (o *pipelineOptions) Validate() error {
	if o.Parallel < 1 || o.Parallel > 9 {
		return fmt.Errorf("--parallel %d: want 1..9", o.Parallel)
	}
	if o.SkipRaw && len(o.Tables) > 0 {
		return errors.New("--skip-raw loads no table: drop --tables")
	}
	if err := checkEngineFlag(o.Engine); err != nil {
		return err
	}
	if o.Every != 0 {
		if o.Plan {
			return errors.New("--plan writes nothing: drop --every")
		}
		return validEvery(o.Every)
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
and writes nothing. --every makes it a small scheduler for hosts without cron: one run
at start, then one at every slot of the Lima clock (3h: 00:00, 03:00, …), one at a
time, a failed run logged and the next slot run anyway, until SIGTERM.`,
		Example: `  pulso run-pipeline --source dir --dir /data/landing
  pulso run-pipeline --plan
  pulso run-pipeline --full-rebuild --metrics-file /var/lib/node_exporter/pulso.prom
  pulso run-pipeline --every 3h --pushgateway http://pushgateway:9091`,
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
			if opts.Every != 0 {
				return a.runPipelineEvery(cmd.Context(), opts, time.Now)
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
	f.StringVar(&opts.Engine, "engine", "", "transform engine: postgres or bigquery (default: transform.engine)")
	f.DurationVar(&opts.Every, "every", 0, "keep running: once now, then at every slot of this interval from Lima midnight (a divisor of 24h)")
	return cmd
}

func (a *app) runPipeline(ctx context.Context, opts *pipelineOptions) error {
	var src etl.Source
	var remote *bigquery.Source // the bigquery engine: no raw load
	switch {
	case a.engine(opts.Engine) == engineBigQuery:
		if len(opts.Tables) > 0 || opts.SkipRaw {
			return usageErr(errors.New("the bigquery engine loads no raw table: drop --tables and --skip-raw"))
		}
		var err error
		if remote, err = a.bigQuerySource(ctx, "run-pipeline"); err != nil {
			return err
		}
		defer closeSource(remote)
		if opts.Plan {
			return a.printRemotePlan(ctx, remote)
		}
	case !opts.SkipRaw:
		var err error
		if src, err = a.source(ctx, a.cfg.Source, "run-pipeline"); err != nil {
			return err
		}
		defer closeSource(src)
	}
	if opts.Plan {
		return a.printPlan(ctx, src, opts)
	}
	tables, _ := a.reg.Select(opts.Tables)
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	po := etl.PipelineOptions{Tables: tables, SkipRaw: opts.SkipRaw, FullRebuild: opts.FullRebuild,
		Parallel: opts.Parallel, ContinueOnError: opts.ContinueOnError, Args: opts.Args,
		Load: a.cfg.Load(), Transform: a.cfg.Transform.TransformConfig, Display: a.newProgress}
	if remote != nil { // a nil *Source would make a non-nil interface
		po.Remote = remote
	}
	if opts.MetricsFile != "" || opts.Pushgateway != "" {
		po.Finished = func(ctx context.Context, rep etl.Report, err error) {
			a.writeBatchMetrics(ctx, store, opts, rep, exitCode(ctx, err))
		}
	}
	rep, err := a.runner(store, a.clock()).Pipeline(ctx, src, po)
	printSummary(a.stdout, rep.Loads)
	printTransformSummary(a.stdout, rep.Transform)
	return err
}

// printTransformSummary lists the steps that rebuilt something; a transform with
// nothing to rebuild says so in one line.
func printTransformSummary(w io.Writer, res *etl.TransformResult) {
	if res == nil {
		return
	}
	if !res.Rebuilt {
		fmt.Fprintf(w, "transform: nothing to rebuild (pending changes consumed: %d); data version %d unchanged\n",
			res.Changes, res.DataVersion)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transform step\tstatus\tdays\tarchivos\tdeleted\tinserted\tduration\t")
	skipped := 0
	for _, st := range res.Steps {
		if st.Status == etl.StatusSkipped {
			skipped++
			continue
		}
		days := "-"
		if !st.DayFrom.IsZero() {
			days = st.DayFrom.String() + ".." + st.DayTo.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", st.Step, st.Status, days, len(st.Archivos),
			st.Deleted, st.Inserted, st.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d steps with nothing to rebuild; pending changes consumed: %d; data version: %d\n",
		skipped, res.Changes, res.DataVersion)
}
