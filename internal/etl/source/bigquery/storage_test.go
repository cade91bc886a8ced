package bigquery

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"google.golang.org/grpc"
)

// The Storage Read tier: the emulator's Storage Read API is broken upstream
// (goccy/bigquery-emulator#493), so a gRPC BigQueryReadServer fake serves Arrow record
// batches in three streams, behind the REST fake's query job.

var pagosArrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "cod_sistema", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "nro_documento", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "archivo", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "motivo_rechazo", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "monto_cancelado", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "fecha_pago", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "creado_el", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

type pagoRow struct {
	sistema, doc, archivo string
	monto                 float64
	fecha                 string // YYYY-MM-DD
	creado                time.Time
	nullMonto             bool
}

// arrowIPC serialises the schema and one record batch per stream as BigQuery does:
// the schema message, then record-batch messages (no end-of-stream marker).
func arrowIPC(t *testing.T, streams [][]pagoRow) (schema []byte, batches [][]byte, counts []int64) {
	t.Helper()
	var empty bytes.Buffer
	w := ipc.NewWriter(&empty, ipc.WithSchema(pagosArrowSchema))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	const eos = 8 // continuation marker + zero length
	schema = slices.Clone(empty.Bytes()[:empty.Len()-eos])
	for _, rows := range streams {
		b := array.NewRecordBuilder(memory.DefaultAllocator, pagosArrowSchema)
		for _, r := range rows {
			b.Field(0).(*array.StringBuilder).Append(r.sistema)
			b.Field(1).(*array.StringBuilder).Append(r.doc)
			b.Field(2).(*array.StringBuilder).Append(r.archivo)
			b.Field(3).(*array.StringBuilder).AppendNull()
			if r.nullMonto {
				b.Field(4).(*array.Float64Builder).AppendNull()
			} else {
				b.Field(4).(*array.Float64Builder).Append(r.monto)
			}
			d, _ := time.Parse(time.DateOnly, r.fecha)
			b.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(d))
			b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(r.creado.UnixMicro()))
		}
		rec := b.NewRecord()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(pagosArrowSchema))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, slices.Clone(buf.Bytes()[len(schema):buf.Len()-eos]))
		counts = append(counts, rec.NumRows())
		rec.Release()
		b.Release()
	}
	return schema, batches, counts
}

type fakeRead struct {
	storagepb.UnimplementedBigQueryReadServer
	schema  []byte
	batches [][]byte
	counts  []int64

	mu       sync.Mutex
	sessions []*storagepb.CreateReadSessionRequest
	reads    []string
}

func (f *fakeRead) CreateReadSession(_ context.Context, req *storagepb.CreateReadSessionRequest) (*storagepb.ReadSession, error) {
	f.mu.Lock()
	f.sessions = append(f.sessions, req)
	f.mu.Unlock()
	s := &storagepb.ReadSession{
		Name:       "projects/billing-p/locations/us/sessions/s1",
		Table:      req.GetReadSession().GetTable(),
		DataFormat: storagepb.DataFormat_ARROW,
		Schema: &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{
			SerializedSchema: f.schema}},
	}
	for i := range f.batches {
		s.Streams = append(s.Streams, &storagepb.ReadStream{Name: fmt.Sprintf("%s/streams/%d", s.Name, i)})
	}
	return s, nil
}

func (f *fakeRead) ReadRows(req *storagepb.ReadRowsRequest, stream storagepb.BigQueryRead_ReadRowsServer) error {
	f.mu.Lock()
	f.reads = append(f.reads, req.GetReadStream())
	f.mu.Unlock()
	var i int
	if _, err := fmt.Sscanf(req.GetReadStream(), "projects/billing-p/locations/us/sessions/s1/streams/%d", &i); err != nil {
		return err
	}
	if req.GetOffset() != 0 {
		return fmt.Errorf("unexpected offset %d", req.GetOffset())
	}
	return stream.Send(&storagepb.ReadRowsResponse{
		RowCount: f.counts[i],
		Rows: &storagepb.ReadRowsResponse_ArrowRecordBatch{ArrowRecordBatch: &storagepb.ArrowRecordBatch{
			SerializedRecordBatch: f.batches[i]}},
	})
}

// TestStorageReadArrowStreams: with storage_read the reader takes the query job's
// destination table through a Storage Read session of three streams of Arrow batches,
// and renders the Arrow values exactly as the REST path renders JSON ones.
func TestStorageReadArrowStreams(t *testing.T) {
	ts := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	streams := [][]pagoRow{
		{{"BBVA", "S1", "PAGOS_1", 87.36, "2025-06-03", ts("2025-06-04T11:00:00Z"), false},
			{"BCP", "S2", "PAGOS_1", 120.456, "2025-06-03", ts("2025-06-03T05:00:00Z"), false}},
		{{"BBVA", "S3", "PAGOS_2", 0.1, "2025-06-04", ts("2025-06-04T04:59:59.123456Z"), false}},
		{{"IBK", "S4", "PAGOS_3", 1e6, "2025-06-05", ts("2025-06-05T11:00:00.000001Z"), false},
			{"IBK", "S5", "PAGOS_3", 0, "2025-06-05", ts("2025-06-05T11:00:00Z"), true},
			{"IBK", "S6", "PAGOS_3", 12.5, "2025-06-05", ts("2025-06-05T11:00:00Z"), false}},
	}
	schema, batches, counts := arrowIPC(t, streams)
	fr := &fakeRead{schema: schema, batches: batches, counts: counts}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	storagepb.RegisterBigQueryReadServer(gs, fr)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	rest := newFakeREST(t, "storage_read")
	cfg := fakeConfig(rest.URL())
	cfg.StorageRead, cfg.StorageEndpoint = true, lis.Addr().String()
	s := newTestSource(t, cfg)
	got, err := readAll(t, s, "pagos", limaWindow("2025-06-03", "2025-06-10"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"BBVA", "S1", "PAGOS_1", "", "87.36", "2025-06-03", "2025-06-04T11:00:00Z"},
		{"BCP", "S2", "PAGOS_1", "", "120.456", "2025-06-03", "2025-06-03T05:00:00Z"},
		{"BBVA", "S3", "PAGOS_2", "", "0.1", "2025-06-04", "2025-06-04T04:59:59.123456Z"},
		{"IBK", "S4", "PAGOS_3", "", "1000000", "2025-06-05", "2025-06-05T11:00:00.000001Z"},
		{"IBK", "S5", "PAGOS_3", "", "", "2025-06-05", "2025-06-05T11:00:00Z"},
		{"IBK", "S6", "PAGOS_3", "", "12.5", "2025-06-05", "2025-06-05T11:00:00Z"},
	}
	// Streams are read concurrently: order is not part of the contract.
	sort.Slice(got, func(i, j int) bool { return got[i][1] < got[j][1] })
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if len(fr.sessions) != 1 || fr.sessions[0].GetReadSession().GetTable() != "projects/billing-p/datasets/_anon/tables/anon_pagos" ||
		fr.sessions[0].GetReadSession().GetDataFormat() != storagepb.DataFormat_ARROW {
		t.Fatalf("read sessions %v", fr.sessions)
	}
	sort.Strings(fr.reads)
	if len(fr.reads) != 3 {
		t.Fatalf("streams read %v, want all 3", fr.reads)
	}
}
