package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestRejectsArgs(t *testing.T) {
	t.Parallel()
	def := rejectsOptions{Limit: 100, Output: "text"}
	for _, tc := range []struct {
		args    []string
		want    rejectsOptions
		wantErr string
	}{
		{args: nil, want: def},
		{args: []string{"--run", "42"}, want: rejectsOptions{RunID: 42, Limit: 100, Output: "text"}},
		{args: []string{"--table", "PAGOS", "--reason", "invalid_value", "--limit", "5", "-o", "json"},
			want: rejectsOptions{Table: "pagos", Reason: "invalid_value", Limit: 5, Output: "json"}},
		{args: []string{"--limit", "0"}, want: rejectsOptions{Limit: 0, Output: "text"}},
		{args: []string{"--table", "nope"}, wantErr: `unknown table "nope" (known: homologacion_mibotair,`},
		{args: []string{"--reason", "bad"}, wantErr: `unknown reason "bad" (known: invalid_value,`},
		{args: []string{"--limit", "-1"}, wantErr: "--limit -1"},
		{args: []string{"--run", "x"}, wantErr: "invalid argument"},
		{args: []string{"--output", "csv"}, wantErr: `"csv": want text or json`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkArgv(t, tc.args, tc.want, tc.wantErr, newRejectsCmd)
		})
	}
}

func TestRejectsCommand(t *testing.T) {
	t.Parallel()
	url, pool := opsDB(t)
	mustExec(t, pool, `INSERT INTO etl.reject (run_id, table_name, source, line_no, column_name, reason, detail, record, rejected_at) VALUES
		(1, 'pagos', '/landing/pagos/2025-06-01.csv', 2, 'monto_cancelado', 'invalid_value', 'not a number: "x"', '{"monto_cancelado": "x"}', now() - interval '3 min'),
		(1, 'pagos', '/landing/pagos/2025-06-01.csv', 3, 'fecha_pago', 'missing_value', NULL, '{"fecha_pago": null}', now() - interval '2 min'),
		(2, 'pagos', '/landing/pagos/2025-06-02.csv', 7, 'monto_cancelado', 'invalid_value', 'not a number: "y"', '{"monto_cancelado": "y"}', now() - interval '1 min'),
		(2, 'trandeuda', 'bigquery:batch_x_tran_deuda', NULL, NULL, 'duplicate_key', 'upsert key repeats', '{"cod_cuenta": "9"}', now())`)
	mustExec(t, pool, `INSERT INTO etl.run (run_id, command, status) OVERRIDING SYSTEM VALUE VALUES (1, 'load', 'success'), (2, 'load', 'success')`)
	mustExec(t, pool, `INSERT INTO etl.reject_run (run_id, table_name, reject_id) SELECT run_id, table_name, id FROM etl.reject`)

	type doc struct {
		Total   int64 `json:"total"`
		Shown   int   `json:"shown"`
		Rejects []struct {
			RunID  int64           `json:"run_id"`
			Table  string          `json:"table"`
			Source string          `json:"source"`
			Line   *int64          `json:"line"`
			Column *string         `json:"column"`
			Reason string          `json:"reason"`
			Detail *string         `json:"detail"`
			Record json.RawMessage `json:"record"`
		} `json:"rejects"`
	}
	for _, tc := range []struct {
		args        []string
		total       int64
		wantReasons []string
	}{
		{nil, 4, []string{"duplicate_key", "invalid_value", "missing_value", "invalid_value"}},
		{[]string{"--run", "1"}, 2, []string{"missing_value", "invalid_value"}},
		{[]string{"--table", "pagos", "--reason", "invalid_value"}, 2, []string{"invalid_value", "invalid_value"}},
		{[]string{"--table", "trandeuda", "--run", "1"}, 0, []string{}},
		{[]string{"--limit", "1"}, 4, []string{"duplicate_key"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := runCLI(t, url, append([]string{"rejects", "--output", "json"}, tc.args...)...)
			if res.code != exitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			var d doc
			if err := json.Unmarshal([]byte(res.stdout), &d); err != nil {
				t.Fatalf("%v\n%s", err, res.stdout)
			}
			reasons := []string{}
			for _, r := range d.Rejects {
				reasons = append(reasons, r.Reason)
			}
			if d.Total != tc.total || d.Shown != len(tc.wantReasons) || !reflect.DeepEqual(reasons, tc.wantReasons) {
				t.Fatalf("total %d shown %d reasons %v; want %d, %v", d.Total, d.Shown, reasons, tc.total, tc.wantReasons)
			}
		})
	}

	res := runCLI(t, url, "rejects", "--table", "trandeuda", "-o", "json")
	var d doc
	if err := json.Unmarshal([]byte(res.stdout), &d); err != nil || len(d.Rejects) != 1 {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	if r := d.Rejects[0]; r.Source != "bigquery:batch_x_tran_deuda" || r.Line != nil || r.Column != nil ||
		*r.Detail != "upsert key repeats" || compactJSON(t, r.Record) != `{"cod_cuenta":"9"}` || r.RunID != 2 {
		t.Errorf("reject = %+v", r)
	}

	text := runCLI(t, url, "rejects", "--table", "pagos", "--limit", "2")
	if text.code != exitOK || !strings.Contains(text.stdout, "2 of 3 shown") || !strings.Contains(text.stdout, "2025-06-02.csv") ||
		strings.Contains(text.stdout, "trandeuda") {
		t.Errorf("text output:\n%s", text.stdout)
	}

	// An unknown table is a usage error naming the known ones, before any query.
	bad := runCLI(t, url, "rejects", "--table", "pago")
	if bad.code != exitUsage || !strings.Contains(bad.stderr, "known: homologacion_mibotair, homologacion_voicebot, ejecutivos") {
		t.Errorf("unknown table: exit %d\n%s", bad.code, bad.stderr)
	}
}

func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A reject read again by a later run (here a --full reload of the same files) is
// stored once but listed for every run that read it.
func TestRejectsListedForEveryRunThatReadThem(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	dir := demoSet(t)
	pool := openPool(t, url)
	mustRun(t, url, "--as-of", "2025-07-15", "load", "--dir", dir)
	mustRun(t, url, "--as-of", "2025-07-15", "load", "--dir", dir, "--full")
	first, second := rejectsOfRun(t, url, 1), rejectsOfRun(t, url, 2)
	stored := mustCount(t, pool, `SELECT count(*) FROM etl.reject`)
	if first == 0 || second != first || stored != first {
		t.Fatalf("run 1 lists %d rejects, run 2 %d, %d stored; want the same non-zero number each", first, second, stored)
	}
	// The ledger and the list agree for the second run.
	if n := mustCount(t, pool, `SELECT COALESCE(sum(rows_rejected), 0) + COALESCE(sum(rows_filtered), 0) FROM etl.run_table
		WHERE run_id = 2`); n < second {
		t.Fatalf("run 2's ledger counts %d rejected or filtered rows, fewer than the %d listed", n, second)
	}
}

func rejectsOfRun(t *testing.T, url string, run int) int64 {
	t.Helper()
	res := runCLI(t, url, "rejects", "--run", fmt.Sprint(run), "--limit", "0", "-o", "json")
	if res.code != exitOK {
		t.Fatalf("rejects --run %d: exit %d\n%s", run, res.code, res.stderr)
	}
	var d struct {
		Total int64 `json:"total"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	return d.Total
}
