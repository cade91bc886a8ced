package postgres

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// tableSQL holds the statements of one raw table, built once from the registry. Only
// identifiers from the compiled-in registry are templated, always quoted; every value
// is a bound parameter.
type tableSQL struct {
	raw     string // "raw"."<table>"
	colList string // quoted data columns, registry order

	dedup            string
	mergeIncremental string // $1 run id, $2 table name → inserted, updated
	mergeFull        string // $1 run id → inserted, updated, deleted
	changesFromRaw   string // $1 run id, $2 table name
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func newTableSQL(t *etl.Table) tableSQL {
	q := tableSQL{raw: pgx.Identifier{"raw", t.Name}.Sanitize()}
	cols := t.ColumnNames()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = ident(c)
	}
	q.colList = strings.Join(quoted, ", ")
	prefixed := func(alias string, names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = alias + "." + ident(n)
		}
		return strings.Join(out, ", ")
	}
	keyCols := t.Key
	isKey := map[string]bool{}
	for _, k := range keyCols {
		isKey[k] = true
	}
	var keyEq []string
	for _, k := range keyCols {
		keyEq = append(keyEq, "r."+ident(k)+" = s."+ident(k))
	}
	var sets []string
	for _, c := range cols {
		if !isKey[c] {
			sets = append(sets, ident(c)+" = EXCLUDED."+ident(c))
		}
	}
	sets = append(sets, "etl_run_id = EXCLUDED.etl_run_id", "etl_source = EXCLUDED.etl_source", "etl_loaded_at = now()")

	// Row text as in COPY/CSV output, compared byte-wise: the tie-break among rows
	// sharing a key after the incremental value.
	order := "ROW(" + prefixed("s", cols) + ")::text COLLATE \"C\" DESC"
	if t.Incremental != "" {
		order = "s." + ident(t.Incremental) + " DESC, " + order
	}
	keyList := prefixed("s", keyCols)
	record := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		record[i] = "'" + c.Name + "', g." + ident(c.Name) + "::text"
	}
	q.dedup = `
		WITH ranked AS (
			SELECT s.ctid AS c, row_number() OVER w AS rn,
			       first_value(s.etl_source) OVER w AS kept_source, first_value(s.etl_line) OVER w AS kept_line
			FROM pulso_stg s
			WHERE (` + keyList + `) IN (SELECT ` + keyList + ` FROM pulso_stg s GROUP BY ` + keyList + ` HAVING count(*) > 1)
			WINDOW w AS (PARTITION BY ` + keyList + ` ORDER BY ` + order + `)
		), gone AS (
			DELETE FROM pulso_stg g USING ranked WHERE g.ctid = ranked.c AND ranked.rn > 1
			RETURNING g.*, ranked.kept_source, ranked.kept_line
		)
		INSERT INTO pulso_rej (source, line_no, column_name, reason, detail, record)
		SELECT g.etl_source, g.etl_line, NULL, 'duplicate_key',
		       'upsert key (` + strings.Join(keyCols, ", ") + `) repeats ' || g.kept_source || ':' || COALESCE(g.kept_line::text, '?') || ', which was kept',
		       jsonb_build_object(` + strings.Join(record, ", ") + `)
		FROM gone g`

	change := func(alias, name string) string {
		if name == "" {
			return "NULL::text"
		}
		if t.TypeOf(t.Index(name)) == etl.TypeTimestamp {
			// The fixed UTC−5 of domain.md §0, as etl.Lima and the transform SQL use.
			return "(" + alias + "." + ident(name) + " AT TIME ZONE INTERVAL '-05:00')::date::text"
		}
		return alias + "." + ident(name) + "::text"
	}
	ch := t.Change
	newChange := change("s", ch.Archivo) + " AS a, " + change("s", ch.Day) + " AS d, " + change("s", ch.Document) + " AS n"
	oldChange := change("r", ch.Archivo) + " AS o_a, " + change("r", ch.Day) + " AS o_d, " + change("r", ch.Document) + " AS o_n"

	firstKey := ident(keyCols[0])
	changed := `
		changed AS (
			SELECT ` + prefixed("s", cols) + `, s.etl_source, (r.` + firstKey + ` IS NULL) AS is_new,
			       ` + newChange + `, ` + oldChange + `
			FROM pulso_stg s LEFT JOIN ` + q.raw + ` r ON ` + strings.Join(keyEq, " AND ") + `
			WHERE r.` + firstKey + ` IS NULL OR (` + prefixed("r", cols) + `) IS DISTINCT FROM (` + prefixed("s", cols) + `)
		), up AS (
			INSERT INTO ` + q.raw + ` (` + q.colList + `, etl_run_id, etl_source)
			SELECT ` + q.colList + `, $1, etl_source FROM changed
			ON CONFLICT (` + strings.Join(quotedAll(keyCols), ", ") + `) DO UPDATE SET ` + strings.Join(sets, ", ") + `
			RETURNING 1
		)`

	q.mergeIncremental = `
		WITH ` + changed + `, pc AS (
			INSERT INTO etl.pending_change (table_name, archivo, day, nro_documento, run_id)
			SELECT DISTINCT $2, x.a, x.d::date, x.n, $1::bigint FROM (
				SELECT a, d, n FROM changed
				UNION SELECT o_a, o_d, o_n FROM changed WHERE NOT is_new) x
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed`

	var keyEqDel []string
	for _, k := range keyCols {
		keyEqDel = append(keyEqDel, "s."+ident(k)+" = r."+ident(k))
	}
	q.mergeFull = `
		WITH ` + changed + `, del AS (
			DELETE FROM ` + q.raw + ` r WHERE NOT EXISTS (SELECT 1 FROM pulso_stg s WHERE ` + strings.Join(keyEqDel, " AND ") + `)
			RETURNING 1
		)
		SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM del) FROM changed`

	q.changesFromRaw = `
		INSERT INTO etl.pending_change (table_name, archivo, day, nro_documento, run_id)
		SELECT DISTINCT $2, a, d::date, n, $1::bigint FROM (SELECT ` + newChange + ` FROM ` + q.raw + ` s WHERE s.etl_run_id = $1) x`
	return q
}

func quotedAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ident(n)
	}
	return out
}
