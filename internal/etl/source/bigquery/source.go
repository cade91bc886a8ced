package bigquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// PartPrefix names a table's single part: bigquery:<table>, also the rejects' source.
const PartPrefix = "bigquery:"

// Unbounded window ends are sent as BigQuery's own TIMESTAMP bounds, so every
// incremental query keeps the same typed @from/@to parameters.
var (
	minTimestamp = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
)

// Source reads the source tables from BigQuery. It implements etl.Source.
type Source struct {
	cfg    Config
	client *bq.Client
	stmts  map[string]*Statement
	log    *slog.Logger
	back   backoff
}

// New validates cfg, resolves the credentials (a missing or unreadable credential is an
// ErrCredentials error here, before any query), loads the extraction queries and opens
// the client; with cfg.StorageRead also the Storage Read client.
func New(ctx context.Context, cfg Config, reg *etl.Registry, log *slog.Logger) (*Source, error) {
	cfg.withDefaults()
	if err := cfg.Validate(reg); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	stmts, err := LoadStatements(reg, cfg)
	if err != nil {
		return nil, err
	}
	rest, storage, err := clientOptions(ctx, cfg)
	if err != nil {
		return nil, err
	}
	client, err := bq.NewClient(ctx, cfg.BillingProject, rest...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: client: %w", err)
	}
	client.Location = cfg.Location
	if cfg.StorageRead {
		if err := client.EnableStorageReadClient(ctx, storage...); err != nil {
			client.Close()
			return nil, fmt.Errorf("bigquery: storage read client: %w", err)
		}
	}
	return &Source{cfg: cfg, client: client, stmts: stmts, log: log,
		back: backoff{initial: cfg.RetryInitial, max: cfg.RetryMax}}, nil
}

// SetRun labels the jobs of the following queries with the command and run id. Call
// it before reading, not concurrently with Open.
func (s *Source) SetRun(command, runID string) error {
	cfg := s.cfg
	cfg.Command, cfg.RunID = command, runID
	for k, v := range cfg.labels() {
		if !labelRE.MatchString(v) {
			return fmt.Errorf("bigquery: job label %s=%q must match %s", k, v, labelRE)
		}
	}
	s.cfg = cfg
	return nil
}

// Close releases the clients.
func (s *Source) Close() error { return s.client.Close() }

// Kind is "bigquery".
func (s *Source) Kind() etl.SourceKind { return etl.SourceBigQuery }

// Parts is one part per table: the table's query.
func (s *Source) Parts(_ context.Context, t *etl.Table) ([]etl.Part, error) {
	if _, ok := s.stmts[t.Name]; !ok {
		return nil, fmt.Errorf("bigquery: no query for table %s", t.Name)
	}
	return []etl.Part{{Name: PartPrefix + t.Name}}, nil
}

// Statement returns a table's templated query (for plans and logs).
func (s *Source) Statement(table string) (*Statement, bool) {
	st, ok := s.stmts[table]
	return st, ok
}

// QueryError is a failed query, naming the table, the window and the job.
type QueryError struct {
	Table  string
	Window etl.Window
	JobID  string
	Err    error
}

