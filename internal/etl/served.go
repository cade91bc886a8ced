package etl

import (
	"context"
	"time"
)

// ServedTables are the tables the API reads: the marts, and aux.campana for the
// campaign list and dates. An engine that builds the marts elsewhere (the BigQuery
// transform) hands over exactly these, in this order.
var ServedTables = []string{
	"aux.campana",
	"mart.dashboard_data",
	"mart.assignment_data",
	"mart.assignment_clientes",
	"mart.operation_data",
	"mart.operation_attempt_data",
	"mart.operation_queue_data",
	"mart.productivity_data",
}

// BuiltTable is one served table built by another engine, copied in whole.
type BuiltTable struct {
	Name    string   // schema.table, one of ServedTables
	Columns []string // the destination columns, in the order Rows gives values
	Rows    TableRows
}

// TableRows yields a built table's rows. A value is nil (NULL), string, int64,
// float64, bool, Date, time.Time, *big.Rat (an exact decimal) or []string.
type TableRows interface {
	// Next returns the next row, or io.EOF after the last.
	Next(ctx context.Context) ([]any, error)
}

// Built is what a remote transform hands over: the served tables, in ServedTables
// order, and how many rows it read from each source table.
type Built struct {
	Tables []BuiltTable
	// Reads are recorded as the source tables' successful steps of the run, so
	// status, freshness and the batch metrics follow a remote engine too.
	Reads []SourceRead
}

// SourceRead is one source table as a remote transform read it.
type SourceRead struct {
	Table    string
	Rows     int64 // after the source filters
	Duration time.Duration
}

// ServedBuilder builds the served tables where the source data lives (the BigQuery
// transform) instead of from the raw layer in PostgreSQL.
type ServedBuilder interface {
	// BuildServed rebuilds every served table as of today, in full.
	BuildServed(ctx context.Context, o ServedBuildOptions) (Built, error)
}

// ServedBuildOptions are a remote transform's parameters.
type ServedBuildOptions struct {
	Today     Date
	Transform TransformConfig
}

// servedReplacer is the store side of a remote transform (store/postgres).
type servedReplacer interface {
	ReplaceServed(ctx context.Context, runID int64, b Built, reason string) (TransformResult, error)
}

// buildServed runs the remote transform for command, its jobs labelled with the run,
// and replaces the served tables with its result, bumping the data version once.
// The source tables it read come back as steps (rows read), for the run's summary
// and batch metrics.
func (s *Session) buildServed(ctx context.Context, b ServedBuilder, cfg TransformConfig, command string) ([]StepResult, TransformResult, error) {
	start := time.Now()
	labelRun(b, command, s.RunID)
	built, err := b.BuildServed(ctx, ServedBuildOptions{Today: s.Today(), Transform: cfg})
	if err != nil {
		return nil, TransformResult{}, err
	}
	reads := make([]StepResult, len(built.Reads))
	for i, r := range built.Reads {
		reads[i] = StepResult{Table: r.Table, Status: StatusSuccess, Read: r.Rows, Duration: r.Duration}
	}
	res, err := s.r.Store.ReplaceServed(ctx, s.RunID, built, command+" (bigquery engine)")
	res.Duration = time.Since(start)
	return reads, res, err
}
