package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// rejectReasons are the reasons etl.reject may hold (domain.md §2, §3).
var rejectReasons = []string{
	etl.ReasonInvalidValue, etl.ReasonMissingValue, etl.ReasonWrongFieldCount, etl.ReasonInvalidUTF8,
	etl.ReasonFieldTooLarge, etl.ReasonDuplicateKey, etl.ReasonFutureDate, etl.ReasonFilteredMonto,
	etl.ReasonFilteredMotivo, etl.ReasonFilteredIDCliente,
}

type rejectsOptions struct {
	RunID  int64
	Table  string
	Reason string
	Limit  int
	Output outputFormat
}

// Validate checks the flags against the registry: an unknown table or reason is a
// usage error naming the known ones.
func (o *rejectsOptions) Validate(reg *etl.Registry) error {
	if o.RunID < 0 {
		return fmt.Errorf("--run %d: want a run id ≥ 1", o.RunID)
	}
	if o.Limit < 0 {
		return fmt.Errorf("--limit %d: want ≥ 0 (0 = all)", o.Limit)
	}
	if o.Table != "" {
		o.Table = strings.ToLower(strings.TrimSpace(o.Table))
		if _, ok := reg.Table(o.Table); !ok {
			return fmt.Errorf("unknown table %q (known: %s)", o.Table, strings.Join(reg.Names(), ", "))
		}
	}
	if o.Reason != "" && !slices.Contains(rejectReasons, o.Reason) {
		return fmt.Errorf("unknown reason %q (known: %s)", o.Reason, strings.Join(rejectReasons, ", "))
	}
	return nil
}

func newRejectsCmd(a *app, runF func(context.Context, *rejectsOptions) error) *cobra.Command {
	opts := &rejectsOptions{}
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List rejected rows (etl.reject), newest first",
		Long: `Lists the rows a load rejected or filtered: run, table, source (file path or
bigquery:<table>), line, column, reason, detail and the record as read. Text output
shortens long details and records; --output json prints them whole.`,
		Example: `  pulso rejects --run 42
  pulso rejects --table pagos --reason invalid_value --limit 20
  pulso rejects --table pagos --output json | jq '.rejects[].record'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(a.reg); err != nil {
				return usageErr(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runRejects(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&opts.RunID, "run", 0, "only rejects of this run id")
	f.StringVar(&opts.Table, "table", "", "only rejects of this source table")
	f.StringVar(&opts.Reason, "reason", "", "only rejects with this reason ("+strings.Join(rejectReasons, ", ")+")")
	f.IntVar(&opts.Limit, "limit", 100, "at most this many rows (0 = all)")
	addOutputFlag(f, &opts.Output)
	return cmd
}

// rejectsDoc is the --output json document.
type rejectsDoc struct {
	Total   int64             `json:"total"`
	Shown   int               `json:"shown"`
	Rejects []postgres.Reject `json:"rejects"`
}

func (a *app) runRejects(ctx context.Context, opts *rejectsOptions) error {
	pool, err := a.readPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	rejects, total, err := postgres.ListRejects(ctx, pool, postgres.RejectFilter{
		RunID: opts.RunID, Table: opts.Table, Reason: opts.Reason, Limit: opts.Limit})
	if err != nil {
		return err
	}
	if opts.Output == outputJSON {
		return printJSON(a.stdout, rejectsDoc{Total: total, Shown: len(rejects), Rejects: rejects})
	}
	return printRejects(a.stdout, rejects, total)
}

func printRejects(w io.Writer, rejects []postgres.Reject, total int64) error {
	p := &errWriter{w: w}
	if len(rejects) == 0 {
		p.printf("no rejects match\n")
		return p.err
	}
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REJECTED (Lima)\tRUN\tTABLE\tSOURCE\tLINE\tCOLUMN\tREASON\tDETAIL\tRECORD\n")
	for _, r := range rejects {
		line, column, detail := "-", "-", "-"
		if r.Line != nil {
			line = fmt.Sprint(*r.Line)
		}
		if r.Column != nil {
			column = *r.Column
		}
		if r.Detail != nil {
			detail = oneLine(*r.Detail, 60)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", limaTime(r.RejectedAt), r.RunID, r.Table,
			shortTail(r.Source, 50), line, column, r.Reason, detail, oneLine(string(r.Record), 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if int64(len(rejects)) < total {
		p.printf("%d of %d shown, newest first (--limit 0 for all)\n", len(rejects), total)
	} else {
		p.printf("%d shown\n", total)
	}
	return p.err
}

// shortTail keeps the end of a long path, where the file name is.
func shortTail(s string, max int) string {
	if r := []rune(s); len(r) > max {
		return "…" + string(r[len(r)-max+1:])
	}
	return s
}
