package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

type transformOptions struct {
	Archivos    []string
	From, To    etl.Date
	FullRebuild bool
	// Engine overrides transform.engine.
	Engine string
	// Args are the flags as given, recorded in the run ledger.
	Args []string
}

// Validate checks the flag combination.
func (o *transformOptions) Validate() error {
	if err := checkEngineFlag(o.Engine); err != nil {
		return err
	}
	if o.From.IsZero() != o.To.IsZero() {
		return errors.New("--from and --to go together")
	}
	if !o.From.IsZero() && o.To.Before(o.From) {
		return fmt.Errorf("--from %s is after --to %s", o.From, o.To)
	}
	for _, a := range o.Archivos {
		if strings.TrimSpace(a) == "" {
			return errors.New("--archivo must not be empty")
		}
	}
	return nil
}

func newTransformCmd(a *app, runF func(context.Context, *transformOptions) error) *cobra.Command {
	opts := &transformOptions{}
	cmd := &cobra.Command{
		Use:   "transform",
		Short: "Rebuild the aux and mart slices that changed (consumes etl.pending_change)",
		Long: `Reads the pending changes the raw loads recorded and rebuilds exactly the affected
(archivo, day) slices of the aux and mart tables, by delete + insert in one transaction,
then bumps the data version (and NOTIFY pulso_data_version) if anything was rebuilt.
--archivo, --from/--to (inclusive Lima days) and --full-rebuild add to what is rebuilt.`,
		Example: `  pulso transform
  pulso transform --archivo Cartera_Agencia_Cobranding_Gestion_AN_20250610
  pulso transform --from 2025-06-01 --to 2025-06-07
  pulso --as-of 2025-07-15 transform --full-rebuild`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runTransform(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Archivos, "archivo", nil, "rebuild this campaign whole (repeatable)")
	f.Var(dateFlag{&opts.From}, "from", "first Lima day to rebuild (with --to)")
	f.Var(dateFlag{&opts.To}, "to", "last Lima day to rebuild, inclusive (with --from)")
	f.BoolVar(&opts.FullRebuild, "full-rebuild", false, "rebuild every aux and mart table")
	f.StringVar(&opts.Engine, "engine", "", "transform engine: postgres or bigquery, which rebuilds everything (default: transform.engine)")
	return cmd
}

func (a *app) runTransform(ctx context.Context, opts *transformOptions) error {
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	ro := etl.TransformRunOptions{Archivos: opts.Archivos, From: opts.From, To: opts.To, FullRebuild: opts.FullRebuild,
		Args: opts.Args, Transform: a.cfg.Transform.TransformConfig}
	if a.engine(opts.Engine) == engineBigQuery {
		src, err := a.bigQuerySource(ctx, "transform")
		if err != nil {
			return err
		}
		defer closeSource(src)
		ro.Remote = src
	}
	rep, err := a.runner(store, a.clock()).Transform(ctx, ro)
	printTransformSummary(a.stdout, rep.Transform)
	return err
}
