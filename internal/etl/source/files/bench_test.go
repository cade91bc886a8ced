package files

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

const benchRows = 200_000

var benchData = map[Format][]byte{}
var benchOnce sync.Once

// benchFiles writes a 200k-row mibotair_gestiones landing file (23 columns, short
// values, a few quoted) in each format.
func benchFiles(b *testing.B) map[Format][]byte {
	benchOnce.Do(func() {
		tb := table(b, "mibotair_gestiones")
		rng := rand.New(rand.NewPCG(1, 2))
		base := time.Date(2025, 6, 2, 13, 0, 0, 0, time.UTC)
		mgmt := []string{"CONTACTO EFECTIVO", "NO CONTACTO", "CONTACTO NO EFECTIVO", "SIN RESPUESTA"}
		for _, f := range []Format{FormatCSV, FormatCSVGz, FormatNDJSON} {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, tb, f)
			if err != nil {
				b.Fatal(err)
			}
			vals := make([]string, len(tb.Columns))
			for i := 0; i < benchRows; i++ {
				ts := base.Add(time.Duration(rng.IntN(35*24*3600)) * time.Second)
				vals[0] = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1))
				vals[1] = fmt.Sprint(1000 + rng.IntN(50))
				vals[2] = fmt.Sprintf("COLA_%d", rng.IntN(4))
				vals[3] = fmt.Sprint(10000000 + rng.IntN(90000000))
				vals[4] = mgmt[rng.IntN(len(mgmt))]
				vals[5] = "SUB " + fmt.Sprint(rng.IntN(10))
				vals[6] = "CALL"
				vals[7] = mgmt[rng.IntN(len(mgmt))]
				vals[8] = "N2_" + fmt.Sprint(rng.IntN(10))
				vals[9] = "N3_" + fmt.Sprint(rng.IntN(10))
				vals[10] = ""
				if rng.IntN(10) == 0 {
					vals[10] = "cliente indica que pagará, el lunes"
				}
				vals[11] = ""
				vals[12] = "TELEFONICA"
				vals[13] = "MOVISTAR"
				vals[14] = fmt.Sprintf("Agente %d", rng.IntN(10))
				vals[15] = fmt.Sprintf("agente%d@call.pe", rng.IntN(10))
				vals[16] = ""
				vals[17] = fmt.Sprint(900000000 + rng.IntN(99999999))
				vals[18] = etl.FormatTimestamp(ts)
				vals[19] = ""
				vals[20] = ""
				if rng.IntN(5) == 0 {
					vals[19] = ts.AddDate(0, 0, 3).Format(time.DateOnly)
					vals[20] = fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))
				}
				vals[21] = fmt.Sprint(rng.IntN(10))
				vals[22] = fmt.Sprint(rng.IntN(600))
				if err := w.Write(vals, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			benchData[f] = buf.Bytes()
		}
	})
	return benchData
}

func benchRead(b *testing.B, f Format, open func(io.Reader, *etl.Table) etl.RecordReader) {
	data := benchFiles(b)[f]
	tb := table(b, "mibotair_gestiones")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := open(bytes.NewReader(data), tb)
		var rec etl.Record
		n := 0
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			if rec.Fault != nil {
				b.Fatal(rec.Fault)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}

func BenchmarkReadCSV(b *testing.B) {
	benchRead(b, FormatCSV, func(r io.Reader, tb *etl.Table) etl.RecordReader {
		return NewCSVReader(context.Background(), r, "bench.csv", tb, Options{})
	})
}

func BenchmarkReadCSVGz(b *testing.B) {
	benchRead(b, FormatCSVGz, func(r io.Reader, tb *etl.Table) etl.RecordReader {
		zr, err := gzipReader(r)
		if err != nil {
			b.Fatal(err)
		}
		return newCSVReader(b.Context(), zr, "bench.csv.gz", true, tb, Options{})
	})
}

func BenchmarkReadNDJSON(b *testing.B) {
	benchRead(b, FormatNDJSON, func(r io.Reader, tb *etl.Table) etl.RecordReader {
		return NewNDJSONReader(context.Background(), r, "bench.ndjson", tb, Options{})
	})
}

// BenchmarkEncodingCSV is the reference: encoding/csv with ReuseRecord, plus the one
// string per field it allocates.
func BenchmarkEncodingCSV(b *testing.B) {
	data := benchFiles(b)[FormatCSV]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		n := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(rec)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(benchRows+1), "ns/row")
}

// BenchmarkReadConvertCSV adds etl.Converter, to show the reader's share of a load.
func BenchmarkReadConvertCSV(b *testing.B) {
	data := benchFiles(b)[FormatCSV]
	tb := table(b, "mibotair_gestiones")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewCSVReader(context.Background(), bytes.NewReader(data), "bench.csv", tb, Options{})
		c := etl.NewConverter(tb, etl.ConvertOptions{})
		var rec etl.Record
		var row etl.Row
		var rej etl.Reject
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			if c.Convert(&rec, &row, &rej) != etl.Accepted {
				b.Fatalf("%+v", rej)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}

// BenchmarkWriteCSV measures the writer (demo and extract output).
func BenchmarkWriteCSV(b *testing.B) {
	tb := table(b, "mibotair_gestiones")
	vals := make([]string, len(tb.Columns))
	for i := range vals {
		vals[i] = fmt.Sprintf("value_%d", i)
	}
	vals[10] = "has, a comma"
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewWriter(io.Discard, tb, FormatCSV)
		for range 10000 {
			w.Write(vals, nil)
		}
		w.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/row")
}

func gzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

// BenchmarkParts measures listing a 200k-row landing file: one streamed sha256 pass.
func BenchmarkParts(b *testing.B) {
	data := benchFiles(b)[FormatCSV]
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mibotair_gestiones.csv"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	s := New(dir, Options{}, nil)
	tb := table(b, "mibotair_gestiones")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.Parts(b.Context(), tb); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
}
