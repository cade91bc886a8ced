package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

type backfillOptions struct {
	etl.BackfillParams
	// Resume is the backfill run to resume; its recorded parameters apply.
	Resume int64
	Args   []string
}

func (o *backfillOptions) Validate(reg *etl.Registry, given []string) error {
	if o.Resume > 0 {
		for _, f := range given {
			if f != "resume" {
				return fmt.Errorf("--resume restores every option of the run it resumes: drop --%s", f)
			}
		}
		return nil
	}
	return o.BackfillParams.Validate(reg)
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
it; --resume RUN_ID reruns only the chunks that did not succeed, with the run's own
range, tables, chunk size, --skip-transform, --as-of and source. Then it transforms the
campaigns meeting the range (unless --skip-transform).`,
		Example: `  pulso backfill --from 2025-06-01 --to 2025-06-30 --source dir --dir /data/landing
  pulso backfill --from 2025-01-01 --to 2025-06-30 --tables pagos --chunk-days 14
  pulso backfill --resume 42`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var given []string
			cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Changed {
					given = append(given, f.Name)
				}
			})
			if err := opts.Validate(a.reg, given); err != nil {
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
	f.Int64Var(&opts.Resume, "resume", 0, "rerun the chunks of this backfill run that did not succeed, with its options")
	f.BoolVar(&opts.SkipTransform, "skip-transform", false, "load only; leave the transform to the next run")
	return cmd
}

func (a *app) runBackfill(ctx context.Context, opts *backfillOptions) error {
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	bo := etl.BackfillOptions{BackfillParams: opts.BackfillParams, Resume: opts.Resume, Args: opts.Args,
		Load: a.cfg.Load(), Transform: a.cfg.Transform.TransformConfig, Display: a.newProgress}
	if opts.Resume > 0 {
		st, err := store.BackfillState(ctx, opts.Resume)
		if err != nil {
			return err
		}
		if st.Finished {
			fmt.Fprintf(a.stdout, "backfill run %d finished: nothing to resume\n", opts.Resume)
			return nil
		}
		bo.BackfillParams, bo.Succeeded = st.Params, st.Succeeded
		if bo.Source == "" { // recorded before the source was
			bo.Source, bo.Dir = a.cfg.Source.Kind, a.cfg.Source.Dir
		}
		a.warnResumeOverrides(bo.BackfillParams)
	} else {
		bo.AsOf, bo.Source, bo.Dir = a.cfg.AsOf, a.cfg.Source.Kind, a.cfg.Source.Dir
		if bo.Dir != "" {
			// A resume may start from another directory.
			if bo.Dir, err = filepath.Abs(bo.Dir); err != nil {
				return fmt.Errorf("%w: --dir: %v", errConfig, err)
			}
		}
	}
	src, err := a.source(ctx, SourceConfig{Kind: bo.Source, Dir: bo.Dir}, "backfill")
	if err != nil {
		return err
	}
	defer closeSource(src)
	rep, err := a.runner(store, etl.Clock{AsOf: bo.AsOf}).Backfill(ctx, a.reg, src, bo)
	printSummary(a.stdout, rep.Loads)
	printTransformSummary(a.stdout, rep.Transform)
	if ctx.Err() != nil && rep.ResumeID > 0 {
		fmt.Fprintf(a.stderr, "backfill interrupted; resume with: pulso backfill --resume %d\n", rep.ResumeID)
	}
	return err
}

// warnResumeOverrides says when the global options given differ from the resumed
// run's, which apply.
func (a *app) warnResumeOverrides(p etl.BackfillParams) {
	dir := a.cfg.Source.Dir
	if abs, err := filepath.Abs(dir); err == nil && dir != "" {
		dir = abs
	}
	if a.cfg.AsOf != p.AsOf || a.cfg.Source.Kind != p.Source || (p.Source == etl.SourceDir && dir != p.Dir) {
		a.log.Warn("resuming with the run's own as-of and source", "as_of", p.AsOf.String(), "source", string(p.Source), "dir", p.Dir)
	}
}
