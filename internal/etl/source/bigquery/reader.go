package bigquery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// reader streams the rows of one table's query. A failure while paging is retried
// from the row it stopped at (REST pages of the finished job, StartIndex); a Storage
// Read stream cannot resume mid-way, so there the query restarts only if no row was
// handed out yet.
type reader struct {
	s      *Source
	st     *Statement
	t      *etl.Table
	w      etl.Window
	parent context.Context

	cancel   context.CancelFunc // of the current attempt
	job      *bq.Job            // job whose results are read; nil = submit one
	lastJob  *bq.Job            // the latest job submitted, named in errors
	it       *bq.RowIterator
	idx      []int // schema field of each table column
	vals     []bq.Value
	read     uint64 // rows handed out
	attempts int    // retries spent
	done     bool
}

func (r *reader) fail(err error) error {
	return &QueryError{Table: r.t.Name, Window: r.w, JobID: jobID(r.lastJob), Err: err}
}

// start runs the query until its first page can be read.
func (r *reader) start() error {
	for {
		err := r.attempt()
		if err == nil {
			return nil
		}
		if err = r.retryOrGiveUp(err); err != nil {
			return r.fail(err)
		}
	}
}

// retryOrGiveUp returns nil after backing off when err deserves another attempt.
func (r *reader) retryOrGiveUp(err error) error {
	timedOut := r.parent.Err() == nil && errors.Is(err, context.DeadlineExceeded)
	r.endAttempt()
	switch {
	case r.parent.Err() != nil:
		return r.parent.Err()
	case timedOut:
		return fmt.Errorf("query timed out after %s (bigquery.query_timeout): %w", r.s.cfg.QueryTimeout, err)
	case !Retryable(err) || r.attempts >= r.s.cfg.MaxRetries:
		if r.attempts > 0 {
			return fmt.Errorf("after %d attempts: %w", r.attempts+1, err)
		}
		return err
	}
	r.s.log.Warn("bigquery: retrying", "table", r.t.Name, "window", r.w.String(), "job", jobID(r.lastJob),
		"rows_read", r.read, "attempt", r.attempts+1, "error", err.Error())
	if serr := r.s.back.sleep(r.parent, r.attempts); serr != nil {
		return serr
	}
	r.attempts++
	return nil
}

func (r *reader) endAttempt() {
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	r.it = nil
}

// attempt runs the query (unless its finished job can be read again) and opens the
// result iterator at the first row not yet handed out.
func (r *reader) attempt() error {
	ctx, cancel := context.WithTimeout(r.parent, r.s.cfg.QueryTimeout)
	r.cancel = cancel
	if r.job == nil {
		if r.read > 0 {
			// Another job's rows may come in another order: skipping the rows already
			// handed out would be wrong.
			return errors.New("the job's results cannot be read again after rows were handed out")
		}
		job, err := r.s.query(r.st, r.w, false).Run(ctx)
		if err != nil {
			return err
		}
		r.lastJob = job
		// The job's own status (jobs.get) tells a failed job from a slow one: the
		// client's getQueryResults wait would retry a job failed with backendError
		// until the timeout instead of submitting it again.
		st, err := waitJob(ctx, job)
		if err != nil {
			return err
		}
		if err := st.Err(); err != nil {
			r.s.log.Warn("bigquery: job failed", "table", r.t.Name, "job", jobID(job), "error", err.Error())
			return fmt.Errorf("job failed: %w", err)
		}
		r.job = job
	}
	it, err := r.job.Read(ctx)
	if err != nil {
		return err
	}
	if r.s.cfg.PageSize > 0 {
		it.PageInfo().MaxSize = r.s.cfg.PageSize
	}
	if r.read > 0 {
		if it.IsAccelerated() {
			return errors.New("a Storage Read stream failed after rows were read: cannot resume")
		}
		it.StartIndex = r.read
	}
	if err := r.mapSchema(it.Schema); err != nil {
		return err
	}
	r.it = it
	return nil
}

