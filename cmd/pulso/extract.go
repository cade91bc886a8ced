package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

type extractOptions struct {
	Out    string
	Tables []string
	// Since and Until bound the incremental tables' window [Since, Until); zero Since
	// means tables.<t>.initial_from (or no lower bound), zero Until means now.
	Since, Until time.Time
	Format       files.Format
	DryRun       bool
	Args         []string
}

// Validate checks the options before any work.
func (o *extractOptions) Validate() error {
	if o.Out == "" && !o.DryRun {
		return errors.New("extract: --out DIR is required (or --dry-run)")
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return fmt.Errorf("extract: --since %s is not before --until %s",
			o.Since.UTC().Format(time.RFC3339), o.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

func newExtractCmd(a *app, runF func(context.Context, *extractOptions) error) *cobra.Command {
	opts := &extractOptions{}
	var since, until, format string
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Write the source tables as landing files (no database)",
		Long: `Reads every table (or --tables) from the source and writes <out>/<table>.<ext> in the
landing format plus _manifest.json (rows, window, max incremental value, sha256 per
file), so "pulso load --source dir --dir OUT" loads exactly the same rows. Incremental
tables read [--since, --until) (default: tables.<t>.initial_from or everything, up to
now); full tables are read whole. --dry-run prints the bytes BigQuery would process per
table and window, and reads nothing.`,
		Example: `  pulso extract --source bigquery --out /data/landing/2025-07-15
  pulso extract --source bigquery --tables pagos --since 2025-07-01 --format ndjson --out /tmp/x
  pulso extract --source bigquery --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := a.reg.Select(opts.Tables); err != nil {
				return usageErr(err)
			}
			var err error
			if opts.Format, err = files.ParseFormat(format); err != nil {
				return usageErr(err)
			}
			if since != "" {
				if opts.Since, err = parseInstant(since); err != nil {
					return usageErr(fmt.Errorf("--since: %w", err))
				}
			}
			if until != "" {
				if opts.Until, err = parseInstant(until); err != nil {
					return usageErr(fmt.Errorf("--until: %w", err))
				}
			}
			if err := opts.Validate(); err != nil {
				return usageErr(err)
			}
			opts.Args = givenFlags(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runExtract(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "directory to write the landing files into (created if missing)")
	f.StringSliceVar(&opts.Tables, "tables", nil, "tables to extract (comma-separated; default all)")
	f.StringVar(&since, "since", "", "window start for incremental tables: YYYY-MM-DD (00:00 Lima) or RFC 3339")
	f.StringVar(&until, "until", "", "window end, exclusive (default now, or --as-of + 1 day)")
	f.StringVar(&format, "format", "csv", "landing file format: csv, csv.gz or ndjson")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the BigQuery dry-run bytes per table and window; read nothing")
	return cmd
}

func (a *app) runExtract(ctx context.Context, opts *extractOptions) error {
	start := time.Now()
	now := a.clock().Now(start)
	tables, _ := a.reg.Select(opts.Tables)
	if opts.DryRun && a.cfg.Source.Kind != etl.SourceBigQuery {
		return usageErr(errors.New("extract --dry-run needs --source bigquery"))
	}
	runID := start.UTC().Format("20060102-150405")
	src, err := a.source(ctx, a.cfg.Source, "extract")
	if err != nil {
		return err
	}
	defer closeSource(src)
	if l, ok := src.(etl.RunLabeler); ok {
		if err := l.SetRun("extract", runID); err != nil {
			return err
		}
	}
	windows := make(map[string]etl.Window, len(tables))
	for _, t := range tables {
		if windows[t.Name], err = etl.ExtractWindow(t, opts.Since, opts.Until, a.cfg.Tables[t.Name].InitialFrom, now); err != nil {
			return err
		}
	}
	if opts.DryRun {
		return a.extractDryRun(ctx, src.(etl.DryRunner), tables, windows)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	man := etl.ExtractManifest{Source: src.Kind(), RunID: runID, AsOf: a.cfg.AsOf, Now: now.UTC(),
		StartedAt: start.UTC(), Format: opts.Format.Ext()}
	if src.Kind() == etl.SourceBigQuery {
		man.Project, man.Dataset = a.cfg.BigQuery.Project, a.cfg.BigQuery.Dataset
	}
	man, err = etl.Extract(ctx, src, tables, windows, files.Landing{Dir: opts.Out, Format: opts.Format}, man, a.log)
	if err != nil {
		return err
	}
	printExtractSummary(a.stdout, man.Tables)
	return nil
}

func (a *app) extractDryRun(ctx context.Context, dr etl.DryRunner, tables []*etl.Table, windows map[string]etl.Window) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\twindow\tbytes\t")
	var total int64
	for _, t := range tables {
		w := windows[t.Name]
		n, err := dr.DryRunBytes(ctx, t, w)
		if err != nil {
			tw.Flush()
			return fmt.Errorf("extract --dry-run %s: %w", t.Name, err)
		}
		total += n
		fmt.Fprintf(tw, "%s\t%s\t%d (%s)\t\n", t.Name, etl.WindowText(w), n, humanBytes(n))
	}
	fmt.Fprintf(tw, "total\t\t%d (%s)\t\n", total, humanBytes(total))
	return tw.Flush()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func printExtractSummary(w io.Writer, tables []etl.ExtractedFile) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tfile\trows\tskipped\tbytes\tduration\t")
	for _, t := range tables {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", t.Table, t.File, t.Rows, t.Skipped, t.Bytes,
			(time.Duration(t.DurationMS) * time.Millisecond).String())
	}
	tw.Flush()
}
