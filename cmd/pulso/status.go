package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

type statusOptions struct {
	Output outputFormat
	Runs   int
	// MaxSteps caps the steps printed per run in text output (JSON lists all).
	MaxSteps int
}

func (o *statusOptions) Validate() error {
	if o.Runs < 1 {
		return fmt.Errorf("--runs %d: want ≥ 1", o.Runs)
	}
	if o.MaxSteps < 0 {
		return fmt.Errorf("--max-steps %d: want ≥ 0", o.MaxSteps)
	}
	return nil
}

func newStatusCmd(a *app, runF func(context.Context, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show recent runs, per-table freshness, the data version and the lock (read-only)",
		Long: `Reads the run ledger without taking the pipeline lock, so it works while a run holds it.
Per source table: mode, watermark, last success, age, stale (older than stale_after, or
never loaded), the last run's status and its rejected rows. A run or step still marked
running while nobody holds the lock is shown as abandoned (the next writing command
records it so). --output json is a stable snake_case document for scripts.`,
		Example: `  pulso status
  pulso status --output json | jq '.tables[] | select(.stale)'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return usageErr(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return a.runStatus(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	addOutputFlag(f, &opts.Output)
	f.IntVar(&opts.Runs, "runs", 10, "recent runs to list")
	f.IntVar(&opts.MaxSteps, "max-steps", 12, "step lines shown per run in text output (0 = all)")
	return cmd
}

// readPool opens a pool for a read-only command: no lock, no ledger row, but the
// schema must be current (pending migrations print the exact command).
func (a *app) readPool(ctx context.Context) (*pgxpool.Pool, error) {
	url, err := a.requireDatabase()
	if err != nil {
		return nil, err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func (a *app) runStatus(ctx context.Context, opts *statusOptions) error {
	if a.cfg.StaleAfter <= 0 || a.cfg.ScheduleInterval < 0 {
		return fmt.Errorf("%w: stale_after must be > 0 and schedule_interval ≥ 0", errConfig)
	}
	pool, err := a.readPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := postgres.ReadStatus(ctx, pool, postgres.StatusOptions{
		Tables: a.reg.Tables(), Now: time.Now(), StaleAfter: a.cfg.StaleAfter,
		ScheduleInterval: a.cfg.ScheduleInterval, Runs: opts.Runs,
	})
	if err != nil {
		return err
	}
	if opts.Output == outputJSON {
		return printJSON(a.stdout, st)
	}
	return printStatus(a.stdout, st, opts.MaxSteps)
}

// printStatus writes the compact human report. Times are Lima wall time.
func printStatus(w io.Writer, st *postgres.Status, maxSteps int) error {
	p := &errWriter{w: w}
	p.printf("pulso status at %s Lima: %s\n", limaTime(st.GeneratedAt), strings.ToUpper(st.Status))
	if st.Lock.Held {
		p.printf("lock:           held by %q (backend pid %d)\n", st.Lock.Holder, st.Lock.PID)
	} else {
		p.printf("lock:           free\n")
	}
	dv := st.DataVersion
	p.printf("data version:   %d, updated %s Lima", dv.Version, limaTime(dv.UpdatedAt))
	if dv.RunID != nil {
		p.printf(" by run %d", *dv.RunID)
	}
	if dv.Reason != nil {
		p.printf(" (%s)", *dv.Reason)
	}
	p.printf("\n")
	if lt := st.LastTransform; lt != nil {
		p.printf("last transform: run %d %s, %d steps, finished %s\n", lt.RunID, lt.Status, lt.Steps, limaTimePtr(lt.FinishedAt))
	} else {
		p.printf("last transform: never\n")
	}
	p.printf("\n")

	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TABLE\tMODE\tWATERMARK (Lima)\tLAST SUCCESS (Lima)\tAGE\tSTALE\tLAST RUN\tSTATUS\tREAD\tLOADED\tREJECTED\n")
	for _, t := range st.Tables {
		age, stale := "-", "no"
		if t.AgeSeconds != nil {
			age = shortDuration(time.Duration(*t.AgeSeconds) * time.Second)
		}
		if t.Stale {
			stale = "STALE"
		}
		run, status := "-", "never run"
		if t.LastRunID != nil {
			run = fmt.Sprint(*t.LastRunID)
		}
		if t.LastStatus != nil {
			status = withReason(*t.LastStatus, t.LastSkipReason)
		}
		hwm := limaTimePtr(t.HighWaterMark)
		if t.Mode == etl.ModeFull.String() {
			hwm = "(full)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", t.Table, t.Mode, hwm,
			limaTimePtr(t.LastSuccessAt), age, stale, run, status, t.RowsRead, t.RowsLoaded, t.RowsRejected)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range st.Tables {
		if t.LastError != nil && t.LastStatus != nil && isFailure(*t.LastStatus) {
			p.printf("  %s: %s\n", t.Table, oneLine(*t.LastError, 160))
		}
	}

	p.printf("\nRECENT RUNS (stale after %s)\n", shortDuration(time.Duration(st.StaleAfterSeconds)*time.Second))
	if len(st.Runs) == 0 {
		p.printf("  none: run `pulso run-pipeline` or `pulso load`\n")
		return p.err
	}
	tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RUN\tSTARTED (Lima)\tCOMMAND / STEP\tSTATUS\tDURATION\tREAD\tREJECTED\tLOADED\tEXIT\n")
	for _, r := range st.Runs {
		exit := "-"
		if r.ExitCode != nil {
			exit = fmt.Sprint(*r.ExitCode)
		}
		status := r.Status
		if r.Status != r.LedgerStatus {
			status += " (ledger: " + r.LedgerStatus + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t\t\t\t%s\n", r.RunID, limaTime(r.StartedAt),
			strings.TrimSpace(r.Command+" "+strings.Join(r.Args, " ")), status,
			elapsed(r.StartedAt, r.FinishedAt, st.GeneratedAt), exit)
		lines := stepLines(r.Steps, st.GeneratedAt)
		for i, l := range lines {
			if maxSteps > 0 && i == maxSteps {
				fmt.Fprintf(tw, "\t\t  … %d more\t\t\t\t\t\t\n", len(lines)-maxSteps)
				break
			}
			fmt.Fprintf(tw, "\t\t  %s\t%s\t%s\t%s\t%s\t%s\t\n", l.name, l.status, l.took, l.read, l.rejected, l.loaded)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range st.Runs {
		if r.Error != nil && isFailure(r.Status) {
			p.printf("  run %d: %s\n", r.RunID, oneLine(*r.Error, 160))
		}
	}
	return p.err
}

type stepLine struct{ name, status, took, read, rejected, loaded string }

// stepLines turns a run's steps into report lines: one per raw step (and chunk), and
// the transform's schema.table steps folded into one "transform" line where the
// first of them stands.
func stepLines(steps []postgres.StepStatus, now time.Time) []stepLine {
	var lines []stepLine
	var tf []postgres.StepStatus
	tfAt := -1
	for _, s := range steps {
		if strings.Contains(s.Step, ".") {
			if tfAt < 0 {
				tfAt = len(lines)
				lines = append(lines, stepLine{})
			}
			tf = append(tf, s)
			continue
		}
		name := s.Step
		if s.ChunkFrom != nil && s.ChunkTo != nil {
			name += " [" + *s.ChunkFrom + ".." + *s.ChunkTo + "]"
		}
		lines = append(lines, stepLine{name: name, status: withReason(s.Status, s.SkipReason),
			took: elapsed(s.StartedAt, s.FinishedAt, now), read: fmt.Sprint(s.RowsRead),
			rejected: fmt.Sprint(s.RowsRejected), loaded: fmt.Sprint(s.RowsLoaded)})
	}
	if tfAt >= 0 {
		statuses := make([]etl.Status, len(tf))
		start, end := tf[0].StartedAt, tf[0].FinishedAt
		for i, s := range tf {
			statuses[i] = s.Status
			if s.StartedAt.Before(start) {
				start = s.StartedAt
			}
			if end != nil && (s.FinishedAt == nil || s.FinishedAt.After(*end)) {
				end = s.FinishedAt
			}
		}
		lines[tfAt] = stepLine{name: fmt.Sprintf("transform (%d steps)", len(tf)), status: string(postgres.WorstStatus(statuses)),
			took: elapsed(start, end, now)}
	}
	return lines
}

// withReason shows why a step was skipped (the ledger keeps the reason in error).
func withReason(status etl.Status, reason *etl.SkipReason) string {
	if status == etl.StatusSkipped && reason != nil {
		return string(status) + " (" + string(*reason) + ")"
	}
	return string(status)
}

func isFailure(status etl.Status) bool {
	switch status {
	case etl.StatusFailed, etl.StatusAbandoned, etl.StatusCancelled:
		return true
	}
	return false
}

// errWriter keeps the first write error so a report is written without checking
// every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func limaTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(etl.Lima).Format("2006-01-02 15:04:05")
}

func limaTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return limaTime(*t)
}

// elapsed is a step's or run's duration; still open, it runs until now.
func elapsed(start time.Time, end *time.Time, now time.Time) string {
	if end == nil {
		return shortDuration(now.Sub(start)) + "+"
	}
	return shortDuration(end.Sub(start))
}

// shortDuration prints 2d3h, 1h05m, 4m07s, 1.2s or 35ms.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// oneLine flattens and shortens an error for a report line.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