func (e *QueryError) Error() string {
	w := "full table"
	if !e.Window.IsZero() {
		w = "window " + e.Window.String()
	}
	job := "no job"
	if e.JobID != "" {
		job = "job " + e.JobID
	}
	return fmt.Sprintf("bigquery %s, %s, %s: %v", e.Table, w, job, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// query builds the client query of a statement for a window.
func (s *Source) query(st *Statement, w etl.Window, dryRun bool) *bq.Query {
	q := s.client.Query(st.SQL)
	q.Location = s.cfg.Location
	q.MaxBytesBilled = s.cfg.MaximumBytesBilled
	q.Labels = s.cfg.labels()
	q.DryRun = dryRun
	if !dryRun {
		q.JobTimeout = s.cfg.QueryTimeout
		q.JobIDConfig = bq.JobIDConfig{JobID: "pulso_" + st.Table.Name + "_", AddJobIDSuffix: true, Location: s.cfg.Location}
	}
	for _, p := range st.Params {
		var v any
		switch p {
		case ParamFrom:
			v = minTimestamp
			if !w.From.IsZero() {
				v = w.From.UTC()
			}
		case ParamTo:
			v = maxTimestamp
			if !w.To.IsZero() {
				v = w.To.UTC()
			}
		case ParamIDCliente:
			v = s.cfg.EjecutivosIDCliente
		}
		q.Parameters = append(q.Parameters, bq.QueryParameter{Name: p, Value: v})
	}
	return q
}

// Open runs the table's query for the window (retrying retryable failures) and returns
// a reader over every row of every page. Full tables ignore the window.
func (s *Source) Open(ctx context.Context, t *etl.Table, p etl.Part, w etl.Window) (etl.RecordReader, error) {
	st, ok := s.stmts[t.Name]
	if !ok || p.Name != PartPrefix+t.Name {
		return nil, fmt.Errorf("bigquery: unknown part %q of table %s", p.Name, t.Name)
	}
	if t.Mode == etl.ModeFull {
		w = etl.Window{}
	}
	r := &reader{s: s, st: st, t: t, w: w, parent: ctx}
	if err := r.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Estimate is a dry run's cost of one table's query.
type Estimate struct {
	Table  string
	Window etl.Window
	// Bytes is what BigQuery reports the query would process (and bill, before
	// minimums and the cache).
	Bytes int64
}

// DryRun asks BigQuery how many bytes the table's query would process for the window,
// without running it. run-pipeline --plan and extract --dry-run call it.
func (s *Source) DryRun(ctx context.Context, t *etl.Table, w etl.Window) (Estimate, error) {
	st, ok := s.stmts[t.Name]
	if !ok {
		return Estimate{}, fmt.Errorf("bigquery: no query for table %s", t.Name)
	}
	if t.Mode == etl.ModeFull {
		w = etl.Window{}
	}
	est := Estimate{Table: t.Name, Window: w}
	err := s.retry(ctx, func(ctx context.Context) error {
		job, err := s.query(st, w, true).Run(ctx)
		if err != nil {
			return err
		}
		stat := job.LastStatus()
		if stat == nil || stat.Statistics == nil {
			return errors.New("dry run returned no statistics")
		}
		if err := stat.Err(); err != nil {
			return err
		}
		est.Bytes = stat.Statistics.TotalBytesProcessed
		return nil
	})
	if err != nil {
		return est, &QueryError{Table: t.Name, Window: w, JobID: "dry run", Err: err}
	}
	return est, nil
}

// retry runs op with a fresh per-attempt timeout until it succeeds, fails with a
// non-retryable error or MaxRetries retries are spent.
func (s *Source) retry(ctx context.Context, op func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
		err := op(actx)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		if timedOut {
			return fmt.Errorf("query timed out after %s (bigquery.query_timeout): %w", s.cfg.QueryTimeout, err)
		}
		if ctx.Err() != nil || !Retryable(err) || attempt >= s.cfg.MaxRetries {
			if attempt > 0 {
				return fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return err
		}
		s.log.Warn("bigquery: retrying", "attempt", attempt+1, "error", err.Error())
		if err := s.back.sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

// jobID is the id of a job for messages ("" when there is none).
func jobID(j *bq.Job) string {
	if j == nil {
		return ""
	}
	if loc := j.Location(); loc != "" && !strings.Contains(j.ID(), ":") {
		return j.ProjectID() + ":" + loc + "." + j.ID()
	}
	return j.ID()
}

// DryRunBytes is DryRun's byte count: the form run-pipeline --plan consumes.
func (s *Source) DryRunBytes(ctx context.Context, t *etl.Table, w etl.Window) (int64, error) {
	est, err := s.DryRun(ctx, t, w)
	return est.Bytes, err
}
