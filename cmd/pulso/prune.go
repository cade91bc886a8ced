package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// auditRetention is how long auth.audit_log rows are kept (domain.md §6).
const auditRetention = 2 * 365 * 24 * time.Hour

// minPruneAge guards against a unit slip (--older-than 90m) wiping the ledger.
const minPruneAge = 24 * time.Hour

type pruneOptions struct {
	OlderThan time.Duration
	DryRun    bool
	Output    outputFormat
	Args      []string
}

func (o *pruneOptions) Validate() error {
	if o.OlderThan < minPruneAge {
		return fmt.Errorf("--older-than %s: want at least 1d", o.OlderThan)
	}
	return nil
}

// cutoffs are the instants before which rows go: now − older-than, and for the audit
// log the earlier of that and now − 2 years (it is never kept for less).
func (o *pruneOptions) cutoffs(now time.Time) (before, audit time.Time) {
	before = now.Add(-o.OlderThan)
	audit = now.Add(-auditRetention)
	if before.Before(audit) {
		audit = before
	}
	return before, audit
}

// parseAge reads "90d" (days) or a Go duration ("2160h").
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q: want Nd (days) or a Go duration such as 2160h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want Nd (days) or a Go duration such as 2160h", s)
	}
	return d, nil
}

func newPruneCmd(a *app, runF func(context.Context, *pruneOptions) error) *cobra.Command {
	opts := &pruneOptions{}
	var olderThan string
	cmd := &cobra.Command{
		Use:   "prune --older-than AGE",
		Short: "Delete old ledger runs, rejects, consumed changes, dead refresh tokens and audit rows",
		Long: `Deletes, in one transaction, what is older than --older-than (Nd days or a Go duration):
etl.run rows finished before the cutoff (with their etl.run_table steps), etl.reject rows,
consumed etl.pending_change rows and expired or revoked auth.refresh_token rows; and
auth.audit_log rows older than 2 years (or the cutoff, if earlier). A running run,
watermarks, landing files, unconsumed changes and the data version are never touched.
Takes the pipeline lock and records the run; --dry-run only counts, without the lock.`,
		Example: `  pulso prune --older-than 90d --dry-run
  pulso prune --older-than 90d`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan == "" {
				return usageErr(errors.New("prune: --older-than is required (e.g. 90d)"))
			}
			d, err := parseAge(olderThan)
			if err != nil {
				return usageErr(fmt.Errorf("--older-than %w", err))
			}
			opts.OlderThan = d
			if err := opts.Validate(); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runPrune(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&olderThan, "older-than", "", "age: Nd (days) or a Go duration (2160h); at least 1d")
	f.BoolVar(&opts.DryRun, "dry-run", false, "count what would be deleted; delete nothing")
	addOutputFlag(f, &opts.Output)
	return cmd
}

func (a *app) runPrune(ctx context.Context, opts *pruneOptions) error {
	before, audit := opts.cutoffs(time.Now())
	po := postgres.PruneOptions{Before: before, AuditBefore: audit, DryRun: opts.DryRun}
	prune := a.pruneLocked
	if opts.DryRun {
		prune = a.pruneDry
	}
	res, err := prune(ctx, opts, po)
	if err != nil {
		return err
	}
	if opts.Output == outputJSON {
		return printJSON(a.stdout, res)
	}
	return printPrune(a.stdout, res)
}

// pruneDry counts without the lock or a ledger row: it writes nothing.
func (a *app) pruneDry(ctx context.Context, _ *pruneOptions, po postgres.PruneOptions) (postgres.PruneResult, error) {
	pool, err := a.readPool(ctx)
	if err != nil {
		return postgres.PruneResult{}, err
	}
	defer pool.Close()
	return postgres.NewStore(pool, a.log, postgres.StoreOptions{}).Prune(ctx, po)
}

// pruneLocked deletes under the pipeline lock, recording the run in the ledger.
func (a *app) pruneLocked(ctx context.Context, opts *pruneOptions, po postgres.PruneOptions) (res postgres.PruneResult, err error) {
	store, closeStore, err := a.openStore(ctx)
	if err != nil {
		return res, err
	}
	defer closeStore()
	err = a.runner(store, a.clock()).Do(ctx, etl.RunRecord{Command: "prune", Args: opts.Args}, func(s *etl.Session) error {
		if res, err = store.Prune(ctx, po); err != nil {
			return err
		}
		for _, c := range res.Tables {
			s.Log.Info("pruned", "table", c.Table, "rows", c.Rows)
		}
		return nil
	})
	return res, err
}

func printPrune(w io.Writer, res postgres.PruneResult) error {
	p := &errWriter{w: w}
	verb := "deleted"
	if res.DryRun {
		verb = "would delete (dry run)"
	}
	p.printf("cutoff %s Lima (audit log %s Lima)\n", limaTime(res.Before), limaTime(res.AuditBefore))
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TABLE\t%s\t\n", strings.ToUpper(verb))
	for _, c := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\t\n", c.Table, c.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return p.err
}
