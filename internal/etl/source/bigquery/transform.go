package bigquery

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// Parameters of the GoogleSQL transform (sql/bigquery/transform/*.sql); a statement
// using any other is refused.
const (
	ParamAsOf                = "as_of"                 // DATE, the transform's today
	ParamPDPRecoveryDays     = "pdp_recovery_days"     // INT64
	ParamMaxPagosDocDia      = "max_pagos_doc_dia"     // INT64
	ParamHolidays            = "holidays"              // ARRAY<DATE>
	ParamEjecutivosIDCliente = "ejecutivos_id_cliente" // INT64
)

var transformParams = []string{ParamAsOf, ParamPDPRecoveryDays, ParamMaxPagosDocDia, ParamHolidays, ParamEjecutivosIDCliente}

// TransformStatement is one rendered statement of the BigQuery transform: it creates
// (or replaces) Table in the transform dataset.
type TransformStatement struct {
	Name   string   // file name without .sql, e.g. 080_mart_dashboard_data
	Table  string   // table it creates in the transform dataset, e.g. mart_dashboard_data
	SQL    string   // with the identifiers templated
	Params []string // parameters it references, in order of first use
}

// transformData is what the statements' templates see: validated identifiers only.
type transformData struct {
	Project          string
	Dataset          string
	TransformDataset string
	Tables           map[string]string // logical table → BigQuery table id
}

var transformFileRE = regexp.MustCompile(`^[0-9]{3}_([a-z0-9_]+)\.sql$`)

// LoadTransform renders sql/bigquery/transform/*.sql, in file order, for cfg's source
// tables and the transform dataset (validated as the other identifiers).
func LoadTransform(reg *etl.Registry, cfg Config, dataset string) ([]*TransformStatement, error) {
	return loadTransform(pulsosql.BigQueryTransform, reg, cfg, dataset)
}