// waitJob polls a job's status (jobs.get) until it is done.
func waitJob(ctx context.Context, job *bq.Job) (*bq.JobStatus, error) {
	st := job.LastStatus()
	delay := 50 * time.Millisecond
	for st == nil || !st.Done() {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*3/2, 2*time.Second)
		var err error
		if st, err = job.Status(ctx); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (r *reader) mapSchema(s bq.Schema) error {
	r.idx = make([]int, len(r.t.Columns))
	for i, c := range r.t.Columns {
		r.idx[i] = -1
		for j, f := range s {
			if strings.EqualFold(f.Name, c.Name) {
				r.idx[i] = j
				break
			}
		}
		if r.idx[i] < 0 {
			return fmt.Errorf("query result has no column %q", c.Name)
		}
	}
	return nil
}

// Next fills rec with the next row: fields in the table's column order, rendered in
// the landing-file text forms, "" for NULL.
func (r *reader) Next(rec *etl.Record) (bool, error) {
	if r.done {
		return false, nil
	}
	for {
		if r.it == nil {
			// Resuming after a failure.
			if err := r.attempt(); err != nil {
				if err = r.retryOrGiveUp(err); err != nil {
					return false, r.fail(err)
				}
				continue
			}
		}
		err := r.it.Next(&r.vals)
		if err == iterator.Done {
			r.done = true
			r.endAttempt()
			return false, nil
		}
		if err != nil {
			if r.it.IsAccelerated() && r.read > 0 {
				r.endAttempt()
				return false, r.fail(fmt.Errorf("storage read after %d rows: %w", r.read, err))
			}
			if err = r.retryOrGiveUp(err); err != nil {
				return false, r.fail(err)
			}
			continue
		}
		r.read++
		r.fill(rec)
		return true, nil
	}
}

func (r *reader) fill(rec *etl.Record) {
	n := len(r.t.Columns)
	if cap(rec.Fields) < n {
		rec.Fields = make([]string, n)
	}
	rec.Fields = rec.Fields[:n]
	rec.Source, rec.Line, rec.Fault, rec.Raw = PartPrefix+r.t.Name, 0, nil, nil
	for i, j := range r.idx {
		var v bq.Value
		if j < len(r.vals) {
			v = r.vals[j]
		}
		s, err := Render(v)
		if err != nil {
			rec.Fields[i] = ""
			if rec.Fault == nil {
				rec.Fault = &etl.Fault{Reason: etl.ReasonInvalidValue, Column: r.t.Columns[i].Name, Detail: err.Error()}
			}
			continue
		}
		rec.Fields[i] = s
	}
	if rec.Fault != nil {
		rec.Raw = etl.RecordJSON(r.t, rec.Fields)
	}
}

// Warnings: BigQuery results have no unknown columns to warn about.
func (r *reader) Warnings() []string { return nil }

// Close stops the current attempt; a running job is left to finish (its results are
// cached by BigQuery) since cancelling costs another call.
func (r *reader) Close() error {
	r.endAttempt()
	r.done = true
	return nil
}

// Render turns a value decoded by the BigQuery client into its landing-file text:
// TIMESTAMP as etl.FormatTimestamp, DATE YYYY-MM-DD, FLOAT64 as its shortest decimal
// text, INT64 decimal, BOOL true/false, NUMERIC exact decimal, NULL as "".
func Render(v bq.Value) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64), nil // rejected by the converter
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case time.Time:
		return etl.FormatTimestamp(x), nil
	case civil.Date:
		return x.String(), nil
	case civil.DateTime:
		// A DATETIME has no zone; read as UTC, as the landing files' zone-less form is.
		return etl.FormatTimestamp(x.In(time.UTC)), nil
	case *big.Rat:
		s := x.FloatString(9)
		if strings.Contains(s, ".") {
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		}
		return s, nil
	}
	return "", fmt.Errorf("unsupported BigQuery value of type %T", v)
}
