package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

type watermarkResetOptions struct {
	Table string
	// To is the new high-water mark; nil removes it.
	To *time.Time
	// Args are the argument and flags as given, recorded in the run ledger.
	Args []string
}

// Validate resolves the table: only incremental tables keep a watermark. now bounds
// --to: a watermark in the future would make the next window empty.
func (o *watermarkResetOptions) Validate(reg *etl.Registry, now time.Time) error {
	o.Table = strings.ToLower(strings.TrimSpace(o.Table))
	t, ok := reg.Table(o.Table)
	if !ok {
		return fmt.Errorf("unknown table %q (incremental tables: %s)", o.Table, strings.Join(incrementalNames(reg), ", "))
	}
	if t.Mode != etl.ModeIncremental {
		return fmt.Errorf("%s is a full-refresh table and has no watermark (incremental tables: %s)",
			o.Table, strings.Join(incrementalNames(reg), ", "))
	}
	if o.To != nil && o.To.After(now) {
		return fmt.Errorf("--to %s is in the future", o.To.Format(time.RFC3339))
	}
	return nil
}

func incrementalNames(reg *etl.Registry) []string {
	var names []string
	for _, t := range reg.IncrementalTables() {
		names = append(names, t.Name)
	}
	return names
}

func newWatermarkCmd(a *app, runF func(context.Context, *watermarkResetOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watermark",
		Short: "Inspect or move the high-water marks of the incremental tables",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErr(errors.New("watermark: missing subcommand (reset)"))
		},
	}
	opts := &watermarkResetOptions{}
	var to string
	reset := &cobra.Command{
		Use:   "reset TABLE",
		Short: "Move an incremental table's watermark back (or forward) with --to, or remove it",
		Long: `Sets the high-water mark of an incremental table to --to (a date, 00:00 Lima, or an
RFC 3339 timestamp), or removes it so the next run reads from tables.<table>.initial_from.
The next run then re-reads [watermark − lookback, now); rows already loaded upsert onto
themselves. Takes the pipeline lock (--wait to queue) and records the run in the ledger.
Landing files already loaded by a dir source are skipped unless they change; use
` + "`pulso load --full`" + ` to re-read them.`,
		Example: `  pulso watermark reset pagos --to 2025-06-01
  pulso watermark reset voicebot_gestiones --to 2025-06-01T05:00:00Z
  pulso watermark reset asignaciones`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Table, opts.To = args[0], nil
			if to != "" {
				t, err := parseInstant(to)
				if err != nil {
					return usageErr(fmt.Errorf("--to %q: want a date (YYYY-MM-DD) or an RFC 3339 timestamp", to))
				}
				opts.To = &t
			}
			if err := opts.Validate(a.reg, time.Now()); err != nil {
				return usageErr(err)
			}
			opts.Args = append([]string{opts.Table}, givenFlags(cmd)...)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runWatermarkReset(cmd.Context(), opts)
		},
	}
	reset.Flags().StringVar(&to, "to", "", "new watermark: YYYY-MM-DD (00:00 Lima) or RFC 3339; absent = remove")
	cmd.AddCommand(reset)
	return cmd
}

func (a *app) runWatermarkReset(ctx context.Context, opts *watermarkResetOptions) error {
	t, _ := a.reg.Table(opts.Table)
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	p := &errWriter{w: a.stdout}
	err = a.runner(store, a.clock()).Do(ctx, etl.RunRecord{Command: "watermark reset", Args: opts.Args}, func(s *etl.Session) error {
		res, err := store.ResetWatermark(ctx, t, opts.To, s.RunID)
		if err != nil {
			return err
		}
		s.Log.Info("watermark reset", "table", t.Name, "previous", fmtWatermark(res.Previous),
			"high_water_mark", fmtWatermark(res.HighWaterMark))
		p.printf("%s: watermark %s → %s (run %d)\n", t.Name, fmtWatermark(res.Previous), fmtWatermark(res.HighWaterMark), s.RunID)
		a.printNextWindow(p, t, res.HighWaterMark, s.Now())
		return nil
	})
	if err != nil {
		return err
	}
	n, err := store.LandedFileCount(ctx, t.Name)
	if err != nil {
		return err
	}
	if n > 0 {
		p.printf("note: %d landing file(s) of %s are recorded as loaded; a dir source skips them unless they change (pulso load --full re-reads them)\n", n, t.Name)
	}
	return p.err
}

// printNextWindow says where the next run of t reads from after a reset.
func (a *app) printNextWindow(p *errWriter, t *etl.Table, hwm *time.Time, now time.Time) {
	if hwm == nil {
		if from := a.cfg.Tables[t.Name].InitialFrom; !from.IsZero() {
			p.printf("the next run reads from tables.%s.initial_from = %s\n", t.Name, from.Format(time.RFC3339))
		} else {
			p.printf("the next run reads everything (tables.%s.initial_from is unset)\n", t.Name)
		}
	} else {
		lb := a.cfg.Tables[t.Name].LookbackDays
		w := etl.WindowFor(t, *hwm, true, now, lb, time.Time{})
		p.printf("the next run reads from %s Lima (watermark − %d lookback days)\n", limaTime(w.From), lb)
	}
}

func fmtWatermark(t *time.Time) string {
	if t == nil {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
