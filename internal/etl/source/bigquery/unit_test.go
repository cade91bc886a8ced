package bigquery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	bq "cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

func TestRender(t *testing.T) {
	cases := []struct {
		v    bq.Value
		want string
	}{
		{nil, ""},
		{"  x, \"y\" ", "  x, \"y\" "},
		{int64(-5100006664), "-5100006664"},
		{87.36, "87.36"},
		{0.30000000000000004, "0.30000000000000004"}, // shortest text round-trips; the converter rounds
		{5.1987654321e10, "51987654321"},
		{1e-7, "0.0000001"},
		{math.NaN(), "NaN"},
		{true, "true"},
		{time.Date(2025, 6, 4, 4, 59, 59, 123456000, time.UTC), "2025-06-04T04:59:59.123456Z"},
		{time.Date(2025, 6, 3, 19, 0, 0, 0, etl.Lima), "2025-06-04T00:00:00Z"},
		{civil.Date{Year: 2025, Month: 6, Day: 3}, "2025-06-03"},
		{civil.DateTime{Date: civil.Date{Year: 2025, Month: 6, Day: 3}, Time: civil.Time{Hour: 10}}, "2025-06-03T10:00:00Z"},
		{big.NewRat(12345, 100), "123.45"},
		{big.NewRat(7, 1), "7"},
	}
	for _, c := range cases {
		got, err := Render(c.v)
		if err != nil || got != c.want {
			t.Errorf("Render(%#v) = %q, %v; want %q", c.v, got, err, c.want)
		}
	}
	if _, err := Render([]byte("x")); err == nil {
		t.Error("BYTES rendered without error")
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: http.StatusTooManyRequests}, true},
		{&googleapi.Error{Code: 503}, true},
		{&googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}, true},
		{&googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "backendError"}}}, true},
		{&googleapi.Error{Code: 400, Errors: []googleapi.ErrorItem{{Reason: "invalidQuery"}}}, false},
		{&googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "accessDenied"}}}, false},
		{&bq.Error{Reason: "backendError"}, true},
		{&bq.Error{Reason: "bytesBilledLimitExceeded"}, false},
		{status.Error(codes.Unavailable, "x"), true},
		{status.Error(codes.InvalidArgument, "x"), false},
		{fmt.Errorf("wrapped: %w", context.Canceled), false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false},
		{errors.New("plain"), false},
	}
	for _, c := range cases {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		seen := map[time.Duration]bool{}
		for range 50 {
			d := b.delay(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: no jitter", attempt)
		}
	}
}

// TestStatements: every embedded query selects exactly its table's columns in §1
// order, pushes the window down on incremental tables and uses only known parameters;
// identifiers are templated, values never.
func TestStatements(t *testing.T) {
	reg := etl.MustRegistry()
	cfg := Config{Project: "p-1", Dataset: "ds_2", UID: "U3", Tables: map[string]string{"pagos": "my_{uid}_pagos"}}
	stmts, err := LoadStatements(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range reg.Tables() {
		st := stmts[tb.Name]
		if !strings.Contains(st.SQL, "`p-1.ds_2."+cfg.tableName(tb)+"`") || strings.Contains(st.SQL, "{{") {
			t.Errorf("%s: table not templated: %s", tb.Name, st.SQL)
		}
		want := []string{}
		if tb.Mode == etl.ModeIncremental {
			want = []string{ParamFrom, ParamTo}
		}
		if tb.Name == "ejecutivos" {
			want = []string{ParamIDCliente}
		}
		if !slices.Equal(st.Params, want) && !(len(st.Params) == 0 && len(want) == 0) {
			t.Errorf("%s: params %v, want %v", tb.Name, st.Params, want)
		}
		if strings.Contains(strings.ToUpper(st.SQL), "SELECT *") || strings.Contains(strings.ToUpper(st.SQL), "FOR SYSTEM_TIME") {
			t.Errorf("%s: forbidden construct", tb.Name)
		}
	}
	if !strings.Contains(stmts["pagos"].SQL, "`p-1.ds_2.my_U3_pagos`") {
		t.Error("tables.pagos.bq_table pattern not used")
	}

	bad := map[string]string{
		"a column too many": "SELECT cod_sistema, nro_documento, archivo, motivo_rechazo, monto_cancelado, fecha_pago, creado_el, x FROM {{table}} WHERE creado_el >= @from AND creado_el < @to",
		"no window":         "SELECT cod_sistema, nro_documento, archivo, motivo_rechazo, monto_cancelado, fecha_pago, creado_el FROM {{table}}",
		"unknown parameter": "SELECT cod_sistema, nro_documento, archivo, motivo_rechazo, monto_cancelado, fecha_pago, creado_el FROM {{table}} WHERE creado_el >= @from AND creado_el < @to AND x = @x",
		"no placeholder":    "SELECT cod_sistema, nro_documento, archivo, motivo_rechazo, monto_cancelado, fecha_pago, creado_el FROM t WHERE creado_el >= @from AND creado_el < @to",
	}
	for name, sql := range bad {
		fsys := fstest.MapFS{}
		for _, tb := range reg.Tables() {
			b, _ := pulsosql.BigQuery.ReadFile("bigquery/" + tb.Name + ".sql")
			fsys["bigquery/"+tb.Name+".sql"] = &fstest.MapFile{Data: b}
		}
		fsys["bigquery/pagos.sql"] = &fstest.MapFile{Data: []byte(sql)}
		if _, err := loadStatements(fsys, reg, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	reg := etl.MustRegistry()
	good := Config{Project: "p", Dataset: "d", UID: "u", Command: "load", RunID: "7"}
	if err := good.Validate(reg); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(c *Config){
		"project with a dot":    func(c *Config) { c.Project = "p.x" },
		"dataset with backtick": func(c *Config) { c.Dataset = "d`; DROP" },
		"uid with space":        func(c *Config) { c.UID = "a b" },
		"table pattern":         func(c *Config) { c.Tables = map[string]string{"pagos": "x y"} },
		"unknown table":         func(c *Config) { c.Tables = map[string]string{"nope": "x"} },
		"label":                 func(c *Config) { c.Command = "Load Now" },
		"negative bytes":        func(c *Config) { c.MaximumBytesBilled = -1 },
	} {
		c := good
		mod(&c)
		if err := c.Validate(reg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCredentialsErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "key.json")
	os.WriteFile(notJSON, []byte("not json"), 0o600)
	unknown := filepath.Join(dir, "other.json")
	os.WriteFile(unknown, []byte(`{"type":"api_key"}`), 0o600)
	for name, path := range map[string]string{"missing": filepath.Join(dir, "none.json"), "not JSON": notJSON, "unknown type": unknown} {
		_, _, err := clientOptions(t.Context(), Config{CredentialsFile: path})
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(dir, "none.json"))
	_, _, err := clientOptions(t.Context(), Config{})
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "Application Default Credentials") {
		t.Errorf("ADC: %v", err)
	}
}