func loadTransform(fsys fs.FS, reg *etl.Registry, cfg Config, dataset string) ([]*TransformStatement, error) {
	if !identifierRE.MatchString(dataset) {
		return nil, fmt.Errorf("bigquery.transform_dataset %q: must match %s", dataset, identifierRE)
	}
	data := transformData{Project: cfg.Project, Dataset: cfg.Dataset, TransformDataset: dataset, Tables: map[string]string{}}
	for _, id := range []string{cfg.Project, cfg.Dataset} {
		if !identifierRE.MatchString(id) {
			return nil, fmt.Errorf("bigquery: identifier %q: must match %s", id, identifierRE)
		}
	}
	for _, t := range reg.Tables() {
		n := cfg.tableName(t)
		if !identifierRE.MatchString(n) {
			return nil, fmt.Errorf("bigquery: table %s id %q: must match %s", t.Name, n, identifierRE)
		}
		data.Tables[t.Name] = n
	}
	files, err := fs.Glob(fsys, "bigquery/transform/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, errors.New("bigquery: no transform statements")
	}
	var out []*TransformStatement
	for _, f := range files {
		base := path.Base(f)
		m := transformFileRE.FindStringSubmatch(base)
		if m == nil {
			return nil, fmt.Errorf("bigquery: sql/%s: name must be NNN_<table>.sql", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		src := string(b)
		target := "CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}." + m[1] + "`"
		if !strings.Contains(src, target) {
			return nil, fmt.Errorf("bigquery: sql/%s: must contain %s", f, target)
		}
		tmpl, err := template.New(base).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("bigquery: sql/%s: %w", f, err)
		}
		var sb strings.Builder
		if err := tmpl.Execute(&sb, data); err != nil {
			return nil, fmt.Errorf("bigquery: sql/%s: %w", f, err)
		}
		params := statementParams(src)
		for _, p := range params {
			if !slices.Contains(transformParams, p) {
				return nil, fmt.Errorf("bigquery: sql/%s: unknown parameter @%s", f, p)
			}
		}
		out = append(out, &TransformStatement{Name: strings.TrimSuffix(base, ".sql"), Table: m[1], SQL: sb.String(), Params: params})
	}
	return out, nil
}

// TransformOptions are one BigQuery transform run's settings.
type TransformOptions struct {
	// Dataset is where the tables are created (empty: bigquery.transform_dataset). It
	// must exist, in the source's location.
	Dataset         string
	AsOf            etl.Date // today (required)
	PDPRecoveryDays int
	MaxPagosDocDia  int
	Holidays        []etl.Date
	// DryRun asks each statement's bytes without running anything. A statement that
	// reads a table an earlier statement creates can only be dry-run once that table
	// exists (a previous run left it).
	DryRun bool
}

// TransformStat is one statement's outcome.
type TransformStat struct {
	Statement      string
	Table          string // project.dataset.table created
	JobID          string
	BytesProcessed int64
	BytesBilled    int64 // 0 on a dry run
	Rows           int64 // rows in the created table (table metadata); 0 on a dry run
	Elapsed        time.Duration
}

// Transform runs the GoogleSQL transform: every statement in order, each one job with
// the typed parameters, the run's labels, maximum_bytes_billed and the retries of the
// extraction queries (every statement is a full CREATE OR REPLACE, so a retried one
// starts over). It stops at the first failure, returning the stats so far.
func (s *Source) Transform(ctx context.Context, o TransformOptions) ([]TransformStat, error) {
	if o.AsOf.IsZero() {
		return nil, errors.New("bigquery transform: as-of day required")
	}
	if o.Dataset == "" {
		o.Dataset = s.cfg.TransformDataset
	}
	stmts, err := LoadTransform(etl.MustRegistry(), s.cfg, o.Dataset)
	if err != nil {
		return nil, err
	}
	var out []TransformStat
	for _, st := range stmts {
		stat, err := s.runTransformStatement(ctx, st, o)
		if err != nil {
			return out, err
		}
		out = append(out, stat)
	}
	return out, nil
}

func civilDate(d etl.Date) civil.Date { return civil.DateOf(d.Start()) }

func (s *Source) transformQuery(st *TransformStatement, o TransformOptions) *bq.Query {
	q := s.client.Query(st.SQL)
	q.Location = s.cfg.Location
	q.MaxBytesBilled = s.cfg.MaximumBytesBilled
	q.Labels = s.cfg.labels()
	q.DryRun = o.DryRun
	if !o.DryRun {
		q.JobTimeout = s.cfg.QueryTimeout
		q.JobIDConfig = bq.JobIDConfig{JobID: "pulso_transform_" + st.Table + "_", AddJobIDSuffix: true, Location: s.cfg.Location}
	}
	for _, p := range st.Params {
		var v any
		switch p {
		case ParamAsOf:
			v = civilDate(o.AsOf)
		case ParamPDPRecoveryDays:
			v = int64(o.PDPRecoveryDays)
		case ParamMaxPagosDocDia:
			v = int64(o.MaxPagosDocDia)
		case ParamHolidays:
			hs := make([]civil.Date, 0, len(o.Holidays))
			for _, h := range o.Holidays {
				hs = append(hs, civilDate(h))
			}
			v = hs
		case ParamEjecutivosIDCliente:
			v = s.cfg.EjecutivosIDCliente
		}
		q.Parameters = append(q.Parameters, bq.QueryParameter{Name: p, Value: v})
	}
	return q
}

func (s *Source) runTransformStatement(ctx context.Context, st *TransformStatement, o TransformOptions) (TransformStat, error) {
	stat := TransformStat{Statement: st.Name, Table: s.cfg.Project + "." + o.Dataset + "." + st.Table}
	start := time.Now()
	err := s.retry(ctx, func(ctx context.Context) error {
		job, err := s.transformQuery(st, o).Run(ctx)
		if err != nil {
			return err
		}
		stat.JobID = jobID(job)
		js := job.LastStatus()
		if !o.DryRun {
			if js, err = job.Wait(ctx); err != nil {
				return err
			}
		}
		if js == nil || js.Statistics == nil {
			return errors.New("job returned no statistics")
		}
		if err := js.Err(); err != nil {
			return err
		}
		stat.BytesProcessed = js.Statistics.TotalBytesProcessed
		if qs, ok := js.Statistics.Details.(*bq.QueryStatistics); ok && !o.DryRun {
			stat.BytesBilled = qs.TotalBytesBilled
		}
		return nil
	})
	if err != nil {
		return stat, &QueryError{Table: "transform " + st.Name, JobID: stat.JobID, Err: err}
	}
	if !o.DryRun {
		md, err := s.client.DatasetInProject(s.cfg.Project, o.Dataset).Table(st.Table).Metadata(ctx)
		if err != nil {
			return stat, fmt.Errorf("bigquery transform %s: table metadata: %w", st.Name, err)
		}
		stat.Rows = int64(md.NumRows)
	}
	stat.Elapsed = time.Since(start)
	return stat, nil
}
