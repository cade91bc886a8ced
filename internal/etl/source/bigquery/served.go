package bigquery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// servedTableID is a served table's name in the transform dataset: mart.dashboard_data
// is mart_dashboard_data.
func servedTableID(name string) string { return strings.ReplaceAll(name, ".", "_") }

// BuildServed is the BigQuery transform engine (etl.ServedBuilder): it rebuilds the
// aux and mart tables in bigquery.transform_dataset and reads back only the tables the
// API serves, for the store to copy into PostgreSQL. The rows travel through the
// tables' read API (tabledata, not billed as a query).
func (s *Source) BuildServed(ctx context.Context, o etl.ServedBuildOptions) (etl.Built, error) {
	stats, err := s.Transform(ctx, TransformOptions{Dataset: s.cfg.TransformDataset, AsOf: o.Today,
		PDPRecoveryDays: o.Transform.PDPRecoveryDays, MaxPagosDocDia: o.Transform.MaxPagosDocDia})
	for _, st := range stats {
		s.log.Info("bigquery transform statement", "statement", st.Statement, "table", st.Table, "job_id", st.JobID,
			"bytes_processed", st.BytesProcessed, "bytes_billed", st.BytesBilled, "rows", st.Rows,
			"duration_ms", st.Elapsed.Milliseconds())
	}
	if err != nil {
		return etl.Built{}, err
	}
	var out etl.Built
	for _, st := range stats {
		// src_<table>: a source table with the source filters applied.
		if name, ok := strings.CutPrefix(st.Statement[strings.IndexByte(st.Statement, '_')+1:], "src_"); ok {
			out.Reads = append(out.Reads, etl.SourceRead{Table: name, Rows: st.Rows, Duration: st.Elapsed})
		}
	}
	ds := s.client.DatasetInProject(s.cfg.Project, s.cfg.TransformDataset)
	out.Tables = make([]etl.BuiltTable, len(etl.ServedTables))
	for i, name := range etl.ServedTables {
		t := ds.Table(servedTableID(name))
		md, err := t.Metadata(ctx)
		if err != nil {
			return etl.Built{}, fmt.Errorf("bigquery transform: %s: %w", name, err)
		}
		cols := make([]string, len(md.Schema))
		for j, f := range md.Schema {
			cols[j] = f.Name
		}
		out.Tables[i] = etl.BuiltTable{Name: name, Columns: cols, Rows: &servedRows{name: name, it: t.Read(ctx)}}
	}
	return out, nil
}

// servedRows reads a transform table page by page, as the value types etl.TableRows
// allows.
type servedRows struct {
	name string
	it   *bq.RowIterator
	row  []bq.Value
}

func (r *servedRows) Next(context.Context) ([]any, error) {
	err := r.it.Next(&r.row)
	if errors.Is(err, iterator.Done) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.name, err)
	}
	out := make([]any, len(r.row))
	for i, v := range r.row {
		if out[i], err = servedValue(v); err != nil {
			return nil, fmt.Errorf("read %s: column %d: %w", r.name, i, err)
		}
	}
	return out, nil
}

func servedValue(v bq.Value) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, bool, string, time.Time, *big.Rat:
		return x, nil
	case civil.Date:
		return etl.NewDate(x.Year, x.Month, x.Day), nil
	case []bq.Value:
		s := make([]string, len(x))
		for i, e := range x {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("array element %v of type %T: want STRING", e, e)
			}
			s[i] = str
		}
		return s, nil
	}
	return nil, fmt.Errorf("value %v of type %T", v, v)
}
