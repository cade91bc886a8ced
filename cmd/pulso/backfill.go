package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

type backfillOptions struct {
	From, To      etl.Date
	Tables        []string
	ChunkDays     int
	Resume        int64
	SkipTransform bool
	Args          []string
}

func (o *backfillOptions) Validate(reg *etl.Registry) error {
	if o.Resume > 0 {
		return nil // the resumed run's own options apply
	}
	if o.From.IsZero() || o.To.IsZero() {
		return errors.New("--from and --to are required (inclusive Lima days, YYYY-MM-DD)")
	}
	if o.To.Before(o.From) {
		return fmt.Errorf("--from %s is after --to %s", o.From, o.To)
	}
	if o.ChunkDays < 1 || o.ChunkDays > 366 {
		return fmt.Errorf("--chunk-days %d: want 1..366", o.ChunkDays)
	}
	tables, err := reg.Select(o.Tables)
	if err != nil {
		return err
	}
	if len(o.Tables) > 0 {
		for _, t := range tables {
			if t.Mode == etl.ModeFull {
				return fmt.Errorf("table %s is replaced in full by every run-pipeline; it has no days to backfill", t.Name)
			}
		}
	}
	return nil
}

// chunk is one (from, to) slice of a backfill, both days inclusive.
type chunk struct{ from, to etl.Date }

func (o *backfillOptions) chunks() []chunk {
	var out []chunk
	for d := o.From; !d.After(o.To); d = d.AddDays(o.ChunkDays) {
		end := d.AddDays(o.ChunkDays - 1)
		if end.After(o.To) {
			end = o.To
		}
		out = append(out, chunk{d, end})
	}
	return out
}

// dateFlag parses a Lima day once, at the flag: the value travels typed from here on.
type dateFlag struct{ d *etl.Date }

func (f dateFlag) String() string { return f.d.String() }
func (f dateFlag) Type() string   { return "date" }
func (f dateFlag) Set(s string) error {
	d, err := etl.ParseDate(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func newBackfillCmd(a *app, runF func(context.Context, *backfillOptions) error) *cobra.Command {
	opts := &backfillOptions{}
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Reload a range of days, chunk by chunk, resumable",
		Long: `Reads the days --from..--to (both inclusive, Lima) of the incremental tables in chunks of
--chunk-days, ignoring watermarks and the landing-file ledger, one ledger row per
(table, chunk). Watermarks only move forward. Interrupted (Ctrl-C, SIGTERM), it stops
at once without committing the chunk in progress and prints the command that resumes
it; --resume RUN_ID reruns only the chunks that did not succeed. Then it transforms the
campaigns meeting the range (unless --skip-transform).`,
		Example: `  pulso backfill --from 2025-06-01 --to 2025-06-30 --source dir --dir /data/landing
  pulso backfill --from 2025-01-01 --to 2025-06-30 --tables pagos --chunk-days 14
  pulso backfill --resume 42`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(a.reg); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runBackfill(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.Var(dateFlag{&opts.From}, "from", "first day (YYYY-MM-DD, Lima, inclusive)")
	f.Var(dateFlag{&opts.To}, "to", "last day (YYYY-MM-DD, Lima, inclusive)")
	f.StringSliceVar(&opts.Tables, "tables", nil, "incremental tables to backfill (default all five)")
	f.IntVar(&opts.ChunkDays, "chunk-days", 7, "days per chunk")
	f.Int64Var(&opts.Resume, "resume", 0, "rerun the chunks of this backfill run that did not succeed")
	f.BoolVar(&opts.SkipTransform, "skip-transform", false, "load only; leave the transform to the next run")
	return cmd
}

func (a *app) runBackfill(ctx context.Context, opts *backfillOptions) (err error) {
	src, err := a.source(ctx, "backfill")
	if err != nil {
		return err
	}
	defer closeSource(src)
	s, err := a.beginSession(ctx, "backfill", opts.Args)
	if err != nil {
		return err
	}
	labelRun(src, "backfill", s.runID)
	defer func() {
		if ctx.Err() != nil {
			resumeID := s.runID
			if opts.Resume > 0 {
				resumeID = opts.Resume
			}
			fmt.Fprintf(a.stderr, "backfill interrupted; resume with: pulso backfill --resume %d\n", resumeID)
		}
		s.finish(ctx, err)
	}()
	done := map[string]bool{}
	if opts.Resume > 0 {
		orig, succeeded, err := s.store.BackfillState(ctx, opts.Resume)
		if err != nil {
			return err
		}
		if err := a.restoreBackfillOptions(opts, orig); err != nil {
			return fmt.Errorf("resume %d: %w", opts.Resume, err)
		}
		done = succeeded
	}
	tables, _ := a.reg.Select(opts.Tables)
	tables = incremental(tables)
	lo, err := a.loadOptions(s.runID, s.start)
	if err != nil {
		return err
	}
	loader := etl.NewLoader(src, s.store)
	chunks := opts.chunks()
	var errs []error
	var results []etl.StepResult
	for i, c := range chunks {
		window := etl.DaysWindow(c.from, c.to)
		a.log.Info("backfill chunk", "chunk", i+1, "of", len(chunks), "from", c.from.String(), "to", c.to.String())
		var todo []*etl.Table
		for _, t := range tables {
			if !done[postgres.ChunkKey(t.Name, c.from)] {
				todo = append(todo, t)
			}
		}
		if len(todo) == 0 {
			continue
		}
		clo := lo
		clo.Window, clo.ChunkFrom, clo.ChunkTo = &window, c.from, c.to
		prog := a.newProgress()
		clo.Progress = prog
		res, err := loader.LoadTables(ctx, todo, 1, clo)
		prog.Wait()
		results = append(results, res...)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	printSummary(a.stdout, results)
	loadErr := errors.Join(errs...)
	if ctx.Err() != nil || opts.SkipTransform || (etl.Failed(results) && loadErr != nil) {
		return loadErr
	}
	to := a.transformOptions(s, false)
	to.From, to.To = opts.From, opts.To
	res, err := s.store.Transform(ctx, to)
	if err != nil {
		return errors.Join(loadErr, err)
	}
	printTransformSummary(a.stdout, res)
	return loadErr
}

func incremental(tables []*etl.Table) []*etl.Table {
	var out []*etl.Table
	for _, t := range tables {
		if t.Mode == etl.ModeIncremental {
			out = append(out, t)
		}
	}
	return out
}

// restoreBackfillOptions reads a backfill's range, tables and chunk size back from the
// flags its ledger row recorded, so a resume cuts exactly the same chunks.
func (a *app) restoreBackfillOptions(opts *backfillOptions, args []string) error {
	var orig *backfillOptions
	cmd := newBackfillCmd(a, func(_ context.Context, o *backfillOptions) error {
		orig = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err != nil {
		return err
	}
	if orig.Resume > 0 {
		return errors.New("run " + strconv.FormatInt(opts.Resume, 10) + " is itself a resume: resume the original run")
	}
	opts.From, opts.To, opts.Tables, opts.ChunkDays = orig.From, orig.To, orig.Tables, orig.ChunkDays
	return nil
}
