package bigquery

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// limaWindow is [from 00:00 Lima, to 00:00 Lima).
func limaWindow(from, to string) etl.Window {
	f, _ := etl.ParseDate(from)
	t, _ := etl.ParseDate(to)
	return etl.Window{From: f.Start(), To: t.Start()}
}

// TestRESTPagesAndWireFormat drives the real client against the golden exchanges of
// one incremental query: the job request (typed TIMESTAMP @from/@to, labels, location,
// maximumBytesBilled, job timeout, named job id), polling a running job, three pages
// followed by their page tokens, and the wire values (int64 µs timestamps, floats as
// strings, NULLs) rendered into the landing-file text forms.
func TestRESTPagesAndWireFormat(t *testing.T) {
	f := newFakeREST(t, "pagos_pages")
	cfg := fakeConfig(f.URL())
	cfg.PageSize = 2
	s := newTestSource(t, cfg)
	got, err := readAll(t, s, "pagos", limaWindow("2025-06-03", "2025-06-10"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"BBVA", "S1000002042", "PAGOS_2025-06-03_1", "", "87.36", "2025-06-03", "2025-06-04T11:00:00Z"},
		{"SCOTIABANK", "S1000002621", "PAGOS_2025-06-03_1", "", "120.456", "2025-06-03", "2025-06-03T05:00:00Z"},
		{"", "S3", `a,"quoted"`, "", "1000000", "2025-06-04", "2025-06-04T04:59:59.123456Z"},
		{"BCP", "S4", "PAGOS_4", "", "0.1", "2025-06-05", "2025-06-04T11:00:00.000001Z"},
		{"", "", "", "", "", "", ""},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
}

// TestRESTFullTablesAndParameters: full tables send no window; ejecutivos sends
// @id_cliente as an INT64; DATE, INT64, BOOL and NULL render as landing text.
func TestRESTFullTablesAndParameters(t *testing.T) {
	t.Run("ejecutivos", func(t *testing.T) {
		f := newFakeREST(t, "ejecutivos_full")
		s := newTestSource(t, fakeConfig(f.URL()))
		// A window given for a full table is ignored, not sent.
		got, err := readAll(t, s, "ejecutivos", limaWindow("2025-06-03", "2025-06-10"))
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"Lucia.Huaman02@Agencia-cobranzas.Pe", "Lucia Huaman", "59712343", "145"},
			{"carmen.flores01@agencia-cobranzas.pe", "Carmen Flores", "", "145"},
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("records\n got %q\nwant %q", got, want)
		}
	})
	t.Run("calendario", func(t *testing.T) {
		f := newFakeREST(t, "calendario_types")
		s := newTestSource(t, fakeConfig(f.URL()))
		got, err := readAll(t, s, "calendario", etl.Window{})
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"Cartera_Agencia_Cobranding_Gestion_CF_ANN_20250603", "CUOTA_FRACCIONAMIENTO", "2025-06", "61-180", "CERRADA", "2025-06",
				"MENSUAL", "CORTA", "2025-06-03", "2025-06-02", "2025-06-27", "", "2025-06-01", "19", "-2025", "false"},
			{"X", "", "", "", "", "", "", "", "2025-06-10", "", "", "", "2025-06-01", "", "", "true"},
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("records\n got %q\nwant %q", got, want)
		}
	})
}

// TestRESTRetries: a 503 on jobs.insert (retried by the client), a job that fails with
// backendError (pulso submits a new job after a jittered back-off) and a 429 on a page
// (pulso reads the finished job again from the row it stopped at, startIndex=2) end
// with every row read exactly once.
func TestRESTRetries(t *testing.T) {
	f := newFakeREST(t, "retry")
	cfg := fakeConfig(f.URL())
	cfg.PageSize = 2
	s := newTestSource(t, cfg)
	got, err := readAll(t, s, "pagos", limaWindow("2025-06-03", "2025-06-10"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, r := range got {
		docs = append(docs, r[1])
	}
	if !slices.Equal(docs, []string{"D1", "D2", "D3"}) {
		t.Fatalf("documents %q, want D1 D2 D3 once each", docs)
	}
}

// TestRESTErrorNamesTableWindowJob: a non-retryable job failure is not retried and
// its error names the table, the window and the job id.
func TestRESTErrorNamesTableWindowJob(t *testing.T) {
	f := newFakeREST(t, "invalid_query")
	s := newTestSource(t, fakeConfig(f.URL()))
	_, err := readAll(t, s, "pagos", limaWindow("2025-06-03", "2025-06-10"))
	if err == nil {
		t.Fatal("no error")
	}
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("error %T %v is not a QueryError", err, err)
	}
	for _, want := range []string{"bigquery pagos", "window [2025-06-03T05:00:00Z, 2025-06-10T05:00:00Z)",
		"job billing-p:US.pulso_pagos_bad1", "invalidQuery", "Unrecognized name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if Retryable(err) {
		t.Error("invalidQuery classified retryable")
	}
}

// TestRESTDryRun: the dry run sends dryRun with the same SQL and parameters and reports
// totalBytesProcessed.
func TestRESTDryRun(t *testing.T) {
	f := newFakeREST(t, "dry_run")
	s := newTestSource(t, fakeConfig(f.URL()))
	tb, _ := etl.MustRegistry().Table("mibotair_gestiones")
	w := limaWindow("2025-07-08", "2025-07-16")
	est, err := s.DryRun(t.Context(), tb, w)
	if err != nil {
		t.Fatal(err)
	}
	if est.Bytes != 123456789 || est.Table != "mibotair_gestiones" || est.Window != w {
		t.Fatalf("estimate %+v", est)
	}
}

// TestRESTTimeoutAndCancellation: a query that never answers fails after
// bigquery.query_timeout naming the job; cancelling the context stops it at once.
func TestRESTTimeoutAndCancellation(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		f := newFakeREST(t, "hang_timeout")
		cfg := fakeConfig(f.URL())
		cfg.QueryTimeout = 300 * time.Millisecond
		s := newTestSource(t, cfg)
		start := time.Now()
		_, err := readAll(t, s, "trandeuda", limaWindow("2025-06-03", "2025-06-10"))
		if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") ||
			!strings.Contains(err.Error(), "pulso_trandeuda_job1") {
			t.Fatalf("error %v: want a timeout naming the job", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %s", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		f := newFakeREST(t, "hang_cancel")
		s := newTestSource(t, fakeConfig(f.URL()))
		tb, _ := etl.MustRegistry().Table("trandeuda")
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Open(ctx, tb, etl.Part{Name: "bigquery:trandeuda"}, limaWindow("2025-06-03", "2025-06-10"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %s to stop", d)
		}
	})
}
