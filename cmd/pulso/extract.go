package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// ExtractManifestName is the manifest extract writes beside the landing files; the
// directory source ignores it.
const ExtractManifestName = "_manifest.json"

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

// extractManifest is _manifest.json.
type extractManifest struct {
	Source     string          `json:"source"`
	Project    string          `json:"project,omitempty"`
	Dataset    string          `json:"dataset,omitempty"`
	RunID      string          `json:"run_id"`
	AsOf       string          `json:"as_of,omitempty"`
	Now        time.Time       `json:"now"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	Format     string          `json:"format"`
	Tables     []extractedFile `json:"tables"`
}

type extractedFile struct {
	Table      string     `json:"table"`
	Mode       string     `json:"mode"`
	File       string     `json:"file"`
	WindowFrom *time.Time `json:"window_from"`
	WindowTo   *time.Time `json:"window_to"`
	Rows       int64      `json:"rows"`
	// Skipped counts rows a non-pushdown source returned outside the window, and
	// records its reader could not type (row faults): load would not take them.
	Skipped        int64      `json:"skipped,omitempty"`
	MaxIncremental *time.Time `json:"max_incremental"`
	Bytes          int64      `json:"bytes"`
	SHA256         string     `json:"sha256"`
	DurationMS     int64      `json:"duration_ms"`
}

// extractWindow is a table's read window: full tables everything; incremental tables
// [since or initial_from, until or now).
func (a *app) extractWindow(t *etl.Table, opts *extractOptions, now time.Time) (etl.Window, error) {
	if t.Mode == etl.ModeFull {
		return etl.Window{}, nil
	}
	w := etl.Window{From: opts.Since, To: opts.Until}
	if w.To.IsZero() {
		w.To = now
	}
	if w.From.IsZero() {
		if s := a.cfg.Tables[t.Name].InitialFrom; s != "" {
			from, err := parseInstant(s)
			if err != nil {
				return w, err
			}
			w.From = from
		}
	}
	if !w.From.IsZero() && !w.From.Before(w.To) {
		return w, fmt.Errorf("%w: extract %s: empty window %s", errConfig, t.Name, w)
	}
	return w, nil
}

func (a *app) runExtract(ctx context.Context, opts *extractOptions) error {
	start := time.Now()
	now := a.now(start)
	runID := start.UTC().Format("20060102-150405")
	tables, _ := a.reg.Select(opts.Tables)
	var src etl.Source
	if a.cfg.Source.Kind == "bigquery" {
		bs, err := a.bigQuerySource(ctx, "extract", runID)
		if err != nil {
			return err
		}
		defer bs.Close()
		src = bs
	} else {
		if opts.DryRun {
			return usageErr(errors.New("extract --dry-run needs --source bigquery"))
		}
		var err error
		if src, err = a.source(ctx, "extract"); err != nil {
			return err
		}
	}
	windows := make(map[string]etl.Window, len(tables))
	for _, t := range tables {
		w, err := a.extractWindow(t, opts, now)
		if err != nil {
			return err
		}
		windows[t.Name] = w
	}
	if opts.DryRun {
		return a.extractDryRun(ctx, src.(dryRunner), tables, windows)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	man := extractManifest{Source: src.Kind(), RunID: runID, AsOf: a.cfg.AsOf, Now: now.UTC(),
		StartedAt: start.UTC(), Format: opts.Format.Ext()}
	if src.Kind() == "bigquery" {
		man.Project, man.Dataset = a.cfg.BigQuery.Project, a.cfg.BigQuery.Dataset
	}
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		ef, err := a.extractTable(ctx, src, t, windows[t.Name], opts)
		if err != nil {
			return err
		}
		man.Tables = append(man.Tables, ef)
	}
	man.FinishedAt = time.Now().UTC()
	if err := writeJSONFile(filepath.Join(opts.Out, ExtractManifestName), man); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	printExtractSummary(a.stdout, man.Tables)
	return nil
}

func (a *app) extractDryRun(ctx context.Context, dr dryRunner, tables []*etl.Table, windows map[string]etl.Window) error {
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
		fmt.Fprintf(tw, "%s\t%s\t%d (%s)\t\n", t.Name, windowText(w), n, humanBytes(n))
	}
	fmt.Fprintf(tw, "total\t\t%d (%s)\t\n", total, humanBytes(total))
	return tw.Flush()
}

func windowText(w etl.Window) string {
	if w.IsZero() {
		return "full"
	}
	return w.String()
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

// extractTable writes one table's landing file: the records exactly as the source
// read them (money columns in their canonical 2-decimal text), so a dir load converts
// the same text a direct load would.
func (a *app) extractTable(ctx context.Context, src etl.Source, t *etl.Table, w etl.Window, opts *extractOptions) (extractedFile, error) {
	start := time.Now()
	ef := extractedFile{Table: t.Name, Mode: t.Mode.String()}
	if !w.From.IsZero() {
		from := w.From.UTC()
		ef.WindowFrom = &from
	}
	if !w.To.IsZero() {
		to := w.To.UTC()
		ef.WindowTo = &to
	}
	fail := func(err error) (extractedFile, error) {
		return ef, fmt.Errorf("extract %s %s: %w", t.Name, windowText(w), err)
	}
	a.log.Info("extract started", "table", t.Name, "window", windowText(w))
	parts, err := src.Parts(ctx, t)
	if err != nil {
		return fail(err)
	}
	fw, err := files.CreateFile(opts.Out, t, opts.Format)
	if err != nil {
		return fail(err)
	}
	defer fw.Abort()
	money := make([]bool, len(t.Columns))
	for i, c := range t.Columns {
		money[i] = c.Type == etl.TypeMoney
	}
	inc := t.IncrementalIndex()
	var maxInc time.Time
	var rec etl.Record
	fields := make([]string, len(t.Columns))
	for _, p := range parts {
		rd, err := src.Open(ctx, t, p, w)
		if err != nil {
			return fail(err)
		}
		for {
			ok, err := rd.Next(&rec)
			if err != nil {
				rd.Close()
				return fail(err)
			}
			if !ok {
				break
			}
			if rec.Fault != nil {
				ef.Skipped++
				continue
			}
			copy(fields, rec.Fields)
			if inc >= 0 {
				if s, err := etl.CanonicalTimestamp(rec.Fields[inc]); err == nil {
					ts, _ := time.Parse(time.RFC3339Nano, s)
					if !w.Contains(ts) {
						ef.Skipped++ // a source that does not push the window down
						continue
					}
					if ts.After(maxInc) {
						maxInc = ts
					}
				}
			}
			for i, m := range money {
				if m && fields[i] != "" {
					if v, err := etl.CanonicalMoney(fields[i]); err == nil {
						fields[i] = v
					}
				}
			}
			if err := fw.Write(fields, nil); err != nil {
				rd.Close()
				return fail(err)
			}
			ef.Rows++
			if ef.Rows%100000 == 0 {
				a.log.Info("extract progress", "table", t.Name, "rows", ef.Rows,
					"rows_per_s", int64(float64(ef.Rows)/time.Since(start).Seconds()))
			}
		}
		if err := rd.Close(); err != nil {
			return fail(err)
		}
	}
	if err := fw.Close(); err != nil {
		return fail(err)
	}
	ef.File = filepath.Base(fw.Path())
	if ef.Bytes, ef.SHA256, err = fileDigest(fw.Path()); err != nil {
		return fail(err)
	}
	// A file of another format left by an earlier extract would be loaded too.
	for _, f := range []files.Format{files.FormatCSV, files.FormatCSVGz, files.FormatNDJSON} {
		if f != opts.Format {
			if err := os.Remove(filepath.Join(opts.Out, t.Name+"."+f.Ext())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fail(err)
			}
		}
	}
	if !maxInc.IsZero() {
		m := maxInc.UTC()
		ef.MaxIncremental = &m
	}
	ef.DurationMS = time.Since(start).Milliseconds()
	a.log.Info("extract finished", "table", t.Name, "window", windowText(w), "rows", ef.Rows, "skipped", ef.Skipped,
		"file", ef.File, "bytes", ef.Bytes, "duration_ms", ef.DurationMS)
	return ef, nil
}

func fileDigest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeJSONFile writes v as indented JSON atomically (temporary file, then rename).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printExtractSummary(w io.Writer, tables []extractedFile) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tfile\trows\tskipped\tbytes\tduration\t")
	for _, t := range tables {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", t.Table, t.File, t.Rows, t.Skipped, t.Bytes,
			(time.Duration(t.DurationMS) * time.Millisecond).String())
	}
	tw.Flush()
}
