package bigquery

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// Query parameters the extraction SQL may use; anything else is refused at start.
const (
	ParamFrom      = "from"       // TIMESTAMP, window start (inclusive)
	ParamTo        = "to"         // TIMESTAMP, window end (exclusive)
	ParamIDCliente = "id_cliente" // INT64, ejecutivos filter
)

// tablePlaceholder is replaced by the backquoted `project.dataset.table`.
const tablePlaceholder = "{{table}}"

// Statement is one table's extraction query, ready to run.
type Statement struct {
	Table  *etl.Table
	SQL    string   // with {{table}} templated
	Params []string // parameter names it references, in order of first use
}

var (
	paramRE   = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)`)
	commentRE = regexp.MustCompile(`(?m)--.*$`)
	selectRE  = regexp.MustCompile(`(?is)^\s*SELECT\s+(?:DISTINCT\s+)?(.*?)\s+FROM\s`)
)

// LoadStatements reads sql/bigquery/<table>.sql for every table of the registry,
// checks that each selects exactly the table's columns in §1 order and uses only known
// parameters (incremental tables @from and @to; ejecutivos @id_cliente), and templates
// the table names of cfg.
func LoadStatements(reg *etl.Registry, cfg Config) (map[string]*Statement, error) {
	return loadStatements(pulsosql.BigQuery, reg, cfg)
}

func loadStatements(fsys fs.FS, reg *etl.Registry, cfg Config) (map[string]*Statement, error) {
	out := make(map[string]*Statement, len(reg.Tables()))
	for _, t := range reg.Tables() {
		path := "bigquery/" + t.Name + ".sql"
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("bigquery: query for %s: %w", t.Name, err)
		}
		src := string(b)
		if err := checkStatement(t, src); err != nil {
			return nil, fmt.Errorf("bigquery: sql/%s: %w", path, err)
		}
		fq := "`" + cfg.Project + "." + cfg.Dataset + "." + cfg.tableName(t) + "`"
		out[t.Name] = &Statement{
			Table:  t,
			SQL:    strings.ReplaceAll(src, tablePlaceholder, fq),
			Params: statementParams(src),
		}
	}
	return out, nil
}

// statementParams lists the @parameters of the SQL outside comments.
func statementParams(src string) []string {
	var ps []string
	for _, m := range paramRE.FindAllStringSubmatch(commentRE.ReplaceAllString(src, ""), -1) {
		if !slices.Contains(ps, m[1]) {
			ps = append(ps, m[1])
		}
	}
	return ps
}

// SelectedColumns returns the column names of the statement's SELECT list.
func SelectedColumns(src string) []string {
	m := selectRE.FindStringSubmatch(commentRE.ReplaceAllString(src, ""))
	if m == nil {
		return nil
	}
	var cols []string
	for _, c := range strings.Split(m[1], ",") {
		cols = append(cols, strings.Trim(strings.TrimSpace(c), "`"))
	}
	return cols
}

func checkStatement(t *etl.Table, src string) error {
	want := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		want[i] = c.Name
	}
	if got := SelectedColumns(src); !slices.Equal(got, want) {
		return fmt.Errorf("selects %v, want exactly %v", got, want)
	}
	if !strings.Contains(src, tablePlaceholder) {
		return fmt.Errorf("no %s placeholder", tablePlaceholder)
	}
	params := statementParams(src)
	for _, p := range params {
		switch p {
		case ParamFrom, ParamTo:
			if t.Mode != etl.ModeIncremental {
				return fmt.Errorf("full table uses @%s", p)
			}
		case ParamIDCliente:
		default:
			return fmt.Errorf("unknown parameter @%s", p)
		}
	}
	if t.Mode == etl.ModeIncremental && (!slices.Contains(params, ParamFrom) || !slices.Contains(params, ParamTo)) {
		return fmt.Errorf("incremental table must push the window down as @%s and @%s", ParamFrom, ParamTo)
	}
	if slices.Contains(t.Filters, etl.FilterIDCliente) && !slices.Contains(params, ParamIDCliente) {
		return fmt.Errorf("must filter on @%s", ParamIDCliente)
	}
	return nil
}
