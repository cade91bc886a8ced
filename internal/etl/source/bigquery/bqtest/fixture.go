// Package bqtest runs the BigQuery emulator (github.com/goccy/bigquery-emulator v0.8.1,
// built by .ci/bqemulator.sh) for tests, and builds its YAML fixtures from landing
// files, so BigQuery-sourced and file-sourced loads can be compared row for row.
package bqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// BQType is the BigQuery column type a registry column has in the source tables
// (domain.md §1: the left side of BigQuery→PostgreSQL).
func BQType(c etl.Column) string {
	switch c.Type {
	case etl.TypeIntText, etl.TypeInteger, etl.TypeIntBool:
		return "INTEGER"
	case etl.TypeFloatIntText, etl.TypeMoney:
		return "FLOAT"
	case etl.TypeDate:
		return "DATE"
	case etl.TypeTimestamp:
		return "TIMESTAMP"
	case etl.TypeBool:
		return "BOOLEAN"
	}
	return "STRING" // TypeText, TypeLenientInt (peso is a STRING column)
}

// Table is one BigQuery table of a fixture: rows of raw landing-file text aligned to
// the logical table's columns, "" = NULL.
type Table struct {
	Logical *etl.Table
	ID      string // BigQuery table id
	Rows    [][]string
}

// Dataset is a named set of tables.
type Dataset struct {
	ID     string
	Tables []Table
}

// Fixture is the emulator's initial data: one project.
type Fixture struct {
	Project  string
	Datasets []Dataset
}

// TablesFromDir reads every table's landing files in dir (through the files source:
// the same raw text a dir load reads) into fixture tables named by tableID.
func TablesFromDir(ctx context.Context, dir string, reg *etl.Registry, tableID func(*etl.Table) string) ([]Table, error) {
	src := files.New(dir, files.Options{}, nil)
	var out []Table
	for _, t := range reg.Tables() {
		parts, err := src.Parts(ctx, t)
		if err != nil {
			return nil, err
		}
		ft := Table{Logical: t, ID: tableID(t)}
		for _, p := range parts {
			rd, err := src.Open(ctx, t, p, etl.Window{})
			if err != nil {
				return nil, err
			}
			var rec etl.Record
			for {
				ok, err := rd.Next(&rec)
				if err != nil {
					rd.Close()
					return nil, err
				}
				if !ok {
					break
				}
				if rec.Fault != nil {
					rd.Close()
					return nil, fmt.Errorf("%s:%d: row fault %v cannot be a typed BigQuery row", rec.Source, rec.Line, rec.Fault)
				}
				ft.Rows = append(ft.Rows, append([]string(nil), rec.Fields...))
			}
			if err := rd.Close(); err != nil {
				return nil, err
			}
		}
		out = append(out, ft)
	}
	return out, nil
}

// YAML renders the fixture in the emulator's --data-from-yaml form (written as JSON,
// which YAML reads). Each raw text value is typed by its column's BigQuery type; a
// value the type cannot hold is an error, since a real BigQuery column could not hold
// it either. With schemaOnly the tables are created empty (the emulator's YAML parser
// is superlinear: ~10k rows take 45 s, so Start inserts the rows through
// tabledata.insertAll instead).
func (f Fixture) YAML(schemaOnly bool) ([]byte, error) {
	type column struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Mode string `json:"mode"`
	}
	type table struct {
		ID      string           `json:"id"`
		Columns []column         `json:"columns"`
		Data    []map[string]any `json:"data"`
	}
	type dataset struct {
		ID     string  `json:"id"`
		Tables []table `json:"tables"`
	}
	type project struct {
		ID       string    `json:"id"`
		Datasets []dataset `json:"datasets"`
	}
	p := project{ID: f.Project}
	for _, d := range f.Datasets {
		ds := dataset{ID: d.ID}
		for _, t := range d.Tables {
			tb := table{ID: t.ID, Data: []map[string]any{}}
			for _, c := range t.Logical.Columns {
				tb.Columns = append(tb.Columns, column{Name: c.Name, Type: BQType(c), Mode: "NULLABLE"})
			}
			if !schemaOnly {
				rows, err := t.typedRows(d.ID)
				if err != nil {
					return nil, err
				}
				tb.Data = rows
			}
			ds.Tables = append(ds.Tables, tb)
		}
		p.Datasets = append(p.Datasets, ds)
	}
	return json.MarshalIndent(map[string]any{"projects": []project{p}}, "", " ")
}

// typedRows is the table's rows as JSON values of their BigQuery types.
func (t Table) typedRows(dataset string) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(t.Rows))
	for i, r := range t.Rows {
		row := make(map[string]any, len(r))
		for j, c := range t.Logical.Columns {
			v, err := typed(c, r[j])
			if err != nil {
				return nil, fmt.Errorf("fixture %s.%s row %d: column %s: %w", dataset, t.ID, i+1, c.Name, err)
			}
			row[c.Name] = v
		}
		out = append(out, row)
	}
	return out, nil
}

// typed turns raw landing text into the JSON value of a BigQuery column.
func typed(c etl.Column, raw string) (any, error) {
	if raw == "" {
		return nil, nil
	}
	s := strings.TrimSpace(raw)
	switch BQType(c) {
	case "STRING":
		return raw, nil // exact text, blanks and spaces included
	}
	if s == "" {
		return nil, nil
	}
	switch BQType(c) {
	case "INTEGER":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
			return int64(f), nil // "12.0" is integer text too
		}
		if b, err := strconv.ParseBool(s); err == nil { // es_pdp_homologado true/false
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return nil, fmt.Errorf("%q is not an INT64", raw)
	case "FLOAT":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a FLOAT64", raw)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "BOOLEAN":
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a BOOL", raw)
		}
		return b, nil
	case "DATE":
		if _, err := etl.ParseDate(s); err != nil {
			return nil, err
		}
		return s, nil
	case "TIMESTAMP":
		ts, err := etl.CanonicalTimestamp(s)
		if err != nil {
			return nil, err
		}
		return ts, nil
	}
	return nil, fmt.Errorf("type %s not handled", BQType(c))
}
